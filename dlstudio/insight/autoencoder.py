"""Autoencoders made visible: the reconstructions and the 2-D codes of a model
(numpy in, numpy out; no Qt).

An autoencoder is recognised from its graph: one Input, one output whose shape
equals the Input's, and a *code* layer in between, narrower than the input
(the node named code/latent/bottleneck/z if there is one, otherwise the
narrowest layer). :func:`autoencoder_view` runs a model on a split and
returns input images beside their reconstructions, the code of every sample
(projected onto its two principal axes when the code is wider than 2) and,
when the dataset carries class labels (``digits`` with ``target="image"``
keeps them in ``meta``), how well the classes separate in the code plane:
the leave-one-out k-nearest-neighbour accuracy.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from dlstudio.insight.activations import InsightError

#: Node names that mark the code layer (compared case-insensitively).
CODE_NAMES = ("code", "latent", "bottleneck", "z", "embedding", "encoding")


class AutoencoderError(InsightError):
    """The model or graph is not an autoencoder, or its data does not fit."""


@dataclass
class AutoencoderView:
    """What the autoencoder panel shows for one model on one split."""

    inputs: np.ndarray  # (n, ...) the first samples of the split
    outputs: np.ndarray  # (n, ...) their reconstructions, the same shape
    codes: np.ndarray  # (m, 2) float32: each sample's code (projected when wider than 2)
    labels: np.ndarray | None  # (m,) int class of each code, or None
    class_names: list[str]
    code_layer: str
    code_size: int  # numbers per sample in the code layer
    projected: bool  # True: ``codes`` are the 2 principal components of a wider code
    explained: float  # share of the code's variance the 2-D plane shows (1.0 unless projected)
    mse: float  # mean squared reconstruction error over the whole split
    knn_accuracy: float | None  # leave-one-out k-NN class accuracy in the code plane
    k: int = 5


def _size(shape: Any) -> int:
    return int(np.prod([d for d in shape[1:]])) if shape is not None and None not in shape[1:] else 0


def code_layer(graph: Any) -> str:
    """The name of the graph's code layer; AutoencoderError says why there is none."""
    from dlstudio.compile import analyze, fmt_shape

    analysis = analyze(graph)
    if analysis.errors:
        raise AutoencoderError(f"the graph has problems: {analysis.errors[0]}")
    if len(analysis.inputs) != 1 or len(analysis.outputs) != 1:
        raise AutoencoderError("an autoencoder has one Input and one output layer; this graph has "
                               f"{len(analysis.inputs)} and {len(analysis.outputs)}")
    inp, out = analysis.inputs[0], analysis.outputs[0]
    in_shape, out_shape = analysis.nodes[inp].output_shape, analysis.nodes[out].output_shape
    if tuple(in_shape) != tuple(out_shape):
        raise AutoencoderError(
            f"not an autoencoder: its output '{graph.node(out).name}' gives {fmt_shape(out_shape)} but its "
            f"Input takes {fmt_shape(in_shape)}; a reconstruction has the input's shape")
    between = [nid for nid in analysis.order if nid not in (inp, out) and _size(analysis.nodes[nid].output_shape)]
    named = [nid for nid in between if graph.node(nid).name.lower() in CODE_NAMES]
    candidates = named or sorted(between, key=lambda nid: _size(analysis.nodes[nid].output_shape))
    if not candidates or _size(analysis.nodes[candidates[0]].output_shape) >= _size(in_shape):
        raise AutoencoderError("not an autoencoder: no layer between the Input and the output is narrower "
                               f"than the input ({_size(in_shape)} numbers), so there is no code to look at")
    return graph.node(candidates[0]).name


def project_2d(codes: np.ndarray) -> tuple[np.ndarray, bool, float]:
    """(m, d) codes -> ((m, 2) points, projected?, share of variance shown).
    d == 2 as is; d == 1 gets a zero second axis; d > 2 its two principal components."""
    c = np.asarray(codes, dtype=np.float64).reshape(len(codes), -1)
    if c.shape[1] == 2:
        return c.astype(np.float32), False, 1.0
    if c.shape[1] == 1:
        return np.concatenate([c, np.zeros_like(c)], axis=1).astype(np.float32), False, 1.0
    centred = c - c.mean(axis=0)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    total = float(np.sum(s ** 2)) or 1.0
    return (centred @ vt[:2].T).astype(np.float32), True, float(np.sum(s[:2] ** 2) / total)


def knn_accuracy(points: np.ndarray, labels: np.ndarray, k: int = 5) -> float:
    """Leave-one-out accuracy of a k-nearest-neighbour vote (Euclidean) among ``points``:
    how well the classes separate in the code plane (1/classes for a random mess)."""
    p = np.asarray(points, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    n = len(p)
    if n < 2 or len(y) != n:
        raise AutoencoderError(f"need at least 2 labelled points (got {n} points, {len(y)} labels)")
    k = max(1, min(int(k), n - 1))
    sq = np.sum(p ** 2, axis=1)
    d = sq[:, None] + sq[None, :] - 2.0 * p @ p.T
    np.fill_diagonal(d, np.inf)
    nearest = np.argpartition(d, k - 1, axis=1)[:, :k]
    votes = y[nearest]
    classes = int(y.max()) + 1
    counts = np.zeros((n, classes), dtype=np.int64)
    np.add.at(counts, (np.repeat(np.arange(n), k), votes.ravel()), 1)
    return float(np.mean(np.argmax(counts, axis=1) == y))


def split_labels(dataset: Any, split: str) -> tuple[np.ndarray | None, list[str]]:
    """The class of each sample of a split, where the dataset knows it (else None)."""
    meta = getattr(dataset, "meta", {}) or {}
    labels = meta.get(f"labels_{split}")
    if labels is None and dataset.task == "classification":
        labels = dataset.y_test if split == "test" else dataset.y_train
    names = list(meta.get("class_names") or dataset.class_names or [])
    if labels is None:
        return None, names
    labels = np.asarray(labels)
    if labels.ndim != 1:
        return None, names
    return labels.astype(np.int64), names


def autoencoder_view(model: Any, graph: Any, dataset: Any, split: str = "test", n_images: int = 10,
                     max_points: int = 2000, k: int = 5) -> AutoencoderView:
    """Reconstructions of the first ``n_images`` samples of ``split`` and the codes of up to
    ``max_points`` samples (the model's layers are named after the graph's nodes)."""
    from dlstudio.backend import load_keras
    from dlstudio.insight.models import check_fits, split_arrays

    keras = load_keras()
    name = code_layer(graph)
    check_fits(model, dataset)
    x, _ = split_arrays(dataset, split)
    if len(x) == 0:
        raise AutoencoderError(f"the {split} split of {dataset.name} is empty")
    try:
        code_output = model.get_layer(name).output
    except ValueError:
        raise AutoencoderError(f"the model has no layer {name!r}: was it trained from another graph?") from None
    encoder = keras.Model(model.inputs[0], [code_output, model.outputs[0]])
    batch = 256
    codes, mse_sum = [], 0.0
    outputs = None
    for start in range(0, len(x), batch):
        part = x[start:start + batch]
        code, out = encoder(part, training=False)
        out = keras.ops.convert_to_numpy(out)
        mse_sum += float(np.sum((out.astype(np.float64) - part) ** 2))
        if start < max_points:
            codes.append(keras.ops.convert_to_numpy(code).reshape(len(part), -1))
        if outputs is None:
            outputs = out[:n_images]
    code_matrix = np.concatenate(codes)[:max_points]
    points, projected, explained = project_2d(code_matrix)
    labels, names = split_labels(dataset, split)
    labels = labels[: len(points)] if labels is not None else None
    knn = knn_accuracy(points, labels, k) if labels is not None and len(points) > 1 else None
    return AutoencoderView(np.asarray(x[:n_images]), np.asarray(outputs), points, labels, names, name,
                           int(code_matrix.shape[1]), projected, explained,
                           mse_sum / float(x.size), knn, k)


def run_view(project: Any, run: Any = "last", which: str = "last", split: str = "test",
             n_images: int = 10, max_points: int = 2000) -> AutoencoderView:
    """:func:`autoencoder_view` of a trained run of ``project`` (its own graph and data split)."""
    from dlstudio.graph import Graph
    from dlstudio.insight.models import load_subject
    from dlstudio.runs import find_run

    r = find_run(project, run)
    subject = load_subject(project, r, which)
    snapshot = r.info.get("graph")
    graph = Graph.from_dict(snapshot) if isinstance(snapshot, dict) else project.graph
    return autoencoder_view(subject.model, graph, subject.dataset, split, n_images, max_points)
