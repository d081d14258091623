"""``dlstudio export``: a trained run as .keras, SavedModel, ONNX, TFLite or a Python script,
or the graph as a PNG/SVG picture.

    dlstudio export PROJECT [--run RUN] [--runs-dir DIR] [--format F] -o PATH [--weights last|best]
                    [--quantize int8] [--force] [--no-check] [--json]

The format follows from the output's suffix when --format is left out
(``-o model.onnx``). Model exports are loaded back in their own runtime and
checked against Keras on test samples before the command says they are done.
``--quantize int8`` (tflite, keras) writes an int8 model and prints a table of size, test
metric and latency per sample, float against int8.
"""

from __future__ import annotations

import argparse
from typing import Any

from dlstudio.cli.common import (
    RUN_HELP,
    UserError,
    add_project_argument,
    add_run_arguments,
    human_out,
    load_project,
    print_json,
    run_from_args,
)
from dlstudio.export.formats import FORMATS


def register(sub: Any) -> None:
    """Add the ``export`` command to the CLI's subparsers."""
    listing = "; ".join(f"{f.key}: {f.description}" for f in FORMATS.values())
    p = sub.add_parser("export", help="a trained run as .keras, SavedModel, ONNX, TFLite or Python; the graph "
                                      "as PNG/SVG",
                       description=f"Formats: {listing}.")
    add_project_argument(p)
    add_run_arguments(p, default=None, help=RUN_HELP + " (png/svg without --run or --runs-dir draw the "
                                                       "project's graph as it is now)")
    p.add_argument("--format", "-f", choices=list(FORMATS), help="the format (default: from the output's suffix)")
    p.add_argument("-o", "--output", required=True, help="the file to write (a folder for savedmodel)")
    p.add_argument("--quantize", choices=["int8"],
                   help="tflite: full-integer post-training quantization calibrated on the training split; "
                        "keras: Keras' own int8 layers. Prints size, test metric and latency, float vs int8")
    p.add_argument("--force", action="store_true", help="replace an existing output")
    p.add_argument("--no-check", action="store_true",
                   help="do not load the export back in its runtime to compare its outputs with Keras")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object last")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace) -> int:
    from dlstudio.export.formats import format_from_path
    from dlstudio.export.run_export import export_run

    spec = FORMATS.get(args.format) if args.format else format_from_path(args.output)
    if spec is None:
        raise UserError(f"{args.output}: cannot tell the format from the name; give --format "
                        f"({', '.join(FORMATS)})")
    project = load_project(args.project)
    graph_only = not spec.needs_run and args.run is None and args.runs_dir is None
    run = None if graph_only else run_from_args(project, args)
    out = human_out(args.json)
    result = export_run(project, run, spec.key, args.output, which=args.weights, force=args.force,
                        verify=not args.no_check, progress=lambda m: print(f"{m}\u2026", file=out, flush=True),
                        quantize=args.quantize)
    for note in result.notes:
        print(f"note: {note}", file=out)
    print(result.summary(), file=out)
    if args.json:
        print_json({"path": str(result.path), "format": result.format, "run": result.run_id,
                    "max_difference": result.max_difference, "samples_checked": result.samples_checked,
                    "notes": result.notes,
                    **({"quantize": args.quantize, "comparison": result.comparison.as_dict()}
                       if result.comparison is not None else {})})
    return 0
