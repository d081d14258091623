"""``dlstudio explain`` and ``dlstudio embed``: why a trained run decided, and where a layer puts the samples.

    dlstudio explain PROJECT [--run RUN] --method saliency|gradcam|ig|smoothgrad|occlusion --sample N
                     [--class C|predicted|true] [--baseline zero|mean|blur|NUMBER] [--steps N]
                     -o map.png [--npy map.npy] [--check] [--json]
    dlstudio embed PROJECT [--run RUN] [--layer NAME] --method pca|tsne|umap -o points.png [--csv points.csv]
                   [--nearest TOKEN]

``explain`` draws the sample, its attribution map and the map over it (a text,
row or sequence: one bar per token, feature or step); ``--npy`` writes the
attributions (shaped like the sample; text: one per token; Grad-CAM: the layer's
map). Integrated Gradients prints its completeness check. ``--check`` runs the
model randomisation test (Adebayo et al. 2018) on ``--check-samples`` samples
from ``--sample`` on and prints the rank correlation after each layer is
randomised, top first, and whether the method passes.

``embed`` projects a layer's activations (default: the layer before the output)
for the test split to 2-D and draws them by class, misclassified ones ringed;
``--csv`` writes index, x, y, true and predicted class, correct.
"""

from __future__ import annotations

import argparse
import csv
import io
from typing import Any

from dlstudio.cli.common import (
    UserError,
    add_project_argument,
    add_run_arguments,
    human_out,
    load_project,
    positive_int,
    print_json,
    run_from_args,
    sample_index,
    write_png,
)

METHODS = ("saliency", "gradcam", "ig", "smoothgrad", "occlusion")


def register(sub: Any) -> None:
    """Add ``explain`` and ``embed`` to the CLI's subparsers."""
    p = sub.add_parser("explain", help="an attribution map of one sample (saliency, Grad-CAM, Integrated "
                       "Gradients, SmoothGrad, occlusion), optionally with its sanity check")
    add_project_argument(p)
    add_run_arguments(p)
    p.add_argument("--method", choices=METHODS, default="ig", help="the attribution method (default: ig)")
    p.add_argument("--sample", type=sample_index, required=True, metavar="N", help="which sample (from 0)")
    p.add_argument("--split", choices=("test", "train"), default="test", help="its split (default: test)")
    p.add_argument("--class", dest="class_", metavar="C", help="explain this class: a name, a number, "
                   "'predicted' (default) or 'true' (the sample's label)")
    p.add_argument("--baseline", default="zero", metavar="B", help="Integrated Gradients' baseline: zero "
                   "(default), mean, blur or a number")
    p.add_argument("--steps", type=positive_int, default=None, metavar="N", help="Integrated Gradients' steps")
    p.add_argument("--samples", type=positive_int, default=32, metavar="N", help="SmoothGrad's noisy copies")
    p.add_argument("--patch", type=positive_int, default=None, metavar="N", help="occlusion's patch side")
    p.add_argument("--layer", metavar="NAME", help="Grad-CAM's layer (default: the last convolution)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the picture to write")
    p.add_argument("--npy", metavar="FILE", help="also write the attributions as a .npy array")
    p.add_argument("--check", action="store_true", help="run the model randomisation sanity check")
    p.add_argument("--check-samples", type=positive_int, default=8, metavar="N",
                   help="samples the check averages over, from --sample on (default 8)")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("embed", help="a layer's activations for the test split projected to 2-D (PCA, t-SNE, "
                       "UMAP), by class")
    add_project_argument(p)
    add_run_arguments(p)
    p.add_argument("--layer", metavar="NAME", help="the layer (default: the one before the output)")
    p.add_argument("--method", choices=("pca", "tsne", "umap"), default="pca", help="the projection "
                   "(default: pca; umap needs the umap-learn package)")
    p.add_argument("--split", choices=("test", "train"), default="test", help="the split (default: test)")
    p.add_argument("--max-points", type=positive_int, default=10_000, metavar="N",
                   help="at most this many samples (a seeded choice; default 10000)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the picture to write")
    p.add_argument("--csv", metavar="FILE", help="also write the points as CSV")
    p.add_argument("--nearest", metavar="TOKEN", help="a language model: also list the 10 tokens whose Embedding "
                   "vectors are nearest to TOKEN's")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_embed)


def _class(arg: str | None, dataset: Any, label: Any) -> int | None:
    names = list(dataset.class_names or [])
    if arg is None or (arg == "predicted" and arg not in names):
        return None
    if arg == "true" and arg not in names:
        if label is None:
            raise UserError("the sample has no class label; name a class")
        return int(label)
    if arg in names:
        return names.index(arg)
    try:
        return int(arg)
    except ValueError:
        raise UserError(f"no class {arg!r}; classes: {', '.join(names) or 'none'}") from None


def _baseline(text: str) -> Any:
    if text in ("zero", "mean", "blur"):
        return None if text == "zero" else text
    try:
        return float(text)
    except ValueError:
        raise UserError(f"--baseline must be zero, mean, blur or a number (got {text!r})") from None


def _unit_labels(dataset: Any, x: Any, unit: str) -> list[str] | None:
    if unit == "token":
        vocab = list(dataset.vocabulary or [])
        return [vocab[int(t)] if 0 <= int(t) < len(vocab) else str(int(t)) for t in x]
    if unit == "feature":
        return list(dataset.feature_names or []) or None
    return None


def cmd_explain(args: argparse.Namespace) -> int:
    import numpy as np

    from dlstudio.insight.attribution import DEFAULT_STEPS, METHOD_NAMES, attribute
    from dlstudio.insight.explain_pictures import attribution_picture
    from dlstudio.insight.models import check_fits, class_name, sample, split_arrays
    from dlstudio.runs import load_run

    project = load_project(args.project)
    loaded = load_run(project, run_from_args(project, args), args.weights)
    dataset = loaded.dataset
    if dataset.task != "classification":
        raise UserError(f"{dataset.name} is a {dataset.task} dataset; attribution explains a classifier's classes")
    check_fits(loaded.model, dataset)
    x, caption = sample(dataset, args.sample, args.split)
    _, ys = split_arrays(dataset, args.split)
    target = _class(args.class_, dataset, ys[args.sample] if np.ndim(ys[args.sample]) == 0 else None)
    options = {"baseline": _baseline(args.baseline), "steps": args.steps or DEFAULT_STEPS, "samples": args.samples,
               "patch": args.patch, "layer_name": args.layer}
    a = attribute(loaded.model, x, args.method, target, **options)
    c = int(a.classes)
    name = class_name(dataset, c)
    signed = args.method in ("ig", "occlusion")
    captions = [caption, f"{METHOD_NAMES[args.method]}: {name} ({a.probabilities[c]:.0%})",
                "over the sample" if a.unit in ("pixel", "cell") else ""]
    write_png(attribution_picture(x, a.heat, a.unit, signed, captions, _unit_labels(dataset, x, a.unit)),
              args.output)
    out = human_out(args.json)
    predicted = int(np.argmax(a.probabilities))
    guess = "" if predicted == c else f"; predicted {class_name(dataset, predicted)} ({a.probabilities[predicted]:.0%})"
    print(f"{loaded.label}, {caption}: {METHOD_NAMES[args.method]} of class {name} ({a.probabilities[c]:.1%})"
          f"{guess}; scores: {a.score}; {a.unit} map {'x'.join(map(str, np.shape(a.heat)))} -> {args.output}",
          file=out)
    result = {"run": loaded.id, "sample": args.sample, "split": args.split, "class": c, "class_name": name,
              "probability": float(a.probabilities[c]), "output": args.output, **a.to_dict()}
    if a.total is not None:
        print(f"completeness: attributions sum to {a.total:.5f}; f(x) - f(baseline) = {a.target:.5f} - "
              f"{a.baseline_score:.5f} = {a.target - a.baseline_score:.5f} (error {a.completeness_error:.2%})",
              file=out)
    if args.npy:
        array = a.values if a.unit in ("pixel", "feature", "step") else a.heat
        from dlstudio.atomic import write_file

        values = np.asarray(array, np.float32)
        # whole or not at all; np.save given a file object adds no ".npy" to the name
        write_file(args.npy, lambda tmp: tmp.write_bytes(_npy_bytes(values)))
        result["npy"] = args.npy
        print(f"attributions {np.shape(array)} -> {args.npy}", file=out)
    if args.check:
        from dlstudio.insight.sanity import randomization_check

        xs, _ = split_arrays(dataset, args.split)
        batch = np.asarray(xs[args.sample:args.sample + args.check_samples])
        check = randomization_check(loaded.model, batch, args.method, None if target is None else target,
                                    **{k: v for k, v in options.items() if v is not None})
        print(f"\nmodel randomisation check ({check.samples} samples, cascading from the top layer; Spearman rank "
              f"correlation with the trained model's {'signed ' if check.signed else ''}maps):", file=out)
        for layer, r, r_abs in zip(check.layers, check.correlations, check.abs_correlations):
            extra = f"  (magnitudes {r_abs:+.3f})" if check.signed else ""
            print(f"  {layer:<24} {r:+.3f}{extra}", file=out)
        print(check.verdict, file=out)
        result["check"] = check.to_dict()
    if args.json:
        print_json(result)
    return 0


def _nearest(loaded: Any, token: str, out: Any) -> list:
    from dlstudio.insight.projector import nearest_tokens

    vocab = list(getattr(loaded.dataset, "vocabulary", None) or [])
    if token not in vocab:
        raise UserError(f"{token!r} is not in the vocabulary of {loaded.dataset.name}" if vocab else
                        f"{loaded.dataset.name} has no vocabulary: --nearest is for a language model")
    near = nearest_tokens(loaded.model, vocab.index(token), 10, vocabulary=vocab)
    print(f"nearest to {token!r}: " + ", ".join(f"{t!r} {s:.2f}" for _, t, s in near), file=out)
    return [{"id": i, "token": t, "similarity": round(s, 4)} for i, t, s in near]


def cmd_embed(args: argparse.Namespace) -> int:
    from dlstudio.insight.explain_pictures import projection_picture
    from dlstudio.insight.projector import PROJECTION_NAMES, project_layer
    from dlstudio.runs import load_run

    project = load_project(args.project)
    loaded = load_run(project, run_from_args(project, args), args.weights)
    p = project_layer(loaded.model, loaded.dataset, args.layer, args.method, args.split, args.max_points,
                      graph=loaded.graph)
    title = f"{p.layer}: {PROJECTION_NAMES[p.method]} of {len(p.points):,} {p.split} samples"
    write_png(projection_picture(p.points, p.labels, p.wrong, p.class_names, title), args.output)
    out = human_out(args.json)
    facts = [f"{p.features:,} numbers per sample"]
    if p.explained is not None:
        facts.append(f"the plane shows {p.explained:.0%} of the variance")
    if p.knn_accuracy is not None:
        facts.append(f"5-NN class accuracy in the plane {p.knn_accuracy:.1%}, silhouette {p.silhouette:.2f}")
    if p.predicted is not None:
        facts.append(f"{int(p.wrong.sum())} misclassified (ringed)")
    print(f"{loaded.label}: {title}; " + "; ".join(facts) + f" -> {args.output}", file=out)
    result = {"run": loaded.id, "output": args.output, **p.to_dict()}
    if args.nearest is not None:
        result["nearest"] = _nearest(loaded, args.nearest, out)
    if args.csv:
        from dlstudio.atomic import atomic_write_text

        buffer = io.StringIO(newline="")
        w = csv.writer(buffer)
        w.writerow(["index", "x", "y", "true", "predicted", "correct"])
        w.writerows(p.rows())
        atomic_write_text(args.csv, buffer.getvalue())  # whole or not at all (WriteError names the file)
        result["csv"] = args.csv
        print(f"{len(p.points):,} points -> {args.csv}", file=out)
    if args.json:
        print_json(result)
    return 0


def _npy_bytes(values) -> bytes:
    """``values`` (an array) as the bytes of a .npy file."""
    import numpy as np

    buffer = io.BytesIO()
    np.save(buffer, values)
    return buffer.getvalue()
