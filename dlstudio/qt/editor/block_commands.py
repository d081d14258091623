"""Undo commands for blocks (dlstudio.graph.blocks): group, ungroup, collapse, expand,
rename, set an exposed parameter, and drop a library block on the canvas. Like every
command they call only the Graph API; the scene follows ``Graph.blocks_changed``.
"""

from __future__ import annotations

from typing import Any, Callable

from PySide6.QtGui import QUndoCommand

from dlstudio.graph import Graph
from dlstudio.qt.editor.commands import CompositeCommand, PasteCommand, SetParamCommand


class BlocksCommand(QUndoCommand):
    """A change of the graph's blocks: ``change(graph)`` the first time, then the blocks as
    they were after it (redo) or before it (undo)."""

    def __init__(self, graph: Graph, text: str, change: Callable[[Graph], Any]):
        super().__init__(text)
        self.graph, self.change = graph, change
        self.before = graph.blocks_state()
        self.after: list | None = None
        self.result: Any = None

    def redo(self) -> None:
        if self.after is None:
            self.result = self.change(self.graph)
            self.after = self.graph.blocks_state()
        else:
            self.graph.set_blocks(self.after)

    def undo(self) -> None:
        self.graph.set_blocks(self.before)


def unique_block_name(graph: Graph, base: str = "block") -> str:
    taken = {b.name for b in graph.blocks}
    if base not in taken and base != "block":
        return base
    i = 1
    while f"{base}_{i}" in taken:
        i += 1
    return f"{base}_{i}"


def group_command(graph: Graph, node_ids: list[str], name: str | None = None) -> BlocksCommand:
    name = name or unique_block_name(graph)
    return BlocksCommand(graph, f"Group {len(node_ids)} layers as {name}",
                         lambda g: g.add_block(name, node_ids, collapsed=True).id)


def ungroup_command(graph: Graph, block_id: str) -> BlocksCommand:
    return BlocksCommand(graph, f"Ungroup {graph.block(block_id).name}", lambda g: g.remove_block(block_id))


def collapse_command(graph: Graph, block_id: str, collapsed: bool) -> BlocksCommand:
    verb = "Collapse" if collapsed else "Expand"
    return BlocksCommand(graph, f"{verb} {graph.block(block_id).name}",
                         lambda g: g.set_block(block_id, collapsed=collapsed))


def rename_block_command(graph: Graph, block_id: str, name: str) -> BlocksCommand:
    return BlocksCommand(graph, f"Rename block to {name}", lambda g: g.set_block(block_id, name=name))


def expose_command(graph: Graph, block_id: str, node_id: str, param: str, name: str | None = None) -> BlocksCommand:
    """Make ``node_id``'s ``param`` a parameter of the block (under ``name``, default the
    parameter's own name: exposing a second layer's ``filters`` makes one setting drive both)."""
    name = name or param
    params = {k: list(v) for k, v in graph.block(block_id).params.items()}
    if (node_id, param) not in params.get(name, []):
        params.setdefault(name, []).append((node_id, param))
    return BlocksCommand(graph, f"Expose {graph.node(node_id).name}.{param} as {name}",
                         lambda g: g.set_block(block_id, params=params))


def unexpose_command(graph: Graph, block_id: str, name: str) -> BlocksCommand:
    params = {k: list(v) for k, v in graph.block(block_id).params.items() if k != name}
    return BlocksCommand(graph, f"Stop exposing {name}", lambda g: g.set_block(block_id, params=params))


class SetBlockParamCommand(CompositeCommand):
    """Set an exposed parameter of a block: the same value on every layer it drives."""

    def __init__(self, graph: Graph, block_id: str, name: str, value: Any):
        block = graph.block(block_id)
        super().__init__(f"Set {block.name}.{name}")
        self.commands = [SetParamCommand(graph, nid, param, value) for nid, param in block.params[name]]


class InstantiateBlockCommand(CompositeCommand):
    """A library block dropped on the canvas: its layers with fresh ids and names, grouped
    as a collapsed block centred at ``at`` (scene coordinates)."""

    def __init__(self, graph: Graph, name: str, fragment: dict, at: tuple[float, float], source: str = ""):
        super().__init__(f"Add block {name}")
        nodes = fragment["nodes"]
        xs, ys = [n["pos"][0] for n in nodes], [n["pos"][1] for n in nodes]
        centre = ((min(xs) + max(xs)) / 2 + 105.0, (min(ys) + max(ys)) / 2 + 42.0)
        self.paste = PasteCommand(graph, fragment, offset=(at[0] - centre[0], at[1] - centre[1]))
        params = {k: [(self.paste.mapping[n], p) for n, p in v] for k, v in (fragment.get("params") or {}).items()}
        block_name = unique_block_name(graph, _snake(name))
        self.group = BlocksCommand(graph, self.text(), lambda g: g.add_block(
            block_name, self.paste.node_ids, collapsed=True, params=params, source=source).id)
        self.commands = [self.paste, self.group]

    @property
    def block_id(self) -> str | None:
        return self.group.result


def _snake(name: str) -> str:
    import re

    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_") or "block"
