"""Inputs to check an export on: of the model's real shapes and value ranges.

A model's input shape may hold ``None`` (a variable-length sequence, an image of
any size): such a dimension gets a sensible length, and, where the model takes
it, a second set of inputs with other lengths (one per input and axis) checks
that the export really accepts any length. Integer inputs get token ids below
the vocabulary of the Embedding that reads them; several inputs each get their
own sample.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

#: Lengths tried, in order, for a None dimension until the model accepts one (pooling stacks need long inputs).
LENGTHS = (16, 32, 64, 128, 256)


def fits(arrays: Sequence[np.ndarray], model: Any) -> bool:
    """Whether ``arrays`` have the shapes the model's inputs take (None takes any length), and
    integer inputs hold whole numbers below the vocabulary of their Embedding."""
    if len(arrays) != len(model.inputs):
        return False
    limits = token_limits(model)
    for i, (a, t) in enumerate(zip(arrays, model.inputs)):
        want = tuple(t.shape[1:])
        got = tuple(np.shape(a)[1:])
        if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
            return False
        if "int" in _dtype(t) and np.size(a):
            values = np.asarray(a)
            if not np.array_equal(values, np.round(values)) or values.min() < 0 \
                    or values.max() >= limits.get(i, np.inf):
                return False
    return True


def as_model_dtypes(arrays: Sequence[np.ndarray], model: Any) -> list[np.ndarray]:
    return [np.asarray(a).astype(_dtype(t), copy=False) for a, t in zip(arrays, model.inputs)]


def token_limits(model: Any) -> dict[int, int]:
    """For each integer input (by position): the smallest vocabulary of an Embedding fed by it."""
    limits: dict[int, int] = {}
    for i, tensor in enumerate(model.inputs):
        if "int" in _dtype(tensor):
            found = _embedding_sizes(model, tensor)
            if found:
                limits[i] = min(found)
    return limits


def _embedding_sizes(model: Any, tensor: Any) -> list[int]:
    """``input_dim`` of every Embedding that reads ``tensor`` (also inside nested models)."""
    import keras

    sizes: list[int] = []
    for layer in getattr(model, "layers", []):
        for node in getattr(layer, "_inbound_nodes", []):
            ins = [x for x in getattr(node, "input_tensors", []) if x is tensor]
            if not ins:
                continue
            if isinstance(layer, keras.layers.Embedding):
                sizes.append(int(layer.input_dim))
            elif isinstance(layer, keras.Model):
                position = [j for j, x in enumerate(node.input_tensors) if x is tensor]
                inner = getattr(layer, "inputs", None) or []
                sizes += [s for j in position if j < len(inner) for s in _embedding_sizes(layer, inner[j])]
    return sizes


def random_inputs(model: Any, n: int = 8, seed: int = 0, lengths: Sequence[int] | None = None
                  ) -> list[np.ndarray]:
    """``n`` random samples per input; ``lengths[k]`` for the k-th None dimension (counted over
    all inputs), 16 where not given. Integer inputs get ids below their Embedding's vocabulary
    (0 or 1 where no Embedding reads them)."""
    rng = np.random.default_rng(seed)
    limits = token_limits(model)
    out: list[np.ndarray] = []
    k = 0
    for i, t in enumerate(model.inputs):
        shape = [n]
        for d in t.shape[1:]:
            if d is None:
                shape.append(int(lengths[k]) if lengths is not None and k < len(lengths) else LENGTHS[0])
                k += 1
            else:
                shape.append(int(d))
        dtype = _dtype(t)
        if "int" in dtype:
            out.append(rng.integers(0, limits.get(i, 2), size=shape).astype(dtype))
        elif dtype == "bool":
            out.append(rng.integers(0, 2, size=shape).astype(bool))
        else:
            out.append(rng.normal(size=shape).astype(dtype))
    return out


def free_dimensions(model: Any) -> int:
    """How many None dimensions (beyond the batch axis) the model's inputs have."""
    return sum(d is None for t in model.inputs for d in t.shape[1:])


def input_sets(model: Any, n: int = 8, data: Sequence[np.ndarray] | None = None) -> list[list[np.ndarray]]:
    """The sets of inputs to check an export on: ``data`` (test samples) where it fits the
    model, random samples otherwise; for a model with None dimensions also a set with other
    lengths, one per input and axis, where the model accepts them."""
    sets: list[list[np.ndarray]] = []
    if data is not None and fits(data, model):
        sets.append(as_model_dtypes([np.asarray(a[:n]) for a in data], model))
    free = free_dimensions(model)
    if not sets:
        if not free:
            return [random_inputs(model, n)]
        for length in LENGTHS:  # the shortest common length the model takes
            xs = random_inputs(model, n, lengths=[length] * free)
            if _accepts(model, xs):
                sets.append(xs)
                break
        else:
            return [random_inputs(model, n)]  # the export check will report Keras' own error
    if free:
        base = int(next(d for a, t in zip(sets[0], model.inputs)
                        for d, want in zip(a.shape[1:], t.shape[1:]) if want is None))
        other = [base + 5 + 3 * k for k in range(free)]  # every input and axis a length of its own
        for lengths in (other, [base + 5] * free):  # else one other common length
            xs = random_inputs(model, n, seed=1, lengths=lengths)
            if _accepts(model, xs):
                sets.append(xs)
                break
    return sets


def _accepts(model: Any, xs: list[np.ndarray]) -> bool:
    try:
        model([x[:1] for x in xs] if len(xs) > 1 else xs[0][:1], training=False)
        return True
    except Exception:  # noqa: BLE001 - any refusal: the model does not take these lengths
        return False


def _dtype(tensor: Any) -> str:
    dtype = getattr(tensor, "dtype", "float32")
    return str(getattr(dtype, "name", dtype))
