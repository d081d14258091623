"""The graph model: the single source of truth for a network's structure.

Nodes carry a layer type (a catalog key), a unique name, parameters and a
position; edges connect an output port of one node to an input port of another.
Ports are numbered: ``(node_id, index)``. The graph can *hold* states that are
invalid for a model (a cycle, two edges into one port, a missing input), so that
a file or an edit is never lost; validation reports them as problems, and
:meth:`Graph.connection_error` lets an editor refuse such an edit up front.

Every change is announced by a psygnal signal; nothing here imports Qt.
"""

from __future__ import annotations

import copy
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterable, NamedTuple

from psygnal import Signal

from dlstudio.errors import DLStudioError
from dlstudio.graph.blocks import Block


class GraphError(DLStudioError, ValueError):
    """An operation on the graph that cannot be carried out (unknown id, ...)."""


class PortRef(NamedTuple):
    node: str
    port: int


@dataclass
class Node:
    id: str
    type: str
    name: str
    params: dict[str, Any] = field(default_factory=dict)
    pos: tuple[float, float] = (0.0, 0.0)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "name": self.name,
            "params": copy.deepcopy(self.params),
            "pos": [float(self.pos[0]), float(self.pos[1])],
        }


@dataclass(frozen=True)
class Edge:
    id: str
    src: str
    src_port: int
    dst: str
    dst_port: int

    @property
    def source(self) -> PortRef:
        return PortRef(self.src, self.src_port)

    @property
    def target(self) -> PortRef:
        return PortRef(self.dst, self.dst_port)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "src": self.src,
            "src_port": self.src_port,
            "dst": self.dst,
            "dst_port": self.dst_port,
        }


def snake_case(name: str) -> str:
    """``Conv2DTranspose`` -> ``conv2d_transpose`` (Keras' own naming style)."""
    s = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", s).lower()


#: What a Keras layer name may hold on every backend (TensorFlow uses it as a name scope).
_LAYER_NAME = re.compile(r"[A-Za-z0-9_.\-]+")


def layer_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a layer (None when it can): Keras builds the layer under
    that name, and TensorFlow refuses spaces, '/', '+', brackets and non-ASCII letters."""
    if not name:
        return "a layer needs a name"
    if not _LAYER_NAME.fullmatch(name):
        bad = sorted({c for c in name if not re.fullmatch(r"[A-Za-z0-9_.\-]", c)})
        what = ", ".join("a space" if c == " " else repr(c) for c in bad)
        return (f"the name '{name}' cannot name a Keras layer ({what}): use letters, digits, "
                "'_', '-' and '.'")
    return None


def suggested_layer_name(name: str) -> str:
    """A valid layer name close to ``name``: 'character vectors' -> 'character_vectors'."""
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", name.strip()).strip("_") or "layer"


class Graph:
    """A directed graph of layers. Mutate it only through its methods."""

    node_added = Signal(object)  # Node
    node_removed = Signal(object)  # Node
    edge_added = Signal(object)  # Edge
    edge_removed = Signal(object)  # Edge
    params_changed = Signal(str)  # node id
    node_renamed = Signal(str, str)  # node id, new name
    node_moved = Signal(str, float, float)  # node id, x, y
    annotations_changed = Signal()
    blocks_changed = Signal()  # a block was added, removed or changed (see dlstudio.graph.blocks)

    def __init__(self) -> None:
        self._nodes: dict[str, Node] = {}
        self._edges: dict[str, Edge] = {}
        self._blocks: dict[str, Block] = {}
        self._counter = 0
        #: Derived information per node id (shapes, parameter counts, problems),
        #: written by the shape pass; never saved.
        self.annotations: dict[str, Any] = {}

    # ----------------------------------------------------------------- queries
    @property
    def nodes(self) -> list[Node]:
        return list(self._nodes.values())

    @property
    def edges(self) -> list[Edge]:
        return list(self._edges.values())

    def node(self, node_id: str) -> Node:
        try:
            return self._nodes[node_id]
        except KeyError:
            raise GraphError(f"no node with id {node_id!r}") from None

    def edge(self, edge_id: str) -> Edge:
        try:
            return self._edges[edge_id]
        except KeyError:
            raise GraphError(f"no edge with id {edge_id!r}") from None

    def has_node(self, node_id: str) -> bool:
        return node_id in self._nodes

    def has_edge(self, edge_id: str) -> bool:
        return edge_id in self._edges

    def node_by_name(self, name: str) -> Node | None:
        for n in self._nodes.values():
            if n.name == name:
                return n
        return None

    def in_edges(self, node_id: str) -> list[Edge]:
        """Edges into ``node_id``, ordered by input port (then insertion)."""
        found = [e for e in self._edges.values() if e.dst == node_id]
        return sorted(found, key=lambda e: e.dst_port)

    def out_edges(self, node_id: str) -> list[Edge]:
        return [e for e in self._edges.values() if e.src == node_id]

    def predecessors(self, node_id: str) -> list[str]:
        return [e.src for e in self.in_edges(node_id)]

    def successors(self, node_id: str) -> list[str]:
        return [e.dst for e in self.out_edges(node_id)]

    def sources(self) -> list[Node]:
        """Nodes with no incoming edge."""
        targets = {e.dst for e in self._edges.values()}
        return [n for n in self._nodes.values() if n.id not in targets]

    def sinks(self) -> list[Node]:
        """Nodes with no outgoing edge."""
        origins = {e.src for e in self._edges.values()}
        return [n for n in self._nodes.values() if n.id not in origins]

    def find_cycle(self) -> list[str] | None:
        """The node ids of one directed cycle, or None when the graph is acyclic."""
        succ: dict[str, list[str]] = defaultdict(list)
        for e in self._edges.values():
            succ[e.src].append(e.dst)
        white, grey, black = 0, 1, 2
        colour = dict.fromkeys(self._nodes, white)
        for start in self._nodes:
            if colour[start] != white:
                continue
            stack: list[tuple[str, Iterable[str]]] = [(start, iter(succ[start]))]
            path = [start]
            colour[start] = grey
            while stack:
                nid, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    colour[nid] = black
                    stack.pop()
                    path.pop()
                elif colour.get(nxt) == grey:
                    return path[path.index(nxt):]
                elif colour.get(nxt) == white:
                    colour[nxt] = grey
                    stack.append((nxt, iter(succ[nxt])))
                    path.append(nxt)
        return None

    def acyclic_order(self) -> list[str]:
        """Node ids in topological order (Kahn's algorithm, stable), leaving out
        the nodes on a cycle and everything after one."""
        indeg = dict.fromkeys(self._nodes, 0)
        succ: dict[str, list[str]] = defaultdict(list)
        for e in self._edges.values():
            indeg[e.dst] += 1
            succ[e.src].append(e.dst)
        ready = [nid for nid, d in indeg.items() if d == 0]
        order: list[str] = []
        while ready:
            nid = ready.pop(0)
            order.append(nid)
            for nxt in succ[nid]:
                indeg[nxt] -= 1
                if indeg[nxt] == 0:
                    ready.append(nxt)
        return order

    def topological_order(self) -> list[str]:
        """Node ids so that every edge goes forward.

        Raises GraphError naming the cycle when there is one.
        """
        order = self.acyclic_order()
        if len(order) != len(self._nodes):
            cycle = self.find_cycle() or []
            names = " -> ".join(self._nodes[c].name for c in cycle)
            raise GraphError(f"the graph has a cycle: {names}")
        return order

    def ancestors(self, node_id: str) -> set[str]:
        seen: set[str] = set()
        todo = [node_id]
        while todo:
            for p in self.predecessors(todo.pop()):
                if p not in seen:
                    seen.add(p)
                    todo.append(p)
        return seen

    def descendants(self, node_id: str) -> set[str]:
        seen: set[str] = set()
        todo = [node_id]
        while todo:
            for s in self.successors(todo.pop()):
                if s not in seen:
                    seen.add(s)
                    todo.append(s)
        return seen

    def connection_error(self, src: PortRef, dst: PortRef, *, replace: bool = False) -> str | None:
        """Why connecting ``src`` to ``dst`` would break the graph, or None.

        Structural checks only (ids, taken port unless ``replace``: the new edge is to
        replace the one there, self-loop, cycle); shape and rank checks live with shape
        inference.
        """
        if src.node not in self._nodes:
            return f"no node with id {src.node!r}"
        if dst.node not in self._nodes:
            return f"no node with id {dst.node!r}"
        if src.node == dst.node:
            return f"cannot connect '{self._nodes[src.node].name}' to itself"
        taken = None if replace else self.edge_into(dst.node, dst.port)
        if taken is not None:
            return (
                f"input {dst.port} of '{self._nodes[dst.node].name}' is already "
                f"taken by '{self._nodes[taken.src].name}'; remove that edge first"
            )
        if src.node in self.descendants(dst.node):
            return (
                f"connecting '{self._nodes[src.node].name}' to "
                f"'{self._nodes[dst.node].name}' would create a cycle"
            )
        return None

    # --------------------------------------------------------------- mutation
    def new_id(self, prefix: str) -> str:
        while True:
            self._counter += 1
            candidate = f"{prefix}{self._counter}"
            if not self._id_taken(candidate):
                return candidate

    def _id_taken(self, id: str) -> bool:
        """Whether a node, an edge or a block has this id (ids are unique across all three)."""
        return id in self._nodes or id in self._edges or id in self._blocks

    def unique_name(self, base: str) -> str:
        base = snake_case(base)
        taken = {n.name for n in self._nodes.values()}
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def add_node(
        self,
        type: str,
        params: dict[str, Any] | None = None,
        *,
        name: str | None = None,
        pos: tuple[float, float] = (0.0, 0.0),
        id: str | None = None,
    ) -> Node:
        if id is None:
            id = self.new_id("n")
        elif self._id_taken(id):
            raise GraphError(f"duplicate id {id!r}")
        if name is None:
            name = self.unique_name(type)
        node = Node(id, type, name, dict(params or {}), (float(pos[0]), float(pos[1])))
        self._nodes[id] = node
        self.node_added.emit(node)
        return node

    def remove_node(self, node_id: str) -> Node:
        node = self.node(node_id)
        for e in [e for e in self._edges.values() if node_id in (e.src, e.dst)]:
            self.remove_edge(e.id)
        del self._nodes[node_id]
        self.annotations.pop(node_id, None)
        self.node_removed.emit(node)
        block = self.block_of(node_id)
        if block is not None:  # the block shrinks; an empty block goes
            block.nodes.remove(node_id)
            block.params = {k: [t for t in v if t[0] != node_id] for k, v in block.params.items()}
            block.params = {k: v for k, v in block.params.items() if v}
            if not block.nodes:
                del self._blocks[block.id]
            self.blocks_changed.emit()
        return node

    def add_edge(
        self, src: str, src_port: int, dst: str, dst_port: int, *, id: str | None = None
    ) -> Edge:
        """Add an edge. Unknown nodes are refused; other faults are kept for
        validation to report (use :meth:`connection_error` to refuse them)."""
        for nid in (src, dst):
            if nid not in self._nodes:
                raise GraphError(f"edge refers to unknown node {nid!r}")
        if id is None:
            id = self.new_id("e")
        elif self._id_taken(id):
            raise GraphError(f"duplicate id {id!r}")
        edge = Edge(id, src, int(src_port), dst, int(dst_port))
        self._edges[id] = edge
        self.edge_added.emit(edge)
        return edge

    def edge_into(self, node_id: str, port: int) -> Edge | None:
        """The edge into input ``port`` of ``node_id`` (None: the port is free)."""
        return next((e for e in self._edges.values() if e.dst == node_id and e.dst_port == port), None)

    def connect(self, src: str, dst: str, dst_port: int = 0, src_port: int = 0) -> Edge:
        """Convenience: connect output ``src_port`` of ``src`` to ``dst``."""
        return self.add_edge(src, src_port, dst, dst_port)

    def remove_edge(self, edge_id: str) -> Edge:
        edge = self.edge(edge_id)
        del self._edges[edge_id]
        self.edge_removed.emit(edge)
        return edge

    def set_params(self, node_id: str, params: dict[str, Any]) -> None:
        """Replace all parameters of a node."""
        node = self.node(node_id)
        node.params = dict(params)
        self.params_changed.emit(node_id)

    def set_param(self, node_id: str, name: str, value: Any) -> None:
        node = self.node(node_id)
        node.params[name] = value
        self.params_changed.emit(node_id)

    def rename(self, node_id: str, name: str) -> None:
        """Rename a node; nodes that share its layer (``shares``) follow the new name."""
        node = self.node(node_id)
        old = node.name
        node.name = name
        self.node_renamed.emit(node_id, name)
        if sum(n.name == old for n in self._nodes.values()) == 0:
            for other in self._nodes.values():
                if isinstance(other.params, dict) and other.params.get("shares") == old and other.id != node_id:
                    self.set_param(other.id, "shares", name)

    def move(self, node_id: str, x: float, y: float) -> None:
        node = self.node(node_id)
        node.pos = (float(x), float(y))
        self.node_moved.emit(node_id, float(x), float(y))

    # ---------------------------------------------------------------- blocks
    @property
    def blocks(self) -> list[Block]:
        return list(self._blocks.values())

    def block(self, block_id: str) -> Block:
        try:
            return self._blocks[block_id]
        except KeyError:
            raise GraphError(f"no block with id {block_id!r}") from None

    def has_block(self, block_id: str) -> bool:
        return block_id in self._blocks

    def block_of(self, node_id: str) -> Block | None:
        """The block ``node_id`` belongs to (None: none)."""
        for b in self._blocks.values():
            if node_id in b.nodes:
                return b
        return None

    def add_block(self, name: str, node_ids: Iterable[str], *, id: str | None = None, collapsed: bool = True,
                  params: dict[str, list[tuple[str, str]]] | None = None, source: str = "") -> Block:
        """Group these nodes as a block (each may belong to one block only)."""
        node_ids = list(dict.fromkeys(node_ids))
        if not node_ids:
            raise GraphError("a block needs at least one layer")
        for nid in node_ids:
            self.node(nid)
            other = self.block_of(nid)
            if other is not None:
                raise GraphError(f"'{self._nodes[nid].name}' is already in block '{other.name}'")
        for name_, targets in (params or {}).items():
            for nid, _p in targets:
                if nid not in node_ids:
                    raise GraphError(f"block parameter '{name_}' refers to a layer outside the block")
        if id is None:
            id = self.new_id("b")
        elif self._id_taken(id):
            raise GraphError(f"duplicate id {id!r}")
        block = Block(id, name, node_ids, collapsed, {k: [tuple(t) for t in v] for k, v in (params or {}).items()},
                      source)
        self._blocks[id] = block
        self.blocks_changed.emit()
        return block

    def remove_block(self, block_id: str) -> Block:
        """Ungroup: the block goes, its layers stay."""
        block = self.block(block_id)
        del self._blocks[block_id]
        self.blocks_changed.emit()
        return block

    def set_block(self, block_id: str, *, name: str | None = None, collapsed: bool | None = None,
                  params: dict[str, list[tuple[str, str]]] | None = None) -> None:
        """Rename, collapse/expand, or replace the exposed parameters of a block."""
        block = self.block(block_id)
        if params is not None and any(n not in block.nodes for v in params.values() for n, _ in v):
            raise GraphError("a block parameter can only drive layers of the block")
        if name is not None:
            block.name = name
        if collapsed is not None:
            block.collapsed = collapsed
        if params is not None:
            block.params = {k: [tuple(t) for t in v] for k, v in params.items() if v}
        self.blocks_changed.emit()

    def blocks_state(self) -> list[dict[str, Any]]:
        """Every block as plain data (for an undo step that must restore them)."""
        return [b.to_dict() for b in self._blocks.values()]

    def set_blocks(self, state: list[dict[str, Any]]) -> None:
        """Replace every block by ``state`` (from :meth:`blocks_state`); members that no longer
        exist are left out."""
        self._blocks = {}
        for d in state:
            b = Block.from_dict(d)
            b.nodes = [n for n in b.nodes if n in self._nodes]
            if b.nodes:
                self._blocks[b.id] = b
        self.blocks_changed.emit()

    def set_annotations(self, annotations: dict[str, Any]) -> None:
        self.annotations = annotations
        self.annotations_changed.emit()

    def clear(self) -> None:
        for nid in list(self._nodes):
            self.remove_node(nid)

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        d = {
            "nodes": [n.to_dict() for n in self._nodes.values()],
            "edges": [e.to_dict() for e in self._edges.values()],
        }
        if self._blocks:  # a graph without blocks is written as before
            d["blocks"] = self.blocks_state()
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        g = cls()
        for n in data.get("nodes", []):
            g.add_node(
                n["type"], n.get("params", {}), name=n["name"],
                pos=tuple(n.get("pos", (0.0, 0.0))), id=n["id"],
            )
        for e in data.get("edges", []):
            g.add_edge(e["src"], e.get("src_port", 0), e["dst"], e.get("dst_port", 0), id=e["id"])
        for b in data.get("blocks") or []:
            block = Block.from_dict(b)
            g.add_block(block.name, block.nodes, id=block.id, collapsed=block.collapsed, params=block.params,
                        source=block.source)
        return g

    def copy(self) -> Graph:
        return Graph.from_dict(self.to_dict())

    def __len__(self) -> int:
        return len(self._nodes)

    def __repr__(self) -> str:
        return f"<Graph {len(self._nodes)} nodes, {len(self._edges)} edges>"
