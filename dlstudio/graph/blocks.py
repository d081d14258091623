"""Blocks: named groups of a graph's layers, shown by the editor as one node.

A block is a view of the graph, not a layer of its own: its layers stay ordinary nodes
and edges of the graph (the compiler builds them inline with their names, so training,
insight, export and import work with blocks exactly as without). A block records which
nodes it holds, whether the editor shows it collapsed, and the parameters it exposes:
one block parameter (``filters``) sets the same setting of several inner layers.

A node belongs to at most one block. Blocks are saved with the graph (an additive key:
a graph without blocks is written exactly as before).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class Block:
    id: str
    name: str
    nodes: list[str]  # member node ids, in the order they were grouped
    collapsed: bool = True
    #: Exposed parameters: block parameter name -> the (node id, parameter) pairs it sets.
    params: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    source: str = ""  # the library block it was made from ("" : grouped by hand)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"id": self.id, "name": self.name, "nodes": list(self.nodes),
                             "collapsed": self.collapsed}
        if self.params:
            d["params"] = {k: [[n, p] for n, p in v] for k, v in self.params.items()}
        if self.source:
            d["source"] = self.source
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Block:
        params = {k: [(str(n), str(p)) for n, p in v] for k, v in (d.get("params") or {}).items()}
        return cls(str(d["id"]), str(d["name"]), [str(n) for n in d["nodes"]], bool(d.get("collapsed", True)),
                   params, str(d.get("source") or ""))
