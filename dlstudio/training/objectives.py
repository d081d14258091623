"""What training optimises and reports: the optimizer, the loss and the metrics.

One home for the rules, shared by the engine (``model.fit``), the multi-worker
loop (:mod:`dlstudio.training.distributed`) and evaluation:

* ``loss="auto"`` picks cross-entropy for classification (binary for one
  output unit on two classes, from logits unless the output layer ends in a
  softmax/sigmoid) and mean squared error for regression;
* ``metrics`` are names the user picks (``TrainingSettings.metrics``);
  ``"auto"`` means accuracy for classification and MAE for regression.
  Unknown names, and names that do not suit the task, are refused with a
  message that says which entry is wrong and what to choose instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import keras

from dlstudio.compile.outputs import node_gives_probabilities
from dlstudio.data import Dataset
from dlstudio.graph import Graph
from dlstudio.training.metric_names import (
    ALIASES,
    CLASSIFICATION_METRICS,
    METRIC_CHOICES,
    REGRESSION_METRICS,
)
from dlstudio.errors import DLStudioError


class TrainingError(DLStudioError, RuntimeError):
    """Training cannot start or could not finish; the message says why."""

    def __init__(self, message: str, problems: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []


OPTIMIZER_CLASSES = {
    "adam": keras.optimizers.Adam, "sgd": keras.optimizers.SGD, "rmsprop": keras.optimizers.RMSprop,
    "adamw": keras.optimizers.AdamW, "adagrad": keras.optimizers.Adagrad, "nadam": keras.optimizers.Nadam,
}

_BINARY_ONLY = ("precision", "recall", "auc")


def setting(settings: Any, name: str, default: Any) -> Any:
    """A value of TrainingSettings or of a plain dict of settings."""
    if isinstance(settings, dict):
        return settings.get(name, default)
    return getattr(settings, name, default)


def make_optimizer(settings: Any) -> Any:
    name = setting(settings, "optimizer", "adam").lower()
    lr = float(setting(settings, "learning_rate", 1e-3))
    momentum = float(setting(settings, "momentum", 0.0) or 0.0)
    if name not in OPTIMIZER_CLASSES:
        raise TrainingError(f"unknown optimizer {name!r}; choose one of {', '.join(OPTIMIZER_CLASSES)}")
    if name in ("sgd", "rmsprop"):
        return OPTIMIZER_CLASSES[name](learning_rate=lr, momentum=momentum)
    return OPTIMIZER_CLASSES[name](learning_rate=lr)


@dataclass(frozen=True)
class Objective:
    """The loss and the metric names of one training, and what they were chosen from."""

    loss: Any  # a Keras loss name or object
    metrics: tuple[str, ...]  # canonical names (METRIC_CHOICES minus "auto")
    task: str  # "classification" or "regression"
    binary: bool  # one output unit on two classes (sigmoid or a logit)
    probabilities: bool  # the output layer gives probabilities, not logits
    one_hot: bool  # the loss wants one-hot labels

    def metric_objects(self) -> list[Any]:
        """Fresh Keras metrics (create them inside a distribution strategy's scope)."""
        return [_metric_object(name, self) for name in self.metrics]


def choose_objective(graph: Graph, output_id: str, output_shape: tuple, dataset: Dataset, loss: str = "auto",
                     metrics: Iterable[str] = ("auto",)) -> Objective:
    """The loss and metrics of a training; raises TrainingError for a bad choice."""
    from dlstudio.compile.data_fit import ONE_HOT_LOSSES, loss_name

    probs = node_gives_probabilities(graph, output_id)
    binary = dataset.task == "classification" and output_shape[-1] == 1 and dataset.num_classes == 2
    if loss != "auto":
        try:
            keras.losses.get(loss)
        except Exception:  # noqa: BLE001 - Keras raises several kinds for an unknown name
            raise TrainingError(f"unknown loss {loss!r}") from None
        chosen: Any = loss
    elif dataset.task == "regression":
        chosen = "mse"
    elif binary:
        chosen = keras.losses.BinaryCrossentropy(from_logits=not probs)
    else:  # the output's size against the classes is checked before (dlstudio.compile.data_fit)
        chosen = keras.losses.SparseCategoricalCrossentropy(from_logits=not probs)
    names = resolve_metric_names(metrics, dataset, binary)
    return Objective(chosen, names, dataset.task, binary, probs, loss_name(chosen) in ONE_HOT_LOSSES)


def choose_loss(graph: Graph, output_id: str, output_shape: tuple, dataset: Dataset, loss: str,
                metrics: Iterable[str] = ("auto",)) -> tuple[Any, list[Any]]:
    """``(loss, Keras metric objects)`` for ``model.compile``; ``loss='auto'`` picks the loss."""
    objective = choose_objective(graph, output_id, output_shape, dataset, loss, metrics)
    return objective.loss, objective.metric_objects()


def resolve_metric_names(names: Iterable[str], dataset: Dataset, binary: bool) -> tuple[str, ...]:
    """Canonical metric names for ``dataset``, "auto" expanded, duplicates dropped."""
    task = dataset.task
    out: list[str] = []
    names = list(names)
    if task != "classification" and [str(n).strip().lower() for n in names] == ["accuracy"]:
        names = ["auto"]  # the default of projects saved before metrics could be chosen
    for i, raw in enumerate(names):
        where = f"training.metrics[{i}]"
        name = ALIASES.get(str(raw).strip().lower(), str(raw).strip().lower())
        if name == "auto":
            name = "accuracy" if task == "classification" else "mae"
        if name not in METRIC_CHOICES:
            raise TrainingError(f"{where}: unknown metric {raw!r}; choose from {', '.join(METRIC_CHOICES)}")
        if task == "classification" and name in REGRESSION_METRICS:
            raise TrainingError(f"{where}: {name} measures a regression, but {dataset.name} is a classification "
                                f"dataset: choose {', '.join(CLASSIFICATION_METRICS)} or auto")
        if task != "classification" and name in CLASSIFICATION_METRICS:
            raise TrainingError(f"{where}: {name} measures a classifier, but {dataset.name} is a regression "
                                f"dataset: choose {', '.join(REGRESSION_METRICS)} or auto")
        if name in _BINARY_ONLY and not binary:
            raise TrainingError(f"{where}: {name} needs a binary classifier with one output unit (sigmoid or "
                                f"a logit) on two classes; {dataset.name} has {dataset.num_classes} classes: "
                                "use accuracy here and see per-class precision and recall in the evaluation")
        if name == "top_5_accuracy" and dataset.num_classes <= 5:
            raise TrainingError(f"{where}: top_5_accuracy needs more than 5 classes; {dataset.name} has "
                                f"{dataset.num_classes}")
        if name not in out:
            out.append(name)
    return tuple(out)


def _metric_object(name: str, o: Objective) -> Any:
    m = keras.metrics
    threshold = 0.5 if o.probabilities else 0.0  # a logit above 0 is a probability above 0.5
    if name == "accuracy":
        if o.binary:
            return m.BinaryAccuracy(name="accuracy", threshold=threshold)
        return m.CategoricalAccuracy(name="accuracy") if o.one_hot else m.SparseCategoricalAccuracy(name="accuracy")
    if name == "top_5_accuracy":
        cls = m.TopKCategoricalAccuracy if o.one_hot else m.SparseTopKCategoricalAccuracy
        return cls(k=5, name="top_5_accuracy")
    if name == "precision":
        return m.Precision(thresholds=threshold, name="precision")
    if name == "recall":
        return m.Recall(thresholds=threshold, name="recall")
    if name == "auc":
        return m.AUC(from_logits=not o.probabilities, name="auc")
    return {"mae": m.MeanAbsoluteError, "mse": m.MeanSquaredError, "rmse": m.RootMeanSquaredError,
            "mape": m.MeanAbsolutePercentageError, "r2": m.R2Score}[name](name=name)


def per_sample_metric(name: str, o: Objective):
    """``fn(y_true, y_pred) -> one value per sample`` whose mean is metric ``name``
    (rmse: the mean is the MSE; take its square root); None when the metric is not
    such a mean (precision, recall, AUC, R²). The multi-worker loop sums these."""
    from keras import ops

    threshold = 0.5 if o.probabilities else 0.0
    if name == "accuracy":
        if o.binary:
            return lambda y, p: keras.metrics.binary_accuracy(ops.reshape(y, ops.shape(p)), p, threshold=threshold)
        return keras.metrics.categorical_accuracy if o.one_hot else keras.metrics.sparse_categorical_accuracy
    if name == "top_5_accuracy":
        if o.one_hot:
            return lambda y, p: keras.metrics.top_k_categorical_accuracy(y, p, k=5)
        return lambda y, p: keras.metrics.sparse_top_k_categorical_accuracy(y, p, k=5)
    return {"mae": keras.losses.mean_absolute_error, "mse": keras.losses.mean_squared_error,
            "rmse": keras.losses.mean_squared_error,
            "mape": keras.losses.mean_absolute_percentage_error}.get(name)
