"""How well a classifier ranks and how honest its confidence is: per-class ROC and
precision-recall curves (one class against the rest) with their areas, and a
reliability diagram with the expected calibration error (ECE).

All from scikit-learn's metrics: ``roc_curve``/``roc_auc_score``,
``precision_recall_curve``/``average_precision_score`` (the PR AUC is the average
precision, the step-wise area scikit-learn recommends over the trapezoid) and
``sklearn.calibration.calibration_curve`` on the top-label confidence (is the
predicted class right?), with uniform bins. The ECE weights each bin's gap
``|accuracy - mean confidence|`` by its share of the samples (Guo et al. 2017).

:func:`classification_curves` ``(y_true, probabilities, class_names)`` gives
:class:`Curves`; :meth:`Curves.to_dict` is what ``dlstudio evaluate --json`` adds.
A class with no test sample (or only test samples) has no ROC curve: its areas
are NaN (``null`` in JSON).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

DEFAULT_BINS = 10


@dataclass
class ClassCurve:
    """One class against the rest."""

    name: str
    support: int
    roc_auc: float
    pr_auc: float  # average precision
    fpr: np.ndarray = field(repr=False)
    tpr: np.ndarray = field(repr=False)
    recall: np.ndarray = field(repr=False)
    precision: np.ndarray = field(repr=False)


@dataclass
class Reliability:
    """The reliability diagram: per non-empty confidence bin, mean confidence and accuracy."""

    edges: np.ndarray  # bins + 1 edges in [0, 1]
    confidence: np.ndarray  # mean top-label confidence per non-empty bin
    accuracy: np.ndarray  # the share right per non-empty bin
    counts: np.ndarray  # samples per non-empty bin
    ece: float
    mce: float  # the largest gap over the bins


@dataclass
class Curves:
    classes: list[ClassCurve]
    reliability: Reliability
    samples: int

    @property
    def macro_roc_auc(self) -> float:
        return _nanmean([c.roc_auc for c in self.classes])

    @property
    def macro_pr_auc(self) -> float:
        return _nanmean([c.pr_auc for c in self.classes])

    @property
    def ece(self) -> float:
        return self.reliability.ece

    def to_dict(self, points: bool = False) -> dict[str, Any]:
        """Plain JSON: per-class ``roc_auc``/``pr_auc``, their macro means, ``ece`` and the
        reliability bins (``points=True`` adds each curve's points)."""
        r = self.reliability
        per = []
        for c in self.classes:
            d: dict[str, Any] = {"name": c.name, "support": c.support, "roc_auc": _json(c.roc_auc),
                                 "pr_auc": _json(c.pr_auc)}
            if points:
                d.update(fpr=c.fpr.tolist(), tpr=c.tpr.tolist(), recall=c.recall.tolist(),
                         precision=c.precision.tolist())
            per.append(d)
        return {"roc_auc": _json(self.macro_roc_auc), "pr_auc": _json(self.macro_pr_auc), "ece": _json(r.ece),
                "mce": _json(r.mce), "curves": per,
                "reliability": {"bins": len(r.edges) - 1, "confidence": r.confidence.round(6).tolist(),
                                "accuracy": r.accuracy.round(6).tolist(), "counts": r.counts.tolist()}}


def _nanmean(values: Sequence[float]) -> float:
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    return float(v.mean()) if len(v) else float("nan")


def _json(x: float) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else round(float(x), 6)


def reliability(y_true: Any, probabilities: Any, bins: int = DEFAULT_BINS) -> Reliability:
    """The top-label reliability diagram and ECE of ``probabilities`` (N, C) against ``y_true``."""
    from sklearn.calibration import calibration_curve

    p = np.asarray(probabilities, np.float64)
    y = np.asarray(y_true, np.int64).reshape(-1)
    confidence = p.max(axis=-1)
    correct = (p.argmax(axis=-1) == y).astype(np.int64)
    edges = np.linspace(0.0, 1.0, int(bins) + 1)
    if len(y) == 0:
        empty = np.zeros(0)
        return Reliability(edges, empty, empty, np.zeros(0, np.int64), float("nan"), float("nan"))
    if correct.min() == correct.max():  # calibration_curve needs both outcomes; one is the trivial case
        acc_all = float(correct[0])
        ids = np.searchsorted(edges[1:-1], confidence)
        counts = np.bincount(ids, minlength=bins)
        keep = counts > 0
        conf = np.bincount(ids, weights=confidence, minlength=bins)[keep] / counts[keep]
        acc = np.full(int(keep.sum()), acc_all)
        counts = counts[keep]
    else:
        acc, conf = calibration_curve(correct, np.clip(confidence, 0.0, 1.0), n_bins=int(bins), strategy="uniform")
        ids = np.searchsorted(edges[1:-1], confidence)  # the binning calibration_curve uses
        counts = np.bincount(ids, minlength=bins)
        counts = counts[counts > 0]
    gaps = np.abs(acc - conf)
    return Reliability(edges, conf, acc, counts.astype(np.int64), float((gaps * counts).sum() / counts.sum()),
                       float(gaps.max()) if len(gaps) else float("nan"))


def classification_curves(y_true: Any, probabilities: Any, class_names: Sequence[str] | None = None,
                          bins: int = DEFAULT_BINS) -> Curves:
    """Per-class ROC and PR curves with areas and the reliability diagram (see the module text)."""
    from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score, roc_curve

    p = np.asarray(probabilities, np.float64)
    if p.ndim != 2:
        raise ValueError(f"probabilities must be (samples, classes); got shape {p.shape}")
    y = np.asarray(y_true, np.int64).reshape(-1)
    if len(y) != len(p):
        raise ValueError(f"{len(y)} labels for {len(p)} rows of probabilities")
    names = list(class_names or [str(i) for i in range(p.shape[1])])
    out = []
    for k in range(p.shape[1]):
        positive = (y == k).astype(np.int64)
        support = int(positive.sum())
        if 0 < support < len(y):
            fpr, tpr, _ = roc_curve(positive, p[:, k])
            precision, recall, _ = precision_recall_curve(positive, p[:, k])
            roc_auc = float(roc_auc_score(positive, p[:, k]))
            pr_auc = float(average_precision_score(positive, p[:, k]))
        else:
            fpr = tpr = recall = precision = np.zeros(0)
            roc_auc = pr_auc = float("nan")
        out.append(ClassCurve(names[k] if k < len(names) else str(k), support, roc_auc, pr_auc,
                              fpr, tpr, recall, precision))
    return Curves(out, reliability(y, p, bins), len(y))
