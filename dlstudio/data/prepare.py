"""Preparing a Dataset for a model: normalization fitted on the train split,
labels in the form a loss expects, and the Input node's shape.

Numpy in, numpy out; no Keras import (the graph functions only read and set
node parameters).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np

from dlstudio.compile.data_fit import ONE_HOT_LOSSES, SPARSE_LOSSES, input_changes, input_problem, loss_name
from dlstudio.data.dataset import Dataset, DatasetError

__all__ = ["METHODS", "ONE_HOT_LOSSES", "SPARSE_LOSSES", "apply_input_shape", "apply_normalization",
           "input_changes", "input_shape_problem", "labels_for_loss", "loss_name", "normalize"]

METHODS = ("none", "minmax", "standard")


# --------------------------------------------------------------------------- normalization


def normalize(dataset: Dataset, method: str = "none") -> Dataset:
    """A new Dataset with features scaled by statistics of the train split only.

    ``minmax`` maps the train range to [0, 1], ``standard`` to mean 0 and
    deviation 1. Statistics are per feature (the last axis: per channel for
    images), recorded in ``meta["normalize"]`` so new samples can be scaled the
    same way with ``apply_normalization``. The given dataset is not changed.
    """
    if method not in METHODS:
        raise DatasetError(f"unknown normalization {method!r}; choose one of {', '.join(METHODS)}")
    if method == "none":
        return dataclasses.replace(dataset, meta={**dataset.meta, "normalize": {"method": "none"}})
    if dataset.kind == "text":
        raise DatasetError(f"{dataset.name} holds token ids, which cannot be normalized: use method 'none'")
    x = np.asarray(dataset.x_train, dtype=np.float32)
    if len(x) == 0:
        raise DatasetError(f"{dataset.name}: no training samples to normalize")
    axes = tuple(range(x.ndim - 1)) if x.ndim > 1 else (0,)
    if method == "minmax":
        lo, hi = x.min(axis=axes), x.max(axis=axes)
        stats = {"method": "minmax", "min": np.atleast_1d(lo).tolist(), "max": np.atleast_1d(hi).tolist()}
        shift, scale = lo, np.where(hi - lo > 0, hi - lo, 1.0).astype(np.float32)
    else:
        mean, std = x.mean(axis=axes, dtype=np.float64), x.std(axis=axes, dtype=np.float64)
        stats = {"method": "standard", "mean": np.atleast_1d(mean).tolist(), "std": np.atleast_1d(std).tolist()}
        shift, scale = mean.astype(np.float32), np.where(std > 0, std, 1.0).astype(np.float32)
    return dataclasses.replace(
        dataset, x_train=_scaled(dataset.x_train, shift, scale), x_test=_scaled(dataset.x_test, shift, scale),
        meta={**dataset.meta, "normalize": stats})


def _scaled(x: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> np.ndarray:
    out = np.subtract(x, shift, dtype=np.float32)
    out /= scale
    return out


def apply_normalization(x: np.ndarray, stats: dict[str, Any]) -> np.ndarray:
    """Scale new samples (to predict on) with the statistics ``normalize`` recorded."""
    method = stats.get("method", "none")
    if method == "none":
        return np.asarray(x, dtype=np.float32)
    if method == "minmax":
        lo, hi = np.asarray(stats["min"], np.float32), np.asarray(stats["max"], np.float32)
        return _scaled(x, lo, np.where(hi - lo > 0, hi - lo, 1.0).astype(np.float32))
    if method == "standard":
        std = np.asarray(stats["std"], np.float32)
        return _scaled(x, np.asarray(stats["mean"], np.float32), np.where(std > 0, std, 1.0).astype(np.float32))
    raise DatasetError(f"unknown normalization {method!r}; choose one of {', '.join(METHODS)}")


# --------------------------------------------------------------------------- labels


def labels_for_loss(y: np.ndarray, loss: Any, num_classes: int) -> np.ndarray:
    """Labels as ``loss`` expects them: one-hot float32 rows for categorical
    losses, integer ids for sparse ones, unchanged for every other loss."""
    name = loss_name(loss)
    y = np.asarray(y)
    if name not in ONE_HOT_LOSSES and name not in SPARSE_LOSSES:
        return y
    per_step = y.ndim >= 2 and y.dtype.kind in "iu" and y.shape[-1] != 1
    if per_step and not (y.ndim == 2 and _is_one_hot(y, num_classes)):
        return _sequence_labels(y, name, num_classes)  # a class id per step (seq2seq, tagging)
    if y.ndim == 2 and y.shape[1] == num_classes and y.shape[1] > 1:  # already one-hot
        ids = y.argmax(axis=1)
    else:
        ids = y.reshape(len(y)) if y.ndim == 2 and y.shape[1] == 1 else y
        if ids.ndim != 1:
            raise DatasetError(f"labels of shape {y.shape[1:]} per sample cannot be used with {name}")
        if ids.dtype.kind == "f" and len(ids) and not np.all(ids == np.round(ids)):
            raise DatasetError(f"{name} needs class ids 0..{num_classes - 1}, but the labels are not whole numbers")
    ids = ids.astype(np.int64)
    if len(ids) and (ids.min() < 0 or ids.max() >= num_classes):
        raise DatasetError(f"labels run from {int(ids.min())} to {int(ids.max())} but there are "
                           f"{num_classes} classes (0..{num_classes - 1})")
    if name in SPARSE_LOSSES:
        return ids
    onehot = np.zeros((len(ids), num_classes), np.float32)
    onehot[np.arange(len(ids)), ids] = 1.0
    return onehot


def _is_one_hot(y: np.ndarray, num_classes: int) -> bool:
    return (y.shape[1] == num_classes > 1 and bool(np.isin(y, (0, 1)).all())
            and bool((y.sum(axis=1) == 1).all()))


def _sequence_labels(ids: np.ndarray, name: str, num_classes: int) -> np.ndarray:
    """Integer labels of shape (N, steps, ...): checked, then kept (sparse) or one-hot."""
    if ids.size and (ids.min() < 0 or ids.max() >= num_classes):
        raise DatasetError(f"labels run from {int(ids.min())} to {int(ids.max())} but there are "
                           f"{num_classes} classes (0..{num_classes - 1})")
    ids = ids.astype(np.int64)
    return ids if name in SPARSE_LOSSES else np.eye(num_classes, dtype=np.float32)[ids]


# --------------------------------------------------------------------------- the Input node
# The checks themselves live in dlstudio.compile.data_fit (one home for every
# model-against-data check); input_changes and input_shape_problem are kept here
# under their old names.
input_shape_problem = input_problem


def apply_input_shape(graph: Any, dataset: Dataset) -> dict[str, Any]:
    """Set the single Input node's shape (and dtype: int32 for text) to fit
    ``dataset`` through ``graph.set_param``; returns what changed."""
    changes = input_changes(graph, dataset)
    if changes:
        node = next(n for n in graph.nodes if n.type == "Input")
        for name, value in changes.items():
            graph.set_param(node.id, name, value)
    return changes
