"""A project's search space as dimensions, and one trial's graph and settings built from values.

:func:`search_space` turns the project's ``search`` section into :class:`Dimension` s (one per
searched value, optional chain and repeated block); :meth:`SearchSpace.build` makes the graph
and training settings of one set of values: searched parameters set on their nodes, switched-off
chains bypassed, repeated blocks copied (copies are named ``<node>_r2``, ``<node>_r3``, ... so
two trials' graphs compare node by node). :func:`space_problems` lists what is wrong with a
space before a search starts. Nothing here imports Optuna (see :mod:`dlstudio.search.study`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from dlstudio.errors import DLStudioError
from dlstudio.graph import Graph
from dlstudio.project.schema import TrainingSettings
from dlstudio.project.search_schema import SearchChain, SearchParam, SearchRepeat, SearchSettings

#: A grid larger than this is refused (use TPE or random sampling).
MAX_GRID = 100_000


class SearchError(DLStudioError):
    """A search that cannot start (its space has problems, the storage cannot be opened, ...)."""

    def __init__(self, message: str, problems: list[str] | tuple[str, ...] = ()):
        super().__init__(message if not problems else message + ":\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = list(problems)


class SampleError(DLStudioError):
    """One sampled configuration that cannot be built (recorded as a failed trial)."""


@dataclass(frozen=True)
class Dimension:
    """One thing the search varies. ``kind``: choice, int, float, optional (on/off) or repeat."""

    name: str
    kind: str
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    step: float | None = None
    source: Any = None  # the SearchParams (a tuple: one name, one value) / SearchOptional / SearchRepeat

    def values(self) -> list[Any] | None:
        """Every value (a grid's axis); None when the range is continuous."""
        if self.kind in ("choice", "optional"):
            return list(self.choices)
        if self.kind in ("int", "repeat"):
            step = int(self.step or 1)
            return list(range(int(self.low), int(self.high) + 1, step))
        if self.step is None:
            return None
        n = int((self.high - self.low) / self.step + 1e-9)
        return [round(self.low + i * self.step, 12) for i in range(n + 1)]

    @property
    def encoded(self) -> bool:
        """Whether the choices are stored as JSON text (lists: Optuna takes only scalars)."""
        return self.kind == "choice" and any(isinstance(c, list) for c in self.choices)

    def decode(self, value: Any) -> Any:
        return json.loads(value) if self.encoded and isinstance(value, str) else value

    def encode(self, value: Any) -> Any:
        return json.dumps(value) if self.encoded else value


@dataclass
class Sample:
    """One trial's configuration: its graph, its training settings and the values that made it."""

    graph: Graph
    settings: TrainingSettings
    values: dict[str, Any]


class SearchSpace:
    """The dimensions of a project's search and how to build a configuration from values."""

    def __init__(self, graph: Graph, training: TrainingSettings, settings: SearchSettings):
        self.graph, self.training, self.settings = graph, training, settings
        self.dimensions: list[Dimension] = []
        shared: dict[str, list[SearchParam]] = {}  # searched values of one name share one value
        for p in settings.params:
            shared.setdefault(p.name or param_label(graph, p), []).append(p)
        for label, group in shared.items():
            p = group[0]
            if p.kind == "choice":
                self.dimensions.append(Dimension(label, "choice", tuple(p.choices or ()), source=tuple(group)))
            else:
                self.dimensions.append(Dimension(label, p.kind, (), float(p.low), float(p.high), p.log,
                                                 p.step, source=tuple(group)))
        for o in settings.optional:
            self.dimensions.append(Dimension(o.name, "optional", (True, False), source=o))
        for r in settings.repeat:
            self.dimensions.append(Dimension(r.name, "repeat", (), float(r.min), float(r.max), source=r))

    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def grid(self) -> dict[str, list[Any]]:
        """Every dimension's values (the grid sampler's space); SearchError when one is continuous."""
        grid = {}
        for d in self.dimensions:
            values = d.values()
            if values is None:
                raise SearchError(f"the grid sampler needs a step or a choice list for {d.name}")
            grid[d.name] = [d.encode(v) for v in values]
        return grid

    def build(self, values: dict[str, Any]) -> Sample:
        """The graph and settings of one set of values (a dimension left out keeps the project's
        own value; optional chains stay on, repeated blocks appear once). SampleError when the
        values cannot make a configuration."""
        graph = self.graph.copy()
        updates: dict[str, Any] = {}
        used: dict[str, Any] = {}
        for d in self.dimensions:
            if d.name not in values:
                continue
            value = d.decode(values[d.name])
            used[d.name] = value
            if d.kind in ("choice", "int", "float"):
                value = int(value) if d.kind == "int" else value
                for p in d.source:
                    if p.node is None:
                        updates[p.param] = value
                    elif graph.has_node(p.node):
                        graph.set_param(p.node, p.param, value)
                    else:
                        raise SampleError(f"{d.name}: the graph has no node {p.node!r}")
        for d in self.dimensions:  # structure after parameters: copies carry the sampled values
            if d.name in used and d.kind == "optional" and not used[d.name]:
                bypass(graph, d.source)
        for d in self.dimensions:
            if d.name in used and d.kind == "repeat":
                repeat(graph, d.source, int(used[d.name]))
        try:
            settings = TrainingSettings.model_validate({**self.training.model_dump(), **updates})
        except ValueError as exc:
            raise SampleError(f"the training settings {updates} are not valid: {exc}") from None
        return Sample(graph, settings, used)


def param_label(graph: Graph, p: SearchParam) -> str:
    """``hidden_1.units`` (the node's name, its id when the graph has no such node), or the setting."""
    if p.node is None:
        return p.param
    name = graph.node(p.node).name if graph.has_node(p.node) else p.node
    return f"{name}.{p.param}"


def search_space(project: Any) -> SearchSpace:
    """The search space of ``project`` (an empty one when it defines none)."""
    return SearchSpace(project.graph, project.training, project.search or SearchSettings())


# ------------------------------------------------------------------ chains
def chain_ends(graph: Graph, chain: SearchChain) -> tuple[Any, list[Any]]:
    """(the edge into the chain's first node, the edges out of its last node); SampleError
    unless ``chain.nodes`` is a chain: each node feeding the next, one input from outside."""
    ids = chain.nodes
    for nid in ids:
        if not graph.has_node(nid):
            raise SampleError(f"{chain.name}: the graph has no node {nid!r}")
    inside = set(ids)
    names = ", ".join(graph.node(n).name for n in ids)
    first_in = graph.in_edges(ids[0])
    if len(first_in) != 1 or first_in[0].src in inside:
        raise SampleError(f"{chain.name}: the first node of [{names}] needs exactly one input from "
                          f"outside the chain")
    for a, b in zip(ids, ids[1:]):
        ins = graph.in_edges(b)
        if len(ins) != 1 or ins[0].src != a:
            raise SampleError(f"{chain.name}: [{names}] is not a chain ({graph.node(b).name} must take "
                              f"its only input from {graph.node(a).name})")
        if any(e.dst != b for e in graph.out_edges(a)):
            raise SampleError(f"{chain.name}: {graph.node(a).name} feeds nodes outside the chain")
    outs = graph.out_edges(ids[-1])
    if any(e.dst in inside for e in outs):
        raise SampleError(f"{chain.name}: the chain [{names}] feeds back into itself")
    return first_in[0], outs


def bypass(graph: Graph, chain: SearchChain) -> None:
    """Leave the chain out: what fed it feeds what it fed."""
    into, outs = chain_ends(graph, chain)
    for nid in chain.nodes:
        graph.remove_node(nid)
    for e in outs:
        graph.add_edge(into.src, into.src_port, e.dst, e.dst_port)


def repeat(graph: Graph, block: SearchRepeat, times: int) -> None:
    """The chain ``times`` times in a row (0: left out); copy k of node ``n4`` is ``n4_r<k>``."""
    if times <= 0:
        bypass(graph, block)
        return
    _, outs = chain_ends(graph, block)
    if times == 1:
        return
    for e in outs:
        graph.remove_edge(e.id)
    last = block.nodes[-1]
    span = max(150.0, 150.0 * len(block.nodes))
    for k in range(2, times + 1):
        prev = None
        for i, nid in enumerate(block.nodes):
            node = graph.node(nid)
            new_id = f"{nid}_r{k}"
            while graph.has_node(new_id) or graph.has_edge(new_id):
                new_id += "_"
            copy = graph.add_node(node.type, dict(node.params), name=unique_name(graph, f"{node.name}_r{k}"),
                                  pos=(node.pos[0] + 40.0 * (k - 1), node.pos[1] + span * (k - 1) / 4), id=new_id)
            graph.add_edge(prev or last, 0, copy.id, 0)
            prev = copy.id
        last = prev
    for e in outs:
        graph.add_edge(last, e.src_port, e.dst, e.dst_port)


def unique_name(graph: Graph, name: str) -> str:
    taken = {n.name for n in graph.nodes}
    candidate, i = name, 2
    while candidate in taken:
        candidate, i = f"{name}_{i}", i + 1
    return candidate
