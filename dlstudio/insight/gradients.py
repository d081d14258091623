"""Gradients with respect to the *input*: d loss / d x, numpy in, numpy out.

The one backend-specific module of ``dlstudio.insight``: adversarial attacks
(d cross-entropy / d x), saliency maps (d class score / d x) and adversarial
training all take their input gradients from here.

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
- Loss functions ``(y_pred, target) -> per-sample loss``: :func:`class_score`,
  :func:`cross_entropy` (integer targets; probabilities or logits).

The model is called through ``model.stateless_call``, so weights, batch-norm
statistics and dropout seeds are never changed. TensorFlow uses a
``GradientTape`` inside one ``tf.function``; JAX uses ``jax.grad`` (jitted);
PyTorch ``torch.autograd.grad``.
"""

from __future__ import annotations

import functools
import weakref
from typing import Any, Callable

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
            y_pred = ops.log_softmax(y_pred, axis=-1)
        else:
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


def tensor_input_gradient(model: Any, x: Any, target: Any, loss_fn: LossFn, trainable: Any = None,
                          non_trainable: Any = None, training: bool = False) -> Any:
    """d sum(loss_fn(model(x), target)) / d x on backend tensors, for use inside a
    traced step. ``trainable`` / ``non_trainable``: the variable values to use
    (a JAX train step passes its state); default: the model's current values."""
    if trainable is None:
        trainable = [v.value for v in model.trainable_variables]
    if non_trainable is None:
        non_trainable = [v.value for v in model.non_trainable_variables]
    return _backend_gradient(model, loss_fn, training)(trainable, non_trainable, x, target)


# ------------------------------------------------------------------ numpy in, numpy out

GradientFunction = Callable[[Any, Any], np.ndarray]
_CACHE: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()
_CACHE_PER_MODEL = 16


def _compiled(model: Any, loss_fn: LossFn, training: bool) -> GradientFunction:
    import keras

    backend = keras.backend.backend()
    grad = _backend_gradient(model, loss_fn, training)
    if backend == "tensorflow":
        import tensorflow as tf

        traced = tf.function(grad, reduce_retracing=True)

        def run(x, target):
            return traced([v.value for v in model.trainable_variables],
                          [v.value for v in model.non_trainable_variables], x, target)
    elif backend == "jax":
        import jax

        traced = jax.jit(grad)

        def run(x, target):
            return traced([v.value for v in model.trainable_variables],
                          [v.value for v in model.non_trainable_variables], x, target)
    else:
        def run(x, target):
            return grad([v.value for v in model.trainable_variables],
                        [v.value for v in model.non_trainable_variables], x, target)

    def f(x: Any, target: Any) -> np.ndarray:
        x = keras.ops.convert_to_tensor(np.asarray(x, np.float32))
        target = keras.ops.convert_to_tensor(np.asarray(target))
        return np.asarray(keras.ops.convert_to_numpy(run(x, target)), np.float32)

    return f


def input_gradient_function(model: Any, loss_fn: LossFn | None = None, training: bool = False) -> GradientFunction:
    """``f(x, target) -> d sum(loss_fn(model(x), target)) / d x`` (numpy), traced once
    per model and loss function and reading the current weights on every call.
    ``loss_fn=None``: the output for class ``target`` (None: the predicted class)."""
    loss_fn = loss_fn or class_score
    per_model = _CACHE.setdefault(model, {})
    key = (loss_fn, bool(training))
    if key not in per_model:
        if len(per_model) >= _CACHE_PER_MODEL:
            per_model.pop(next(iter(per_model)))
        per_model[key] = _compiled(model, loss_fn, bool(training))
    return per_model[key]


def input_gradient(model: Any, x: Any, target: Any = None, loss_fn: LossFn | None = None,
                   training: bool = False) -> np.ndarray:
    """d loss / d x as a float32 numpy array shaped like ``x``.

    ``loss_fn(y_pred, target)``: a per-sample (or scalar) loss in ``keras.ops``,
    summed over the batch, e.g. ``cross_entropy()`` for attacks. Without it the
    loss is the output for class ``target`` (an int or one int per sample; None:
    each sample's predicted class), i.e. a saliency map."""
    x = np.asarray(x, np.float32)
    if loss_fn is None and target is None:
        return input_gradient_function(model, _predicted_class_score, training)(x, np.zeros(len(x), np.int32))
    if target is None:
        raise ValueError("a loss function needs a target (the labels, or the classes to aim for)")
    target = np.asarray(target)
    if target.ndim == 0:
        target = np.full(len(x), target, dtype=target.dtype)
    return input_gradient_function(model, loss_fn, training)(x, target)
