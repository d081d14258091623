"""Batches for training: the one TensorFlow-specific place for data.

``make_dataset(x, y, batch_size, shuffle, seed)`` gives a ``tf.data.Dataset``
on the TensorFlow backend (shuffled with a seed and reshuffled every epoch,
batched with the last partial batch kept, prefetched; data up to
``WHOLE_BYTES`` is sliced inside TensorFlow, larger data is taken batch by batch
from the numpy arrays without copying them whole), and an
``ArrayBatches`` (a ``keras.utils.PyDataset``) on any other backend. Both give
every sample exactly once per epoch. TensorFlow is imported only inside the
functions here, so importing this module stays cheap.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from dlstudio.data.dataset import DatasetError


#: Data up to this size (x and y together) is handed to TensorFlow whole; larger data is batched
#: from the numpy arrays (no second copy of it).
WHOLE_BYTES = 32 * 2**20


def _check(x: np.ndarray, y: np.ndarray | None, batch_size: int) -> None:
    if int(batch_size) != batch_size or batch_size < 1:
        raise DatasetError(f"batch_size must be a whole number of at least 1 (got {batch_size!r})")
    if y is not None and len(x) != len(y):
        raise DatasetError(f"{len(x)} samples but {len(y)} labels: they must match")


def make_dataset(x: np.ndarray, y: np.ndarray | None, batch_size: int, shuffle: bool = True, seed: int = 0,
                 prefetch: bool = True) -> Any:
    """Batches of ``(x, y)`` (or of ``x`` alone when ``y`` is None) for ``model.fit``."""
    from dlstudio.backend import load_keras

    x, y = np.asarray(x), None if y is None else np.asarray(y)
    _check(x, y, batch_size)
    if load_keras().backend.backend() != "tensorflow":
        return ArrayBatches(x, y, batch_size, shuffle, seed)
    import tensorflow as tf

    arrays = (x,) if y is None else (x, y)
    if sum(a.nbytes for a in arrays) <= WHOLE_BYTES:
        # Small data goes into TensorFlow whole: batches are sliced inside the graph, with no
        # Python call per batch (the digits CNN trains ~25% faster than with the index path).
        data = tf.data.Dataset.from_tensor_slices(arrays[0] if y is None else arrays)
        if shuffle:
            data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
        data = data.batch(int(batch_size), drop_remainder=False)
        return data.prefetch(tf.data.AUTOTUNE) if prefetch else data
    # Shuffle and batch sample indices, then take each batch from the numpy arrays. This
    # avoids converting the whole of x into a second, TensorFlow-owned copy (for 60,000
    # 28x28 images that copy alone took 0.2-0.5 s, and it doubles the memory), and it is
    # as fast per epoch as tf.gather on such a copy (see benchmarks/data_pipeline.py).
    specs = tuple(tf.TensorSpec((None, *a.shape[1:]), tf.as_dtype(a.dtype)) for a in arrays)

    def take(rows):
        return tuple(np.take(a, rows, axis=0) for a in arrays)

    def batch_of(rows):
        out = tf.numpy_function(take, [rows], [s.dtype for s in specs], stateful=False)
        for tensor, spec in zip(out, specs):
            tensor.set_shape(spec.shape)
        return out[0] if y is None else tuple(out)

    data = tf.data.Dataset.range(len(x))
    if shuffle:
        data = data.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    data = data.batch(int(batch_size), drop_remainder=False).map(batch_of)
    if prefetch:
        data = data.prefetch(tf.data.AUTOTUNE)
    return data


def _array_batches_class():
    from dlstudio.backend import load_keras

    keras = load_keras()

    class _ArrayBatches(keras.utils.PyDataset):
        """Seeded, reshuffled-every-epoch batches of numpy arrays for any Keras backend."""

        def __init__(self, x, y, batch_size: int, shuffle: bool = True, seed: int = 0, **kwargs):
            super().__init__(**kwargs)
            _check(x, y, batch_size)
            self.x, self.y, self.batch_size, self.shuffle = x, y, int(batch_size), shuffle
            self.rng = np.random.default_rng(seed)
            self.order = np.arange(len(x))
            self._new_order()

        def _new_order(self) -> None:
            if self.shuffle:
                self.order = self.rng.permutation(len(self.x))

        def __len__(self) -> int:
            return math.ceil(len(self.x) / self.batch_size)

        def __getitem__(self, index: int):
            if not 0 <= index < len(self):
                raise IndexError(index)
            rows = self.order[index * self.batch_size:(index + 1) * self.batch_size]
            if not self.shuffle:  # contiguous slices: views, no copy
                rows = slice(index * self.batch_size, (index + 1) * self.batch_size)
            xb = self.x[rows]
            return xb if self.y is None else (xb, self.y[rows])

        def on_epoch_end(self) -> None:
            self._new_order()

    return _ArrayBatches


def ArrayBatches(x: np.ndarray, y: np.ndarray | None, batch_size: int, shuffle: bool = True,
                 seed: int = 0) -> Any:
    """A ``keras.utils.PyDataset`` of seeded batches (the non-TensorFlow fallback)."""
    global _ARRAY_BATCHES
    if _ARRAY_BATCHES is None:
        _ARRAY_BATCHES = _array_batches_class()
    return _ARRAY_BATCHES(x, y, batch_size, shuffle, seed)


_ARRAY_BATCHES = None
