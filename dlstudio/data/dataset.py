"""The Dataset every loader returns, and the one error type for bad data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from dlstudio.errors import DLStudioError


class DatasetError(DLStudioError, ValueError):
    """A dataset that cannot be loaded, or options or files that make no sense.

    The message names what is wrong and where (the option, the file, the row).
    """


def check_allocation(nbytes: int, what: str, hint: str = "") -> None:
    """DatasetError before ``what`` allocates about ``nbytes`` that this process cannot have
    (:func:`dlstudio.bounded.check_memory`: the memory still available, its cgroup, its rlimits)."""
    from dlstudio.bounded import LimitError, check_memory

    try:
        check_memory(int(nbytes), what, hint)
    except LimitError as exc:
        raise DatasetError(str(exc)) from None


@dataclass
class Dataset:
    """Features and targets, already split into train and test (seeded).

    ``task`` is "classification" (int64 labels 0..n-1, shape (N,)) or
    "regression" (float32 targets, shape (N, 1) or (N, horizon)); features are
    float32 (int64 token ids for text). ``kind`` says how to show a sample:
    "image" (H, W, C floats), "points" (2 features), "table", "series",
    "text" (integer token ids, ``vocabulary`` maps them back).
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str
    class_names: list[str] = field(default_factory=list)
    description: str = ""
    kind: str = "table"
    feature_names: list[str] = field(default_factory=list)
    vocabulary: list[str] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def target_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.y_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def sizes(self) -> dict[str, int]:
        return {"train": int(len(self.x_train)), "test": int(len(self.x_test))}
