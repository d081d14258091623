"""The canvas scene: mirrors the Graph with items and turns gestures into
undo commands.

Graph signal -> item update is the only way items change; a gesture (drag a
wire, move nodes, delete) pushes a command on the document's undo stack, the
command calls the Graph API, and the Graph's signals update the items.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QPainter, QPen, QTransform
from PySide6.QtWidgets import (
    QGraphicsPathItem, QGraphicsScene, QGraphicsSceneMouseEvent, QMenu,
)

from dlstudio.compile.infer import connection_problem
from dlstudio.qt.document import Document
from dlstudio.qt.editor.block_items import BlockFrameItem, BlockItem
from dlstudio.qt.editor.commands import ConnectCommand, MoveNodesCommand, RemoveItemsCommand
from dlstudio.qt.editor.items import EdgeItem, NodeItem, PortItem, curve
from dlstudio.qt.keras_loader import catalog_ready


class GraphScene(QGraphicsScene):
    message = Signal(str)  # for the status bar: why a connection was refused, ...
    refused = Signal(str, QPointF)  # why an edit was refused, and where (shown beside the cursor)
    preview_clicked = Signal(str)  # a layer preview was clicked: its node id

    def __init__(self, document: Document, parent=None):
        super().__init__(parent)
        self.document = document
        self.graph = document.graph
        self.node_items: dict[str, NodeItem] = {}
        self.edge_items: dict[str, EdgeItem] = {}
        self.show_edge_labels = True
        self.draw_grid = True
        self.colors: dict[str, QColor] = {}
        self.update_colors()
        self._wire: QGraphicsPathItem | None = None
        self._wire_from: PortItem | None = None
        self._press_positions: dict[str, tuple[float, float]] = {}
        self.menu: QMenu | None = None  # the menu shown last (badge or context menu)
        self.block_items: dict[str, BlockItem] = {}  # collapsed blocks
        self.frame_items: dict[str, BlockFrameItem] = {}  # expanded blocks
        self._block_of: dict[str, str] = {}  # node id -> its block's id
        self._press_blocks: dict[str, QPointF] = {}
        self.setSceneRect(QRectF(-20000, -20000, 40000, 40000))
        self.setItemIndexMethod(QGraphicsScene.ItemIndexMethod.BspTreeIndex)

        g = self.graph
        for node in g.nodes:
            self._add_node_item(node)
        for edge in g.edges:
            self._add_edge_item(edge)
        self._links = [
            (g.node_added, self._add_node_item), (g.node_removed, self._remove_node_item),
            (g.edge_added, self._add_edge_item), (g.edge_removed, self._remove_edge_item),
            (g.params_changed, self._node_changed), (g.node_renamed, self._node_renamed),
            (g.node_moved, self._node_moved), (g.annotations_changed, self._annotations_changed),
            (g.blocks_changed, self.sync_blocks),
        ]
        for signal, slot in self._links:
            signal.connect(slot)
        document.selection_requested.connect(self.select_nodes)
        self.sync_blocks()
        self._annotations_changed()

    def detach(self) -> None:
        """Stop following the graph (before this scene is thrown away)."""
        for signal, slot in self._links:
            signal.disconnect(slot)
        self._links = []
        try:
            self.document.selection_requested.disconnect(self.select_nodes)
        except (RuntimeError, TypeError):
            pass

    def _node_renamed(self, node_id: str, _name: str) -> None:
        self._node_changed(node_id)

    # ----------------------------------------------------------------- look
    def update_colors(self) -> None:
        from dlstudio.qt.theme import canvas_colors

        colors = canvas_colors(self.palette())
        shadow = QColor(0, 0, 0, 60 if colors["background"].lightness() < 128 else 28)
        edge_hover = QColor(colors["selection"])
        colors.update(shadow=shadow, header_text=QColor("white"), edge_hover=edge_hover,
                      edge_label_bg=colors["edge_label_background"], port_in=colors["node_body"],
                      port_out=colors["port"])
        self.colors = colors
        self.setBackgroundBrush(self.colors["background"])
        for item in self.node_items.values():
            item.update()

    def category_color(self, category: str) -> QColor:
        from dlstudio.qt.icons import category_color

        return category_color(category)

    def spec_of(self, type_name: str):
        if not catalog_ready():
            return None
        from dlstudio.catalog import UnknownLayerError, get_spec

        try:
            return get_spec(type_name)
        except UnknownLayerError:
            return None

    def drawBackground(self, painter: QPainter, rect: QRectF) -> None:
        painter.fillRect(rect, self.colors["background"])
        if not self.draw_grid:
            return
        scale = painter.worldTransform().m11()
        for step, key in ((20, "grid_minor"), (100, "grid_major")):
            if step * scale < 8:
                continue
            painter.setPen(QPen(self.colors[key], 0))
            left = int(rect.left()) - int(rect.left()) % step
            top = int(rect.top()) - int(rect.top()) % step
            x = left
            while x < rect.right():
                painter.drawLine(QPointF(x, rect.top()), QPointF(x, rect.bottom()))
                x += step
            y = top
            while y < rect.bottom():
                painter.drawLine(QPointF(rect.left(), y), QPointF(rect.right(), y))
                y += step

    # ---------------------------------------------------------- graph -> items
    def _add_node_item(self, node) -> None:
        item = NodeItem(self, node.id)
        self.node_items[node.id] = item
        self.addItem(item)
        item.refresh()

    def _remove_node_item(self, node) -> None:
        item = self.node_items.pop(node.id, None)
        if item is not None:
            self.removeItem(item)

    def _add_edge_item(self, edge) -> None:
        item = EdgeItem(self, edge.id)
        self.edge_items[edge.id] = item
        self.addItem(item)
        item.refresh_label()

    def _remove_edge_item(self, edge) -> None:
        item = self.edge_items.pop(edge.id, None)
        if item is not None:
            self.removeItem(item)

    def _node_changed(self, node_id: str) -> None:
        item = self.node_items.get(node_id)
        if item is not None:
            item.refresh()
            block = self.block_items.get(self._block_of.get(node_id, ""))
            if block is not None:
                block.refresh()
                self.block_item_moved(block.block_id)
            self.node_item_moved(node_id)  # port positions may have changed

    def _node_moved(self, node_id: str, x: float, y: float) -> None:
        item = self.node_items.get(node_id)
        if item is not None and (item.pos().x(), item.pos().y()) != (x, y):
            item.setPos(x, y)

    def _annotations_changed(self) -> None:
        for item in self.node_items.values():
            item.refresh()
        for item in self.block_items.values():
            item.refresh()
        for item in self.edge_items.values():
            item.update_path()
            item.refresh_label()

    def node_item_moved(self, node_id: str) -> None:
        for e in self.graph.in_edges(node_id) + self.graph.out_edges(node_id):
            item = self.edge_items.get(e.id)
            if item is not None:
                item.update_path()
        bid = self._block_of.get(node_id)
        if bid in self.frame_items:
            self.frame_items[bid].refresh()
        elif bid in self.block_items:
            item = self.block_items[bid]
            if self.mouseGrabberItem() is not item and item.pos() != item.home():
                item.setPos(item.home())

    # ----------------------------------------------------------------- blocks
    def sync_blocks(self) -> None:
        """Items for the graph's blocks: a collapsed block hides its layers behind one item,
        an expanded one gets a frame; edges are redrawn to where they now end. A selected
        block stays selected."""
        was = set(self.selected_block_ids())
        blocked = self.blockSignals(True)
        for item in list(self.block_items.values()) + list(self.frame_items.values()):
            self.removeItem(item)
        self.block_items, self.frame_items = {}, {}
        self._block_of = {n: b.id for b in self.graph.blocks for n in b.nodes}
        for b in self.graph.blocks:
            item = BlockItem(self, b.id) if b.collapsed else BlockFrameItem(self, b.id)
            (self.block_items if b.collapsed else self.frame_items)[b.id] = item
            self.addItem(item)
        for nid, item in self.node_items.items():
            item.setVisible(self._block_of.get(nid) not in self.block_items)
        for item in self.edge_items.values():
            item.update_path()
        for bid in was & set(self.block_items):
            self.block_items[bid].setSelected(True)
        self.blockSignals(blocked)
        if was != set(self.selected_block_ids()):
            self.selectionChanged.emit()

    def block_id_of(self, node_id: str) -> str | None:
        return self._block_of.get(node_id)

    def endpoint(self, node_id: str, port: int, is_output: bool) -> QPointF | None:
        """Where an edge at this port is drawn: the layer's port, the port of the collapsed
        block that holds it, or None (an edge inside a collapsed block is not drawn)."""
        from dlstudio.graph import PortRef

        block = self.block_items.get(self._block_of.get(node_id, ""))
        if block is not None:
            return block.port_pos(PortRef(node_id, port), is_output)
        item = self.node_items.get(node_id)
        return item.port_pos(port, is_output) if item is not None else None

    def block_item_moved(self, block_id: str) -> None:
        done = set()
        for nid in self.graph.block(block_id).nodes:
            for e in self.graph.in_edges(nid) + self.graph.out_edges(nid):
                if e.id not in done and e.id in self.edge_items:
                    done.add(e.id)
                    self.edge_items[e.id].update_path()

    def set_collapsed(self, block_id: str, collapsed: bool) -> None:
        """Collapse or expand a block in one undo step that also makes (or gives back) the room
        its layers take: expanding puts them where the block was, with the layers below moved
        down by the extra height; collapsing is the reverse."""
        from dlstudio.qt.editor.block_commands import collapse_command
        from dlstudio.qt.editor.block_items import EXPAND_PAD, members_rect
        from dlstudio.qt.editor.items import NODE_H, NODE_W

        graph = self.graph
        block = graph.block(block_id)
        rect = members_rect(self, block)
        extra = max(rect.height() + EXPAND_PAD - NODE_H, 0.0)  # what the layers take beyond the block's node
        members = set(block.nodes)
        moves: dict[str, tuple] = {}
        if collapsed:  # the block item will sit where the frame began
            shift = (0.0, NODE_H / 2 - EXPAND_PAD - rect.height() / 2)
            for n in graph.nodes:
                if n.id not in members and n.pos[1] > rect.bottom() - NODE_H / 2:
                    moves[n.id] = (n.pos, (n.pos[0], n.pos[1] - extra))
        else:  # the frame begins where the block item was
            item = self.block_items.get(block_id)
            top = item.pos() if item is not None else QPointF(rect.center().x() - NODE_W / 2, rect.top())
            shift = (top.x() + NODE_W / 2 - rect.center().x(), top.y() + EXPAND_PAD - rect.top())
            for n in graph.nodes:
                if n.id not in members and n.pos[1] > top.y() + NODE_H / 2:
                    moves[n.id] = (n.pos, (n.pos[0], n.pos[1] + extra))
        for nid in block.nodes:
            x, y = graph.node(nid).pos
            moves[nid] = ((x, y), (x + shift[0], y + shift[1]))
        moves = {k: v for k, v in moves.items() if v[0] != v[1]}
        stack = self.document.undo_stack
        command = collapse_command(graph, block_id, collapsed)
        stack.beginMacro(command.text())
        if collapsed:
            self.document.push(command)
        if moves:
            self.document.push(MoveNodesCommand(graph, moves, "Make room"))
        if not collapsed:
            self.document.push(command)
        stack.endMacro()
        if collapsed and block_id in self.block_items:
            self.clearSelection()
            self.block_items[block_id].setSelected(True)

    def selected_block_ids(self) -> list[str]:
        return [i.block_id for i in self.selectedItems() if isinstance(i, BlockItem)]

    # -------------------------------------------------------------- selection
    def selected_node_ids(self) -> list[str]:
        """The selected layers, with every layer of a selected collapsed block."""
        ids = [i.node_id for i in self.selectedItems() if isinstance(i, NodeItem) and i.isVisible()]
        for i in self.selectedItems():
            if isinstance(i, BlockItem):
                ids += [n for n in self.graph.block(i.block_id).nodes if n not in ids]
        return ids

    def selected_edge_ids(self) -> list[str]:
        return [i.edge_id for i in self.selectedItems() if isinstance(i, EdgeItem)]

    def select_nodes(self, node_ids: list[str], center: bool = True) -> None:
        """Select these nodes; with ``center``, bring them to the middle of the view."""
        self.clearSelection()
        for nid in node_ids:
            item = self.node_items.get(nid)
            if item is not None:
                item.setSelected(True)
        if not center:
            return
        for view in self.views():
            items = [self.node_items[n] for n in node_ids if n in self.node_items]
            if items:
                rect = items[0].sceneBoundingRect()
                for it in items[1:]:
                    rect = rect.united(it.sceneBoundingRect())
                view.centerOn(rect.center())

    def delete_selection(self) -> None:
        nodes, edges = self.selected_node_ids(), self.selected_edge_ids()
        edges = [e for e in edges if self.graph.has_edge(e)]
        if nodes or edges:
            self.document.push(RemoveItemsCommand(self.graph, nodes, edges))

    # ------------------------------------------------------------ interaction
    def _port_at(self, pos: QPointF) -> PortItem | None:
        for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder, QTransform()):
            if isinstance(item, PortItem):
                return item
        return None

    # ----------------------------------------------------------------- fixes
    def node_problems(self, node_id: str) -> list:
        info = self.graph.annotations.get(node_id)
        return list(info.problems) if info is not None else []

    def fixes_menu(self, node_id: str, menu: QMenu | None = None) -> QMenu:
        """A "Fix: ..." entry per problem of the layer that has a fix (one undo step each),
        added to ``menu`` (the error badge's menu, and the top of the layer's context menu)."""
        from dlstudio.qt.panels.editing.problems import fix_text

        menu = menu if menu is not None else QMenu()
        for problem in self.node_problems(node_id):
            if problem.fix is not None:
                action = menu.addAction(fix_text(problem), lambda f=problem.fix: self.document.apply_fix(f))
                action.setToolTip(problem.message)
        menu.setToolTipsVisible(True)
        return menu

    def show_menu(self, menu: QMenu, screen_pos) -> QMenu | None:
        """Pop ``menu`` up without blocking (kept as ``self.menu``; an empty one is dropped)."""
        if menu.isEmpty():
            menu.deleteLater()
            return None
        if self.menu is not None:
            self.menu.deleteLater()
        self.menu = menu
        menu.popup(screen_pos)
        return menu

    def _node_item_at(self, pos: QPointF) -> NodeItem | None:
        for item in self.items(pos, Qt.ItemSelectionMode.IntersectsItemShape,
                               Qt.SortOrder.DescendingOrder, QTransform()):
            if isinstance(item, NodeItem):
                return item
        return None

    def mousePressEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            item = self._node_item_at(event.scenePos())
            if (item is not None and item.badge_rect().contains(item.mapFromScene(event.scenePos()))
                    and self.show_menu(self.fixes_menu(item.node_id), event.screenPos()) is not None):
                event.accept()  # the error badge offers the fixes
                return
            port = self._port_at(event.scenePos())
            if port is not None and port.is_output:
                self._wire_from = port
                self._wire = QGraphicsPathItem()
                self._wire.setPen(QPen(self.colors["selection"], 2, Qt.PenStyle.DashLine))
                self._wire.setZValue(3)
                self.addItem(self._wire)
                self._update_wire(event.scenePos())
                event.accept()
                return
        super().mousePressEvent(event)
        self._press_positions = {nid: tuple(self.graph.node(nid).pos) for nid in self.selected_node_ids()}
        self._press_blocks = {i.block_id: i.pos() for i in self.selectedItems() if isinstance(i, BlockItem)}

    def mouseMoveEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self._update_wire(event.scenePos())
            event.accept()
            return
        super().mouseMoveEvent(event)

    def mouseReleaseEvent(self, event: QGraphicsSceneMouseEvent) -> None:
        if self._wire is not None:
            self.removeItem(self._wire)
            self._wire = None
            src, self._wire_from = self._wire_from, None
            target = self._port_at(event.scenePos())
            if target is not None and not target.is_output and len(target.targets) > 1:
                self.connect_all(src.node_id, src.index, target.targets, event.scenePos())
            elif target is not None and not target.is_output:
                self.try_connect(src.node_id, src.index, target.node_id, target.index, replace=True,
                                 at=event.scenePos())
            elif target is not None:
                self.refuse("Connect an output (bottom) to an input (top)", event.scenePos())
            event.accept()
            return
        super().mouseReleaseEvent(event)
        self._commit_moves()

    def _update_wire(self, pos: QPointF) -> None:
        self._wire.setPath(curve(self._wire_from.scenePos(), pos))

    def _commit_moves(self) -> None:
        moves = {}
        for nid, old in self._press_positions.items():
            item = self.node_items.get(nid)
            if item is None:
                continue
            new = (item.pos().x(), item.pos().y())
            if new != old and item.isVisible():
                moves[nid] = (old, new)
        for bid, old in self._press_blocks.items():  # a dragged block moves its layers
            item = self.block_items.get(bid)
            if item is None or item.pos() == old:
                continue
            d = item.pos() - old
            for nid in self.graph.block(bid).nodes:
                x, y = self._press_positions.get(nid, self.graph.node(nid).pos)
                moves[nid] = ((x, y), (x + d.x(), y + d.y()))
        self._press_positions, self._press_blocks = {}, {}
        if moves:
            n = len(moves)
            self.document.push(MoveNodesCommand(self.graph, moves, f"Move {n} node{'s' if n > 1 else ''}"))

    def refuse(self, why: str, at: QPointF | None = None) -> None:
        """Say why an edit was refused: on the status bar, and beside the cursor (``at``)."""
        self.message.emit(why)
        if at is not None:
            self.refused.emit(why, at)

    def connection_refusal(self, src: str, src_port: int, dst: str, dst_port: int, *,
                           replace: bool = False) -> str | None:
        """Why the edge ``src:src_port -> dst:dst_port`` would be refused (None: it may be made)."""
        analysis = self.document.analysis or self.document.analyze_now()
        if analysis is None:
            return self.graph.connection_error(_ref(src, src_port), _ref(dst, dst_port), replace=replace)
        return connection_problem(self.graph, analysis, src, src_port, dst, dst_port, replace=replace)

    def _push_connections(self, src: str, src_port: int, targets: list, text: str) -> None:
        """Feed ``src:src_port`` into each (node, port, edge there now or None), one undo step."""
        stack = self.document.undo_stack
        stack.beginMacro(text)
        for node, port, old in targets:
            if old is not None:
                self.document.push(RemoveItemsCommand(self.graph, [], [old.id]))
            self.document.push(ConnectCommand(self.graph, src, src_port, node, port))
        stack.endMacro()

    def try_connect(self, src: str, src_port: int, dst: str, dst_port: int, *, replace: bool = False,
                    at: QPointF | None = None) -> bool:
        """Connect if the edge is valid; otherwise say why (status bar, and beside ``at``).
        With ``replace`` (a wire dropped on a taken input) the new edge replaces the old one,
        in one undo step."""
        graph = self.graph
        old = graph.edge_into(dst, dst_port) if replace else None
        if old is not None and (old.src, old.src_port) == (src, src_port):
            self.refuse(f"'{graph.node(src).name}' is already connected there", at)
            return False
        why = self.connection_refusal(src, src_port, dst, dst_port, replace=replace)
        if why:
            self.refuse(f"Cannot connect: {why}", at)
            return False
        names = f"{graph.node(src).name} → {graph.node(dst).name}"
        if old is None:
            self.document.push(ConnectCommand(graph, src, src_port, dst, dst_port))
            self.message.emit(f"Connected {names}")
            return True
        self._push_connections(src, src_port, [(dst, dst_port, old)], f"Reconnect {graph.node(dst).name}")
        self.message.emit(f"Connected {names} (instead of {graph.node(old.src).name})")
        return True

    def connect_all(self, src: str, src_port: int, targets: list, at: QPointF | None = None) -> bool:
        """A wire dropped on a block's port that feeds several layers inside: connect (or
        reconnect) every one of them in one undo step, or none when one is refused."""
        graph = self.graph
        todo = []
        for t in targets:
            old = graph.edge_into(t.node, t.port)
            if old is not None and (old.src, old.src_port) == (src, src_port):
                continue  # already fed by this tensor
            why = self.connection_refusal(src, src_port, t.node, t.port, replace=True)
            if why:
                self.refuse(f"Cannot connect: {why}", at)
                return False
            todo.append((t.node, t.port, old))
        if not todo:
            self.refuse(f"'{graph.node(src).name}' is already connected there", at)
            return False
        self._push_connections(src, src_port, todo, f"Connect {graph.node(src).name} to {len(todo)} layers")
        self.message.emit(f"Connected {graph.node(src).name} → {len(todo)} layers of the block")
        return True

    def items_rect(self) -> QRectF:
        rect = QRectF()
        for item in list(self.node_items.values()) + list(self.block_items.values()):
            if item.isVisible():
                rect = rect.united(item.sceneBoundingRect())
        return rect


def _ref(node: str, port: int) -> Any:
    from dlstudio.graph import PortRef

    return PortRef(node, port)
