"""Full-length training of the gallery examples, each figure printed next to the
claim its notes make.

Run from the repository root::

    .venv/bin/python benchmarks/gallery.py                 # every example
    .venv/bin/python benchmarks/gallery.py xor_mlp small_vgg  # some (file stems)

Each example trains with its own settings (its full budget) through the same
engine as ``dlstudio train``; then the figures its claims name are measured:
test metrics, the last training/validation accuracy and their gap, the epochs
early stopping let run, the first-layer / last-layer gradient ratio (mean
|gradient| of the kernels on a fixed batch, at the first step and at the end),
and per-example extras (``EXTRAS``: the accuracy without augmentation, the
autoencoder's class separation in its code plane). The table at the end lists
every claim of ``CLAIMS`` with the measured value and whether it holds.

Add a row to ``CLAIMS`` for a new example (and an entry in ``EXTRAS`` when it
needs a figure of its own). Examples with a claim but no figure (GAN projects,
which the engine's ``train`` does not run) are listed as "not measured here".

Measured on 2026-11-23 on the development machine (2 CPU cores shared with
other jobs, TensorFlow 2.21 on CPU, seed 0; the figures repeat exactly on a
second run)::

    example                 figure               claim        measured  holds  what the notes say
    ---------------------------------------------------------------------------------------------
    perceptron_xor          test_accuracy        <= 0.8       0.62      ok     a line cannot solve XOR: at best ~75%
    xor_mlp                 test_loss            <= 0.01      4.03e-04  ok     test loss near 0.001
    xor_mlp                 test_accuracy        >= 0.97      1         ok     one hidden layer solves XOR: 100%
    spiral_mlp              test_accuracy        >= 0.97      1         ok     about 100%
    sine_regression         test_loss            <= 0.015     0.01116   ok     test MSE ~0.011, near the noise variance 0.01
    moons_classification    test_accuracy        >= 0.97      0.99      ok     test accuracy ~99%
    deep_sigmoid            test_accuracy        <= 0.2       0.1       ok     a deep sigmoid net stays at chance, ~10%
    deep_sigmoid            grad_ratio_start     <= 1.00e-03  1.10e-04  ok     first-layer gradient ~10,000x smaller at the start
    relu_he_batchnorm       test_accuracy        >= 0.95      0.9806    ok     ReLU + He + BatchNorm: ~98%
    relu_he_batchnorm       grad_ratio_start     0.3..3       1.066     ok     first/last gradient ratio near 1
    overfitting_mlp         train_accuracy       >= 0.95      0.9714    ok     memorises the training set: ~97%
    overfitting_mlp         gap                  >= 0.12      0.1714    ok     train-validation gap about 17 points
    overfitting_mlp         val_loss_rise        >= 3         4.083     ok     validation loss ends ~4x its minimum
    dropout_early_stopping  val_loss_rise        <= 1.5       1.314     ok     validation loss ends within 1.5x its minimum
    dropout_early_stopping  gap                  <= 0.08      0.05714   ok     gap about 6 points
    dropout_early_stopping  epochs_run           <= 150       88        ok     early stopping after ~90 of 300 epochs
    augmentation_digits     test_accuracy        >= 0.96      0.9797    ok     ~98% from 270 training images
    augmentation_digits     augmentation_gain    >= 0.02      0.04319   ok     ~4 points above no augmentation (~94%)
    digits_cnn              test_accuracy        >= 0.96      0.9806    ok     about 98%
    small_vgg               test_accuracy        >= 0.98      1         ok     about 99-100%
    resnet_block            test_accuracy        >= 0.96      0.9861    ok     about 98-99%
    inception_block         test_accuracy        >= 0.9       0.9222    ok     about 92% with ~3,000 parameters
    autoencoder_digits      test_loss            <= 0.04      0.03422   ok     test MSE about 0.034
    autoencoder_digits      latent_knn_accuracy  >= 0.65      0.7833    ok     5-NN accuracy in the code plane ~78%
    adversarial_digits      test_accuracy        >= 0.95      0.9667    ok     about 97% clean accuracy

The two "seeing why" examples (issue 20), measured on 2026-12-07 the same way::

    projector_digits        test_accuracy              >= 0.96  0.9806    ok     about 98%
    projector_digits        tsne_silhouette            >= 0.5   0.6452    ok     fc1's t-SNE plane: silhouette about 0.65
    projector_digits        tsne_knn_accuracy          >= 0.9   0.9528    ok     5-NN accuracy in the plane about 95%
    projector_digits        tsne_silhouette_untrained  <= 0.25  0.1332    ok     untrained: silhouette about 0.13
    saliency_sanity_digits  test_accuracy              >= 0.96  0.9806    ok     about 98%
    saliency_sanity_digits  randomised_saliency        <= 0.5   0.1827    ok     saliency vs random model: about 0.2
    saliency_sanity_digits  randomised_smoothgrad      <= 0.5   0.2132    ok     SmoothGrad vs random model: about 0.2
    saliency_sanity_digits  randomised_ig              <= 0.5   -0.05555  ok     IG (signed) vs random model: about 0.0
    saliency_sanity_digits  randomised_ig_magnitude    >= 0.5   0.9115    ok     |IG| vs random model: about 0.9
    saliency_sanity_digits  ig_completeness_error      <= 0.01  9.16e-03  ok     IG sums to f(x) - f(0) within 1%

First-layer / last-layer mean |kernel gradient| (``grad_ratio_*``): deep
sigmoid 1.1e-4 at the first step (1.76e-6 vs 1.60e-2) and 1.9e-4 at the end;
ReLU + He + BatchNorm 1.07 at the first step (3.00e-2 vs 2.81e-2) and 0.76 at
the end. Wall time per example 16-160 s on that busy machine (about 14
minutes for all sixteen).
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
EXAMPLES = ROOT / "resources" / "examples"


@dataclass(frozen=True)
class Claim:
    """One claim of an example's notes: ``figure`` must lie in [low, high] (None: open)."""

    example: str  # the file stem in resources/examples
    figure: str  # a key of the measured figures
    low: float | None
    high: float | None
    text: str  # the claim in words, as the notes make it


CLAIMS: list[Claim] = [
    # basics
    Claim("perceptron_xor", "test_accuracy", None, 0.80, "a line cannot solve XOR: at best ~75%"),
    Claim("xor_mlp", "test_loss", None, 0.01, "test loss near 0.001"),
    Claim("xor_mlp", "test_accuracy", 0.97, None, "one hidden layer solves XOR: 100%"),
    Claim("spiral_mlp", "test_accuracy", 0.97, None, "about 100%"),
    Claim("sine_regression", "test_loss", None, 0.015, "test MSE ~0.011, near the noise variance 0.01"),
    Claim("moons_classification", "test_accuracy", 0.97, None, "test accuracy ~99%"),
    # regularisation
    Claim("deep_sigmoid", "test_accuracy", None, 0.20, "a deep sigmoid net stays at chance, ~10%"),
    Claim("deep_sigmoid", "grad_ratio_start", None, 1e-3, "first-layer gradient ~10,000x smaller at the start"),
    Claim("relu_he_batchnorm", "test_accuracy", 0.95, None, "ReLU + He + BatchNorm: ~98%"),
    Claim("relu_he_batchnorm", "grad_ratio_start", 0.3, 3.0, "first/last gradient ratio near 1"),
    Claim("overfitting_mlp", "train_accuracy", 0.95, None, "memorises the training set: ~97%"),
    Claim("overfitting_mlp", "gap", 0.12, None, "train-validation gap about 17 points"),
    Claim("overfitting_mlp", "val_loss_rise", 3.0, None, "validation loss ends ~4x its minimum"),
    Claim("dropout_early_stopping", "val_loss_rise", None, 1.5, "validation loss ends within 1.5x its minimum"),
    Claim("dropout_early_stopping", "gap", None, 0.08, "gap about 6 points"),
    Claim("dropout_early_stopping", "epochs_run", None, 150, "early stopping after ~90 of 300 epochs"),
    Claim("augmentation_digits", "test_accuracy", 0.96, None, "~98% from 270 training images"),
    Claim("augmentation_digits", "augmentation_gain", 0.02, None, "~4 points above no augmentation (~94%)"),
    # CNNs
    Claim("digits_cnn", "test_accuracy", 0.96, None, "about 98%"),
    Claim("small_vgg", "test_accuracy", 0.98, None, "about 99-100%"),
    Claim("resnet_block", "test_accuracy", 0.96, None, "about 98-99%"),
    Claim("inception_block", "test_accuracy", 0.90, None, "about 92% with ~3,000 parameters"),
    # sequences (their text, translations and forecasts: benchmarks/sequences.py)
    Claim("char_lstm_hello", "test_accuracy", 0.99, None, "memorises hello: 100%"),
    Claim("char_lstm_corpus", "test_accuracy", 0.45, None, "next character ~51% (a space every time: 17%)"),
    Claim("bilstm_classifier", "test_accuracy", 0.98, None, "every test review right: 100%"),
    Claim("seq2seq_dates", "test_accuracy", 0.97, None, "per character ~100% (greedy: all dates exact)"),
    Claim("forecast_sine", "test_mae", None, 0.09, "test MAE ~0.063 one step ahead (last value: 0.20)"),
    # generative
    Claim("autoencoder_digits", "test_loss", None, 0.04, "test MSE about 0.034"),
    Claim("autoencoder_digits", "latent_knn_accuracy", 0.65, None, "5-NN accuracy in the code plane ~78%"),
    # seeing why (issue 20)
    Claim("projector_digits", "test_accuracy", 0.96, None, "about 98%"),
    Claim("projector_digits", "tsne_silhouette", 0.5, None, "fc1's t-SNE plane: silhouette about 0.65"),
    Claim("projector_digits", "tsne_knn_accuracy", 0.9, None, "5-NN accuracy in the plane about 95%"),
    Claim("projector_digits", "tsne_silhouette_untrained", None, 0.25, "untrained: silhouette about 0.13"),
    Claim("saliency_sanity_digits", "test_accuracy", 0.96, None, "about 98%"),
    Claim("saliency_sanity_digits", "randomised_saliency", None, 0.5, "saliency vs random model: about 0.2"),
    Claim("saliency_sanity_digits", "randomised_smoothgrad", None, 0.5, "SmoothGrad vs random model: about 0.2"),
    Claim("saliency_sanity_digits", "randomised_ig", None, 0.5, "IG (signed) vs random model: about 0.0"),
    Claim("saliency_sanity_digits", "randomised_ig_magnitude", 0.5, None, "|IG| vs random model: about 0.9"),
    Claim("saliency_sanity_digits", "ig_completeness_error", None, 0.01, "IG sums to f(x) - f(0) within 1%"),
    # adversarial (its attacks are measured by benchmarks/adversarial.py)
    Claim("adversarial_digits", "test_accuracy", 0.95, None, "about 97% clean accuracy"),
]


# ------------------------------------------------------------- measuring
def _ratio(values: tuple[float, ...]) -> float:
    return values[0] / values[-1] if len(values) >= 2 and values[-1] > 0 else math.nan


def _gradient_probe(dataset: Any, settings: Any, events: list) -> Any:
    """A GradientFlow callback measuring about 20 times over the run on a fixed batch."""
    from dlstudio.training.gradients import GradientFlow

    steps = math.ceil(len(dataset.x_train) * (1 - settings.validation_split) / settings.batch_size)
    every = max(1, steps * settings.epochs // 20)
    return GradientFlow(dataset.x_train[:64], dataset.y_train[:64], every_n_batches=every, emit=events.append)


def _without(graph: Any, types: tuple[str, ...]) -> Any:
    """A copy of ``graph`` with the nodes of ``types`` cut out of their chain."""
    from dlstudio.graph import Graph

    g = Graph.from_dict(graph.to_dict())
    for node in [n for n in g.nodes if n.type in types]:
        before = [(e.src, e.src_port) for e in g.in_edges(node.id)]
        after = [(e.dst, e.dst_port) for e in g.out_edges(node.id)]
        g.remove_node(node.id)
        for src, sport in before[:1]:
            for dst, dport in after:
                g.add_edge(src, sport, dst, dport)
    return g


def _train(graph: Any, dataset: Any, settings: Any, callbacks: tuple = ()) -> Any:
    from dlstudio.training.engine import train

    return train(graph, dataset, settings, callbacks=callbacks)


def measure(project: Any) -> dict[str, float]:
    """Train ``project`` with its full budget and return its figures."""
    from dlstudio.data import load_dataset

    settings = project.training
    dataset = load_dataset(project.dataset.name, project.dataset.options, seed=settings.seed)
    flow: list = []
    t0 = time.perf_counter()
    result = _train(project.graph, dataset, settings, (_gradient_probe(dataset, settings, flow),))
    h = result.history
    figures = {k: float(v) for k, v in result.metrics.items() if k.startswith("test_")}
    figures["seconds"] = time.perf_counter() - t0
    figures["epochs_run"] = float(len(h.get("loss", [])))
    if "accuracy" in h:
        figures["train_accuracy"] = h["accuracy"][-1]
    if "val_accuracy" in h:
        figures["val_accuracy"] = h["val_accuracy"][-1]
        figures["gap"] = h["accuracy"][-1] - h["val_accuracy"][-1]
    if "val_loss" in h:
        figures["val_loss_min"] = min(h["val_loss"])
        figures["val_loss_rise"] = h["val_loss"][-1] / max(min(h["val_loss"]), 1e-12)
    if flow:
        figures["grad_ratio_start"] = _ratio(flow[0].magnitudes)
        figures["grad_ratio_end"] = _ratio(flow[-1].magnitudes)
        figures["grad_first_start"], figures["grad_last_start"] = flow[0].magnitudes[0], flow[0].magnitudes[-1]
    extra = EXTRAS.get(Path(project.path).stem)
    if extra is not None:
        figures.update(extra(project, dataset, result, figures))
    return figures


def _augmentation_extra(project: Any, dataset: Any, result: Any, figures: dict) -> dict[str, float]:
    from dlstudio.data.augment import AUGMENTATION_TYPES

    plain = _train(_without(project.graph, AUGMENTATION_TYPES), dataset, project.training)
    without = plain.metrics["test_accuracy"]
    return {"test_accuracy_without": without, "augmentation_gain": figures["test_accuracy"] - without}


def _autoencoder_extra(project: Any, dataset: Any, result: Any, figures: dict) -> dict[str, float]:
    from dlstudio.insight.autoencoder import autoencoder_view

    view = autoencoder_view(result.model, project.graph, dataset)
    return {"latent_knn_accuracy": float(view.knn_accuracy), "reconstruction_mse": view.mse}


def _projector_extra(project: Any, dataset: Any, result: Any, figures: dict) -> dict[str, float]:
    from dlstudio.insight.models import untrained_model
    from dlstudio.insight.projector import project_layer

    trained = project_layer(result.model, dataset, None, "tsne")
    fresh = project_layer(untrained_model(project.graph, seed=project.training.seed), dataset, None, "tsne")
    return {"tsne_silhouette": trained.silhouette, "tsne_knn_accuracy": trained.knn_accuracy,
            "tsne_silhouette_untrained": fresh.silhouette}


def _sanity_extra(project: Any, dataset: Any, result: Any, figures: dict) -> dict[str, float]:
    import numpy as np

    from dlstudio.insight.attribution import attribute
    from dlstudio.insight.sanity import randomization_check

    x = dataset.x_test[:32]
    out = {f"randomised_{m}": randomization_check(result.model, x, m).final for m in ("saliency", "smoothgrad")}
    ig = randomization_check(result.model, x, "ig")
    out.update(randomised_ig=ig.final, randomised_ig_magnitude=ig.abs_correlations[-1],
               ig_completeness_error=float(np.max(attribute(result.model, x, "ig").completeness_error)))
    return out


#: Figures of one example beyond the generic ones: f(project, dataset, result, figures) -> figures.
EXTRAS: dict[str, Callable[..., dict[str, float]]] = {
    "augmentation_digits": _augmentation_extra,
    "autoencoder_digits": _autoencoder_extra,
    "projector_digits": _projector_extra,
    "saliency_sanity_digits": _sanity_extra,
}


# --------------------------------------------------------------- report
def _fmt(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    a = abs(value)
    return f"{value:.2e}" if a and (a < 1e-2 or a >= 1e4) else f"{value:.4g}"


def _bounds(c: Claim) -> str:
    if c.low is not None and c.high is not None:
        return f"{_fmt(c.low)}..{_fmt(c.high)}"
    return f">= {_fmt(c.low)}" if c.low is not None else f"<= {_fmt(c.high)}"


def _holds(c: Claim, value: float | None) -> str:
    if value is None or math.isnan(value):
        return "not measured here"
    ok = (c.low is None or value >= c.low) and (c.high is None or value <= c.high)
    return "ok" if ok else "FAILS"


def table(figures: dict[str, dict[str, float]], stems: list[str]) -> list[str]:
    rows = [("example", "figure", "claim", "measured", "holds", "what the notes say")]
    for c in CLAIMS:
        if c.example in stems:
            value = figures.get(c.example, {}).get(c.figure)
            rows.append((c.example, c.figure, _bounds(c), _fmt(value), _holds(c, value), c.text))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    lines = ["  ".join(x.ljust(w) for x, w in zip(r[:5], widths)) + "  " + r[5] for r in rows]
    return lines[:1] + ["-" * len(lines[0])] + lines[1:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("examples", nargs="*", help="file stems in resources/examples (default: all)")
    args = parser.parse_args(argv)
    from dlstudio.backend import load_keras
    from dlstudio.project import load_project

    load_keras()
    known = sorted(p.stem for p in EXAMPLES.glob("*.dlsproj"))
    stems = args.examples or known
    unknown = [s for s in stems if s not in known]
    if unknown:
        print(f"error: no example {unknown[0]!r}; examples: {', '.join(known)}", file=sys.stderr)
        return 1
    figures: dict[str, dict[str, float]] = {}
    for stem in stems:
        project = load_project(EXAMPLES / f"{stem}.dlsproj")
        if getattr(project, "gan", None) is not None or getattr(project, "graphs", None):
            print(f"{stem}: not measured here (a multi-graph / GAN project; see its own benchmark)", flush=True)
            continue
        figures[stem] = measure(project)
        shown = "  ".join(f"{k} {_fmt(v)}" for k, v in sorted(figures[stem].items()))
        print(f"{stem}: {shown}", flush=True)
    print()
    for line in table(figures, stems):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
