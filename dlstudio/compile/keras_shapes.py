"""Ask Keras itself for a layer's output shape and weights, without allocating.

The layer is called on symbolic ``KerasTensor`` inputs inside a
``StatelessScope``, so Keras runs its own shape logic and builds the layer, but
variables are only declared (deferred), never initialised. This keeps one
layer at about a millisecond; :mod:`dlstudio.compile.infer` caches the results.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from dlstudio.catalog import get_spec, instantiate

Shape = tuple  # (None, 28, 28, 1): batch axis first


@dataclass(frozen=True)
class LayerResult:
    output_shapes: tuple[Shape, ...]
    weights: tuple[tuple[str, tuple[int, ...], bool], ...]  # (name, shape, trainable)

    @property
    def params(self) -> int:
        return sum(math.prod(s) for _, s, _ in self.weights)

    @property
    def trainable_params(self) -> int:
        return sum(math.prod(s) for _, s, t in self.weights if t)


def _forget_deferred_variables() -> None:
    """Drop the variables a StatelessScope would initialise on exit.

    Initialising them is what makes building slow (random kernels, TF
    variables); shape inference only needs their shapes. Uses a Keras internal,
    so any failure here falls back to Keras' normal (slower) behaviour.
    """
    try:
        from keras.src.backend.common import global_state

        global_state.set_global_attribute("uninitialized_variables", [])
    except Exception:  # pragma: no cover - depends on the Keras version
        pass


def _as_shapes(out: Any) -> tuple[Shape, ...]:
    if isinstance(out, (list, tuple)):
        return tuple(tuple(t.shape) for t in out)
    return (tuple(out.shape),)


def layer_output(type_name: str, params: dict[str, Any], input_shapes: list[Shape | None]) -> LayerResult:
    """Output shapes and weight shapes of one layer on inputs of these shapes.

    ``input_shapes`` has one entry per input port (None for an unconnected
    optional port). Raises whatever Keras raises for an invalid combination.
    """
    spec = get_spec(type_name)
    if spec.call == "input":
        return LayerResult(((None, *params["shape"]),), ())
    import keras

    with keras.StatelessScope():
        try:
            layer = instantiate(type_name, params)
            tensors = [None if s is None else keras.KerasTensor(s) for s in input_shapes]
            pos, kw = spec.call_arguments(params, tensors)
            out = layer(*pos, **kw)
            weights = tuple(
                (w.name, tuple(int(d) for d in w.shape), bool(w.trainable)) for w in layer.weights
            )
        finally:
            _forget_deferred_variables()
    return LayerResult(_as_shapes(out), weights)


def multiply_accumulates(type_name: str, result: LayerResult, input_shapes: list[Shape | None]) -> int:
    """Multiply-accumulate operations for one sample through this layer.

    Every weight matrix called ``*kernel`` is applied once per output position
    (Dense on a sequence: per step; a convolution: per output pixel; an RNN: per
    time step; a transposed convolution: per input pixel). Attention adds its
    score and weighted-sum products. Element-wise layers count as zero.
    """
    kernels = sum(math.prod(s) for name, s, _ in result.weights if name.endswith("kernel"))
    spec = get_spec(type_name)
    out = result.output_shapes[0] if result.output_shapes else ()
    first_in = input_shapes[0] if input_shapes else None
    if spec.call == "attention":
        return _attention_macs(result, input_shapes)
    if spec.call == "rnn" or type_name == "Bidirectional":
        positions = first_in[1] if first_in and len(first_in) > 2 and first_in[1] else 1
    elif type_name.endswith("Transpose"):
        positions = math.prod(d or 1 for d in first_in[1:-1]) if first_in else 1
    else:
        positions = math.prod(d or 1 for d in out[1:-1]) if len(out) > 2 else 1
    return int(kernels * positions)


def _attention_macs(result: LayerResult, input_shapes: list[Shape | None]) -> int:
    """MultiHeadAttention: the query and output projections run once per query
    step, the key and value projections once per key/value step; then the
    scores (query x key) and the weighted sum of values, per head."""

    def steps(shape: Shape | None) -> int | None:
        return (shape[1] or 1) if shape is not None and len(shape) > 2 else None

    tq = steps(input_shapes[0]) or 1
    tv = steps(input_shapes[1] if len(input_shapes) > 1 else None) or tq
    tk = steps(input_shapes[2] if len(input_shapes) > 2 else None) or tv
    # Keras' weight order: query, key, value, output (each kernel then bias)
    kernels = [s for name, s, _ in result.weights if name.endswith("kernel") and len(s) == 3]
    if len(kernels) != 4:  # pragma: no cover - depends on the Keras version
        return int(sum(math.prod(s) for s in kernels) * tq)
    q, k, v, o = kernels
    macs = math.prod(q) * tq + math.prod(k) * tk + math.prod(v) * tv + math.prod(o) * tq
    macs += tq * tk * q[1] * q[2]  # scores: heads x key_dim per (query, key) pair
    macs += tq * tv * v[1] * v[2]  # weighted sum: heads x value_dim per (query, value) pair
    return int(macs)
