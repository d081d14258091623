"""Continue (train(start_from=RUN)) restores the optimizer state; a graph changed
since the run is refused with the layers that differ."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.data import load_dataset
from dlstudio.graph import Graph
from dlstudio.runs import open_run
from dlstudio.training.checkpoints import OPTIMIZER_FILE
from dlstudio.training.engine import TrainingError, train
from dlstudio.training.events import Failed


def mlp(hidden=8) -> Graph:
    """x (2) -> d0 Dense(hidden, tanh) -> d1 Dense(1, sigmoid)"""
    g = Graph()
    x = g.add_node("Input", {"shape": [2]}, name="x")
    d0 = g.add_node("Dense", {"units": hidden, "activation": "tanh"}, name="d0")
    d1 = g.add_node("Dense", {"units": 1, "activation": "sigmoid"}, name="d1")
    g.connect(x.id, d0.id)
    g.connect(d0.id, d1.id)
    return g


@pytest.fixture(scope="module")
def xor_data():
    return load_dataset("xor", {"samples": 120}, seed=2)


def _full_batch(epochs, **extra):
    # one batch per epoch (the whole training set), so every step sees the same samples
    # whatever the shuffle order: an uninterrupted run and a continued one take the same steps
    return {"epochs": epochs, "batch_size": 1000, "learning_rate": 0.05, "validation_split": 0.0, **extra}


def _max_diff(a, b):
    return max(float(np.max(np.abs(x - y))) for x, y in zip(a, b))


def test_continue_restores_adams_moments(xor_data, tmp_path):
    straight = train(mlp(), xor_data, _full_batch(5))
    first = train(mlp(), xor_data, _full_batch(3), run_base=tmp_path)
    assert (first.run.path / OPTIMIZER_FILE).is_file()
    continued = train(mlp(), xor_data, _full_batch(2), run_base=tmp_path, start_from=first.run.path)
    assert continued.run.info["optimizer_state"] == "restored"
    assert int(continued.model.optimizer.iterations) == 5
    # the continued run's steps 4 and 5 are the uninterrupted run's steps 4 and 5
    assert _max_diff(continued.model.get_weights(), straight.model.get_weights()) < 1e-5
    assert continued.history["loss"] == pytest.approx(straight.history["loss"], rel=1e-5)

    # without the saved state Adam starts again (zero moments, step 1): the test can tell
    (first.run.path / OPTIMIZER_FILE).unlink()
    fresh = train(mlp(), xor_data, _full_batch(2), run_base=tmp_path, start_from=first.run.path)
    assert fresh.run.info["optimizer_state"].startswith("not restored: the run saved no optimizer state")
    assert _max_diff(fresh.model.get_weights(), straight.model.get_weights()) > 1e-3


def test_continue_with_another_optimizer_starts_it_fresh_and_takes_the_new_learning_rate(xor_data, tmp_path):
    first = train(mlp(), xor_data, _full_batch(2), run_base=tmp_path)
    sgd = train(mlp(), xor_data, _full_batch(1, optimizer="sgd"), run_base=tmp_path, start_from=first.run.path)
    assert sgd.run.info["optimizer_state"] == "not restored: the run used Adam, this training uses SGD"
    slower = train(mlp(), xor_data, _full_batch(1, learning_rate=0.001), run_base=tmp_path,
                   start_from=first.run.path)
    assert slower.run.info["optimizer_state"] == "restored"
    assert float(np.asarray(slower.model.optimizer.learning_rate)) == pytest.approx(0.001)


def test_continue_on_a_changed_graph_names_the_layers_and_makes_no_run(xor_data, tmp_path):
    first = train(mlp(hidden=8), xor_data, _full_batch(1), run_base=tmp_path / "runs")
    changed = mlp(hidden=16)
    events = []
    with pytest.raises(TrainingError) as info:
        train(changed, xor_data, _full_batch(1), run_base=tmp_path / "runs", start_from=first.run.path,
              emit=events.append)
    message = str(info.value)
    assert "graph has changed since that run" in message and "Start a new run" in message
    assert "'d0' was Dense: kernel 2x8, bias 8, is now Dense: kernel 2x16, bias 16" in message
    assert "'d1' was Dense: kernel 8x1, bias 1, is now Dense: kernel 16x1, bias 1" in message
    assert isinstance(events[-1], Failed) and events[-1].problems
    assert [p.name for p in (tmp_path / "runs").iterdir()] == [first.run.id], "no new run folder"


def test_continue_names_removed_and_added_layers(xor_data, tmp_path):
    first = train(mlp(), xor_data, _full_batch(1), run_base=tmp_path)
    g = mlp()
    extra = g.add_node("Dense", {"units": 4, "activation": "relu"}, name="extra")
    d0, d1 = g.node_by_name("d0"), g.node_by_name("d1")
    g.remove_edge(next(e.id for e in g.edges if e.src == d0.id and e.dst == d1.id))
    g.connect(d0.id, extra.id)
    g.connect(extra.id, d1.id)
    with pytest.raises(TrainingError, match=r"'extra' \(Dense\) is new"):
        train(g, xor_data, _full_batch(1), start_from=first.run.path)


def test_resume_on_a_changed_graph_is_refused_with_the_layers(xor_data, tmp_path):
    class Killed(Exception):
        pass

    def kill_in_second_epoch(event):
        if type(event).__name__ == "EpochEnd" and event.epoch == 2:
            raise Killed()

    with pytest.raises((Killed, TrainingError)):
        train(mlp(), xor_data, {"epochs": 3}, emit=kill_in_second_epoch, run_base=tmp_path, checkpoint_seconds=0)
    run = open_run(next(tmp_path.iterdir()))
    with pytest.raises(TrainingError, match=r"cannot resume run .*'d0'.*Start a new run"):
        train(mlp(hidden=5), xor_data, {"epochs": 3}, resume=run.path)
