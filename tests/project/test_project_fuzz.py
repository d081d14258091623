"""Randomly corrupted project files either load or raise ProjectError, never
anything else, and loading never changes the file."""

from __future__ import annotations

import copy
import json
import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from project_samples import EXAMPLES, cnn_dict

from dlstudio.project import ProjectError, load_project, project_to_dict, save_project
from dlstudio.project.migrate import migrate


def _samples() -> list[dict]:
    docs = [cnn_dict()]
    for path in EXAMPLES:
        docs.append(migrate(json.loads(path.read_text(encoding="utf-8"))))
    return docs


SAMPLES = _samples()

json_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
huge_numbers = st.sampled_from([
    1e12, -1e12, 1e308, -1e308, 10**30, 2**63, 2**64 + 1, -(2**63) - 1, float("nan"),
    float("inf"), float("-inf"), 1e-320, 0, -1, 65, 10_001, 100_001,
])


def _paths(value, prefix=()):
    """Every (container, key) path inside ``value``."""
    out = []
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return out
    for key, child in items:
        out.append(prefix + (key,))
        out.extend(_paths(child, prefix + (key,)))
    return out


def _parent(doc, path):
    for key in path[:-1]:
        doc = doc[key]
    return doc


def _corrupt_doc(draw, doc):
    kind = draw(st.sampled_from(["delete", "replace", "huge", "duplicate_node", "duplicate_edge"]))
    paths = _paths(doc)
    if kind == "delete":
        path = draw(st.sampled_from(paths))
        del _parent(doc, path)[path[-1]]
    elif kind == "replace":
        path = draw(st.sampled_from(paths))
        _parent(doc, path)[path[-1]] = draw(json_values)
    elif kind == "huge":
        numeric = [p for p in paths if isinstance(_parent(doc, p)[p[-1]], (int, float))]
        path = draw(st.sampled_from(numeric or paths))
        _parent(doc, path)[path[-1]] = draw(huge_numbers)
    else:
        graph = doc.get("graph")
        items = graph.get("nodes" if kind == "duplicate_node" else "edges") if isinstance(graph, dict) else None
        if isinstance(items, list) and items:
            items.append(copy.deepcopy(draw(st.sampled_from(items))))


def _corrupt_text(draw, text):
    kind = draw(st.sampled_from(["none", "none", "truncate", "insert", "delete_span"]))
    if kind == "truncate":
        return text[: draw(st.integers(0, len(text)))]
    if kind == "insert":
        at = draw(st.integers(0, len(text)))
        junk = draw(st.text(min_size=1, max_size=5) | st.sampled_from(["{", "]", '"', ",", "\\", "\x00"]))
        return text[:at] + junk + text[at:]
    if kind == "delete_span":
        at = draw(st.integers(0, len(text)))
        return text[:at] + text[at + draw(st.integers(1, 10)):]
    return text


@settings(max_examples=200, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_corrupted_projects_load_or_raise_project_error(tmp_path, data):
    doc = copy.deepcopy(data.draw(st.sampled_from(SAMPLES)))
    for _ in range(data.draw(st.integers(1, 3))):
        _corrupt_doc(data.draw, doc)
    text = _corrupt_text(data.draw, json.dumps(doc, indent=2, ensure_ascii=data.draw(st.booleans())))
    folder = tmp_path / "fuzz"
    folder.mkdir(exist_ok=True)
    for leftover in folder.iterdir():
        leftover.unlink()
    path = folder / "corrupt.dlsproj"
    raw = text.encode("utf-8", errors="surrogatepass")
    path.write_bytes(raw)
    stamp = path.stat().st_mtime_ns
    try:
        project = load_project(path)
    except ProjectError as e:
        assert e.problems and all(isinstance(p, str) and p for p in e.problems)
        assert str(e).startswith("Cannot open corrupt.dlsproj:\n  - ")
        project = None
    assert path.read_bytes() == raw and path.stat().st_mtime_ns == stamp
    assert [p.name for p in folder.iterdir()] == ["corrupt.dlsproj"]
    if project is not None:  # whatever loads can be saved and loads back the same
        again = save_project(project, folder / "again.dlsproj")
        assert project_to_dict(load_project(again)) == project_to_dict(project)
        assert all(math.isfinite(c) for n in project.graph.nodes for c in n.pos)


@settings(max_examples=100, deadline=None)
@given(doc=json_values | st.dictionaries(st.sampled_from(
    ["format_version", "name", "notes", "graph", "dataset", "training", "layers", "x"]),
    json_values | st.integers(-2, 3), max_size=7))
def test_arbitrary_documents(doc):
    from dlstudio.project import project_from_dict

    try:
        project_from_dict(doc)
    except ProjectError as e:
        assert e.problems


@settings(max_examples=100, deadline=None)
@given(text=st.text(max_size=200))
def test_arbitrary_text(text):
    from dlstudio.project import project_from_json

    try:
        project_from_json(text)
    except ProjectError as e:
        assert e.problems
