"""Seeded splits shared by every loader."""

from __future__ import annotations

import numpy as np

from dlstudio.data.dataset import DatasetError


def train_test(x: np.ndarray, y: np.ndarray, test_fraction: float, seed: int):
    """(x_train, x_test, y_train, y_test), stratified for integer labels."""
    if not 0.0 < test_fraction < 1.0:
        raise DatasetError(f"test_fraction must be between 0 and 1 (got {test_fraction})")
    from sklearn.model_selection import train_test_split

    stratify = y if y.dtype.kind in "iu" and y.ndim == 1 and len(np.unique(y)) > 1 else None
    if stratify is not None and np.bincount(y).min() < 2:
        stratify = None
    return train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=stratify)


def test_fraction_option(default: float = 0.2):
    from dlstudio.data.registry import OptionSpec

    return OptionSpec("test_fraction", "float", default, "share of the samples held out for testing",
                      0.01, 0.9)
