"""The training engine, tested without threads: events, stop flag, faults, runs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlstudio.data import Dataset, load_dataset
from dlstudio.graph import Graph
from dlstudio.runs import list_runs, open_run, runs_dir
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
    assert events[0].device == "cpu"  # where the weights really live (no GPU here)
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
    # the flag is read after every compiled call of k steps (k = 1 for big models, a few
    # milliseconds' worth of steps for small ones: steps_per_execution)
    k = result.model.steps_per_execution
    assert len(batches) == 3 * k
    finished = events[-1]
    assert isinstance(finished, Finished) and finished.stopped
    assert result.stopped
    run = list_runs(runs_dir(tmp_path / "x.dlsproj")) or [open_run(next(tmp_path.iterdir()))]
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
    with pytest.raises(TrainingError, match=r"Input 'x' has shape \(batch, 3\) but .*: set its shape to \[2\]"):
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


def test_resume_after_a_kill_goes_on_from_the_last_completed_epoch(xor_data, tmp_path):
    """A run killed mid-way (simulated: an exception after epoch 2) resumes in
    the same folder from epoch 3, keeping the history of epochs 1-2."""
    class Killed(Exception):
        pass

    def emit(event):
        if isinstance(event, EpochEnd) and event.epoch == 2:
            raise Killed()

    settings = {"epochs": 4, "batch_size": 32}
    with pytest.raises((Killed, TrainingError)):  # checkpoint every epoch, as a long epoch would
        train(mlp(), xor_data, settings, emit=emit, run_base=tmp_path, checkpoint_seconds=0)
    run = open_run(next(tmp_path.iterdir()))
    assert run.info["epochs_done"] >= 1
    done = run.info["epochs_done"]
    epochs_seen = []
    result = train(mlp(), xor_data, settings, emit=lambda e: isinstance(e, EpochEnd) and epochs_seen.append(e.epoch),
                   resume=run.path)
    assert epochs_seen[0] == done + 1 and epochs_seen[-1] == 4
    assert len(result.history["loss"]) == 4
    assert open_run(run.path).status == "finished"


def test_continue_from_a_run_starts_from_its_weights_and_epochs(xor_data, tmp_path):
    first = train(mlp(), xor_data, {"epochs": 3, "learning_rate": 0.05}, run_base=tmp_path)
    epochs_seen = []
    second = train(mlp(), xor_data, {"epochs": 2, "learning_rate": 0.05}, run_base=tmp_path,
                   start_from=first.run.path,
                   emit=lambda e: isinstance(e, EpochEnd) and epochs_seen.append(e.epoch))
    assert epochs_seen == [4, 5]
    assert len(second.history["loss"]) == 5
    assert second.history["loss"][:3] == pytest.approx(first.history["loss"])
    assert second.run.info["continued_from"] == first.run.id
    # the continued model starts where the first stopped: its first loss is near the last one
    assert second.history["loss"][3] < first.history["loss"][0]


def test_early_stopping_restores_the_best_weights(xor_data, tmp_path):
    settings = {"epochs": 40, "batch_size": 16, "learning_rate": 0.05, "validation_split": 0.3,
                "early_stopping_patience": 2}
    result = train(mlp(hidden=32), xor_data, settings, run_base=tmp_path)
    val = result.history["val_loss"]
    assert len(val) < 40 or min(val) == val[-1]
    n_val = int(len(xor_data.x_train) * 0.3)
    x_val, y_val = xor_data.x_train[-n_val:], xor_data.y_train[-n_val:]
    restored = result.model.evaluate(x_val, y_val, verbose=0, return_dict=True)["loss"]
    assert restored == pytest.approx(min(val), rel=1e-3)
    assert (result.run.path / "best.weights.h5").is_file()


def test_step_schedule_lowers_the_learning_rate(xor_data):
    rates = []
    train(mlp(), xor_data, {"epochs": 4, "learning_rate": 0.1, "lr_schedule": "step", "lr_step_epochs": 2,
                            "lr_decay": 0.5},
          emit=lambda e: isinstance(e, EpochEnd) and rates.append(e.learning_rate))
    assert rates == pytest.approx([0.1, 0.1, 0.05, 0.05])


def test_unknown_device_is_refused_with_the_choices(xor_data):
    with pytest.raises(TrainingError, match="device 'gpu:7' is not available.*cpu"):
        train(mlp(), xor_data, {"epochs": 1, "device": "gpu:7"})


def test_cpu_device_and_mixed_precision_run_and_restore_the_policy(xor_data):
    import keras

    result = train(mlp(), xor_data, {"epochs": 1, "device": "cpu", "mixed_precision": True})
    assert result.metrics["test_accuracy"] >= 0.0
    assert keras.mixed_precision.global_policy().name == "float32"


def test_categorical_crossentropy_gets_one_hot_labels(xor_data):
    result = train(mlp(out_units=2, out_act="softmax"), xor_data,
                   {"epochs": 2, "loss": "categorical_crossentropy", "learning_rate": 0.05})
    assert 0.0 <= result.metrics["test_accuracy"] <= 1.0
    assert np.isfinite(result.metrics["test_loss"])


def test_extra_callbacks_see_the_training(xor_data):
    import keras

    seen = []
    probe = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    train(mlp(), xor_data, {"epochs": 3}, callbacks=[probe])
    assert seen == [0, 1, 2]


def test_run_folder_throttles_weight_writes_but_ends_complete(xor_data, tmp_path):
    result = train(mlp(), xor_data, {"epochs": 5, "validation_split": 0.2}, run_base=tmp_path,
                   checkpoint_seconds=3600)
    run = open_run(result.run.path)
    assert run.info["epochs_done"] == 5 and len(run.history()["loss"]) == 5
    assert run.weights_path.is_file() and (run.path / "best.weights.h5").is_file()
    assert not (run.path / "backup").exists(), "the resume backup is removed when a run completes"


class _BatchProbe:
    """A callback with a per-batch hook: the engine then runs one step per call."""

    def __new__(cls):
        import keras

        class Probe(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                pass

        return Probe()


def test_several_steps_per_call_still_emit_every_batch_loss(xor_data):
    """A small model runs k steps per compiled call; the BatchEnd events are the same
    per-batch losses as one step per call gives (recorded inside the step)."""
    settings = {"epochs": 2, "batch_size": 16, "learning_rate": 0.05, "seed": 4}
    many, one = [], []
    fast = train(mlp(), xor_data, settings, emit=lambda e: isinstance(e, BatchEnd) and many.append(e))
    slow = train(mlp(), xor_data, settings, emit=lambda e: isinstance(e, BatchEnd) and one.append(e),
                 callbacks=[_BatchProbe()])
    assert fast.model.steps_per_execution > 1 and slow.model.steps_per_execution == 1
    assert [(e.epoch, e.batch, e.step) for e in many] == [(e.epoch, e.batch, e.step) for e in one]
    assert [e.loss for e in many] == pytest.approx([e.loss for e in one], rel=1e-4, abs=1e-6)
    assert fast.history["loss"] == pytest.approx(slow.history["loss"], rel=1e-5)


def test_steps_per_execution_follows_the_cost_of_a_step():
    from dlstudio.training.batch_losses import MAX_GPU_STEPS, MAX_STEPS, steps_per_execution

    assert steps_per_execution(100, 32, 1000) == MAX_STEPS  # a tiny MLP
    assert steps_per_execution(100, 32, 5) == 5  # never more than an epoch's batches
    assert steps_per_execution(300_000_000, 64, 1000) == 1  # a ResNet-sized step on a CPU
    assert 1 < steps_per_execution(200_000, 32, 1000) < MAX_STEPS
    # a GPU runs the same step far faster: more steps per call
    assert steps_per_execution(200_000, 32, 1000, on_gpu=True) == MAX_GPU_STEPS > MAX_STEPS
    assert 1 < steps_per_execution(300_000_000, 64, 1000, on_gpu=True) < MAX_STEPS
