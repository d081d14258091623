"""Upgrading old project formats."""

from __future__ import annotations

import copy
import json

import pytest
from project_samples import cnn_dict

from dlstudio.project import (
    FORMAT_VERSION, MIGRATIONS, MigrationError, ProjectError, load_project, migrate,
    project_from_dict, project_to_dict, save_project,
)
from dlstudio.project.migrate import source_version

V0 = {
    "format_version": 0,
    "name": "Old MLP",
    "notes": "written by a pre-release",
    "layers": [
        {"id": "in", "type": "Input", "name": "x", "config": {"shape": [4]}, "x": 10, "y": 20},
        {"id": "h", "type": "Dense", "name": "hidden", "config": {"units": 8, "activation": "relu"},
         "x": 200, "y": 20},
        {"id": "e1", "type": "Dense", "name": "out", "config": {"units": 3}},
    ],
    "connections": [["in", "h"], ["h", "e1", 0]],
    "dataset": "iris",
    "training": {"epochs": 7, "lr": 0.01},
}


def test_every_old_version_has_a_migration():
    assert 0 in MIGRATIONS
    assert set(range(min(MIGRATIONS), FORMAT_VERSION)) <= set(MIGRATIONS)


def test_v0_to_v1():
    original = copy.deepcopy(V0)
    doc = migrate(V0)
    assert V0 == original  # the input is not changed
    assert doc["format_version"] == FORMAT_VERSION
    assert "layers" not in doc and "connections" not in doc
    nodes = doc["graph"]["nodes"]
    assert nodes[0] == {"id": "in", "type": "Input", "name": "x", "params": {"shape": [4]},
                        "pos": [10, 20]}
    assert nodes[2]["pos"] == [0.0, 0.0]
    edges = doc["graph"]["edges"]
    assert [(e["src"], e["dst"], e["dst_port"]) for e in edges] == [("in", "h", 0), ("h", "e1", 0)]
    ids = [e["id"] for e in edges]
    assert len(set(ids)) == 2 and "e1" not in ids  # no clash with the node called e1
    assert doc["dataset"] == {"name": "iris", "options": {}}
    assert doc["training"] == {"epochs": 7, "learning_rate": 0.01}


def test_v0_project_loads_and_saves_as_current(tmp_path):
    path = tmp_path / "old.dlsproj"
    path.write_text(json.dumps(V0), encoding="utf-8")
    before = path.read_bytes()
    project = load_project(path)
    assert path.read_bytes() == before  # loading an old file does not rewrite it
    assert project.name == "Old MLP" and project.dataset.name == "iris"
    assert project.training.learning_rate == 0.01 and project.training.epochs == 7
    assert [n.name for n in project.graph.nodes] == ["x", "hidden", "out"]
    assert project.graph.predecessors("e1") == ["h"]
    save_project(project, tmp_path / "new.dlsproj")
    saved = json.loads((tmp_path / "new.dlsproj").read_text(encoding="utf-8"))
    assert saved["format_version"] == FORMAT_VERSION
    assert project_to_dict(load_project(tmp_path / "new.dlsproj")) == project_to_dict(project)


def test_v0_problems_are_reported():
    doc = copy.deepcopy(V0)
    doc["connections"].append(["h", "nowhere"])
    doc["connections"].append("garbage")
    doc["layers"][1]["config"]["units"] = "many"
    with pytest.raises(ProjectError) as info:
        project_from_dict(doc)
    text = "\n".join(info.value.problems)
    assert "no node with id 'nowhere'" in text
    assert "graph.edges[3]" in text  # the garbage connection
    assert "params.units: expected a whole number" in text


@pytest.mark.parametrize("mangle", [
    lambda d: d.update(layers="nope"),
    lambda d: d.update(connections={"a": 1}),
    lambda d: d["layers"].append(5),
    lambda d: d.update(training=[1]),
    lambda d: d.pop("layers"),
])
def test_broken_v0_gives_project_error(mangle):
    doc = copy.deepcopy(V0)
    mangle(doc)
    try:
        project_from_dict(doc)
    except ProjectError as e:
        assert e.problems


def test_current_version_is_unchanged():
    doc = cnn_dict()
    assert migrate(doc) == doc and migrate(doc) is not doc


def test_source_version():
    assert source_version({"format_version": 1}) == 1
    for bad in ({}, {"format_version": "1"}, {"format_version": 2.0}, {"format_version": -5}):
        with pytest.raises(MigrationError):
            source_version(bad)
    with pytest.raises(MigrationError, match=r"newer DL Studio \(format 99\)"):
        source_version({"format_version": 99})


def test_a_raising_migration_is_reported(monkeypatch):
    def broken(doc):
        raise KeyError("layers")

    monkeypatch.setitem(MIGRATIONS, 0, broken)
    with pytest.raises(ProjectError, match="could not upgrade the project from format 0"):
        project_from_dict(copy.deepcopy(V0))
