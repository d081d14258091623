"""The project's runs: a table of every training run on disk, and a plot that
overlays the curves (``history.json``) of the runs selected in it.

The list is read from the runs folder (``NAME.runs`` beside the project, or the
folder under the config dir where an unsaved project's runs go), so it always
shows what is on disk. A run can be continued (more epochs from its weights)
or deleted (after a confirmation).
"""

from __future__ import annotations

import html
import shutil
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView, QComboBox, QHBoxLayout, QHeaderView, QLabel, QMessageBox, QSplitter, QToolButton,
    QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget,
)

from dlstudio.qt.panels.training.training_plots import format_metric, import_pyqtgraph, metric_title, style_axes
from dlstudio.qt.signals import rebind
from dlstudio.qt.plot_menu import install_plot_menu

#: Colours of overlaid runs (light palette, dark palette), cycled.
RUN_COLORS = (("#1f6feb", "#5b9cf6"), ("#e8710a", "#ffa657"), ("#1a7f37", "#56d364"),
              ("#cf222e", "#ff7b72"), ("#8250df", "#c297ff"), ("#0a7f86", "#39c5cf"),
              ("#9a6700", "#e3b341"), ("#bf3989", "#f778ba"))

ROLE_ID = Qt.ItemDataRole.UserRole


class _Item(QTreeWidgetItem):
    """Sorts numbers as numbers (the sort key is in UserRole + 1)."""

    def __lt__(self, other: QTreeWidgetItem) -> bool:
        col = self.treeWidget().sortColumn() if self.treeWidget() else 0
        a, b = self.data(col, ROLE_ID + 1), other.data(col, ROLE_ID + 1)
        if a is not None and b is not None:
            try:
                return a < b
            except TypeError:
                pass
        return self.text(col) < other.text(col)


class RunsPanel(QWidget):
    """Lists ``list_runs`` of the document's project and compares selected runs.

    ``refresh()`` re-reads the folder; ``select_runs(ids)`` selects runs;
    ``curves`` maps the run ids on the compare plot to their curves;
    ``set_metric(name)`` chooses what the compare plot shows.
    """

    continue_requested = Signal(str)  # run folder
    diff_requested = Signal(str, str)  # two run ids: what differs (dlstudio.search.diff), in a window
    runs_changed = Signal()

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("RunsPanel")
        self.document = None
        self.runs: list = []
        self.curves: dict[str, Any] = {}  # run id -> PlotDataItem
        self._histories: dict[str, dict] = {}
        self._metric_columns: list[str] = []
        self.busy_run: Path | None = None  # the run a training writes to now (not deletable)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 4, 6, 4)
        outer.setSpacing(4)
        bar = QHBoxLayout()
        self.count_label = QLabel(self)
        self.count_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        bar.addWidget(self.count_label, 1)
        self.refresh_button = self._tool("Refresh", "Read the runs folder again", self.refresh)
        self.continue_button = self._tool("Continue", "Train more epochs from the selected run's weights",
                                          self._continue)
        self.delete_button = self._tool("Delete…", "Delete the selected runs from disk", self.delete_selected)
        self.diff_button = self._tool("Diff", "What differs between the two selected runs: layers, parameters, "
                                              "settings and metrics", self._diff)
        for b in (self.refresh_button, self.continue_button, self.diff_button, self.delete_button):
            bar.addWidget(b)
        outer.addLayout(bar)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setChildrenCollapsible(False)
        self.tree = QTreeWidget(split)
        self.tree.setObjectName("runs_tree")
        self.tree.setRootIsDecorated(False)
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.tree.setSortingEnabled(True)
        self.tree.itemSelectionChanged.connect(self._selection_changed)
        self.tree.itemDoubleClicked.connect(lambda *_: self._continue())

        right = QWidget(split)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        rl.setSpacing(2)
        top = QHBoxLayout()
        top.addWidget(QLabel("Compare", right))
        self.metric_combo = QComboBox(right)
        self.metric_combo.setObjectName("compare_metric")
        self.metric_combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.metric_combo.currentIndexChanged.connect(lambda _i: self._draw())
        top.addWidget(self.metric_combo)
        top.addStretch(1)
        rl.addLayout(top)
        self._right_layout = rl
        self.plot_widget = None  # the compare plot, made when runs are first selected
        self.plot = None
        self.empty_label = QLabel(right)
        self.empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty_label.setWordWrap(True)
        rl.addWidget(self.empty_label, 1)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        outer.addWidget(split, 1)
        self.set_document(document)

    def _diff(self) -> None:
        ids = self.selected_ids()
        if len(ids) == 2:
            self.diff_requested.emit(*sorted(ids))

    def _tool(self, text: str, tip: str, slot) -> QToolButton:
        b = QToolButton(self)
        b.setText(text)
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.clicked.connect(lambda _=False: slot())
        return b

    def sizeHint(self) -> QSize:
        return QSize(800, 260)

    # ------------------------------------------------------------ public API
    def set_document(self, document) -> None:
        rebind(self.document, document, ("path_changed", self._path_changed), ("runs_changed", self.refresh))
        self.document = document
        self.refresh()

    def _path_changed(self, *_args) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Read the runs folder again; keeps the selection where runs remain."""
        selected = set(self.selected_ids())
        self.runs = []
        if self.document is not None:
            store = self.document.runs
            try:
                self.runs = store.runs()
            except OSError:
                self.runs = []
            where = f"{store.folder}" if not store.saved else store.folder.name
        else:
            where = ""
        self._histories = {}
        n = len(self.runs)
        self.count_label.setText(f"{n} run{'s' if n != 1 else ''} in {where}" if n else
                                 ("No runs yet: train the model to make one." if self.document else ""))
        self.count_label.setToolTip(where)
        self._fill(selected)
        self.runs_changed.emit()

    def selected_ids(self) -> list[str]:
        return [it.data(0, ROLE_ID) for it in self.tree.selectedItems()]

    def select_runs(self, ids: list[str]) -> None:
        wanted = set(ids)
        self.tree.blockSignals(True)
        try:
            self.tree.clearSelection()
            for i in range(self.tree.topLevelItemCount()):
                it = self.tree.topLevelItem(i)
                if it.data(0, ROLE_ID) in wanted:
                    it.setSelected(True)
        finally:
            self.tree.blockSignals(False)
        self._selection_changed()

    def run(self, run_id: str):
        return next((r for r in self.runs if r.id == run_id), None)

    def set_metric(self, name: str) -> None:
        i = self.metric_combo.findData(name)
        if i >= 0:
            self.metric_combo.setCurrentIndex(i)

    def current_metric(self) -> str | None:
        return self.metric_combo.currentData()

    def delete_selected(self) -> bool:
        """Delete the selected runs after asking; True if any were deleted."""
        runs = [r for r in (self.run(i) for i in self.selected_ids()) if r is not None]
        if not runs or self.document is None:
            return False
        busy = [r for r in runs if self.busy_run is not None and Path(r.path) == Path(self.busy_run)]
        if busy:
            QMessageBox.information(self, "Run in use", f"Run {busy[0].id} is training now: stop it first.")
            return False
        names = "\n".join(f"  {r.id}" for r in runs[:10]) + ("\n  …" if len(runs) > 10 else "")
        answer = QMessageBox.question(
            self, "Delete runs?",
            f"Delete {len(runs)} run{'s' if len(runs) != 1 else ''} with {'their' if len(runs) != 1 else 'its'} "
            f"weights and history from disk?\n\n{names}\n\nThis cannot be undone.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        if answer != QMessageBox.StandardButton.Yes:
            return False
        base = self.document.runs.folder
        failed = []
        for r in runs:
            path = Path(r.path)
            if path.resolve().parent != base.resolve():  # never outside the runs folder
                failed.append(f"{r.id}: not inside {base}")
                continue
            try:
                shutil.rmtree(path)
            except OSError as exc:
                failed.append(f"{r.id}: {exc}")
        if failed:
            from dlstudio.qt.notifications import notifications

            notifications().notify("Some runs could not be deleted", "error", "\n".join(failed))
        self.document.notify_runs_changed()  # every panel drops the deleted runs (this one too)
        return True

    # ------------------------------------------------------------- internals
    def _fill(self, selected: set[str]) -> None:
        metrics: list[str] = []
        for r in self.runs:
            for k in r.metrics:
                if k.startswith("test_") and k not in metrics:
                    metrics.append(k)
        metrics.sort(key=lambda k: (k != "test_accuracy", k != "test_loss", k))
        self._metric_columns = metrics
        headers = ["Run", "Status", "Epochs", "Dataset", *[metric_title(k[5:]).replace("mean ", "") +
                                                           " (test)" for k in metrics]]
        self.tree.blockSignals(True)
        self.tree.setSortingEnabled(False)
        try:
            self.tree.clear()
            self.tree.setColumnCount(len(headers))
            self.tree.setHeaderLabels(headers)
            colors = self._colors()
            for r in self.runs:
                it = _Item()
                it.setData(0, ROLE_ID, r.id)
                it.setText(0, r.id)
                tip = [f"<b>{html.escape(r.id)}</b>"]
                if r.info.get("continued_from"):
                    tip.append(f"continued from {html.escape(str(r.info['continued_from']))}")
                settings = r.info.get("settings") or {}
                if settings:
                    tip.append(html.escape(", ".join(f"{k} {settings[k]}" for k in
                                                     ("optimizer", "learning_rate", "batch_size", "epochs")
                                                     if k in settings)))
                if r.info.get("error"):
                    tip.append(f"<span style='color:{colors['error']}'>{html.escape(str(r.info['error']))}</span>")
                it.setToolTip(0, "<br>".join(tip))
                status = r.status
                it.setText(1, status)
                if status == "failed":
                    it.setForeground(1, QColor(colors["error"]))
                    it.setToolTip(1, str(r.info.get("error", "")))
                epochs = r.info.get("epochs_done", 0)
                it.setText(2, str(epochs))
                it.setData(2, ROLE_ID + 1, int(epochs) if isinstance(epochs, int) else 0)
                it.setTextAlignment(2, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                it.setText(3, str(r.info.get("dataset", "")))
                for j, k in enumerate(metrics, start=4):
                    v = r.metrics.get(k)
                    if isinstance(v, (int, float)):
                        it.setText(j, format_metric(k, v))
                        it.setData(j, ROLE_ID + 1, float(v))
                        it.setTextAlignment(j, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.tree.addTopLevelItem(it)
                if r.id in selected:
                    it.setSelected(True)
            header = self.tree.header()
            header.setStretchLastSection(False)
            header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        finally:
            self.tree.setSortingEnabled(True)
            self.tree.sortItems(0, Qt.SortOrder.AscendingOrder)
            self.tree.blockSignals(False)
        self._selection_changed()

    def _history(self, run) -> dict:
        if run.id not in self._histories:
            h = run.history()
            self._histories[run.id] = h if isinstance(h, dict) else {}
        return self._histories[run.id]

    def _selection_changed(self) -> None:
        self.diff_button.setEnabled(len(self.selected_ids()) == 2)
        runs = [r for r in (self.run(i) for i in self.selected_ids()) if r is not None]
        keys: list[str] = []
        for r in runs:
            for k, v in self._history(r).items():
                if isinstance(v, list) and k not in keys:
                    keys.append(k)
        keys.sort(key=lambda k: (k.removeprefix("val_"), k.startswith("val_")))
        keys.sort(key=lambda k: k.removeprefix("val_") != "loss")
        current = self.current_metric() or "loss"
        self.metric_combo.blockSignals(True)
        try:
            self.metric_combo.clear()
            for k in keys:
                label = metric_title(k.removeprefix("val_")) + (" (validation)" if k.startswith("val_") else "")
                self.metric_combo.addItem(label, k)
            i = self.metric_combo.findData(current)
            self.metric_combo.setCurrentIndex(max(i, 0))
        finally:
            self.metric_combo.blockSignals(False)
        one = len(runs) == 1
        self.continue_button.setEnabled(one and runs[0].weights_path.is_file()
                                        and runs[0].status in ("finished", "stopped"))
        self.delete_button.setEnabled(bool(runs))
        self._draw()

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        pg = import_pyqtgraph()
        self.plot_widget = pg.PlotWidget(self)
        install_plot_menu(self.plot_widget, "Runs compared")
        self.plot_widget.setObjectName("compare_plot")
        self.plot = self.plot_widget.getPlotItem()
        self.plot.setDownsampling(auto=True, mode="peak")
        self.plot.setClipToView(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.showGrid(x=True, y=True, alpha=0.12)
        self.plot.addLegend(offset=(-6, 6), labelTextSize="8pt", verSpacing=-6)
        self.plot.setMinimumHeight(120)
        self._right_layout.insertWidget(1, self.plot_widget, 1)
        self._apply_palette()

    def _draw(self) -> None:
        self.curves = {}
        metric = self.current_metric()
        runs = [r for r in (self.run(i) for i in self.selected_ids()) if r is not None]
        if not runs or metric is None:
            self.empty_label.setText("Select runs (Ctrl/Shift-click) to compare their curves." if not runs
                                     else "The selected runs have no history yet.")
            self.empty_label.show()
            if self.plot_widget is not None:
                self.plot_widget.hide()
            return
        self.empty_label.hide()
        self._ensure_plot()
        self.plot_widget.show()
        pg = import_pyqtgraph()
        self.plot.clear()
        if self.plot.legend is not None:
            self.plot.legend.clear()
        dark = self._dark()
        for i, r in enumerate(runs):
            values = self._history(r).get(metric) if metric else None
            if not isinstance(values, list) or not values:
                continue
            color = QColor(RUN_COLORS[i % len(RUN_COLORS)][1 if dark else 0])
            y = [float(v) if isinstance(v, (int, float)) else float("nan") for v in values]
            curve = self.plot.plot(list(range(1, len(y) + 1)), y, name=r.id, antialias=True,
                                   pen=pg.mkPen(color, width=2),
                                   symbol="o" if len(y) <= 60 else None, symbolSize=4,
                                   symbolPen=pg.mkPen(color), symbolBrush=pg.mkBrush(color))
            self.curves[r.id] = curve
        self.plot.setLabel("bottom", "epoch")
        self.plot.setLabel("left", metric_title((metric or "").removeprefix("val_")))

    def _continue(self) -> None:
        ids = self.selected_ids()
        run = self.run(ids[0]) if len(ids) == 1 else None
        if run is not None and self.continue_button.isEnabled():
            self.continue_requested.emit(str(run.path))

    # -------------------------------------------------------------- colours
    def _dark(self) -> bool:
        from dlstudio.qt.theme import is_dark

        return is_dark(self.palette())

    def _colors(self) -> dict[str, str]:
        from dlstudio.qt.icons import severity_color

        return {"error": severity_color("error", self.palette()).name()}

    def _apply_palette(self) -> None:
        if self.plot is None:
            return
        pg = import_pyqtgraph()
        c = style_axes(self.plot, self.palette())
        self.plot_widget.setBackground(c["background"])
        if self.plot.legend is not None:
            self.plot.legend.setLabelTextColor(c["text"])
            bg = QColor(c["background"])
            bg.setAlphaF(0.75)
            self.plot.legend.setBrush(pg.mkBrush(bg))

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._apply_palette()
            if hasattr(self, "tree"):
                self._draw()
