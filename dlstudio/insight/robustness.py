"""How robust a trained classifier is, numpy in, numpy out (no Qt).

- :func:`robustness_curve` / :func:`robustness_curves`: accuracy on a test set
  against a list of eps, per attack, in batches (with progress and a stop flag
  for background workers).
- :func:`attack_samples`: one or a few samples attacked, with the perturbation
  and the class probabilities before and after; :func:`top_k` ranks them.
- :func:`successful_examples`: gallery data, the test samples the attack turns
  from right to wrong (original, adversarial, perturbation, labels,
  predictions, confidences), the most confident mistakes first.
- :func:`load_attack_setup` / :func:`attack_run`: the same for a project's
  trained run (its model, its test split, the valid input range), used by the
  command line, the benchmark and the panel; :func:`attack_test_sample` and
  :func:`compare_runs` are the panel's background work (no Qt here either).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from dlstudio.inference.perturbation import AttackError
from dlstudio.insight.attacks import METHODS, attack, predict_proba
from dlstudio.runs import valid_range

#: The eps values of a robustness curve by default (inputs in [0, 1]).
DEFAULT_EPS: tuple[float, ...] = (0.0, 0.025, 0.05, 0.075, 0.1, 0.125, 0.15, 0.2, 0.25, 0.3)


# ------------------------------------------------------------------ curves


@dataclass(frozen=True)
class RobustnessCurve:
    """Accuracy on ``n`` samples under ``method`` at each ``eps`` (eps 0: clean accuracy)."""

    method: str
    eps: tuple[float, ...]
    accuracy: tuple[float, ...]
    n: int
    label: str = ""
    complete: bool = True  # False when stopped before the last eps

    def at(self, eps: float) -> float:
        """The accuracy at ``eps`` (one of the curve's values)."""
        for e, a in zip(self.eps, self.accuracy):
            if abs(e - eps) < 1e-9:
                return a
        raise KeyError(f"eps {eps} is not on this curve ({', '.join(map(str, self.eps))})")

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "eps": list(self.eps), "accuracy": list(self.accuracy)}


def accuracy(model: Any, x: np.ndarray, y: np.ndarray, batch_size: int = 256) -> float:
    """The share of ``x`` that the model classifies as ``y``."""
    if len(x) == 0:
        return float("nan")
    return float((predict_proba(model, x, batch_size).argmax(axis=1) == _ids(y)).mean())


def _ids(y: Any) -> np.ndarray:
    y = np.asarray(y)
    return (y.argmax(axis=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y))).astype(np.int64)


def _check_method(method: str) -> str:
    method = str(method).lower()
    if method not in METHODS:
        raise AttackError(f"unknown attack {method!r}; choose one of {', '.join(METHODS)}")
    return method


def robustness_curve(model: Any, x: np.ndarray, y: np.ndarray, method: str = "fgsm",
                     eps: Sequence[float] = DEFAULT_EPS, label: str = "", batch_size: int = 256,
                     progress: Callable[[float], None] | None = None,
                     should_stop: Callable[[], bool] | None = None, **attack_kwargs: Any) -> RobustnessCurve:
    """Accuracy of ``model`` on ``(x, y)`` under ``method`` for every eps (sorted). ``progress(f)``
    gets the finished share after each eps; ``should_stop()`` ends it early (``complete=False``)."""
    method = _check_method(method)
    eps_list = sorted({float(e) for e in eps})
    y_ids = _ids(y)
    done_eps: list[float] = []
    accs: list[float] = []
    for i, e in enumerate(eps_list):
        if should_stop is not None and should_stop():
            break
        if e == 0:
            accs.append(accuracy(model, x, y_ids, batch_size))
        else:
            x_adv = attack(model, x, y_ids, method, e, batch_size=batch_size, **attack_kwargs)
            accs.append(accuracy(model, x_adv, y_ids, batch_size))
        done_eps.append(e)
        if progress is not None:
            progress((i + 1) / len(eps_list))
    return RobustnessCurve(method, tuple(done_eps), tuple(accs), len(x), label,
                           complete=len(done_eps) == len(eps_list))


def robustness_curves(model: Any, x: np.ndarray, y: np.ndarray, methods: Sequence[str] = ("fgsm", "pgd"),
                      eps: Sequence[float] = DEFAULT_EPS, label: str = "",
                      progress: Callable[[float], None] | None = None,
                      should_stop: Callable[[], bool] | None = None, **attack_kwargs: Any) -> list[RobustnessCurve]:
    """One :func:`robustness_curve` per method; ``progress`` counts over all of them."""
    curves = []
    for i, method in enumerate(methods):
        part = None if progress is None else (lambda f, i=i: progress((i + f) / len(methods)))
        curve = robustness_curve(model, x, y, method, eps, label, progress=part, should_stop=should_stop,
                                 **attack_kwargs)
        curves.append(curve)
        if not curve.complete:
            break
    return curves


# ------------------------------------------------------------------ single samples and galleries


@dataclass
class AttackResult:
    """Samples before and after an attack. ``perturbation = adversarial - original``."""

    method: str
    eps: float
    original: np.ndarray
    adversarial: np.ndarray
    labels: np.ndarray
    probs_before: np.ndarray  # (N, C)
    probs_after: np.ndarray
    class_names: list[str] = field(default_factory=list)
    target: int | None = None

    @property
    def perturbation(self) -> np.ndarray:
        return self.adversarial - self.original

    @property
    def pred_before(self) -> np.ndarray:
        return self.probs_before.argmax(axis=1)

    @property
    def pred_after(self) -> np.ndarray:
        return self.probs_after.argmax(axis=1)

    @property
    def success(self) -> np.ndarray:
        """Per sample: right before, wrong after (targeted: the target after)."""
        if self.target is not None:
            return (self.pred_after == self.target) & (self.pred_before != self.target)
        return (self.pred_before == self.labels) & (self.pred_after != self.labels)

    def name(self, index: int) -> str:
        return self.class_names[index] if 0 <= index < len(self.class_names) else str(index)

    def summary(self, i: int = 0) -> str:
        """One sentence on sample ``i``: the size of its perturbation and what it did."""
        d = self.perturbation[i]
        before, after = self.probs_before[i], self.probs_after[i]
        pb, pa = int(before.argmax()), int(after.argmax())
        what = (f"the prediction flipped from {self.name(pb)} to {self.name(pa)}" if pa != pb else
                f"still {self.name(pb)} ({before[pb]:.0%} \u2192 {after[pb]:.0%})")
        if self.target is not None:
            t = self.target
            what += f"; target {self.name(t)} (\u25ce): {before[t]:.0%} \u2192 {after[t]:.0%}"
        return (f"Largest change of a value {float(np.abs(d).max()):.3f}, "
                f"L2 norm {float(np.sqrt((d ** 2).sum())):.2f}: {what}.")


def attack_samples(model: Any, x: np.ndarray, y: np.ndarray, method: str, eps: float,
                   class_names: Sequence[str] | None = None, targeted: bool = False, target: int | None = None,
                   batch_size: int = 256, **attack_kwargs: Any) -> AttackResult:
    """Attack the samples ``x`` (true classes ``y``) and measure the probabilities before and after."""
    method = _check_method(method)
    x = np.asarray(x, np.float32)
    y_ids = _ids(y)
    before = predict_proba(model, x, batch_size)
    if float(eps) > 0 or method == "deepfool":
        x_adv = attack(model, x, y_ids, method, eps, targeted=targeted, target=target, batch_size=batch_size,
                       **attack_kwargs)
    else:
        x_adv = x.copy()
    after = predict_proba(model, x_adv, batch_size)
    return AttackResult(method, float(eps), x, x_adv, y_ids, before, after, list(class_names or []),
                        int(target) if targeted and target is not None else None)


def top_k(probs: np.ndarray, k: int = 3, class_names: Sequence[str] | None = None) -> list[list[tuple[str, float]]]:
    """Per sample, the ``k`` most probable (class name, probability) pairs, highest first."""
    probs = np.atleast_2d(np.asarray(probs))
    order = np.argsort(-probs, axis=1, kind="stable")[:, :k]
    names = list(class_names or [])
    return [[(names[j] if j < len(names) else str(j), float(p[j])) for j in row] for p, row in zip(probs, order)]


@dataclass(frozen=True)
class AttackExample:
    """One successful adversarial example (for a gallery)."""

    index: int  # into the attacked set
    original: np.ndarray
    adversarial: np.ndarray
    perturbation: np.ndarray
    label: int
    clean_pred: int
    adv_pred: int
    clean_confidence: float
    adv_confidence: float
    label_name: str = ""
    adv_name: str = ""

    def caption(self, arrow: str = "\u2192") -> str:
        """``true→predicted confidence``, e.g. ``4→9 87%``."""
        return f"{self.label_name or self.label}{arrow}{self.adv_name or self.adv_pred} {self.adv_confidence:.0%}"


def successful_examples(model: Any = None, x: np.ndarray | None = None, y: np.ndarray | None = None,
                        method: str = "fgsm", eps: float = 0.1, limit: int = 16,
                        class_names: Sequence[str] | None = None, result: AttackResult | None = None,
                        **attack_kwargs: Any) -> list[AttackExample]:
    """The samples the attack turns from right to wrong, the most confident mistakes first
    (at most ``limit``). Pass ``result`` to reuse an :func:`attack_samples` result."""
    if result is None:
        if model is None or x is None or y is None:
            raise ValueError("successful_examples needs a model, x and y, or an attack result")
        result = attack_samples(model, x, y, method, eps, class_names, **attack_kwargs)
    idx = np.nonzero(result.success)[0]
    conf_after = result.probs_after.max(axis=1)
    idx = idx[np.argsort(-conf_after[idx], kind="stable")][:int(limit)]
    before, after = result.pred_before, result.pred_after
    return [AttackExample(int(i), result.original[i], result.adversarial[i], result.perturbation[i],
                          int(result.labels[i]), int(before[i]), int(after[i]),
                          float(result.probs_before[i].max()), float(conf_after[i]),
                          result.name(int(result.labels[i])), result.name(int(after[i]))) for i in idx]


def display_rgb(x: np.ndarray, clip: Sequence[float] = (0.0, 1.0)) -> np.ndarray:
    """An image (H, W, 1 or 3) in the valid range ``clip`` as RGB uint8, for display."""
    lo, hi = float(clip[0]), float(clip[1])
    v = np.clip((np.asarray(x, np.float64) - lo) / ((hi - lo) or 1.0), 0, 1)
    v = np.repeat(v, 3, axis=-1) if v.shape[-1] == 1 else v[..., :3]
    return np.rint(v * 255).astype(np.uint8)


def perturbation_image(perturbation: np.ndarray, eps: float | None = None) -> np.ndarray:
    """A perturbation (H, W, C) as RGB uint8 on a diverging blue-white-red scale, amplified so
    that ±eps (default: its largest magnitude) reaches full colour; 0 is white."""
    p = np.asarray(perturbation, np.float64)
    p = p.mean(axis=-1) if p.ndim == 3 else p
    scale = float(eps) if eps else float(np.abs(p).max())
    t = np.clip(p / scale, -1.0, 1.0) if scale > 0 else np.zeros_like(p)
    blue, white, red = np.array([33, 102, 172.0]), np.array([247, 247, 247.0]), np.array([178, 24, 43.0])
    pos, neg = np.clip(t, 0, 1)[..., None], np.clip(-t, 0, 1)[..., None]
    rgb = white + pos * (red - white) + neg * (blue - white)
    return np.round(rgb).astype(np.uint8)


# ------------------------------------------------------------------ trained runs


@dataclass
class AttackSetup:
    """A trained run ready to attack: its model, its dataset (test split) and input range."""

    run: Any
    model: Any
    dataset: Any
    clip: tuple[float, float]

    @property
    def label(self) -> str:
        return run_label(self.run)


def run_label(run: Any, short: bool = False) -> str:
    """``20240101-120000-ab12`` plus ``(FGSM-trained, eps 0.1)`` when trained adversarially;
    ``short``: without the date (``120000-ab12 FGSM-trained``)."""
    settings = (getattr(run, "info", None) or {}).get("settings") or {}
    method = settings.get("adversarial", "none") or "none"
    name = run.id.split("-", 1)[-1] if short else run.id
    if method == "none":
        return name
    if short:
        return f"{name} {method.upper()}-trained"
    return f"{name} ({method.upper()}-trained, eps {settings.get('adversarial_eps', 0.1):g})"


def load_attack_setup(project: Any, run: Any = "last", which: str = "last") -> AttackSetup:
    """The model and test split of ``run`` of ``project`` (a Project or .dlsproj path). Raises
    AttackError when the run is no classifier on real-valued inputs, EvaluationError /
    FileNotFoundError when it cannot be loaded."""
    from dlstudio.runs import as_project
    from dlstudio.runs import check_fits
    from dlstudio.runs import dataset_for_run, load_run_model
    from dlstudio.runs import find_run

    project = as_project(project)
    run = find_run(project, run)
    dataset = dataset_for_run(project, run)
    if dataset.task != "classification":
        raise AttackError(f"adversarial attacks need a classifier; {dataset.name} is a {dataset.task} task")
    if not np.issubdtype(dataset.x_test.dtype, np.floating):
        raise AttackError(f"{dataset.name} gives {dataset.x_test.dtype} inputs (token ids): a gradient "
                          "attack needs real-valued inputs")
    if len(dataset.x_test) == 0:
        raise AttackError(f"{dataset.name} has no test samples to attack")
    model = load_run_model(run, which)
    check_fits(model, dataset, run)
    return AttackSetup(run, model, dataset, valid_range(dataset.x_train))


def attack_run(setup: AttackSetup, method: str = "fgsm", eps: float | Sequence[float] = 0.1, steps: int = 10,
               max_samples: int | None = None, **attack_kwargs: Any) -> dict[str, Any]:
    """Clean and adversarial test accuracy of a run: ``{"run", "method", "eps", "n",
    "clean_accuracy", "adversarial_accuracy"}`` (for several eps: lists and a ``curve``)."""
    x, y = setup.dataset.x_test, setup.dataset.y_test
    if max_samples:
        x, y = x[:max_samples], y[:max_samples]
    several = not isinstance(eps, (int, float))
    eps_list = [float(e) for e in (eps if several else [eps])]
    kwargs = {"clip": setup.clip, **attack_kwargs}
    if method in ("pgd", "bim"):
        kwargs["steps"] = steps
    curve = robustness_curve(setup.model, x, y, method, [0.0, *eps_list], label=setup.label, **kwargs)
    adv = [curve.at(e) for e in eps_list]
    return {"run": setup.run.id, "method": method, "eps": eps_list if several else eps_list[0],
            "steps": steps if method in ("pgd", "bim") else None, "n": len(x),
            "clean_accuracy": curve.at(0.0), "adversarial_accuracy": adv if several else adv[0],
            "adversarial_training": (setup.run.info.get("settings") or {}).get("adversarial", "none")}


def attack_test_sample(setup: AttackSetup, index: int, method: str, eps: float, steps: int = 10,
                       targeted: bool = False, target: int | None = None) -> AttackResult:
    """Attack test sample ``index`` of a run (PGD/BIM with ``steps``)."""
    ds = setup.dataset
    i = min(max(int(index), 0), len(ds.x_test) - 1)
    kwargs = {"steps": steps} if method in ("pgd", "bim") else {}
    return attack_samples(setup.model, ds.x_test[i:i + 1], ds.y_test[i:i + 1], method, eps, ds.class_names,
                          targeted=targeted, target=target, clip=setup.clip, **kwargs)


def compare_runs(project: Any, run_ids: Sequence[str], setups: dict[str, AttackSetup], have: Any = (),
                 methods: Sequence[str] = ("fgsm", "pgd"), eps: Sequence[float] = DEFAULT_EPS, steps: int = 10,
                 cancelled: Callable[[], bool] = lambda: False):
    """A generator for background workers: the robustness curves of several runs, one eps at a
    time, yielding the finished share. Returns ``{(run id, method, steps): curve}`` for the pairs
    not in ``have``, or None when ``cancelled()``. ``setups`` (run id -> AttackSetup) is
    used and filled in as runs load."""
    todo = [(rid, m) for rid in run_ids for m in methods if (rid, m, steps) not in have]
    eps = sorted({float(e) for e in eps} | {0.0})
    total, done, curves = len(todo) * len(eps), 0, {}
    for rid, method in todo:
        if rid not in setups:
            setups[rid] = load_attack_setup(project, rid)
        s = setups[rid]
        x, y = s.dataset.x_test, s.dataset.y_test
        accs = []
        for e in eps:
            if cancelled():
                return None
            accs.append(accuracy(s.model, x, y) if e == 0 else
                        robustness_curve(s.model, x, y, method, [e], clip=s.clip, steps=steps).accuracy[0])
            done += 1
            yield done / total
        curves[(rid, method, steps)] = RobustnessCurve(method, tuple(eps), tuple(accs), len(x),
                                                       run_label(s.run, short=True))
    return curves
