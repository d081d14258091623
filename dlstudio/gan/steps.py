"""The backend-neutral face of the GAN gradient steps.

``make_steps`` picks the module of the running Keras backend
(``steps_tensorflow`` or ``steps_jax``); each builds the two updates:

- ``d_step(real, z) -> (d_loss, mean D(real), mean D(G(z)))``: one
  discriminator update on a real batch and a batch of fakes made from ``z``;
- ``g_step(z) -> g_loss``: one generator update through the (frozen) discriminator.

Both take numpy float32 arrays and return Python floats; the models' weights
and the optimizers' state change in place.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Steps:
    d_step: Callable[[Any, Any], tuple[float, float, float]]
    g_step: Callable[[Any], float]
    sync: Callable[[], None] = lambda: None  # write state kept outside the models back into them


def make_steps(generator: Any, discriminator: Any, g_optimizer: Any, d_optimizer: Any, *,
               from_logits: bool, loss: str = "non_saturating", label_smoothing: float = 0.0) -> Steps:
    import keras

    backend = keras.backend.backend()
    if backend == "tensorflow":
        from dlstudio.gan.steps_tensorflow import make_steps as make
    elif backend == "jax":
        from dlstudio.gan.steps_jax import make_steps as make
    else:
        raise NotImplementedError(f"GAN training runs on TensorFlow and JAX, not on Keras' {backend} backend")
    return make(generator, discriminator, g_optimizer, d_optimizer, from_logits=from_logits, loss=loss,
                label_smoothing=label_smoothing)
