"""Training on more than one device: mirrored data parallelism on one machine,
and multi-worker training on an existing ``tf.distribute`` cluster.

* ``device="mirrored"`` (TrainingSettings.device): :func:`mirrored_scope` wraps
  model building, compiling and ``fit`` of the ordinary engine in a
  data-parallel strategy over every GPU -- ``tf.distribute.MirroredStrategy``
  on TensorFlow, ``keras.distribution.DataParallel`` on JAX. Each batch of
  ``batch_size`` samples is split between the devices (the batch size stays
  the global one, so results match one device). Without GPUs it mirrors over
  the logical CPU devices, which only exist when a program splits the CPU
  (``tf.config.set_logical_device_configuration``, or JAX's
  ``--xla_force_host_platform_device_count``): that is how the tests run it.
* ``dlstudio train PROJECT --distributed``: :func:`train_multi_worker` joins
  the cluster that ``TF_CONFIG`` describes. Keras 3 ``fit`` fails under
  ``MultiWorkerMirroredStrategy`` (keras-team/keras#20585), so this is a
  custom loop: the Keras model and optimizer are made inside
  ``strategy.scope()``; a ``tf.function`` step runs the forward and backward
  pass with ``strategy.run`` on each worker's share of a global batch (the
  optimizer all-reduces the gradients) and sums the per-sample losses and
  metrics with ``strategy.reduce``. It emits the engine's events (Started,
  BatchEnd, EpochEnd, Finished), so the command line prints the same
  progress. The chief (task ``chief``, else ``worker`` 0) writes the run
  folder; the other workers write their copy to a temporary folder (or to
  ``worker_dir``) -- the usual TensorFlow pattern.
"""

from __future__ import annotations

import contextlib
import functools
import json
import math
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.training.objectives import TrainingError, setting

MIRRORED = "mirrored"  # the TrainingSettings.device value


# --------------------------------------------------------------------------- one machine, several devices


def mirror_devices() -> list[str]:
    """The devices a mirrored strategy would use: every GPU, else the logical CPUs
    (more than one only when the process split its CPU)."""
    from dlstudio.backend import load_keras

    keras = load_keras()
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        gpus = tf.config.list_logical_devices("GPU")
        return [d.name for d in (gpus if len(gpus) > 1 else tf.config.list_logical_devices("CPU"))]
    if keras.backend.backend() == "jax":
        import jax

        return [str(d) for d in jax.devices()]
    return []


def gpu_count() -> int:
    """How many GPUs Keras' backend sees (the settings form offers "mirrored" from 2)."""
    from dlstudio.backend import list_devices

    return sum(1 for d in list_devices() if d.startswith("gpu:"))


def check_mirrored(batch_size: int) -> list[str]:
    """The devices of a mirrored training with global batches of ``batch_size``;
    raises TrainingError when there are fewer than two or the batch does not split evenly
    (Keras' fit fails on a first batch that splits unevenly between the replicas)."""
    devices = mirror_devices()
    if len(devices) < 2:
        raise TrainingError(f"device {MIRRORED!r} trains on several GPUs at once, but this machine has "
                            f"{gpu_count()} GPU(s): choose auto or a single device")
    if batch_size % len(devices):
        raise TrainingError(f"with device {MIRRORED!r} each batch is split between {len(devices)} devices: set "
                            f"the batch size to a multiple of {len(devices)} (it is {batch_size})")
    return devices


@contextlib.contextmanager
def mirrored_scope(batch_size: int) -> Iterator[Any]:
    """Build, compile and fit inside this to train data-parallel on every device."""
    from dlstudio.backend import load_keras

    keras = load_keras()
    devices = check_mirrored(batch_size)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy(devices)
        with strategy.scope():
            yield strategy
    elif keras.backend.backend() == "jax":
        import jax

        distribution = keras.distribution.DataParallel(devices=jax.devices())
        with distribution.scope():
            yield distribution
    else:
        raise TrainingError(f"device {MIRRORED!r} needs the TensorFlow or JAX backend")


# --------------------------------------------------------------------------- multi-worker


@dataclass(frozen=True)
class ClusterRole:
    task_type: str
    task_index: int
    workers: int  # chief and workers taking part in training
    has_chief_task: bool = False  # the cluster names a "chief" apart from the workers

    @property
    def is_chief(self) -> bool:
        return self.task_type == "chief" or (self.task_type == "worker" and self.task_index == 0
                                             and not self.has_chief_task)


def cluster_role(tf_config: str | None = None) -> ClusterRole:
    """This process's place in the cluster that ``TF_CONFIG`` describes."""
    text = os.environ.get("TF_CONFIG", "") if tf_config is None else tf_config
    if not text.strip():
        raise TrainingError("--distributed joins a TensorFlow cluster, but TF_CONFIG is not set: give every "
                            'worker TF_CONFIG=\'{"cluster": {"worker": ["host1:port", "host2:port"]}, '
                            '"task": {"type": "worker", "index": 0}}\' with its own index')
    try:
        config = json.loads(text)
        cluster, task = config["cluster"], config["task"]
        task_type, index = str(task["type"]), int(task["index"])
        members = cluster[task_type]
    except (ValueError, KeyError, TypeError) as exc:
        raise TrainingError(f"TF_CONFIG is not a valid cluster description ({type(exc).__name__}: {exc}); it "
                            "needs cluster.worker (a list of host:port) and task.type / task.index") from None
    if not 0 <= index < len(members):
        raise TrainingError(f"TF_CONFIG: task index {index} but the cluster has {len(members)} {task_type}(s)")
    workers = len(cluster.get("worker", [])) + len(cluster.get("chief", []))
    return ClusterRole(task_type, index, workers, "chief" in cluster)


@functools.cache
def multi_worker_strategy() -> Any:
    """The process's one MultiWorkerMirroredStrategy; make it before other TensorFlow
    work (TensorFlow configures its collective ops once, at start-up)."""
    from dlstudio.backend import load_keras

    if load_keras().backend.backend() != "tensorflow":
        raise TrainingError("--distributed uses TensorFlow's MultiWorkerMirroredStrategy: run it with "
                            "KERAS_BACKEND=tensorflow")
    cluster_role()  # a clear message before TensorFlow tries to join
    import tensorflow as tf

    return tf.distribute.MultiWorkerMirroredStrategy()


def worker_trainer(worker_dir: str | Path | None = None) -> Callable[..., Any]:
    """:func:`train_multi_worker` with the engine's ``train`` call signature (the CLI's hook)."""
    return functools.partial(train_multi_worker, worker_dir=worker_dir)


def _per_sample_loss(keras: Any, loss: Any) -> Any:
    """A Keras Loss that returns one value per sample (the ranks matched as Keras does)."""
    fn = loss.call if isinstance(loss, keras.losses.Loss) else keras.losses.get(loss)

    class PerSample(keras.losses.Loss):
        def __init__(self):
            super().__init__(reduction=None, name="per_sample")

        def call(self, y_true, y_pred):
            return fn(y_true, y_pred)

    return PerSample()


def _sample_means(values: Any, tf: Any) -> Any:
    """One value per sample (a sequence's steps are averaged)."""
    values = tf.cast(values, tf.float32)
    return tf.reduce_mean(tf.reshape(values, [tf.shape(values)[0], -1]), axis=1)


def train_multi_worker(graph: Any, dataset: Any, settings: Any, emit: Callable[[object], None] = lambda e: None,
                       run_base: str | Path | None = None, run_info: dict[str, Any] | None = None,
                       worker_dir: str | Path | None = None) -> Any:
    """Train as one worker of the ``TF_CONFIG`` cluster (every worker calls this with the
    same project, data and settings). Returns the engine's TrainResult; only the chief's
    has a run. ``batch_size`` is the global batch, split between all replicas."""
    from dlstudio.backend import load_keras
    from dlstudio.compile import build_model
    from dlstudio.data.prepare import labels_for_loss
    from dlstudio.runs import create_run
    from dlstudio.training.checkpoints import save_optimizer_state
    from dlstudio.training.engine import TrainResult, check_trainable, settings_dict
    from dlstudio.training.events import BatchEnd, EpochEnd, Failed, Finished, Started
    from dlstudio.training.objectives import (
        choose_objective,
        make_optimizer,
        per_sample_metric,
    )

    keras = load_keras()
    try:
        strategy = multi_worker_strategy()
        role = cluster_role()
        analysis = check_trainable(graph, dataset, setting(settings, "loss", "auto"))
        out_id = analysis.outputs[0]
        objective = choose_objective(graph, out_id, analysis.nodes[out_id].output_shape, dataset,
                                     setting(settings, "loss", "auto"), setting(settings, "metrics", ("auto",)))
        metric_fns = {name: per_sample_metric(name, objective) for name in objective.metrics}
        unsupported = [name for name, fn in metric_fns.items() if fn is None]
        if unsupported:
            raise TrainingError(f"training.metrics: {', '.join(unsupported)} cannot be summed across workers; "
                                "with --distributed choose from accuracy, top_5_accuracy, mae, mse, rmse, mape")
        for name in ("mixed_precision", "adversarial"):
            if setting(settings, name, False) not in (False, "none", None):
                raise TrainingError(f"training.{name} is not supported with --distributed; turn it off")
        batch = int(setting(settings, "batch_size", 32))
        epochs = int(setting(settings, "epochs", 10))
        n_val = int(len(dataset.x_train) * float(setting(settings, "validation_split", 0.0) or 0.0))
        n_fit = len(dataset.x_train) - n_val
        steps = n_fit // batch
        if steps < 1:
            raise TrainingError(f"the batch size {batch} is larger than the {n_fit} training samples; with "
                                "--distributed every batch is full: lower the batch size")
    except TrainingError as exc:
        emit(Failed(str(exc), tuple(exc.problems)))
        raise
    import tensorflow as tf

    seed = int(setting(settings, "seed", 0))
    keras.utils.set_random_seed(seed)
    y_train = dataset.y_train
    y_test = dataset.y_test
    if dataset.task == "classification":
        y_train = labels_for_loss(y_train, objective.loss, dataset.num_classes)
        y_test = labels_for_loss(y_test, objective.loss, dataset.num_classes)
    with strategy.scope():
        model = build_model(graph, analysis)
        optimizer = make_optimizer(settings)
        if setting(settings, "lr_schedule", "constant") == "cosine":
            optimizer.learning_rate = keras.optimizers.schedules.CosineDecay(
                float(setting(settings, "learning_rate", 1e-3)), max(1, epochs * steps))
        optimizer.build(model.trainable_variables)
    per_sample = _per_sample_loss(keras, objective.loss)
    fns = list(metric_fns.values())

    def sums_of(y, p):
        values = [_sample_means(per_sample(y, p), tf)] + [_sample_means(fn(y, p), tf) for fn in fns]
        return tf.stack([tf.reduce_sum(v) for v in values])

    def replica_step(x, y):
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            per = _sample_means(per_sample(y, p), tf)
            loss = tf.reduce_sum(per) / batch  # the mean over the global batch
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return sums_of(y, p)

    @tf.function
    def train_step(iterator):
        sums = strategy.run(replica_step, args=next(iterator))
        return strategy.reduce(tf.distribute.ReduceOp.SUM, sums, axis=None)

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    data = (tf.data.Dataset.from_tensor_slices((dataset.x_train[:n_fit], y_train[:n_fit]))
            .shuffle(n_fit, seed=seed, reshuffle_each_iteration=True)
            .batch(batch, drop_remainder=True).with_options(options).prefetch(tf.data.AUTOTUNE))
    distributed = strategy.experimental_distribute_dataset(data)

    def local_logs(x, y, prefix):
        """Loss and metrics on (x, y), computed by this worker alone (no collectives)."""
        totals = np.zeros(1 + len(fns))
        for start in range(0, len(x), 512):
            xb, yb = x[start:start + 512], y[start:start + 512]
            totals += sums_of(tf.convert_to_tensor(yb), model(xb, training=False)).numpy()
        return _logs(totals / max(1, len(x)), objective.metrics, prefix)

    run = None
    if role.is_chief and run_base is not None:
        run = create_run(run_base, {
            "status": "running", "dataset": dataset.name, "settings": settings_dict(settings),
            "graph": graph.to_dict(), "backend": keras.backend.backend(),
            "distributed": {"workers": role.workers, "replicas": strategy.num_replicas_in_sync},
            **(run_info or {})})
    where = (f"{keras.backend.backend()}, {strategy.num_replicas_in_sync} replica(s) on {role.workers} worker(s), "
             f"this is {role.task_type} {role.task_index}")
    emit(Started(epochs, steps, steps * batch, where, str(run.path) if run else None))
    history: dict[str, list[float]] = {}
    rules = EpochRules(settings, model, optimizer, "val_loss" if n_val else "loss")
    step = 0
    epochs_done, stopped = 0, False
    for epoch in range(epochs):
        rules.epoch_begin(epoch)
        t0 = time.perf_counter()
        iterator = iter(distributed)
        totals = np.zeros(1 + len(fns))
        for b in range(steps):
            sums = train_step(iterator).numpy()
            totals += sums
            emit(BatchEnd(epoch + 1, b, step, float(sums[0] / batch)))
            step += 1
            if not math.isfinite(float(sums[0])):
                message = (f"the loss became {sums[0] / batch} at epoch {epoch + 1}, batch {b + 1}; "
                           "training stopped (try a lower learning rate)")
                if run:
                    run.update(status="failed", error=message)
                emit(Failed(message))
                raise TrainingError(message)
        seconds = time.perf_counter() - t0
        logs = _logs(totals / (steps * batch), objective.metrics, "")
        if n_val:
            logs.update(local_logs(dataset.x_train[n_fit:], y_train[n_fit:], "val_"))
        for k, v in logs.items():
            history.setdefault(k, []).append(v)
        lr = float(np.asarray(optimizer.learning_rate))
        emit(EpochEnd(epoch + 1, epochs, logs, seconds, steps * batch / seconds if seconds > 0 else 0.0, lr))
        if run:
            run.write_history(history)
        epochs_done = epoch + 1
        if rules.epoch_end(logs):
            stopped = True
            break
    metrics = local_logs(dataset.x_test, y_test, "test_") if len(dataset.x_test) else {}
    metrics.update({k: v[-1] for k, v in history.items()})
    folder = run.path if run else Path(worker_dir or tempfile.mkdtemp(prefix="dlstudio-worker-"))
    folder.mkdir(parents=True, exist_ok=True)
    from dlstudio.atomic import write_file

    write_file(folder / "model.weights.h5", model.save_weights)  # every worker saves (the TensorFlow pattern)
    save_optimizer_state(optimizer, folder)
    if run:
        run.update(status="finished", epochs_done=epochs_done, metrics=metrics)
    elif worker_dir is None:
        shutil.rmtree(folder, ignore_errors=True)
    emit(Finished(metrics, epochs_done, stopped, str(run.path) if run else None, history))
    return TrainResult(model, history, metrics, run, stopped)


class EpochRules:
    """The engine's per-epoch rules for the custom loop: the step and plateau learning-rate
    schedules (as ``LearningRateScheduler`` / ``ReduceLROnPlateau(patience=3)`` do them in
    ``fit``) and early stopping. Every worker sees the same numbers (the all-reduced
    training loss; the validation loss of identical weights on identical samples), so
    all workers take the same decisions and stop at the same epoch."""

    PLATEAU_PATIENCE = 3

    def __init__(self, settings: Any, model: Any, optimizer: Any, monitor: str):
        self.model, self.optimizer, self.monitor = model, optimizer, monitor
        self.kind = setting(settings, "lr_schedule", "constant")
        self.base = float(setting(settings, "learning_rate", 1e-3))
        self.decay = float(setting(settings, "lr_decay", 0.5))
        self.every = int(setting(settings, "lr_step_epochs", 10))
        self.patience = setting(settings, "early_stopping_patience", None)
        self.restore = bool(setting(settings, "restore_best_weights", True))
        self.best, self.best_weights, self.wait = math.inf, None, 0
        self.plateau_best, self.plateau_wait = math.inf, 0

    def epoch_begin(self, epoch: int) -> None:
        if self.kind == "step":
            self.optimizer.learning_rate = self.base * self.decay ** (epoch // self.every)

    def epoch_end(self, logs: dict[str, float]) -> bool:
        """Apply the rules to an epoch's logs; True: stop (early stopping)."""
        value = logs.get(self.monitor, math.inf)
        if self.kind == "plateau":
            if value < self.plateau_best:
                self.plateau_best, self.plateau_wait = value, 0
            else:
                self.plateau_wait += 1
                if self.plateau_wait >= self.PLATEAU_PATIENCE:
                    lr = float(np.asarray(self.optimizer.learning_rate))
                    self.optimizer.learning_rate = max(lr * self.decay, self.base * 1e-4)
                    self.plateau_wait = 0
        if not self.patience:
            return False
        if value < self.best:
            self.best, self.best_weights, self.wait = value, self.model.get_weights(), 0
            return False
        self.wait += 1
        if self.wait < int(self.patience):
            return False
        if self.restore and self.best_weights is not None:
            self.model.set_weights(self.best_weights)
        return True


def _logs(means: np.ndarray, names: tuple[str, ...], prefix: str) -> dict[str, float]:
    logs = {f"{prefix}loss": float(means[0])}
    for name, value in zip(names, means[1:]):
        logs[f"{prefix}{name}"] = float(math.sqrt(value) if name == "rmse" else value)
    return logs
