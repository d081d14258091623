"""Several training steps per call (``steps_per_execution``) with every batch's own loss.

Keras' per-step Python overhead is a large part of the time of a small model
(the digits CNN on a CPU spends about as long in it as in the maths), and on a
GPU reading the loss after every step makes the host wait for every step (no
asynchronous dispatch: JAX on an H100 ran the digits CNN at 0.6-0.8x of a plain
``fit``, benchmarks/gpu_throughput.py). With ``steps_per_execution = k`` Keras
runs k steps per call and calls ``on_train_batch_end`` once per call, with the
*running mean* of the loss: the live batch-loss plot would get one averaged
point per k batches.

So :class:`StepLossTracker` replaces the model's loss tracker (Keras'
``Mean("loss")``, which every train step updates with that batch's loss, on
every backend): besides the running mean it keeps the last k batch losses in a
small ring of metric variables. Metric variables are part of the training
state on every backend (TensorFlow variables; JAX threads them through its
pure train step), so the ring fills inside the compiled step.
:meth:`StepLossTracker.take` reads the new values after each call (the
engine's event callback emits one ``BatchEnd`` per batch from them): the plots
get the same points as with k = 1, in bursts of k.

:func:`steps_per_execution` picks k from the model's cost per step (estimated
from the multiply-adds the shape pass counts), so that one call stays short
(about 30 ms): Stop still acts within a fraction of a second and the plots stay
live.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Longest wished-for call of k steps, in seconds.
TARGET_CALL_SECONDS = 0.03
MAX_STEPS = 16
#: A GPU step of a small model is mostly launch overhead: more of them per call.
MAX_GPU_STEPS = 32
#: Deliberately low estimates of a device's speed (FLOP/s): big models get k = 1.
CPU_FLOPS = 10e9
GPU_FLOPS = 10e12


def steps_per_execution(macs_per_sample: int, batch_size: int, slots: int, on_gpu: bool = False) -> int:
    """k for a model of ``macs_per_sample`` trained with ``batch_size`` (1 where it
    would not help); ``slots`` bounds it (batches per epoch)."""
    if macs_per_sample <= 0:
        return 1
    flops = GPU_FLOPS if on_gpu else CPU_FLOPS
    step_seconds = 6.0 * macs_per_sample * batch_size / flops  # forward + backward, 2 FLOP per MAC
    k = int(TARGET_CALL_SECONDS / max(step_seconds, 1e-9))
    return max(1, min(k, MAX_GPU_STEPS if on_gpu else MAX_STEPS, slots))


def _tracker_class():
    import keras

    class _StepLossTracker(keras.metrics.Mean):
        def __init__(self, k: int, name: str = "loss"):
            super().__init__(name=name)
            self.k = int(k)
            self.ring = self.add_variable(shape=(self.k,), initializer="zeros", dtype="float32",
                                          name="step_losses")
            self.steps = self.add_variable(shape=(), initializer="zeros", dtype="int32", name="steps")
            self._read = 0  # steps already taken (host side)

        def update_state(self, values, sample_weight=None):
            super().update_state(values, sample_weight=sample_weight)
            ops = keras.ops
            loss = ops.reshape(ops.cast(ops.mean(values), "float32"), (1,))
            index = ops.reshape(ops.mod(self.steps, self.k), (1, 1))
            self.ring.assign(ops.scatter_update(self.ring, index, loss))
            self.steps.assign(self.steps + 1)

        def reset_state(self):
            super().reset_state()
            self.steps.assign(0)
            self._read = 0

    return _StepLossTracker


_TRACKER = None


def StepLossTracker(k: int) -> Any:
    """A ``keras.metrics.Mean("loss")`` that also keeps the last ``k`` batch losses."""
    global _TRACKER
    if _TRACKER is None:
        _TRACKER = _tracker_class()
    return _TRACKER(k)


def install_step_losses(model: Any, k: int) -> Any:
    """Give a compiled ``model`` a :class:`StepLossTracker` (before ``fit``); returns it."""
    tracker = StepLossTracker(k)
    model._loss_tracker = tracker
    return tracker


def current_value(model: Any, variable: Any) -> np.ndarray:
    """A metric or optimizer variable's value now, also in the middle of a JAX ``fit``
    (where the training state lives in ``model._jax_state`` until the epoch ends)."""
    state = getattr(model, "_jax_state", None)
    if state:
        for key, refs in (("metrics_variables", model.metrics_variables),
                          ("optimizer_variables", getattr(model.optimizer, "variables", ()))):
            if state.get(key) is not None:
                for ref, value in zip(refs, state[key]):
                    if ref is variable:
                        return np.asarray(value)
    return np.asarray(variable.numpy() if hasattr(variable, "numpy") else variable.value)


def take(model: Any, tracker: Any) -> list[float]:
    """The losses of the steps since the last call, in order."""
    steps = int(current_value(model, tracker.steps))
    if steps < tracker._read:  # the tracker was reset (a new epoch)
        tracker._read = 0
    new = steps - tracker._read
    if new <= 0:
        return []
    ring = current_value(model, tracker.ring)
    first = max(tracker._read, steps - tracker.k)  # no more than the ring holds
    tracker._read = steps
    return [float(ring[i % tracker.k]) for i in range(first, steps)]
