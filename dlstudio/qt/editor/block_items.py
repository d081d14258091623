"""Graphics items of blocks (dlstudio.graph.blocks): a collapsed block is drawn as one
node (its name, layer count, exposed parameters, output shape, parameter and MAC totals,
a problem badge, and a port wherever an edge crosses its border); an expanded block is a
frame behind its layers whose header collapses it again.

A block item sits at the centre of its layers; dragging it moves them all.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QStyleOptionGraphicsItem

from dlstudio.compile.infer import fmt_shape
from dlstudio.qt.editor.items import (
    HEADER_H, LOD_SIMPLE, NODE_H, NODE_W, RADIUS, PortItem, card_shape, paint_badge, paint_header,
)
from dlstudio.qt.panels.editing.summary import format_si

if TYPE_CHECKING:
    from dlstudio.qt.editor.scene import GraphScene

BLOCK_COLOR = QColor("#3c7d8c")
FRAME_MARGIN = 24.0
#: Space between an expanded block's header and its first layer: the label of the wire into
#: that layer sits there, clear of the header.
FRAME_TOP = 58.0
#: How far below where the collapsed block was its first layer starts when expanded.
EXPAND_PAD = FRAME_TOP + HEADER_H


def members_rect(scene: GraphScene, block) -> QRectF:
    """The rectangle of a block's layers (their node boxes) in scene coordinates."""
    rect = QRectF()
    for nid in block.nodes:
        node = scene.graph.node(nid)
        rect = rect.united(QRectF(node.pos[0], node.pos[1], NODE_W, NODE_H))
    return rect


class BlockItem(QGraphicsItem):
    """A collapsed block."""

    def __init__(self, scene: GraphScene, block_id: str):
        super().__init__()
        self._scene = scene
        self.block_id = block_id
        self.summary = None
        self.in_ports: list[PortItem] = []
        self.out_ports: list[PortItem] = []
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setZValue(1)
        self.refresh()

    def colors(self) -> dict[str, QColor]:
        return self._scene.colors

    @property
    def node_id(self) -> str | None:
        """The layer whose output the block gives (its first output): its preview is the block's."""
        return self.summary.outputs[0].node if self.summary is not None and self.summary.outputs else None

    def preview_item(self) -> Any:
        if getattr(self, "_preview", None) is None:
            from dlstudio.qt.editor.previews import PreviewItem

            self._preview = PreviewItem(self)
        return self._preview

    def block(self):
        return self._scene.graph.block(self.block_id)

    def home(self) -> QPointF:
        """Where the item belongs: centred on its layers."""
        c = members_rect(self._scene, self.block()).center()
        return QPointF(c.x() - NODE_W / 2, c.y() - NODE_H / 2)

    def refresh(self) -> None:
        from dlstudio.compile.blocks import block_summary
        from dlstudio.qt.keras_loader import catalog_ready

        graph = self._scene.graph
        block = self.block()
        self.summary = s = block_summary(graph, block, self._scene.document.analysis, catalog=catalog_ready())
        for p in self.in_ports + self.out_ports:
            p.setParentItem(None)
            if p.scene():
                p.scene().removeItem(p)
        # inputs fed by the same tensor from outside (a residual unit's two paths) share one port
        groups: dict = {}
        for r in s.inputs:
            edge = graph.edge_into(r.node, r.port)
            groups.setdefault((edge.src, edge.src_port) if edge is not None else r, []).append(r)
        self.in_ports = []
        for i, refs in enumerate(groups.values()):
            port = PortItem(self, i, False, ", ".join(graph.node(r.node).name for r in refs), target=refs[0])
            port.targets = refs
            self.in_ports.append(port)
        self.out_ports = [PortItem(self, i, True, graph.node(r.node).name, target=r) for i, r in enumerate(s.outputs)]
        for ports, y in ((self.in_ports, 0.0), (self.out_ports, NODE_H)):
            for i, port in enumerate(ports):
                port.setPos(NODE_W * (i + 1) / (len(ports) + 1), y)
        home = self.home()
        if self.pos() != home:
            self.setPos(home)
        tip = [f"<b>Block</b> '{block.name}': {len(block.nodes)} layers",
               f"{s.params:,} parameters · {s.macs:,} multiply-adds"]
        if s.output_shapes:
            tip.append("output " + ", ".join(fmt_shape(x) if x else "?" for x in s.output_shapes))
        if s.errors or s.warnings:
            tip.append(f"<span style='color:#d64545'>{s.errors} error(s), {s.warnings} warning(s) inside: "
                       "expand it to see them</span>")
        tip.append("<i>Double-click to expand</i>")
        self.setToolTip("<br/>".join(tip))
        self.update()

    def port_pos(self, ref: Any, is_output: bool) -> QPointF | None:
        for port in self.out_ports if is_output else self.in_ports:
            if ref in port.targets:
                return port.scenePos()
        return None

    def boundingRect(self) -> QRectF:
        return QRectF(-4, -4, NODE_W + 16, NODE_H + 12)

    def shape(self) -> QPainterPath:
        return card_shape()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        c = self.colors()
        s, block = self.summary, self.block()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        body = QRectF(0, 0, NODE_W, NODE_H)
        # a second card behind: this node stands for several layers
        painter.setPen(QPen(c["node_border"], 1.0))
        painter.setBrush(c["node_body"])
        painter.drawRoundedRect(body.translated(5, 5), RADIUS, RADIUS)
        painter.setBrush(c["node_body"])
        painter.drawRoundedRect(body, RADIUS, RADIUS)
        paint_header(painter, BLOCK_COLOR)
        border = c["selection"] if self.isSelected() else (c["error"] if s.errors else c["node_border"])
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(border, 2.2 if self.isSelected() or s.errors else 1.0))
        painter.drawRoundedRect(body, RADIUS, RADIUS)
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOD_SIMPLE:
            return
        font = QFont(self._scene.font())
        small = QFont(font)
        small.setPointSizeF(max(font.pointSizeF() - 1.0, 7.0))
        bold = QFont(font)
        bold.setBold(True)
        fms = QFontMetricsF(small)
        painter.setFont(small)
        painter.setPen(c["header_text"])
        painter.drawText(QRectF(10, 0, NODE_W - 40, HEADER_H), Qt.AlignmentFlag.AlignVCenter,
                         f"▸ Block · {len(block.nodes)} layers")
        painter.setFont(bold)
        painter.setPen(c["text"])
        painter.drawText(QRectF(10, HEADER_H + 3, NODE_W - 20, 20), Qt.AlignmentFlag.AlignVCenter,
                         QFontMetricsF(bold).elidedText(block.name, Qt.TextElideMode.ElideRight, NODE_W - 20))
        painter.setFont(small)
        painter.setPen(c["muted_text"])
        painter.drawText(QRectF(10, HEADER_H + 22, NODE_W - 20, 18), Qt.AlignmentFlag.AlignVCenter,
                         fms.elidedText(self.params_text(), Qt.TextElideMode.ElideRight, NODE_W - 20))
        shape = ", ".join(fmt_shape(x) if x else "?" for x in s.output_shapes) or "?"
        totals = f"{format_si(s.params)} params" if s.params else ""
        tw = fms.horizontalAdvance(totals) + 2 if totals else 0.0
        y = HEADER_H + 40
        painter.setPen(c["error"] if s.errors else c["text"])
        painter.drawText(QRectF(10, y, NODE_W - 28 - tw, 18), Qt.AlignmentFlag.AlignVCenter,
                         fms.elidedText(shape, Qt.TextElideMode.ElideRight, NODE_W - 28 - tw))
        if totals:
            painter.setPen(c["muted_text"])
            painter.drawText(QRectF(NODE_W - 10 - tw, y, tw, 18), Qt.AlignmentFlag.AlignVCenter
                             | Qt.AlignmentFlag.AlignRight, totals)
        if s.errors or s.warnings:
            paint_badge(painter, c, bool(s.errors), bold)

    def params_text(self) -> str:
        """``filters 64 · strides 2``: the exposed parameters and their values (none exposed:
        the block's multiply-adds)."""
        graph, block = self._scene.graph, self.block()
        parts = []
        for name, targets in block.params.items():
            nid, param = targets[0]
            spec = self._scene.spec_of(graph.node(nid).type)
            value = graph.node(nid).params.get(param, spec.defaults().get(param) if spec else None)
            parts.append(f"{name} {value}")
        if parts:
            return " · ".join(parts)
        s = self.summary
        return f"{format_si(s.macs)} multiply-adds" if s is not None and s.macs else f"{len(block.nodes)} layers"

    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self._scene.block_item_moved(self.block_id)
        return super().itemChange(change, value)

    def mouseDoubleClickEvent(self, event) -> None:
        self._scene.set_collapsed(self.block_id, False)
        event.accept()


class BlockFrameItem(QGraphicsItem):
    """An expanded block: a frame behind its layers; a click on its header collapses it."""

    def __init__(self, scene: GraphScene, block_id: str):
        super().__init__()
        self._scene = scene
        self.block_id = block_id
        self.rect = QRectF()
        self.setZValue(0.5)  # above the edges (its header takes clicks), below the layers
        self.setToolTip("Click the header to collapse the block")
        self.refresh()

    def refresh(self) -> None:
        self.prepareGeometryChange()
        r = members_rect(self._scene, self._scene.graph.block(self.block_id))
        self.rect = r.adjusted(-FRAME_MARGIN, -EXPAND_PAD, FRAME_MARGIN, FRAME_MARGIN)
        self.update()

    def header_rect(self) -> QRectF:
        return QRectF(self.rect.left(), self.rect.top(), self.rect.width(), HEADER_H + 4)

    def boundingRect(self) -> QRectF:
        return self.rect.adjusted(-2, -2, 2, 2)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addRect(self.header_rect())  # only the header takes clicks; the layers inside stay reachable
        return p

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        c = self._scene.colors
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        fill = QColor(BLOCK_COLOR)
        fill.setAlpha(28)
        painter.setPen(QPen(BLOCK_COLOR, 1.4, Qt.PenStyle.DashLine))
        painter.setBrush(fill)
        painter.drawRoundedRect(self.rect, RADIUS * 2, RADIUS * 2)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(BLOCK_COLOR)
        painter.drawRoundedRect(self.header_rect(), RADIUS, RADIUS)
        painter.setPen(c["header_text"])
        block = self._scene.graph.block(self.block_id)
        painter.drawText(self.header_rect().adjusted(10, 0, -10, 0), Qt.AlignmentFlag.AlignVCenter,
                         f"▾ {block.name} · {len(block.nodes)} layers")

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton and self.header_rect().contains(event.pos()):
            self._scene.set_collapsed(self.block_id, True)
            event.accept()
            return
        super().mousePressEvent(event)
