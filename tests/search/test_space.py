"""The search section of a project, the graphs a trial's values make, and the problems of a space
found before a search starts (no training here)."""

from __future__ import annotations

import json

import pytest

from dlstudio import RESOURCES
from dlstudio.project import ProjectError, load_project, project_from_json, project_to_json
from dlstudio.project.search_schema import SearchParam, SearchSettings
from dlstudio.search.check import space_problems
from dlstudio.search.space import SampleError, search_space
from tests.search.conftest import tiny_document, write_project


def test_a_project_without_search_loads_and_saves_without_it():
    text = (RESOURCES / "examples" / "xor_mlp.dlsproj").read_text()
    project = project_from_json(text)
    assert project.search is None
    assert "search" not in json.loads(project_to_json(project))


def test_the_search_section_round_trips_and_assigning_it_is_evented(tiny_project):
    project = load_project(tiny_project)
    assert project.search.trials == 3 and project.search.repeat[0].max == 2
    again = project_from_json(project_to_json(project))
    assert again.search == project.search
    seen = []
    project.settings_changed.connect(seen.append)
    project.search = project.search.model_copy(update={"trials": 7})
    assert seen == ["search"]


@pytest.mark.parametrize("change, message", [
    ({"params": [{"node": "n2", "param": "units", "kind": "int", "low": 9, "high": 3}]}, "'low' (9) is above 'high' (3)"),
    ({"params": [{"param": "learning_rate", "kind": "float", "low": 0, "high": 1, "log": True}]}, "log range needs 'low' above 0"),
    ({"params": [{"param": "optimizer", "kind": "choice", "choices": []}]}, "non-empty 'choices'"),
    ({"sampler": "bayes"}, "search.sampler"),
])
def test_a_bad_search_section_is_refused_where_it_is(tmp_path, change, message):
    path = tmp_path / "bad.dlsproj"
    path.write_text(json.dumps(tiny_document(**change)))
    with pytest.raises(ProjectError) as err:
        load_project(path)
    assert message in str(err.value) and "search" in str(err.value)


def test_values_build_the_trial_graph_and_settings(tiny_project):
    space = search_space(load_project(tiny_project))
    assert space.names() == ["hidden.units", "learning_rate", "dropout", "depth"]
    sample = space.build({"hidden.units": 8, "learning_rate": 0.02, "dropout": False, "depth": 2})
    g = sample.graph
    names = [g.node(i).name for i in g.topological_order()]
    assert names == ["point", "hidden", "hidden_r2", "fold", "flat", "output"]  # dropout bypassed, block repeated
    assert g.node("n2_r2").params["units"] == 8 and g.node("n2").params["units"] == 8
    assert sample.settings.learning_rate == 0.02 and sample.settings.epochs == 1
    same = space.build({})  # nothing sampled: the project's own graph
    assert [n.name for n in same.graph.nodes] == ["point", "hidden", "drop", "fold", "flat", "output"]


def test_values_of_one_name_share_one_value(tmp_path):
    path = write_project(tmp_path, params=[
        {"name": "width", "node": "n2", "param": "units", "kind": "choice", "choices": [4, 8]},
        {"name": "width", "node": "n6", "param": "units", "kind": "choice", "choices": [4, 8]}])
    space = search_space(load_project(path))
    assert space.names() == ["width", "dropout", "depth"]
    g = space.build({"width": 8}).graph
    assert g.node("n2").params["units"] == 8 and g.node("n6").params["units"] == 8


def test_problems_are_reported_before_the_search_starts(tmp_path):
    path = write_project(tmp_path, params=[
        {"node": "n9", "param": "units", "kind": "int", "low": 1, "high": 4},
        {"node": "n2", "param": "colour", "kind": "choice", "choices": ["red"]},
        {"node": "n3", "param": "rate", "kind": "float", "low": 0.1, "high": 1.5},
        {"param": "epochs", "kind": "int", "low": 0, "high": 3}],
        optional=[{"name": "bad chain", "nodes": ["n2", "n4"]}],
        objective={"metric": "val_f1", "direction": "maximize"})
    problems = space_problems(load_project(path))
    text = "\n".join(problems)
    assert "n9.units: the graph has no node 'n9'" in text
    assert "Dense 'hidden' has no parameter 'colour'" in text
    assert "drop.rate: drop cannot take 1.5" in text
    assert "epochs: the value 0 is not a valid epochs" in text
    assert "bad chain: [hidden, fold] is not a chain" in text
    assert "objective: the runs will not record 'val_f1'" in text


def test_an_extreme_that_breaks_the_graph_is_reported(tmp_path):
    # a Reshape to (4, -1) after 6 units cannot be built: found on the extremes, before any trial
    path = write_project(tmp_path, params=[{"node": "n2", "param": "units", "kind": "choice", "choices": [4, 6]}])
    project = load_project(path)
    project.graph.set_param("n4", "target_shape", [4, -1])
    problems = space_problems(project)
    assert len(problems) == 1 and problems[0].startswith("with hidden.units = 6: the graph is invalid: Reshape 'fold'")


def test_grid_needs_steps_and_chains_must_be_chains(tmp_path):
    project = load_project(write_project(tmp_path, sampler="grid"))
    assert any("grid sampler needs a step or a choice list for learning_rate" in p for p in space_problems(project))
    project.search = project.search.model_copy(update={"params": [
        SearchParam(param="learning_rate", kind="float", low=0.01, high=0.03, step=0.01)]})
    assert space_problems(project) == []
    assert search_space(project).grid()["learning_rate"] == [0.01, 0.02, 0.03]
    project.graph.connect("n1", "n3", 1)  # the dropout now has a second input
    with pytest.raises(SampleError, match="needs exactly one input|not a chain"):
        search_space(project).build({"dropout": False})


def test_no_space_is_a_problem():
    project = project_from_json((RESOURCES / "examples" / "xor_mlp.dlsproj").read_text())
    assert "defines no search space" in space_problems(project)[0]
    project.search = SearchSettings()
    assert "defines no search space" in space_problems(project)[0]


def test_the_spirals_example_ships_a_search_space():
    project = load_project(RESOURCES / "examples" / "spiral_mlp.dlsproj")
    space = search_space(project)
    assert space.names() == ["units", "learning_rate", "depth"]
    assert space_problems(project) == []
    deep = space.build({"units": 16, "depth": 2, "learning_rate": 0.01}).graph
    assert sum(n.type == "Dense" for n in deep.nodes) == 5 and {n.params["units"] for n in deep.nodes
                                                               if n.name.startswith("hidden")} == {16}
