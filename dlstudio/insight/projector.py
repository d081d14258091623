"""The embedding projector: where a layer puts each sample, in two dimensions.

:func:`project_layer` ``(model, dataset, layer=None, method="pca")`` runs the
test split through the model, takes the activations of ``layer`` (default:
:func:`default_layer`, the one feeding the output layer), flattens them and
projects them to 2-D with PCA or t-SNE (scikit-learn) or, when the ``umap-learn``
package is installed, UMAP. A :class:`Projection` carries the points, each
sample's true and predicted class, which ones are wrong, and how well the classes
separate in the plane (the leave-one-out k-nearest-neighbour accuracy and the
silhouette score). Long work is a plain function with ``emit(done, total, what)``
and ``should_stop()``, so the app runs it on a worker and tests call it directly.

:func:`nearest_tokens` answers "which tokens does the Embedding layer put next to
this one?" (cosine similarity) for a language model.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlstudio.insight.activations import InsightError, single_input

PROJECTIONS = ("pca", "tsne", "umap")
PROJECTION_NAMES = {"pca": "PCA", "tsne": "t-SNE", "umap": "UMAP"}
MAX_POINTS = 10_000
_BATCH = 256

Emit = Callable[[int, int, str], None]


def available_methods() -> list[str]:
    """The projections this installation has (UMAP only with the umap-learn package)."""
    return [m for m in PROJECTIONS if m != "umap" or importlib.util.find_spec("umap") is not None]


@dataclass
class Projection:
    """Each sample of a split placed in a 2-D plane by a layer's activations."""

    points: np.ndarray  # (n, 2) float32
    indices: np.ndarray  # (n,) the samples' indices in the split
    labels: np.ndarray | None  # (n,) true classes, where the dataset has them
    predicted: np.ndarray | None  # (n,) the model's classes (classifiers only)
    class_names: list[str]
    layer: str
    method: str
    features: int  # numbers per sample in the layer
    explained: float | None = None  # PCA: the share of variance the plane shows
    knn_accuracy: float | None = None
    silhouette: float | None = None
    split: str = "test"
    extra: dict = field(default_factory=dict)

    @property
    def wrong(self) -> np.ndarray:
        """(n,) bool: the misclassified samples (all False without labels and predictions)."""
        if self.labels is None or self.predicted is None:
            return np.zeros(len(self.points), bool)
        return self.labels != self.predicted

    def inside(self, polygon: Sequence[tuple[float, float]]) -> np.ndarray:
        """Positions (into ``points``) of the points inside a lasso ``polygon`` (plane coordinates)."""
        poly = np.asarray(polygon, np.float64)
        if len(poly) < 3:
            return np.zeros(0, np.int64)
        x, y = self.points[:, 0].astype(np.float64), self.points[:, 1].astype(np.float64)
        inside = np.zeros(len(x), bool)
        xj, yj = poly[-1]
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            for xi, yi in poly:  # even-odd ray casting
                straddles = (yi > y) != (yj > y)
                inside ^= straddles & (x < (xj - xi) * (y - yi) / np.where(yj != yi, yj - yi, 1.0) + xi)
                xj, yj = xi, yi
        return np.nonzero(inside)[0]

    def nearest(self, x: float, y: float) -> int:
        """The position of the point nearest to plane coordinates (x, y) (-1 when empty)."""
        if not len(self.points):
            return -1
        d = (self.points[:, 0] - x) ** 2 + (self.points[:, 1] - y) ** 2
        return int(np.argmin(d))

    def to_dict(self) -> dict[str, Any]:
        return {"layer": self.layer, "method": self.method, "split": self.split, "points": int(len(self.points)),
                "features": self.features, "explained": self.explained, "knn_accuracy": self.knn_accuracy,
                "silhouette": self.silhouette, "misclassified": int(self.wrong.sum()),
                "class_names": list(self.class_names)}

    def rows(self) -> list[list[Any]]:
        """CSV rows: index, x, y, true class, predicted class, correct."""
        out = []
        for k, i in enumerate(self.indices):
            true = "" if self.labels is None else self.class_name(int(self.labels[k]))
            pred = "" if self.predicted is None else self.class_name(int(self.predicted[k]))
            ok = "" if self.labels is None or self.predicted is None else int(self.labels[k] == self.predicted[k])
            out.append([int(i), float(self.points[k, 0]), float(self.points[k, 1]), true, pred, ok])
        return out

    def class_name(self, c: int) -> str:
        return self.class_names[c] if 0 <= c < len(self.class_names) else str(c)


def _output_layer(model: Any) -> Any:
    out = model.outputs[0]
    history = getattr(out, "_keras_history", None)
    return history[0] if history else model.layers[-1]


def candidate_layers(model: Any) -> list[str]:
    """Layers whose activations can be projected: every layer but the Input (input first)."""
    return [layer.name for layer in model.layers if type(layer).__name__ != "InputLayer"]


def default_layer(model: Any) -> str:
    """The layer feeding the output layer (the penultimate representation); the output
    layer itself when it reads the Input directly."""
    last = _output_layer(model)
    source = getattr(last.input, "_keras_history", None) if not isinstance(last.input, list) else None
    if source is not None and type(source[0]).__name__ != "InputLayer":
        return source[0].name
    return last.name


def layer_activations(model: Any, x: np.ndarray, layer: str, emit: Emit | None = None,
                      should_stop: Callable[[], bool] | None = None) -> np.ndarray:
    """(n, features) float32: ``layer``'s output for each sample, flattened, in batches."""
    import keras

    try:
        target = model.get_layer(layer)
    except ValueError:
        raise InsightError(f"no layer named {layer!r}; layers: {', '.join(candidate_layers(model))}") from None
    single_input(model)
    try:
        probe = keras.Model(model.inputs[0], target.output)
    except (ValueError, AttributeError) as exc:
        raise InsightError(f"cannot read the activations of {layer}: {exc}") from None
    parts = []
    for i in range(0, len(x), _BATCH):
        if should_stop is not None and should_stop():
            raise InsightError("stopped")
        a = probe.predict_on_batch(x[i:i + _BATCH])
        a = a[0] if isinstance(a, (list, tuple)) else a
        parts.append(np.asarray(a, np.float32).reshape(min(_BATCH, len(x) - i), -1))
        if emit is not None:
            emit(min(i + _BATCH, len(x)), len(x), f"activations of {layer}")
    return np.concatenate(parts) if parts else np.zeros((0, 1), np.float32)


def project_points(features: np.ndarray, method: str = "pca", seed: int = 0) -> tuple[np.ndarray, float | None]:
    """(n, d) -> ((n, 2) float32 points, the PCA's explained share or None)."""
    f = np.nan_to_num(np.asarray(features, np.float64).reshape(len(features), -1))
    if method not in PROJECTIONS:
        raise InsightError(f"unknown projection {method!r}; choose one of {', '.join(PROJECTIONS)}")
    if method == "umap" and "umap" not in available_methods():
        raise InsightError("UMAP needs the umap-learn package (pip install umap-learn); PCA and t-SNE work "
                           "without it")
    n, d = f.shape
    if n < 3:
        raise InsightError(f"a projection needs at least 3 samples (got {n})")
    if d == 1:
        return np.concatenate([f, np.zeros_like(f)], axis=1).astype(np.float32), 1.0
    from sklearn.decomposition import PCA

    if method == "pca":
        pca = PCA(n_components=2, random_state=seed)
        return pca.fit_transform(f).astype(np.float32), float(pca.explained_variance_ratio_.sum())
    if d > 50:  # the usual first step: t-SNE / UMAP on the 50 principal components
        f = PCA(n_components=min(50, n), random_state=seed).fit_transform(f)
    if method == "tsne":
        from sklearn.manifold import TSNE

        perplexity = float(min(30.0, max(2.0, (n - 1) / 3.0)))
        return TSNE(n_components=2, perplexity=perplexity, init="pca", random_state=seed).fit_transform(f) \
            .astype(np.float32), None
    import umap  # optional

    return umap.UMAP(n_components=2, random_state=seed).fit_transform(f).astype(np.float32), None


def separation(points: np.ndarray, labels: np.ndarray | None) -> tuple[float | None, float | None]:
    """(leave-one-out 5-NN accuracy, silhouette score) of the classes in the plane; None without labels."""
    if labels is None or len(points) < 3 or len(np.unique(labels)) < 2:
        return None, None
    from sklearn.metrics import silhouette_score

    from dlstudio.insight.autoencoder import knn_accuracy

    p, y = np.asarray(points, np.float64), np.asarray(labels, np.int64)
    if len(p) > 3000:  # both are quadratic in the points: a seeded sample says the same
        keep = np.random.default_rng(0).choice(len(p), 3000, replace=False)
        p, y = p[keep], y[keep]
    if len(np.unique(y)) < 2:
        return None, None
    return knn_accuracy(p, y, 5), float(silhouette_score(p, y))


def project_layer(model: Any, dataset: Any, layer: str | None = None, method: str = "pca", split: str = "test",
                  max_points: int = MAX_POINTS, seed: int = 0, emit: Emit | None = None,
                  should_stop: Callable[[], bool] | None = None, graph: Any = None) -> Projection:
    """Project ``layer``'s activations for the ``split`` samples (up to ``max_points``, a seeded
    choice when there are more) to 2-D with ``method``. Without ``layer``: an autoencoder's code
    layer when ``graph`` is one (its codes, coloured by the labels the dataset keeps), else
    :func:`default_layer`."""
    from dlstudio.insight.attribution import probabilities_of
    from dlstudio.insight.autoencoder import AutoencoderError, code_layer, split_labels
    from dlstudio.insight.models import split_arrays

    if layer is None and graph is not None:
        try:
            layer = code_layer(graph)
        except AutoencoderError:
            layer = None

    x, y = split_arrays(dataset, split)
    indices = np.arange(len(x))
    if len(x) > max_points:
        indices = np.sort(np.random.default_rng(seed).choice(len(x), int(max_points), replace=False))
    xs = np.asarray(x)[indices]
    layer = layer or default_layer(model)
    feats = layer_activations(model, xs, layer, emit, should_stop)
    predicted = None
    all_labels, names = split_labels(dataset, split)
    labels = None if all_labels is None else all_labels[indices]
    if dataset.task == "classification" and np.ndim(y) == 1:
        out = np.concatenate([np.asarray(model.predict_on_batch(xs[i:i + _BATCH]), np.float32)
                              for i in range(0, len(xs), _BATCH)])
        if out.ndim == 2 and (out.shape[1] == len(names) or out.shape[1] == 1):
            predicted = probabilities_of(out).argmax(axis=-1)
    if emit is not None:
        emit(0, 1, f"{PROJECTION_NAMES.get(method, method)} of {len(xs):,} points")
    if should_stop is not None and should_stop():
        raise InsightError("stopped")
    points, explained = project_points(feats, method, seed)
    knn, sil = separation(points, labels)
    if emit is not None:
        emit(1, 1, "done")
    return Projection(points, indices, labels, predicted, names, layer, method, int(feats.shape[1]), explained,
                      knn, sil, split)


def nearest_tokens(model: Any, token: int, k: int = 10, layer: str | None = None,
                   vocabulary: Sequence[str] | None = None) -> list[tuple[int, str, float]]:
    """The ``k`` tokens whose Embedding vectors are nearest to ``token``'s (cosine similarity):
    ``[(id, text, similarity)]``, most similar first, the token itself left out."""
    embeddings = [layer_ for layer_ in model.layers if type(layer_).__name__ == "Embedding"]
    if layer is not None:
        embeddings = [e for e in embeddings if e.name == layer]
    if not embeddings:
        raise InsightError("the model has no Embedding layer" + (f" named {layer!r}" if layer else ""))
    import keras

    w = np.asarray(keras.ops.convert_to_numpy(embeddings[0].embeddings), np.float64)
    if not 0 <= int(token) < len(w):
        raise InsightError(f"token {token} is out of range: the embedding has {len(w)} rows (0 to {len(w) - 1})")
    norms = np.linalg.norm(w, axis=1)
    sims = (w @ w[int(token)]) / np.maximum(norms * norms[int(token)], 1e-12)
    sims[int(token)] = -np.inf
    order = np.argsort(-sims)[:max(0, int(k))]
    vocab = list(vocabulary or [])
    return [(int(i), vocab[i] if i < len(vocab) else str(i), float(sims[i])) for i in order]
