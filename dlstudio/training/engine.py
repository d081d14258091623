"""The training engine: one plain function used by the GUI (on a worker thread)
and the command line alike.

``train(graph, dataset, settings, emit, should_stop)`` compiles the graph,
fits it with events and a stop flag, evaluates it on the held-out test split
and records everything in a run folder. It never touches Qt.

Its parts live beside it: the loss, metrics and optimizer in ``objectives.py``;
weights, optimizer state and the changed-graph check for Continue/resume in
``checkpoints.py``; several steps per compiled call with every batch's own loss
in ``batch_losses.py``; mirrored and multi-worker training in ``distributed.py``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras
import numpy as np

from dlstudio.backend import model_device
from dlstudio.errors import is_out_of_memory, user_message
from dlstudio.compile import analyze, build_model, data_problems
from dlstudio.data import Dataset
from dlstudio.data.pipeline import make_dataset
from dlstudio.graph import Graph
from dlstudio.atomic import atomic_write_json, write_file
from dlstudio.runs.store import BEST_WEIGHTS_FILE
from dlstudio.training import batch_losses
from dlstudio.training.checkpoints import (
    check_weights_fit,
    load_run_weights,
    restore_optimizer_state,
    save_optimizer_state,
)
from dlstudio.training.events import BatchEnd, EpochEnd, Failed, Finished, Started
from dlstudio.training.objectives import (
    TrainingError,
    choose_loss,
    choose_objective,
    make_optimizer,
    setting,
)

Emit = Callable[[object], None]

__all__ = ["TrainResult", "TrainingError", "check_trainable", "choose_loss", "make_optimizer", "train"]
_setting = setting


@dataclass
class TrainResult:
    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, float]
    run: Any = None
    stopped: bool = False


def settings_dict(settings: Any) -> dict[str, Any]:
    """The training settings (a pydantic model or a mapping) as the plain dict a run records."""
    if hasattr(settings, "model_dump"):
        return settings.model_dump()
    return dict(settings or {})


class EventCallback(keras.callbacks.Callback):
    """Turns Keras callbacks into our events; stop flag and NaN guard."""

    def __init__(self, emit: Emit, should_stop: Callable[[], bool], epochs: int,
                 n_samples: int, batch_size: int, step_losses: Any = None):
        super().__init__()
        self.emit, self.should_stop, self.epochs = emit, should_stop, epochs
        self.n_samples, self.batch_size = n_samples, batch_size
        self.step_losses = step_losses  # several steps per call: each step's own loss (batch_losses.py)
        self.step = 0
        self.nan_message: str | None = None
        self.user_stopped = False
        self.good_weights = None
        self.epochs_done = 0

    def on_train_begin(self, logs=None):
        self.good_weights = self.model.get_weights()

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        self.t0 = time.perf_counter()
        self.prev_mean, self.seen = 0.0, 0
        self.next_batch = 0

    def on_train_batch_end(self, batch, logs=None):
        if self.step_losses is not None:
            self._steps_ended(batch_losses.take(self.model, self.step_losses))
            return
        mean = float((logs or {}).get("loss", float("nan")))
        n = min(self.batch_size, self.n_samples - batch * self.batch_size) or self.batch_size
        total = self.seen + n
        loss = (mean * total - self.prev_mean * self.seen) / n  # undo Keras' running mean
        self.prev_mean, self.seen = mean, total
        self.emit(BatchEnd(self.epoch + 1, batch, self.step, loss))
        self.step += 1
        if not math.isfinite(mean):
            self.nan_message = (f"the loss became {mean} at epoch {self.epoch + 1}, batch {batch + 1}; "
                                "training stopped and the weights of the last good epoch were kept "
                                "(try a lower learning rate)")
            self.model.stop_training = True
        elif self.should_stop():
            self.user_stopped = True
            self.model.stop_training = True

    def _steps_ended(self, losses: list[float]) -> None:
        """The batches of one call of several steps, each with its own loss."""
        for loss in losses:
            batch = self.next_batch
            self.seen += min(self.batch_size, self.n_samples - batch * self.batch_size) or self.batch_size
            self.emit(BatchEnd(self.epoch + 1, batch, self.step, loss))
            self.next_batch += 1
            self.step += 1
            if not math.isfinite(loss):
                self.nan_message = (f"the loss became {loss} at epoch {self.epoch + 1}, batch {batch + 1}; "
                                    "training stopped and the weights of the last good epoch were kept "
                                    "(try a lower learning rate)")
                self.model.stop_training = True
                return
        if self.should_stop():
            self.user_stopped = True
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.nan_message:
            return
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if not all(math.isfinite(v) for v in logs.values()):
            return
        self.good_weights = self.model.get_weights()
        self.epochs_done = epoch + 1
        seconds = time.perf_counter() - self.t0
        lr = float(np.asarray(self.model.optimizer.learning_rate))
        self.emit(EpochEnd(epoch + 1, self.epochs, logs, seconds,
                           self.seen / seconds if seconds > 0 else 0.0, lr))


def check_trainable(graph: Graph, dataset: Dataset, loss: Any = "auto"):
    """The analysis of a graph that can train on ``dataset`` with ``loss``; raises
    TrainingError otherwise. The model-against-data checks are the editor's own
    (:func:`dlstudio.compile.data_problems`): what the Problems panel shows is what refuses."""
    analysis = analyze(graph)
    if analysis.errors:
        raise TrainingError("the graph has problems, so training did not start",
                            [str(p) for p in analysis.errors])
    misfits = [p for p in data_problems(graph, analysis, dataset, loss) if p.is_error]
    if misfits:
        raise TrainingError(str(misfits[0]), [str(p) for p in misfits])
    return analysis


def check_training_memory(analysis: Any, batch_size: int) -> None:
    """TrainingError before a model whose weights, gradients, optimizer slots and one batch's
    activations cannot fit in the memory still available is built."""
    from dlstudio.bounded import LimitError
    from dlstudio.compile.build import check_model_memory

    try:
        check_model_memory(analysis, training=True, batch_size=batch_size)
    except LimitError as exc:
        raise TrainingError(str(exc)) from None


def _schedule_callbacks(settings: Any, base_lr: float) -> list:
    kind = _setting(settings, "lr_schedule", "constant")
    decay = float(_setting(settings, "lr_decay", 0.5))
    if kind == "step":
        every = int(_setting(settings, "lr_step_epochs", 10))
        return [keras.callbacks.LearningRateScheduler(lambda epoch, lr: base_lr * decay ** (epoch // every))]
    if kind == "plateau":
        return [keras.callbacks.ReduceLROnPlateau(factor=decay, patience=3, min_lr=base_lr * 1e-4)]
    return []


class RunRecorder(keras.callbacks.BackupAndRestore):
    """Keeps a run folder up to date: the history after every epoch; the last
    weights, the best weights and the resume backup together, at most every
    ``every_seconds`` (and after the first epoch), so that h5 writes do not
    slow small models down and a run killed mid-way resumes from the epoch
    that ``run.json`` names.

    Every file goes through the one writer (:mod:`dlstudio.atomic`: a temporary
    file, fsync, rename), the backup too (Keras' own files, which Keras' restore reads),
    and run.json is updated only after the files it describes are complete, so a kill at
    any moment leaves the previous checkpoint whole. The backup stays until the run's
    final record is written (:func:`_fit` removes it)."""

    BACKUP_WEIGHTS, BACKUP_METADATA = "latest.weights.h5", "training_metadata.json"  # Keras' names

    def __init__(self, run: Any, history: dict[str, list[float]], monitor: str, every_seconds: float):
        super().__init__(str(run.path / "backup"), delete_checkpoint=False)
        self.run, self.history, self.monitor, self.every = run, history, monitor, every_seconds
        self.best_value = math.inf
        self.best_weights = None
        self.last_save = -math.inf

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        if not all(math.isfinite(v) for v in logs.values()):
            return  # the NaN guard reports it; the last good state stays on disk
        for k, v in logs.items():
            self.history.setdefault(k, []).append(v)
        self.run.write_history(self.history)
        if logs.get(self.monitor, math.inf) < self.best_value:
            self.best_value = logs[self.monitor]
            self.best_weights = self.model.get_weights()
        if time.monotonic() - self.last_save >= self.every or epoch == 0:
            self.save(epoch, logs)

    def save(self, epoch: int, logs: dict[str, float]) -> None:
        self.save_backup(epoch + 1)
        self.save_weights()
        self.run.update(epochs_done=epoch + 1)
        self.last_save = time.monotonic()

    def save_backup(self, epochs_done: int) -> None:
        """The resume backup in Keras' layout: the weights (with the optimizer's), then the
        epoch they belong to."""
        folder = self.run.path / "backup"
        write_file(folder / self.BACKUP_WEIGHTS, self.model.save_weights)
        atomic_write_json(folder / self.BACKUP_METADATA, {"epoch": epochs_done, "batch": 0})

    def remove_backup(self) -> None:
        import shutil

        shutil.rmtree(self.run.path / "backup", ignore_errors=True)

    def save_weights(self) -> None:
        write_file(self.run.weights_path, self.model.save_weights)
        save_optimizer_state(self.model.optimizer, self.run.path)  # for Continue (skipped when not finite)
        if self.best_weights is not None:
            current = self.model.get_weights()
            self.model.set_weights(self.best_weights)
            try:
                write_file(self.run.path / BEST_WEIGHTS_FILE, self.model.save_weights)
            finally:
                self.model.set_weights(current)


@dataclass
class _Job:
    """What one call of :func:`train` works with, derived once from its arguments."""

    settings: Any
    emit: Emit
    should_stop: Callable[[], bool]
    run: Any  # a Run, or None for a run-less training (tests, previews)
    history: dict[str, list[float]]
    initial_epoch: int
    epochs: int
    batch_size: int
    val_split: float
    base_lr: float
    checkpoint_seconds: float = 30.0
    extra_callbacks: tuple = ()
    steps_per_execution: int = 1  # > 1: several steps per compiled call (batch_losses.py)
    step_losses: Any = None  # then the StepLossTracker

    @property
    def last_epoch(self) -> int:
        return self.initial_epoch + self.epochs


def train(graph: Graph, dataset: Dataset, settings: Any, emit: Emit = lambda e: None,
          should_stop: Callable[[], bool] = lambda: False, run_base: str | Path | None = None,
          run_info: dict[str, Any] | None = None, start_from: str | Path | None = None,
          resume: str | Path | None = None, callbacks: Sequence[Any] = (),
          checkpoint_seconds: float = 30.0) -> TrainResult:
    """Train ``graph`` on ``dataset``. Emits Started, BatchEnd, EpochEnd, then
    Finished or Failed. Raises TrainingError when it cannot start or fails.

    ``start_from``: a run folder whose weights, optimizer state (Adam's moments,
    the step count; the learning rate comes from ``settings``) and epoch count
    this training continues from (a new run; ``settings.epochs`` more epochs).
    A graph changed since that run is refused, naming the layers that differ.
    ``resume``: a run folder killed mid-way; it goes on from its last completed
    epoch in the same folder (Keras BackupAndRestore).
    ``callbacks``: extra Keras callbacks (the GUI's gradient-flow probe, ...).
    ``checkpoint_seconds``: the run folder's weights and resume backup are
    written at most this often (and after the first and the last epoch).
    """
    from dlstudio.runs import open_run

    try:
        analysis = check_trainable(graph, dataset, _setting(settings, "loss", "auto"))
        out_id = analysis.outputs[0]
        objective = choose_objective(graph, out_id, analysis.nodes[out_id].output_shape, dataset,
                                     _setting(settings, "loss", "auto"), _setting(settings, "metrics", ("auto",)))
        scope = training_scope(_setting(settings, "device", "auto"), int(_setting(settings, "batch_size", 32)))
        check_training_memory(analysis, int(_setting(settings, "batch_size", 32)))
    except TrainingError as exc:
        emit(Failed(str(exc), tuple(exc.problems)))
        raise
    keras.utils.set_random_seed(int(_setting(settings, "seed", 0)))
    previous = open_run(start_from) if start_from else None
    done_before = int(previous.info.get("epochs_done", 0)) if previous else 0
    # the history as far as the weights go (an interrupted run may have recorded an epoch more)
    job = _Job(settings, emit, should_stop, None,
               {k: v[:done_before] for k, v in previous.history().items()} if previous else {}, done_before,
               int(_setting(settings, "epochs", 10)), int(_setting(settings, "batch_size", 32)),
               float(_setting(settings, "validation_split", 0.0) or 0.0),
               float(_setting(settings, "learning_rate", 1e-3)), float(checkpoint_seconds), tuple(callbacks))
    if resume is not None:
        job.run = open_run(resume)
        done = _backup_epoch(job.run)
        job.history = {k: v[:done] for k, v in job.run.history().items()}
    dataset = _labels_for(dataset, objective.loss, job)

    policy = keras.mixed_precision.global_policy().name
    if _setting(settings, "mixed_precision", False):
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with scope:
            model = build_model(graph, analysis)
            try:  # a graph changed since the run is refused before a new run folder is made
                if previous is not None:
                    load_run_weights(model, previous)
                elif job.run is not None:
                    saved = [p for p in (job.run.path / "backup" / "latest.weights.h5", job.run.weights_path)
                             if p.is_file()]
                    if saved:
                        check_weights_fit(model, job.run, saved[0], "resume")
            except TrainingError as exc:
                emit(Failed(str(exc), tuple(exc.problems)))
                raise
            optimizer = make_optimizer(settings)
            if _setting(settings, "lr_schedule", "constant") == "cosine":
                total_steps = max(1, job.last_epoch * math.ceil(len(dataset.x_train) / job.batch_size))
                optimizer.learning_rate = keras.optimizers.schedules.CosineDecay(job.base_lr, total_steps)
            job.steps_per_execution = _steps_per_execution(job, analysis, len(dataset.x_train))
            model.compile(optimizer=optimizer, loss=objective.loss, metrics=objective.metric_objects(),
                          steps_per_execution=job.steps_per_execution)
            _start_run(job, graph, dataset, settings, run_base, run_info, previous,
                       restore_optimizer_state(model, previous.path) if previous is not None else None)
            _adversarial_training(model, dataset, job)
            if job.steps_per_execution > 1:
                job.step_losses = batch_losses.install_step_losses(model, job.steps_per_execution)
            return _fit(model, dataset, job)
    finally:
        keras.mixed_precision.set_global_policy(policy)


def _backup_epoch(run: Any) -> int:
    """The epoch a killed run's resume backup holds (Keras restores that one): its metadata's,
    which is written after its weights; else the epochs run.json records."""
    from dlstudio.bounded import load_json

    try:
        epoch = load_json(run.path / "backup" / RunRecorder.BACKUP_METADATA, 4096).get("epoch")
        if isinstance(epoch, int) and epoch >= 0:
            return epoch
    except (OSError, ValueError, AttributeError):
        pass
    return int(run.info.get("epochs_done", 0))


def _steps_per_execution(job: _Job, analysis: Any, n_train: int) -> int:
    """Several steps per compiled call for a small model (a short call on the training
    device: a GPU takes more steps per call than a CPU), unless something
    needs Keras' per-batch hooks one batch at a time (a batch-level extra callback, the
    adversarial train step, a mirrored strategy)."""
    from dlstudio.training.distributed import MIRRORED

    if (_setting(job.settings, "device", "auto") == MIRRORED
            or (_setting(job.settings, "adversarial", "none") or "none") != "none"
            or any(_has_batch_hooks(c) for c in job.extra_callbacks)):
        return 1
    from dlstudio.backend import list_devices

    device = _setting(job.settings, "device", "auto") or "auto"
    on_gpu = device.startswith("gpu") or (device == "auto" and any(d.startswith("gpu") for d in list_devices()))
    n_fit = n_train - int(n_train * job.val_split)
    return batch_losses.steps_per_execution(analysis.total_macs, job.batch_size,
                                            max(1, math.ceil(n_fit / job.batch_size)), on_gpu)


def _has_batch_hooks(callback: Any) -> bool:
    """Whether a callback needs Keras' batch hooks one batch at a time (one that reads every step
    it missed, ``batch_hooks_per_call``, is served once per call of several steps)."""
    if getattr(callback, "batch_hooks_per_call", False):
        return False
    base = keras.callbacks.Callback
    return any(getattr(type(callback), name, None) is not getattr(base, name)
               for name in ("on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end"))


def training_scope(device: str, batch_size: int) -> Any:
    """The context that model building and fitting run in: one device, or a
    data-parallel strategy (``device="mirrored"``, batches split between the
    devices); raises TrainingError when ``device`` is not available here."""
    from dlstudio.backend import device_scope, list_devices
    from dlstudio.training.distributed import MIRRORED, check_mirrored, mirrored_scope

    if device == MIRRORED:
        check_mirrored(batch_size)  # now, before a run folder is made
        return mirrored_scope(batch_size)
    if device not in ("auto", "", None) and device not in list_devices():
        raise TrainingError(f"device {device!r} is not available here; choose one of: auto, "
                            f"{', '.join(list_devices())}")
    return device_scope(device)


def _start_run(job: _Job, graph: Graph, dataset: Dataset, settings: Any, run_base: Any,
               run_info: dict[str, Any] | None, previous: Any, optimizer_state: str | None) -> None:
    """Make the new run's folder (or mark a resumed one running again)."""
    from dlstudio.runs import create_run

    if job.run is not None:
        job.run.update(status="running")
    elif run_base is not None:
        job.run = create_run(run_base, {
            "status": "running", "dataset": dataset.name, "settings": settings_dict(settings),
            "graph": graph.to_dict(), "backend": keras.backend.backend(),
            **({"continued_from": previous.id, "optimizer_state": optimizer_state} if previous else {}),
            **(run_info or {}),
        })


def _adversarial_training(model: Any, dataset: Dataset, job: _Job) -> None:
    """The ``adversarial`` option: FGSM / PGD examples mixed into every batch
    (the hook lives in :func:`dlstudio.training.adversarial.install_adversarial_training`)."""
    method = _setting(job.settings, "adversarial", "none") or "none"
    if method == "none":
        return
    from dlstudio.inference.perturbation import AttackError
    from dlstudio.runs import valid_range
    from dlstudio.training.adversarial import install_adversarial_training

    if dataset.task != "classification" or not np.issubdtype(dataset.x_train.dtype, np.floating):
        raise _fail(job, f"adversarial training needs a classifier with real-valued inputs; "
                         f"{dataset.name} is {dataset.task} on {dataset.x_train.dtype} inputs")
    try:
        install_adversarial_training(model, method, float(_setting(job.settings, "adversarial_eps", 0.1)),
                                     float(_setting(job.settings, "adversarial_ratio", 0.5)),
                                     clip=valid_range(dataset.x_train))
    except AttackError as exc:
        raise _fail(job, f"adversarial training: {exc}") from None


def _labels_for(dataset: Dataset, loss: Any, job: _Job) -> Dataset:
    """Integer labels become one-hot rows when the loss wants them (and back)."""
    from dataclasses import replace

    from dlstudio.data import DatasetError
    from dlstudio.data.prepare import labels_for_loss

    if dataset.task != "classification":
        return dataset
    try:
        return replace(dataset, y_train=labels_for_loss(dataset.y_train, loss, dataset.num_classes),
                       y_test=labels_for_loss(dataset.y_test, loss, dataset.num_classes))
    except DatasetError as exc:
        raise _fail(job, f"the labels of {dataset.name} do not suit the loss: {exc}") from None


def _callbacks(job: _Job, n_fit: int, monitor: str) -> tuple[EventCallback, list]:
    events = EventCallback(job.emit, job.should_stop, job.last_epoch, n_fit, job.batch_size, job.step_losses)
    callbacks: list = [events, *_schedule_callbacks(job.settings, job.base_lr)]
    patience = _setting(job.settings, "early_stopping_patience", None)
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor=monitor, patience=int(patience),
            restore_best_weights=bool(_setting(job.settings, "restore_best_weights", True))))
    if job.run is not None:
        callbacks.append(RunRecorder(job.run, job.history, monitor, job.checkpoint_seconds))
    return events, [*callbacks, *job.extra_callbacks]


def _fail(job: _Job, message: str) -> TrainingError:
    if job.run:
        try:
            job.run.update(status="failed", error=message)
        except OSError:  # a full disk: the record stays "running" and reads as interrupted
            pass
    job.emit(Failed(message))
    return TrainingError(message)


def _fit(model: Any, dataset: Dataset, job: _Job) -> TrainResult:
    run = job.run
    n_val = int(len(dataset.x_train) * job.val_split)
    n_fit = len(dataset.x_train) - n_val
    seed = int(_setting(job.settings, "seed", 0))
    batches = make_dataset(dataset.x_train[:n_fit], dataset.y_train[:n_fit], job.batch_size, shuffle=True,
                           seed=seed)
    validation = make_dataset(dataset.x_train[n_fit:], dataset.y_train[n_fit:], max(job.batch_size, 256),
                              shuffle=False) if n_val else None
    events, callbacks = _callbacks(job, n_fit, "val_loss" if n_val else "loss")
    job.emit(Started(job.last_epoch, math.ceil(n_fit / job.batch_size), n_fit, keras.backend.backend(),
                     str(run.path) if run else None, model_device(model)))
    try:
        hist = model.fit(batches, epochs=job.last_epoch, initial_epoch=job.initial_epoch,
                         validation_data=validation, verbose=0, callbacks=callbacks,
                         shuffle=False)  # the batches shuffle themselves, seeded, every epoch
    except Exception as exc:
        if is_out_of_memory(exc):
            keras.backend.clear_session()
            raise _fail(job, f"ran out of memory while training with batch size {job.batch_size}: "
                             "lower the batch size or make the model smaller") from exc
        if isinstance(exc, OSError):  # the run folder could not be written (a full disk, ...)
            raise _fail(job, f"training stopped: {user_message(exc)}") from exc
        first_line = str(exc).splitlines()[0] if str(exc) else ""
        raise _fail(job, f"training failed: {type(exc).__name__}: {first_line}") from exc
    if run is None:  # with a run, RunRecorder kept the history epoch by epoch
        for k, vals in hist.history.items():
            job.history.setdefault(k, []).extend(float(v) for v in vals)
    recorder = next((c for c in callbacks if isinstance(c, RunRecorder)), None)
    if events.nan_message:
        if events.good_weights is not None:
            model.set_weights(events.good_weights)
        if recorder is not None:
            try:
                recorder.save_weights()
                run.update(epochs_done=events.epochs_done)
            except OSError as exc:
                raise _fail(job, f"{events.nan_message}; and the run could not be saved: "
                                 f"{user_message(exc)}") from exc
        raise _fail(job, events.nan_message)

    results = model.evaluate(dataset.x_test, dataset.y_test, batch_size=max(job.batch_size, 256),
                             verbose=0, return_dict=True)
    metrics = {f"test_{k}": float(v) for k, v in results.items()}
    metrics.update({k: v[-1] for k, v in job.history.items() if v})
    epochs_done = len(job.history.get("loss", []))
    stopped = events.user_stopped or epochs_done < job.last_epoch
    if recorder is not None:
        try:
            recorder.save_weights()
            run.write_history(job.history)
            run.update(status="stopped" if events.user_stopped else "finished",
                       epochs_done=epochs_done, metrics=metrics)
        except OSError as exc:
            raise _fail(job, f"the run could not be saved: {user_message(exc)}") from exc
        recorder.remove_backup()
    job.emit(Finished(metrics, epochs_done, stopped, str(run.path) if run else None, job.history))
    return TrainResult(model, job.history, metrics, run, stopped)
