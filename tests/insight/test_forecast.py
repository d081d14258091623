"""Forecasts of a time-series model: history, truth, one-step and free-running predictions."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.data import load_dataset
from dlstudio.inference.forecast import ForecastError, forecast


def last_value_model(window: int, horizon: int = 1):
    """A real Keras model, hand-set to repeat the last value of its window (a persistence forecast)."""
    import keras

    x = keras.Input((window, 1))
    flat = keras.layers.Flatten()(x)
    out = keras.layers.Dense(horizon, use_bias=False, name="pick")(flat)
    model = keras.Model(x, out)
    kernel = np.zeros((window, horizon), "float32")
    kernel[-1, :] = 1.0
    model.get_layer("pick").set_weights([kernel])
    return model


@pytest.fixture(scope="module")
def series():
    return load_dataset("sine_series", {"length": 400, "window": 12, "noise": 0.0, "test_fraction": 0.25})


def test_history_truth_and_predictions_line_up(series):
    f = forecast(last_value_model(12), series, context=20)
    whole, split = series.meta["series"], series.meta["split_index"]
    assert split == 300 and f.split_index == 300
    assert f.truth_t[0] == 312 and len(f.truth) == 400 - 312 == len(series.y_test)
    np.testing.assert_array_equal(f.truth, whole[312:])
    np.testing.assert_array_equal(f.truth, series.y_test[:, 0])  # the dataset's own test targets
    np.testing.assert_array_equal(f.history_t, np.arange(292, 312)) and np.testing.assert_array_equal(
        f.history, whole[292:312])
    np.testing.assert_allclose(f.one_step, whole[311:399], atol=1e-6)  # the previous true value
    assert f.one_step_mae == pytest.approx(f.naive_mae, abs=1e-6)
    np.testing.assert_allclose(f.free, whole[311], atol=1e-6)  # fed its own output: a flat line
    assert f.free_mae > f.one_step_mae and len(f.free) == len(f.truth)


def test_free_running_length_and_horizon(series):
    f = forecast(last_value_model(12), series, free_steps=10)
    assert len(f.free) == len(f.free_t) == 10 and f.free_t[0] == f.truth_t[0]
    three = load_dataset("sine_series", {"length": 400, "window": 12, "horizon": 3})
    g = forecast(last_value_model(12, 3), three, free_steps=7)
    assert len(g.free) == 7 and len(g.one_step) == len(g.truth)
    with pytest.raises(ForecastError, match="horizon of 3"):
        forecast(last_value_model(12, 1), three)


def test_not_a_series_is_refused():
    with pytest.raises(ForecastError, match="not a time series"):
        forecast(last_value_model(2), load_dataset("xor", {"samples": 20}))


def test_forecast_probe_sends_frames_while_training(series):
    from dlstudio.graph import Graph
    from dlstudio.training.engine import train
    from dlstudio.training.events import ForecastFrame
    from dlstudio.training.sequence_callbacks import ForecastProbe, sequence_callbacks

    g = Graph()
    inp = g.add_node("Input", {"shape": [12, 1]}, name="steps")
    rnn = g.add_node("SimpleRNN", {"units": 8}, name="rnn")
    out = g.add_node("Dense", {"units": 1}, name="next")
    g.connect(inp.id, rnn.id)
    g.connect(rnn.id, out.id)
    events: list = []
    callbacks = sequence_callbacks(series, events.append, forecast_interval=0.0)
    assert len(callbacks) == 1 and isinstance(callbacks[0], ForecastProbe)
    train(g, series, {"epochs": 2, "batch_size": 64}, emit=events.append, callbacks=callbacks)
    frames = [e for e in events if isinstance(e, ForecastFrame)]
    assert [f.epoch for f in frames] == [1, 2]
    assert len(frames[-1].forecast.truth) == 88 and np.isfinite(frames[-1].forecast.free).all()
