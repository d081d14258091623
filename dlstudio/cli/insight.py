"""``dlstudio featuremaps`` and ``dlstudio saliency``: pictures of what a CNN sees.

    dlstudio featuremaps PROJECT [--run RUN] [--runs-dir DIR] --sample N [--layer NAME] -o maps.png
    dlstudio saliency PROJECT [--run RUN] [--runs-dir DIR] --sample N [--class C] -o saliency.png

``featuremaps`` draws the input and, for every convolution and pooling layer
(or just ``--layer``), one colour-mapped tile per channel, each stretched to
its own range, under a header with the layer's name and shape. Without
``--run`` (and ``--runs-dir``) the graph is drawn untrained (seeded, so the
picture repeats). ``saliency`` draws the input, its saliency map and the
Grad-CAM overlay side by side, for the predicted class (or ``--class``).
The pictures themselves are :mod:`dlstudio.insight.pictures`.
"""

from __future__ import annotations

import argparse
from typing import Any

from dlstudio.cli.common import (
    RUN_HELP,
    UserError,
    add_project_argument,
    add_run_arguments,
    load_project,
    run_from_args,
    sample_index,
    write_png,
)

UNTRAINED_RUN_HELP = ("the run: its id, a unique id prefix, 'last', 'best' (the lowest test loss) or the path of "
                      "a run folder (default: the graph, untrained; 'last' when only --runs-dir is given)")


def register(sub: Any) -> None:
    """Add ``featuremaps`` and ``saliency`` to the CLI's subparsers."""
    p = sub.add_parser("featuremaps", help="draw every conv/pool layer's feature maps for one sample")
    _common(p, run_default=None)
    p.add_argument("--layer", metavar="NAME", help="only this layer (any layer: dense ones as squares)")
    p.add_argument("--normalize", choices=("per_channel", "layer"), default="per_channel",
                   help="stretch each map on its own (default) or by the layer's range")
    p.set_defaults(func=cmd_featuremaps)

    p = sub.add_parser("saliency", help="input, saliency map and Grad-CAM of a trained run for one sample")
    _common(p, run_default="last")
    p.add_argument("--class", dest="class_", metavar="C", help="explain this class (name or number; default: "
                   "the predicted one)")
    p.add_argument("--layer", metavar="NAME", help="the Grad-CAM layer (default: the last convolution)")
    p.set_defaults(func=cmd_saliency)


def _common(p: argparse.ArgumentParser, run_default: str | None) -> None:
    add_project_argument(p)
    add_run_arguments(p, default=run_default, help=RUN_HELP if run_default else UNTRAINED_RUN_HELP)
    p.add_argument("--sample", type=sample_index, required=True, metavar="N", help="which sample (from 0)")
    p.add_argument("--split", choices=("test", "train"), default="test", help="the split to take it from "
                   "(default: test)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the picture to write")


def _subject(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """(subject, sample, raw caption) for the command's project, run and sample."""
    from dlstudio.insight.models import check_fits, load_subject, require_images, sample

    project = load_project(args.project)
    run = None
    if args.run is not None or args.runs_dir is not None:
        run = run_from_args(project, args, otherwise="leave out --run to look at the untrained graph")
    subject = load_subject(project, run, args.weights, seed=project.training.seed)
    require_images(subject.dataset)
    check_fits(subject.model, subject.dataset)
    x, caption = sample(subject.dataset, args.sample, args.split)
    return subject, x, caption


def cmd_featuremaps(args: argparse.Namespace) -> int:
    from dlstudio.insight.activations import ActivationProbe, probe_layers, spatial_layers
    from dlstudio.insight.pictures import feature_map_picture

    subject, x, caption = _subject(args)
    model = subject.model
    if args.layer:
        known = [layer.name for layer in probe_layers(model)]
        if args.layer not in known:
            raise UserError(f"no layer named {args.layer!r}; layers: {', '.join(known)}")
        names = [args.layer]
    else:
        names = spatial_layers(model)
        if not names:
            raise UserError("the model has no convolution or pooling layer (no layer with a height x width x "
                            "channels output), so it has no feature maps; name a layer with --layer to see "
                            "its activations")
    probe = ActivationProbe(model, names)
    maps = probe.probe(x)
    write_png(feature_map_picture(maps, probe.shapes, x, caption, args.normalize), args.output)
    total = sum(int(m.shape[-1]) if m.ndim else 1 for m in maps.values())
    print(f"{subject.label}, {caption}: {len(names)} layer{'s' * (len(names) != 1)}, {total} maps "
          f"-> {args.output}")
    return 0


def cmd_saliency(args: argparse.Namespace) -> int:
    import numpy as np

    from dlstudio.insight.models import class_name
    from dlstudio.insight.pictures import saliency_picture, shape_text
    from dlstudio.insight.saliency import explain

    subject, x, caption = _subject(args)
    target = None
    if args.class_ is not None:
        names = list(subject.dataset.class_names or [])
        if args.class_ in names:
            target = names.index(args.class_)
        else:
            try:
                target = int(args.class_)
            except ValueError:
                raise UserError(f"no class {args.class_!r}; classes: {', '.join(names) or 'none'}") from None
    e = explain(subject.model, x, target, args.layer)
    c = int(e.classes)
    probs = e.probabilities
    name = class_name(subject.dataset, c)
    predicted = int(np.argmax(probs))
    captions = [caption, f"saliency: {name} ({probs[c]:.0%})", f"Grad-CAM: {e.layer}"]
    write_png(saliency_picture(x, e.saliency, e.cam, captions), args.output)
    guess = "" if target is None else f"; predicted {class_name(subject.dataset, predicted)} ({probs[predicted]:.0%})"
    print(f"{subject.label}, {caption}: explained class {name} ({probs[c]:.1%}){guess}; "
          f"scores: {e.score}; Grad-CAM at {e.layer} ({shape_text(e.cam.shape)}) -> {args.output}")
    return 0
