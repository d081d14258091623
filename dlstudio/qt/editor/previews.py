"""Layer previews on the canvas (View > Layer Previews): beside every node, a small
picture of its output for one sample of the project's dataset (dlstudio.insight.previews).

:class:`PreviewController` recomputes after each edit (debounced), when a run is chosen
or finishes, and at most once a second while a training runs (from its weights at each
epoch's end), always on a pool thread (:class:`~dlstudio.qt.panels.runs.run_job.RunJob`:
the newest request wins), so the canvas never waits. A node whose picture did not change
is not touched: after an edit only the nodes downstream of it are redrawn. Clicking a
preview opens that layer in Insight.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import numpy as np
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from dlstudio.qt.editor.items import HEADER_H, LOD_SIMPLE, NODE_W

SIZE = 60.0  # the picture's box on the canvas
LIVE_INTERVAL_S = 1.0  # at most one refresh a second while training


def to_qimage(image: np.ndarray) -> QImage:
    """A uint8 grey (h, w) or RGB (h, w, 3) array as a QImage that owns its pixels."""
    a = np.ascontiguousarray(image, dtype=np.uint8)
    if a.ndim == 2:
        return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_Grayscale8).copy()
    return QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888).copy()


class PreviewItem(QGraphicsItem):
    """The picture beside a node (a child of its NodeItem)."""

    def __init__(self, node_item: Any):
        super().__init__(node_item)
        self.node_item = node_item
        self.image: QImage | None = None
        self.digest = ""
        self.setPos(NODE_W + 8, HEADER_H - 18)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setVisible(False)

    def set_preview(self, preview: Any) -> bool:
        """Show a :class:`~dlstudio.insight.previews.Preview` (False: it was already shown)."""
        if preview.digest == self.digest:
            return False
        self.image, self.digest = to_qimage(preview.image), preview.digest
        self.setToolTip(f"{preview.text}<br/><i>Click to open this layer in Insight</i>")
        self.update()
        return True

    def boundingRect(self) -> QRectF:
        return QRectF(-1, -1, SIZE + 2, SIZE + 2)

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if self.image is None or option.levelOfDetailFromTransform(painter.worldTransform()) < LOD_SIMPLE:
            return
        w, h = self.image.width(), self.image.height()
        scale = min(SIZE / w, SIZE / h)
        target = QRectF(0, 0, w * scale, h * scale)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)  # crisp pixels
        painter.drawImage(target, self.image)
        painter.setPen(QPen(QColor(128, 128, 128, 160), 1))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawRect(target)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            scene = self.scene()
            if scene is not None:
                scene.preview_clicked.emit(self.node_item.node_id)
            event.accept()
            return
        super().mousePressEvent(event)


def _compute(model: Any, graph: Any, project: Any, run: Any, live: Any, datasets: dict) -> dict:
    """On a pool thread: every node's preview for the first test sample."""
    from dlstudio.backend import load_keras
    from dlstudio.insight.models import project_dataset, untrained_model
    from dlstudio.insight.previews import preview_picture

    load_keras()
    key = (project.dataset.name, repr(sorted(project.dataset.options.items())), project.training.seed)
    dataset = datasets.get(key)
    if dataset is None:
        dataset = datasets[key] = project_dataset(project)
    x = dataset.x_test if len(dataset.x_test) else dataset.x_train
    inputs = [x[0]] if not isinstance(x, (list, tuple)) else [part[0] for part in x]
    source = None
    if live is not None:  # the running training's weights at its last epoch's end
        live_graph, weights, _epoch = live
        source = untrained_model(live_graph)
        source.set_weights(list(weights))
    elif run is not None:
        from dlstudio.runs import load_run_model

        source = load_run_model(run, "last")
    outputs = model.outputs(graph, inputs, source)
    sinks = {n.id for n in graph.sinks()}
    classes = list(getattr(dataset, "class_names", None) or [])
    classify = getattr(dataset, "task", "") == "classification"
    return {nid: preview_picture(out, probabilities=classify and nid in sinks, class_names=classes)
            for nid, out in outputs.items()}


class PreviewController(QObject):
    """Keeps the previews of one scene up to date while they are on."""

    updated = Signal(int)  # how many nodes got a new picture
    failed = Signal(str)

    def __init__(self, scene: Any, run_of: Callable[[], Any] | None = None, parent: QObject | None = None):
        from dlstudio.insight.previews import PreviewModel
        from dlstudio.qt.panels.runs.run_job import RunJob

        super().__init__(parent or scene)
        self.scene = scene
        self.document = scene.document
        self.run_of = run_of or (lambda: None)
        self.enabled = False
        self.model = PreviewModel()
        self.datasets: dict = {}
        self.live: tuple | None = None
        self._last_live = 0.0
        self.message = ""
        self.last: dict = {}  # the latest previews by node id (re-shown on rebuilt block items)
        self.shown_from: tuple = ()  # the weights they were computed with (see _done)
        self.job = RunJob(self, cache_size=0)
        self.job.done.connect(self._done)
        self.job.failed.connect(self._failed)
        self._timer = QTimer(self, singleShot=True, interval=150, timeout=self.refresh)
        self.document.analysis_changed.connect(self._edited)
        self.document.runs_changed.connect(self._edited)
        self.document.graph.blocks_changed.connect(self._blocks_changed)

    def _blocks_changed(self) -> None:
        if self.enabled and self.last:  # the scene made new block items: give them their pictures
            self._done(None, self.last)

    def items(self) -> list:
        """The items that show a preview: every layer, and every collapsed block (its output's)."""
        return list(self.scene.node_items.values()) + list(self.scene.block_items.values())

    def set_enabled(self, on: bool) -> None:
        self.enabled = on
        for item in self.items():
            item.preview_item().setVisible(on and item.preview_item().image is not None)
        if on:
            self.refresh()

    def _edited(self, *_args) -> None:
        if self.enabled:
            self._timer.start()

    def on_live_event(self, event: Any, graph: Any) -> None:
        """A running training's WeightsSnapshot: refresh from it, at most once a second."""
        from dlstudio.training.events import WeightsSnapshot

        if not self.enabled or not isinstance(event, WeightsSnapshot) or graph is None:
            return
        self.live = (graph.copy(), event.weights, event.epoch)
        if time.monotonic() - self._last_live >= LIVE_INTERVAL_S:
            self._last_live = time.monotonic()
            self.refresh()

    def training_ended(self) -> None:
        self.live = None

    def refresh(self) -> None:
        if not self.enabled or not len(self.document.graph):
            return
        analysis = self.document.analysis
        if analysis is not None and analysis.errors:
            self.message = "Previews wait until the graph has no errors"
            return
        run = self.run_of() if self.live is None else None
        source = (("epoch", self.live[2]) if self.live is not None else ("run", run.id) if run is not None
                  else ("untrained",))
        self.job.request((source, object()), _compute, self.model, self.document.graph.copy(),
                         self.document.project, run, self.live, self.datasets)

    def _done(self, key: Any, previews: dict) -> None:
        if key is not None:
            self.shown_from = key[0]  # ("untrained",), ("run", id) or ("epoch", n) of a running training
        self.last = previews
        changed = 0
        for item in self.items():
            p = previews.get(item.node_id)
            preview = item.preview_item()
            if p is None:
                preview.setVisible(False)
                continue
            changed += preview.set_preview(p)
            preview.setVisible(self.enabled)
        self.message = ""
        self.updated.emit(changed)

    def _failed(self, _key: Any, message: str) -> None:
        self.message = message
        self.failed.emit(message)
