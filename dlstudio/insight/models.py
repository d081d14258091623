"""What to look inside: a project's model (a trained run's, or the graph untrained)
and the samples to feed it. Shared by ``dlstudio featuremaps``/``saliency`` and
the insight panel; no Qt.

A run's model is rebuilt from the run's own graph snapshot with its weights
(``dlstudio.runs.load_run``) and its data is the project's
dataset split with the run's seed, so sample N is the sample it was tested on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlstudio.insight.activations import InsightError

SPLITS = ("test", "train")


@dataclass
class Subject:
    """A model and the dataset whose samples it is shown."""

    model: Any
    dataset: Any
    label: str  # "run 20260101-120000-ab12 (last weights)" or "untrained graph"
    run_id: str | None = None


def untrained_model(graph: Any, seed: int | None = None) -> Any:
    """The graph as a freshly initialised keras.Model (``seed``: reproducible weights;
    it seeds Keras' global generators, so only pass it in a process of its own)."""
    from dlstudio.backend import load_keras
    from dlstudio.compile import CompileError, build_model

    keras = load_keras()
    if seed is not None:
        keras.utils.set_random_seed(int(seed))
    try:
        return build_model(graph)
    except CompileError as exc:
        problems = "; ".join(str(p) for p in exc.problems[:3]) + ("; ..." if len(exc.problems) > 3 else "")
        raise InsightError(f"the graph does not compile yet: {problems}") from None


def project_dataset(project: Any) -> Any:
    """The project's dataset, split with the project's seed (DatasetError if it cannot load)."""
    from dlstudio.data import load_dataset
    from dlstudio.data.paths import base_folder

    seed = int(getattr(project.training, "seed", 0) or 0)
    return load_dataset(project.dataset.name, project.dataset.options, seed=seed, base=base_folder(project))


def load_subject(project: Any, run: Any = None, which: str = "last", seed: int | None = None,
                 dataset: Any = None) -> Subject:
    """The model to look at: ``run`` (a Run, an id, a unique prefix or "last") with its
    ``which`` weights, or the project's graph untrained when ``run`` is None.
    Raises InsightError, DatasetError or a RunError (no such run, no weights, a changed dataset)."""
    if run is None:
        model = untrained_model(project.graph, seed)
        return Subject(model, dataset if dataset is not None else project_dataset(project), "untrained graph")
    from dlstudio.runs import load_run

    loaded = load_run(project, run, which, dataset=dataset, check=False)
    return Subject(loaded.model, loaded.dataset, loaded.label, loaded.id)


def split_arrays(dataset: Any, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    if split not in SPLITS:
        raise InsightError(f"split must be one of {', '.join(SPLITS)} (got {split!r})")
    return (dataset.x_test, dataset.y_test) if split == "test" else (dataset.x_train, dataset.y_train)


def require_images(dataset: Any) -> None:
    """InsightError unless the dataset's samples are images (height, width, channels)."""
    if dataset.kind != "image" or dataset.x_train.ndim != 4:
        raise InsightError(f"dataset {dataset.name!r} holds {dataset.kind} data (samples of shape "
                           f"{tuple(dataset.x_train.shape[1:])}); feature maps and saliency need images "
                           "(height, width, channels)")


def sample(dataset: Any, index: int, split: str = "test") -> tuple[np.ndarray, str]:
    """Sample ``index`` of a split and a caption naming it (and its class)."""
    x, y = split_arrays(dataset, split)
    n = len(x)
    if not 0 <= int(index) < n:
        raise InsightError(f"sample {index} is out of range: the {split} split of {dataset.name} has {n:,} "
                           f"samples (0 to {n - 1:,})")
    i = int(index)
    caption = f"{split} #{i}"
    if dataset.task == "classification" and dataset.class_names and np.ndim(y[i]) == 0:
        c = int(y[i])
        caption += f": {dataset.class_names[c] if 0 <= c < len(dataset.class_names) else c}"
    return np.asarray(x[i]), caption


def class_name(dataset: Any, index: int) -> str:
    names = list(getattr(dataset, "class_names", None) or [])
    return names[index] if 0 <= index < len(names) else str(index)


def check_fits(model: Any, dataset: Any) -> None:
    """InsightError when the model's input shape does not take the dataset's samples."""
    from dlstudio.insight.activations import single_input

    want = single_input(model)
    got = tuple(dataset.x_train.shape[1:])
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
        raise InsightError(f"the model takes samples of shape {want} but {dataset.name} gives {got}: "
                           "set the Input's shape to the dataset's (the data panel can do it)")


@dataclass
class Insight:
    """Everything the insight panel shows for one model and one input."""

    maps: dict  # {layer: activation without batch axis}
    shapes: dict  # {layer: output shape without batch}
    kinds: dict  # {layer: "maps" | "vector" | "sequence" | "other"}
    types: dict  # {layer: Keras class name}
    filters: np.ndarray | None  # first_layer_filters, (n, kh, kw, cin) in [0, 1]
    filters_layer: str | None
    histograms: dict  # weight_histograms
    explanation: Any = None  # saliency.Explanation, or None with ``explain_error``
    explain_error: str = ""


def look_inside(model: Any, x: Any, class_index: int | None = None, bins: int = 40) -> Insight:
    """Probe every layer, take the first convolution's filters and the weight
    histograms, and explain the prediction (saliency + Grad-CAM) when the model
    is a classifier with a convolution layer."""
    from dlstudio.insight.activations import (
        conv_layers,
        first_layer_filters,
        probe_for,
        weight_histograms,
    )
    from dlstudio.insight.saliency import explain

    probe = probe_for(model)
    maps = probe.probe(x)
    convs = conv_layers(model)
    filters = first_layer_filters(model, convs[0]) if convs else None
    types = {name: type(model.get_layer(name)).__name__ for name in probe.layer_names}
    result = Insight(maps, dict(probe.shapes), dict(probe.kinds), types, filters, convs[0] if convs else None,
                     weight_histograms(model, bins))
    try:
        result.explanation = explain(model, x, class_index, with_cam="auto")
    except InsightError as exc:
        result.explain_error = str(exc)
    return result
