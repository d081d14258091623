"""The GAN losses, in ``keras.ops`` (the same on every backend).

D's score is a logit or, when the discriminator ends in a sigmoid, a
probability (``from_logits`` says which). Targets: real 1 (or ``1 -
label_smoothing``, one-sided smoothing: fakes stay 0), fake 0.

- discriminator: BCE(real, 1 - s) + BCE(fake, 0)
- generator, non-saturating (Goodfellow 2014's practical choice): BCE(fake, 1),
  i.e. maximise log D(G(z)) -- strong gradients while D still wins easily;
- generator, minimax (the original game): -BCE(fake, 0) = minimise log(1 - D(G(z)))
  -- its gradient vanishes when D rejects the fakes confidently (try it).
"""

from __future__ import annotations

from typing import Any


def _bce(target: float, scores: Any, from_logits: bool) -> Any:
    from keras import ops

    return ops.mean(ops.binary_crossentropy(ops.full_like(scores, target), scores, from_logits=from_logits))


def probability(scores: Any, from_logits: bool) -> Any:
    """Mean D(x): the discriminator's average belief that ``scores`` came from real data."""
    from keras import ops

    return ops.mean(ops.sigmoid(scores) if from_logits else scores)


def discriminator_loss(real_scores: Any, fake_scores: Any, from_logits: bool, label_smoothing: float = 0.0) -> Any:
    return _bce(1.0 - label_smoothing, real_scores, from_logits) + _bce(0.0, fake_scores, from_logits)


def generator_loss(fake_scores: Any, from_logits: bool, kind: str = "non_saturating") -> Any:
    if kind == "minimax":
        return -_bce(0.0, fake_scores, from_logits)
    return _bce(1.0, fake_scores, from_logits)
