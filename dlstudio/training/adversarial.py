"""Adversarial training: the ``adversarial`` training option's hook.

:func:`install_adversarial_training` makes ``model.fit`` replace a share of
every batch by FGSM or PGD examples made with the current weights
(:func:`dlstudio.inference.perturbation.perturb_batch`); the engine calls it
before fitting. :func:`transform_training_batches` is the general hook into
Keras' ``train_step`` it uses.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from dlstudio.inference.input_gradients import LossFn
from dlstudio.inference.perturbation import (
    TRAINING_METHODS,
    AttackError,
    check_eps,
    model_loss,
    perturb_batch,
)


def training_loss(model: Any) -> LossFn:
    """``(logits, y) -> cross-entropy`` with ``y`` as the engine feeds it (class ids or one-hot rows)."""
    import keras

    ce = model_loss(model)

    def loss(y_pred: Any, y: Any) -> Any:
        ops = keras.ops
        if len(y.shape) == 2 and y.shape[-1] and y.shape[-1] > 1:
            y = ops.argmax(y, axis=-1)
        return ce(y_pred, ops.reshape(y, (-1,)))

    return loss


def transform_training_batches(model: Any, transform: Callable[[Any, Any, Any, Any], Any]) -> None:
    """Make ``model.fit`` train on ``transform(x, y, trainable, non_trainable)``
    instead of each batch's ``x`` (adversarial training). The transform gets
    backend tensors and the current variable values (JAX: the step's state), so
    it can take :func:`~dlstudio.inference.input_gradients.tensor_input_gradient`;
    everything else (loss, metrics, optimizer, callbacks) is Keras' own
    ``train_step``. Call before ``fit``."""
    import keras

    unpack, pack = keras.utils.unpack_x_y_sample_weight, keras.utils.pack_x_y_sample_weight
    original = model.train_step
    if keras.backend.backend() == "jax":
        def train_step(state, data):
            x, y, sample_weight = unpack(data)
            return original(state, pack(transform(x, y, state[0], state[1]), y, sample_weight))
    else:
        def train_step(data):
            x, y, sample_weight = unpack(data)
            return original(pack(transform(x, y, None, None), y, sample_weight))
    model.train_step = train_step
    model.train_function = None  # traced again with the new step


def install_adversarial_training(model: Any, method: str, eps: float, ratio: float = 0.5,
                                 clip: Sequence[float] | None = (0.0, 1.0)) -> None:
    """Make ``model.fit`` (compiled) replace a ``ratio`` share of every batch by adversarial
    examples made with the current weights: ``fgsm`` (one step of eps) or ``pgd``
    (:data:`~dlstudio.inference.perturbation.TRAINING_PGD_STEPS` sign steps of eps/2 from
    the clean batch), kept in the eps-ball and ``clip``. Loss, metrics and callbacks see
    the mixed batch."""
    if method not in TRAINING_METHODS:
        raise AttackError(f"adversarial training supports {', '.join(TRAINING_METHODS)} (got {method!r})")
    eps, ratio = check_eps(eps), float(ratio)
    if not 0.0 <= ratio <= 1.0:
        raise AttackError(f"the adversarial ratio must lie in [0, 1] (got {ratio})")
    loss_fn = training_loss(model)
    clip = None if clip is None else (float(clip[0]), float(clip[1]))

    def transform(x, y, trainable, non_trainable):
        return perturb_batch(model, x, y, method, eps, ratio, clip, loss_fn, trainable, non_trainable)

    transform_training_batches(model, transform)
