"""Gradients with respect to the *input*: d loss / d x, numpy in, numpy out.

The one place input gradients are taken: adversarial attacks
(d cross-entropy / d x, :mod:`dlstudio.insight.attacks`), saliency maps
(d class score / d x) and adversarial training (:mod:`dlstudio.training.adversarial`)
all take them from here.

- :func:`input_gradient` ``(model, x, target=None, loss_fn=None)``: the
  gradient of ``sum(loss_fn(y_pred, target))`` with respect to ``x`` as a numpy
  array shaped like ``x``. Without ``loss_fn`` the loss is the model's output
  for class ``target`` (saliency); ``target=None`` means the predicted class.
  Samples do not interact (the model runs in inference mode), so row ``i`` of
  the result is the gradient of sample ``i``'s own loss.
- :func:`input_gradient_function` gives the same as a reusable, traced
  ``f(x, target) -> np.ndarray`` that reads the model's current weights on
  every call (cached per model and loss function).
- :func:`tensor_input_gradient` works on backend tensors inside a traced
  training step (adversarial training) with explicit variable values.
- :func:`has_logits` / :func:`model_logits`: the output layer's values before
  its softmax / sigmoid.
- Loss functions ``(y_pred, target) -> per-sample loss``: :func:`class_score`,
  :func:`cross_entropy` (integer targets; probabilities or logits).

The model is called through ``model.stateless_call``, so weights, batch-norm
statistics and dropout seeds are never changed. TensorFlow uses a
``GradientTape`` inside one ``tf.function``; JAX uses ``jax.grad`` (jitted);
PyTorch ``torch.autograd.grad``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: ``(y_pred, target) -> loss`` (per sample or scalar; it is summed over the batch), in keras.ops.
LossFn = Callable[[Any, Any], Any]

_EPS = 1e-7


def class_score(y_pred: Any, target: Any) -> Any:
    """The model's output for class ``target[i]`` of each sample (saliency)."""
    import keras

    ops = keras.ops
    y_pred = ops.cast(y_pred, "float32")
    index = ops.expand_dims(ops.cast(target, "int32"), -1)
    return ops.squeeze(ops.take_along_axis(y_pred, index, axis=-1), -1)


@functools.cache
def cross_entropy(from_logits: bool = False) -> LossFn:
    """Per-sample cross-entropy of integer class ``target``s. The output may be
    probabilities (softmax / one sigmoid unit) or logits (``from_logits=True``).
    Cached, so the same function (and its traced gradient) is reused."""

    def loss(y_pred: Any, target: Any) -> Any:
        import keras

        ops = keras.ops
        y_pred = ops.cast(y_pred, "float32")
        t = ops.cast(target, "int32")
        if y_pred.shape[-1] == 1:  # one sigmoid unit (or one logit): binary cross-entropy
            z = ops.squeeze(y_pred, -1)
            tf_ = ops.cast(t, "float32")
            if from_logits:
                return ops.maximum(z, 0.0) - z * tf_ + ops.log1p(ops.exp(-ops.abs(z)))
            p = ops.clip(z, _EPS, 1.0 - _EPS)
            return -(tf_ * ops.log(p) + (1.0 - tf_) * ops.log(1.0 - p))
        if from_logits:
            # -log softmax(z)_y written as softplus(logsumexp_{k != y}(z_k - z_y)): the same value, but
            # its gradient has no 1 - p_y cancellation, so its sign stays exact for confident samples
            # (where float32 p_y rounds to 1 and log_softmax's gradient turns to rounding noise)
            onehot = ops.one_hot(t, y_pred.shape[-1], dtype="float32")
            z_y = ops.sum(y_pred * onehot, axis=-1, keepdims=True)
            others = ops.where(onehot > 0, -1e30, y_pred - z_y)
            return ops.softplus(ops.logsumexp(others, axis=-1))
        y_pred = ops.log(ops.clip(y_pred, _EPS, 1.0))
        return -ops.squeeze(ops.take_along_axis(y_pred, ops.expand_dims(t, -1), axis=-1), -1)

    loss.__name__ = f"cross_entropy_{'logits' if from_logits else 'probabilities'}"
    return loss


def _predicted_class_score(y_pred: Any, target: Any) -> Any:
    import keras

    return class_score(y_pred, keras.ops.argmax(y_pred, axis=-1))


# ------------------------------------------------------------------ one per backend


def _tf_gradient(model: Any, loss_fn: LossFn, training: bool) -> Callable:
    import tensorflow as tf

    def grad(trainable, non_trainable, x, target):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y_pred, _ = model.stateless_call(trainable, non_trainable, x, training=training)
            loss = tf.reduce_sum(tf.cast(loss_fn(y_pred, target), tf.float32))
        g = tape.gradient(loss, x)
        return tf.zeros_like(x) if g is None else g

    return grad


def _jax_gradient(model: Any, loss_fn: LossFn, training: bool) -> Callable:
    import jax
    import jax.numpy as jnp

    def loss_of(x, trainable, non_trainable, target):
        y_pred, _ = model.stateless_call(trainable, non_trainable, x, training=training)
        return jnp.sum(jnp.asarray(loss_fn(y_pred, target), jnp.float32))

    g = jax.grad(loss_of)
    return lambda trainable, non_trainable, x, target: g(x, trainable, non_trainable, target)


def _torch_gradient(model: Any, loss_fn: LossFn, training: bool) -> Callable:
    import torch

    def grad(trainable, non_trainable, x, target):
        x = x.detach().clone().requires_grad_(True)
        y_pred, _ = model.stateless_call(trainable, non_trainable, x, training=training)
        (g,) = torch.autograd.grad(loss_fn(y_pred, target).float().sum(), [x], allow_unused=True)
        return torch.zeros_like(x) if g is None else g

    return grad


_BACKENDS = {"tensorflow": _tf_gradient, "jax": _jax_gradient, "torch": _torch_gradient}


def _backend_gradient(model: Any, loss_fn: LossFn, training: bool) -> Callable:
    import keras

    backend = keras.backend.backend()
    if backend not in _BACKENDS:
        raise NotImplementedError(f"input gradients are not available on the {backend} backend")
    return _BACKENDS[backend](model, loss_fn, training)


# ------------------------------------------------------------------ logits


class _View:
    """The model to differentiate and where its variable values come from: the model
    itself, or its logits view (the output layer without its softmax / sigmoid)."""

    def __init__(self, model: Any, trainable_index: list[int], non_trainable_index: list[int]):
        self.model, self.trainable_index, self.non_trainable_index = model, trainable_index, non_trainable_index

    def values(self, trainable: Sequence[Any], non_trainable: Sequence[Any]) -> tuple[list, list]:
        return [trainable[i] for i in self.trainable_index], [non_trainable[i] for i in self.non_trainable_index]


def _model_cache(model: Any, name: str) -> dict:
    """A dict kept on the model itself (so it lives and dies with it), outside Keras' tracking."""
    cache = model.__dict__.get(name)
    if cache is None:
        cache = {}
        object.__setattr__(model, name, cache)
    return cache


def _output_layer(model: Any) -> Any:
    history = getattr(model.outputs[0], "_keras_history", None) if getattr(model, "outputs", None) else None
    return history[0] if history else (model.layers[-1] if model.layers else None)


def _logits_view(model: Any) -> _View | None:
    """A functional model from the same inputs to the output layer's pre-activation
    values, or None when the output is no softmax / sigmoid (already logits). Its
    own output layer copy reads the original layer's variables (by index)."""
    import keras

    layer = _output_layer(model)
    if layer is None or len(getattr(model, "outputs", ()) or ()) != 1 or not getattr(model, "inputs", None):
        return None
    name = type(layer).__name__
    act = getattr(getattr(layer, "activation", None), "__name__", None)
    if name == "Softmax":
        outputs, twin = layer.input, None
    elif act in ("softmax", "sigmoid"):
        twin = type(layer).from_config({**layer.get_config(), "activation": "linear",
                                        "name": f"{layer.name}_logits"})
        outputs = twin(layer.input)
    else:
        return None
    view = keras.Model(model.inputs, outputs)
    trainable = {id(v): i for i, v in enumerate(model.trainable_variables)}
    non_trainable = {id(v): i for i, v in enumerate(model.non_trainable_variables)}
    if twin is not None:  # the copy's variables read the original layer's
        for mine, theirs in zip(twin.weights, layer.weights):
            trainable.setdefault(id(mine), trainable.get(id(theirs)))
            non_trainable.setdefault(id(mine), non_trainable.get(id(theirs)))
    try:
        return _View(view, [trainable[id(v)] for v in view.trainable_variables],
                     [non_trainable[id(v)] for v in view.non_trainable_variables])
    except KeyError:  # a variable we cannot map (a frozen output layer copy): no view
        return None


def _view(model: Any, logits: bool) -> _View:
    per_model = _model_cache(model, "_dlstudio_views")
    if logits not in per_model:
        view = _logits_view(model) if logits else None
        per_model[logits] = view or _View(model, list(range(len(model.trainable_variables))),
                                          list(range(len(model.non_trainable_variables))))
    return per_model[logits]


def has_logits(model: Any) -> bool:
    """Whether ``logits=True`` gives pre-activation values (the output is softmax / sigmoid
    and can be looked behind), rather than the outputs themselves."""
    return _view(model, True).model is not model


def model_logits(model: Any, x: Any, batch_size: int = 256) -> np.ndarray:
    """The output layer's values before its softmax / sigmoid (the outputs themselves
    when it has none), in inference mode, as numpy."""
    import keras

    view = _view(model, True)
    x = np.asarray(x, np.float32)
    out = []
    for i in range(0, len(x), batch_size):
        values = view.values([v.value for v in model.trainable_variables],
                             [v.value for v in model.non_trainable_variables])
        y, _ = view.model.stateless_call(*values, keras.ops.convert_to_tensor(x[i:i + batch_size]), training=False)
        out.append(np.asarray(keras.ops.convert_to_numpy(y), np.float32))
    return np.concatenate(out) if out else np.zeros((0,), np.float32)


def tensor_input_gradient(model: Any, x: Any, target: Any, loss_fn: LossFn, trainable: Any = None,
                          non_trainable: Any = None, training: bool = False, logits: bool = False) -> Any:
    """d sum(loss_fn(model(x), target)) / d x on backend tensors, for use inside a
    traced step. ``trainable`` / ``non_trainable``: the values of the model's
    variables to use (a JAX train step passes its state); default: the current
    values. ``logits=True``: ``loss_fn`` sees the output layer's pre-activation values."""
    if trainable is None:
        trainable = [v.value for v in model.trainable_variables]
    if non_trainable is None:
        non_trainable = [v.value for v in model.non_trainable_variables]
    view = _view(model, logits)
    return _backend_gradient(view.model, loss_fn, training)(*view.values(trainable, non_trainable), x, target)


# ------------------------------------------------------------------ numpy in, numpy out

GradientFunction = Callable[[Any, Any], np.ndarray]
_CACHE_PER_MODEL = 16


def _compiled(model: Any, loss_fn: LossFn, training: bool, logits: bool) -> GradientFunction:
    import keras

    backend = keras.backend.backend()
    view = _view(model, logits)
    grad = _backend_gradient(view.model, loss_fn, training)
    if backend == "tensorflow":
        import tensorflow as tf

        grad = tf.function(grad, reduce_retracing=True)
    elif backend == "jax":
        import jax

        grad = jax.jit(grad)

    def f(x: Any, target: Any) -> np.ndarray:
        x = keras.ops.convert_to_tensor(np.asarray(x, np.float32))
        target = keras.ops.convert_to_tensor(np.asarray(target))
        values = view.values([v.value for v in model.trainable_variables],
                             [v.value for v in model.non_trainable_variables])
        return np.asarray(keras.ops.convert_to_numpy(grad(*values, x, target)), np.float32)

    return f


def input_gradient_function(model: Any, loss_fn: LossFn | None = None, training: bool = False,
                            logits: bool = False) -> GradientFunction:
    """``f(x, target) -> d sum(loss_fn(model(x), target)) / d x`` (numpy), traced once
    per model and loss function and reading the current weights on every call.
    ``loss_fn=None``: the output for class ``target``. ``logits=True``: ``loss_fn``
    sees the pre-softmax / pre-sigmoid values (see :func:`has_logits`)."""
    loss_fn = loss_fn or class_score
    per_model = _model_cache(model, "_dlstudio_input_gradients")
    key = (loss_fn, bool(training), bool(logits))
    if key not in per_model:
        if len(per_model) >= _CACHE_PER_MODEL:
            per_model.pop(next(iter(per_model)))
        per_model[key] = _compiled(model, loss_fn, bool(training), bool(logits))
    return per_model[key]


def input_gradient(model: Any, x: Any, target: Any = None, loss_fn: LossFn | None = None,
                   training: bool = False, logits: bool = False) -> np.ndarray:
    """d loss / d x as a float32 numpy array shaped like ``x``.

    ``loss_fn(y_pred, target)``: a per-sample (or scalar) loss in ``keras.ops``,
    summed over the batch, e.g. ``cross_entropy()`` for attacks. Without it the
    loss is the output for class ``target`` (an int or one int per sample; None:
    each sample's predicted class), i.e. a saliency map.

    ``logits=True`` differentiates the output layer's values *before* its softmax
    or sigmoid (when it has one): saturated probabilities have gradients that
    underflow to exactly zero in float32, logits do not. Use it with
    ``cross_entropy(from_logits=True)`` or for saliency of class scores."""
    x = np.asarray(x, np.float32)
    if loss_fn is None and target is None:
        return input_gradient_function(model, _predicted_class_score, training, logits)(
            x, np.zeros(len(x), np.int32))
    if target is None:
        raise ValueError("a loss function needs a target (the labels, or the classes to aim for)")
    target = np.asarray(target)
    if target.ndim == 0:
        target = np.full(len(x), target, dtype=target.dtype)
    return input_gradient_function(model, loss_fn, training, logits)(x, target)
