"""The canvas view: zoom around the cursor, pan (middle-drag or space-drag),
rubber-band selection, drops from the palette, the Tab quick-add popup, context menus
(``canvas_menus``) and the edits they offer (``canvas_edit``), the reason for a refused
edit beside the cursor, and a hint on an empty canvas."""

from __future__ import annotations

from typing import Callable

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QContextMenuEvent, QKeyEvent, QMouseEvent, QPainter, QWheelEvent
from PySide6.QtWidgets import (
    QFrame, QGraphicsView, QLabel, QLineEdit, QListWidget, QListWidgetItem, QVBoxLayout,
)

from dlstudio.qt.editor.canvas_edit import CanvasEditing
from dlstudio.qt.editor.commands import AddNodeCommand, ConnectCommand
from dlstudio.qt.editor.items import NODE_H, NODE_W
from dlstudio.qt.editor.scene import GraphScene
from dlstudio.qt.panels.editing.block_palette import BLOCK_MIME
from dlstudio.qt.panels.editing.palette import LAYER_MIME

MIN_ZOOM, MAX_ZOOM = 0.1, 4.0
REFUSAL_MS = 4000  # how long the reason for a refused edit stays beside the cursor
EMPTY_HINT = ("Drag a layer here from the Layers palette,\npress Tab to search for one,\n"
              "or open an example with File > Gallery.")


class GraphView(CanvasEditing, QGraphicsView):
    zoom_changed = Signal(float)
    insight_requested = Signal(str)  # a layer's "Show in Insight"
    library_changed = Signal()  # a block was saved to the user's block library
    block_dropped = Signal(str, QPointF)  # a library block's key dropped from the palette, and where

    def __init__(self, scene: GraphScene, parent=None):
        super().__init__(scene, parent)
        self.graph_scene = scene
        #: What an empty canvas says (the main window sets "Opening …" while a project waits
        #: for the layer catalog on a first launch).
        self.empty_text = EMPTY_HINT
        self.setRenderHints(QPainter.RenderHint.Antialiasing | QPainter.RenderHint.TextAntialiasing)
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.SmartViewportUpdate)
        self.setOptimizationFlag(QGraphicsView.OptimizationFlag.DontAdjustForAntialiasing, True)
        self.setTransformationAnchor(QGraphicsView.ViewportAnchor.AnchorUnderMouse)
        self.setResizeAnchor(QGraphicsView.ViewportAnchor.AnchorViewCenter)
        self.setDragMode(QGraphicsView.DragMode.RubberBandDrag)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setAcceptDrops(True)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self._pan_from: QPoint | None = None
        self._space = False
        self._space_used = False
        self._popup: QuickAddPopup | None = None
        self.refusal = QLabel(self.viewport())
        self.refusal.setObjectName("refusal")
        self.refusal.setWordWrap(True)
        self.refusal.setMaximumWidth(360)
        self.refusal.setStyleSheet("QLabel#refusal { background: #fff4e5; color: #5c3b00; border: 1px solid "
                                   "#e0a040; border-radius: 4px; padding: 4px 6px; }")
        self.refusal.hide()
        self._refusal_timer = QTimer(self, singleShot=True, interval=REFUSAL_MS, timeout=self.refusal.hide)
        scene.refused.connect(self.show_refusal)
        scene.preview_clicked.connect(self.insight_requested)

    # --------------------------------------------------------------- notices
    def show_refusal(self, why: str, scene_pos: QPointF) -> None:
        """Show why an edit was refused beside where it happened, for a few seconds."""
        self.refusal.setText(why)
        self.refusal.adjustSize()
        at = self.mapFromScene(scene_pos) + QPoint(16, 12)
        area = self.viewport().rect()
        x = max(4, min(at.x(), area.width() - self.refusal.width() - 4))
        y = max(4, min(at.y(), area.height() - self.refusal.height() - 4))
        self.refusal.move(x, y)
        self.refusal.show()
        self.refusal.raise_()
        self._refusal_timer.start()

    def drawForeground(self, painter: QPainter, rect: QRectF) -> None:
        if self.graph_scene.node_items:
            return
        painter.save()
        painter.resetTransform()
        color = self.palette().placeholderText().color()
        painter.setPen(color)
        font = painter.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        painter.setFont(font)
        painter.drawText(QRectF(self.viewport().rect()), Qt.AlignmentFlag.AlignCenter, self.empty_text)
        painter.restore()

    def contextMenuEvent(self, event: QContextMenuEvent) -> None:
        from dlstudio.qt.editor.canvas_menus import menu_at

        menu = menu_at(self, self.mapToScene(event.pos()))
        self.graph_scene.show_menu(menu, event.globalPos())
        event.accept()

    # ------------------------------------------------------------ zoom & pan
    def zoom(self) -> float:
        return self.transform().m11()

    def set_zoom(self, factor: float) -> None:
        factor = min(max(factor, MIN_ZOOM), MAX_ZOOM)
        self.scale(factor / self.zoom(), factor / self.zoom())
        self.zoom_changed.emit(self.zoom())

    def wheelEvent(self, event: QWheelEvent) -> None:
        steps = event.angleDelta().y() / 120.0
        if steps:
            self.set_zoom(self.zoom() * (1.15 ** steps))
        event.accept()

    def fit_all(self) -> None:
        """Show the whole graph (at most at 100%; a graph too large for the smallest zoom shows
        its top)."""
        rect = self.graph_scene.items_rect()
        if rect.isNull():
            self.resetTransform()
            self.centerOn(0, 0)
        else:
            rect = rect.adjusted(-30, -30, 30, 30)
            self.fitInView(rect, Qt.AspectRatioMode.KeepAspectRatio)
            if self.zoom() > 1.0:
                self.set_zoom(1.0)
            elif self.zoom() < MIN_ZOOM:
                self.set_zoom(MIN_ZOOM)
                half_h = self.viewport().height() / self.zoom() / 2
                self.centerOn(rect.center().x(), rect.top() + half_h)
        self.zoom_changed.emit(self.zoom())

    def mousePressEvent(self, event: QMouseEvent) -> None:
        if event.button() == Qt.MouseButton.MiddleButton or (
                self._space and event.button() == Qt.MouseButton.LeftButton):
            self._pan_from = event.position().toPoint()
            self.viewport().setCursor(Qt.CursorShape.ClosedHandCursor)
            event.accept()
            return
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            delta = event.position().toPoint() - self._pan_from
            self._pan_from = event.position().toPoint()
            self._space_used = True
            self.horizontalScrollBar().setValue(self.horizontalScrollBar().value() - delta.x())
            self.verticalScrollBar().setValue(self.verticalScrollBar().value() - delta.y())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self._pan_from is not None:
            self._pan_from = None
            self.viewport().setCursor(Qt.CursorShape.OpenHandCursor if self._space else Qt.CursorShape.ArrowCursor)
            event.accept()
            return
        super().mouseReleaseEvent(event)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        key = event.key()
        if key == Qt.Key.Key_Space and not event.isAutoRepeat() and self.scene().mouseGrabberItem() is None:
            if self._pan_from is None and not self._space:
                self._space = True
                self._space_used = False
                self.viewport().setCursor(Qt.CursorShape.OpenHandCursor)
            event.accept()
            return
        if key == Qt.Key.Key_Tab:
            self.open_quick_add()
            event.accept()
            return
        if key in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.graph_scene.delete_selection()
            event.accept()
            return
        if key == Qt.Key.Key_F2:
            selected = self.graph_scene.selected_node_ids()
            if len(selected) == 1:
                self.rename_node(selected[0])
            event.accept()
            return
        super().keyPressEvent(event)

    def keyReleaseEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Space and not event.isAutoRepeat() and self._space:
            self._space = False
            self.viewport().setCursor(Qt.CursorShape.ArrowCursor)
            if self._pan_from is None and not self._space_used:
                self.open_quick_add()  # a tap of Space, not a space-drag
            event.accept()
            return
        super().keyReleaseEvent(event)

    def focusNextPrevChild(self, next: bool) -> bool:  # keep Tab for the quick-add popup
        return False

    # ------------------------------------------------------------------ adds
    def cursor_scene_pos(self) -> QPointF:
        pos = self.mapFromGlobal(self.cursor().pos())
        if not self.viewport().rect().contains(pos):
            pos = self.viewport().rect().center()
        return self.mapToScene(pos)

    def add_layer(self, type_name: str, scene_pos: QPointF | None = None, connect_from: str | None = None) -> str:
        """Add a layer centred at ``scene_pos`` (default: the view centre); one undo step."""
        if scene_pos is None:
            scene_pos = self.mapToScene(self.viewport().rect().center())
        pos = (round(scene_pos.x() - NODE_W / 2), round(scene_pos.y() - NODE_H / 2))
        doc = self.graph_scene.document
        add = AddNodeCommand(doc.graph, type_name, doc.new_node_params(type_name), pos=pos)
        if connect_from is None:
            doc.push(add)
        else:
            doc.undo_stack.beginMacro(f"Add {type_name}")
            doc.push(add)
            why = doc.graph.connection_error(*_refs(connect_from, 0, add.node_id, 0))
            if why is None:
                doc.push(ConnectCommand(doc.graph, connect_from, 0, add.node_id, 0))
            doc.undo_stack.endMacro()
        self.graph_scene.select_nodes([add.node_id], center=False)  # it lands where it was dropped
        item = self.graph_scene.node_items.get(add.node_id)
        if item is not None:
            self.ensureVisible(item, 20, 20)
        return add.node_id

    def dragEnterEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME) or event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME) or event.mimeData().hasFormat(BLOCK_MIME):
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event) -> None:
        if event.mimeData().hasFormat(LAYER_MIME):
            type_name = bytes(event.mimeData().data(LAYER_MIME)).decode()
            self.add_layer(type_name, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
            self.setFocus()
        elif event.mimeData().hasFormat(BLOCK_MIME):
            key = bytes(event.mimeData().data(BLOCK_MIME)).decode()
            self.block_dropped.emit(key, self.mapToScene(event.position().toPoint()))
            event.acceptProposedAction()
            self.setFocus()
        else:
            super().dropEvent(event)

    def open_quick_add(self, scene_pos: QPointF | None = None,
                       on_chosen: Callable[[str], object] | None = None) -> QuickAddPopup:
        """The Tab popup: type to fuzzy-search layers, Enter adds at the cursor (under the one
        selected layer, connected to it; at ``scene_pos`` when given). ``on_chosen`` replaces
        the add (a context menu's "Insert layer > Other…")."""
        at = scene_pos
        connect_from = None
        if scene_pos is None:
            scene_pos = self.cursor_scene_pos()
            selected = self.graph_scene.selected_node_ids()
            connect_from = selected[0] if len(selected) == 1 else None
            if connect_from is not None:  # place the new layer under the selected one
                item = self.graph_scene.node_items[connect_from]
                scene_pos = item.pos() + QPointF(NODE_W / 2, NODE_H * 1.9)
        self._popup = QuickAddPopup(self)
        if on_chosen is None:
            self._popup.chosen.connect(lambda t: self.add_layer(t, scene_pos, connect_from))
        else:
            self._popup.chosen.connect(on_chosen)
        global_pos = self.mapToGlobal(self.mapFromScene(at if at is not None else self.cursor_scene_pos()))
        self._popup.move(global_pos)
        self._popup.show()
        self._popup.search.setFocus()
        return self._popup


def _refs(src: str, src_port: int, dst: str, dst_port: int):
    from dlstudio.graph import PortRef

    return PortRef(src, src_port), PortRef(dst, dst_port)


class QuickAddPopup(QFrame):
    chosen = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent, Qt.WindowType.Popup)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(4)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Add layer…")
        self.list = QListWidget(self)
        self.list.setMinimumSize(260, 300)
        layout.addWidget(self.search)
        layout.addWidget(self.list)
        self.search.textChanged.connect(self.refilter)
        self.search.returnPressed.connect(self.accept_current)
        self.list.itemActivated.connect(lambda _item: self.accept_current())
        self.search.installEventFilter(self)
        self.refilter("")

    def refilter(self, text: str) -> None:
        from dlstudio.catalog import catalog
        from dlstudio.qt.icons import layer_icon
        from dlstudio.qt.panels.editing.palette import layer_tooltip, rank_specs

        specs = list(catalog().values())
        ranked = [spec for _, spec in rank_specs(text, specs)] if text.strip() else specs
        self.list.clear()
        for spec in ranked:
            item = QListWidgetItem(layer_icon(spec.type, spec.category), spec.type)
            item.setToolTip(layer_tooltip(spec))
            item.setData(Qt.ItemDataRole.UserRole, spec.type)
            self.list.addItem(item)
        if self.list.count():
            self.list.setCurrentRow(0)

    def eventFilter(self, obj, event) -> bool:
        from PySide6.QtCore import QEvent

        if obj is self.search and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Down, Qt.Key.Key_Up):
                row = self.list.currentRow() + (1 if event.key() == Qt.Key.Key_Down else -1)
                self.list.setCurrentRow(max(0, min(row, self.list.count() - 1)))
                return True
            if event.key() == Qt.Key.Key_Escape:
                self.close()
                return True
        return super().eventFilter(obj, event)

    def accept_current(self) -> None:
        item = self.list.currentItem()
        if item is not None:
            self.chosen.emit(item.data(Qt.ItemDataRole.UserRole))
        self.close()
