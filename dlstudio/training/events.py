"""Small frozen event objects that training emits (to a GUI panel or the CLI)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Started:
    epochs: int
    steps_per_epoch: int
    samples: int
    backend: str
    run_path: str | None = None
    device: str = ""  # where the model's weights live: "cpu", "gpu:0", ... (backend.model_device)


@dataclass(frozen=True)
class BatchEnd:
    epoch: int  # 1-based
    batch: int  # 0-based within the epoch
    step: int  # 0-based over the whole run
    loss: float  # the loss of this batch alone (not Keras' running mean)


@dataclass(frozen=True)
class EpochEnd:
    epoch: int  # 1-based
    epochs: int
    logs: dict[str, float]  # all train and validation metrics of the epoch
    seconds: float
    samples_per_second: float
    learning_rate: float


@dataclass(frozen=True)
class Finished:
    metrics: dict[str, float]
    epochs_done: int
    stopped: bool = False  # stopped by the user or early stopping
    run_path: str | None = None
    history: dict[str, list[float]] = field(default_factory=dict)


@dataclass(frozen=True)
class Failed:
    message: str
    problems: tuple[str, ...] = ()
    details: Any = None


@dataclass(frozen=True, eq=False)
class BoundaryFrame:
    """The decision boundary of a 2-D classifier during training (``live.BoundaryProbe``).

    ``image`` is an RGB uint8 picture (rows flipped: y up) of the class
    probabilities over ``x_range`` × ``y_range``; ``points``/``labels`` are the
    training points to draw on it (the same arrays in every frame).
    """

    epoch: int  # 1-based epoch the frame was taken in (at its end, or during it)
    step: int  # training steps done when it was taken
    image: Any  # (H, W, 3) uint8
    x_range: tuple[float, float]
    y_range: tuple[float, float]
    points: Any  # (n, 2) float32
    labels: Any  # (n,) int
    class_names: tuple[str, ...] = ()
    at_epoch_end: bool = True


@dataclass(frozen=True, eq=False)
class WeightsSnapshot:
    """The model's weights (``model.get_weights()`` order) at the end of an epoch
    (``live.WeightsProbe``, emitted only while someone asks for them)."""

    epoch: int  # 1-based
    weights: tuple  # numpy arrays


@dataclass(frozen=True)
class TextSample:
    """Text a language model wrote at the end of an epoch (``sequence_callbacks.TextSampler``):
    ``text`` follows ``prompt``; a seq2seq model gives ``translations`` instead, as
    (source, greedy translation, true target) triples."""

    epoch: int  # 1-based
    prompt: str
    temperature: float
    text: str
    translations: tuple[tuple[str, str, str], ...] = ()
    seconds: float = 0.0  # time the sampling took


@dataclass(frozen=True, eq=False)
class ForecastFrame:
    """A time-series model's forecast of the test part at the end of an epoch
    (``sequence_callbacks.ForecastProbe``): a ``dlstudio.inference.forecast.Forecast``."""

    epoch: int  # 1-based
    forecast: Any
