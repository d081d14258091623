"""The adversarial panel: attack a trained classifier and watch its prediction flip.

At the top: the run (a trained run of the project), the test sample, the attack
(FGSM, PGD, BIM or DeepFool; targeted with a target class) and the epsilon
slider. Two tabs:

- **Sample**: the original with its prediction, the perturbation (amplified so
  that ±eps is full colour; blue lowers a pixel, red raises it), the
  adversarial image with its prediction, and the top probabilities before and
  after. Moving the slider recomputes at once on a worker thread (the latest
  request wins; results are cached).
- **Test set**: accuracy against epsilon under FGSM (solid) and PGD (dashed) for
  every checked run, overlaid (e.g. a normal and an adversarially trained run),
  and a gallery of the test samples the attack turns from right to wrong at
  the current eps (click one to attack it in the Sample tab).

Computation is :mod:`dlstudio.insight.robustness`; this module only draws. The Test set
tab is :class:`RobustnessTab` (robustness_tab.py), a mixin of the panel; the Sample tab's
image views and probability bars are in attack_views.py.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QLabel,
    QListWidgetItem,
    QSlider,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from dlstudio.errors import sentence, user_message
from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.adversarial.attack_views import FittedPage, ImageView, ProbabilityPairs
from dlstudio.qt.panels.adversarial.robustness_tab import RobustnessTab
from dlstudio.qt.panels.data.data_widgets import muted_label, section_header
from dlstudio.qt.panels.insight.insight_views import scroll_area
from dlstudio.qt.panels.runs.run_combo import RunsCombo, RunSource
from dlstudio.qt.panels.runs.run_job import RunJob
from dlstudio.qt.panels.training.training_plots import style_axes

METHODS = (("fgsm", "FGSM"), ("pgd", "PGD"), ("bim", "BIM"), ("deepfool", "DeepFool"))
EPS_MAX, EPS_TICKS = 0.3, 60  # the slider: 0 to 0.3 in steps of 0.005
CACHE_SIZE = 64


def _attack_one(job: dict) -> tuple:
    """Worker thread: load the run if needed, attack one test sample."""
    from dlstudio.backend import load_keras
    from dlstudio.insight.robustness import attack_test_sample, load_attack_setup

    load_keras()
    setup = job["setup"] or load_attack_setup(job["project"], job["run"])
    return setup, attack_test_sample(setup, job["index"], job["method"], job["eps"], job["steps"], job["targeted"],
                                     job["target"])


class AdversarialPanel(RobustnessTab, QWidget):
    """Adversarial examples of a trained run: one sample, and the whole test set.

    Signals: ``computed(object)`` an AttackResult is shown; ``curves_computed(dict)``
    the test-set curves and gallery are shown; ``failed(str)`` (the message is shown too).
    """

    computed = Signal(object)
    curves_computed = Signal(object)
    failed = Signal(str)
    _progress = Signal(int, float)  # emitted on the worker thread, received (queued) on the GUI thread

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("AdversarialPanel")
        self.document = self.result = self.setup = None  # the AttackResult and AttackSetup shown
        self.setups: dict[str, Any] = {}  # run id -> AttackSetup
        self.curves: dict[tuple, Any] = {}  # (run id, method, steps) -> RobustnessCurve
        self.gallery_examples: list = []
        self.job = RunJob(self, CACHE_SIZE)  # one sample's attack (the Test set tab has its own worker)
        self.job.done.connect(self._done)
        self.job.failed.connect(lambda _key, message: self._fail(message))
        self._shown_key = self._test_key = None
        self._test_busy = self._test_pending = False
        self._test_request = 0
        self._test_timer = QTimer(self, singleShot=True, interval=500)
        self._test_timer.timeout.connect(self.refresh_test_set)
        self._progress.connect(self._show_progress)
        self._build()
        self.set_document(document)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 4)
        outer.setSpacing(4)
        grid = QGridLayout()
        grid.setHorizontalSpacing(4)
        grid.setColumnStretch(2, 1)
        outer.addLayout(grid)

        def place(row: int, label: str, *cells: tuple) -> None:
            grid.addWidget(QLabel(label, self), row, 0)
            for widget, col, span in cells:
                grid.addWidget(widget, row, col, 1, span)

        changed = lambda *_a: self._changed()
        self.run_combo = RunsCombo(self)
        self.run_combo.setToolTip("A trained run of this project (the Training panel makes them)")
        self.run_combo.setMinimumContentsLength(12)
        self.runs = RunSource(self.run_combo, kind="model")
        self.runs.changed.connect(self._runs_changed)
        reload = QToolButton(self, text="\u21bb", toolTip="Re-read the project's runs")
        reload.clicked.connect(self.refresh_runs)
        place(0, "Run", (self.run_combo, 1, 4), (reload, 5, 1))
        self.index = QSpinBox(self, prefix="test #", keyboardTracking=False, toolTip="Test sample to attack")
        self.index.valueChanged.connect(changed)
        prev = QToolButton(self, text="\u25c0", toolTip="Previous sample")
        prev.clicked.connect(lambda: self.index.setValue(self.index.value() - 1))
        nxt = QToolButton(self, text="\u25b6", toolTip="Next sample")
        nxt.clicked.connect(lambda: self.index.setValue(self.index.value() + 1))
        place(1, "Sample", (prev, 1, 1), (self.index, 2, 1), (nxt, 3, 1))
        self.method_combo = QComboBox(self, toolTip="FGSM: one step along the gradient's sign. PGD: several "
                                      "projected steps from a random start (BIM: from the image). DeepFool: the "
                                      "smallest step across the nearest decision boundary, bounded by eps")
        for key, label in METHODS:
            self.method_combo.addItem(label, key)
        self.method_combo.currentIndexChanged.connect(changed)
        self.steps = QSpinBox(self, minimum=1, maximum=100, value=10, prefix="steps ", keyboardTracking=False,
                              toolTip="PGD / BIM steps")
        self.steps.valueChanged.connect(changed)
        place(2, "Attack", (self.method_combo, 1, 3), (self.steps, 4, 2))
        self.targeted = QCheckBox("Targeted, toward", self, toolTip="Push the prediction toward one class")
        self.targeted.toggled.connect(changed)
        self.target_combo = QComboBox(self, toolTip="The class the targeted attack aims for")
        self.target_combo.currentIndexChanged.connect(changed)
        place(3, "", (self.targeted, 1, 3), (self.target_combo, 4, 2))
        self.eps_slider = QSlider(Qt.Orientation.Horizontal, self, minimum=0, maximum=EPS_TICKS, value=20,
                                  toolTip="The largest change of any input value (L\u221e budget)")
        self.eps_slider.valueChanged.connect(changed)
        self.eps_label = QLabel(self)
        self.eps_label.setMinimumWidth(self.fontMetrics().horizontalAdvance("0.000 (bound)"))
        place(4, "\u03b5", (self.eps_slider, 1, 4), (self.eps_label, 5, 1))
        self.status = muted_label("", self)
        outer.addWidget(self.status)
        self.tabs = QTabWidget(self, documentMode=True)
        outer.addWidget(self.tabs, 1)
        self._build_sample_tab()
        self._build_test_tab()
        self.tabs.currentChanged.connect(lambda _i: self._test_changed())
        self._restyle()
        self._update_controls()

    def _build_sample_tab(self) -> None:
        page = FittedPage(self)
        lay = QVBoxLayout(page)
        pics = QGridLayout()
        self.images: dict[str, ImageView] = {}
        self.captions: dict[str, QLabel] = {}
        for col, name in enumerate(("original", "perturbation", "adversarial")):
            self.images[name] = ImageView(page)
            self.captions[name] = QLabel(name.capitalize(), page, wordWrap=True,
                                         alignment=Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            pics.setColumnStretch(col, 1)
            pics.addWidget(self.images[name], 0, col)
            pics.addWidget(self.captions[name], 1, col)
        lay.addLayout(pics)
        self.note = muted_label("", page)
        self.probs = ProbabilityPairs(page)
        self.explain = muted_label("", page)
        for w in (self.note, section_header("Probabilities before / after", page),
                  muted_label("Upper bar: the original; lower bar: the adversarial image.", page), self.probs,
                  section_header("How it works", page), self.explain):
            lay.addWidget(w)
        lay.addStretch(1)
        self.tabs.addTab(scroll_area(page, self), "Sample")

    def sizeHint(self) -> QSize:
        return QSize(380, 640)

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._restyle()
            self._draw_curves()
        super().changeEvent(event)

    def _restyle(self) -> None:
        if self.plot is None:
            return
        import pyqtgraph as pg

        pal = self.palette()
        self.plot.setBackground(style_axes(self.plot, pal)["background"])
        self.eps_line.setPen(pg.mkPen(pal.color(QPalette.ColorRole.PlaceholderText), style=Qt.PenStyle.DotLine))

    # ------------------------------------------------------------------ document and runs
    def set_document(self, document) -> None:
        self.document = document
        self.setups.clear()
        self.curves.clear()
        self.job.reset()  # an attack still running for the previous project is dropped
        self._test_request += 1
        self.result = self.setup = self._shown_key = self._test_key = None
        self.runs_list.clear()
        self._clear("")
        self.runs.set_document(document)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.document is not None:
            QTimer.singleShot(0, lambda: isValid(self) and self.refresh_runs())

    def refresh_runs(self) -> None:
        """Re-read the project's runs that have weights (the choices are kept) and attack
        the chosen sample if that is not shown yet (a hidden panel waits until shown)."""
        self.runs.refresh()
        self._changed()

    def _runs_changed(self) -> None:
        """The run list or the chosen run changed: the comparison list follows, then the attack."""
        from dlstudio.insight.robustness import run_label

        runs = self.runs.runs()[::-1]
        checked = [rid for rid in self.compared_runs() if any(r.id == rid for r in runs)]
        self.runs_list.blockSignals(True)
        self.runs_list.clear()
        for r in runs:
            item = QListWidgetItem(run_label(r), self.runs_list)
            item.setData(Qt.ItemDataRole.UserRole, r.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
        first = self.run_combo.run_id()
        if not checked:  # the shown run and the newest run trained the other way (normal vs adversarial)
            adv = {r.id: (r.info.get("settings") or {}).get("adversarial", "none") for r in runs}
            checked = [first] if first is not None else []
            checked += [rid for rid in adv if first is not None and adv[rid] != adv[first]][:1]
        for item in (self.runs_list.item(i) for i in range(self.runs_list.count())):
            checked_here = item.data(Qt.ItemDataRole.UserRole) in checked
            item.setCheckState(Qt.CheckState.Checked if checked_here else Qt.CheckState.Unchecked)
        self.runs_list.blockSignals(False)
        if not runs:
            self._clear("No trained runs yet: train the project (Training panel or `dlstudio train`), "
                        "then attack it here." if self.document is not None else "No project.")
        self._changed()

    def set_run(self, run_id: str) -> None:
        self.runs.refresh()
        if not self.run_combo.choose(run_id):
            raise KeyError(run_id)

    # ------------------------------------------------------------------ parameters
    @property
    def eps(self) -> float:
        return round(self.eps_slider.value() * EPS_MAX / EPS_TICKS, 6)

    def set_eps(self, eps: float) -> None:
        self.eps_slider.setValue(round(float(eps) / EPS_MAX * EPS_TICKS))

    def method(self) -> str:
        return self.method_combo.currentData()

    def _update_controls(self) -> None:
        method = self.method()
        self.steps.setEnabled(method in ("pgd", "bim"))
        self.targeted.setEnabled(method != "deepfool")
        self.target_combo.setEnabled(self.targeted.isEnabled() and self.targeted.isChecked())
        self.eps_label.setText(f"{self.eps:.3f}" + (" (bound)" if method == "deepfool" else ""))
        if self.eps_line is not None:
            self.eps_line.setPos(self.eps)

    def _job(self) -> dict | None:
        run = self.run_combo.run_id()
        if run is None or self.document is None:
            return None
        targeted = self.targeted.isEnabled() and self.targeted.isChecked() and self.target_combo.count() > 0
        return {"project": self.document.project, "run": run, "index": self.index.value(), "method": self.method(),
                "eps": self.eps, "steps": self.steps.value(), "targeted": targeted,
                "target": self.target_combo.currentData() if targeted else None, "setup": self.setups.get(run)}

    @staticmethod
    def _key(job: dict) -> tuple:
        return tuple(job[k] for k in ("run", "index", "method", "eps", "steps", "targeted", "target"))

    # ------------------------------------------------------------------ one sample
    def _changed(self) -> None:
        self._update_controls()
        self.refresh()
        self._test_changed()

    def is_busy(self) -> bool:
        return self.job.is_busy() or self._test_busy

    def refresh(self) -> None:
        """Attack the chosen sample (at once, on a worker thread; the latest request wins)."""
        from dlstudio.qt.keras_loader import keras_ready

        job = self._job()
        if job is None or not self.isVisible():  # a hidden panel computes when it is shown
            return
        if not keras_ready():
            self._set_status("Keras is loading\u2026")
            QTimer.singleShot(500, lambda: isValid(self) and self.refresh())
            return
        key = self._key(job)
        if key == self._shown_key:
            return
        if self.job.request(key, _attack_one, job) and job["setup"] is None:
            self._set_status("Loading the run\u2026")

    def _done(self, key: tuple, result: tuple) -> None:
        self.setups[key[0]] = result[0]
        job = self._job()
        if job is not None and key == self._key(job):
            self._show(*result, key=key)

    def _fail(self, exc: BaseException | str) -> None:
        if not isValid(self):
            return
        message = sentence(exc if isinstance(exc, str) else user_message(exc))
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")
        self.failed.emit(message)

    def _set_status(self, text: str) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("")

    def _clear(self, text: str) -> None:
        self._set_status(text)
        self.result = None
        for view in self.images.values():
            view.set_rgb(None)
        self.probs.set_probabilities(np.zeros(1), np.zeros(1), [], -1, 0)
        self.note.setText("")
        for name, caption in self.captions.items():
            caption.setText(name.capitalize())

    def _show(self, setup, result, key: tuple) -> None:
        from dlstudio.insight.attacks import DESCRIPTIONS, TARGETED_DESCRIPTION
        from dlstudio.insight.robustness import display_rgb, perturbation_image

        self.setup, self.result, self._shown_key = setup, result, key
        ds = setup.dataset
        names = [result.name(i) for i in range(result.probs_before.shape[1])]
        if self.target_combo.count() != len(names):
            self.target_combo.blockSignals(True)
            self.target_combo.clear()
            for i, n in enumerate(names):
                self.target_combo.addItem(f"class {n}", i)
            self.target_combo.blockSignals(False)
        self.index.blockSignals(True)
        self.index.setMaximum(len(ds.x_test) - 1)
        self.index.blockSignals(False)
        images = ds.kind == "image" and ds.x_test.ndim == 4
        self.images["original"].set_rgb(display_rgb(result.original[0], setup.clip) if images else None)
        self.images["adversarial"].set_rgb(display_rgb(result.adversarial[0], setup.clip) if images else None)
        self.images["perturbation"].set_rgb(perturbation_image(result.perturbation[0], self.eps or None)
                                            if images else None)
        label, before, after = int(result.labels[0]), result.probs_before[0], result.probs_after[0]
        pb, pa = int(before.argmax()), int(after.argmax())
        colors = {ok: severity_color("ok" if ok else "error", self.palette()).name() for ok in (True, False)}

        def pred(c: int, p: float) -> str:
            return f"<span style='color:{colors[c == label]}'><b>{names[c]}</b> {p:.0%}</span>"

        self.captions["original"].setText(f"Original<br>true {names[label]}, predicted {pred(pb, before[pb])}")
        amp = f"amplified: \u00b1{self.eps:g} is full red / blue" if self.eps > 0 else "none"
        self.captions["perturbation"].setText(f"Perturbation<br>{amp}")
        self.captions["adversarial"].setText(f"Adversarial<br>predicted {pred(pa, after[pa])}")
        self.probs.set_probabilities(before, after, names, label, target=result.target)
        self.note.setText(result.summary())
        text = DESCRIPTIONS[result.method].format(n=int(np.prod(ds.input_shape)), steps=self.steps.value())
        self.explain.setText(text + (TARGETED_DESCRIPTION if result.target is not None else ""))
        self._set_status(f"{setup.label} \u00b7 test #{self.index.value()} \u00b7 "
                         f"{self.method_combo.currentText()} at \u03b5 = {self.eps:g}")
        self.computed.emit(result)
