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
