"""``dlstudio attack``: clean and adversarial test accuracy of a trained run.

    dlstudio attack PROJECT [--run RUN] [--method fgsm|pgd|bim|deepfool] [--eps E[,E...]]
                    [--steps K] [--weights last|best] [--samples N] [--gallery PNG] [--json]

Prints the clean and the adversarial accuracy (a small table for several eps);
``--json`` prints them as one JSON object on the last line; ``--gallery`` draws
the successful adversarial examples (original above, adversarial below). Exit
codes as every command: 0 success, 1 bad input, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from dlstudio.cli import _positive_int  # one home for CLI number checks
from dlstudio.insight.attacks import METHODS


def _eps_list(text: str) -> list[float]:
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
    p.add_argument("project", help="a .dlsproj file")
    p.add_argument("--run", default="last", help="run id, unique id prefix or 'last' (default)")
    p.add_argument("--method", choices=METHODS, default="fgsm", help="the attack (default fgsm)")
    p.add_argument("--eps", type=_eps_list, default=[0.1],
                   help="largest change per input value, or a comma-separated list (default 0.1)")
    p.add_argument("--steps", type=_positive_int, default=10, help="steps of pgd and bim (default 10)")
    p.add_argument("--weights", choices=("last", "best"), default="last",
                   help="the weights at the end of training (default) or of the best epoch")
    p.add_argument("--samples", type=_positive_int, help="attack only the first N test samples")
    p.add_argument("--gallery", metavar="PNG", help="write the successful adversarial examples (first eps)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line last")
    p.set_defaults(func=cmd_attack)


def cmd_attack(args: argparse.Namespace) -> int:
    from dlstudio.cli import UserError, _load
    from dlstudio.insight.attacks import AttackError
    from dlstudio.insight.robustness import attack_run, load_attack_setup
    from dlstudio.training.evaluate import EvaluationError

    project = _load(args.project)
    try:
        setup = load_attack_setup(project, args.run, args.weights)
        several = len(args.eps) > 1
        result = attack_run(setup, args.method, args.eps if several else args.eps[0], steps=args.steps,
                            max_samples=args.samples)
    except (AttackError, EvaluationError, FileNotFoundError) as exc:
        raise UserError(str(exc)) from None
    out = sys.stderr if args.json else sys.stdout
    steps = f", {args.steps} steps" if args.method in ("pgd", "bim") else ""
    print(f"run {setup.label} on {setup.dataset.name}: {result['n']:,} test samples, "
          f"{args.method.upper()}{steps}", file=out)
    print(f"clean accuracy        {result['clean_accuracy']:.4f}", file=out)
    advs = result["adversarial_accuracy"] if several else [result["adversarial_accuracy"]]
    for eps, acc in zip(args.eps, advs):
        print(f"adversarial accuracy  {acc:.4f}  (eps {eps:g})", file=out)
    if args.gallery:
        _write_gallery(setup, args, out)
    if args.json:
        print(json.dumps(result))
    return 0


def _write_gallery(setup: Any, args: argparse.Namespace, out: Any) -> None:
    import numpy as np

    from dlstudio.cli import UserError
    from dlstudio.data.grid import image_grid, save_png
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
    try:
        path = save_png(image_grid(np.clip(images, 0, 1), labels, columns=len(examples)), args.gallery)
    except OSError as exc:
        raise UserError(f"cannot write {args.gallery}: {exc}") from None
    print(f"gallery of {len(examples)} examples (top: original, bottom: adversarial) in {path}", file=out)
