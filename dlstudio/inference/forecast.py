"""Forecasts of a trained time-series model: history, truth and prediction.

Numpy in, numpy out, no Qt. Works on a ``kind == "series"`` dataset whose
``meta`` holds the whole ``series``, the ``split_index`` where its test part
starts, the ``window`` and the ``horizon`` (``sine_series``). The first test
window ends ``window`` steps after the split, so the test truth starts there.

Two predictions of the test part:

- one step ahead: every test window of *true* values -> the model's next value
  (for a horizon h > 1: the first of its h values);
- free-running: start from the first test window and feed the model's own
  predictions back as input, ``horizon`` values at a time -- errors compound,
  which shows how far ahead the model really sees.

A naive baseline (repeat the last value of each window) puts the errors in
proportion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlstudio.data import Dataset
from dlstudio.errors import DLStudioError

#: The free-running forecast stops after this many steps (each step is one model call).
MAX_FREE_STEPS = 2000


class ForecastError(DLStudioError, ValueError):
    """A dataset or model that cannot forecast; the message says why."""


@dataclass(frozen=True)
class Forecast:
    """Time steps (float64, for plotting) and values (float32) of each curve."""

    history_t: np.ndarray
    history: np.ndarray
    truth_t: np.ndarray
    truth: np.ndarray
    one_step: np.ndarray  # one prediction per truth step
    free_t: np.ndarray
    free: np.ndarray
    split_index: int

    @property
    def one_step_mae(self) -> float:
        return float(np.mean(np.abs(self.one_step - self.truth))) if len(self.truth) else float("nan")

    @property
    def free_mae(self) -> float:
        n = len(self.free)
        return float(np.mean(np.abs(self.free - self.truth[:n]))) if n else float("nan")

    @property
    def naive_mae(self) -> float:
        """Mean absolute error of predicting the previous true value."""
        if len(self.truth) == 0:
            return float("nan")
        previous = np.concatenate([self.history[-1:], self.truth[:-1]])
        return float(np.mean(np.abs(previous - self.truth)))


def series_parts(dataset: Dataset) -> tuple[np.ndarray, int, int, int]:
    """(series, split_index, window, horizon) of a forecasting dataset; ForecastError otherwise."""
    meta = dataset.meta
    if dataset.kind != "series" or "series" not in meta or "split_index" not in meta:
        raise ForecastError(f"{dataset.name} is not a time series split in time (such as sine_series), "
                            "so there is nothing to forecast")
    series = np.asarray(meta["series"], dtype="float32").reshape(-1)
    return series, int(meta["split_index"]), int(meta["window"]), int(meta.get("horizon", 1))


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    import keras

    out = keras.ops.convert_to_numpy(model.predict_on_batch(x))  # compiled once: fast per call
    return np.asarray(out, dtype="float32").reshape(len(x), -1)


def forecast(model: Any, dataset: Dataset, free_steps: int | None = None, context: int | None = None) -> Forecast:
    """History (the ``context`` steps before the test truth; default 3 windows), the test truth,
    the one-step-ahead predictions and a free-running forecast of ``free_steps`` (default: the
    whole test part, at most MAX_FREE_STEPS)."""
    series, split, window, horizon = series_parts(dataset)
    start = split + window  # the first step a test window predicts
    truth = series[start:]
    if len(truth) == 0:
        raise ForecastError(f"{dataset.name}: the test part is shorter than one window of {window} steps")
    windows = np.lib.stride_tricks.sliding_window_view(series[split:-1], window)[:len(truth)]
    predicted = _predict(model, windows[..., None].astype("float32"))
    if predicted.shape[1] != horizon:
        raise ForecastError(f"the model predicts {predicted.shape[1]} values per window but {dataset.name} "
                            f"has a horizon of {horizon}: it was not trained on this dataset")
    one_step = predicted[:, 0]
    n_free = min(len(truth), MAX_FREE_STEPS if free_steps is None else int(free_steps))
    recent = list(series[start - window:start])
    free: list[float] = []
    while len(free) < n_free:
        step = _predict(model, np.array(recent[-window:], dtype="float32")[None, :, None])[0]
        free.extend(step.tolist())
        recent.extend(step.tolist())
    context = 3 * window if context is None else int(context)
    h0 = max(0, start - context)
    return Forecast(np.arange(h0, start, dtype="float64"), series[h0:start],
                    np.arange(start, start + len(truth), dtype="float64"), truth, one_step.astype("float32"),
                    np.arange(start, start + n_free, dtype="float64"), np.asarray(free[:n_free], "float32"),
                    split)
