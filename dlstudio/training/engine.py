"""The training engine: one plain function used by the GUI (on a worker thread)
and the command line alike.

``train(graph, dataset, settings, emit, should_stop)`` compiles the graph,
fits it with events and a stop flag, evaluates it on the held-out test split
and records everything in a run folder. It never touches Qt.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import keras
import numpy as np

from dlstudio.compile import analyze, build_model, fmt_shape
from dlstudio.data import Dataset
from dlstudio.graph import Graph
from dlstudio.training.events import BatchEnd, EpochEnd, Failed, Finished, Started

Emit = Callable[[object], None]


class TrainingError(RuntimeError):
    """Training cannot start or could not finish; the message says why."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


@dataclass
class TrainResult:
    model: Any
    history: dict[str, list[float]]
    metrics: dict[str, float]
    run: Any = None
    stopped: bool = False


def _setting(settings: Any, name: str, default: Any) -> Any:
    if isinstance(settings, dict):
        return settings.get(name, default)
    return getattr(settings, name, default)


def _settings_dict(settings: Any) -> dict[str, Any]:
    if hasattr(settings, "model_dump"):
        return settings.model_dump()
    return dict(settings or {})


def make_optimizer(settings: Any) -> Any:
    name = _setting(settings, "optimizer", "adam").lower()
    lr = float(_setting(settings, "learning_rate", 1e-3))
    momentum = float(_setting(settings, "momentum", 0.0) or 0.0)
    classes = {
        "adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD,
        "rmsprop": keras.optimizers.RMSprop, "adamw": keras.optimizers.AdamW,
        "adagrad": keras.optimizers.Adagrad, "nadam": keras.optimizers.Nadam,
    }
    if name not in classes:
        raise TrainingError(f"unknown optimizer {name!r}; choose one of {', '.join(classes)}")
    if name == "sgd":
        return keras.optimizers.SGD(learning_rate=lr, momentum=momentum)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate=lr, momentum=momentum)
    return classes[name](learning_rate=lr)


def _output_is_probability(graph: Graph, node_id: str) -> bool:
    node = graph.node(node_id)
    act = node.params.get("activation")
    if node.type in ("Dense", "Activation", "Conv2D", "Conv1D") and act in ("softmax", "sigmoid"):
        return True
    return node.type == "Softmax"


def choose_loss(graph: Graph, output_id: str, output_shape: tuple, dataset: Dataset, loss: str) -> tuple[Any, list[str]]:
    """The loss and metrics: ``loss='auto'`` picks them from the output and labels."""
    if loss != "auto":
        try:
            keras.losses.get(loss)
        except Exception:
            raise TrainingError(f"unknown loss {loss!r}") from None
        metrics = ["accuracy"] if dataset.task == "classification" else ["mae"]
        return loss, metrics
    if dataset.task == "regression":
        return "mse", ["mae"]
    probs = _output_is_probability(graph, output_id)
    units = output_shape[-1]
    if units == 1 and dataset.num_classes == 2:
        return keras.losses.BinaryCrossentropy(from_logits=not probs), [
            keras.metrics.BinaryAccuracy(name="accuracy", threshold=0.5 if probs else 0.0)]
    if units != dataset.num_classes:
        node = graph.node(output_id)
        raise TrainingError(
            f"the output layer {node.type} '{node.name}' gives {units} values per sample, "
            f"but {dataset.name} has {dataset.num_classes} classes: set its units to {dataset.num_classes}")
    return keras.losses.SparseCategoricalCrossentropy(from_logits=not probs), ["accuracy"]


class EventCallback(keras.callbacks.Callback):
    """Turns Keras callbacks into our events; stop flag and NaN guard."""

    def __init__(self, emit: Emit, should_stop: Callable[[], bool], epochs: int,
                 n_samples: int, batch_size: int):
        super().__init__()
        self.emit, self.should_stop, self.epochs = emit, should_stop, epochs
        self.n_samples, self.batch_size = n_samples, batch_size
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

    def on_train_batch_end(self, batch, logs=None):
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


def check_trainable(graph: Graph, dataset: Dataset):
    """The analysis of a graph that can train on ``dataset``; raises TrainingError otherwise."""
    analysis = analyze(graph)
    if analysis.errors:
        raise TrainingError("the graph has problems, so training did not start",
                            [str(p) for p in analysis.errors])
    if len(analysis.inputs) != 1 or len(analysis.outputs) != 1:
        raise TrainingError(
            f"training on {dataset.name} needs exactly one Input and one output layer; the graph has "
            f"{len(analysis.inputs)} input(s) and {len(analysis.outputs)} output(s)")
    inp = graph.node(analysis.inputs[0])
    want = (None, *dataset.input_shape)
    got = analysis.nodes[inp.id].output_shape
    if tuple(got) != want:
        raise TrainingError(
            f"Input '{inp.name}' has shape {fmt_shape(got)} but {dataset.name} gives samples of shape "
            f"{fmt_shape(want)}: set the Input's shape to {list(dataset.input_shape)}")
    return analysis


def train(graph: Graph, dataset: Dataset, settings: Any, emit: Emit = lambda e: None,
          should_stop: Callable[[], bool] = lambda: False, run_base: str | Path | None = None,
          run_info: dict[str, Any] | None = None) -> TrainResult:
    """Train ``graph`` on ``dataset``. Emits Started, BatchEnd, EpochEnd, then
    Finished or Failed. Raises TrainingError when it cannot start or fails."""
    from dlstudio.project.runs import create_run

    try:
        analysis = check_trainable(graph, dataset)
    except TrainingError as exc:
        emit(Failed(str(exc), tuple(exc.problems)))
        raise
    seed = int(_setting(settings, "seed", 0))
    keras.utils.set_random_seed(seed)
    model = build_model(graph, analysis)
    out_id = analysis.outputs[0]
    loss, metrics = choose_loss(graph, out_id, analysis.nodes[out_id].output_shape, dataset,
                                _setting(settings, "loss", "auto"))
    model.compile(optimizer=make_optimizer(settings), loss=loss, metrics=metrics)

    epochs = int(_setting(settings, "epochs", 10))
    batch_size = int(_setting(settings, "batch_size", 32))
    val_split = float(_setting(settings, "validation_split", 0.0) or 0.0)
    n_fit = len(dataset.x_train) - int(len(dataset.x_train) * val_split)
    run = None
    if run_base is not None:
        run = create_run(run_base, {
            "status": "running", "dataset": dataset.name, "settings": _settings_dict(settings),
            "graph": graph.to_dict(), "backend": keras.backend.backend(), **(run_info or {}),
        })
    callback = EventCallback(emit, should_stop, epochs, n_fit, batch_size)
    callbacks = [callback]
    patience = _setting(settings, "early_stopping_patience", None)
    if patience:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss" if val_split > 0 else "loss", patience=int(patience), restore_best_weights=True))
    emit(Started(epochs, math.ceil(n_fit / batch_size), n_fit, keras.backend.backend(),
                 str(run.path) if run else None))
    try:
        hist = model.fit(dataset.x_train, dataset.y_train, batch_size=batch_size, epochs=epochs,
                         validation_split=val_split, shuffle=True, verbose=0, callbacks=callbacks)
    except Exception as exc:
        message = f"training failed: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        if run:
            run.update(status="failed", error=message)
        emit(Failed(message))
        raise TrainingError(message) from exc
    history = {k: [float(v) for v in vals] for k, vals in hist.history.items()}
    if callback.nan_message:
        if callback.good_weights is not None:
            model.set_weights(callback.good_weights)
        history = {k: v[:callback.epochs_done] for k, v in history.items()}
        if run:
            model.save_weights(run.weights_path)
            run.write_history(history)
            run.update(status="failed", error=callback.nan_message, epochs_done=callback.epochs_done)
        emit(Failed(callback.nan_message))
        raise TrainingError(callback.nan_message)

    results = model.evaluate(dataset.x_test, dataset.y_test, batch_size=max(batch_size, 256),
                             verbose=0, return_dict=True)
    metrics_out = {f"test_{k}": float(v) for k, v in results.items()}
    for k, v in history.items():
        metrics_out[k] = v[-1]
    epochs_done = len(history.get("loss", []))
    stopped = callback.user_stopped or epochs_done < epochs
    if run:
        model.save_weights(run.weights_path)
        run.write_history(history)
        run.update(status="stopped" if callback.user_stopped else "finished",
                   epochs_done=epochs_done, metrics=metrics_out)
    emit(Finished(metrics_out, epochs_done, stopped, str(run.path) if run else None, history))
    return TrainResult(model, history, metrics_out, run, stopped)
