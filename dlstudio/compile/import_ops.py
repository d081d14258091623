"""Catalog nodes for what a functional Keras model holds besides catalog layers.

A functional model records ``keras.ops`` calls (``x + 3.0``, ``ops.relu(x)``,
``ops.concatenate([a, b])``) as operations of its graph, and ``keras.applications``
use two small layers of their own (ConvNeXt's ``LayerScale``, Inception-ResNet's
``CustomScaleLayer``). Where catalog nodes compute the same thing, the importer
puts those nodes in their place (:func:`steps_for`); every other operation is
refused by name.
"""

from __future__ import annotations

import inspect
import numbers
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: Layers of keras.applications (module, class) that catalog nodes represent exactly; a model
#: file may name them (they are Keras' own code).
APPLICATION_LAYERS = frozenset({
    ("keras.src.applications.convnext", "LayerScale"),
    ("keras.src.applications.inception_resnet_v2", "CustomScaleLayer"),
})

#: keras.ops of two tensors -> the merge layer that computes them.
_MERGES = {"Add": "Add", "Subtract": "Subtract", "Multiply": "Multiply", "Maximum": "Maximum"}


@dataclass
class Step:
    """One node to add: its inputs are tensors of the call (markers) or ints, the output of
    an earlier step of the same call."""

    type: str
    params: dict[str, Any]
    inputs: list[Any]
    suffix: str = ""  # the node is named after the operation, plus this
    weights: list[Any] = field(default_factory=list)


def steps_for(op: Any, args: tuple, kwargs: dict, is_tensor: Callable[[Any], bool],
              ranks: tuple[int, ...] = ()) -> list[Step] | None:
    """The nodes that compute what ``op`` (a keras.ops operation or an application layer) computes
    on ``args``/``kwargs`` (tensor markers and constants; ``ranks``: those of its input tensors),
    the last one giving the result; None when no catalog node does."""
    cls = type(op).__name__
    if (type(op).__module__, cls) in APPLICATION_LAYERS:
        return _application_layer(op, cls, args, kwargs, ranks)
    if not type(op).__module__.startswith("keras.src.ops."):
        return None
    values = list(args) + list(kwargs.values())
    if cls in ("Add", "Subtract", "Multiply", "Divide", "TrueDivide", "Maximum") and len(values) == 2:
        a, b = values
        if is_tensor(a) and is_tensor(b) and cls in _MERGES:
            return [Step(_MERGES[cls], {"inputs": 2} if cls != "Subtract" else {}, [a, b])]
        if is_tensor(a) != is_tensor(b):
            return _affine(cls, a, b, is_tensor)
        return None
    if cls == "Concatenate" and len(values) >= 1 and isinstance(values[0], (list, tuple)) \
            and all(is_tensor(t) for t in values[0]) and len(values[0]) >= 2:
        axis = getattr(op, "axis", 0)
        if axis == 0:
            return None  # along the batch axis: no layer does that
        return [Step("Concatenate", {"axis": int(axis), "inputs": len(values[0])}, list(values[0]))]
    if len(values) == 1 and is_tensor(values[0]):
        activation = _activation(op)
        if activation is not None:
            return [Step("Activation", {"activation": activation}, [values[0]])]
    return None


def _affine(cls: str, a: Any, b: Any, is_tensor: Callable[[Any], bool]) -> list[Step] | None:
    """``x * c``, ``x + c``, ``c - x``, ``x / c`` as a Rescaling (scale, offset)."""
    tensor, const, tensor_first = (a, b, True) if is_tensor(a) else (b, a, False)
    c = _scalar(const)
    if c is None:
        return None
    if cls == "Add":
        scale, offset = 1.0, c
    elif cls == "Subtract":
        scale, offset = (1.0, -c) if tensor_first else (-1.0, c)
    elif cls == "Multiply":
        scale, offset = c, 0.0
    elif cls in ("Divide", "TrueDivide") and tensor_first and c != 0:  # x / c
        scale, offset = 1.0 / c, 0.0
    else:
        return None
    return [Step("Rescaling", {"scale": scale, "offset": offset}, [tensor])]


def _scalar(value: Any) -> float | None:
    import numpy as np

    if isinstance(value, bool):
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, np.ndarray) and value.size == 1 and value.ndim == 0:
        return float(value)
    return None


def _activation(op: Any) -> str | None:
    """The activation name of an operation such as ``ops.relu`` whose settings are those of the
    Keras activation of the same name (``ops.gelu`` approximates, ``keras.activations.gelu`` not)."""
    import keras

    from dlstudio.catalog.registry import keras_choices

    name = re.sub(r"(?<!^)(?=[A-Z])", "_", type(op).__name__).lower().replace("relu_6", "relu6")
    if name not in keras_choices("activations"):
        return None
    fn = getattr(keras.activations, name)
    for p in list(inspect.signature(fn).parameters.values())[1:]:
        if hasattr(op, p.name) and _differs(getattr(op, p.name), p.default):
            return None
    settings = {k for k in vars(op) if not k.startswith("_") and k != "name"}
    if settings - set(inspect.signature(fn).parameters):
        return None  # a setting the activation function does not have
    return name


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except Exception:  # noqa: BLE001
        return True


def _application_layer(op: Any, cls: str, args: tuple, kwargs: dict, ranks: tuple[int, ...]) -> list[Step] | None:
    values = list(args) + list(kwargs.values())
    if cls == "CustomScaleLayer":  # inputs[0] + inputs[1] * scale
        pair = values[0] if values else None
        if not isinstance(pair, (list, tuple)) or len(pair) != 2:
            return None
        return [Step("Rescaling", {"scale": float(op.scale), "offset": 0.0}, [pair[1]], suffix="_scale"),
                Step("Add", {"inputs": 2}, [pair[0], 0])]
    if cls == "LayerScale":  # x * gamma, one factor per channel: a 1x1 depthwise convolution
        x = values[0] if values else None
        if ranks[:1] != (4,):
            return None
        gamma = op.get_weights()[0]
        init = {"class_name": "Constant", "config": {"value": float(op.init_values)}}
        return [Step("DepthwiseConv2D", {"kernel_size": 1, "use_bias": False, "depthwise_initializer": init},
                     [x], weights=[gamma.reshape(1, 1, -1, 1)])]
    return None
