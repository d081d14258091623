"""Adversarial examples, numpy in, numpy out: small, coordinated input changes
that flip a classifier's prediction (Goodfellow et al.'s linearity argument).

- :func:`fgsm` — the fast gradient sign method: one step of size ``eps`` along
  ``sign(d loss / d x)`` (``x_adv = x + eps * sign(grad)``); targeted: one step
  *down* the loss of the target class.
- :func:`pgd` — projected gradient descent: ``steps`` sign steps of
  ``step_size``, each projected back into the L∞ ball of radius ``eps`` around
  ``x`` and into the valid range; ``random_start=False`` is BIM (the basic
  iterative method), see :func:`bim`.
- :func:`deepfool` — the smallest (L2) step across the nearest decision
  boundary of a linearised model; no ``eps`` unless one is given to bound it.
- :func:`attack` — any of them by name (:data:`METHODS`).

Every attack keeps ``|x_adv - x| <= eps`` element-wise and, for inputs inside
``clip`` (default (0, 1)), ``x_adv`` inside ``clip``; ``clip=None`` leaves the
range open. Attacks run in batches of ``batch_size`` with the model in
inference mode. Gradients come from :mod:`dlstudio.inference.input_gradients`;
the primitives that adversarial training shares with the attacks (the error,
the eps check, the projection, the loss) from :mod:`dlstudio.inference.perturbation`,
the valid range of a dataset from :func:`dlstudio.runs.valid_range`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dlstudio.compile.outputs import output_is_probability, to_probabilities
from dlstudio.inference.input_gradients import LossFn, input_gradient, model_logits
from dlstudio.inference.perturbation import AttackError, check_eps, model_loss, project

#: Attack names for :func:`attack`, the CLI and the panel.
METHODS = ("fgsm", "pgd", "bim", "deepfool")
#: What each attack does, for the panel ({n}: input values, {steps}: PGD/BIM steps).
DESCRIPTIONS = {
    "fgsm": "FGSM moves every input value by exactly \u03b5 in the direction that raises the loss: "
            "x\u2032 = x + \u03b5\u00b7sign(\u2207\u2093 loss). Each change is tiny, but the model is nearly "
            "linear in its input, so {n:,} coordinated changes add up (Goodfellow et al., 2015).",
    "pgd": "PGD takes {steps} small sign steps from a random point of the \u03b5-box around the image, projecting "
           "back into the box after each: a stronger search for the worst input within the same budget "
           "(Madry et al., 2018).",
    "bim": "BIM takes {steps} small sign steps from the image itself, projecting back into the \u03b5-box after each.",
    "deepfool": "DeepFool linearises the model and steps to the nearest decision boundary, again and again until "
                "the prediction changes: a small (L2) perturbation; \u03b5 only bounds it.",
}
TARGETED_DESCRIPTION = (" Targeted: the steps go down the loss of the chosen class instead of up the loss of "
                        "the true one.")


# ------------------------------------------------------------------ helpers


def predict_proba(model: Any, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """Class probabilities (N, C) in inference mode; one sigmoid unit gives two columns."""
    x = np.asarray(x, np.float32)
    if len(x) == 0:
        return np.zeros((0, 0))
    outs = [np.asarray(model(x[i:i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    return to_probabilities(np.concatenate(outs), output_is_probability(model))


def _targets(x: np.ndarray, y: Any, targeted: bool, target: Any) -> np.ndarray:
    """The classes whose loss the attack works on: the labels (untargeted) or the target."""
    if targeted:
        if target is None:
            raise AttackError("a targeted attack needs a target class")
        t = np.asarray(target)
        return np.full(len(x), int(t), np.int64) if t.ndim == 0 else t.astype(np.int64)
    if y is None:
        raise AttackError("an untargeted attack needs the true labels y")
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] > 1:  # one-hot rows
        y = y.argmax(axis=1)
    return y.reshape(len(x)).astype(np.int64)


def _batched(fn: Callable[..., np.ndarray], x: np.ndarray, t: np.ndarray, batch_size: int) -> np.ndarray:
    if len(x) == 0:
        return x.copy()
    return np.concatenate([fn(x[i:i + batch_size], t[i:i + batch_size], i) for i in range(0, len(x), batch_size)])


# ------------------------------------------------------------------ attacks


def fgsm(model: Any, x: Any, y: Any, eps: float, targeted: bool = False, target: Any = None,
         clip: Any = (0.0, 1.0), loss_fn: LossFn | None = None, batch_size: int = 256) -> np.ndarray:
    """Fast gradient sign method: ``x + eps * sign(d loss(y) / d x)``, or for a targeted
    attack ``x - eps * sign(d loss(target) / d x)``; then clipped to ``clip``."""
    eps = check_eps(eps)
    x = np.asarray(x, np.float32)
    t = _targets(x, y, targeted, target)
    loss_fn = loss_fn or model_loss(model)
    direction = -1.0 if targeted else 1.0

    def step(xb, tb, _):
        g = input_gradient(model, xb, tb, loss_fn, logits=True)
        return project(xb + direction * eps * np.sign(g), xb, eps, clip)

    return _batched(step, x, t, batch_size)


def pgd(model: Any, x: Any, y: Any, eps: float, steps: int = 10, step_size: float | None = None,
        random_start: bool = True, targeted: bool = False, target: Any = None, clip: Any = (0.0, 1.0),
        loss_fn: LossFn | None = None, seed: int = 0, batch_size: int = 256) -> np.ndarray:
    """Projected gradient descent (Madry et al.): from a random point of the eps-ball
    (or from ``x`` itself: BIM), ``steps`` sign steps of ``step_size`` (default
    ``2.5 * eps / steps``), each projected into the eps-ball and ``clip``."""
    eps = check_eps(eps)
    steps = int(steps)
    if steps < 1:
        raise AttackError(f"steps must be at least 1 (got {steps})")
    alpha = 2.5 * eps / steps if step_size is None else float(step_size)
    x = np.asarray(x, np.float32)
    t = _targets(x, y, targeted, target)
    loss_fn = loss_fn or model_loss(model)
    direction = -1.0 if targeted else 1.0
    rng = np.random.default_rng(seed)

    def run(xb, tb, _):
        xa = xb
        if random_start and eps > 0:
            xa = project(xb + rng.uniform(-eps, eps, xb.shape).astype(np.float32), xb, eps, clip)
        for _step in range(steps):
            g = input_gradient(model, xa, tb, loss_fn, logits=True)
            xa = project(xa + direction * alpha * np.sign(g), xb, eps, clip)
        return xa

    return _batched(run, x, t, batch_size)


def bim(model: Any, x: Any, y: Any, eps: float, steps: int = 10, **kwargs: Any) -> np.ndarray:
    """The basic iterative method: PGD from ``x`` itself (no random start)."""
    return pgd(model, x, y, eps, steps=steps, random_start=False, **kwargs)


def deepfool(model: Any, x: Any, y: Any = None, eps: float | None = None, max_iter: int = 50,
             overshoot: float = 0.02, clip: Any = (0.0, 1.0), num_classes: int | None = None,
             batch_size: int = 256, **_: Any) -> np.ndarray:
    """DeepFool (Moosavi-Dezfooli et al.): step each sample across the nearest boundary of
    the model linearised around it, until its predicted class changes (or ``max_iter``).
    ``y`` is unused (the attack starts from the prediction); ``eps`` bounds the result in L∞.
    Works on the logits (behind the softmax); costs one gradient per class and step."""
    x = np.asarray(x, np.float32)
    eps = None if eps is None else check_eps(eps)

    def scores_of(xs):  # logits as (n, C); one logit z becomes the two scores (0, z)
        z = model_logits(model, xs)
        return np.concatenate([np.zeros_like(z), z], axis=1) if z.shape[1] == 1 else z

    def gradients_of(xs, c):
        if c == 2 and model_logits(model, xs[:1]).shape[1] == 1:
            g = input_gradient(model, xs, np.zeros(len(xs), np.int64), logits=True)
            return np.stack([np.zeros_like(g), g], axis=1)
        return np.stack([input_gradient(model, xs, np.full(len(xs), k), logits=True) for k in range(c)], axis=1)

    def run(xb, _tb, _i):
        start = scores_of(xb).argmax(axis=1)
        r_total = np.zeros_like(xb)
        active = np.ones(len(xb), bool)
        xa = xb.copy()
        for _it in range(int(max_iter)):
            if not active.any():
                break
            idx = np.nonzero(active)[0]
            xi, k0, rows = xa[idx], start[idx], np.arange(len(idx))
            scores = scores_of(xi)
            c = scores.shape[1]
            w = gradients_of(xi, c)
            w = w - w[rows, k0][:, None]  # (n, C, ...): w_k = grad f_k - grad f_k0
            f = scores - scores[rows, k0][:, None]  # (n, C)
            norms = np.sqrt((w.reshape(len(idx), c, -1) ** 2).sum(-1)) + 1e-8
            dist = np.abs(f) / norms
            dist[rows, k0] = np.inf
            best = dist.argmin(axis=1)
            step = ((dist[rows, best] + 1e-4) / norms[rows, best])[:, None] * w[rows, best].reshape(len(idx), -1)
            r_total[idx] += step.reshape(xi.shape)
            xa[idx] = xb[idx] + (1 + overshoot) * r_total[idx]
            if clip is not None:
                xa[idx] = np.clip(xa[idx], clip[0], clip[1])
            active[idx] = scores_of(xa[idx]).argmax(axis=1) == k0
        return xa if eps is None else project(xa, xb, eps, clip)

    return _batched(run, x, np.zeros(len(x), np.int64), batch_size)


def attack(model: Any, x: Any, y: Any, method: str, eps: float, **kwargs: Any) -> np.ndarray:
    """``x_adv`` for ``method`` in :data:`METHODS` (keyword arguments go to that attack)."""
    method = str(method).lower()
    if method == "fgsm":
        kwargs = {k: v for k, v in kwargs.items() if k not in ("steps", "step_size", "random_start", "seed")}
        return fgsm(model, x, y, eps, **kwargs)
    if method == "pgd":
        return pgd(model, x, y, eps, **kwargs)
    if method == "bim":
        kwargs.pop("random_start", None)
        return bim(model, x, y, eps, **kwargs)
    if method == "deepfool":
        if kwargs.get("targeted"):
            raise AttackError("DeepFool is untargeted; choose FGSM or PGD for a targeted attack")
        return deepfool(model, x, y, eps, clip=kwargs.get("clip", (0.0, 1.0)),
                        batch_size=kwargs.get("batch_size", 256))
    raise AttackError(f"unknown attack {method!r}; choose one of {', '.join(METHODS)}")
