"""Several training steps per call (``steps_per_execution``) with every batch's own loss.

Keras' per-step Python overhead is a large part of the time of a small model
(the digits CNN on a CPU spends about as long in it as in the maths). With
``steps_per_execution = k`` Keras runs k steps in one compiled call and calls
``on_train_batch_end`` once per call, with the *running mean* of the loss: the
live batch-loss plot would get one averaged point per k batches. So
:class:`BatchLossRecorder` wraps the compiled ``train_step``: each step writes
its own loss (the change of Keras' loss tracker: its running total over its
running count) into a small variable, and the engine's event callback reads
the k values after each call and emits k ``BatchEnd`` events. The plots get
the same points as with k = 1, in bursts of k.

:func:`steps_per_execution` picks k from the model's cost per step (estimated
from the multiply-adds the shape pass counts), so that one call stays short
(about 30 ms on a CPU): Stop still acts within a fraction of a second and the
plots stay live. TensorFlow only (the JAX trainer's ``train_step`` is a pure
function of its state).
"""

from __future__ import annotations

from typing import Any

#: Longest wished-for call of k steps, in seconds.
TARGET_CALL_SECONDS = 0.03
MAX_STEPS = 16
#: A deliberately low estimate of the CPU's speed (FLOP/s): big models get k = 1.
CPU_FLOPS = 10e9


def steps_per_execution(macs_per_sample: int, batch_size: int, backend: str, slots: int) -> int:
    """k for a model of ``macs_per_sample`` trained with ``batch_size`` (1 where it
    would not help or is not supported); ``slots`` bounds it (batches per epoch)."""
    if backend != "tensorflow" or macs_per_sample <= 0:
        return 1
    step_seconds = 6.0 * macs_per_sample * batch_size / CPU_FLOPS  # forward + backward, 2 FLOP per MAC
    k = int(TARGET_CALL_SECONDS / max(step_seconds, 1e-9))
    return max(1, min(k, MAX_STEPS, slots))


class BatchLossRecorder:
    """Records every step's loss inside ``model``'s compiled train step (call before ``fit``)."""

    def __init__(self, model: Any, k: int):
        import tensorflow as tf

        self.k = k
        self.losses = tf.Variable(tf.zeros([k], tf.float32), trainable=False, name="batch_losses")
        self.count = tf.Variable(0, dtype=tf.int32, trainable=False, name="batch_loss_count")
        tracker = model._loss_tracker  # Keras' Mean("loss"): total and count
        inner = model.train_step

        def train_step(data):
            total0 = tf.identity(tf.convert_to_tensor(tracker.total))
            count0 = tf.identity(tf.convert_to_tensor(tracker.count))
            logs = inner(data)
            total1 = tf.convert_to_tensor(tracker.total)
            count1 = tf.convert_to_tensor(tracker.count)
            loss = tf.cast((total1 - total0) / tf.maximum(count1 - count0, 1e-12), tf.float32)
            index = tf.math.floormod(self.count, self.k)
            self.losses.scatter_nd_update([[index]], [loss])
            self.count.assign_add(1)
            return logs

        model.train_step = train_step

    def take(self) -> list[float]:
        """The losses of the steps since the last call (in order), and start over."""
        n = min(int(self.count.numpy()), self.k)
        values = [float(v) for v in self.losses.numpy()[:n]]
        self.count.assign(0)
        return values
