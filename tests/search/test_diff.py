"""The difference between two runs: exactly the layers added, removed and changed (old -> new),
the settings and the metric deltas; ``dlstudio diff`` prints it."""

from __future__ import annotations

import json

from dlstudio.cli import run_cli
from dlstudio.data import load_dataset
from dlstudio.graph import Graph
from dlstudio.project import load_project
from dlstudio.runs import RunStore
from dlstudio.search.diff import diff_graphs, diff_lines, diff_runs
from dlstudio.training.engine import train
from tests.search.conftest import write_project


def mlp(units=(8, 8), dropout=False) -> Graph:
    g = Graph()
    prev = g.add_node("Input", {"shape": [2]}, name="point", id="n1").id
    for k, u in enumerate(units, start=1):
        node = g.add_node("Dense", {"units": u, "activation": "relu"}, name=f"hidden_{k}", id=f"h{k}")
        g.connect(prev, node.id)
        prev = node.id
        if dropout and k == 1:
            drop = g.add_node("Dropout", {"rate": 0.3}, name="dropout", id="d1")
            g.connect(prev, drop.id)
            prev = drop.id
    out = g.add_node("Dense", {"units": 1, "activation": "sigmoid"}, name="output", id="out")
    g.connect(prev, out.id)
    return g


def test_an_inserted_dropout_and_a_changed_units_value_are_exactly_the_difference(tmp_path, capsys):
    project = load_project(write_project(tmp_path))
    data = load_dataset("spirals", {"samples": 200}, seed=0)
    base = RunStore.of_project(project.path).folder
    a = train(mlp(), data, project.training, run_base=base).run
    b = train(mlp(units=(8, 16), dropout=True), data, project.training.model_copy(update={"learning_rate": 0.02}),
              run_base=base).run
    diff = diff_runs(a, b)
    assert [(c.name, c.type, c.params["rate"]) for c in diff.added] == [("dropout", "Dropout", 0.3)]
    assert diff.removed == []
    assert [(c.name, c.params) for c in diff.changed] == [("hidden_2", {"units": (8, 16)})]
    assert diff.settings == {"learning_rate": (0.01, 0.02)}
    assert diff.node_states() == {"d1": "added", "h2": "changed"}
    x, y = diff.metrics["test_accuracy"]
    assert x == a.metrics["test_accuracy"] and y == b.metrics["test_accuracy"]

    code = run_cli(["diff", str(project.path), a.id, b.id[:15] if b.id[:15] != a.id[:15] else b.id, "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    doc = json.loads(out.strip().splitlines()[-1])
    assert [c["name"] for c in doc["layers"]["added"]] == ["dropout"] and doc["layers"]["removed"] == []
    assert doc["layers"]["changed"] == [{"id": "h2", "name": "hidden_2", "type": "Dense", "params": {"units": [8, 16]}}]
    assert doc["settings"] == {"learning_rate": [0.01, 0.02]}
    assert doc["metrics"]["test_loss"]["delta"] == b.metrics["test_loss"] - a.metrics["test_loss"]

    code = run_cli(["diff", str(project.path), a.id, b.id])
    text = capsys.readouterr().out
    assert code == 0
    assert "  + dropout (Dropout) added" in text and "  ~ hidden_2 (Dense): units 8 -> 16" in text
    assert "  learning_rate: 0.01 -> 0.02" in text and "test_accuracy:" in text
    assert "hidden_1" not in text and "output" not in text  # unchanged layers are not named


def test_removed_renamed_retyped_and_rewired_layers():
    a = mlp(units=(8, 8, 8)).to_dict()
    g = mlp(units=(8, 8, 8))
    g.rename("h1", "first")  # renamed: matched by id
    g.remove_node("h2")  # removed: h3 now takes h1's output (through the removed layer: not "rewired")
    g.connect("h1", "h3")
    node = g.node("h3")
    g.remove_node("h3")
    g.add_node("Dropout", {}, name=node.name, id="h3")  # the same id, another type
    g.connect("h1", "h3")
    g.connect("h3", "out")
    diff = diff_graphs(a, g.to_dict())
    assert [c.name for c in diff.removed] == ["hidden_2"]
    changed = {c.id: c for c in diff.changed}
    assert changed["h1"].renamed == ("hidden_1", "first") and changed["h1"].params == {}
    assert changed["h3"].type_change == ("Dense", "Dropout") and changed["h3"].inputs is None
    assert set(changed) == {"h1", "h3"}
    rewired = mlp(units=(8, 8)).to_dict()
    rewired["edges"] = [e for e in rewired["edges"] if e["dst"] != "out"] + [
        {"id": "x", "src": "h1", "src_port": 0, "dst": "out", "dst_port": 0}]
    change = next(c for c in diff_graphs(mlp(units=(8, 8)).to_dict(), rewired).changed if c.id == "out")
    assert change.inputs == (["hidden_2"], ["hidden_1"])
    assert any("inputs hidden_2 -> hidden_1" in line for line in diff_lines(diff_graphs(mlp((8, 8)).to_dict(), rewired)))
