"""The embedding projector: where a trained run's layer puts each test sample.

Pick a run, a layer (default: the one before the output; an autoencoder's code
layer for an autoencoder, so its 2-D codes are one case of this view) and a
projection (PCA, t-SNE, UMAP when installed). The activations of the test split
are computed and projected on a worker thread with progress
(:func:`dlstudio.insight.projector.project_layer`); the points are coloured by
true class and misclassified ones are ringed. Hovering shows the sample and its
classes; a click opens it in Predict (``open_sample(run_id, split, index)``); the
Lasso button lets a drag draw a loop whose points become the selection, shown as a
grid with their classes. pyqtgraph loads when the panel is first shown.

"Follow the training" shows the running training's model instead, redrawn with the weights of
every epoch's end (``on_live_event(WeightsSnapshot)``): the classes drawing apart as it learns.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QSplitter,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.data.data_widgets import SampleGrid, muted_label
from dlstudio.qt.panels.projector.class_points import class_brushes, fill_legend
from dlstudio.qt.panels.runs.run_panel import RunPanel
from dlstudio.qt.plot_menu import install_plot_menu

GRID_MAX = 48  # samples of a lasso selection shown
HOVER_PIXELS = 12  # the pointer is "on" a point within this many pixels


class Progress:
    """Thread-safe progress of a computation, read by a timer on the GUI thread."""

    def __init__(self):
        self.lock = threading.Lock()
        self.state = (0, 1, "")

    def emit(self, done: int, total: int, what: str) -> None:
        with self.lock:
            self.state = (int(done), max(1, int(total)), str(what))

    def read(self) -> tuple[int, int, str]:
        with self.lock:
            return self.state


def _project(project: Any, run: Any, layer: str | None, method: str, progress: Progress) -> tuple:
    """On a worker: (Projection, dataset, layer names, model)."""
    from dlstudio.backend import load_keras
    from dlstudio.insight.projector import candidate_layers, project_layer
    from dlstudio.runs import load_run, run_graph

    load_keras()
    progress.emit(0, 1, "loading the run")
    loaded = load_run(project, run)
    p = project_layer(loaded.model, loaded.dataset, layer, method, emit=progress.emit, graph=run_graph(run))
    return p, loaded.dataset, candidate_layers(loaded.model), loaded.model


def _project_snapshot(project: Any, graph: Any, weights: Any, dataset: Any, layer: str | None, method: str,
                      progress: Progress) -> tuple:
    """On a worker: the running training's model with one epoch's weights, projected as a run is."""
    from dlstudio.backend import load_keras
    from dlstudio.insight.models import project_dataset, untrained_model
    from dlstudio.insight.projector import candidate_layers, project_layer

    load_keras()
    progress.emit(0, 1, "the training's weights")
    model = untrained_model(graph)
    model.set_weights(list(weights))
    dataset = dataset if dataset is not None else project_dataset(project)
    p = project_layer(model, dataset, layer, method, emit=progress.emit, graph=graph)
    return p, dataset, candidate_layers(model), model


def _lasso_viewbox_class() -> type:
    """A pyqtgraph ViewBox whose drags draw a lasso while ``lasso`` is on (made lazily)."""
    from dlstudio.qt.panels.training.training_plots import import_pyqtgraph

    pg = import_pyqtgraph()

    class LassoViewBox(pg.ViewBox):
        def __init__(self, on_lasso, **kwargs):
            super().__init__(**kwargs)
            self.lasso = False
            self.on_lasso = on_lasso
            self.path: list[tuple[float, float]] = []
            self.curve = pg.PlotCurveItem(pen=pg.mkPen("#333333", width=1.5, style=Qt.PenStyle.DashLine))
            self.addItem(self.curve, ignoreBounds=True)

        def mouseDragEvent(self, ev, axis=None):
            if not self.lasso or ev.button() != Qt.MouseButton.LeftButton:
                super().mouseDragEvent(ev, axis)
                return
            ev.accept()
            p = self.mapSceneToView(ev.scenePos())
            if ev.isStart():
                start = self.mapSceneToView(ev.buttonDownScenePos())
                self.path = [(start.x(), start.y())]
            self.path.append((p.x(), p.y()))
            xs, ys = zip(*(self.path + self.path[:1]))
            self.curve.setData(np.array(xs), np.array(ys))
            if ev.isFinish():
                self.on_lasso(list(self.path))

    return LassoViewBox


class ProjectorPanel(RunPanel):
    """Signals: ``projected(Projection)``, ``open_sample(run_id, split, index)``,
    ``selection_changed(indices)`` (split indices), ``hovered(index)`` (-1: none)."""

    projected = Signal(object)
    open_sample = Signal(str, str, int)
    selection_changed = Signal(object)
    hovered = Signal(int)
    #: "Follow the training" was switched: the training should (not) send its weights every epoch.
    follow_changed = Signal(bool)

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent, cache_size=6)
        self.setObjectName("ProjectorPanel")
        self.projection = None
        self.dataset = None
        self.selection = np.zeros(0, np.int64)
        self.hover_index = -1
        self._progress = Progress()
        self._timer = QTimer(self)
        self._timer.setInterval(100)
        self._timer.timeout.connect(self._show_progress)
        self.job.busy_changed.connect(self._busy)
        self.plot = None
        self._shown_key: tuple | None = None  # what the view shows (a run's or a training epoch's key)
        self._training_graph = None  # the graph of the running training (None: none runs)
        self._snapshot = None  # its latest WeightsSnapshot, while following it
        self._build()
        self.set_document(document)

    def _build(self) -> None:
        from dlstudio.insight.projector import PROJECTION_NAMES, available_methods

        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 4)
        outer.setSpacing(4)
        bar = QHBoxLayout()
        self.run_combo = self.make_run_choice("The run whose layer to project",
                                              accept=lambda r: r.status in ("finished", "stopped"))
        self.layer_combo = QComboBox(self)
        self.layer_combo.addItem("before the output", None)
        self.layer_combo.setToolTip("The layer whose activations are projected")
        self.layer_combo.currentIndexChanged.connect(lambda _i: self.schedule())
        self.method_combo = QComboBox(self)
        for m in available_methods():
            self.method_combo.addItem(PROJECTION_NAMES[m], m)
        self.method_combo.setToolTip("PCA: the two directions of most variance (fast, linear); t-SNE: keeps "
                                     "neighbours together (slower); UMAP when the umap-learn package is installed")
        self.method_combo.currentIndexChanged.connect(lambda _i: self.schedule())
        self.lasso_button = QToolButton(self)
        self.lasso_button.setText("Lasso")
        self.lasso_button.setCheckable(True)
        self.lasso_button.setToolTip("Drag a loop around points to select them (off: drag pans, wheel zooms)")
        self.lasso_button.toggled.connect(self._lasso_toggled)
        self.follow_check = QCheckBox("Follow the training", self)
        self.follow_check.setToolTip("While a training runs, show its model redrawn with every epoch's weights "
                                     "instead of the chosen run: watch the classes draw apart as it learns")
        self.follow_check.toggled.connect(self._follow_toggled)
        for w in (QLabel("Run", self), self.run_combo, QLabel("Layer", self), self.layer_combo,
                  self.method_combo, self.lasso_button, self.follow_check):
            bar.addWidget(w)
        bar.setStretch(1, 1)
        outer.addLayout(bar)
        self.status = muted_label("", self, wrap=True)
        outer.addWidget(self.status)
        self.progress = QProgressBar(self)
        self.progress.setMaximumHeight(12)
        self.progress.setTextVisible(False)
        self.progress.hide()
        outer.addWidget(self.progress)
        self.split = QSplitter(Qt.Orientation.Horizontal, self)
        self.plot_box = QWidget(self.split)
        self.plot_box.setMinimumWidth(260)
        QVBoxLayout(self.plot_box).setContentsMargins(0, 0, 0, 0)
        side = QWidget(self.split)
        lay = QVBoxLayout(side)
        lay.setContentsMargins(4, 0, 0, 0)
        self.hover_image = QLabel(side)
        self.hover_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hover_image.setMinimumSize(64, 64)
        self.hover_text = muted_label("Hover over a point to see its sample; click it to open it in Predict.", side)
        self.selection_text = muted_label("", side)
        self.grid = SampleGrid(side, target=36)
        for w in (self.hover_image, self.hover_text, self.selection_text):
            lay.addWidget(w)
        self.tokens_row = QWidget(side)  # a language model: the nearest tokens of one token
        row = QHBoxLayout(self.tokens_row)
        row.setContentsMargins(0, 0, 0, 0)
        self.token_edit = QLineEdit(self.tokens_row)
        self.token_edit.setPlaceholderText("a token")
        self.token_edit.setToolTip("The tokens whose Embedding vectors are nearest to this one's (cosine)")
        self.token_edit.returnPressed.connect(lambda: self.show_nearest(self.token_edit.text()))
        row.addWidget(QLabel("Nearest to", self.tokens_row))
        row.addWidget(self.token_edit, 1)
        self.nearest_text = muted_label("", side)
        lay.addWidget(self.tokens_row)
        lay.addWidget(self.nearest_text)
        self.tokens_row.hide()
        self.model = None
        lay.addWidget(self.grid, 1)
        self.split.addWidget(self.plot_box)
        self.split.addWidget(side)
        self.split.setStretchFactor(0, 3)
        self.split.setStretchFactor(1, 2)
        self.split.setSizes([600, 300])
        outer.addWidget(self.split, 1)

    def sizeHint(self) -> QSize:
        return QSize(900, 420)

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        from dlstudio.qt.panels.training.training_plots import import_pyqtgraph, plot_colors, style_axes

        pg = import_pyqtgraph()
        self.viewbox = _lasso_viewbox_class()(self.select_polygon)
        self.plot = pg.PlotWidget(self.plot_box, viewBox=self.viewbox)
        install_plot_menu(self.plot, "Projector")
        c = plot_colors(self.palette())
        self.plot.setBackground(c["background"])
        style_axes(self.plot, self.palette())
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.scatter = pg.ScatterPlotItem(size=7, pxMode=True)
        self.wrong_rings = pg.ScatterPlotItem(size=12, pxMode=True, brush=None,
                                              pen=pg.mkPen(c["text"], width=1.6))
        self.marked = pg.ScatterPlotItem(size=13, pxMode=True, brush=None, pen=pg.mkPen("#ff00aa", width=2))
        for item in (self.scatter, self.wrong_rings, self.marked):
            self.plot.addItem(item)
        self.plot_box.layout().addWidget(self.plot)
        self.plot.scene().sigMouseMoved.connect(self._mouse_moved)
        self.plot.scene().sigMouseClicked.connect(self._mouse_clicked)
        self.viewbox.lasso = self.lasso_button.isChecked()

    # ------------------------------------------------------------------ RunPanel
    def _key(self, run: Any) -> tuple:
        return (str(run.path), self.layer_combo.currentData(), self.method_combo.currentData())

    def compute(self, run: Any) -> None:
        self._ensure_plot()
        key = self._key(run)
        self._request(key, f"Projecting the test split of run {run.id}\u2026",
                      _project, self.document.project, run, key[1], key[2])

    def _request(self, key: tuple, status: str, fn: Any, *args: Any) -> None:
        """Compute ``fn(*args, progress)`` for ``key`` unless it is what is shown."""
        if self.projection is not None and self._shown_key == key:
            return
        self._progress = Progress()
        if self.job.request(key, fn, *args, self._progress):
            self.show_status(status)

    # ------------------------------------------------------------------ following a training
    def set_training(self, graph: Any) -> None:
        """A training started on ``graph`` (a copy), or ended (None): the chosen run comes back."""
        self._training_graph = graph
        if graph is None and self._snapshot is not None:
            self._snapshot = None
            self.schedule()

    def on_live_event(self, event: Any) -> None:
        """An event of the running training: an epoch's weights are projected while following."""
        from dlstudio.training.events import WeightsSnapshot

        if isinstance(event, WeightsSnapshot) and self.follow_check.isChecked() and self._training_graph is not None:
            self._snapshot = event
            self.schedule()

    def _compute_snapshot(self) -> None:
        snap = self._snapshot
        key = ("training", snap.epoch, self.layer_combo.currentData(), self.method_combo.currentData())
        self._request(key, f"Projecting epoch {snap.epoch} of the running training\u2026", _project_snapshot,
                      self.document.project, self._training_graph, snap.weights, self.dataset, key[2], key[3])

    def _compute_if_ready(self) -> None:
        """A saved run (RunPanel), or the running training's latest epoch while following it."""
        if self._snapshot is not None and self.document is not None:  # no saved run needed
            self._ensure_plot()
            self._compute_snapshot()
            return
        super()._compute_if_ready()

    def _follow_toggled(self, on: bool) -> None:
        self.follow_changed.emit(on)
        if not on and self._snapshot is not None:
            self._snapshot = None
            self.schedule()

    def showing_training(self) -> bool:
        """Whether the view shows the running training (an epoch's weights), not a saved run."""
        return self._shown_key is not None and self._shown_key[0] == "training"

    def _busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self._timer.start() if busy else self._timer.stop()

    def _show_progress(self) -> None:
        done, total, what = self._progress.read()
        self.progress.setRange(0, total)
        self.progress.setValue(done)
        if what:
            self.status.setText(f"{what}\u2026")

    def show_status(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)

    def show_error(self, message: str) -> None:
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")

    def clear_view(self, text: str) -> None:
        self.projection = self.dataset = None
        self._shown_key = None
        self.show_status(text)
        if self.plot is not None:
            for item in (self.scatter, self.wrong_rings, self.marked):
                item.setData([], [])
        self.grid.set_samples(np.zeros((0, 1, 1, 3)))
        self.hover_image.clear()

    def show_result(self, key: tuple, result: tuple) -> None:
        from dlstudio.insight.projector import PROJECTION_NAMES
        from dlstudio.qt.panels.training.training_plots import import_pyqtgraph

        pg = import_pyqtgraph()
        self._ensure_plot()
        p, dataset, layers, self.model = result
        self._shown_key = key
        self.tokens_row.setVisible(any(type(layer).__name__ == "Embedding" for layer in self.model.layers)
                                   and bool(getattr(dataset, "vocabulary", None)))
        self._set_legend(p)
        self.projection, self.dataset = p, dataset
        self._fill_layers(layers, p.layer)
        labels = p.labels if p.labels is not None else np.zeros(len(p.points), np.int64)
        self.scatter.setData(pos=p.points, brush=class_brushes(pg, labels), pen=None)
        wrong = p.wrong
        self.wrong_rings.setData(pos=p.points[wrong]) if wrong.any() else self.wrong_rings.setData([], [])
        self.marked.setData([], [])
        self.plot.getPlotItem().autoRange()
        facts = [f"{p.layer}: {PROJECTION_NAMES[p.method]} of {len(p.points):,} test samples "
                 f"({p.features:,} numbers each)"]
        if key[0] == "training":
            facts.insert(0, f"the running training after epoch {key[1]}")
        if p.explained is not None:
            facts.append(f"the plane shows {p.explained:.0%} of the variance")
        if p.knn_accuracy is not None:
            facts.append(f"classes separate: 5-NN accuracy {p.knn_accuracy:.0%}, silhouette {p.silhouette:.2f}")
        if p.predicted is not None:
            facts.append(f"{int(wrong.sum())} misclassified (ringed)")
        self.show_status(" \u00b7 ".join(facts))
        self.select_indices(np.zeros(0, np.int64))
        self.projected.emit(p)

    def _set_legend(self, p: Any) -> None:
        from dlstudio.qt.panels.training.training_plots import import_pyqtgraph

        pg = import_pyqtgraph()
        if getattr(self, "legend", None) is None:
            from PySide6.QtGui import QColor

            from dlstudio.qt.panels.training.training_plots import plot_colors

            c = plot_colors(self.palette())
            back = QColor(c["background"])
            back.setAlpha(210)
            self.legend = self.plot.getPlotItem().addLegend(offset=(-8, 8), labelTextSize="8pt",
                                                            labelTextColor=c["text"], brush=pg.mkBrush(back))
        fill_legend(pg, self.legend, p.labels, p.class_name)

    def show_nearest(self, text: str, k: int = 10) -> list:
        """The ``k`` tokens nearest to ``text`` by the model's Embedding layer, listed under the field."""
        from dlstudio.insight.projector import nearest_tokens

        vocab = list(getattr(self.dataset, "vocabulary", None) or [])
        text = text.strip()
        if self.model is None or text not in vocab:
            self.nearest_text.setText(f"{text!r} is not in the vocabulary" if text else "")
            return []
        try:
            near = nearest_tokens(self.model, vocab.index(text), k, vocabulary=vocab)
        except Exception as exc:  # an InsightError: no Embedding layer
            self.nearest_text.setText(str(exc))
            return []
        self.nearest_text.setText(", ".join(f"{t!r} {s:.2f}" for _, t, s in near))
        return near

    def _fill_layers(self, layers: list[str], chosen: str) -> None:
        current = self.layer_combo.currentData()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        self.layer_combo.addItem(f"default ({chosen})" if current is None else "default", None)
        for name in layers:
            self.layer_combo.addItem(name, name)
        self.layer_combo.setCurrentIndex(max(0, self.layer_combo.findData(current)))
        self.layer_combo.blockSignals(False)

    def set_layer(self, name: str | None) -> None:
        self.layer_combo.setCurrentIndex(max(0, self.layer_combo.findData(name)))

    def set_method(self, method: str) -> None:
        self.method_combo.setCurrentIndex(max(0, self.method_combo.findData(method)))

    # ------------------------------------------------------------------ pointer
    def _point_at(self, scene_pos) -> int:
        """The position (into the projection) of the point under ``scene_pos``, or -1."""
        p = self.projection
        if p is None or not len(p.points) or not self.viewbox.sceneBoundingRect().contains(scene_pos):
            return -1
        v = self.viewbox.mapSceneToView(scene_pos)
        k = p.nearest(v.x(), v.y())
        near = self.viewbox.mapViewToScene(pg_point(p.points[k]))
        return k if (near - scene_pos).manhattanLength() <= HOVER_PIXELS else -1

    def _mouse_moved(self, scene_pos) -> None:
        self.hover(self._point_at(scene_pos))

    def hover(self, k: int) -> None:
        """Show point ``k``'s sample beside the plot (-1: nothing)."""
        p = self.projection
        if k < 0 or p is None:
            if self.hover_index != -1:
                self.hover_index = -1
                self.hovered.emit(-1)
            return
        i = int(p.indices[k])
        if i == self.hover_index:
            return
        self.hover_index = i
        self.hover_image.setPixmap(self._sample_pixmap(i))
        text = f"{p.split} #{i}"
        if p.labels is not None:
            text += f": {p.class_name(int(p.labels[k]))}"
        if p.predicted is not None:
            ok = p.predicted[k] == p.labels[k] if p.labels is not None else True
            text += f", predicted {p.class_name(int(p.predicted[k]))}" + ("" if ok else " \u2014 wrong")
        self.hover_text.setText(text + ". Click to open it in Predict.")
        self.marked.setData(pos=p.points[k:k + 1])
        self.hovered.emit(i)

    def _mouse_clicked(self, event) -> None:
        if self.lasso_button.isChecked() or event.button() != Qt.MouseButton.LeftButton:
            return
        k = self._point_at(event.scenePos())
        if k >= 0:
            self.click_point(k)

    def click_point(self, k: int) -> None:
        """Open point ``k``'s sample in Predict (``open_sample``)."""
        run = self.runs.run()
        if self.projection is None or run is None or self.showing_training():
            return
        self.open_sample.emit(run.id, self.projection.split, int(self.projection.indices[k]))

    def _sample_pixmap(self, i: int):
        from dlstudio.insight.saliency import display_image
        from dlstudio.qt.panels.insight.conv_playground import rgb_pixmap

        x = self.dataset.x_test[i] if self.projection.split == "test" else self.dataset.x_train[i]
        try:
            img = (display_image(x) * 255).astype(np.uint8)
        except ValueError:  # not an image: no picture, the text says what it is
            return rgb_pixmap(np.full((1, 1, 3), 240, np.uint8), 1)
        return rgb_pixmap(img, 96)

    # ------------------------------------------------------------------ lasso
    def _lasso_toggled(self, on: bool) -> None:
        if self.plot is not None:
            self.viewbox.lasso = on
            if not on:
                self.viewbox.curve.setData([], [])

    def select_polygon(self, polygon: list[tuple[float, float]]) -> np.ndarray:
        """Select the points inside a loop (plane coordinates); returns their split indices."""
        if self.projection is None:
            return np.zeros(0, np.int64)
        return self.select_indices(self.projection.inside(polygon))

    def select_indices(self, positions: np.ndarray) -> np.ndarray:
        from dlstudio.insight.saliency import display_image

        p = self.projection
        positions = np.asarray(positions, np.int64)
        self.selection = p.indices[positions] if p is not None else np.zeros(0, np.int64)
        if p is None or not len(positions):
            self.selection_text.setText("Lasso: press it, then drag a loop around points to see them together."
                                        if p is not None else "")
            self.grid.set_samples(np.zeros((0, 1, 1, 3)))
            self.selection_changed.emit(self.selection)
            return self.selection
        counts = {}
        if p.labels is not None:
            for c in p.labels[positions]:
                counts[p.class_name(int(c))] = counts.get(p.class_name(int(c)), 0) + 1
        wrong = int(p.wrong[positions].sum())
        summary = ", ".join(f"{n}: {k}" for n, k in sorted(counts.items(), key=lambda t: -t[1]))
        self.selection_text.setText(f"{len(positions)} selected" + (f" ({summary})" if summary else "")
                                    + (f"; {wrong} misclassified" if wrong else ""))
        xs = self.dataset.x_test if p.split == "test" else self.dataset.x_train
        shown = positions[:GRID_MAX]
        try:
            images = np.stack([display_image(xs[int(p.indices[k])]) for k in shown])
            captions = [p.class_name(int(p.labels[k])) if p.labels is not None else str(int(p.indices[k]))
                        for k in shown]
            self.grid.set_samples(images, captions)
        except ValueError:  # not images
            self.grid.set_samples(np.zeros((0, 1, 1, 3)))
        self.selection_changed.emit(self.selection)
        return self.selection


def pg_point(xy: Any):
    from PySide6.QtCore import QPointF

    return QPointF(float(xy[0]), float(xy[1]))


def build_projector_dock(window: Any) -> None:
    """The Projector dock, a tab beside Evaluation; a click on a point opens it in Predict."""
    dock = window._dock("Projector", "projector", Qt.DockWidgetArea.BottomDockWidgetArea)
    panel = ProjectorPanel(None)
    dock.setWidget(panel)
    window.tabifyDockWidget(window.evaluation_dock, dock)
    window.projector_dock, window.projector_panel = dock, panel
    panel.open_sample.connect(lambda run_id, split, index: open_in_predict(window, run_id, split, index))
    tp = window.training_panel
    tp.live_event.connect(panel.on_live_event)
    tp.running_changed.connect(lambda running: panel.set_training(
        tp.worker.graph if running and tp.worker is not None else None))
    panel.follow_changed.connect(lambda on: tp.set_weights_wanted(on, who="projector"))
    autoencoder = getattr(window, "autoencoder_panel", None)
    if autoencoder is not None:  # its codes are one case of this view
        autoencoder.open_in_projector.connect(lambda run_id: show_codes(window, run_id))
    window.problems_dock.raise_()


def show_codes(window: Any, run_id: str) -> bool:
    """Show run ``run_id``'s default layer (an autoencoder's code) in the window's Projector."""
    panel = window.projector_panel
    panel.set_layer(None)
    try:
        panel.set_run(run_id)
    except KeyError:
        return False
    window.projector_dock.show()
    window.projector_dock.raise_()
    return True


def open_in_predict(window: Any, run_id: str, split: str, index: int) -> bool:
    """Show sample ``index`` of ``split`` in the window's Predict dock with run ``run_id``."""
    try:
        window.predict_panel.set_run(run_id)
    except KeyError:
        return False
    window.predict_panel.set_sample(index, split)
    window.predict_dock.raise_()
    return True
