"""Evaluating a finished run: test metrics, confusion matrix, per-class report,
the samples behind each cell, regression errors, decision boundaries, and
predictions for a file the user brings (an image, CSV rows, a text).

No Qt here: numpy in, numpy out. The model is rebuilt from the run's own graph
snapshot (``run.json`` ``"graph"``), so a run stays evaluable after the project's
graph has changed; the data comes from the project's dataset with the run's seed.
"""

from __future__ import annotations

import csv
import io
import math
import os
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.bounded import LimitError, check_array, image_size, npy_header, open_regular, regular_file
from dlstudio.compile.outputs import node_gives_probabilities, output_is_probability, to_probabilities
from dlstudio.data import Dataset, DatasetError
from dlstudio.runs import WHICH, as_project, check_fits, dataset_for_run, find_run, load_run_model, run_graph
from dlstudio.errors import DLStudioError

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                            ".pgm", ".pbm"})
MAX_INPUT_BYTES = 50_000_000  # a prediction input larger than this is surely the wrong file


class EvaluationError(DLStudioError, ValueError):
    """A run that cannot be evaluated (no graph snapshot, no weights, data that no longer fits)."""


# --------------------------------------------------------------------------- evaluation


@dataclass(frozen=True)
class ClassReport:
    name: str
    precision: float
    recall: float
    f1: float
    support: int


def confusion_matrix(y_true: np.ndarray, y_pred: np.ndarray, num_classes: int) -> np.ndarray:
    """(C, C) int64 counts: rows are the true classes, columns the predicted ones."""
    t = np.asarray(y_true, np.int64).ravel()
    p = np.asarray(y_pred, np.int64).ravel()
    return np.bincount(t * num_classes + p, minlength=num_classes * num_classes).reshape(num_classes, num_classes)


def class_report(cm: np.ndarray, class_names: Sequence[str]) -> list[ClassReport]:
    """Precision, recall, F1 and support per class from a confusion matrix (0 where undefined,
    as scikit-learn's ``zero_division=0``)."""
    tp = np.diag(cm).astype(np.float64)
    predicted, support = cm.sum(axis=0), cm.sum(axis=1)
    precision = np.divide(tp, predicted, out=np.zeros_like(tp), where=predicted > 0)
    recall = np.divide(tp, support, out=np.zeros_like(tp), where=support > 0)
    both = precision + recall
    f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(tp), where=both > 0)
    return [ClassReport(str(name), float(p), float(r), float(f), int(s))
            for name, p, r, f, s in zip(class_names, precision, recall, f1, support)]


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and R² (averaged over the outputs, as scikit-learn's r2_score)."""
    t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)
    p = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)
    err = p - t
    ss_res = (err ** 2).sum(axis=0)
    ss_tot = ((t - t.mean(axis=0)) ** 2).sum(axis=0)
    r2 = np.where(ss_tot > 0, 1.0 - ss_res / np.where(ss_tot > 0, ss_tot, 1.0), np.where(ss_res > 0, 0.0, 1.0))
    return {"mae": float(np.abs(err).mean()), "rmse": float(np.sqrt((err ** 2).mean())), "r2": float(r2.mean())}


@dataclass
class Evaluation:
    """A run evaluated on its dataset's test split.

    Classification: ``probabilities`` (N, C), ``predicted`` class ids (N,),
    ``confusion_matrix`` (rows true, columns predicted) and ``per_class``.
    Regression: ``predicted`` values shaped like ``y_true`` and ``metrics`` with
    mae, rmse and r2. ``metrics`` always holds ``model.evaluate``'s test_* values.
    Sample indices index ``x`` / ``y_true`` (the test split).
    """

    run_id: str
    which: str
    dataset_name: str
    task: str
    metrics: dict[str, float]
    x: np.ndarray
    y_true: np.ndarray
    outputs: np.ndarray
    predicted: np.ndarray
    class_names: list[str] = field(default_factory=list)
    probabilities: np.ndarray | None = None
    confusion_matrix: np.ndarray | None = None
    per_class: list[ClassReport] = field(default_factory=list)
    kind: str = "table"
    model: Any = field(default=None, repr=False)

    @property
    def confidence(self) -> np.ndarray:
        """The probability of the predicted class, per sample (classification)."""
        if self.probabilities is None:
            raise EvaluationError("confidence exists for classification only")
        return self.probabilities.max(axis=-1)

    @property
    def accuracy(self) -> float:
        cm = self.confusion_matrix
        return float(np.trace(cm) / cm.sum()) if cm is not None and cm.sum() else float("nan")

    def _by_confidence(self, mask: np.ndarray) -> np.ndarray:
        idx = np.nonzero(mask)[0]
        return idx[np.argsort(-self.confidence[idx], kind="stable")]

    def samples_in_cell(self, true: int, pred: int) -> np.ndarray:
        """Indices of the test samples of class ``true`` predicted as ``pred``, most confident first."""
        if self.probabilities is None:
            raise EvaluationError("samples_in_cell needs a classification run")
        c = len(self.class_names)
        if not (0 <= true < c and 0 <= pred < c):
            raise IndexError(f"classes run from 0 to {c - 1} (got true={true}, pred={pred})")
        return self._by_confidence((self.y_true == true) & (self.predicted == pred))

    def misclassified(self) -> np.ndarray:
        """Indices of every wrongly classified test sample, most confident mistakes first."""
        if self.probabilities is None:
            raise EvaluationError("misclassified needs a classification run")
        return self._by_confidence(self.y_true != self.predicted)

    def decision_boundary(self, resolution: int = 100, margin: float = 0.15):
        """(xs, ys, probabilities grid) over the test points' range (2-D point datasets only)."""
        if self.x.ndim != 2 or self.x.shape[1] != 2:
            raise EvaluationError(f"a decision boundary needs 2-D points; {self.dataset_name} has samples of "
                                  f"shape {self.x.shape[1:]}")
        lo, hi = self.x.min(axis=0), self.x.max(axis=0)
        pad = (hi - lo) * margin + 1e-6
        return decision_boundary(self.model, (lo[0] - pad[0], hi[0] + pad[0]), (lo[1] - pad[1], hi[1] + pad[1]),
                                 resolution, probabilities=self.task == "classification")

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON: metrics, confusion matrix, per-class report (no per-sample arrays)."""
        return {
            "run": self.run_id, "weights": self.which, "dataset": self.dataset_name, "task": self.task,
            "samples": len(self.y_true), "metrics": dict(self.metrics),
            "class_names": list(self.class_names),
            "confusion_matrix": self.confusion_matrix.tolist() if self.confusion_matrix is not None else None,
            "per_class": [asdict(r) for r in self.per_class],
        }


def _compile_for_evaluation(model: Any, graph: Any, dataset: Dataset, settings: dict[str, Any]) -> tuple[Any, bool]:
    """Compile with the loss and metrics training used; returns (loss, whether the output
    layer gives probabilities rather than logits) by the engine's own rules."""
    from dlstudio.training.engine import TrainingError, check_trainable, choose_loss

    try:
        analysis = check_trainable(graph, dataset)
        out_id = analysis.outputs[0]
        loss, metrics = choose_loss(graph, out_id, analysis.nodes[out_id].output_shape, dataset,
                                    settings.get("loss", "auto"), settings.get("metrics") or ("auto",))
    except TrainingError as exc:
        raise EvaluationError(str(exc) + "".join(f"; {p}" for p in exc.problems[:3])) from None
    model.compile(loss=loss, metrics=metrics)
    return loss, node_gives_probabilities(graph, out_id)


def evaluate_run(project: Any, run: Any = "last", which: str = "last", dataset: Dataset | None = None,
                 model: Any = None, batch_size: int = 256) -> Evaluation:
    """Evaluate ``run`` (a Run, run folder, id, prefix or 'last') of ``project`` (a Project or
    a .dlsproj path) on the test split. ``dataset``/``model`` skip loading them again."""
    from dlstudio.data.prepare import labels_for_loss

    project = as_project(project)
    run = find_run(project, run)
    graph = run_graph(run)
    if dataset is None:
        dataset = dataset_for_run(project, run)
    if model is None:
        model = load_run_model(run, which)
    check_fits(model, dataset, run)
    settings = dict(run.info.get("settings") or {})
    if not settings.get("loss"):  # an imported run: no training settings of its own
        settings["loss"] = getattr(getattr(project, "training", None), "loss", "auto")
    loss, is_prob = _compile_for_evaluation(model, graph, dataset, settings)
    x, y = dataset.x_test, dataset.y_test
    if len(x) == 0:
        raise EvaluationError(f"{dataset.name} has no test samples to evaluate on")
    y_fit = labels_for_loss(y, loss, dataset.num_classes) if dataset.task == "classification" else y
    results = model.evaluate(x, y_fit, batch_size=batch_size, verbose=0, return_dict=True)
    metrics = {f"test_{k}": float(v) for k, v in results.items()}
    outputs = np.asarray(model.predict(x, batch_size=batch_size, verbose=0))
    common = {"run_id": run.id, "which": which, "dataset_name": dataset.name, "x": x, "kind": dataset.kind,
              "model": model, "class_names": list(dataset.class_names)}
    if dataset.task != "classification":
        predicted = outputs.reshape(np.shape(y)) if outputs.size == np.size(y) else outputs
        metrics.update(regression_metrics(y, predicted))
        return Evaluation(task="regression", metrics=metrics, y_true=np.asarray(y), outputs=outputs,
                          predicted=predicted, **common)
    probs = to_probabilities(outputs, is_prob)
    c = dataset.num_classes
    probs = probs.reshape(-1, probs.shape[-1])
    y_ids = np.asarray(y).astype(np.int64).reshape(-1)
    if len(y_ids) != len(probs) or probs.shape[-1] != c:
        raise EvaluationError(f"the model gives {probs.shape[-1]} class scores per sample but {dataset.name} "
                              f"has {c} classes")
    predicted = probs.argmax(axis=-1)
    cm = confusion_matrix(y_ids, predicted, c)
    metrics["accuracy"] = float(np.trace(cm) / cm.sum())
    return Evaluation(task="classification", metrics=metrics, y_true=y_ids, outputs=outputs, predicted=predicted,
                      probabilities=probs, confusion_matrix=cm, per_class=class_report(cm, dataset.class_names),
                      **common)


# --------------------------------------------------------------------------- decision boundary


def _call(model: Any, x: np.ndarray, chunk: int = 65536) -> np.ndarray:
    """Model outputs for ``x`` by direct calls (cheaper than model.predict for one-off grids)."""
    import keras

    parts = [keras.ops.convert_to_numpy(model(x[i:i + chunk], training=False)) for i in range(0, len(x), chunk)]
    return np.concatenate(parts) if parts else np.zeros((0,))


def decision_boundary(model: Any, x_range: tuple[float, float], y_range: tuple[float, float],
                      resolution: int | tuple[int, int] = 100, probabilities: bool = True):
    """Evaluate a 2-input model on a grid: ``(xs, ys, grid)`` with ``grid[i, j]`` the
    class probabilities (C values; one sigmoid unit gives 2) at ``(xs[j], ys[i])``;
    with ``probabilities=False`` the raw outputs (regression). Row 0 is the lowest y:
    flip it vertically to draw it with y pointing up."""
    nx, ny = (resolution, resolution) if isinstance(resolution, int) else resolution
    if nx < 2 or ny < 2:
        raise ValueError(f"the resolution must be at least 2 (got {resolution})")
    xs = np.linspace(float(x_range[0]), float(x_range[1]), int(nx))
    ys = np.linspace(float(y_range[0]), float(y_range[1]), int(ny))
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    out = _call(model, points)
    grid = to_probabilities(out, output_is_probability(model)) if probabilities else out.astype(np.float64)
    return xs, ys, grid.reshape(int(ny), int(nx), -1)


#: Class colours for boundary images (matplotlib's tab10).
PALETTE = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
                    [140, 86, 75], [227, 119, 194], [127, 127, 127], [188, 189, 34], [23, 190, 207]], np.float64)


def boundary_image(grid: np.ndarray, colors: np.ndarray | None = None, strength: float = 0.45) -> np.ndarray:
    """An RGB uint8 image (rows flipped: y up) of a probability grid: each pixel is the
    class colours weighted by their probabilities, faded towards white, so the
    points drawn on top stay readable."""
    probs = np.asarray(grid, np.float64)
    c = probs.shape[-1]
    colors = PALETTE[np.arange(c) % len(PALETTE)] if colors is None else np.asarray(colors, np.float64)
    rgb = probs @ colors[:c]
    rgb = 255.0 - strength * (255.0 - rgb)
    return np.clip(np.rint(rgb[::-1]), 0, 255).astype(np.uint8)


# --------------------------------------------------------------------------- predicting a file


@dataclass
class Prediction:
    """The model's answer for the sample(s) read from one file.

    Classification: ``probabilities`` (n, C) and ``top``: per sample the top-k
    ``(class name, probability)`` pairs, best first. Regression: ``values`` (n, k)
    named by ``output_names``.
    """

    path: str
    run_id: str
    task: str
    inputs: np.ndarray
    outputs: np.ndarray
    class_names: list[str] = field(default_factory=list)
    probabilities: np.ndarray | None = None
    top: list[list[tuple[str, float]]] = field(default_factory=list)
    values: np.ndarray | None = None
    output_names: list[str] = field(default_factory=list)

    def ranked(self, sample: int = 0) -> list[tuple[str, float]]:
        """Every class of one sample with its probability, most probable first."""
        p = self.probabilities[sample]
        return [(self.class_names[i], float(p[i])) for i in np.argsort(-p, kind="stable")]

    def to_dict(self) -> dict[str, Any]:
        if self.task == "classification":
            samples = [{"class": t[0][0], "probability": t[0][1],
                        "top": [{"class": n, "probability": p} for n, p in t]} for t in self.top]
        else:
            samples = [{"values": dict(zip(self.output_names, map(float, v)))} for v in self.values]
        return {"file": self.path, "run": self.run_id, "task": self.task, "predictions": samples}


def predict_file(project: Any, run: Any, path: str | os.PathLike, top: int = 5, which: str = "last",
                 model: Any = None, dataset: Dataset | None = None) -> Prediction:
    """Predict on a file: an image (resized to the Input's shape, grey or RGB as it needs,
    scaled to [0, 1]), CSV rows of the feature columns (with or without a header), a text
    (its last characters, encoded with the dataset's vocabulary) or a .npy array.
    Bad input raises DatasetError naming the file."""
    project = as_project(project)
    run = find_run(project, run)
    if dataset is None:
        dataset = dataset_for_run(project, run)
    if model is None:
        model = load_run_model(run, which)
    x = read_input_file(path, tuple(model.inputs[0].shape[1:]), dataset)
    return predict_samples(model, x, dataset, run.id, str(path), top)


def predict_samples(model: Any, x: np.ndarray, dataset: Dataset, run_id: str = "", path: str = "",
                    top: int = 5) -> Prediction:
    """The model's answer for a batch ``x`` of prepared inputs (a file's, or dataset samples)."""
    outputs = _call(model, np.asarray(x))
    if dataset.task != "classification":
        values = outputs.reshape(len(outputs), -1)
        names = list(dataset.meta.get("target_names") or [])
        if len(names) != values.shape[1]:
            names = ["y"] if values.shape[1] == 1 else [f"y{i + 1}" for i in range(values.shape[1])]
        return Prediction(path, run_id, "regression", x, outputs, values=values, output_names=names)
    probs = to_probabilities(outputs, output_is_probability(model))
    if probs.ndim > 2:  # a sequence of predictions: the last position
        probs = probs.reshape(len(probs), -1, probs.shape[-1])[:, -1]
    names = list(dataset.class_names) or [str(i) for i in range(probs.shape[-1])]
    if len(names) != probs.shape[-1]:
        raise EvaluationError(f"the model gives {probs.shape[-1]} class scores but {dataset.name} has "
                              f"{len(names)} classes")
    k = max(1, min(int(top), len(names)))
    tops = [[(names[i], float(p[i])) for i in np.argsort(-p, kind="stable")[:k]] for p in probs]
    return Prediction(path, run_id, "classification", x, outputs, class_names=names, probabilities=probs,
                      top=tops)


def read_input_file(path: str | os.PathLike, input_shape: Sequence[int | None], dataset: Dataset) -> np.ndarray:
    """A batch of model inputs ``(n, *input_shape)`` read from a file, prepared as the dataset's samples."""
    p = Path(path)
    label = str(path)
    if not p.exists():
        raise DatasetError(f"{label}: no such file")
    if p.is_dir():
        raise DatasetError(f"{label}: is a folder, expected a file")
    try:
        size = regular_file(p, "input file").st_size  # never a device, a pipe or a socket
    except LimitError as exc:
        raise DatasetError(str(exc)) from None
    if size == 0:
        raise DatasetError(f"{label}: the file is empty")
    if size > MAX_INPUT_BYTES:
        raise DatasetError(f"{label}: {size / 1e6:.0f} MB is too large for one prediction input")
    shape = tuple(input_shape)
    suffix = p.suffix.lower()
    if dataset.kind == "text":
        x = _read_text(p, label, shape, dataset)
    elif suffix == ".npy":
        x = _read_npy(p, label, shape)
    elif suffix in IMAGE_SUFFIXES:
        x = _read_image(p, label, shape)
    elif len(shape) >= 2:
        raise DatasetError(f"{label}: the model takes images of shape {shape}; give an image file "
                           f"({', '.join(sorted(IMAGE_SUFFIXES))}) or a .npy array")
    else:
        x = _read_rows(p, label, shape, dataset)
    return _normalized(x, dataset)


def _normalized(x: np.ndarray, dataset: Dataset) -> np.ndarray:
    stats = dataset.meta.get("normalize")
    if stats and stats.get("method", "none") != "none":
        from dlstudio.data.prepare import apply_normalization

        return apply_normalization(x, stats)
    return x


def _image_geometry(shape: tuple, label: str) -> tuple[int, int, int, bool]:
    """(height, width, channels, flat) of an image input."""
    if len(shape) == 3 and shape[0] and shape[1] and shape[2] in (1, 3):
        return int(shape[0]), int(shape[1]), int(shape[2]), False
    if len(shape) == 1 and shape[0]:
        n = int(shape[0])
        for c in (1, 3):
            side = math.isqrt(n // c)
            if n % c == 0 and side * side * c == n:
                return side, side, c, True
    raise DatasetError(f"{label}: the model takes samples of shape {shape}, which is not an image "
                       "(height, width, 1 or 3 channels)")


def _read_image(p: Path, label: str, shape: tuple) -> np.ndarray:
    from PIL import Image, UnidentifiedImageError

    h, w, c, flat = _image_geometry(shape, label)
    try:
        image_size(p, label)  # the dimensions from the header, before any pixel is decoded
        with Image.open(p) as im:
            im.load()
            if im.mode in ("I;16", "I;16B", "I;16L", "I"):
                im = im.point(lambda v: v / 256).convert("L")  # 16-bit grey: keep the brightness
            im = im.convert("L" if c == 1 else "RGB").resize((w, h), Image.Resampling.BILINEAR)
            arr = np.asarray(im, dtype=np.float32) / np.float32(255.0)
    except LimitError as exc:
        raise DatasetError(str(exc)) from None
    except UnidentifiedImageError:
        raise DatasetError(f"{label}: not an image file Pillow can read") from None
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise DatasetError(f"{label}: unreadable image ({exc})") from None
    arr = arr.reshape(h, w, c)
    return arr.reshape(1, -1) if flat else arr[None]


def _read_npy(p: Path, label: str, shape: tuple) -> np.ndarray:
    try:  # the header first: shape and dtype checked before the data is read
        with open_regular(p, ".npy file") as fh:
            check_array(npy_header(fh, label), label, copies=2)
        arr = np.load(p, allow_pickle=False)
    except LimitError as exc:
        raise DatasetError(str(exc)) from None
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetError(f"{label}: not a readable .npy array ({exc})") from None
    if arr.dtype.kind not in "biuf":
        raise DatasetError(f"{label}: holds {arr.dtype} values, expected numbers")
    fits = lambda a: a.ndim == len(shape) and all(s is None or s == d for s, d in zip(shape, a.shape))
    if fits(arr):
        arr = arr[None]
    elif not (arr.ndim == len(shape) + 1 and fits(arr[0])):
        raise DatasetError(f"{label}: an array of shape {arr.shape}; the model takes {shape} per sample "
                           f"(or a batch of shape (n, {', '.join(str(s) for s in shape)}))")
    out = arr.astype(np.float32)
    if not np.isfinite(out).all():
        raise DatasetError(f"{label}: holds NaN or infinite values")
    return out


def _read_text(p: Path, label: str, shape: tuple, dataset: Dataset) -> np.ndarray:
    vocabulary = list(dataset.vocabulary)
    if not vocabulary:
        raise DatasetError(f"{label}: {dataset.name} has no vocabulary to encode a text with")
    try:
        text = p.read_bytes().decode("utf-8-sig").replace("\r\n", "\n")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{label}: byte {exc.start} is not valid UTF-8; save the text as UTF-8") from None
    window = shape[0] if shape else None
    if dataset.meta.get("level", "characters") != "characters":
        return _read_words(text, label, window, dataset)
    if window is not None and len(text) < window:
        raise DatasetError(f"{label}: {len(text)} characters; the model reads {window} characters at a time, "
                           "so the text must have at least that many")
    tail = text[-window:] if window else text
    index = {ch: i for i, ch in enumerate(vocabulary)}
    unknown = sorted({ch for ch in tail if ch not in index})
    if unknown:
        shown = ", ".join(repr(ch) for ch in unknown[:8]) + (", ..." if len(unknown) > 8 else "")
        raise DatasetError(f"{label}: {len(unknown)} character{'s' * (len(unknown) != 1)} the model never saw "
                           f"({shown}); {dataset.name}'s vocabulary has {len(vocabulary)} characters")
    return _text_input(np.array([[index[ch] for ch in tail]], dtype=np.int64), dataset)


def _text_input(ids: np.ndarray, dataset: Dataset) -> np.ndarray:
    """Token ids as the dataset's model takes them: ids, or one-hot rows (``meta["encoding"]``)."""
    from dlstudio.data.text import model_input

    return model_input(ids, len(dataset.vocabulary), str(dataset.meta.get("encoding", "ids")))


def _read_words(text: str, label: str, window: int | None, dataset: Dataset) -> np.ndarray:
    """A word-level text: its last ``window`` words (rare ones as <unk>), padded in front with
    ``<pad>`` when the vocabulary has it (reviews), else at least ``window`` words are needed."""
    from dlstudio.data.text import encode_tokens

    try:
        ids = encode_tokens(text, list(dataset.vocabulary), str(dataset.meta["level"]))
    except DatasetError as exc:
        raise DatasetError(f"{label}: {exc}") from None
    if window is not None and len(ids) < window:
        if dataset.vocabulary[0] != "<pad>":
            raise DatasetError(f"{label}: {len(ids)} words; the model reads {window} words at a time, so the "
                               "text must have at least that many")
        ids = np.concatenate([np.zeros(window - len(ids), np.int64), ids])
    return _text_input((ids[-window:] if window else ids)[None, :], dataset)


# CSV rows ------------------------------------------------------------------


def _number(cell: str) -> float | None:
    try:
        v = float(cell)
    except ValueError:
        return None
    return v if math.isfinite(v) else None


def _table_columns(dataset: Dataset, width: int | None) -> list[str]:
    """The raw columns a row of this dataset has, in order."""
    meta = dataset.meta
    if meta.get("source") == "csv" and meta.get("features"):
        return list(meta["features"])
    names = list(dataset.feature_names)
    if names and (width is None or len(names) == width):
        return names
    return [f"x{i + 1}" for i in range(width or 0)]


def _read_rows(p: Path, label: str, shape: tuple, dataset: Dataset) -> np.ndarray:
    width = shape[0] if shape else None
    try:
        text = p.read_bytes().decode(dataset.meta.get("encoding") or "utf-8-sig")
    except (UnicodeDecodeError, LookupError):
        raise DatasetError(f"{label}: not a UTF-8 text file of comma-separated values") from None
    lines = [ln for ln in text.replace("\r\n", "\n").split("\n") if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise DatasetError(f"{label}: no rows of values")
    delim = dataset.meta.get("delimiter")
    if not delim or delim not in lines[0]:
        counts = {d: lines[0].count(d) for d in (",", ";", "\t")}
        delim = max(counts, key=counts.get) if max(counts.values()) else None
    rows = ([r for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=delim)] if delim
            else [ln.split() for ln in lines])
    rows = [[c.strip() for c in r] for r in rows]
    columns = _table_columns(dataset, width)
    known = set(columns) | set(dataset.feature_names) | {dataset.meta.get("target")} - {None}
    header = None
    words = all(_number(c) is None for c in rows[0])
    if words and set(rows[0]) & known:
        header, rows = rows[0], rows[1:]
    elif words and dataset.meta.get("source") != "csv":
        raise DatasetError(f"{label}, line 1: {', '.join(map(repr, rows[0][:5]))} are not numbers and not the "
                           f"feature names ({', '.join(columns)})")
    if not rows:
        raise DatasetError(f"{label}: a header line but no rows of values")
    if header is not None:
        missing = [c for c in columns if c not in header]
        if missing:
            raise DatasetError(f"{label}: no column {missing[0]!r} in the header; the model needs the columns "
                               f"{', '.join(columns)}")
        pos = [header.index(c) for c in columns]
        rows = [[r[i] if i < len(r) else "" for i in pos] for r in rows]
    first_line = 2 if header is not None else 1
    for i, r in enumerate(rows):
        if len(r) != len(columns):
            raise DatasetError(f"{label}, line {first_line + i}: {len(r)} values, expected {len(columns)} "
                               f"({', '.join(columns)})")
    if dataset.meta.get("source") == "csv":
        x = _encode_csv_rows(rows, columns, dataset, label, first_line)
    else:
        x = np.empty((len(rows), len(columns)), np.float32)
        for i, r in enumerate(rows):
            for j, cell in enumerate(r):
                v = _number(cell)
                if v is None:
                    raise DatasetError(f"{label}, line {first_line + i}, column {columns[j]!r}: {cell!r} is not "
                                       "a number")
                x[i, j] = v
        if "feature_mean" in dataset.meta:  # the built-in tables standardized with train statistics
            mean = np.asarray(dataset.meta["feature_mean"], np.float32)
            std = np.asarray(dataset.meta["feature_std"], np.float32)
            x = (x - mean) / std
    if width is not None and x.shape[1] != width:
        raise DatasetError(f"{label}: rows of {x.shape[1]} features, but the model takes {width}")
    return x.astype(np.float32)


def _encode_csv_rows(rows: list[list[str]], columns: list[str], dataset: Dataset, label: str,
                     first_line: int) -> np.ndarray:
    """Rows of a user CSV dataset's raw columns -> its features (one-hot text, standardized numbers)."""
    categories: dict[str, list[str]] = dataset.meta.get("categories") or {}
    stats = dataset.meta.get("standardize") or None
    names, out = list(dataset.feature_names), []
    for i, r in enumerate(rows):
        feats: list[float] = []
        for name, cell in zip(columns, r):
            where = f"{label}, line {first_line + i}, column {name!r}"
            if name in categories:
                cats = categories[name]
                if cell not in cats:
                    raise DatasetError(f"{where}: {cell!r} is not one of the values seen in training "
                                       f"({', '.join(map(repr, cats[:10]))}{', ...' if len(cats) > 10 else ''})")
                feats += [1.0 if cell == c else 0.0 for c in cats]
                continue
            v = _number(cell)
            if v is None:
                raise DatasetError(f"{where}: {cell!r} is not a number")
            feats.append(v)
        out.append(feats)
    x = np.asarray(out, np.float32)
    if stats and x.shape[1] == len(names):
        idx = [names.index(f) for f in stats["features"]]
        x[:, idx] = (x[:, idx] - np.asarray(stats["mean"], np.float32)) / np.asarray(stats["std"], np.float32)
    return x
