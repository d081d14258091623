"""The canvas' context menus: on the empty canvas, on a layer, on a block, on a connection
and on a port. Each entry calls an edit of :class:`~dlstudio.qt.editor.canvas_edit.CanvasEditing`
(or the scene's fixes), so a menu entry and its keyboard shortcut do the same thing.

"Insert layer" entries offer the layers that fit the tensor at that place
(:func:`dlstudio.compile.suggest.suggest_layers`), each with the shape it would give, and
"Other…" for the searchable list.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from PySide6.QtCore import QPointF
from PySide6.QtGui import QKeySequence
from PySide6.QtWidgets import QMenu

from dlstudio.qt.editor.block_items import BlockFrameItem, BlockItem
from dlstudio.qt.editor.canvas_edit import clipboard_fragment
from dlstudio.qt.editor.items import EdgeItem, NodeItem, PortItem

if TYPE_CHECKING:
    from dlstudio.qt.editor.view import GraphView


def _add(menu: QMenu, text: str, slot: Callable, shortcut: str | None = None, enabled: bool = True,
         tip: str = ""):
    action = menu.addAction(text, slot)
    if shortcut:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutVisibleInContextMenu(True)
    action.setEnabled(enabled)
    if tip:
        action.setToolTip(tip)
    return action


def _insert_menu(view: GraphView, parent: QMenu, title: str, src: str | None, src_port: int,
                 dst: str | None, dst_port: int, insert: Callable[[str], object]) -> QMenu:
    """A submenu of the layers that fit between ``src`` and ``dst`` (disabled without ``src``)."""
    from dlstudio.compile.suggest import suggest_layers
    from dlstudio.qt.keras_loader import keras_ready

    sub = parent.addMenu(title)
    if src is None:
        sub.setEnabled(False)
        return sub
    doc = view.document
    analysis = doc.analysis or doc.analyze_now()
    for s in suggest_layers(doc.graph, analysis, src, src_port, dst, dst_port, check=keras_ready()):
        sub.addAction(s.text, lambda t=s.type: insert(t))
    if not sub.isEmpty():
        sub.addSeparator()
    sub.addAction("Other…", lambda: view.open_quick_add(on_chosen=insert))
    return sub


def canvas_menu(view: GraphView, scene_pos: QPointF) -> QMenu:
    menu = QMenu(view)
    _add(menu, "Add Layer Here…", lambda: view.open_quick_add(scene_pos=scene_pos), "Tab")
    _add(menu, "Paste", lambda: view.paste(at=scene_pos), "Ctrl+V", clipboard_fragment() is not None)
    menu.addSeparator()
    has_nodes = bool(view.graph_scene.node_items)
    _add(menu, "Select All", view.select_all, "Ctrl+A", has_nodes)
    _add(menu, "Auto Layout", view.auto_layout, "Ctrl+L", has_nodes)
    _add(menu, "Fit to View", view.fit_all, "F")
    return menu


def node_menu(view: GraphView, node_id: str) -> QMenu:
    """Fixes of the layer's problems first, then the edits of the layer (or of the selection
    it belongs to: Copy, Duplicate and Delete act on every selected layer)."""
    from dlstudio.qt.editor.commands import RemoveItemsCommand

    scene, graph = view.graph_scene, view.document.graph
    menu = scene.fixes_menu(node_id, QMenu(view))
    if not menu.isEmpty():
        menu.addSeparator()
    selected = scene.selected_node_ids()
    if node_id not in selected:
        selected = [node_id]
    many = len(selected) > 1
    _add(menu, "Rename…", lambda: view.rename_node(node_id), "F2", not many)
    _add(menu, "Copy", view.copy_selection, "Ctrl+C")
    _add(menu, f"Duplicate {len(selected)} Layers" if many else "Duplicate", view.duplicate_selection, "Ctrl+D")
    _add(menu, f"Delete {len(selected)} Layers" if many else "Delete",
         lambda: view.document.push(RemoveItemsCommand(graph, selected)), "Del")
    menu.addSeparator()
    before = graph.edge_into(node_id, 0)
    _insert_menu(view, menu, "Insert Layer Before", before.src if before else None,
                 before.src_port if before else 0, node_id, 0,
                 lambda t: view.insert_before(t, node_id))
    out = graph.out_edges(node_id)
    single = out[0] if len(out) == 1 else None
    _insert_menu(view, menu, "Insert Layer After", node_id, 0, single.dst if single else None,
                 single.dst_port if single else 0, lambda t: view.insert_after(t, node_id))
    edges = graph.in_edges(node_id) + out
    _add(menu, "Disconnect All", lambda: view.disconnect_all(node_id), enabled=bool(edges))
    menu.addSeparator()
    block = graph.block_of(node_id)
    if block is None:
        _add(menu, f"Group {len(selected)} Layers into Block" if many else "Group into Block",
             view.group_selection, "Ctrl+G")
    else:
        _add(menu, f"Collapse Block '{block.name}'", lambda: scene.set_collapsed(block.id, True))
        _add(menu, f"Ungroup Block '{block.name}'", lambda: view.ungroup(block.id), "Ctrl+Shift+G")
    _add(menu, "Show in Insight", lambda: view.insight_requested.emit(node_id),
         tip="Show this layer's outputs and filters in the Insight panel")
    return menu


def edge_menu(view: GraphView, edge_id: str) -> QMenu:
    e = view.document.graph.edge(edge_id)
    menu = QMenu(view)
    _insert_menu(view, menu, "Insert Layer", e.src, e.src_port, e.dst, e.dst_port,
                 lambda t: view.insert_layer(t, e.src, e.src_port, e.dst, e.dst_port))
    _add(menu, "Delete Connection", lambda: view.disconnect_edges([edge_id], "Delete connection"), "Del")
    return menu


def port_menu(view: GraphView, port: PortItem) -> QMenu:
    graph = view.document.graph
    menu = QMenu(view)
    if port.is_output:
        edges = [e.id for e in graph.out_edges(port.node_id) if e.src_port == port.index]
        text = f"Disconnect {len(edges)} Connections" if len(edges) > 1 else "Disconnect"
    else:
        edge = graph.edge_into(port.node_id, port.index)
        edges = [edge.id] if edge is not None else []
        text = f"Disconnect from {graph.node(edge.src).name}" if edge is not None else "Disconnect"
    _add(menu, text, lambda: view.disconnect_edges(edges), enabled=bool(edges))
    return menu


def block_menu(view: GraphView, block_id: str) -> QMenu:
    from dlstudio.qt.editor.commands import RemoveItemsCommand

    scene, graph = view.graph_scene, view.document.graph
    block = graph.block(block_id)
    menu = QMenu(view)
    if block.collapsed:
        _add(menu, "Expand", lambda: scene.set_collapsed(block_id, False), tip="Show the layers inside")
    else:
        _add(menu, "Collapse", lambda: scene.set_collapsed(block_id, True))
    _add(menu, "Rename Block…", lambda: view.rename_block(block_id))
    _add(menu, "Ungroup", lambda: view.ungroup(block_id), "Ctrl+Shift+G")
    menu.addSeparator()
    _add(menu, "Save to Block Library…", lambda: save_to_library(view, block_id),
         tip="Keep this block in the palette's Blocks section, for every project")
    _add(menu, "Export Block File…", lambda: export_block(view, block_id))
    menu.addSeparator()
    _add(menu, "Copy", view.copy_selection, "Ctrl+C")
    _add(menu, "Duplicate", view.duplicate_selection, "Ctrl+D")
    _add(menu, "Delete", lambda: view.document.push(RemoveItemsCommand(graph, list(block.nodes))), "Del")
    return menu


def save_to_library(view: GraphView, block_id: str) -> None:
    from PySide6.QtWidgets import QInputDialog, QLineEdit

    from dlstudio.qt.settings import user_blocks_dir

    name, ok = QInputDialog.getText(view, "Save block to library", "Name in the palette:",
                                    QLineEdit.EchoMode.Normal, view.document.graph.block(block_id).name)
    if ok and name.strip():
        view.save_block_to_library(block_id, user_blocks_dir(), name.strip())
        view.library_changed.emit()


def export_block(view: GraphView, block_id: str) -> None:
    from dlstudio.compile.blocks import block_fragment
    from dlstudio.qt.panels.editing.block_palette import export_block_file

    graph = view.document.graph
    block = graph.block(block_id)
    path = export_block_file(view, block.name, "", block_fragment(graph, block), block.name)
    if path is not None:
        view.graph_scene.message.emit(f"Exported block to {path}")


def menu_at(view: GraphView, scene_pos: QPointF) -> QMenu:
    """The menu for what lies under ``scene_pos``: a port, a layer, a connection or the canvas.
    A right-click on an unselected layer or connection selects it alone first."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QTransform

    scene = view.graph_scene
    for item in scene.items(scene_pos, Qt.ItemSelectionMode.IntersectsItemShape,
                            Qt.SortOrder.DescendingOrder, QTransform()):
        if isinstance(item, PortItem):
            return port_menu(view, item)
        if isinstance(item, BlockFrameItem):
            return block_menu(view, item.block_id)
        if isinstance(item, (NodeItem, EdgeItem, BlockItem)):
            if not item.isSelected():
                scene.clearSelection()
                item.setSelected(True)
            if isinstance(item, NodeItem):
                return node_menu(view, item.node_id)
            if isinstance(item, BlockItem):
                return block_menu(view, item.block_id)
            return edge_menu(view, item.edge_id)
    return canvas_menu(view, scene_pos)
