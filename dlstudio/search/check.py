"""What is wrong with a project's search space, found before a search starts.

Every problem names the searched value and says what to change: a node or parameter the graph
no longer has, a value the layer refuses, a chain that is not one, an objective the runs will
not record, a grid without steps; and the graphs at each dimension's extremes (every other
value as the project has it) go through the same analysis as a hand-made graph, so an
``int`` range that makes a layer invalid is reported now, not as failed trials later.
"""

from __future__ import annotations

from typing import Any

from dlstudio.compile import analyze
from dlstudio.project.schema import TrainingSettings
from dlstudio.project.search_schema import SearchParam
from dlstudio.search.space import (
    MAX_GRID, SampleError, SearchError, SearchSpace, chain_ends, param_label, search_space,
)

#: Metrics every run of a classifier or regressor records (with ``val_`` and ``test_`` forms).
COMMON_METRICS = ("loss", "accuracy", "mae", "mse")


def space_problems(project: Any, space: SearchSpace | None = None) -> list[str]:
    """Every problem of ``project``'s search space (empty: the search can start)."""
    settings = project.search
    if settings is None or settings.is_empty():
        return ["the project defines no search space: add searched values (Search over… on a parameter) "
                "or a search section to the project"]
    if getattr(project, "gan", None) is not None:
        return ["a GAN project cannot be searched yet (its generator and discriminator train in turns)"]
    space = space or search_space(project)
    problems: list[str] = []
    seen: set[str] = set()
    for d in space.dimensions:
        if d.name in seen:
            problems.append(f"{d.name}: two searched things have this name; give one another name")
        seen.add(d.name)
        if d.kind in ("choice", "int", "float"):
            first = d.source[0].model_dump(exclude={"node", "param", "name"})
            if any(p.model_dump(exclude={"node", "param", "name"}) != first for p in d.source[1:]):
                problems.append(f"{d.name}: the values searched under this one name must have the same "
                                "kind and range (they share one value)")
    for p in settings.params:
        problems += param_problems(project, p, space)
    chained: dict[str, str] = {}
    for chain in (*settings.optional, *settings.repeat):
        try:
            chain_ends(project.graph, chain)
        except SampleError as exc:
            problems.append(str(exc))
        for nid in chain.nodes:
            if nid in chained:
                problems.append(f"{chain.name}: node {nid!r} is already in {chained[nid]}; "
                                "chains must not share nodes")
            chained[nid] = chain.name
    problems += objective_problems(project)
    if settings.sampler == "grid":
        problems += grid_problems(space)
    if not problems:
        problems += extreme_problems(space)
    return problems


def check_space(project: Any) -> SearchSpace:
    """The search space of ``project``; SearchError listing its problems when it has any."""
    space = search_space(project)
    problems = space_problems(project, space)
    if problems:
        raise SearchError("the search cannot start", problems)
    return space


def param_problems(project: Any, p: SearchParam, space: SearchSpace) -> list[str]:
    name = p.name or param_label(project.graph, p)
    candidates = list(p.choices or []) if p.kind == "choice" else [p.low, p.high]
    if p.kind == "int":
        candidates = [int(v) for v in candidates]
    if p.node is None:
        if p.param not in TrainingSettings.model_fields:
            return [f"{name}: there is no training setting {p.param!r} (choose one of "
                    f"{', '.join(sorted(TrainingSettings.model_fields))})"]
        out = []
        for value in candidates:
            try:
                TrainingSettings.model_validate({**project.training.model_dump(), p.param: value})
            except ValueError as exc:
                first = str(exc).splitlines()[2:3] or [str(exc)]
                out.append(f"{name}: the value {value!r} is not a valid {p.param} ({first[0].strip()})")
        return out
    graph = project.graph
    if not graph.has_node(p.node):
        return [f"{name}: the graph has no node {p.node!r} (was it deleted?)"]
    from dlstudio.catalog import ParamError, UnknownLayerError, get_spec

    node = graph.node(p.node)
    try:
        spec = get_spec(node.type).param(p.param)
    except (UnknownLayerError, KeyError):
        return [f"{name}: {node.type} '{node.name}' has no parameter {p.param!r}"]
    out = []
    for value in candidates:
        try:
            spec.check(value)
        except ParamError as exc:
            out.append(f"{name}: {node.name} cannot take {value!r} ({exc})")
    return out


def objective_problems(project: Any) -> list[str]:
    objective = project.search.objective
    metric = objective.metric
    base = metric.removeprefix("val_").removeprefix("test_")
    searched = {p.param for p in project.search.params if p.node is None}
    if metric.startswith("val_") and not project.training.validation_split and "validation_split" not in searched:
        return [f"objective: {metric} needs a validation split (the training settings have none); "
                f"set one or use test_{base}"]
    if base not in COMMON_METRICS and base not in project.training.metrics:
        return [f"objective: the runs will not record {metric!r} (they record loss and the training "
                f"metrics {', '.join(project.training.metrics)}, each also as val_ and test_)"]
    return []


def grid_problems(space: SearchSpace) -> list[str]:
    try:
        grid = space.grid()
    except SearchError as exc:
        return [str(exc)]
    size = 1
    for values in grid.values():
        size *= max(1, len(values))
    if size > MAX_GRID:
        return [f"the grid has {size:,} points (more than {MAX_GRID:,}): use fewer values, a larger step, "
                "or the TPE or random sampler"]
    return []


def extreme_problems(space: SearchSpace) -> list[str]:
    """Problems of the graphs at each dimension's extremes (the others as the project has them)."""
    problems: list[str] = []
    for d in space.dimensions:
        if d.kind in ("choice", "optional"):
            ends = list(d.choices)
        elif d.kind in ("int", "repeat"):
            ends = [int(d.low), int(d.high)]
        else:
            ends = [d.low, d.high]
        for value in dict.fromkeys(map(repr, ends)):
            raw = next(v for v in ends if repr(v) == value)
            try:
                sample = space.build({d.name: d.encode(raw)})
            except SampleError as exc:
                problems.append(f"with {d.name} = {raw!r}: {exc}")
                continue
            errors = analyze(sample.graph).errors
            if errors:
                problems.append(f"with {d.name} = {raw!r}: the graph is invalid: {errors[0]}")
    return problems
