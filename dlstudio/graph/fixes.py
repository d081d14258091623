"""Fixes are data: the small graph edit that resolves a problem.

A :class:`Fix` carries a label for a button ("Set shape to (8, 8, 1)") and
its edits, each a frozen record (values are tuples, never lists, so a Problem
that carries a fix stays hashable). ``Fix.apply(graph)`` carries the edits out
through the Graph API; the editor turns the same edits into one undoable
command. A change to the training settings (the loss) is not a graph edit:
``apply`` leaves it to the caller and returns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Union

from dlstudio.graph.model import Graph


def frozen_value(value: Any) -> Any:
    """``value`` with every list turned into a tuple (recursively), for a frozen record."""
    if isinstance(value, (list, tuple)):
        return tuple(frozen_value(v) for v in value)
    if isinstance(value, dict):
        return tuple((k, frozen_value(v)) for k, v in value.items())
    return value


def plain_value(value: Any) -> Any:
    """The parameter value to store in a graph: tuples back to lists (JSON-like)."""
    if isinstance(value, tuple):
        return [plain_value(v) for v in value]
    return value


@dataclass(frozen=True)
class SetParams:
    """Set some parameters of one node (the others stay)."""

    node_id: str
    params: tuple[tuple[str, Any], ...]

    def values(self) -> dict[str, Any]:
        return {name: plain_value(value) for name, value in self.params}

    def apply(self, graph: Graph) -> None:
        for name, value in self.values().items():
            graph.set_param(self.node_id, name, value)


@dataclass(frozen=True)
class InsertNode:
    """Add a layer on the edge ``src:src_port -> dst:dst_port`` (``dst`` None: after
    ``src``, as a new last layer)."""

    type: str
    params: tuple[tuple[str, Any], ...]
    src: str
    src_port: int = 0
    dst: str | None = None
    dst_port: int = 0

    def values(self) -> dict[str, Any]:
        return {name: plain_value(value) for name, value in self.params}

    def edge_id(self, graph: Graph) -> str | None:
        """The id of the edge the new layer replaces (None: none)."""
        if self.dst is None:
            return None
        return next((e.id for e in graph.in_edges(self.dst)
                     if e.dst_port == self.dst_port and e.src == self.src and e.src_port == self.src_port), None)

    def position(self, graph: Graph) -> tuple[float, float]:
        """Where the new layer goes: between the two layers, or below ``src``."""
        sx, sy = graph.node(self.src).pos
        if self.dst is None:
            return (sx, sy + 110.0)
        dx, dy = graph.node(self.dst).pos
        return ((sx + dx) / 2, (sy + dy) / 2)

    def apply(self, graph: Graph) -> str:
        edge = self.edge_id(graph)
        node = graph.add_node(self.type, self.values(), name=graph.unique_name(self.type),
                              pos=self.position(graph))
        if edge is not None:
            graph.remove_edge(edge)
        graph.add_edge(self.src, self.src_port, node.id, 0)
        if self.dst is not None:
            graph.add_edge(node.id, 0, self.dst, self.dst_port)
        return node.id


@dataclass(frozen=True)
class SetTraining:
    """Change a training setting (``loss``): not a graph edit, applied by the caller."""

    name: str
    value: Any


Edit = Union[SetParams, InsertNode, SetTraining]


@dataclass(frozen=True)
class Fix:
    """What resolves a problem: ``label`` for a button, ``edits`` to carry out in order."""

    label: str
    edits: tuple[Edit, ...]

    @classmethod
    def set_params(cls, label: str, node_id: str, **params: Any) -> Fix:
        return cls(label, (SetParams(node_id, tuple((k, frozen_value(v)) for k, v in params.items())),))

    @classmethod
    def insert(cls, label: str, type_name: str, src: str, dst: str | None = None, *, src_port: int = 0,
               dst_port: int = 0, **params: Any) -> Fix:
        return cls(label, (InsertNode(type_name, tuple((k, frozen_value(v)) for k, v in params.items()),
                                      src, src_port, dst, dst_port),))

    @classmethod
    def set_training(cls, label: str, **settings: Any) -> Fix:
        return cls(label, tuple(SetTraining(k, frozen_value(v)) for k, v in settings.items()))

    def training_changes(self) -> dict[str, Any]:
        """The training settings this fix changes (empty: a graph edit only)."""
        return {e.name: plain_value(e.value) for e in self.edits if isinstance(e, SetTraining)}

    def apply(self, graph: Graph) -> dict[str, Any]:
        """Carry out the graph edits; returns :meth:`training_changes` for the caller to apply."""
        for edit in self.edits:
            if not isinstance(edit, SetTraining):
                edit.apply(graph)
        return self.training_changes()

    def __str__(self) -> str:
        return self.label
