"""Time series for forecasting with RNNs, LSTMs and 1-D convolutions.

``sine_series``: one long series, a mixture of three sines (periods and
amplitudes drawn from the seed) plus Gaussian noise, cut into sliding windows.
x float32 (N, window, 1): ``window`` past values; y float32 (N, horizon): the
next ``horizon`` values (so y[i, 0] is the value right after x[i, -1, 0]);
task "regression", kind "series".

The split is chronological, not random: the first part of the series gives the
training windows, the last ``test_fraction`` of it the test windows, so no test
target is ever seen in training. Windows keep their time order (x_train[i + 1]
is x_train[i] moved on by one step); ``meta["series"]`` holds the whole series
and ``meta["split_index"]`` the step where the test part starts.
"""

from __future__ import annotations

import numpy as np

from dlstudio.data.dataset import Dataset, DatasetError, check_allocation
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option


def sine_mixture(length: int, noise: float, seed: int) -> np.ndarray:
    """A float32 series of ``length`` steps: three sines with seeded periods, amplitudes and phases."""
    rng = np.random.default_rng(seed)
    t = np.arange(length, dtype="float64")
    periods = rng.uniform([40.0, 12.0, 5.0], [80.0, 30.0, 10.0])
    amplitudes = np.array([1.0, 0.5, 0.25]) * rng.uniform(0.7, 1.0, 3)
    phases = rng.uniform(0, 2 * np.pi, 3)
    series = sum(a * np.sin(2 * np.pi * t / p + f) for a, p, f in zip(amplitudes, periods, phases))
    return (series + rng.normal(0, noise, length)).astype("float32")


def windows(series: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Every (window -> horizon) pair of a 1-D series, in time order: x (N, window, 1), y (N, horizon)."""
    n = len(series) - window - horizon + 1
    if n < 1:
        return np.zeros((0, window, 1), "float32"), np.zeros((0, horizon), "float32")
    check_allocation(n * (window + horizon) * 8 * 2, f"{n:,} windows of {window} steps",
                     "choose a shorter series or a smaller window")
    idx = np.arange(n)[:, None]
    x = series[idx + np.arange(window)[None, :]][..., None]
    y = series[idx + window + np.arange(horizon)[None, :]]
    return x.astype("float32"), y.astype("float32")


@register("sine_series", "Sine mixture series (forecasting)", "sequences",
          "A noisy mixture of three sine waves, cut into sliding windows: predict the next value "
          "(or the next few) from the last `window` steps. For SimpleRNN, LSTM, GRU and Conv1D.",
          (OptionSpec("length", "int", 2000, "length of the whole series in steps", 50, 1_000_000),
           OptionSpec("window", "int", 30, "input steps per sample", 2, 1000),
           OptionSpec("horizon", "int", 1, "steps to predict after each window", 1, 100),
           OptionSpec("noise", "float", 0.05, "standard deviation of the noise added to the series",
                      0.0, 10.0),
           test_fraction_option()))
def sine_series(options: dict, seed: int) -> Dataset:
    length, window, horizon = options["length"], options["window"], options["horizon"]
    series = sine_mixture(length, options["noise"], seed)
    split = int(round(length * (1.0 - options["test_fraction"])))
    xtr, ytr = windows(series[:split], window, horizon)
    xte, yte = windows(series[split:], window, horizon)
    if len(xtr) < 2 or len(xte) < 1:
        raise DatasetError(f"dataset 'sine_series': a series of {length} steps split at step {split} "
                           f"is too short for windows of {window} + {horizon} steps; "
                           f"make 'length' larger or 'window' smaller")
    return Dataset("sine_series", xtr, ytr, xte, yte, "regression", [],
                   f"windows of {window} steps of a noisy sine mixture -> the next {horizon} step(s)",
                   kind="series", feature_names=["value"],
                   meta={"series": series, "split_index": split, "window": window, "horizon": horizon,
                         "target_names": [f"t+{i + 1}" for i in range(horizon)]})
