"""``dlstudio export``: a trained run as .keras, SavedModel, ONNX, TFLite or a Python script,
or the graph as a PNG/SVG picture.

    dlstudio export PROJECT [--run RUN] [--format F] -o PATH [--weights last|best] [--force]
                    [--no-check] [--json]

The format follows from the output's suffix when --format is left out
(``-o model.onnx``). Model exports are loaded back in their own runtime and
checked against Keras on test samples before the command says they are done.
Exit codes as every command: 0 success, 1 bad input, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dlstudio.export.formats import FORMATS


def register(sub: Any) -> None:
    """Add the ``export`` command to the CLI's subparsers."""
    listing = "; ".join(f"{f.key}: {f.description}" for f in FORMATS.values())
    p = sub.add_parser("export", help="a trained run as .keras, SavedModel, ONNX, TFLite or Python; the graph "
                                      "as PNG/SVG",
                       description=f"Formats: {listing}.")
    p.add_argument("project", help="a .dlsproj file")
    p.add_argument("--run", help="run id, unique id prefix or 'last' (default; png/svg without --run draw the "
                                 "project's graph)")
    p.add_argument("--format", "-f", choices=list(FORMATS), help="the format (default: from the output's suffix)")
    p.add_argument("-o", "--output", required=True, help="the file to write (a folder for savedmodel)")
    p.add_argument("--weights", choices=("last", "best"), default="last",
                   help="the weights at the end of training (default) or of the best epoch")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--no-check", action="store_true",
                   help="do not load the export back in its runtime to compare its outputs with Keras")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object last")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from dlstudio.cli import UserError, _load
    from dlstudio.data import DatasetError
    from dlstudio.export.formats import ExportError, format_from_path
    from dlstudio.export.run_export import export_run
    from dlstudio.training.evaluate import EvaluationError

    fmt = args.format or getattr(format_from_path(args.output), "key", None)
    if fmt is None:
        raise UserError(f"{args.output}: cannot tell the format from the name; give --format "
                        f"({', '.join(FORMATS)})")
    project = _load(args.project)
    out = sys.stderr if args.json else sys.stdout
    try:
        result = export_run(project, args.run, fmt, args.output, which=args.weights, force=args.force,
                            verify=not args.no_check, progress=lambda m: print(f"{m}\u2026", file=out, flush=True))
    except FileNotFoundError as exc:
        if "none yet" in str(exc):
            raise UserError(f"{project.path.name} has no runs yet: train it first (dlstudio train)") from None
        raise UserError(f"{project.path.name}: run {exc}") from None
    except (ExportError, EvaluationError, DatasetError) as exc:
        raise UserError(str(exc)) from None
    for note in result.notes:
        print(f"note: {note}", file=out)
    print(result.summary(), file=out)
    if args.json:
        print(json.dumps({"path": str(result.path), "format": result.format, "run": result.run_id,
                          "max_difference": result.max_difference, "samples_checked": result.samples_checked,
                          "notes": result.notes}))
    return 0
