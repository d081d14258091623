"""The GAN commands.

    dlstudio sample PROJECT [--run RUN] [-n 64] -o grid.png [--seed S] [--columns C]
                            [--interpolate K] [--json]
    dlstudio train GAN_PROJECT [--epochs N] [--batch-size B] [--run-dir DIR] [--json]

``sample`` draws ``n`` samples of a trained run's generator into one PNG: a
grid of images, or generated points over the real ones for 2-D data. Without
``--seed`` the noise is the project's fixed noise, so the first grid_size²
samples are the ones the GAN panel showed while training. ``--interpolate K``
draws one row of K samples between two noise vectors instead.

``dlstudio train`` hands GAN projects to :func:`train_command` (the project's
epochs, or ``--epochs``). Exit codes as every command: 0 success, 1 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dlstudio.cli import _positive_int  # one home for CLI number checks


def register(sub: Any) -> None:
    """Add the ``sample`` command to the CLI's subparsers."""
    p = sub.add_parser("sample", help="draw samples of a trained GAN run's generator into a PNG")
    p.add_argument("project", help="a GAN .dlsproj file")
    p.add_argument("--run", default="last", help="run id, unique id prefix or 'last' (default)")
    p.add_argument("-n", "--samples", type=_positive_int, default=64, help="how many samples (default 64)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the picture to write")
    p.add_argument("--seed", type=int, help="noise seed (default: the project's fixed noise, as in training)")
    p.add_argument("--columns", type=_positive_int, help="images per row (default: about square)")
    p.add_argument("--interpolate", type=_positive_int, metavar="K",
                   help="one row of K samples between two noise vectors instead (spherical interpolation)")
    p.add_argument("--json", action="store_true", help="print what was written as one JSON line")
    p.set_defaults(func=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    from dlstudio.cli import UserError, _load, _run_of
    from dlstudio.data.grid import save_png
    from dlstudio.gan.project import GanError
    from dlstudio.gan.sampling import (
        fixed_noise,
        generator_picture,
        interpolation_noise,
        latent_noise,
    )
    from dlstudio.gan.train import load_generator

    project = _load(args.project)
    if project.gan is None:
        raise UserError(f"{Path(args.project).name} is not a GAN project (it has no 'gan' settings)")
    run = _run_of(project, args.run)
    try:
        generator, pair = load_generator(project, run)
    except (GanError, OSError, ValueError) as exc:
        raise UserError(f"{Path(args.project).name}: {exc}") from None
    gan = pair.settings
    n = args.interpolate or args.samples
    if args.interpolate:
        z = interpolation_noise(gan, args.interpolate, gan.seed if args.seed is None else args.seed)
    elif args.seed is None:
        z = fixed_noise(gan, n)
    else:
        z = latent_noise(n, gan.latent_dim, args.seed, gan.latent_distribution)
    columns = args.interpolate or args.columns or (gan.grid_size if n == gan.grid_size ** 2 else None)
    try:
        picture = generator_picture(generator, pair, z, project, columns)
    except ValueError as exc:
        raise UserError(str(exc)) from None
    try:
        save_png(picture, args.output)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot write {args.output}: {exc}") from None
    what = "interpolated samples" if args.interpolate else "samples"
    out = sys.stderr if args.json else sys.stdout
    print(f"wrote {n} {what} of run {run.id} to {args.output} ({picture.shape[1]}x{picture.shape[0]} pixels)",
          file=out)
    if args.json:
        print(json.dumps({"run": run.id, "samples": n, "output": str(args.output),
                          "width": int(picture.shape[1]), "height": int(picture.shape[0])}))
    return 0


def _printer(as_json: bool):
    """The CLI's training printer (Started, per-epoch lines, errors); GAN steps are
    summed up in the epoch lines."""
    from dlstudio.cli import _printer as base

    return base(as_json, progress=False)


def train_command(project: Any, args: argparse.Namespace) -> int:
    """``dlstudio train`` for a GAN project."""
    from dlstudio.cli import UserError
    from dlstudio.data import DatasetError, load_dataset
    from dlstudio.gan.train import train_gan
    from dlstudio.runs import runs_dir
    from dlstudio.training.engine import TrainingError

    settings = project.training.model_copy()
    if args.epochs is not None:
        settings.epochs = args.epochs
    if args.batch_size is not None:
        settings.batch_size = args.batch_size
    try:
        dataset = load_dataset(project.dataset.name, project.dataset.options, seed=settings.seed)
    except DatasetError as exc:
        raise UserError(f"{args.project}: dataset: {exc}") from None
    if getattr(args, "max_samples", None):  # a quick check on the first N samples
        from dlstudio.cli import _first_samples

        dataset = _first_samples(dataset, args.max_samples)
    base = Path(args.run_dir) if args.run_dir else runs_dir(project.path)
    try:
        result = train_gan(project, dataset, _printer(args.json), settings=settings, run_base=base,
                           run_info={"project": str(Path(args.project).resolve()),
                                     "dataset_options": dict(project.dataset.options)})
    except TrainingError:
        return 1  # the Failed event already printed the message
    out = sys.stderr if args.json else sys.stdout
    m = result.metrics
    line = "  ".join(f"{k} {v:.4f}" if k not in ("modes_covered",) else f"{k} {v:.0f}" for k, v in m.items())
    print(f"finished after {result.steps:,} steps: {line}"
          + (f"; run saved in {result.run.path} (sample grids in its samples/ folder)" if result.run else ""),
          file=out)
    if args.json:
        print(json.dumps({**m, "epochs": len(result.history.get("d_loss", [])), "steps": result.steps,
                          "run": str(result.run.path) if result.run else None}))
    return 0
