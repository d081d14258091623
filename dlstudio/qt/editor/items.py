"""Graphics items of the canvas: nodes, ports, edges.

Items hold only a reference to their node or edge id and read everything else
from the Graph and its annotations when they repaint: the Graph stays the
single source of truth. Data flows top to bottom: inputs on a node's top edge,
outputs on its bottom edge.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QBrush, QColor, QFont, QFontMetricsF, QPainter, QPainterPath, QPen
from PySide6.QtWidgets import QGraphicsItem, QGraphicsPathItem, QStyleOptionGraphicsItem

from dlstudio.compile.infer import fmt_shape
from dlstudio.qt.panels.editing.summary import format_si

if TYPE_CHECKING:
    from dlstudio.qt.editor.scene import GraphScene

NODE_W = 210.0
NODE_H = 84.0
HEADER_H = 22.0
PORT_R = 6.0
RADIUS = 7.0
# Below this level of detail (about 40 % zoom) text is unreadable: nodes are drawn
# as plain boxes, edges without labels, ports not at all (big graphs pan smoothly).
LOD_SIMPLE = 0.4

# Parameters worth showing on the node face, in order of preference.
KEY_PARAMS = ("shape", "units", "filters", "kernel_size", "pool_size", "strides", "size", "rate",
              "stddev", "target_shape", "dims", "n", "layer", "num_heads", "key_dim", "output_dim",
              "mode", "factor", "axis", "activation", "padding")
QUIET_VALUES = {("activation", "linear"), ("padding", "valid"), ("strides", 1), ("axis", -1)}


def _value_text(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return "×".join("?" if v is None else str(v) for v in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def key_params_text(params: dict[str, Any], spec: Any, limit: int = 3) -> str:
    """A short line such as ``filters 32 · 3×3 · relu`` for the node face."""
    full = spec.defaults() | params if spec is not None else params
    parts = []
    for name in KEY_PARAMS:
        value = full.get(name)
        if value is None or (not isinstance(value, (list, dict)) and (name, value) in QUIET_VALUES):
            continue
        value = _value_text(value)
        if name in ("activation", "padding", "layer", "mode"):
            parts.append(value)
        elif name in ("kernel_size", "pool_size") and not isinstance(full[name], (list, tuple)):
            parts.append(f"{value}×{value}")
        else:
            parts.append(f"{name} {value}")
        if len(parts) >= limit:
            break
    return " · ".join(parts)


def card_shape() -> QPainterPath:
    """The outline of a node (a layer, or a collapsed block): a rounded card."""
    p = QPainterPath()
    p.addRoundedRect(QRectF(0, 0, NODE_W, NODE_H), RADIUS, RADIUS)
    return p


def paint_header(painter: QPainter, accent: QColor) -> None:
    """The coloured band at the top of a node's card."""
    header = QPainterPath()
    header.addRoundedRect(QRectF(0, 0, NODE_W, HEADER_H + RADIUS), RADIUS, RADIUS)
    clip = QPainterPath()
    clip.addRect(QRectF(0, 0, NODE_W, HEADER_H))
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(accent)
    painter.drawPath(header.intersected(clip))


def paint_badge(painter: QPainter, c: dict[str, QColor], error: bool, font: QFont) -> None:
    """The "!" badge in a node's header: red for an error, amber for a warning."""
    centre = QPointF(NODE_W - 12, HEADER_H / 2)
    painter.setPen(QPen(c["node_body"], 1.5))
    painter.setBrush(c["error"] if error else c["warning"])
    painter.drawEllipse(centre, 8, 8)
    painter.setPen(QColor("white"))
    painter.setFont(font)
    painter.drawText(QRectF(centre.x() - 8, centre.y() - 8, 16, 16), Qt.AlignmentFlag.AlignCenter, "!")


class PortItem(QGraphicsItem):
    """An input (top) or output (bottom) port; drag from an output to connect. A collapsed
    block's port stands for a port of a layer inside it (``target``: that node and port)."""

    def __init__(self, node_item: Any, index: int, is_output: bool, name: str, target: Any = None):
        super().__init__(node_item)
        self.node_item, self.is_output, self.name, self.target = node_item, is_output, name, target
        self.targets = [target] if target is not None else []  # a block's port may feed several layers
        self.index = target.port if target is not None else index
        self.hovered = False
        self.setAcceptHoverEvents(True)
        self.setCursor(Qt.CursorShape.CrossCursor)
        self.setToolTip(f"{'output' if is_output else 'input'} '{name}'")
        self.setZValue(2)

    @property
    def node_id(self) -> str:
        return self.target.node if self.target is not None else self.node_item.node_id

    def boundingRect(self) -> QRectF:
        r = PORT_R + 4
        return QRectF(-r, -r, 2 * r, 2 * r)

    def shape(self) -> QPainterPath:
        p = QPainterPath()
        p.addEllipse(self.boundingRect())
        return p

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOD_SIMPLE:
            return
        colors = self.node_item.colors()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = PORT_R + (2 if self.hovered else 0)
        fill = colors["port_out"] if self.is_output else colors["port_in"]
        painter.setPen(QPen(colors["port"], 2))
        painter.setBrush(QBrush(fill))
        painter.drawEllipse(QPointF(0, 0), r, r)

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.update()


class NodeItem(QGraphicsItem):
    def __init__(self, scene: GraphScene, node_id: str):
        super().__init__()
        self._scene = scene
        self.node_id = node_id
        self.in_ports: list[PortItem] = []
        self.out_ports: list[PortItem] = []
        self._preview = None
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsMovable
                      | QGraphicsItem.GraphicsItemFlag.ItemIsSelectable
                      | QGraphicsItem.GraphicsItemFlag.ItemSendsGeometryChanges)
        self.setAcceptHoverEvents(True)
        self.setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
        self.setZValue(1)
        self.sync_ports()
        node = scene.graph.node(node_id)
        self.setPos(QPointF(*node.pos))

    # ---------------------------------------------------------------- helpers
    def colors(self) -> dict[str, QColor]:
        return self._scene.colors

    def preview_item(self) -> Any:
        """The picture of this layer's output beside it (View > Layer Previews), made on first use."""
        if self._preview is None:
            from dlstudio.qt.editor.previews import PreviewItem

            self._preview = PreviewItem(self)
        return self._preview

    def node(self):
        return self._scene.graph.node(self.node_id)

    def spec(self):
        return self._scene.spec_of(self.node().type)

    def info(self):
        return self._scene.graph.annotations.get(self.node_id)

    def sync_ports(self) -> None:
        """Create port items to match the node's current port counts."""
        spec = self.spec()
        params = self.node().params
        if spec is None:
            ins, outs = [p.name for p in self.in_ports], [p.name for p in self.out_ports] or ["output"]
        else:
            full = spec.defaults() | params
            ins = [p.name for p in spec.input_ports(full)]
            outs = list(spec.output_ports(full))
        if [p.name for p in self.in_ports] == ins and [p.name for p in self.out_ports] == outs:
            return
        for p in self.in_ports + self.out_ports:
            p.setParentItem(None)
            if p.scene():
                p.scene().removeItem(p)
        self.in_ports = [PortItem(self, i, False, n) for i, n in enumerate(ins)]
        self.out_ports = [PortItem(self, i, True, n) for i, n in enumerate(outs)]
        for ports, y in ((self.in_ports, 0.0), (self.out_ports, NODE_H)):
            n = len(ports)
            for i, port in enumerate(ports):
                port.setPos(NODE_W * (i + 1) / (n + 1), y)

    def port_pos(self, index: int, is_output: bool) -> QPointF:
        ports = self.out_ports if is_output else self.in_ports
        if 0 <= index < len(ports):
            return ports[index].scenePos()
        return self.mapToScene(QPointF(NODE_W / 2, NODE_H if is_output else 0.0))

    def refresh(self) -> None:
        self.sync_ports()
        info = self.info()
        problems = list(info.problems) if info is not None else []
        node = self.node()
        tip = [f"<b>{node.type}</b> '{node.name}'"]
        if info is not None and info.output_shape is not None:
            tip.append(f"output {fmt_shape(info.output_shape)} · {info.params:,} parameters · "
                       f"{info.macs:,} multiply-adds")
        for p in problems:
            colour = "#d64545" if p.is_error else "#c98a00"
            tip.append(f"<span style='color:{colour}'>{p.message}</span>"
                       + (f"<br/><i>{p.hint}</i>" if p.hint else "")
                       + (f"<br/>Fix: {p.fix.label} (click the badge)" if p.fix is not None else ""))
        self.setToolTip("<br/>".join(tip))
        self.update()

    # ---------------------------------------------------------------- drawing
    def badge_rect(self) -> QRectF:
        """The problem badge (in item coordinates); a click on it offers the fixes."""
        return QRectF(NODE_W - 22, HEADER_H / 2 - 10, 20, 20)

    def boundingRect(self) -> QRectF:
        return QRectF(-4, -4, NODE_W + 16, NODE_H + 8)

    def shape(self) -> QPainterPath:
        return card_shape()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        c = self.colors()
        node = self.node()
        spec = self.spec()
        info = self.info()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing)
        body = QRectF(0, 0, NODE_W, NODE_H)
        accent = self._scene.category_color(spec.category if spec else "")
        errors = [p for p in (info.problems if info else ()) if p.is_error]
        warnings = [p for p in (info.problems if info else ()) if not p.is_error]
        if option.levelOfDetailFromTransform(painter.worldTransform()) < LOD_SIMPLE:
            self._paint_simple(painter, c, accent, errors, warnings)
            return

        # shadow, body, header band
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(c["shadow"])
        painter.drawRoundedRect(body.translated(0, 2.5), RADIUS, RADIUS)
        painter.setBrush(c["node_body"])
        painter.drawRoundedRect(body, RADIUS, RADIUS)
        paint_header(painter, accent)

        border = c["selection"] if self.isSelected() else (c["error"] if errors else c["node_border"])
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(border, 2.2 if self.isSelected() or errors else 1.0))
        painter.drawRoundedRect(body, RADIUS, RADIUS)

        font = QFont(self._scene.font())
        small = QFont(font)
        small.setPointSizeF(max(font.pointSizeF() - 1.0, 7.0))
        bold = QFont(font)
        bold.setBold(True)

        # header: layer type
        painter.setFont(small)
        painter.setPen(c["header_text"])
        painter.drawText(QRectF(10, 0, NODE_W - 40, HEADER_H),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, node.type)
        # name
        painter.setFont(bold)
        painter.setPen(c["text"])
        fm = QFontMetricsF(bold)
        painter.drawText(QRectF(10, HEADER_H + 3, NODE_W - 20, 20),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         fm.elidedText(node.name, Qt.TextElideMode.ElideRight, NODE_W - 20))
        # key parameters
        painter.setFont(small)
        painter.setPen(c["muted_text"])
        fms = QFontMetricsF(small)
        painter.drawText(QRectF(10, HEADER_H + 22, NODE_W - 20, 18),
                         Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         fms.elidedText(key_params_text(node.params, spec), Qt.TextElideMode.ElideRight,
                                        NODE_W - 20))
        # output shape (left) and parameter count (right, never cut)
        shape_text = "…" if info is None else fmt_shape(info.output_shape) if info.output_shape else "?"
        count = "" if info is None or not info.params else f"{format_si(info.params)} params"
        y = HEADER_H + 40
        count_w = fms.horizontalAdvance(count) + 2 if count else 0.0
        shape_w = NODE_W - 20 - count_w - (8 if count else 0)
        painter.setPen(c["error"] if errors else c["text"])
        painter.drawText(QRectF(10, y, shape_w, 18), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft,
                         fms.elidedText(shape_text, Qt.TextElideMode.ElideRight, shape_w))
        if count:
            painter.setPen(c["muted_text"])
            painter.drawText(QRectF(NODE_W - 10 - count_w, y, count_w, 18),
                             Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignRight, count)

        if errors or warnings:
            paint_badge(painter, c, bool(errors), bold)

    def _paint_simple(self, painter: QPainter, c: dict[str, QColor], accent: QColor, errors: list,
                      warnings: list) -> None:
        """Zoomed far out: body, header band and border only (no text, no shadow)."""
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(c["node_body"])
        painter.drawRect(QRectF(0, HEADER_H, NODE_W, NODE_H - HEADER_H))
        painter.setBrush(c["error"] if errors else c["warning"] if warnings else accent)
        painter.drawRect(QRectF(0, 0, NODE_W, HEADER_H))
        selected = self.isSelected()
        border = c["selection"] if selected else (c["error"] if errors else c["node_border"])
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.setPen(QPen(border, 6.0 if selected or errors else 0))  # 0: one device pixel
        painter.drawRect(QRectF(0, 0, NODE_W, NODE_H))

    # ---------------------------------------------------------------- events
    def itemChange(self, change: QGraphicsItem.GraphicsItemChange, value: Any) -> Any:
        if change == QGraphicsItem.GraphicsItemChange.ItemPositionHasChanged:
            self._scene.node_item_moved(self.node_id)
        return super().itemChange(change, value)


class EdgeItem(QGraphicsPathItem):
    """A connection drawn as a vertical S-curve, labelled with the shape it carries."""

    def __init__(self, scene: GraphScene, edge_id: str):
        super().__init__()
        self._scene = scene
        self.edge_id = edge_id
        self.label = ""
        self.setFlags(QGraphicsItem.GraphicsItemFlag.ItemIsSelectable)
        self.setZValue(0)
        self.setAcceptHoverEvents(True)
        self.hovered = False
        self.update_path()

    def edge(self):
        return self._scene.graph.edge(self.edge_id)

    def update_path(self) -> None:
        e = self.edge()
        a = self._scene.endpoint(e.src, e.src_port, True)
        b = self._scene.endpoint(e.dst, e.dst_port, False)
        if a is None or b is None:  # inside one collapsed block
            self.setVisible(False)
            return
        self.setVisible(True)
        self.prepareGeometryChange()
        self.setPath(curve(a, b))

    def refresh_label(self) -> None:
        e = self.edge()
        info = self._scene.graph.annotations.get(e.src)
        shape = info.shape_of(e.src_port) if info is not None else None
        pending = info is not None and info.pending  # waits for Keras to load
        self.label = "\u2026" if pending else fmt_shape(shape) if shape is not None else ""
        self.setToolTip(f"{self._scene.graph.node(e.src).name} → {self._scene.graph.node(e.dst).name}"
                        + (f": {self.label}" if self.label else ""))
        self.update()

    def boundingRect(self) -> QRectF:
        return super().boundingRect().adjusted(-70, -14, 70, 14)

    def shape(self) -> QPainterPath:
        from PySide6.QtGui import QPainterPathStroker

        stroker = QPainterPathStroker()
        stroker.setWidth(10)
        return stroker.createStroke(self.path())

    def hoverEnterEvent(self, event) -> None:
        self.hovered = True
        self.update()

    def hoverLeaveEvent(self, event) -> None:
        self.hovered = False
        self.update()

    def paint(self, painter: QPainter, option: QStyleOptionGraphicsItem, widget=None) -> None:
        c = self._scene.colors
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        colour = c["selection"] if self.isSelected() else (c["edge_hover"] if self.hovered else c["edge"])
        painter.setPen(QPen(colour, 2.4 if self.isSelected() or self.hovered else 1.8))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(self.path())
        if (self.label and self._scene.show_edge_labels
                and option.levelOfDetailFromTransform(painter.worldTransform()) >= LOD_SIMPLE):
            font = QFont(self._scene.font())
            font.setPointSizeF(max(font.pointSizeF() - 1.5, 7.0))
            painter.setFont(font)
            fm = QFontMetricsF(font)
            path = self.path()
            # near the input it feeds: every label has its own spot, even on long skip edges
            length = path.length()
            mid = path.pointAtPercent(path.percentAtLength(max(length / 2, length - 34)))
            w = fm.horizontalAdvance(self.label) + 12
            h = fm.height() + 4
            rect = QRectF(mid.x() - w / 2, mid.y() - h / 2, w, h)
            painter.setPen(QPen(c["edge"], 1))
            painter.setBrush(c["edge_label_bg"])
            painter.drawRoundedRect(rect, h / 2, h / 2)
            painter.setPen(c["muted_text"])
            painter.drawText(rect, Qt.AlignmentFlag.AlignCenter, self.label)


def curve(a: QPointF, b: QPointF) -> QPainterPath:
    """A smooth vertical S-curve from output port ``a`` down to input port ``b``."""
    path = QPainterPath(a)
    dy = max(abs(b.y() - a.y()) * 0.5, 40.0)
    path.cubicTo(QPointF(a.x(), a.y() + dy), QPointF(b.x(), b.y() - dy), b)
    return path
