"""The difference between two runs, drawn: run B's graph on a canvas with the layers added (green)
and changed (amber, the changed parameters written old → new on the node) highlighted, the layers
of run A that B no longer has drawn dashed in red where they were, and beside it the settings
differences and the metric deltas (:func:`dlstudio.search.diff.diff_runs`)."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import (
    QDialog, QGraphicsPathItem, QGraphicsRectItem, QGraphicsScene, QGraphicsSimpleTextItem, QGraphicsView,
    QPlainTextEdit, QSplitter, QVBoxLayout, QWidget,
)

from dlstudio.search.diff import RunDiff, diff_lines, fmt

NODE_W, NODE_H = 210.0, 64.0
COLORS = {"added": "#1a7f37", "changed": "#d4a72c", "removed": "#cf222e", "same": "#8b949e"}


def node_text(node: dict[str, Any], change: Any) -> str:
    lines = [f"{node.get('name')} ({node.get('type')})"]
    if change is not None:
        lines += [f"{k}: {fmt(a)} → {fmt(b)}" for k, (a, b) in list(change.params.items())[:3]]
        if change.type_change:
            lines.append(f"was {change.type_change[0]}")
    return "\n".join(lines)


class DiffCanvas(QGraphicsView):
    """Run B's graph with the difference marked; ``boxes`` maps node ids to (rect item, state)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self.boxes: dict[str, tuple[QGraphicsRectItem, str]] = {}

    def show_diff(self, diff: RunDiff, graph_a: dict[str, Any], graph_b: dict[str, Any]) -> None:
        scene = self.scene()
        scene.clear()
        self.boxes = {}
        states = diff.node_states()
        changes = {c.id: c for c in diff.changed}
        nodes_b = {n["id"]: n for n in graph_b.get("nodes", [])}
        for node_id, node in nodes_b.items():
            self._box(node, states.get(node_id, "same"), changes.get(node_id))
        removed = {c.id for c in diff.removed}
        for node in graph_a.get("nodes", []):
            if node["id"] in removed:
                self._box(node, "removed", None, key=f"A:{node['id']}")
        for edge in graph_b.get("edges", []):
            a, b = nodes_b.get(edge.get("src")), nodes_b.get(edge.get("dst"))
            if a is None or b is None:
                continue
            path = QPainterPath(QPointF(a["pos"][0] + NODE_W / 2, a["pos"][1] + NODE_H))
            end = QPointF(b["pos"][0] + NODE_W / 2, b["pos"][1])
            path.cubicTo(path.currentPosition() + QPointF(0, 40), end - QPointF(0, 40), end)
            item = QGraphicsPathItem(path)
            item.setPen(QPen(QColor(COLORS["same"]), 1.5))
            item.setZValue(-1)
            scene.addItem(item)
        self.fitInView(scene.itemsBoundingRect().adjusted(-20, -20, 20, 20), Qt.AspectRatioMode.KeepAspectRatio)

    def _box(self, node: dict[str, Any], state: str, change: Any, key: str | None = None) -> None:
        x, y = (node.get("pos") or [0.0, 0.0])[:2]
        rect = QGraphicsRectItem(QRectF(0, 0, NODE_W, NODE_H))
        rect.setPos(x, y)
        colour = QColor(COLORS[state])
        pen = QPen(colour, 3.0 if state != "same" else 1.0)
        if state == "removed":
            pen.setStyle(Qt.PenStyle.DashLine)
        rect.setPen(pen)
        fill = QColor(colour)
        fill.setAlphaF(0.18 if state != "same" else 0.06)
        rect.setBrush(QBrush(fill))
        rect.setToolTip(f"{state}: " + node_text(node, change).replace("\n", "\n  "))
        self.scene().addItem(rect)
        text = QGraphicsSimpleTextItem(node_text(node, change), rect)
        font = QFont()
        font.setPointSizeF(8.5)
        text.setFont(font)
        text.setPos(8, 6)
        self.boxes[key or node["id"]] = (rect, state)


class DiffDialog(QDialog):
    """Two runs compared: the canvas and the text of :func:`diff_lines`."""

    def __init__(self, run_a: Any, run_b: Any, parent: QWidget | None = None):
        super().__init__(parent)
        from dlstudio.search.diff import diff_runs

        self.setWindowTitle(f"{run_a.id} → {run_b.id}")
        self.resize(1000, 640)
        self.diff = diff_runs(run_a, run_b)
        layout = QVBoxLayout(self)
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.canvas = DiffCanvas(splitter)
        self.canvas.show_diff(self.diff, run_a.info.get("graph") or {}, run_b.info.get("graph") or {})
        self.text = QPlainTextEdit(splitter)
        self.text.setReadOnly(True)
        self.text.setPlainText("\n".join(diff_lines(self.diff)))
        splitter.addWidget(self.canvas)
        splitter.addWidget(self.text)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        layout.addWidget(splitter)
