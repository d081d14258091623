"""What a model's output layer gives: class probabilities or logits.

The one home of these questions, asked of the graph (which loss and metrics
fit it, while training is set up) and of a built Keras model (turning its
outputs into probabilities for evaluation, prediction, text generation and
attacks). Numpy and attribute checks only; no Keras import.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from dlstudio.graph import Graph


def node_gives_probabilities(graph: Graph, node_id: str) -> bool:
    """Whether the graph's node ``node_id`` ends in softmax or sigmoid (else: logits)."""
    node = graph.node(node_id)
    act = node.params.get("activation")
    if node.type in ("Dense", "Activation", "Conv2D", "Conv1D") and act in ("softmax", "sigmoid"):
        return True
    return node.type == "Softmax"


def output_is_probability(model: Any) -> bool:
    """Whether the model's (single) output layer ends in softmax or sigmoid (else: logits)."""
    layer = model.layers[-1] if model.layers else None
    if layer is None:
        return False
    if type(layer).__name__ == "Softmax":
        return True
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", str(act)) in ("softmax", "sigmoid")


def to_probabilities(outputs: np.ndarray, is_probability: bool) -> np.ndarray:
    """Class probabilities (..., C) from the output layer's values: one sigmoid unit
    becomes two columns (1 - p, p); logits go through sigmoid or softmax."""
    out = np.asarray(outputs, dtype=np.float64)
    if out.shape[-1] == 1:
        p = out if is_probability else 1.0 / (1.0 + np.exp(-out))
        return np.concatenate([1.0 - p, p], axis=-1)
    if is_probability:
        return out
    z = out - out.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)
