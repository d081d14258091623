"""Undo commands for every edit. They call only the Graph API; the scene and
panels follow the Graph's signals, so redo/undo never touch items by hand.
"""

from __future__ import annotations

import copy
from typing import Any

from PySide6.QtGui import QUndoCommand

from dlstudio.graph import Graph


class AddNodeCommand(QUndoCommand):
    def __init__(self, graph: Graph, type_name: str, params: dict[str, Any] | None = None,
                 pos: tuple[float, float] = (0.0, 0.0), name: str | None = None):
        super().__init__(f"Add {type_name}")
        self.graph = graph
        self.node_id = graph.new_id("n")
        self.data = {"type": type_name, "params": dict(params or {}), "pos": pos,
                     "name": name or graph.unique_name(type_name)}

    def redo(self) -> None:
        d = self.data
        self.graph.add_node(d["type"], copy.deepcopy(d["params"]), name=d["name"], pos=d["pos"],
                            id=self.node_id)

    def undo(self) -> None:
        self.graph.remove_node(self.node_id)


class RemoveItemsCommand(QUndoCommand):
    """Delete nodes (with all their edges) and edges; undo restores ids and ports."""

    def __init__(self, graph: Graph, node_ids: list[str], edge_ids: list[str] = ()):
        n = len(node_ids) + len(edge_ids)
        super().__init__(f"Delete {n} item{'s' if n != 1 else ''}")
        self.graph = graph
        self.nodes = [graph.node(nid).to_dict() for nid in node_ids]
        ids = set(node_ids)
        edges = {e.id: e for e in graph.edges if e.src in ids or e.dst in ids}
        edges.update({eid: graph.edge(eid) for eid in edge_ids})
        self.edges = [e.to_dict() for e in edges.values()]
        self.blocks = graph.blocks_state()  # removing a block's layers shrinks it; undo restores it

    def redo(self) -> None:
        for e in self.edges:
            if self.graph.has_edge(e["id"]):
                self.graph.remove_edge(e["id"])
        for n in self.nodes:
            self.graph.remove_node(n["id"])

    def undo(self) -> None:
        _insert(self.graph, self.nodes, self.edges)
        if self.nodes:
            self.graph.set_blocks(self.blocks)


class ConnectCommand(QUndoCommand):
    def __init__(self, graph: Graph, src: str, src_port: int, dst: str, dst_port: int):
        super().__init__("Connect")
        self.graph = graph
        self.args = (src, src_port, dst, dst_port)
        self.edge_id = graph.new_id("e")

    def redo(self) -> None:
        self.graph.add_edge(*self.args, id=self.edge_id)

    def undo(self) -> None:
        self.graph.remove_edge(self.edge_id)


class SetParamCommand(QUndoCommand):
    """Change one parameter (each committed edit is its own undo step)."""

    def __init__(self, graph: Graph, node_id: str, name: str, value: Any):
        node = graph.node(node_id)
        super().__init__(f"Set {node.name}.{name}")
        self.graph, self.node_id, self.name = graph, node_id, name
        self.had = name in node.params
        self.old = copy.deepcopy(node.params.get(name))
        self.new = copy.deepcopy(value)

    def redo(self) -> None:
        self.graph.set_param(self.node_id, self.name, copy.deepcopy(self.new))

    def undo(self) -> None:
        params = dict(self.graph.node(self.node_id).params)
        if self.had:
            params[self.name] = copy.deepcopy(self.old)
        else:
            params.pop(self.name, None)
        self.graph.set_params(self.node_id, params)


class RenameCommand(QUndoCommand):
    def __init__(self, graph: Graph, node_id: str, name: str):
        super().__init__(f"Rename to {name}")
        self.graph, self.node_id = graph, node_id
        self.old, self.new = graph.node(node_id).name, name

    def redo(self) -> None:
        self.graph.rename(self.node_id, self.new)

    def undo(self) -> None:
        self.graph.rename(self.node_id, self.old)


class MoveNodesCommand(QUndoCommand):
    """Positions before and after a drag (or a layout) of several nodes."""

    def __init__(self, graph: Graph, moves: dict[str, tuple[tuple[float, float], tuple[float, float]]],
                 text: str = "Move"):
        super().__init__(text)
        self.graph, self.moves = graph, moves

    def redo(self) -> None:
        for nid, (_, new) in self.moves.items():
            self.graph.move(nid, *new)

    def undo(self) -> None:
        for nid, (old, _) in self.moves.items():
            self.graph.move(nid, *old)


class PasteCommand(QUndoCommand):
    """Insert a fragment (nodes and the edges among them) with fresh ids and names."""

    def __init__(self, graph: Graph, fragment: dict[str, Any], offset: tuple[float, float] = (40.0, 40.0),
                 text: str = "Paste"):
        super().__init__(text)
        self.graph = graph
        mapping: dict[str, str] = {}
        taken = {n.name for n in graph.nodes}
        self.nodes = []
        for n in fragment.get("nodes", []):
            new_id = _fresh_id(graph, "n", mapping.values())
            mapping[n["id"]] = new_id
            name = n["name"]
            if name in taken:
                name = _unique(name, taken)
            taken.add(name)
            self.nodes.append({**copy.deepcopy(n), "id": new_id, "name": name,
                               "pos": [n["pos"][0] + offset[0], n["pos"][1] + offset[1]]})
        self.edges = []
        used = set(mapping.values())
        for e in fragment.get("edges", []):
            if e["src"] in mapping and e["dst"] in mapping:
                eid = _fresh_id(graph, "e", used)
                used.add(eid)
                self.edges.append({**e, "id": eid, "src": mapping[e["src"]], "dst": mapping[e["dst"]]})
        self.node_ids = [n["id"] for n in self.nodes]
        self.mapping = mapping  # fragment node id -> the pasted node's id
        self.blocks = []  # blocks copied whole come along, with fresh ids
        for b in fragment.get("blocks", []):
            if all(n in mapping for n in b["nodes"]):
                bid = _fresh_id(graph, "b", used)
                used.add(bid)
                params = {k: [[mapping[t[0]], t[1]] for t in v] for k, v in (b.get("params") or {}).items()}
                self.blocks.append({**b, "id": bid, "nodes": [mapping[n] for n in b["nodes"]], "params": params})

    def redo(self) -> None:
        _insert(self.graph, self.nodes, self.edges)
        if self.blocks:
            self.graph.set_blocks(self.graph.blocks_state() + self.blocks)

    def undo(self) -> None:
        for e in self.edges:
            self.graph.remove_edge(e["id"])
        for n in self.nodes:
            self.graph.remove_node(n["id"])


def fragment_of(graph: Graph, node_ids: list[str]) -> dict[str, Any]:
    """The selected nodes, the edges between them and the blocks they hold whole, as plain
    data (for copy)."""
    ids = set(node_ids)
    fragment = {
        "nodes": [graph.node(nid).to_dict() for nid in node_ids],
        "edges": [e.to_dict() for e in graph.edges if e.src in ids and e.dst in ids],
    }
    blocks = [b.to_dict() for b in graph.blocks if set(b.nodes) <= ids]
    if blocks:
        fragment["blocks"] = blocks
    return fragment


def _insert(graph: Graph, nodes: list[dict], edges: list[dict]) -> None:
    for n in nodes:
        graph.add_node(n["type"], copy.deepcopy(n["params"]), name=n["name"], pos=tuple(n["pos"]), id=n["id"])
    for e in edges:
        graph.add_edge(e["src"], e["src_port"], e["dst"], e["dst_port"], id=e["id"])


def _fresh_id(graph: Graph, prefix: str, also_taken) -> str:
    taken = set(also_taken)
    while True:
        candidate = graph.new_id(prefix)
        if candidate not in taken:
            return candidate


def _unique(name: str, taken: set[str]) -> str:
    base = name.rstrip("0123456789").rstrip("_") or name
    i = 2
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


class CompositeCommand(QUndoCommand):
    """Several commands as one undo step: ``commands`` run in order, undone in reverse."""

    commands: list[QUndoCommand]

    def redo(self) -> None:
        for cmd in self.commands:
            cmd.redo()

    def undo(self) -> None:
        for cmd in reversed(self.commands):
            cmd.undo()


class ApplyFixCommand(CompositeCommand):
    """A problem's Fix (dlstudio.graph.fixes) as one undo step: its edits become the
    ordinary commands above (set a parameter, add a layer, reconnect, change a
    training setting), run in order and undone in reverse. The editor's "Insert layer"
    uses it too (``text``: the undo text instead of "Fix: ...")."""

    def __init__(self, document: Any, fix: Any, text: str | None = None):
        from dlstudio.graph import InsertNode, SetParams

        super().__init__(text or f"Fix: {fix.label}")
        graph = document.graph
        self.fix = fix
        self.commands: list[QUndoCommand] = []
        for edit in fix.edits:
            if isinstance(edit, SetParams):
                self.commands += [SetParamCommand(graph, edit.node_id, k, v) for k, v in edit.values().items()]
            elif isinstance(edit, InsertNode):
                add = AddNodeCommand(graph, edit.type, edit.values(), pos=edit.position(graph))
                edge = edit.edge_id(graph)
                if edge is not None:
                    self.commands.append(RemoveItemsCommand(graph, [], [edge]))
                self.commands += [add, ConnectCommand(graph, edit.src, edit.src_port, add.node_id, 0)]
                if edit.dst is not None:
                    self.commands.append(ConnectCommand(graph, add.node_id, 0, edit.dst, edit.dst_port))
        training = fix.training_changes()
        if training:
            from dlstudio.qt.editor.settings_commands import SetTrainingSettingsCommand  # it imports this module

            self.commands.append(SetTrainingSettingsCommand(document, training))
