"""The GAN gradient steps on JAX: pure functions of the weights, ``jax.value_and_grad``
over Keras' ``stateless_call`` and the optimizers' ``stateless_apply``, jitted.

The weights live in this module's ``state`` between steps (JAX arrays are
immutable); ``Steps.sync()`` writes them back into the Keras variables, which
the training loop does before it samples, checkpoints or reads the weights.
"""

from __future__ import annotations

from typing import Any

from dlstudio.gan import losses
from dlstudio.gan.steps import Steps


def _values(variables) -> list:
    return [v.value for v in variables]


def make_steps(generator: Any, discriminator: Any, g_optimizer: Any, d_optimizer: Any, *,
               from_logits: bool, loss: str, label_smoothing: float) -> Steps:
    import jax

    G, D = generator, discriminator
    g_optimizer.build(G.trainable_variables)
    d_optimizer.build(D.trainable_variables)
    state = {
        "g_tv": _values(G.trainable_variables), "g_ntv": _values(G.non_trainable_variables),
        "d_tv": _values(D.trainable_variables), "d_ntv": _values(D.non_trainable_variables),
        "g_ov": _values(g_optimizer.variables), "d_ov": _values(d_optimizer.variables),
    }

    def d_loss(d_tv, d_ntv, g_tv, g_ntv, real, z):
        fake, g_ntv = G.stateless_call(g_tv, g_ntv, z, training=True)
        real_scores, d_ntv = D.stateless_call(d_tv, d_ntv, real, training=True)
        fake_scores, d_ntv = D.stateless_call(d_tv, d_ntv, jax.lax.stop_gradient(fake), training=True)
        value = losses.discriminator_loss(real_scores, fake_scores, from_logits, label_smoothing)
        return value, (d_ntv, g_ntv, losses.probability(real_scores, from_logits),
                       losses.probability(fake_scores, from_logits))

    @jax.jit
    def d_step(d_tv, d_ntv, d_ov, g_tv, g_ntv, real, z):
        (value, (d_ntv, g_ntv, p_real, p_fake)), grads = jax.value_and_grad(d_loss, has_aux=True)(
            d_tv, d_ntv, g_tv, g_ntv, real, z)
        d_tv, d_ov = d_optimizer.stateless_apply(d_ov, grads, d_tv)
        return d_tv, d_ntv, d_ov, g_ntv, value, p_real, p_fake

    def g_loss(g_tv, g_ntv, d_tv, d_ntv, z):
        fake, g_ntv = G.stateless_call(g_tv, g_ntv, z, training=True)
        scores, d_ntv = D.stateless_call(d_tv, d_ntv, fake, training=True)
        return losses.generator_loss(scores, from_logits, loss), (g_ntv, d_ntv)

    @jax.jit
    def g_step(g_tv, g_ntv, g_ov, d_tv, d_ntv, z):
        (value, (g_ntv, d_ntv)), grads = jax.value_and_grad(g_loss, has_aux=True)(g_tv, g_ntv, d_tv, d_ntv, z)
        g_tv, g_ov = g_optimizer.stateless_apply(g_ov, grads, g_tv)
        return g_tv, g_ntv, g_ov, d_ntv, value

    def d(real, z):
        s = state
        s["d_tv"], s["d_ntv"], s["d_ov"], s["g_ntv"], value, p_real, p_fake = d_step(
            s["d_tv"], s["d_ntv"], s["d_ov"], s["g_tv"], s["g_ntv"], real, z)
        return float(value), float(p_real), float(p_fake)

    def g(z):
        s = state
        s["g_tv"], s["g_ntv"], s["g_ov"], s["d_ntv"], value = g_step(
            s["g_tv"], s["g_ntv"], s["g_ov"], s["d_tv"], s["d_ntv"], z)
        return float(value)

    def sync():
        for variables, key in ((G.trainable_variables, "g_tv"), (G.non_trainable_variables, "g_ntv"),
                               (D.trainable_variables, "d_tv"), (D.non_trainable_variables, "d_ntv"),
                               (g_optimizer.variables, "g_ov"), (d_optimizer.variables, "d_ov")):
            for variable, value in zip(variables, state[key]):
                variable.assign(value)

    return Steps(d, g, sync)
