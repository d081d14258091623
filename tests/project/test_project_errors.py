"""Every kind of bad project file gives a ProjectError naming each problem and where."""

from __future__ import annotations

import copy
import json
import re

import pytest
from project_samples import cnn_dict

from dlstudio.project import (
    FORMAT_VERSION, ProjectError, load_project, project_from_dict, project_from_json,
)
from dlstudio.project import io


def write(tmp_path, data, name="digits.dlsproj"):
    path = tmp_path / name
    text = data if isinstance(data, str) else json.dumps(data, indent=2)
    path.write_text(text, encoding="utf-8")
    return path


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def problems_of(data, tmp_path=None) -> list[str]:
    with pytest.raises(ProjectError) as info:
        if tmp_path is None:
            project_from_dict(data)
        else:
            load_project(write(tmp_path, data))
    return info.value.problems


# -------------------------------------------------------------- versions
def test_newer_version_is_refused(sample):
    sample["format_version"] = 3
    (problem,) = problems_of(sample)
    assert "newer DL Studio (format 3)" in problem
    assert f"reads up to format {FORMAT_VERSION}" in problem and "update DL Studio" in problem


@pytest.mark.parametrize("version", ["1", 1.0, True, None, -1, [1]])
def test_bad_version(sample, version):
    sample["format_version"] = version
    (problem,) = problems_of(sample)
    assert "format_version" in problem


def test_missing_version(sample):
    del sample["format_version"]
    (problem,) = problems_of(sample)
    assert problem.startswith("format_version: missing")


# ------------------------------------------------------------ bad input
def test_message_format(tmp_path, sample):
    sample["graph"]["nodes"][3]["params"] = {"units": 1}
    sample["graph"]["nodes"][4]["params"]["units"] = "abc"
    with pytest.raises(ProjectError) as info:
        load_project(write(tmp_path, sample))
    err = info.value
    assert err.path == tmp_path / "digits.dlsproj"
    assert str(err).startswith("Cannot open digits.dlsproj:\n  - ")
    assert "graph.nodes[4] (id 'n5', 'fc1').params.units: expected a whole number, got 'abc'" in err.problems
    assert any(p.startswith("graph.nodes[3] (id 'n4', 'flatten').params.units:") for p in err.problems)
    assert len(err.problems) == 2 and str(err).count("\n  - ") == 2


def test_malformed_json_names_line_and_column(tmp_path):
    text = json.dumps(cnn_dict(), indent=2).splitlines()
    text[1] = text[1].rstrip(",")  # drop the comma ending line 2
    problems = problems_of("\n".join(text), tmp_path)
    assert len(problems) == 1 and "line 3, column 3" in problems[0] and "column" in problems[0]


@pytest.mark.parametrize("text", ["", "   \n", "{", '{"a": 1,}', "nul", "{'a': 1}"])
def test_not_json(tmp_path, text):
    assert problems_of(text, tmp_path)


@pytest.mark.parametrize("top", [[], "text", None, 3, True])
def test_top_level_must_be_an_object(tmp_path, top):
    (problem,) = problems_of(json.dumps(top), tmp_path)
    assert "not a project" in problem


def test_wrong_types_are_all_listed(sample):
    sample["name"] = 5
    sample["training"]["epochs"] = "20"
    sample["training"]["learning_rate"] = True
    sample["training"]["optimizer"] = "adamax"
    sample["graph"]["nodes"][0]["pos"] = "here"
    sample["graph"]["edges"][1]["dst_port"] = -1
    sample["graph"]["edges"][2]["src_port"] = 65
    sample["dataset"]["options"] = []
    sample["surprise"] = 1
    problems = problems_of(sample)
    wheres = [p.split(":")[0] for p in problems]
    assert wheres == [
        "name", "graph.nodes[0] (id 'n1', 'image').pos", "graph.edges[1] (id 'e7').dst_port",
        "graph.edges[2] (id 'e8').src_port", "dataset.options", "training.epochs",
        "training.optimizer", "training.learning_rate", "surprise",
    ]
    assert "got '20'" in problems[5]


def test_graph_not_an_object(sample):
    sample["graph"] = [1, 2]
    assert problems_of(sample)[0].startswith("graph: should be a valid dictionary")


def test_unknown_node_type(sample):
    sample["graph"]["nodes"][2]["type"] = "Conv7D"
    (problem,) = problems_of(sample)
    assert problem == "graph.nodes[2] (id 'n3', 'pool1').type: unknown layer type 'Conv7D'"


def test_dangling_edges(sample):
    sample["graph"]["edges"][0]["src"] = "ghost"
    sample["graph"]["edges"][3]["dst"] = "n99"
    problems = problems_of(sample)
    assert problems == [
        "graph.edges[0] (id 'e6').src: no node with id 'ghost'",
        "graph.edges[3] (id 'e9').dst: no node with id 'n99'",
    ]


def test_duplicate_ids(sample):
    nodes, edges = sample["graph"]["nodes"], sample["graph"]["edges"]
    nodes.append(copy.deepcopy(nodes[1]))
    edges[1]["id"] = edges[0]["id"]
    edges[2]["id"] = "n1"
    problems = problems_of(sample)
    assert len(problems) == 3
    assert "graph.nodes[5] (id 'n2', 'conv1').id: duplicate id 'n2' (already used by graph.nodes[1])" in problems
    assert any(p.startswith("graph.edges[1] (id 'e6').id: duplicate") for p in problems)
    assert any(p.startswith("graph.edges[2] (id 'n1').id: duplicate") for p in problems)


@pytest.mark.parametrize("where, value", [
    (("graph", "nodes", 4, "params", "units"), 1e12),
    (("graph", "nodes", 4, "params", "units"), float("nan")),
    (("graph", "nodes", 1, "params", "kernel_size"), "big"),
    (("graph", "nodes", 1, "params", "bogus"), 1),
    (("graph", "nodes", 0, "pos", 0), float("nan")),
    (("graph", "nodes", 0, "pos", 1), 1e30),
    (("graph", "nodes", 0, "pos", 1), float("-inf")),
    (("training", "epochs"), 10**9),
    (("training", "batch_size"), 0),
    (("training", "learning_rate"), 0.0),
    (("training", "validation_split"), 0.95),
    (("training", "momentum"), 2),
    (("training", "seed"), -1),
    (("training", "early_stopping_patience"), 0),
    (("dataset", "options", "scale"), float("inf")),
    (("name",), ""),
    (("notes",), "x" * 1_000_001),
    (("graph", "nodes", 0, "id"), ""),
    (("graph", "nodes", 0, "id"), "n" * 101),
])
def test_absurd_values(sample, where, value):
    target = sample
    for key in where[:-1]:
        target = target[key]
    target[where[-1]] = value
    sample["graph"]["edges"] = []  # a changed node id would leave them dangling
    (problem,) = problems_of(sample)
    assert re.sub(r" \(id [^)]*\)", "", problem.split(":")[0]) == _dotted(where)


def _dotted(loc):
    out = ""
    for key in loc:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def test_absurd_values_in_text(tmp_path):
    doc = cnn_dict()
    text = json.dumps(doc).replace('"units": 10', '"units": 1' + "0" * 5000)
    (problem,) = problems_of(text, tmp_path)
    assert "not valid JSON" in problem
    text = json.dumps(doc).replace('"pos": [0.0, 0.0]', '"pos": [NaN, 1e999]')
    assert len(problems_of(text, tmp_path)) == 2


def test_too_many_nodes(sample):
    node = sample["graph"]["nodes"][3]
    sample["graph"]["nodes"] = [dict(node, id=f"x{i}") for i in range(10_001)]
    sample["graph"]["edges"] = []
    problems = problems_of(sample)
    assert problems[0].startswith("graph.nodes: list should have at most 10000 items, not 10001")


# ------------------------------------------------------- files and limits
def test_missing_file(tmp_path):
    with pytest.raises(ProjectError, match="does not exist"):
        load_project(tmp_path / "nope.dlsproj")
    assert _listing(tmp_path) == []


def test_folder(tmp_path):
    with pytest.raises(ProjectError, match="folder"):
        load_project(tmp_path)


def test_not_utf8(tmp_path):
    path = tmp_path / "latin.dlsproj"
    path.write_bytes(json.dumps({"format_version": 1, "name": "x"}).encode()[:-1] + b',\n"n": "\xe9"}')
    with pytest.raises(ProjectError) as info:
        load_project(path)
    assert "line 2" in info.value.problems[0] and "UTF-8" in info.value.problems[0]


def test_huge_file_is_refused(tmp_path):
    path = tmp_path / "huge.dlsproj"
    with open(path, "wb") as fh:
        fh.truncate(51 * 1024 * 1024)  # sparse: costs no disk
    with pytest.raises(ProjectError, match="over 50 MB"):
        load_project(path)


def test_size_limit_also_applies_while_reading(tmp_path, monkeypatch):
    monkeypatch.setattr(io, "MAX_FILE_BYTES", 100)
    with pytest.raises(ProjectError, match="refused"):
        load_project(write(tmp_path, cnn_dict()))


@pytest.mark.parametrize("depth", [100, 100_000])
def test_deep_nesting(tmp_path, depth):
    text = json.dumps(cnn_dict())
    deep = "[" * depth + "]" * depth
    text = text.replace('"options": {}', f'"options": {{"a": {deep}}}').replace(
        '"options": {"test_split": 0.2}', f'"options": {{"a": {deep}}}')
    (problem,) = problems_of(text, tmp_path)
    assert "nested too deeply" in problem


def test_deep_nesting_in_dict():
    inner: object = 1
    for _ in range(500):
        inner = {"a": inner}
    doc = cnn_dict()
    doc["graph"]["nodes"][0]["params"] = inner
    (problem,) = problems_of(doc)
    assert "nested too deeply" in problem


def test_loading_writes_nothing(tmp_path, sample):
    sample["graph"]["nodes"][0]["type"] = "Nope"
    bad = write(tmp_path, sample, "bad.dlsproj")
    good = write(tmp_path, cnn_dict(), "good.dlsproj")
    stamps = {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (bad, good)}
    with pytest.raises(ProjectError):
        load_project(bad)
    load_project(good)
    assert {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in (bad, good)} == stamps
    assert _listing(tmp_path) == ["bad.dlsproj", "good.dlsproj"]


def test_many_problems_are_capped_in_the_message(sample):
    node = sample["graph"]["nodes"][4]
    sample["graph"]["nodes"] = [dict(node, id=f"x{i}", type="Nope") for i in range(150)]
    sample["graph"]["edges"] = []
    with pytest.raises(ProjectError) as info:
        project_from_dict(sample)
    assert len(info.value.problems) == 150
    assert str(info.value).endswith("... and 50 more problems")


def test_project_from_json_source_name():
    with pytest.raises(ProjectError, match="^Cannot open clipboard:"):
        project_from_json("[]", source="clipboard")


def test_project_error_pickles():
    import pickle

    err = ProjectError(["a: b", "c: d"], "x/digits.dlsproj")
    again = pickle.loads(pickle.dumps(err))
    assert again.problems == err.problems and again.path == err.path and str(again) == str(err)
