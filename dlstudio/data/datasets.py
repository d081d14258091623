"""Built-in datasets that work offline: scikit-learn's digits and toy generators.

Every loader returns a :class:`Dataset` with a fixed, seeded train/test split,
features as float32 and integer class labels (or float targets for regression).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np


class DatasetError(ValueError):
    """A dataset that cannot be loaded or options that make no sense."""


@dataclass
class Dataset:
    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    task: str  # "classification" or "regression"
    class_names: list[str] = field(default_factory=list)
    description: str = ""

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(int(d) for d in self.x_train.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)


def _split(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must be between 0 and 1 (got {test_fraction})")
    from sklearn.model_selection import train_test_split

    stratify = y if y.dtype.kind in "iu" else None
    return train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=stratify)


def _opt(options: dict[str, Any], key: str, default: Any, kind: type, lo=None, hi=None) -> Any:
    """One dataset option, type- and range-checked, with a message naming it."""
    value = options.get(key, default)
    if kind is bool:
        ok = isinstance(value, bool)
    else:
        ok = (isinstance(value, (int, float)) and not isinstance(value, bool)
              and np.isfinite(value) and (kind is float or float(value).is_integer()))
    if not ok:
        raise DatasetError(f"dataset option {key!r} must be {kind.__name__} (got {value!r})")
    value = kind(value)
    if (lo is not None and value < lo) or (hi is not None and value > hi):
        raise DatasetError(f"dataset option {key!r} must be between {lo} and {hi} (got {value!r})")
    return value


def digits(options: dict[str, Any], seed: int) -> Dataset:
    """scikit-learn's 8x8 handwritten digits (1797 images, bundled, offline)."""
    from sklearn.datasets import load_digits

    flatten = _opt(options, "flatten", False, bool)
    data = load_digits()
    x = (data.images / 16.0).astype("float32")
    x = x.reshape(len(x), -1) if flatten else x[..., None]
    y = data.target.astype("int64")
    xtr, xte, ytr, yte = _split(x, y, _opt(options, "test_fraction", 0.2, float, 0.01, 0.9), seed)
    return Dataset("digits", xtr, ytr, xte, yte, "classification", [str(i) for i in range(10)],
                   "8x8 grey handwritten digits from scikit-learn, scaled to [0, 1]")


def spirals(options: dict[str, Any], seed: int) -> Dataset:
    """Two interleaved spirals (TensorFlow Playground style)."""
    n = _opt(options, "samples", 1000, int, 10, 1_000_000)
    noise = _opt(options, "noise", 0.1, float, 0.0, 10.0)
    turns = _opt(options, "turns", 1.5, float, 0.1, 10.0)
    rng = np.random.default_rng(seed)
    per = n // 2
    t = np.sqrt(rng.uniform(0, 1, per)) * turns * 2 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (turns * 2 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise * 0.1, (2 * per, 2))
    y = np.concatenate([np.zeros(per), np.ones(per)]).astype("int64")
    xtr, xte, ytr, yte = _split(x.astype("float32"), y, _opt(options, "test_fraction", 0.2, float, 0.01, 0.9), seed)
    return Dataset("spirals", xtr, ytr, xte, yte, "classification", ["arm 0", "arm 1"],
                   "two interleaved spirals in the plane")


def xor(options: dict[str, Any], seed: int) -> Dataset:
    """Four noisy clusters at the corners of a square, labelled by XOR."""
    n = _opt(options, "samples", 400, int, 4, 1_000_000)
    noise = _opt(options, "noise", 0.15, float, 0.0, 10.0)
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(n, 2))
    x = corners * 2.0 - 1.0 + rng.normal(0, noise, (n, 2))
    y = (corners[:, 0] ^ corners[:, 1]).astype("int64")
    xtr, xte, ytr, yte = _split(x.astype("float32"), y, _opt(options, "test_fraction", 0.25, float, 0.01, 0.9), seed)
    return Dataset("xor", xtr, ytr, xte, yte, "classification", ["0", "1"],
                   "XOR: no straight line separates the classes")


DATASETS: dict[str, Callable[[dict[str, Any], int], Dataset]] = {
    "digits": digits,
    "spirals": spirals,
    "xor": xor,
}


def load_dataset(name: str, options: dict[str, Any] | None = None, seed: int = 0) -> Dataset:
    """Load a built-in dataset by name; raises DatasetError with a clear message."""
    try:
        loader = DATASETS[name]
    except KeyError:
        raise DatasetError(
            f"unknown dataset {name!r}; built-in datasets: {', '.join(sorted(DATASETS))}"
        ) from None
    return loader(dict(options or {}), seed)
