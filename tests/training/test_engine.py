"""The training engine, tested without threads: events, stop flag, faults, runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlstudio.data import Dataset, load_dataset
from dlstudio.graph import Graph
from dlstudio.project.runs import list_runs, open_run
from dlstudio.training.engine import TrainingError, train
from dlstudio.training.events import BatchEnd, EpochEnd, Failed, Finished, Started


def mlp(input_shape=(2,), hidden=8, out_units=1, out_act="sigmoid") -> Graph:
    g = Graph()
    prev = g.add_node("Input", {"shape": list(input_shape)}, name="x")
    for i, (units, act) in enumerate([(hidden, "tanh"), (out_units, out_act)]):
        node = g.add_node("Dense", {"units": units, "activation": act}, name=f"d{i}")
        g.connect(prev.id, node.id)
        prev = node
    return g


@pytest.fixture(scope="module")
def xor_data() -> Dataset:
    return load_dataset("xor", {"samples": 200}, seed=1)


def test_events_in_order_and_true_batch_losses(xor_data):
    events = []
    settings = {"epochs": 3, "batch_size": 32, "learning_rate": 0.01}
    result = train(mlp(), xor_data, settings, emit=events.append)
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Finished
    assert kinds.count(EpochEnd) == 3
    n = len(xor_data.x_train)
    steps = -(-n // 32)
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert len(batches) == 3 * steps
    assert [b.step for b in batches] == list(range(3 * steps))
    # The per-batch losses, weighted by batch size, average back to the epoch's loss
    # that Keras reports: they are the batch values, not Keras' running means.
    sizes = [min(32, n - i * 32) for i in range(steps)]
    epoch_logs = [e.logs for e in events if isinstance(e, EpochEnd)]
    for epoch in range(3):
        losses = [b.loss for b in batches if b.epoch == epoch + 1]
        assert np.average(losses, weights=sizes) == pytest.approx(epoch_logs[epoch]["loss"], rel=1e-4)
    assert result.metrics["test_accuracy"] >= 0.0
    assert set(epoch_logs[0]) >= {"loss", "accuracy"}


def test_stop_flag_stops_within_a_batch_and_keeps_weights(xor_data, tmp_path):
    events = []
    calls = {"n": 0}

    def should_stop():
        calls["n"] += 1
        return calls["n"] >= 3

    result = train(mlp(), xor_data, {"epochs": 50, "batch_size": 16}, emit=events.append,
                   should_stop=should_stop, run_base=tmp_path)
    batches = [e for e in events if isinstance(e, BatchEnd)]
    assert len(batches) == 3
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.stopped
    assert result.stopped
    run = list_runs(tmp_path / "x.dlsproj") or [open_run(next(tmp_path.iterdir()))]
    assert run[0].status == "stopped"
    assert run[0].weights_path.is_file()


def test_nan_loss_stops_with_message_and_keeps_last_good_weights(xor_data, tmp_path):
    x_bad = np.full_like(xor_data.x_train, np.nan)
    bad = Dataset("bad", x_bad, xor_data.y_train, xor_data.x_test, xor_data.y_test,
                  "classification", ["0", "1"])
    events = []
    with pytest.raises(TrainingError, match=r"loss became nan at epoch 1, batch 1"):
        train(mlp(), bad, {"epochs": 2, "batch_size": 16}, emit=events.append, run_base=tmp_path)
    failed = events[-1]
    assert isinstance(failed, Failed) and "epoch 1, batch 1" in failed.message
    run = open_run(next(tmp_path.iterdir()))
    assert run.status == "failed" and "nan" in run.info["error"]
    import h5py

    with h5py.File(run.weights_path) as fh:
        arrays = []
        fh["layers"].visititems(
            lambda name, obj: arrays.append(obj[()]) if isinstance(obj, h5py.Dataset) else None)
    assert arrays and all(np.isfinite(a).all() for a in arrays), "the last good weights are kept"


def test_invalid_graph_is_refused_before_anything_starts(xor_data, tmp_path):
    g = mlp()
    g.set_param(g.node_by_name("d0").id, "units", -4)
    events = []
    with pytest.raises(TrainingError) as info:
        train(g, xor_data, {"epochs": 1}, emit=events.append, run_base=tmp_path)
    assert any("d0" in p and "units" in p for p in info.value.problems)
    assert [type(e) for e in events] == [Failed]
    assert not any(tmp_path.iterdir()), "no run folder for a refused start"


def test_input_shape_mismatch_names_the_input_and_the_fix(xor_data):
    with pytest.raises(TrainingError, match=r"Input 'x' has shape \(batch, 3\).*set the Input's shape to \[2\]"):
        train(mlp(input_shape=(3,)), xor_data, {"epochs": 1})


def test_output_units_must_match_classes():
    data = load_dataset("digits", {"flatten": True})
    with pytest.raises(TrainingError, match=r"'d1' gives 3 values.*10 classes"):
        train(mlp(input_shape=(64,), out_units=3, out_act="softmax"), data, {"epochs": 1})


def test_run_folder_records_settings_history_metrics_and_weights(xor_data, tmp_path):
    settings = {"epochs": 2, "batch_size": 32, "seed": 3}
    result = train(mlp(), xor_data, settings, run_base=tmp_path)
    run = open_run(result.run.path)
    assert run.status == "finished"
    assert run.info["settings"] == settings
    assert run.info["graph"]["nodes"][0]["name"] == "x"
    assert len(run.history()["loss"]) == 2
    assert run.metrics["test_accuracy"] == pytest.approx(result.metrics["test_accuracy"])
    assert run.weights_path.stat().st_size > 0
    assert json.loads((run.path / "run.json").read_text())["epochs_done"] == 2


def test_same_seed_same_result(xor_data):
    a = train(mlp(), xor_data, {"epochs": 2, "seed": 7}).history["loss"]
    b = train(mlp(), xor_data, {"epochs": 2, "seed": 7}).history["loss"]
    assert a == pytest.approx(b, rel=1e-6)
