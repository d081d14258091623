"""What differs between two runs: the layers added, removed and changed (each changed parameter
old -> new), the training settings and dataset options, and the metrics (with B - A).

Layers are matched by node id (runs of one project, trials of one search: ids are stable, a
repeated block's copies are ``<id>_r2``, ...), then by name and type. Parameters are compared
with the catalog's defaults filled in, so ``{}`` and ``{"rate": 0.5}`` of a Dropout are the
same. A layer whose inputs changed only because a layer was inserted before it or removed is
not "changed": its inputs are compared through added and removed layers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LayerChange:
    id: str  # in run B (added, changed) or in run A (removed)
    name: str
    type: str
    params: dict[str, Any] = field(default_factory=dict)  # added/removed: its parameters; changed: {name: (old, new)}
    renamed: tuple[str, str] | None = None
    type_change: tuple[str, str] | None = None
    inputs: tuple[list[str], list[str]] | None = None  # rewired: (inputs in A, inputs in B), by name
    id_a: str | None = None  # changed: the node's id in run A

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type,
                               "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}}
        if self.renamed:
            out["renamed"] = list(self.renamed)
        if self.type_change:
            out["type_change"] = list(self.type_change)
        if self.inputs:
            out["inputs"] = [self.inputs[0], self.inputs[1]]
        return out


@dataclass
class RunDiff:
    a: str
    b: str
    added: list[LayerChange] = field(default_factory=list)
    removed: list[LayerChange] = field(default_factory=list)
    changed: list[LayerChange] = field(default_factory=list)
    settings: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    metrics: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)

    @property
    def same_graph(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def node_states(self) -> dict[str, str]:
        """Run B's node ids -> "added" or "changed" (what the canvas highlights)."""
        return {**{c.id: "changed" for c in self.changed}, **{c.id: "added" for c in self.added}}

    def as_dict(self) -> dict[str, Any]:
        return {"a": self.a, "b": self.b,
                "layers": {"added": [c.as_dict() for c in self.added],
                           "removed": [c.as_dict() for c in self.removed],
                           "changed": [c.as_dict() for c in self.changed]},
                "settings": {k: [a, b] for k, (a, b) in self.settings.items()},
                "metrics": {k: {"a": a, "b": b, "delta": (b - a) if a is not None and b is not None else None}
                            for k, (a, b) in self.metrics.items()}}


def full_params(node: dict[str, Any]) -> dict[str, Any]:
    """A node's parameters with the catalog's defaults filled in (as given when the type is unknown)."""
    params = node.get("params") if isinstance(node.get("params"), dict) else {}
    try:
        from dlstudio.catalog import check_params

        return check_params(node.get("type", ""), params)[0]
    except Exception:  # noqa: BLE001 - an unknown type in an old run: compare what it recorded
        return dict(params)


def match_nodes(a: dict[str, dict], b: dict[str, dict]) -> dict[str, str]:
    """A's node id -> B's node id: the same id, else the same name and type."""
    pairs = {i: i for i in a if i in b}
    left_b = {i: n for i, n in b.items() if i not in pairs.values()}
    by_name = {(n.get("name"), n.get("type")): i for i, n in left_b.items()}
    for i, n in a.items():
        if i not in pairs and (n.get("name"), n.get("type")) in by_name:
            pairs[i] = by_name.pop((n.get("name"), n.get("type")))
    return pairs


def effective_inputs(graph: dict[str, Any], nodes: dict[str, dict], node_id: str, skip: set[str]) -> list[str]:
    """The names of ``node_id``'s inputs (by port), looking through the nodes in ``skip``."""
    edges = [e for e in graph.get("edges", []) if isinstance(e, dict)]
    into = {}
    for e in edges:
        into.setdefault(e.get("dst"), []).append(e)
    out = []
    for e in sorted(into.get(node_id, []), key=lambda e: e.get("dst_port", 0)):
        src, seen = e.get("src"), set()
        while src in skip and src not in seen:
            seen.add(src)
            ins = sorted(into.get(src, []), key=lambda e: e.get("dst_port", 0))
            src = ins[0].get("src") if ins else None
        out.append(nodes[src].get("name", src) if src in nodes else str(src))
    return out


def diff_graphs(graph_a: dict[str, Any], graph_b: dict[str, Any], a: str = "A", b: str = "B") -> RunDiff:
    """The layer differences of two graphs (``Graph.to_dict()`` form)."""
    na = {n["id"]: n for n in graph_a.get("nodes", []) if isinstance(n, dict) and "id" in n}
    nb = {n["id"]: n for n in graph_b.get("nodes", []) if isinstance(n, dict) and "id" in n}
    pairs = match_nodes(na, nb)
    diff = RunDiff(a, b)
    removed = [i for i in na if i not in pairs]
    added = [i for i in nb if i not in pairs.values()]
    diff.removed = [LayerChange(i, na[i].get("name", i), na[i].get("type", "?"), full_params(na[i])) for i in removed]
    diff.added = [LayerChange(i, nb[i].get("name", i), nb[i].get("type", "?"), full_params(nb[i])) for i in added]
    for ia, ib in pairs.items():
        x, y = na[ia], nb[ib]
        change = LayerChange(ib, y.get("name", ib), y.get("type", "?"), id_a=ia)
        if x.get("type") != y.get("type"):
            change.type_change = (x.get("type"), y.get("type"))
        else:
            px, py = full_params(x), full_params(y)
            change.params = {k: (px.get(k), py.get(k)) for k in sorted(set(px) | set(py)) if px.get(k) != py.get(k)}
        if x.get("name") != y.get("name"):
            change.renamed = (x.get("name"), y.get("name"))
        ins_a = effective_inputs(graph_a, na, ia, set(removed))
        ins_b = effective_inputs(graph_b, nb, ib, set(added))
        renames = {na[p].get("name"): nb[q].get("name") for p, q in pairs.items()}
        if [renames.get(n, n) for n in ins_a] != ins_b:
            change.inputs = (ins_a, ins_b)
        if change.params or change.renamed or change.type_change or change.inputs:
            diff.changed.append(change)
    return diff


def diff_settings(a: dict[str, Any], b: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    keys = sorted(set(a) | set(b))
    return {k: (a.get(k), b.get(k)) for k in keys if a.get(k) != b.get(k)}


def metric_order(name: str) -> tuple:
    return (not name.startswith("test_"), name.startswith("val_"), name)


def diff_runs(run_a: Any, run_b: Any) -> RunDiff:
    """What differs between two runs (:class:`dlstudio.runs.Run`)."""
    diff = diff_graphs(run_a.info.get("graph") or {}, run_b.info.get("graph") or {}, run_a.id, run_b.id)
    sa = run_a.info.get("settings") if isinstance(run_a.info.get("settings"), dict) else {}
    sb = run_b.info.get("settings") if isinstance(run_b.info.get("settings"), dict) else {}
    diff.settings = diff_settings(sa, sb)
    for key in ("dataset", "dataset_options"):
        if run_a.info.get(key) != run_b.info.get(key):
            diff.settings[key] = (run_a.info.get(key), run_b.info.get(key))
    ma, mb = run_a.metrics, run_b.metrics
    for k in sorted(set(ma) | set(mb), key=metric_order):
        x, y = ma.get(k), mb.get(k)
        x = float(x) if isinstance(x, (int, float)) else None
        y = float(y) if isinstance(y, (int, float)) else None
        if x is not None or y is not None:
            diff.metrics[k] = (x, y)
    return diff


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return "(none)" if value is None else str(value)


def diff_lines(diff: RunDiff) -> list[str]:
    """The difference as text lines (``dlstudio diff``; the canvas's side panel)."""
    lines = [f"A: {diff.a}", f"B: {diff.b}", "layers:"]
    for c in diff.added:
        lines.append(f"  + {c.name} ({c.type}) added")
    for c in diff.removed:
        lines.append(f"  - {c.name} ({c.type}) removed")
    for c in diff.changed:
        parts = [f"{k} {fmt(old)} -> {fmt(new)}" for k, (old, new) in c.params.items()]
        if c.type_change:
            parts.insert(0, f"type {c.type_change[0]} -> {c.type_change[1]}")
        if c.renamed:
            parts.insert(0, f"renamed from {c.renamed[0]}")
        if c.inputs:
            parts.append(f"inputs {', '.join(c.inputs[0]) or '(none)'} -> {', '.join(c.inputs[1]) or '(none)'}")
        lines.append(f"  ~ {c.name} ({c.type}): " + "; ".join(parts))
    if diff.same_graph:
        lines.append("  (the same layers and parameters)")
    lines.append("settings:")
    lines += [f"  {k}: {fmt(a)} -> {fmt(b)}" for k, (a, b) in diff.settings.items()] or ["  (the same)"]
    lines.append("metrics (A -> B, B - A):")
    for k, (a, b) in diff.metrics.items():
        delta = f" ({b - a:+.4g})" if a is not None and b is not None else ""
        lines.append(f"  {k}: {fmt(a)} -> {fmt(b)}{delta}")
    if not diff.metrics:
        lines.append("  (none recorded)")
    return lines
