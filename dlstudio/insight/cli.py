"""``dlstudio featuremaps`` and ``dlstudio saliency``: pictures of what a CNN sees.

    dlstudio featuremaps PROJECT [--run RUN] --sample N [--layer NAME] -o maps.png
    dlstudio saliency PROJECT --run RUN --sample N [--class C] -o saliency.png

``featuremaps`` draws the input and, for every convolution and pooling layer
(or just ``--layer``), one colour-mapped tile per channel, each stretched to
its own range, under a header with the layer's name and shape. Without
``--run`` the graph is drawn untrained (seeded, so the picture repeats).
``saliency`` draws the input, its saliency map and the Grad-CAM overlay side
by side, for the predicted class (or ``--class``).

``register(subparsers)`` adds both to the main parser; heavy modules load only
when a command runs. Exit codes as the rest of the CLI: 0 done, 1 a clear
message (not an image dataset, no conv layer, sample out of range), 2 usage.
"""

from __future__ import annotations

import argparse
from typing import Any

HEADER_HEIGHT = 22
MARGIN = 8


def _user_error(message: str) -> Exception:
    from dlstudio.cli import UserError

    return UserError(message)


def _errors() -> tuple:
    from dlstudio.data import DatasetError
    from dlstudio.insight.activations import InsightError
    from dlstudio.training.evaluate import EvaluationError

    return (InsightError, DatasetError, EvaluationError, FileNotFoundError)


def _subject(args: argparse.Namespace) -> tuple[Any, Any, str]:
    """(subject, sample, raw caption) for the command's project, run and sample."""
    from dlstudio.cli import _load
    from dlstudio.insight.models import check_fits, load_subject, require_images, sample

    project = _load(args.project)
    if args.run is not None and project.path is None:
        raise _user_error("the project has not been saved, so it has no runs")
    try:
        subject = load_subject(project, args.run, args.weights, seed=project.training.seed)
        require_images(subject.dataset)
        check_fits(subject.model, subject.dataset)
        x, caption = sample(subject.dataset, args.sample, args.split)
    except _errors() as exc:
        if isinstance(exc, FileNotFoundError) and "none yet" in str(exc):
            raise _user_error(f"{project.path.name} has no runs yet: train it first (dlstudio train), or leave "
                              "out --run to look at the untrained graph") from None
        raise _user_error(f"run {exc}" if isinstance(exc, FileNotFoundError) else str(exc)) from None
    return subject, x, caption


# ----------------------------------------------------------------- pictures
def _text_strip(text: str, width: int, height: int = HEADER_HEIGHT, bold: bool = True):
    import numpy as np
    from PIL import Image, ImageDraw

    from dlstudio.data.grid import _fit_text, _font

    img = Image.new("RGB", (max(1, width), height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = _font(13 if bold else 12)
    draw.text((2, height / 2), _fit_text(draw, text, font, width - 4), fill=(30, 30, 30) if bold else (90, 90, 90),
              font=font, anchor="lm")
    return np.asarray(img)


def stack_sections(sections: list[tuple[str, Any]], background: tuple[int, int, int] = (255, 255, 255)):
    """One picture: each (header, RGB uint8 picture) below the previous one, left-aligned."""
    import numpy as np

    width = max(p.shape[1] for _, p in sections) + 2 * MARGIN
    parts = []
    for title, picture in sections:
        head = _text_strip(title, width - 2 * MARGIN)
        for block in (head, picture):
            row = np.empty((block.shape[0], width, 3), np.uint8)
            row[:] = background
            row[:, MARGIN:MARGIN + block.shape[1]] = block
            parts.append(row)
        spacer = np.empty((MARGIN, width, 3), np.uint8)
        spacer[:] = background
        parts.append(spacer)
    return np.concatenate(parts, axis=0)


def _shape_text(shape) -> str:
    return "x".join(str(d) for d in shape)  # Pillow's default font may lack the multiplication sign


def feature_map_picture(maps: dict, shapes: dict, image, caption: str, normalize: str = "per_channel",
                        tile: int = 40):
    """The input and every layer's channel tiles (viridis), as one RGB uint8 picture."""
    from dlstudio.data.grid import auto_scale, image_grid
    from dlstudio.insight.activations import channel_grid, colorize
    from dlstudio.insight.saliency import display_image

    img = display_image(image)
    sections = [(f"input \u00b7 {caption}", image_grid(img[None], scale=auto_scale(*img.shape[:2], target=96)))]
    for name, act in maps.items():
        tiles = channel_grid(act, normalize)
        n, h, w = tiles.shape
        columns = min(n, 16) if h > 1 else min(n, 32)
        grid = image_grid(colorize(tiles, "viridis"), columns=columns, scale=auto_scale(h, w, target=tile))
        sections.append((f"{name} \u00b7 {_shape_text(shapes[name])} \u00b7 {n} channel{'s' * (n != 1)}", grid))
    return stack_sections(sections)


def saliency_picture(image, sal, cam, captions: list[str], size: int = 160):
    """Input | saliency (inferno) | Grad-CAM overlay, side by side with captions."""
    import numpy as np

    from dlstudio.data.grid import auto_scale, image_grid
    from dlstudio.insight.activations import colorize
    from dlstudio.insight.saliency import display_image, normalized, overlay

    img = display_image(image)
    tiles = np.stack([img, colorize(normalized(sal), "inferno").astype(np.float32) / 255.0, overlay(image, cam)])
    return image_grid(tiles, labels=captions, columns=3, scale=auto_scale(*img.shape[:2], target=size), gutter=6)


def _save(picture, path: str) -> None:
    from dlstudio.data.grid import save_png

    try:
        save_png(picture, path)
    except (OSError, ValueError) as exc:
        raise _user_error(f"cannot write {path}: {exc}") from None


# ----------------------------------------------------------------- commands
def cmd_featuremaps(args: argparse.Namespace) -> int:
    from dlstudio.insight.activations import (
        ActivationProbe,
        probe_layers,
        spatial_layers,
    )

    subject, x, caption = _subject(args)
    model = subject.model
    if args.layer:
        known = [layer.name for layer in probe_layers(model)]
        if args.layer not in known:
            raise _user_error(f"no layer named {args.layer!r}; layers: {', '.join(known)}")
        names = [args.layer]
    else:
        names = spatial_layers(model)
        if not names:
            raise _user_error("the model has no convolution or pooling layer (no layer with a height x width x "
                              "channels output), so it has no feature maps; name a layer with --layer to see "
                              "its activations")
    probe = ActivationProbe(model, names)
    maps = probe.probe(x)
    _save(feature_map_picture(maps, probe.shapes, x, caption, args.normalize), args.output)
    total = sum(int(m.shape[-1]) if m.ndim else 1 for m in maps.values())
    print(f"{subject.label}, {caption}: {len(names)} layer{'s' * (len(names) != 1)}, {total} maps "
          f"-> {args.output}")
    return 0


def cmd_saliency(args: argparse.Namespace) -> int:
    import numpy as np

    from dlstudio.insight.models import class_name
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
                raise _user_error(f"no class {args.class_!r}; classes: {', '.join(names) or 'none'}") from None
    try:
        e = explain(subject.model, x, target, args.layer)
    except _errors() as exc:
        raise _user_error(str(exc)) from None
    c = int(e.classes)
    probs = e.probabilities
    name = class_name(subject.dataset, c)
    predicted = int(np.argmax(probs))
    captions = [caption, f"saliency: {name} ({probs[c]:.0%})", f"Grad-CAM: {e.layer}"]
    _save(saliency_picture(x, e.saliency, e.cam, captions), args.output)
    guess = "" if target is None else f"; predicted {class_name(subject.dataset, predicted)} ({probs[predicted]:.0%})"
    print(f"{subject.label}, {caption}: explained class {name} ({probs[c]:.1%}){guess}; "
          f"scores: {e.score}; Grad-CAM at {e.layer} ({_shape_text(e.cam.shape)}) -> {args.output}")
    return 0


def _sample_index(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a sample number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _common(p: argparse.ArgumentParser, run_required: bool) -> None:
    p.add_argument("project", help="a .dlsproj file")
    if run_required:
        p.add_argument("--run", default="last", help="run id, unique id prefix or 'last' (default)")
    else:
        p.add_argument("--run", help="run id, unique id prefix or 'last' (default: the graph, untrained)")
    p.add_argument("--weights", choices=("last", "best"), default="last",
                   help="the run's weights at the end of training (default) or of its best epoch")
    p.add_argument("--sample", type=_sample_index, required=True, metavar="N", help="which sample (from 0)")
    p.add_argument("--split", choices=("test", "train"), default="test", help="the split to take it from "
                   "(default: test)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the picture to write")


def register(sub: Any) -> None:
    """Add ``featuremaps`` and ``saliency`` to the CLI's subparsers."""
    p = sub.add_parser("featuremaps", help="draw every conv/pool layer's feature maps for one sample")
    _common(p, run_required=False)
    p.add_argument("--layer", metavar="NAME", help="only this layer (any layer: dense ones as squares)")
    p.add_argument("--normalize", choices=("per_channel", "layer"), default="per_channel",
                   help="stretch each map on its own (default) or by the layer's range")
    p.set_defaults(func=cmd_featuremaps)

    p = sub.add_parser("saliency", help="input, saliency map and Grad-CAM of a trained run for one sample")
    _common(p, run_required=True)
    p.add_argument("--class", dest="class_", metavar="C", help="explain this class (name or number; default: "
                   "the predicted one)")
    p.add_argument("--layer", metavar="NAME", help="the Grad-CAM layer (default: the last convolution)")
    p.set_defaults(func=cmd_saliency)
