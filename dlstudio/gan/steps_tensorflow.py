"""The GAN gradient steps on TensorFlow (``tf.GradientTape`` in a ``tf.function``).

The only backend-specific code of GAN training; :mod:`dlstudio.gan.steps_jax`
does the same on JAX. Both return a :class:`~dlstudio.gan.steps.Steps`.
"""

from __future__ import annotations

from typing import Any

from dlstudio.gan import losses
from dlstudio.gan.steps import Steps


def make_steps(generator: Any, discriminator: Any, g_optimizer: Any, d_optimizer: Any, *,
               from_logits: bool, loss: str, label_smoothing: float) -> Steps:
    import tensorflow as tf

    g_vars, d_vars = generator.trainable_variables, discriminator.trainable_variables
    g_optimizer.build(g_vars)
    d_optimizer.build(d_vars)

    @tf.function
    def d_step(real, z):
        fake = generator(z, training=True)
        with tf.GradientTape() as tape:
            real_scores = discriminator(real, training=True)
            fake_scores = discriminator(fake, training=True)
            d_loss = losses.discriminator_loss(real_scores, fake_scores, from_logits, label_smoothing)
        d_optimizer.apply_gradients(zip(tape.gradient(d_loss, d_vars), d_vars))
        return (d_loss, losses.probability(real_scores, from_logits),
                losses.probability(fake_scores, from_logits))

    @tf.function
    def g_step(z):
        with tf.GradientTape() as tape:
            fake_scores = discriminator(generator(z, training=True), training=True)
            g_loss = losses.generator_loss(fake_scores, from_logits, loss)
        g_optimizer.apply_gradients(zip(tape.gradient(g_loss, g_vars), g_vars))
        return g_loss

    def d(real, z):
        return tuple(float(v) for v in d_step(tf.convert_to_tensor(real), tf.convert_to_tensor(z)))

    def g(z):
        return float(g_step(tf.convert_to_tensor(z)))

    return Steps(d, g)
