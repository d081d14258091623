"""``dlstudio attack``: clean and adversarial test accuracy of a trained run.

    dlstudio attack PROJECT [--run RUN] [--runs-dir DIR] [--method fgsm|pgd|bim|deepfool] [--eps E[,E...]]
                    [--steps K] [--weights last|best] [--samples N] [--gallery PNG] [--json]

Prints the clean and the adversarial accuracy (a small table for several eps);
``--json`` prints them as one JSON object on the last line; ``--gallery`` draws
the successful adversarial examples (original above, adversarial below).
"""

from __future__ import annotations

import argparse
import math
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
    write_png,
)
from dlstudio.insight.attacks import METHODS


def eps_list(text: str) -> list[float]:
    """An argparse type: one eps in [0, 1] or a comma-separated list of them."""
    values = []
    for part in text.split(","):
        try:
            value = float(part)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number or a comma-separated list, got {text!r}") from None
        if not math.isfinite(value) or value < 0 or value > 1:
            raise argparse.ArgumentTypeError(f"eps must lie in [0, 1] (got {part.strip()})")
        values.append(value)
    return values


def register(sub: Any) -> None:
    """Add the ``attack`` command to the CLI's subparsers."""
    p = sub.add_parser("attack", help="clean and adversarial accuracy of a trained run (FGSM, PGD, ...)")
    add_project_argument(p)
    add_run_arguments(p)
    p.add_argument("--method", choices=METHODS, default="fgsm", help="the attack (default fgsm)")
    p.add_argument("--eps", type=eps_list, default=[0.1],
                   help="largest change per input value, or a comma-separated list (default 0.1)")
    p.add_argument("--steps", type=positive_int, default=10, help="steps of pgd and bim (default 10)")
    p.add_argument("--samples", type=positive_int, help="attack only the first N test samples")
    p.add_argument("--gallery", metavar="PNG", help="write the successful adversarial examples (first eps)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line last")
    p.set_defaults(func=cmd_attack)


def cmd_attack(args: argparse.Namespace) -> int:
    from dlstudio.insight.robustness import attack_run, load_attack_setup

    project = load_project(args.project)
    setup = load_attack_setup(project, run_from_args(project, args), args.weights)
    several = len(args.eps) > 1
    result = attack_run(setup, args.method, args.eps if several else args.eps[0], steps=args.steps,
                        max_samples=args.samples)
    out = human_out(args.json)
    steps = f", {args.steps} steps" if args.method in ("pgd", "bim") else ""
    print(f"run {setup.label} on {setup.dataset.name}: {result['n']:,} test samples, "
          f"{args.method.upper()}{steps}", file=out)
    print(f"clean accuracy        {result['clean_accuracy']:.4f}", file=out)
    advs = result["adversarial_accuracy"] if several else [result["adversarial_accuracy"]]
    for eps, acc in zip(args.eps, advs):
        print(f"adversarial accuracy  {acc:.4f}  (eps {eps:g})", file=out)
    if args.gallery:
        write_gallery(setup, args, out)
    if args.json:
        print_json(result)
    return 0


def write_gallery(setup: Any, args: argparse.Namespace, out: Any) -> None:
    """The successful adversarial examples at the first eps: originals above, adversarials below."""
    import numpy as np

    from dlstudio.data.grid import image_grid
    from dlstudio.insight.robustness import successful_examples

    if setup.dataset.kind != "image":
        raise UserError(f"--gallery draws images, but {setup.dataset.name} samples are not images")
    x, y = setup.dataset.x_test, setup.dataset.y_test
    if args.samples:
        x, y = x[:args.samples], y[:args.samples]
    kwargs = {"steps": args.steps} if args.method in ("pgd", "bim") else {}
    examples = successful_examples(setup.model, x, y, args.method, args.eps[0], limit=16,
                                   class_names=setup.dataset.class_names, clip=setup.clip, **kwargs)
    if not examples:
        print(f"no successful adversarial examples at eps {args.eps[0]:g}; no gallery written", file=out)
        return
    images = np.concatenate([np.stack([e.original for e in examples]), np.stack([e.adversarial for e in examples])])
    labels = [f"{e.label_name} {e.clean_confidence:.0%}" for e in examples] + [e.caption(">") for e in examples]
    path = write_png(image_grid(np.clip(images, 0, 1), labels, columns=len(examples)), args.gallery)
    print(f"gallery of {len(examples)} examples (top: original, bottom: adversarial) in {path}", file=out)
