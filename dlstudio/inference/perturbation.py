"""The adversarial perturbation primitives that attacks and adversarial training share.

- :class:`AttackError`: an attack (or adversarial training) that cannot run.
- :func:`check_eps`: a perturbation budget, checked.
- :func:`project`: back into the valid range and the L∞ ball of radius ``eps``.
- :func:`model_loss`: the per-sample cross-entropy an attack climbs, on the logits.
- :func:`perturb_batch`: FGSM / PGD versions of part of a batch on backend tensors,
  inside a traced training step (:mod:`dlstudio.training.adversarial`).

The attacks themselves (FGSM, PGD, BIM, DeepFool on numpy arrays) are
:mod:`dlstudio.insight.attacks`; the range inputs are kept in is
:func:`dlstudio.runs.valid_range`. Gradients come from
:mod:`dlstudio.inference.input_gradients`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from dlstudio.compile.outputs import output_is_probability
from dlstudio.errors import DLStudioError
from dlstudio.inference.input_gradients import LossFn, cross_entropy, has_logits, tensor_input_gradient

#: Methods that :func:`perturb_batch` (adversarial training) can mix into batches.
TRAINING_METHODS = ("fgsm", "pgd")
#: Sign steps per batch for ``adversarial="pgd"`` training (each of size eps / 2).
TRAINING_PGD_STEPS = 5


class AttackError(DLStudioError, ValueError):
    """An attack that cannot run (unknown method, bad eps, a model that is no classifier)."""


def check_eps(eps: float) -> float:
    """``eps`` as a float; AttackError unless it is a finite number >= 0."""
    eps = float(eps)
    if not np.isfinite(eps) or eps < 0:
        raise AttackError(f"eps must be a finite number >= 0 (got {eps})")
    return eps


def project(x_adv: np.ndarray, x: np.ndarray, eps: float, clip: Any = (0.0, 1.0)) -> np.ndarray:
    """``x_adv`` moved into the valid range, then into the L∞ ball of radius ``eps`` around ``x``
    (the ball wins, so ``|x_adv - x| <= eps`` always holds)."""
    out = x_adv
    if clip is not None:
        out = np.clip(out, clip[0], clip[1])
    return np.clip(out, x - eps, x + eps).astype(np.float32)


def model_loss(model: Any) -> LossFn:
    """The per-sample cross-entropy the attacks climb, on the model's logits: behind its
    softmax / sigmoid when it has one (gradients through a saturated softmax underflow to
    zero), else on its raw outputs (probabilities when it cannot look behind them)."""
    return cross_entropy(from_logits=has_logits(model) or not output_is_probability(model))


def perturb_batch(model: Any, x: Any, y: Any, method: str, eps: float, ratio: float,
                  clip: Sequence[float] | None, loss_fn: LossFn, trainable: Any = None,
                  non_trainable: Any = None) -> Any:
    """Backend tensors: the batch ``x`` with its first ``round(ratio * len(x))`` samples
    (the batches are shuffled) replaced by their FGSM / PGD versions."""
    import keras

    ops = keras.ops
    steps, alpha = (1, eps) if method == "fgsm" else (TRAINING_PGD_STEPS, eps / 2)
    x = ops.convert_to_tensor(x)
    lo, hi = x - eps, x + eps
    if clip is not None:
        lo, hi = ops.maximum(lo, clip[0]), ops.minimum(hi, clip[1])
        hi = ops.maximum(hi, lo)
    xa = x
    for _ in range(steps):
        g = tensor_input_gradient(model, xa, y, loss_fn, trainable, non_trainable, logits=True)
        xa = ops.minimum(ops.maximum(xa + alpha * ops.sign(ops.cast(g, x.dtype)), lo), hi)
    xa = ops.stop_gradient(xa)
    n = ops.shape(x)[0]
    k = ops.cast(ops.round(ratio * ops.cast(n, "float32")), "int32")
    mask = ops.reshape(ops.arange(n) < k, (-1,) + (1,) * (len(x.shape) - 1))
    return ops.where(mask, xa, x)
