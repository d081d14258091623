"""Gradient flow recorded inside the training step: the very gradients the optimizer applies,
without an extra pass and without making the engine give up several steps per call."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.backend import load_keras
from dlstudio.data import load_dataset
from dlstudio.training.checkpoints import RECORDER_PREFIX
from dlstudio.training.engine import train
from dlstudio.training.gradient_events import GradientFlow
from dlstudio.training.gradients import gradient_magnitudes
from dlstudio.training.live import LiveOptions, live_callbacks
from dlstudio.training.step_gradients import StepGradientFlow

from test_live import SETTINGS, mlp

keras = load_keras()


def _model(steps_per_execution: int = 4):
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    hidden = keras.layers.Dense(8, activation="tanh", name="a")(inputs)
    outputs = keras.layers.Dense(3, activation="softmax", name="b")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", steps_per_execution=steps_per_execution)
    return model


def test_the_recorded_gradients_are_the_ones_of_the_step():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)
    model = _model()
    names, expected = gradient_magnitudes(model, x, y)  # at the weights before the one step
    events = []
    model.fit(x, y, batch_size=64, epochs=1, shuffle=False, verbose=0, callbacks=[StepGradientFlow(events.append, 1)])
    assert len(events) == 1 and events[0].step == 0 and events[0].layers == names == ("a", "b")
    assert events[0].magnitudes == pytest.approx(expected, rel=1e-5)


def test_every_nth_step_is_emitted_though_steps_run_four_per_call():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(64, 4)).astype("float32"), rng.integers(0, 3, 64)
    model = _model(steps_per_execution=4)
    events = []
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[StepGradientFlow(events.append, 3)])  # 16 steps
    assert [e.step for e in events] == [0, 3, 6, 9, 12, 15]
    assert all(len(e.magnitudes) == 2 and all(m > 0 for m in e.magnitudes) for e in events)
    assert len({e.magnitudes for e in events}) == len(events)  # each its own step's gradients
    callback, again = StepGradientFlow(events.append, 8), []
    model.fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    callback.emit = again.append  # the same callback on a new model: it records there
    _model().fit(x, y, batch_size=8, epochs=1, verbose=0, callbacks=[callback])
    assert [e.step for e in again] == [0]


def test_the_engine_keeps_several_steps_per_call_and_saves_no_records(tmp_path):
    data = load_dataset("xor", {"samples": 400}, seed=1)
    events = []
    callbacks = live_callbacks(data, events.append, LiveOptions(boundary=False, gradient_flow=True, gradient_every=2))
    first = train(mlp(depth=3), data, {**SETTINGS, "epochs": 2}, emit=events.append, callbacks=callbacks,
                  run_base=tmp_path)
    assert first.model.steps_per_execution > 1  # a batch hook used to force one step per call
    flows = [e for e in events if isinstance(e, GradientFlow)]
    steps = 2 * -(-len(data.x_train) // SETTINGS["batch_size"])
    assert [f.step for f in flows] == list(range(0, steps, 2))
    assert flows[0].layers == ("d0", "d1", "d2", "d3")
    with np.load(first.run.path / "optimizer.npz") as saved:
        assert not any(RECORDER_PREFIX in name for name in saved.files)
    again = train(mlp(depth=3), data, {**SETTINGS, "epochs": 1}, run_base=tmp_path, start_from=first.run.path,
                  callbacks=live_callbacks(data, lambda e: None, LiveOptions(boundary=False, gradient_flow=True)))
    assert again.run.info["optimizer_state"] == "restored"  # the records are no part of the state


def test_mixed_precision_measures_on_a_fixed_batch_instead(tmp_path):
    data = load_dataset("xor", {"samples": 200}, seed=1)
    events = []
    callbacks = live_callbacks(data, events.append, LiveOptions(boundary=False, gradient_flow=True, gradient_every=4))
    try:
        train(mlp(depth=2), data, {**SETTINGS, "epochs": 1, "mixed_precision": True}, emit=events.append,
              callbacks=callbacks)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    flows = [e for e in events if isinstance(e, GradientFlow)]
    assert flows and all(np.isfinite(f.magnitudes).all() for f in flows)
