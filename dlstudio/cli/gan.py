"""The GAN commands.

    dlstudio sample PROJECT [--run RUN] [--runs-dir DIR] [-n 64] -o grid.png [--seed S] [--columns C]
                            [--interpolate K] [--json]
    dlstudio train GAN_PROJECT [--epochs N] [--batch-size B] [--runs-dir DIR] [--json]

``sample`` draws ``n`` samples of a trained run's generator into one PNG: a
grid of images, or generated points over the real ones for 2-D data. Without
``--seed`` the noise is the project's fixed noise, so the first grid_size²
samples are the ones the GAN panel showed while training. ``--interpolate K``
draws one row of K samples between two noise vectors instead.

``dlstudio train`` hands GAN projects to :func:`train_gan_project`. Exit codes as
every command: 0 success, 1 bad input.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dlstudio.cli.common import (
    GAN_RUN_HELP,
    UserError,
    add_project_argument,
    add_run_arguments,
    human_out,
    load_project,
    positive_int,
    seed_number,
    print_json,
    run_from_args,
    write_png,
)


def register(sub: Any) -> None:
    """Add the ``sample`` command to the CLI's subparsers."""
    p = sub.add_parser("sample", help="draw samples of a trained GAN run's generator into a PNG")
    add_project_argument(p, "a GAN .dlsproj file")
    add_run_arguments(p, help=GAN_RUN_HELP, weights=False)
    p.add_argument("-n", "--samples", type=positive_int, default=64, help="how many samples (default 64)")
    p.add_argument("-o", "--output", required=True, metavar="PNG", help="the picture to write")
    p.add_argument("--seed", type=seed_number, help="noise seed (default: the project's fixed noise, as in training)")
    p.add_argument("--columns", type=positive_int, help="images per row (default: about square)")
    p.add_argument("--interpolate", type=positive_int, metavar="K",
                   help="one row of K samples between two noise vectors instead (spherical interpolation)")
    p.add_argument("--json", action="store_true", help="print what was written as one JSON line")
    p.set_defaults(func=cmd_sample)


def cmd_sample(args: argparse.Namespace) -> int:
    from dlstudio.gan.sampling import (
        fixed_noise,
        generator_picture,
        interpolation_noise,
        latent_noise,
    )
    from dlstudio.gan.train import load_generator

    project = load_project(args.project)
    if project.gan is None:
        raise UserError(f"{Path(args.project).name} is not a GAN project (it has no 'gan' settings)")
    run = run_from_args(project, args)
    generator, pair = load_generator(project, run)  # GanError: not a trained GAN run
    gan = pair.settings
    n = args.interpolate or args.samples
    if args.interpolate:
        z = interpolation_noise(gan, args.interpolate, gan.seed if args.seed is None else args.seed)
    elif args.seed is None:
        z = fixed_noise(gan, n)
    else:
        z = latent_noise(n, gan.latent_dim, args.seed, gan.latent_distribution)
    columns = args.interpolate or args.columns or (gan.grid_size if n == gan.grid_size ** 2 else None)
    picture = generator_picture(generator, pair, z, project, columns)
    write_png(picture, args.output)
    what = "interpolated samples" if args.interpolate else "samples"
    print(f"wrote {n} {what} of run {run.id} to {args.output} ({picture.shape[1]}x{picture.shape[0]} pixels)",
          file=human_out(args.json))
    if args.json:
        print_json({"run": run.id, "samples": n, "output": str(args.output),
                    "width": int(picture.shape[1]), "height": int(picture.shape[0])})
    return 0


def train_gan_project(project: Any, dataset: Any, settings: Any, base: Path, run_info: dict,
                      as_json: bool, start_from: Path | None = None) -> int:
    """``dlstudio train`` for a GAN project: ``dataset`` and ``settings`` as the command
    prepared them, the run written under ``base`` (continuing ``start_from``'s when given)."""
    from dlstudio.cli.train import printer
    from dlstudio.gan.train import train_gan
    from dlstudio.training.engine import TrainingError

    try:  # GAN steps are summed up in the epoch lines: no progress bar
        result = train_gan(project, dataset, printer(as_json, progress=False), settings=settings, run_base=base,
                           run_info=run_info, start_from=start_from)
    except TrainingError:
        return 1  # the Failed event already printed the message
    m = result.metrics
    line = "  ".join(f"{k} {v:.4f}" if k not in ("modes_covered",) else f"{k} {v:.0f}" for k, v in m.items())
    print(f"finished after {result.steps:,} steps: {line}"
          + (f"; run saved in {result.run.path} (sample grids in its samples/ folder)" if result.run else ""),
          file=human_out(as_json))
    if as_json:
        print_json({**m, "epochs": len(result.history.get("d_loss", [])), "steps": result.steps,
                    "run": str(result.run.path) if result.run else None})
    return 0
