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
    from dlstudio.gan.project import extra_problems  # the other graphs of a project and a GAN's pair checks

    problems = analysis.problems + extra_problems(project)
    for p in problems:
        print(f"{p.severity}: {p}", file=sys.stderr if p.is_error else sys.stdout)
    if any(p.is_error for p in problems):
        return 1
    print(f"{Path(args.project).name}: valid ({len(project.graph)} layers, "
          f"{_fmt_int(analysis.total_params)} parameters)")
    for name, graph in project.graphs.items():  # a GAN's discriminator, ...
        print(f"  graph '{name}': valid ({len(graph)} layers, {_fmt_int(analyze(graph).total_params)} parameters)")
    return 0


def cmd_summary(args: argparse.Namespace) -> int:
    project = _load(args.project)
    extra = project.graphs  # a GAN's discriminator, ...
    if args.json:
        summary = _graph_summary(project.graph)
        if extra:
            summary["graphs"] = {name: _graph_summary(graph) for name, graph in extra.items()}
        print(json.dumps(summary))
        return 0
    for i, (name, graph) in enumerate([(None, project.graph), *extra.items()]):
        if extra:
            title = f"graph '{name}'" if name else "main graph" + (" (generator)" if project.gan else "")
            print(("\n" if i else "") + title)
        _print_graph_summary(graph)
    return 0


def _graph_summary(graph) -> dict:
    """Layers (in order) with shapes, parameters, MACs and problems, and the totals."""
    from dlstudio.compile import analyze

    analysis = analyze(graph)
    layers = []
    for nid in analysis.order + [n.id for n in graph.nodes if n.id not in analysis.order]:
        node, info = graph.node(nid), analysis.nodes[nid]
        shape = info.output_shape
        layers.append({
            "id": nid, "name": node.name, "type": node.type,
            "output_shape": list(shape) if shape is not None else None,
            "params": info.params, "trainable_params": info.trainable_params, "macs": info.macs,
            "problems": [str(p) for p in info.problems],
        })
    return {"total_params": analysis.total_params, "trainable_params": analysis.trainable_params,
            "total_macs": analysis.total_macs, "valid": analysis.ok, "layers": layers,
            "problems": [f"{p.severity}: {p}" for p in analysis.problems]}


def _print_graph_summary(graph) -> None:
    from dlstudio.compile import fmt_shape

    summary = _graph_summary(graph)
    rows = [("Layer", "Type", "Output shape", "Params", "MACs")]
    for layer in summary["layers"]:
        shape = tuple(layer["output_shape"]) if layer["output_shape"] is not None else None
        rows.append((layer["name"] + (" !" if layer["problems"] else ""), layer["type"], fmt_shape(shape),
                     _fmt_int(layer["params"]), _fmt_int(layer["macs"])))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    total, trainable = summary["total_params"], summary["trainable_params"]
    print(f"Total params: {_fmt_int(total)} (trainable {_fmt_int(trainable)}, "
          f"non-trainable {_fmt_int(total - trainable)})")
    print(f"Multiply-accumulates per sample: {_fmt_int(summary['total_macs'])}")
    for line in summary["problems"]:
        print(line)


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
    from dlstudio.runs import create_run, runs_dir

    model = build_model(graph)
    apply_weights(model, graph, weights)
    run = create_run(runs_dir(project_path), {"status": "imported", "source": str(source),
                                              "graph": graph.to_dict()})
    model.save_weights(run.weights_path)
    return run.id


class _ProgressBar:
    """One self-overwriting terminal line: epoch, batch, loss, samples/s, ETA (redrawn <= 10x a second).

    Rates are timed from the first batch of each epoch (and the ETA from the first batch of
    the run), so graph tracing and validation do not distort them."""

    def __init__(self, out, started) -> None:
        import time

        self.out, self.clock = out, time.perf_counter
        self.epochs, self.steps, self.samples = started.epochs, max(1, started.steps_per_epoch), started.samples
        self.batch_size = max(1, -(-self.samples // self.steps))
        self.run_t0 = self.epoch_t0 = self.last_draw = 0.0
        self.done = self.epoch = 0
        self.loss_sum = self.seen = self.timed = 0.0
        self.shown = False

    def batch(self, event) -> None:
        now = self.clock()
        n = min(self.batch_size, self.samples - event.batch * self.batch_size) or self.batch_size
        if event.epoch != self.epoch:
            self.epoch, self.epoch_t0, self.loss_sum, self.seen, self.timed = event.epoch, now, 0.0, 0, 0
        else:
            self.timed += n
        if not self.done:
            self.run_t0 = now
        self.loss_sum += event.loss * n
        self.seen += n
        self.done += 1
        if now - self.last_draw < 0.1 and event.batch + 1 < self.steps:
            return
        self.last_draw = now
        rate = f"{self.timed / (now - self.epoch_t0):,.0f} samples/s" if self.timed else "\u2026 samples/s"
        left = (self.epochs - event.epoch) * self.steps + self.steps - event.batch - 1
        eta = _fmt_duration(left * (now - self.run_t0) / (self.done - 1)) if self.done > 1 else "\u2026"
        width = 20
        filled = int(width * (event.batch + 1) / self.steps)
        line = (f"epoch {event.epoch}/{self.epochs} [{'=' * filled}{'.' * (width - filled)}] "
                f"{event.batch + 1}/{self.steps}  loss {self.loss_sum / self.seen:.4f}  {rate}  ETA {eta}")
        import shutil

        self.out.write("\r\033[K" + line[: shutil.get_terminal_size((100, 20)).columns - 1])
        self.out.flush()
        self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.out.write("\r\033[K")
            self.out.flush()
            self.shown = False


def _fmt_duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def _printer(as_json: bool, progress: bool | None = None) -> Callable[[object], None]:
    """Prints training events; with ``progress`` (default: stdout is a terminal and not
    ``--json``) a live progress bar above the plain per-epoch lines."""
    from dlstudio.training.events import BatchEnd, EpochEnd, Failed, Finished, Started

    if progress is None:
        progress = not as_json and sys.stdout.isatty()
    bar: list[_ProgressBar] = []

    def emit(event: object) -> None:
        out = sys.stderr if as_json else sys.stdout
        if isinstance(event, BatchEnd):
            if bar:
                bar[0].batch(event)
            return
        if bar and isinstance(event, (EpochEnd, Finished, Failed)):
            bar[0].clear()
        if isinstance(event, Started):
            print(f"training {event.epochs} epochs of {event.steps_per_epoch} batches "
                  f"({event.samples} samples) on {event.backend}"
                  f"{f' ({event.device})' if event.device else ''}", file=out, flush=True)
            if progress:
                bar[:] = [_ProgressBar(out, event)]
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


def _first_samples(dataset, n: int):
    """The dataset cut to its first ``n`` training and ``n`` test samples (``--max-samples``: a quick check)."""
    from dataclasses import replace

    def cut(a):
        if isinstance(a, dict):
            return {k: v[:n] for k, v in a.items()}
        return type(a)(v[:n] for v in a) if isinstance(a, (list, tuple)) else a[:n]

    return replace(dataset, x_train=cut(dataset.x_train), y_train=cut(dataset.y_train),
                   x_test=cut(dataset.x_test), y_test=cut(dataset.y_test))


def cmd_train(args: argparse.Namespace) -> int:
    from dlstudio.data import DatasetError, load_dataset
    from dlstudio.runs import runs_dir
    from dlstudio.training.engine import TrainingError, train

    project = _load(args.project)
    if project.gan is not None:  # a GAN: generator and discriminator trained in turns
        return __import__("dlstudio.gan.cli", fromlist=["train_command"]).train_command(project, args)
    settings = project.training.model_copy()
    if args.epochs is not None:
        settings.epochs = args.epochs
    if args.batch_size is not None:
        settings.batch_size = args.batch_size
    try:
        dataset = load_dataset(project.dataset.name, project.dataset.options, seed=settings.seed)
    except DatasetError as exc:
        raise UserError(f"{args.project}: dataset: {exc}") from None
    if getattr(args, "max_samples", None):
        dataset = _first_samples(dataset, args.max_samples)
    base = Path(args.run_dir) if args.run_dir else runs_dir(project.path)
    trainer = train
    if getattr(args, "distributed", False):  # one worker of the TF_CONFIG cluster
        from dlstudio.training.distributed import worker_trainer

        trainer = worker_trainer(args.worker_dir)
    try:
        result = trainer(project.graph, dataset, settings, emit=_printer(args.json), run_base=base,
                         run_info={"project": str(Path(args.project).resolve()),
                                   "dataset_options": dict(project.dataset.options)})
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


# ------------------------------------------------------------ data commands
def _option_value(text: str):
    """A ``--option`` value: JSON when it parses (numbers, true/false, null, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _data_options(pairs: Sequence[str] | None) -> dict:
    options = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--option needs KEY=VALUE (got {pair!r})")
        options[key.strip()] = _option_value(value)
    return options


def cmd_data_list(args: argparse.Namespace) -> int:
    from dlstudio.data import list_datasets

    specs = list_datasets()
    if args.json:
        print(json.dumps([{
            "name": s.name, "title": s.title, "category": s.category, "offline": s.offline,
            "description": s.description,
            "options": [{"name": o.name, "kind": o.kind, "default": o.default, "help": o.help,
                         "min": o.min, "max": o.max, "choices": list(o.choices) if o.choices else None}
                        for o in s.options],
        } for s in specs], default=str))
        return 0
    rows = [("Name", "Category", "Source", "Options", "Title")]
    for s in specs:
        rows.append((s.name, s.category, "offline" if s.offline else "download",
                     ", ".join(o.name for o in s.options) or "\u2014", s.title))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
        if i == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * max(len(r[4]) for r in rows))
    print(f"{len(specs)} datasets; `dlstudio data show NAME` describes one")
    return 0


def _data_picture(dataset, path: str, samples: int, seed: int) -> str:
    """Write a picture of ``dataset`` to ``path``; returns what was drawn."""
    import numpy as np

    from dlstudio.data.grid import image_grid, points_plot, sample_indices, save_png

    if dataset.kind == "image" and dataset.x_train.ndim == 4:
        idx = sample_indices(dataset.y_train, samples, seed)
        y = dataset.y_train[idx]
        if dataset.task == "classification" and dataset.class_names:
            labels = [dataset.class_names[int(v)] for v in y]
        else:
            labels = [", ".join(f"{float(t):.3g}" for t in np.ravel(v)[:2]) for v in y]
        picture, what = image_grid(dataset.x_train[idx], labels), f"a grid of {len(idx)} samples"
    elif dataset.kind == "points" and dataset.x_train.ndim == 2 and dataset.x_train.shape[1] == 2:
        picture = points_plot(dataset.x_train, dataset.y_train, dataset.class_names,
                              feature_names=dataset.feature_names or ("x1", "x2"))
        what = f"a scatter plot of {len(dataset.x_train):,} training points"
    else:
        raise UserError(f"dataset {dataset.name!r} holds {dataset.kind} data: there is no picture to draw "
                        "(-o works for images and 2-D point sets); leave out -o to describe it")
    try:
        save_png(picture, path)
    except (OSError, ValueError) as exc:
        raise UserError(f"cannot write {path}: {exc}") from None
    return what


def cmd_data_show(args: argparse.Namespace) -> int:
    import numpy as np

    from dlstudio.data import DatasetError, get_dataset_spec, load_dataset
    from dlstudio.data.grid import class_balance, text_preview

    options = _data_options(args.option)
    try:
        spec = get_dataset_spec(args.name)
        dataset = load_dataset(args.name, options, seed=args.seed)
    except DatasetError as exc:
        raise UserError(str(exc)) from None
    classification = dataset.task == "classification" and dataset.num_classes > 0
    balance = {split: class_balance(y, dataset.num_classes).tolist() if classification else []
               for split, y in (("train", dataset.y_train), ("test", dataset.y_test))}
    picture = _data_picture(dataset, args.output, args.samples, args.seed) if args.output else None
    if args.json:
        print(json.dumps({
            "name": spec.name, "title": spec.title, "category": spec.category, "offline": spec.offline,
            "description": dataset.description or spec.description, "kind": dataset.kind, "task": dataset.task,
            "sizes": dataset.sizes, "input_shape": list(dataset.input_shape),
            "input_dtype": str(dataset.x_train.dtype), "target_shape": list(dataset.target_shape),
            "target_dtype": str(dataset.y_train.dtype), "classes": list(dataset.class_names),
            "class_balance": balance, "feature_names": list(dataset.feature_names),
            "options": spec.check_options(options), "seed": args.seed,
            "output": str(args.output) if args.output else None,
        }, default=str))
        return 0
    sizes = dataset.sizes
    print(f"{spec.name}: {spec.title}")
    print(f"  {dataset.description or spec.description}")
    rows = [
        ("kind", f"{dataset.kind}, {dataset.task}"),
        ("samples", f"{sizes['train']:,} train, {sizes['test']:,} test"),
        ("input", f"{dataset.input_shape} {dataset.x_train.dtype} per sample"),
        ("target", f"{dataset.target_shape} {dataset.y_train.dtype} per sample"
                   + (f", {dataset.num_classes} classes" if classification else "")),
    ]
    if dataset.feature_names:
        rows.append(("features", ", ".join(dataset.feature_names)))
    for key, value in rows:
        print(f"{key:<10}{value}")
    if classification:
        counts = np.asarray(balance["train"])
        total = max(1, int(counts.sum()))
        print("class balance (train):")
        order = list(range(len(counts)))
        if len(order) > 24:  # many classes (characters): the most frequent ones
            order = sorted(order, key=lambda i: -counts[i])[:20]
        width = max(len(dataset.class_names[i]) for i in order)
        top = max(1, int(counts.max()))
        for i in order:
            bar = "\u2588" * max(1 if counts[i] else 0, int(round(24 * counts[i] / top)))
            print(f"  {dataset.class_names[i]:<{width}}  {counts[i]:>7,}  {100 * counts[i] / total:5.1f}%  {bar}")
        if len(order) < len(counts):
            print(f"  \u2026 and {len(counts) - len(order)} rarer classes")
    elif dataset.y_train.size and dataset.y_train.dtype.kind == "f":
        y = dataset.y_train
        print(f"values    mean {float(y.mean()):.4g}, std {float(y.std()):.4g}, "
              f"range {float(y.min()):.4g} to {float(y.max()):.4g} (train)")
    if dataset.kind == "text" and dataset.vocabulary:
        print("samples (input \u2192 next):")
        for line in text_preview(dataset, 5).splitlines():
            print(f"  {line}")
    if picture:
        print(f"wrote {picture} to {args.output}")
    return 0


# ------------------------------------------------- evaluate and predict commands
def _run_of(project, run_id: str):
    from dlstudio.runs import find_run

    try:
        return find_run(project.path, run_id)
    except FileNotFoundError as exc:
        raise UserError(f"{project.path.name}: run {exc}" if "none yet" not in str(exc) else
                        f"{project.path.name} has no runs yet: train it first (dlstudio train)") from None


def _evaluation_errors():
    from dlstudio.data import DatasetError
    from dlstudio.training.evaluate import EvaluationError

    return (EvaluationError, DatasetError, FileNotFoundError)


def _table(rows: list[tuple[str, ...]], right_from: int = 1) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) if j < right_from else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths)))
            for r in rows]


def cmd_evaluate(args: argparse.Namespace) -> int:
    from dlstudio.training.evaluate import evaluate_run

    project = _load(args.project)
    run = _run_of(project, args.run)
    try:
        ev = evaluate_run(project, run, which=args.weights)
    except _evaluation_errors() as exc:
        raise UserError(str(exc)) from None
    out = sys.stderr if args.json else sys.stdout
    print(f"run {ev.run_id} ({ev.which} weights) on {ev.dataset_name}: {len(ev.y_true):,} test samples", file=out)
    print("  ".join(f"{k} {v:.4f}" for k, v in ev.metrics.items()), file=out)
    if ev.task == "classification":
        rows = [("class", "precision", "recall", "f1", "support")]
        rows += [(r.name, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", str(r.support))
                 for r in ev.per_class]
        print(file=out)
        for line in _table(rows):
            print(line, file=out)
        names = [n[:8] for n in ev.class_names]
        print("\nconfusion matrix (rows: true class, columns: predicted)", file=out)
        for line in _table([("", *names)] + [(n, *map(str, row)) for n, row in zip(names, ev.confusion_matrix)]):
            print(line, file=out)
        wrong = ev.misclassified()
        if len(wrong):
            shown = ", ".join(f"#{i} {ev.class_names[ev.y_true[i]]}\u2192{ev.class_names[ev.predicted[i]]} "
                              f"({ev.confidence[i]:.2f})" for i in wrong[:5])
            print(f"\n{len(wrong)} misclassified; most confident: {shown}", file=out)
    if args.json:
        print(json.dumps(ev.to_dict()))
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from dlstudio.training.evaluate import predict_file

    project = _load(args.project)
    run = _run_of(project, args.run)
    try:
        pred = predict_file(project, run, args.input, top=args.top, which=args.weights)
    except _evaluation_errors() as exc:
        raise UserError(str(exc)) from None
    if args.json:
        print(json.dumps(pred.to_dict()))
        return 0
    many = len(pred.inputs) > 1
    for i in range(len(pred.inputs)):
        head = f"{Path(args.input).name}" + (f" row {i + 1}" if many else "")
        if pred.task == "classification":
            name, p = pred.top[i][0]
            print(f"{head}: {name} ({p:.1%})")
            width = max(len(n) for n, _ in pred.top[i])
            for n, q in pred.top[i]:
                print(f"  {n.ljust(width)}  {q:7.2%}  " + "\u2588" * round(20 * q))
        else:
            print(f"{head}: " + "  ".join(f"{n} {v:.4g}" for n, v in zip(pred.output_names, pred.values[i])))
    return 0


def _add_evaluate_commands(sub) -> None:
    p = sub.add_parser("evaluate", help="test metrics, per-class report and confusion matrix of a run")
    p.add_argument("project", help="a .dlsproj file")
    p.add_argument("--run", default="last", help="run id, unique id prefix or 'last' (default)")
    p.add_argument("--weights", choices=("last", "best"), default="last",
                   help="the weights at the end of training (default) or of the best epoch")
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="a trained run's prediction for an image, CSV rows or a text file")
    p.add_argument("project", help="a .dlsproj file")
    p.add_argument("input", metavar="INPUT_FILE", help="an image, a CSV file of feature rows, a text or a .npy")
    p.add_argument("--run", default="last", help="run id, unique id prefix or 'last' (default)")
    p.add_argument("--weights", choices=("last", "best"), default="last",
                   help="the weights at the end of training (default) or of the best epoch")
    p.add_argument("--top", type=_positive_int, default=5, help="classes to show (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_predict)


# ------------------------------------------- end of evaluate and predict commands
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
    p.add_argument("--max-samples", type=_positive_int, metavar="N",
                   help="train and test on the first N samples of each split only (a quick check)")
    p.add_argument("--run-dir", help="folder for the run (default: NAME.runs beside the project)")
    p.add_argument("--json", action="store_true", help="print the final metrics as one JSON line last")
    p.add_argument("--distributed", action="store_true",
                   help="train as one worker of the tf.distribute cluster that TF_CONFIG describes "
                        "(start every worker with the same project); the chief writes the run")
    p.add_argument("--worker-dir", help="with --distributed: where a non-chief worker keeps its copy of the "
                                        "weights (default: a temporary folder, removed at the end)")
    p.set_defaults(func=cmd_train)
    _add_evaluate_commands(sub)
    from dlstudio.insight.cli import register as add_insight_commands  # featuremaps, saliency

    add_insight_commands(sub)
    __import__("dlstudio.insight.adversarial_cli", fromlist=["register"]).register(sub)  # dlstudio attack
    __import__("dlstudio.gan.cli", fromlist=["register"]).register(sub)  # dlstudio sample
    __import__("dlstudio.export.cli", fromlist=["register"]).register(sub)  # dlstudio export
    __import__("dlstudio.insight.sequence_cli", fromlist=["register"]).register(sub)  # generate, translate, forecast

    data = sub.add_parser("data", help="list the datasets, describe one or draw its samples")
    data_sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p = data_sub.add_parser("list", help="every dataset: name, category, offline or download, title")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=cmd_data_list, needs_keras=False)
    p = data_sub.add_parser("show", help="sizes, shapes, classes and class balance; -o draws samples")
    p.add_argument("name", help="a dataset name (see `dlstudio data list`)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a dataset option (repeatable); values are read as JSON when they parse "
                        "(numbers, true/false), else as text")
    p.add_argument("--seed", type=int, default=0, help="seed of the split and of generated data (default 0)")
    p.add_argument("-o", "--output", metavar="PNG",
                   help="write a grid of labelled samples (images) or a scatter plot (2-D points)")
    p.add_argument("--samples", type=_positive_int, default=32, help="images in the grid (default 32)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_data_show)
    data.set_defaults(func=lambda _args: data.print_help() or 2)
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
        if getattr(args, "needs_keras", True):  # quietly, before a command imports it
            from dlstudio.backend import load_keras

            load_keras()
        return args.func(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader went away (dlstudio data list | head)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as exc:  # a bug: say so plainly, keep the traceback for reports
        if os.environ.get("DLSTUDIO_DEBUG"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {exc}\n"
              "This is a bug in DL Studio; run again with DLSTUDIO_DEBUG=1 to see the traceback.",
              file=sys.stderr)
        return 1
