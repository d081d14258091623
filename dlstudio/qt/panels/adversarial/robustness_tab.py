"""The adversarial panel's Test set tab, as a mixin of
:class:`~dlstudio.qt.panels.adversarial.adversarial_panel.AdversarialPanel`: accuracy
against epsilon under FGSM (solid) and PGD (dashed) for every checked run, overlaid, and a
gallery of the test samples the attack turns from right to wrong at the current eps (a click
attacks one in the Sample tab). The curves are computed on a worker thread, the missing ones
only, cancelled by a newer request; the attack settings are the panel's.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QIcon, QPixmap
from PySide6.QtWidgets import QHBoxLayout, QListWidget, QPushButton, QVBoxLayout
from shiboken6 import isValid

from dlstudio.data.grid import CLASS_COLORS
from dlstudio.qt.panels.adversarial.attack_views import FittedPage
from dlstudio.qt.panels.data.data_widgets import SampleGrid, muted_label, section_header
from dlstudio.qt.panels.insight.insight_views import scroll_area
from dlstudio.qt.plot_menu import install_plot_menu

GALLERY_SIZE = 24
CURVE_EPS = (0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3)


def _attack_test_set(job: dict) -> tuple | None:
    """Worker thread: the missing curves of the checked runs (reporting progress), then the
    gallery of the shown run at the current eps; None when cancelled."""
    from dlstudio.backend import load_keras
    from dlstudio.insight.robustness import compare_runs, load_attack_setup, successful_examples

    load_keras()
    setups = dict(job["setups"])
    work = compare_runs(job["project"], job["runs"], setups, job["have"], eps=CURVE_EPS, steps=job["steps"],
                        cancelled=job["cancelled"])
    try:
        while True:
            job["progress"](next(work))
    except StopIteration as stop:
        curves = stop.value
    if curves is None:
        return None
    s = setups.get(job["run"]) or setups.setdefault(job["run"], load_attack_setup(job["project"], job["run"]))
    kwargs = {"steps": job["steps"]} if job["method"] in ("pgd", "bim") else {}
    gallery = successful_examples(s.model, s.dataset.x_test, s.dataset.y_test, job["method"], job["eps"],
                                  GALLERY_SIZE, s.dataset.class_names, clip=s.clip, **kwargs)
    return setups, curves, gallery


class RobustnessTab:
    """The Test set tab of the adversarial panel (a mixin: ``self`` is the panel)."""

    def _build_test_tab(self) -> None:
        page = FittedPage(self)
        lay = QVBoxLayout(page)
        row = QHBoxLayout()
        self.compute_button = QPushButton("Compute", page, toolTip="Accuracy against \u03b5 on the whole test set")
        self.compute_button.clicked.connect(lambda: self.refresh_test_set(force=True))
        self.test_status = muted_label("", page)
        row.addWidget(self.compute_button)
        row.addWidget(self.test_status, 1)
        lay.addLayout(row)
        lay.addWidget(section_header("Accuracy against epsilon", page))
        self.plot = self.eps_line = None  # made on first use: pyqtgraph stays off the start-up path
        self._plot_slot = (lay, lay.count())
        self.runs_list = QListWidget(page, maximumHeight=4 * self.fontMetrics().height() + 12)
        self.runs_list.itemChanged.connect(lambda _item: self._test_changed())
        self.gallery = SampleGrid(page, target=52, click_to_select=True)
        self.gallery.selected.connect(self._gallery_clicked)
        self.gallery_note = muted_label("", page)
        for w in (muted_label("Runs to overlay (solid: FGSM, dashed: PGD):", page), self.runs_list,
                  section_header("Successful adversarial examples", page), self.gallery, self.gallery_note):
            lay.addWidget(w)
        lay.addStretch(1)
        self.tabs.addTab(scroll_area(page, self), "Test set")

    def _make_plot(self) -> None:
        import pyqtgraph as pg

        layout, index = self._plot_slot
        self.plot = pg.PlotWidget(layout.parentWidget())
        install_plot_menu(self.plot, "Robustness curve")
        self.plot.setFixedHeight(240)
        self.plot.setMenuEnabled(False)
        self.plot.setMouseEnabled(False, False)
        self.plot.setYRange(0, 1.02, padding=0)
        self.plot.setXRange(0, CURVE_EPS[-1], padding=0.02)
        self.plot.setLabel("bottom", "\u03b5")
        self.plot.getAxis("bottom").setSIPrefixEnableRanges(())  # 0.1, not 100 (x0.001)
        self.plot.setLabel("left", "accuracy")
        self.eps_line = pg.InfiniteLine(self.eps, angle=90, movable=False)
        self.plot.addItem(self.eps_line)
        layout.insertWidget(index, self.plot)
        self._restyle()

    def compared_runs(self) -> list[str]:
        items = (self.runs_list.item(i) for i in range(self.runs_list.count()))
        return [it.data(Qt.ItemDataRole.UserRole) for it in items if it.checkState() == Qt.CheckState.Checked]

    def _test_changed(self) -> None:
        if self.tabs.currentIndex() == 1 and self.plot is None:
            self._make_plot()
        self._draw_curves()
        if self.tabs.currentIndex() == 1 and self.isVisible():
            self._test_timer.start()

    def refresh_test_set(self, force: bool = False) -> None:
        """Compute the missing curves of the checked runs and the current gallery (latest wins)."""
        from dlstudio.qt.keras_loader import keras_ready

        job = self._job()
        if job is None or not keras_ready():
            return
        runs = self.compared_runs()
        key = (self._key(job), tuple(runs))
        if key == self._test_key and not force:
            return
        self._test_request += 1  # cancels a running one
        if self._test_busy:
            self._test_pending = True
            return
        from dlstudio.qt.background import create_worker

        n = self._test_request
        job.update(runs=runs, setups=dict(self.setups), have=set(self.curves),
                   cancelled=lambda: not isValid(self) or self._test_request != n,
                   progress=lambda f: isValid(self) and self._progress.emit(n, f))
        self._test_busy, self._test_pending = True, False
        self.test_status.setText("Attacking the test set\u2026")
        worker = create_worker(_attack_test_set, job)
        worker.returned.connect(lambda r, k=key, n=n: self._test_done(n, k, r))
        worker.errored.connect(lambda e, n=n: n == self._test_request and self._fail(e))
        worker.finished.connect(lambda: isValid(self) and self._test_finished())
        self._test_worker = worker
        worker.start()

    def _show_progress(self, request: int, fraction: float) -> None:
        if request == self._test_request:
            self.test_status.setText(f"Attacking the test set\u2026 {fraction:.0%}")

    def _test_done(self, request: int, key: tuple, result) -> None:
        from dlstudio.insight.robustness import display_rgb

        if not isValid(self) or result is None:
            return
        setups, curves, gallery = result
        self.setups.update(setups)
        self.curves.update(curves)
        if request != self._test_request:
            return
        self._test_key, self.gallery_examples = key, gallery
        self._draw_curves()
        method, clip = self.method_combo.currentText(), setups[key[0][0]].clip
        if gallery:
            self.gallery.set_samples(np.stack([display_rgb(e.adversarial, clip) for e in gallery]),
                                     [e.caption() for e in gallery])
            self.gallery_note.setText(f"Adversarial images ({method}, \u03b5 = {self.eps:g}), most confident mistakes "
                                      "first: true \u2192 predicted class. Click one to attack it above.")
        else:
            self.gallery.clear()
            self.gallery_note.setText(f"No test sample changes from right to wrong under {method} at "
                                      f"\u03b5 = {self.eps:g}.")
        curve = self.curves.get((key[0][0], "fgsm", key[0][4]))
        self.test_status.setText(f"{curve.n:,} test samples" if curve else "")
        self.curves_computed.emit({"curves": dict(self.curves), "gallery": gallery})

    def _test_finished(self) -> None:
        self._test_busy = False
        if self._test_pending:
            self._test_pending = False
            self.refresh_test_set()

    def _draw_curves(self) -> None:
        steps = self.steps.value()
        colors = {rid: CLASS_COLORS[i % len(CLASS_COLORS)] for i, rid in enumerate(self.compared_runs())}
        self.runs_list.blockSignals(True)
        for item in (self.runs_list.item(i) for i in range(self.runs_list.count())):  # the legend: a colour swatch
            color = colors.get(item.data(Qt.ItemDataRole.UserRole))
            swatch = QPixmap(12, 12)
            swatch.fill(QColor(color) if color else Qt.GlobalColor.transparent)
            item.setIcon(QIcon(swatch))
        self.runs_list.blockSignals(False)
        if self.plot is None:
            return
        import pyqtgraph as pg

        for item in self.plot.listDataItems():
            self.plot.removeItem(item)
        for rid, color in colors.items():
            for method, style in (("fgsm", Qt.PenStyle.SolidLine), ("pgd", Qt.PenStyle.DashLine)):
                curve = self.curves.get((rid, method, steps))
                if curve is not None:
                    self.plot.plot(np.asarray(curve.eps, np.float64), np.asarray(curve.accuracy),
                                   pen=pg.mkPen(color, width=2, style=style), symbol="o", symbolSize=4,
                                   symbolBrush=color, symbolPen=None)

    def _gallery_clicked(self, index: int) -> None:
        if 0 <= index < len(self.gallery_examples):
            self.index.setValue(self.gallery_examples[index].index)
            self.tabs.setCurrentIndex(0)
