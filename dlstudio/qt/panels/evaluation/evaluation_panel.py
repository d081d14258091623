"""The evaluation panel: how good is a trained run, and where does it fail?

Pick a run (the newest finished one by default) and its weights (last or
best); it is evaluated on the test split on a worker thread
(:func:`dlstudio.training.evaluate.evaluate_run`, the same core as
``dlstudio evaluate``). Shown:

- the test metrics;
- classification: the confusion matrix (click a cell: its samples, most
  confident first, as an image grid or as rows), precision, recall and F1 per
  class, ROC and precision-recall curves per class with their areas and the
  reliability diagram with the expected calibration error ("Curves"); for 2-D
  points, the decision boundary behind the test points;
- regression: predicted against true values, with the identity line.

Results are cached per (run, weights, weights file time); the panel computes
only while it is shown; after each training it shows the new run.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.data.data_widgets import muted_label, section_header
from dlstudio.qt.panels.evaluation.evaluation_views import (
    ClassReportTable,
    ConfusionMatrixView,
    SamplesView,
)
from dlstudio.qt.panels.runs.run_panel import RunPanel

CACHE_SIZE = 3  # evaluations kept (each holds its model and test arrays)
BOUNDARY_RESOLUTION = 150


def _evaluate(project: Any, run: Any, which: str) -> tuple:
    """On a worker thread: (Evaluation, dataset, boundary) with boundary
    ``(image, x_range, y_range)`` for 2-D classification data, else None."""
    from dlstudio.backend import load_keras
    from dlstudio.runs import dataset_for_run
    from dlstudio.training.evaluate import boundary_image, evaluate_run

    load_keras()
    dataset = dataset_for_run(project, run)
    ev = evaluate_run(project, run, which, dataset=dataset)
    boundary = None
    if ev.task == "classification" and ev.x.ndim == 2 and ev.x.shape[1] == 2:
        xs, ys, grid = ev.decision_boundary(BOUNDARY_RESOLUTION)
        boundary = (boundary_image(grid), (float(xs[0]), float(xs[-1])), (float(ys[0]), float(ys[-1])))
    return ev, dataset, boundary


def metrics_html(ev: Any) -> str:
    """``Test accuracy 97.5% · loss 0.0812 · ...`` for the metrics label."""
    from dlstudio.qt.panels.training.training_plots import format_metric, metric_title

    m = dict(ev.metrics)
    parts = []
    if ev.task == "classification":
        parts.append(f"accuracy <b>{m.get('accuracy', float('nan')):.2%}</b>")
    else:
        parts += [f"MAE <b>{m['mae']:.4g}</b>", f"RMSE <b>{m['rmse']:.4g}</b>", f"R² <b>{m['r2']:.3f}</b>"]
    for k, v in m.items():
        if k.startswith("test_") and k != "test_accuracy":
            parts.append(f"{html.escape(metric_title(k[5:]))} <b>{format_metric(k[5:], v)}</b>")
    return (f"Test split of <b>{html.escape(ev.dataset_name)}</b> ({len(ev.y_true):,} samples): "
            + " · ".join(parts))


class EvaluationPanel(RunPanel):
    """Evaluates a run of the document's project and shows where it errs.

    Public (besides RunPanel's ``set_document``, ``refresh_runs``, ``run_ids``,
    ``set_run(id, which)``, ``is_busy()``): ``reload()``, ``click_cell(true, pred)``;
    ``evaluation`` (the Evaluation shown) and ``dataset``. Signals:
    ``evaluated(object)`` and ``failed(str)``.
    """

    evaluated = Signal(object)
    no_run_text = ("No trained run yet. Train the model (F5); its evaluation on the test split shows here when "
                   "the training ends.")

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent, CACHE_SIZE)
        self.setObjectName("EvaluationPanel")
        self.evaluation = None
        self.dataset = None
        self.boundary_view = None  # made for 2-D data
        self.scatter = None  # made for regression
        self.curves_view = None  # made for classification (pyqtgraph)
        self._shown_key: tuple | None = None
        self._build()
        self.set_document(document)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 4)
        outer.setSpacing(4)
        bar = QHBoxLayout()
        bar.setSpacing(6)
        self.run_combo = self.make_run_choice("The run to evaluate on the test split (newest first)",
                                              accept=lambda r: r.status in ("finished", "stopped"))
        self.run_combo.setMinimumContentsLength(24)
        self.which_combo = QComboBox(self)
        self.which_combo.addItem("last weights", "last")
        self.which_combo.addItem("best epoch", "best")
        self.which_combo.setToolTip("The weights at the end of training, or those of the epoch with the lowest "
                                    "validation loss")
        self.which_combo.currentIndexChanged.connect(lambda _i: self.schedule())
        self.reload_button = QToolButton(self)
        self.reload_button.setText("\u21bb")
        self.reload_button.setToolTip("Read the runs again and re-evaluate")
        self.reload_button.clicked.connect(self.reload)
        bar.addWidget(QLabel("Run", self))
        bar.addWidget(self.run_combo, 1)
        bar.addWidget(self.which_combo)
        bar.addWidget(self.reload_button)
        outer.addLayout(bar)
        self.status = muted_label("", self, wrap=False)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        outer.addWidget(self.status)

        self.stack = QStackedWidget(self)
        self.hint = muted_label("", self)
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.stack.addWidget(self.hint)
        # classification: matrix and report on the left, samples / boundary on the right
        self.classes_page = QSplitter(Qt.Orientation.Horizontal, self)
        self.classes_page.setChildrenCollapsible(False)
        left = QWidget(self.classes_page)
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        lay.addWidget(section_header("Confusion matrix", left))
        self.matrix = ConfusionMatrixView(left)
        self.matrix.cell_clicked.connect(self.click_cell)
        lay.addWidget(self.matrix, 1)
        self.right_tabs = QTabWidget(self.classes_page)
        self.right_tabs.setDocumentMode(True)
        self.samples = SamplesView(self.right_tabs)
        self.right_tabs.addTab(self.samples, "Samples")
        self.report = ClassReportTable(self.right_tabs)
        self.right_tabs.addTab(self.report, "Per class")
        self.classes_page.addWidget(left)
        self.classes_page.addWidget(self.right_tabs)
        self.classes_page.setStretchFactor(0, 2)
        self.classes_page.setStretchFactor(1, 3)
        self.stack.addWidget(self.classes_page)
        self.regression_page = QWidget(self)
        QVBoxLayout(self.regression_page).setContentsMargins(0, 0, 0, 0)
        self.stack.addWidget(self.regression_page)
        outer.addWidget(self.stack, 1)

    def sizeHint(self) -> QSize:
        return QSize(900, 360)

    # ------------------------------------------------------------------ runs
    def set_run(self, run_id: str, which: str = "last") -> None:
        self.which_combo.setCurrentIndex(max(0, self.which_combo.findData(which)))
        super().set_run(run_id)

    def reload(self) -> None:
        self.job.reset()
        self._shown_key = None
        self.runs.refresh()
        self.schedule()

    # ------------------------------------------------------------------ computing
    def _key(self) -> tuple | None:
        run = self.runs.run()
        if run is None:
            return None
        which = self.which_combo.currentData()
        from dlstudio.runs.loaded import WEIGHT_FILES

        weights = run.path / WEIGHT_FILES[which]
        return (str(run.path), which, weights.stat().st_mtime if weights.exists() else 0)

    def compute(self, run: Any) -> None:
        """Evaluate the chosen run (or show it from the cache)."""
        key = self._key()
        if key is None or key == self._shown_key:
            return
        if self.job.request(key, _evaluate, self.document.project, run, key[1]):
            self.show_status(f"Evaluating run {html.escape(run.id)} on the test split\u2026")
            if self.stack.currentWidget() is self.hint:
                self.hint.setText(f"Evaluating run {html.escape(run.id)}\u2026")

    def show_error(self, message: str) -> None:
        self._shown_key = None
        self.status.setText(html.escape(message))
        self.status.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")
        self.status.setToolTip(message)

    def show_status(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.status.setToolTip("")

    def clear_view(self, text: str) -> None:
        self._shown_key = None
        self.evaluation = self.dataset = None
        self.show_status("")
        self.hint.setText(text)
        self.stack.setCurrentWidget(self.hint)

    # ------------------------------------------------------------------ showing
    def show_result(self, key: tuple, result: tuple) -> None:
        ev, dataset, boundary = result
        self._shown_key = key
        self.evaluation, self.dataset = ev, dataset
        self.show_status(metrics_html(ev))
        if ev.task == "classification":
            self.matrix.set_matrix(ev.confusion_matrix, ev.class_names)
            self.report.set_report(ev.per_class)
            self._show_curves(ev)
            self._show_boundary(ev, boundary)
            self.stack.setCurrentWidget(self.classes_page)
            worst = self._worst_cell(ev.confusion_matrix)
            if worst is not None:
                self.click_cell(*worst)  # the most frequent mistake first
            else:
                self.samples.clear("No mistakes on the test split. Click a cell to see its samples.")
            if boundary is not None:  # 2-D points: the boundary is the view to start with
                self.right_tabs.setCurrentWidget(self.boundary_view)
        else:
            if self.scatter is None:
                from dlstudio.qt.panels.evaluation.evaluation_views import RegressionScatter

                self.scatter = RegressionScatter(self.regression_page)
                self.regression_page.layout().addWidget(self.scatter)
            self.scatter.set_values(ev.y_true, ev.predicted)
            self.stack.setCurrentWidget(self.regression_page)
        self.evaluated.emit(ev)

    @staticmethod
    def _worst_cell(cm: np.ndarray) -> tuple[int, int] | None:
        """The off-diagonal cell with the most samples (where to look first), or None."""
        off = cm.copy()
        np.fill_diagonal(off, 0)
        if not off.any():
            return None
        t, p = np.unravel_index(int(off.argmax()), off.shape)
        return int(t), int(p)

    def _show_curves(self, ev: Any) -> None:
        from dlstudio.training.curves import classification_curves

        if self.curves_view is None:
            from dlstudio.qt.panels.evaluation.curves_view import CurvesView

            self.curves_view = CurvesView(self.right_tabs)
            self.right_tabs.addTab(self.curves_view, "Curves")
        self.curves_view.set_curves(classification_curves(ev.y_true, ev.probabilities, ev.class_names))

    def _show_boundary(self, ev: Any, boundary: tuple | None) -> None:
        if boundary is None:
            if self.boundary_view is not None:
                self.right_tabs.removeTab(self.right_tabs.indexOf(self.boundary_view))
            return
        if self.boundary_view is None:
            from dlstudio.qt.panels.training.live_views import BoundaryView

            self.boundary_view = BoundaryView(self.right_tabs)
        if self.right_tabs.indexOf(self.boundary_view) < 0:
            self.right_tabs.addTab(self.boundary_view, "Boundary")
        image, xr, yr = boundary
        self.boundary_view.set_frame(image, xr, yr, ev.x, ev.y_true, ev.class_names,
                                     f"Decision boundary of run {ev.run_id} with the test points")

    def click_cell(self, true: int, pred: int) -> np.ndarray:
        """Show the samples of a confusion-matrix cell (as a click on it does); returns their indices."""
        ev = self.evaluation
        if ev is None or ev.confusion_matrix is None:
            return np.zeros(0, np.int64)
        self.matrix.selected = (true, pred)
        self.matrix.update()
        self.right_tabs.setCurrentWidget(self.samples)
        return self.samples.show_cell(ev, self.dataset, true, pred)
