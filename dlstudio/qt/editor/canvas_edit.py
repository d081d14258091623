"""The canvas' edits beyond a single gesture, as a mixin of
:class:`~dlstudio.qt.editor.view.GraphView`: the clipboard (copy, cut, paste at a place,
duplicate), select all, auto layout, rename, disconnect, and inserting a layer after a
node, before it or on an edge. The Edit and View menus and the context menus call these
same methods; every change is one undo step made of the commands in ``commands``.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QByteArray, QMimeData, QPointF
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QInputDialog, QLineEdit

from dlstudio.qt.editor.commands import (
    ApplyFixCommand, MoveNodesCommand, PasteCommand, RemoveItemsCommand, RenameCommand, fragment_of,
)

FRAGMENT_MIME = "application/x-dlstudio-fragment"


def clipboard_fragment() -> dict | None:
    """The layers on the clipboard (copied in DL Studio), or None."""
    data = QGuiApplication.clipboard().mimeData()
    if data is None or not data.hasFormat(FRAGMENT_MIME):
        return None
    try:
        fragment = json.loads(bytes(data.data(FRAGMENT_MIME)).decode())
    except ValueError:
        return None
    return fragment if isinstance(fragment, dict) and fragment.get("nodes") else None


class CanvasEditing:
    """Edits of the canvas (a mixin: ``self`` is the GraphView, ``self.graph_scene`` its scene)."""

    @property
    def document(self) -> Any:
        return self.graph_scene.document

    def _say(self, text: str) -> None:
        self.graph_scene.message.emit(text)

    # ------------------------------------------------------------- clipboard
    def copy_selection(self) -> int:
        ids = self.graph_scene.selected_node_ids()
        if ids:
            data = QMimeData()
            text = json.dumps(fragment_of(self.document.graph, ids))
            data.setData(FRAGMENT_MIME, QByteArray(text.encode()))
            data.setText(text)
            QGuiApplication.clipboard().setMimeData(data)
            self._say(f"Copied {len(ids)} layer{'s' if len(ids) > 1 else ''}")
        return len(ids)

    def cut_selection(self) -> None:
        ids = self.graph_scene.selected_node_ids()
        if ids and self.copy_selection():
            self.document.push(RemoveItemsCommand(self.document.graph, ids))

    def paste(self, at: QPointF | None = None) -> list[str]:
        """Paste the clipboard's layers (next to the originals, or with their top-left at ``at``)."""
        fragment = clipboard_fragment()
        if fragment is None:
            return []
        return self.paste_fragment(fragment, "Paste", at)

    def duplicate_selection(self) -> list[str]:
        ids = self.graph_scene.selected_node_ids()
        return self.paste_fragment(fragment_of(self.document.graph, ids), "Duplicate") if ids else []

    def paste_fragment(self, fragment: dict, text: str, at: QPointF | None = None) -> list[str]:
        from dlstudio.catalog import UnknownLayerError, get_spec

        nodes = fragment.get("nodes") or []
        try:
            for n in nodes:
                get_spec(n["type"])
            corner = (min(n["pos"][0] for n in nodes), min(n["pos"][1] for n in nodes)) if nodes else (0, 0)
        except (UnknownLayerError, KeyError, TypeError, IndexError):
            self._say("The clipboard holds no layers DL Studio knows")
            return []
        if not nodes:
            return []
        offset = (40.0, 40.0) if at is None else (at.x() - corner[0], at.y() - corner[1])
        cmd = PasteCommand(self.document.graph, fragment, offset=offset, text=text)
        self.document.push(cmd)
        self.graph_scene.select_nodes(cmd.node_ids, center=at is None)
        return cmd.node_ids

    # ----------------------------------------------------------------- whole
    def select_all(self) -> None:
        for item in self.graph_scene.node_items.values():
            item.setSelected(True)

    def auto_layout(self) -> None:
        from dlstudio.compile.layout import layered_layout

        graph = self.document.graph
        copy = graph.copy()
        layered_layout(copy)
        moves = {n.id: (tuple(n.pos), tuple(copy.node(n.id).pos)) for n in graph.nodes
                 if tuple(n.pos) != tuple(copy.node(n.id).pos)}
        if moves:
            self.document.push(MoveNodesCommand(graph, moves, "Auto layout"))
        self.fit_all()

    # ------------------------------------------------------------ one layer
    def _new_name(self, title: str, old: str, name: str | None) -> str | None:
        """``name`` stripped, or the name the user types (None: cancelled or unchanged)."""
        if name is None:
            name, ok = QInputDialog.getText(self, title, "Name:", QLineEdit.EchoMode.Normal, old)
            if not ok:
                return None
        name = name.strip()
        return None if name == old else name

    def rename_node(self, node_id: str, name: str | None = None) -> bool:
        """Rename a layer (``name`` None: ask for it); refuses a taken or invalid name with its reason."""
        from dlstudio.graph.model import layer_name_problem

        graph = self.document.graph
        old = graph.node(node_id).name
        name = self._new_name("Rename layer", old, name)
        if name is None:
            return False
        why = layer_name_problem(name)
        if why is None and graph.node_by_name(name) is not None:
            why = f"another layer is already called '{name}'"
        if why:
            self._say(f"Cannot rename: {why}")
            return False
        self.document.push(RenameCommand(graph, node_id, name))
        return True

    def disconnect_edges(self, edge_ids: list[str], text: str = "Disconnect") -> int:
        graph = self.document.graph
        edge_ids = [e for e in edge_ids if graph.has_edge(e)]
        if edge_ids:
            cmd = RemoveItemsCommand(graph, [], edge_ids)
            cmd.setText(text)
            self.document.push(cmd)
        return len(edge_ids)

    def disconnect_all(self, node_id: str) -> int:
        graph = self.document.graph
        edges = [e.id for e in graph.in_edges(node_id) + graph.out_edges(node_id)]
        return self.disconnect_edges(edges, f"Disconnect {graph.node(node_id).name}")

    def insert_layer(self, type_name: str, src: str, src_port: int = 0, dst: str | None = None,
                     dst_port: int = 0) -> str | None:
        """Put a new ``type_name`` layer after ``src`` (on its edge to ``dst`` when given): one
        undo step; the new layer is selected. Returns its id."""
        from dlstudio.graph import Fix

        graph = self.document.graph
        fix = Fix.insert(f"Insert {type_name}", type_name, src, dst, src_port=src_port, dst_port=dst_port,
                         **self.document.new_node_params(type_name))
        before = {n.id for n in graph.nodes}
        self.document.push(ApplyFixCommand(self.document, fix, text=fix.label))
        new = [n.id for n in graph.nodes if n.id not in before]
        if new:
            self.graph_scene.select_nodes(new, center=False)
            self._say(f"Inserted {graph.node(new[0]).name}")
        return new[0] if new else None

    def insert_after(self, type_name: str, node_id: str) -> str | None:
        """A layer right after ``node_id``: on its one outgoing edge, or as a new last layer."""
        out = self.document.graph.out_edges(node_id)
        if len(out) == 1:
            return self.insert_layer(type_name, node_id, out[0].src_port, out[0].dst, out[0].dst_port)
        return self.insert_layer(type_name, node_id)

    def insert_before(self, type_name: str, node_id: str, port: int = 0) -> str | None:
        """A layer on the edge into input ``port`` of ``node_id`` (None: the port is free)."""
        edge = self.document.graph.edge_into(node_id, port)
        if edge is None:
            return None
        return self.insert_layer(type_name, edge.src, edge.src_port, node_id, port)

    # ---------------------------------------------------------------- blocks
    def group_selection(self, name: str | None = None) -> str | None:
        """Group the selected layers into a collapsed block (Ctrl+G); returns its id."""
        from dlstudio.qt.editor.block_commands import group_command

        scene, graph = self.graph_scene, self.document.graph
        ids = scene.selected_node_ids()
        if not ids:
            return None
        inside = [graph.node(n).name for n in ids if graph.block_of(n) is not None]
        if inside:
            self._say(f"Cannot group: '{inside[0]}' is already in a block (ungroup it first)")
            return None
        rank = {n: i for i, n in enumerate(graph.acyclic_order())}
        ids.sort(key=lambda n: rank.get(n, len(rank)))  # in the order data flows
        cmd = group_command(graph, ids, name)
        self.document.push(cmd)
        scene.clearSelection()
        item = scene.block_items.get(cmd.result)
        if item is not None:
            item.setSelected(True)
        self._say(f"Grouped {len(ids)} layers as {graph.block(cmd.result).name}")
        return cmd.result

    def selected_block(self) -> str | None:
        """The block of the selection: a selected collapsed block, or the block that holds
        the selected layers of an expanded block."""
        scene = self.graph_scene
        blocks = scene.selected_block_ids()
        if len(blocks) == 1:
            return blocks[0]
        owners = {scene.block_id_of(n) for n in scene.selected_node_ids()}
        return owners.pop() if len(owners) == 1 and None not in owners else None

    def ungroup(self, block_id: str | None = None) -> bool:
        """Ungroup a block (Ctrl+Shift+G): its layers stay, selected."""
        from dlstudio.qt.editor.block_commands import ungroup_command

        block_id = block_id or self.selected_block()
        if block_id is None:
            return False
        members = list(self.document.graph.block(block_id).nodes)
        self.document.push(ungroup_command(self.document.graph, block_id))
        self.graph_scene.select_nodes(members, center=False)
        return True

    def rename_block(self, block_id: str, name: str | None = None) -> bool:
        from dlstudio.qt.editor.block_commands import rename_block_command

        graph = self.document.graph
        name = self._new_name("Rename block", graph.block(block_id).name, name)
        if not name:
            return False
        self.document.push(rename_block_command(graph, block_id, name))
        return True

    def add_library_block(self, block: Any, at: QPointF | None = None) -> str:
        """Put a library block (dlstudio.project.block_library.LibraryBlock) on the canvas,
        collapsed, centred at ``at`` (default: the view centre); one undo step."""
        from dlstudio.qt.editor.block_commands import InstantiateBlockCommand

        if at is None:
            at = self.mapToScene(self.viewport().rect().center())
        cmd = InstantiateBlockCommand(self.document.graph, block.name, block.fragment, (at.x(), at.y()),
                                      source=block.key)
        self.document.push(cmd)
        scene = self.graph_scene
        scene.clearSelection()
        item = scene.block_items.get(cmd.block_id)
        if item is not None:
            item.setSelected(True)
        return cmd.block_id

    def save_block_to_library(self, block_id: str, folder: Any, name: str | None = None) -> Any:
        """Store a block in the user's block library (``folder``); returns the file's path."""
        from dlstudio.compile.blocks import block_fragment
        from dlstudio.project.block_library import save_to_library

        graph = self.document.graph
        block = graph.block(block_id)
        path = save_to_library(folder, name or block.name, block_fragment(graph, block))
        self._say(f"Saved block '{name or block.name}' to the library")
        return path
