"""Saving and loading .dlsproj files: round trips, file layout, atomic saves."""

from __future__ import annotations

import copy
import json
import os

import pytest
from project_samples import EXAMPLES, cnn_dict, cnn_project

from dlstudio.project import (
    Project, ProjectError, TrainingSettings, load_project, new_project, project_from_dict,
    project_to_dict, save_project,
)
from dlstudio import atomic


# ---------------------------------------------------------------- round trip
def test_round_trip(tmp_path):
    project = cnn_project()
    path = save_project(project, tmp_path / "digits.dlsproj")
    assert project.path == path
    loaded = load_project(path)
    assert isinstance(loaded, Project) and loaded.path == path
    assert project_to_dict(loaded) == project_to_dict(project)
    assert loaded.graph.to_dict() == project.graph.to_dict()
    assert loaded.training.epochs == 5 and loaded.training.early_stopping_patience == 3
    # saving again gives exactly the same text
    first = path.read_text(encoding="utf-8")
    save_project(loaded)
    assert path.read_text(encoding="utf-8") == first


def test_file_layout(tmp_path):
    path = save_project(cnn_project(), tmp_path / "p.dlsproj")
    text = path.read_text(encoding="utf-8")
    assert text.endswith("}\n")
    assert text.startswith('{\n  "format_version": 1,\n  "name": "Digits CNN",')
    assert '"shape": [8, 8, 1]' in text and "ünïcode" in text
    data = json.loads(text)
    assert list(data) == ["format_version", "name", "notes", "graph", "dataset", "training"]
    assert list(data["training"]) == list(TrainingSettings.model_fields)
    assert data["graph"]["nodes"][1]["params"] == {"activation": "relu", "filters": 8, "kernel_size": 3}


def test_spec_example_loads():
    doc = {
        "format_version": 1, "name": "Digits CNN", "notes": "free text",
        "graph": {"nodes": [{"id": "n1", "type": "Input", "name": "image",
                             "params": {"shape": [8, 8, 1]}, "pos": [0, 0]},
                            {"id": "n2", "type": "Dense", "name": "fc", "params": {}, "pos": [1, 2]}],
                  "edges": [{"id": "e1", "src": "n1", "src_port": 0, "dst": "n2", "dst_port": 0}]},
        "dataset": {"name": "digits", "options": {}},
        "training": {"epochs": 20, "batch_size": 32, "optimizer": "adam", "learning_rate": 0.001,
                     "loss": "auto", "metrics": ["accuracy"], "validation_split": 0.1, "seed": 0,
                     "early_stopping_patience": None},
    }
    original = copy.deepcopy(doc)
    project = project_from_dict(doc)
    assert doc == original  # not modified
    assert project.training.momentum == 0.0
    assert project.graph.node("n2").params == {}  # partial params stay partial
    assert project.graph.node("n2").pos == (1.0, 2.0)


def test_optional_sections_default():
    p = project_from_dict({"format_version": 1, "name": "x", "graph": {}})
    assert p.notes == "" and len(p.graph) == 0
    assert p.dataset.name == "digits" and p.training == TrainingSettings()


def test_new_project():
    p = new_project("Mine")
    assert p.name == "Mine" and p.path is None and len(p.graph) == 0
    assert project_from_dict(project_to_dict(p)).name == "Mine"


def test_non_fatal_param_errors_load(sample):
    sample["graph"]["nodes"][4]["params"]["units"] = -3
    project = project_from_dict(sample)
    assert project.graph.node_by_name("fc1").params["units"] == -3


def test_bom_is_accepted(tmp_path):
    path = tmp_path / "bom.dlsproj"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(cnn_dict()).encode())
    assert load_project(path).name == "Digits CNN"


# ------------------------------------------------------------------- saving
def test_save_needs_a_path():
    with pytest.raises(ValueError):
        save_project(new_project("x"))


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_failed_serialisation_keeps_old_file(tmp_path):
    project = cnn_project()
    path = save_project(project, tmp_path / "p.dlsproj")
    before = path.read_bytes()
    project.graph.set_param("n1", "shape", object())
    with pytest.raises(ProjectError, match="Cannot save"):
        save_project(project)
    assert path.read_bytes() == before and _listing(tmp_path) == ["p.dlsproj"]


@pytest.mark.parametrize("broken", ["fsync", "replace", "write"])
def test_failure_mid_write_keeps_old_file(tmp_path, monkeypatch, broken):
    project = cnn_project()
    path = save_project(project, tmp_path / "p.dlsproj")
    before = path.read_bytes()
    project.name = "Changed"

    def boom(*args, **kwargs):
        raise OSError("disk on fire")

    if broken == "write":
        real_fdopen = os.fdopen

        class HalfWriter:
            def __init__(self, fh):
                self.fh = fh

            def __enter__(self):
                return self

            def __exit__(self, *exc):
                self.fh.close()

            def write(self, text):
                self.fh.write(text[: len(text) // 2])
                self.fh.flush()
                raise OSError("disk full")

        monkeypatch.setattr(atomic.os, "fdopen", lambda *a, **k: HalfWriter(real_fdopen(*a, **k)))
    else:
        monkeypatch.setattr(atomic.os, broken, boom)
    with pytest.raises(OSError):
        save_project(project)
    monkeypatch.undo()
    assert path.read_bytes() == before and _listing(tmp_path) == ["p.dlsproj"]
    assert load_project(path).name == "Digits CNN"


@pytest.mark.parametrize("pos", [(float("nan"), 0.0), (0.0, float("inf")), (1e30, 0.0)])
def test_save_refuses_what_could_not_be_opened(tmp_path, pos):
    project = cnn_project()
    project.graph.move("n1", *pos)
    with pytest.raises(ProjectError) as info:
        save_project(project, tmp_path / "p.dlsproj")
    assert info.value.problems and _listing(tmp_path) == []


def test_numpy_values_are_saved_as_plain_json(tmp_path):
    np = pytest.importorskip("numpy")
    project = cnn_project()
    project.graph.set_param("n5", "units", np.int64(7))
    project.graph.set_param("n1", "shape", np.array([8, 8, 1]))
    path = save_project(project, tmp_path / "p.dlsproj")
    loaded = load_project(path)
    assert loaded.graph.node("n5").params["units"] == 7
    assert loaded.graph.node("n1").params["shape"] == [8, 8, 1]


def test_settings_are_checked_on_assignment():
    settings = TrainingSettings()
    settings.epochs = "5"  # code (a command line) may pass text; files may not
    assert settings.epochs == 5
    with pytest.raises(ValueError):
        settings.learning_rate = -1
    with pytest.raises(ValueError):
        settings.optimizer = "lbfgs"


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_examples_load(path):
    project = load_project(path)
    assert project.name and len(project.graph) > 0
