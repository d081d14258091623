"""The headless command line, on the same core functions as the GUI.

Exit codes: 0 success, 1 bad input (with a message, never a traceback), 2 usage.
Heavy modules (TensorFlow) are imported inside the commands that need them, so
``dlstudio --help`` answers at once.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from dlstudio import RESOURCES, __version__

DEFAULT_EXAMPLE = RESOURCES / "examples" / "digits_cnn.dlsproj"


class UserError(Exception):
    """Bad input: printed as a message, exit code 1."""


def _load(path: str):
    from dlstudio.project import ProjectError, load_project

    try:
        return load_project(path)
    except ProjectError as exc:
        raise UserError(str(exc)) from None


def _fmt_int(n: int) -> str:
    return f"{n:,}"


# ------------------------------------------------------------------ commands
def cmd_validate(args: argparse.Namespace) -> int:
    from dlstudio.compile import analyze

    project = _load(args.project)
    analysis = analyze(project.graph)
    for p in analysis.problems:
        print(f"{p.severity}: {p}", file=sys.stderr if p.is_error else sys.stdout)
    if analysis.errors:
        return 1
    print(f"{Path(args.project).name}: valid ({len(project.graph)} layers, "
          f"{_fmt_int(analysis.total_params)} parameters)")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    from dlstudio.compile import analyze, fmt_shape

    project = _load(args.project)
    graph = project.graph
    analysis = analyze(graph)
    order = analysis.order + [n.id for n in graph.nodes if n.id not in analysis.order]
    if args.json:
        layers = []
        for nid in order:
            node, info = graph.node(nid), analysis.nodes[nid]
            shape = info.output_shape
            layers.append({
                "id": nid, "name": node.name, "type": node.type,
                "output_shape": list(shape) if shape is not None else None,
                "params": info.params, "trainable_params": info.trainable_params, "macs": info.macs,
                "problems": [str(p) for p in info.problems],
            })
        print(json.dumps({
            "total_params": analysis.total_params, "trainable_params": analysis.trainable_params,
            "total_macs": analysis.total_macs, "valid": analysis.ok, "layers": layers,
        }))
        return 0
    rows = [("Layer", "Type", "Output shape", "Params", "MACs")]
    for nid in order:
        node, info = graph.node(nid), analysis.nodes[nid]
        mark = " !" if not info.ok else ""
        rows.append((node.name + mark, node.type, fmt_shape(info.output_shape),
                     _fmt_int(info.params), _fmt_int(info.macs)))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    print(f"Total params: {_fmt_int(analysis.total_params)} "
          f"(trainable {_fmt_int(analysis.trainable_params)}, "
          f"non-trainable {_fmt_int(analysis.total_params - analysis.trainable_params)})")
    print(f"Multiply-accumulates per sample: {_fmt_int(analysis.total_macs)}")
    for p in analysis.problems:
        print(f"{p.severity}: {p}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from dlstudio.compile.importer import ModelImportError, import_model_file
    from dlstudio.project import new_project, save_project

    out = Path(args.output)
    if out.suffix != ".dlsproj":
        raise UserError(f"{out}: the output must be a .dlsproj file")
    if out.exists() and not args.force:
        raise UserError(f"{out} already exists; use --force to replace it")
    try:
        graph, weights = import_model_file(args.model)
    except ModelImportError as exc:
        raise UserError(str(exc)) from None
    project = new_project(out.stem)
    project.graph = graph
    project.notes = f"Imported from {Path(args.model).name}."
    save_project(project, out)
    saved = _save_imported_weights(out, graph, weights, args.model)
    print(f"imported {len(graph)} layers from {args.model} into {out}"
          + (f"; weights in run {saved}" if saved else ""))
    return 0


def _save_imported_weights(project_path: Path, graph, weights, source: str) -> str | None:
    """Keep the imported model's weights as a run of the new project."""
    if not any(len(w) for w in weights.values()):
        return None
    from dlstudio.compile import build_model
    from dlstudio.compile.importer import apply_weights
    from dlstudio.project.runs import create_run, runs_dir

    model = build_model(graph)
    apply_weights(model, graph, weights)
    run = create_run(runs_dir(project_path), {"status": "imported", "source": str(source),
                                              "graph": graph.to_dict()})
    model.save_weights(run.weights_path)
    return run.id


def _printer(as_json: bool) -> Callable[[object], None]:
    from dlstudio.training.events import EpochEnd, Failed, Started

    def emit(event: object) -> None:
        out = sys.stderr if as_json else sys.stdout
        if isinstance(event, Started):
            print(f"training {event.epochs} epochs of {event.steps_per_epoch} batches "
                  f"({event.samples} samples) on {event.backend}", file=out)
        elif isinstance(event, EpochEnd):
            keys = sorted(event.logs, key=lambda k: (k.startswith("val_"), not k.endswith("loss"), k))
            metrics = "  ".join(f"{k} {event.logs[k]:.4f}" for k in keys)
            print(f"epoch {event.epoch}/{event.epochs}  {metrics}  "
                  f"({event.seconds:.1f} s, {event.samples_per_second:,.0f} samples/s)", file=out, flush=True)
        elif isinstance(event, Failed):
            print(f"error: {event.message}", file=sys.stderr)
            for p in event.problems:
                print(f"  - {p}", file=sys.stderr)

    return emit


def cmd_train(args: argparse.Namespace) -> int:
    from dlstudio.data import DatasetError, load_dataset
    from dlstudio.project.runs import runs_dir
    from dlstudio.training.engine import TrainingError, train

    project = _load(args.project)
    settings = project.training.model_copy()
    if args.epochs is not None:
        settings.epochs = args.epochs
    if args.batch_size is not None:
        settings.batch_size = args.batch_size
    try:
        dataset = load_dataset(project.dataset.name, project.dataset.options, seed=settings.seed)
    except DatasetError as exc:
        raise UserError(f"{args.project}: dataset: {exc}") from None
    base = Path(args.run_dir) if args.run_dir else runs_dir(project.path)
    try:
        result = train(project.graph, dataset, settings, emit=_printer(args.json), run_base=base,
                       run_info={"project": str(Path(args.project).resolve())})
    except TrainingError:
        return 1  # the Failed event already printed the message
    out = sys.stderr if args.json else sys.stdout
    m = result.metrics
    line = "  ".join(f"{k} {v:.4f}" for k, v in m.items() if k.startswith("test_"))
    print(f"finished: {line}" + (f"; run saved in {result.run.path}" if result.run else ""), file=out)
    if args.json:
        print(json.dumps({**m, "epochs": len(result.history.get("loss", [])),
                          "run": str(result.run.path) if result.run else None}))
    return 0


# -------------------------------------------------------------------- parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlstudio",
        description="DL Studio: design, train and understand neural networks. "
                    "With no command, opens the desktop app.")
    parser.add_argument("--version", action="version", version=f"dlstudio {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    p = sub.add_parser("validate", help="check a project's graph; one problem per line")
    p.add_argument("project", help="a .dlsproj file")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("summary", help="layers, output shapes, parameter and MAC counts")
    p.add_argument("project", help="a .dlsproj file")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("import", help="turn a .keras or .h5 model into a project (safe mode)")
    p.add_argument("model", help="a .keras or .h5 file")
    p.add_argument("-o", "--output", required=True, help="the .dlsproj file to write")
    p.add_argument("--force", action="store_true", help="replace an existing project file")
    p.set_defaults(func=cmd_import)

    p = sub.add_parser("train", help="train a project headlessly and record a run")
    p.add_argument("project", help="a .dlsproj file")
    p.add_argument("--epochs", type=_positive_int, help="override the project's epochs")
    p.add_argument("--batch-size", type=_positive_int, help="override the project's batch size")
    p.add_argument("--run-dir", help="folder for the run (default: NAME.runs beside the project)")
    p.add_argument("--json", action="store_true", help="print the final metrics as one JSON line last")
    p.set_defaults(func=cmd_train)
    return parser


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run_cli(argv: Sequence[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        from dlstudio.backend import load_keras

        load_keras()
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so plainly, keep the traceback for reports
        if os.environ.get("DLSTUDIO_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}\n"
              "This is a bug in DL Studio; run again with DLSTUDIO_DEBUG=1 to see the traceback.",
              file=sys.stderr)
        return 1
