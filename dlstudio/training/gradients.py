"""Gradient flow: how large the gradients are, layer by layer, while training.

The vanishing-gradient demo: in a deep sigmoid MLP the first layers' gradients
are orders of magnitude smaller than the last layer's; ReLU with He
initialisation and batch normalisation keeps them within a small factor.

``gradient_magnitudes(model, x, y)`` measures it once; the ``GradientFlow``
callback measures it every few batches on a fixed small batch and emits
``gradient_events.GradientFlow`` events. The gradients are taken through
``model.stateless_call`` (so batch-norm statistics, dropout seeds and the
weights are left untouched); the only backend-specific code is one small
function per backend (``_tf_gradient_function``, ``_jax_gradient_function``,
``_torch_gradient_function``) that ``gradient_function`` picks.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import keras
import numpy as np

from dlstudio.training import gradient_events

#: Variable names that count as a layer's "kernel" (the weights, not biases or BN scales).
KERNEL_NAMES = ("kernel", "depthwise_kernel", "pointwise_kernel", "embeddings")


def kernel_variables(model: Any) -> tuple[list[str], list[int]]:
    """(layer names, positions in ``model.trainable_variables``) of every trainable
    layer's kernel, in the model's layer order (the input side first)."""
    positions = {id(v): i for i, v in enumerate(model.trainable_variables)}
    names, index = [], []
    for layer in _layers(model):
        for v in layer.trainable_weights:
            if v.name in KERNEL_NAMES and id(v) in positions:
                names.append(layer.name)
                index.append(positions[id(v)])
                break  # one kernel per layer (an LSTM's input kernel, not its recurrent one)
    return names, index


def _layers(model: Any) -> list[Any]:
    """Leaf layers in order, nested models flattened."""
    out = []
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers and type(layer).__name__ in ("Functional", "Sequential", "Model"):
            out.extend(_layers(layer))
        else:
            out.append(layer)
    return out


def _loss_function(model: Any, loss: Any = None) -> Callable[[Any, Any], Any]:
    loss = loss if loss is not None else getattr(model, "loss", None)
    if loss is None:
        raise ValueError("the model is not compiled with a loss; pass loss=... to measure gradients")
    fn = keras.losses.get(loss) if isinstance(loss, (str, dict)) else loss
    return lambda y, y_pred: keras.ops.mean(fn(y, y_pred))


GradientFunction = Callable[[Any, Any], list[np.ndarray]]


def _tf_gradient_function(model: Any, loss_fn: Callable, index: Sequence[int]) -> GradientFunction:
    """TensorFlow: one traced function (GradientTape over ``stateless_call``) reading the
    current weights each call; 5-10x cheaper than running it eagerly."""
    import tensorflow as tf

    index = list(index)

    @tf.function(reduce_retracing=True)
    def gradients(x, y):
        trainable = [tf.identity(v.value) for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        with tf.GradientTape() as tape:
            tape.watch(trainable)
            y_pred, _ = model.stateless_call(trainable, non_trainable, x, training=True)
            loss = loss_fn(y, y_pred)
        grads = tape.gradient(loss, [trainable[i] for i in index])
        return [tf.zeros_like(trainable[i]) if g is None else g for i, g in zip(index, grads)]

    return lambda x, y: [np.asarray(g) for g in gradients(x, y)]


def _jax_gradient_function(model: Any, loss_fn: Callable, index: Sequence[int]) -> GradientFunction:
    import jax

    index = list(index)

    def loss_of(trainable, non_trainable, x, y):
        y_pred, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        return loss_fn(y, y_pred)

    grad = jax.jit(jax.grad(loss_of))

    def gradients(x, y):
        g = grad([v.value for v in model.trainable_variables], [v.value for v in model.non_trainable_variables],
                 x, y)
        return [np.asarray(g[i]) for i in index]

    return gradients


def _torch_gradient_function(model: Any, loss_fn: Callable, index: Sequence[int]) -> GradientFunction:
    import torch

    index = list(index)

    def gradients(x, y):
        trainable = [v.value.detach().clone().requires_grad_(True) for v in model.trainable_variables]
        non_trainable = [v.value for v in model.non_trainable_variables]
        y_pred, _ = model.stateless_call(trainable, non_trainable, x, training=True)
        grads = torch.autograd.grad(loss_fn(y, y_pred), [trainable[i] for i in index], allow_unused=True)
        return [np.zeros(tuple(trainable[i].shape), np.float32) if g is None else g.detach().cpu().numpy()
                for i, g in zip(index, grads)]

    return gradients


_BACKENDS = {"tensorflow": _tf_gradient_function, "jax": _jax_gradient_function,
             "torch": _torch_gradient_function}


def gradient_function(model: Any, loss: Any = None) -> tuple[list[str], GradientFunction]:
    """(layer names, ``f(x, y) -> kernel gradients``) for the mean loss on a batch; the
    only backend-specific step. ``f`` reads the model's current weights on every call."""
    backend = keras.backend.backend()
    if backend not in _BACKENDS:
        raise NotImplementedError(f"gradient flow is not available on the {backend} backend")
    names, index = kernel_variables(model)
    return names, _BACKENDS[backend](model, _loss_function(model, loss), index)


def layer_gradients(model: Any, x: Any, y: Any, loss: Any = None) -> tuple[list[str], list[np.ndarray]]:
    """(layer names, kernel gradients) of the mean loss on the batch ``(x, y)``."""
    names, gradients = gradient_function(model, loss)
    return names, gradients(x, y)


def _mean_abs(grads: Sequence[np.ndarray]) -> tuple[float, ...]:
    return tuple(float(np.mean(np.abs(g))) if g.size else 0.0 for g in grads)


def gradient_magnitudes(model: Any, x: Any, y: Any, loss: Any = None) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """(layer names, mean |gradient| of each layer's kernel), the input side first."""
    names, grads = layer_gradients(model, x, y, loss)
    return tuple(names), _mean_abs(grads)


class GradientFlow(keras.callbacks.Callback):
    """Every ``every_n_batches`` training steps (the first included), emit the mean
    absolute kernel gradient per layer on the fixed batch ``(sample_x, sample_y)``
    as a ``gradient_events.GradientFlow`` event. Measuring leaves the weights, the
    optimizer and batch-norm statistics untouched.

    One measurement costs about one training step on ``max_samples`` samples (3 ms
    for the digits CNN on 2 CPU cores), so every 10 batches of 32 adds ~5-10% to
    the training time; use a larger ``every_n_batches`` for small, fast models."""

    def __init__(self, sample_x: Any, sample_y: Any, every_n_batches: int = 10,
                 emit: Callable[[object], None] = lambda e: None, loss: Any = None, max_samples: int = 64):
        super().__init__()
        if int(every_n_batches) < 1:
            raise ValueError(f"every_n_batches must be at least 1 (got {every_n_batches})")
        self.sample_x = np.asarray(sample_x)[:max_samples]
        self.sample_y = np.asarray(sample_y)[:max_samples]
        self.every_n_batches, self.emit, self.loss = int(every_n_batches), emit, loss
        self.step = 0
        self._plan: tuple[list[str], GradientFunction, Any, Any] | None = None

    def measure(self) -> gradient_events.GradientFlow:
        """The event for the model's current weights (emits nothing)."""
        if self._plan is None:  # traced once; the batch converted once (30% of a call otherwise)
            names, gradients = gradient_function(self.model, self.loss)
            self._plan = (names, gradients, keras.ops.convert_to_tensor(self.sample_x),
                          keras.ops.convert_to_tensor(self.sample_y))
        names, gradients, x, y = self._plan
        return gradient_events.GradientFlow(self.step, tuple(names), _mean_abs(gradients(x, y)))

    def on_train_batch_end(self, batch, logs=None):
        if self.step % self.every_n_batches == 0:
            self.emit(self.measure())
        self.step += 1
