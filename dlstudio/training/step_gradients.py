"""Gradient flow measured inside the training step itself: the gradients the optimizer applies.

:class:`dlstudio.training.gradients.GradientFlow` measures the gradients on a fixed batch with
an extra forward and backward pass, from a per-batch hook; a per-batch hook also makes the engine
run one step per compiled call, which halved the speed of a small model (benchmarks/throughput.py:
engine 2.0x a plain fit, engine + gradient flow 1.0x). :class:`StepGradientFlow` instead has the
optimizer record, at every step and inside the compiled step, the mean absolute gradient of each
layer's kernel (the very gradients it is applying) in a small ring of optimizer variables; the
host reads the ring once per compiled call (``batch_hooks_per_call``: the engine keeps several
steps per call) and emits a ``gradient_events.GradientFlow`` event every ``every_n_batches``
steps. No extra pass, no change to the weights or the optimizer's update.

Optimizer variables are part of the training state on every backend (TensorFlow variables; JAX
threads them through its pure step, read mid-epoch from ``model._jax_state``). The ring's
variables are left out of the saved optimizer state (``checkpoints.RECORDER_PREFIX``). A training
with a loss-scale optimizer (mixed precision, scaled gradients) or a distribution strategy
uses the fixed-batch measurement instead (``fallback``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras

from dlstudio.training import gradient_events
from dlstudio.training.batch_losses import current_value
from dlstudio.training.checkpoints import RECORDER_PREFIX
from dlstudio.training.gradients import kernel_variables


def _in_step_applies(model: Any) -> bool:
    """Whether the optimizer's own update can record (no loss scaling, no distribution)."""
    optimizer = getattr(model, "optimizer", None)
    if optimizer is None or isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return False
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if tf.distribute.has_strategy():
            return False
    return keras.distribution.distribution() is None


class StepGradientFlow(keras.callbacks.Callback):
    """Emit the mean |gradient| of each layer's kernel every ``every_n_batches`` steps, as the
    training step computed it (see the module's text). ``fallback``: a callback measuring on a
    fixed batch, used where the optimizer cannot record."""

    #: The engine may run several steps per compiled call: this hook reads all of them.
    batch_hooks_per_call = True

    def __init__(self, emit: Callable[[object], None], every_n_batches: int = 10, fallback: Any = None):
        super().__init__()
        if int(every_n_batches) < 1:
            raise ValueError(f"every_n_batches must be at least 1 (got {every_n_batches})")
        self.emit, self.every_n_batches, self.fallback = emit, int(every_n_batches), fallback
        self.names: tuple[str, ...] = ()
        self.ring = self.steps = None
        self._installed_on: Any = None  # the optimizer recording for this callback
        self._read = 0
        self._active: Any = None  # self (recording in the step) or the fallback

    def on_train_begin(self, logs=None):
        if not _in_step_applies(self.model):
            if self.fallback is None:
                raise ValueError("gradient flow inside the step needs a plain optimizer without a distribution")
            self._active = self.fallback
            self.fallback.set_model(self.model)
            self.fallback.on_train_begin(logs)
            return
        self._active = self
        if self._installed_on is not self.model.optimizer:  # a new training (this callback used again)
            self._install()

    def _install(self) -> None:
        model, optimizer = self.model, self.model.optimizer
        if not optimizer.built:
            optimizer.build(model.trainable_variables)
        names, index = kernel_variables(model)
        self.names = tuple(names)
        targets = [model.trainable_variables[i] for i in index]
        size = max(1, int(getattr(model, "steps_per_execution", 1) or 1))
        self.ring = optimizer.add_variable((size, max(1, len(targets))), initializer="zeros", dtype="float32",
                                           name=f"{RECORDER_PREFIX}ring")
        self.steps = optimizer.add_variable((), initializer="zeros", dtype="int32", name=f"{RECORDER_PREFIX}steps")
        ring, steps, apply = self.ring, self.steps, optimizer.apply
        ops = keras.ops

        def recording_apply(grads, trainable_variables=None):
            variables = list(trainable_variables) if trainable_variables is not None else optimizer._trainable_variables
            position = {id(v): i for i, v in enumerate(variables)}
            grads = list(grads)
            means = []
            for target in targets:
                g = grads[position[id(target)]] if id(target) in position else None
                means.append(ops.zeros((), "float32") if g is None else ops.mean(ops.abs(ops.cast(g, "float32"))))
            row = ops.reshape(ops.stack(means) if means else ops.zeros((1,), "float32"), (1, -1))
            at = ops.reshape(ops.mod(steps, size), (1, 1))
            ring.assign(ops.scatter_update(ring, at, row))
            steps.assign(steps + 1)
            return apply(grads, trainable_variables)

        optimizer.apply = recording_apply  # the train step calls optimizer.apply on every backend
        self._installed_on, self._read = optimizer, 0

    def on_train_batch_end(self, batch, logs=None):
        if self._active is not self:
            if self._active is not None:
                self._active.on_train_batch_end(batch, logs)
            return
        steps = int(current_value(self.model, self.steps))
        if steps <= self._read:
            return
        size = int(self.ring.shape[0])
        wanted = [s for s in range(max(self._read, steps - size), steps) if s % self.every_n_batches == 0]
        self._read = steps
        if not wanted:
            return
        ring = current_value(self.model, self.ring)
        for s in wanted:
            values = ring[s % size][:len(self.names)]
            self.emit(gradient_events.GradientFlow(s, self.names, tuple(float(v) for v in values)))

    def on_train_end(self, logs=None):
        if self._active is not None and self._active is not self:
            self._active.on_train_end(logs)
