"""``dlstudio train``: train a project headlessly and record a run (a GAN project's
generator and discriminator in turns, see :mod:`dlstudio.cli.gan`), printing each
epoch and, on a terminal, a live progress bar."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from dlstudio.cli.common import (
    UserError,
    add_project_argument,
    add_runs_dir_argument,
    human_out,
    load_project,
    positive_int,
    print_json,
)


def register(sub: Any) -> None:
    p = sub.add_parser("train", help="train a project headlessly and record a run")
    add_project_argument(p)
    p.add_argument("--epochs", type=positive_int, help="override the project's epochs")
    p.add_argument("--batch-size", type=positive_int, help="override the project's batch size")
    p.add_argument("--max-samples", type=positive_int, metavar="N",
                   help="train and test on the first N samples of each split only (a quick check)")
    add_runs_dir_argument(p, help="the folder the run goes in, as DIR/<run id>/ (default: NAME.runs beside "
                                  "the project); give the same --runs-dir to the commands that read runs")
    p.add_argument("--json", action="store_true", help="print the final metrics as one JSON line last")
    p.add_argument("--checkpoint-every", type=float, default=30.0, metavar="SECONDS",
                   help="write the run's weights and resume backup at most this often (default 30; 0: after "
                        "every epoch); the first and the last epoch are always written")
    p.add_argument("--continue", dest="continue_from", metavar="RUN",
                   help="continue from a run (its id, a unique id prefix, 'last' or its folder): a new run that "
                        "starts from its last weights, optimizer state and epoch count (a run that was "
                        "interrupted included) and trains --epochs more")
    p.add_argument("--distributed", action="store_true",
                   help="train as one worker of the tf.distribute cluster that TF_CONFIG describes "
                        "(start every worker with the same project); the chief writes the run")
    p.add_argument("--worker-dir", help="with --distributed: where a non-chief worker keeps its copy of the "
                                        "weights (default: a temporary folder, removed at the end)")
    p.set_defaults(func=cmd_train)


def cmd_train(args: argparse.Namespace) -> int:
    from dlstudio.data import load_dataset
    from dlstudio.runs import store_for
    from dlstudio.training.engine import TrainingError, train

    if getattr(args, "distributed", False):
        from dlstudio.training.distributed import multi_worker_strategy

        # first of all: TensorFlow configures collective ops once, before any other TensorFlow
        # work (reading the project already builds Keras objects)
        multi_worker_strategy()
    project = load_project(args.project)
    settings = project.training.model_copy()
    if args.epochs is not None:
        settings.epochs = args.epochs
    if args.batch_size is not None:
        settings.batch_size = args.batch_size
    from dlstudio.data.paths import base_folder

    dataset = load_dataset(project.dataset.name, project.dataset.options, seed=settings.seed,
                           base=base_folder(project))
    if getattr(args, "max_samples", None):
        dataset = first_samples(dataset, args.max_samples)
    store = store_for(project, args.runs_dir)
    base = store.folder
    start_from = None
    if getattr(args, "continue_from", None):
        start_from = store.find(args.continue_from, kind="gan" if project.gan is not None else "model").path
    run_info = {"project": str(Path(args.project).resolve()), "dataset_options": dict(project.dataset.options)}
    if project.gan is not None:  # a GAN: generator and discriminator trained in turns
        from dlstudio.cli.gan import train_gan_project

        return train_gan_project(project, dataset, settings, base, run_info, args.json, start_from)
    trainer = train
    if getattr(args, "distributed", False):  # one worker of the TF_CONFIG cluster
        if start_from is not None or getattr(args, "checkpoint_every", 30.0) != 30.0:
            raise UserError("--continue and --checkpoint-every apply to training on one machine, not to "
                            "--distributed")
        from dlstudio.training.distributed import worker_trainer

        trainer = worker_trainer(args.worker_dir)
    try:
        extra = {"start_from": start_from} if start_from is not None else {}
        if getattr(args, "checkpoint_every", 30.0) != 30.0:
            extra["checkpoint_seconds"] = max(0.0, args.checkpoint_every)
        result = trainer(project.graph, dataset, settings, emit=printer(args.json), run_base=base,
                         run_info=run_info, **extra)
    except TrainingError:
        return 1  # the Failed event already printed the message
    m = result.metrics
    line = "  ".join(f"{k} {v:.4f}" for k, v in m.items() if k.startswith("test_"))
    print(f"finished: {line}" + (f"; run saved in {result.run.path}" if result.run else ""),
          file=human_out(args.json))
    if args.json:
        print_json({**m, "epochs": len(result.history.get("loss", [])),
                    "run": str(result.run.path) if result.run else None})
    return 0


class ProgressBar:
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
        eta = fmt_duration(left * (now - self.run_t0) / (self.done - 1)) if self.done > 1 else "\u2026"
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


def fmt_duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def printer(as_json: bool, progress: bool | None = None) -> Callable[[object], None]:
    """Prints training events; with ``progress`` (default: stdout is a terminal and not
    ``--json``) a live progress bar above the plain per-epoch lines."""
    from dlstudio.training.events import BatchEnd, EpochEnd, Failed, Finished, Started

    if progress is None:
        progress = not as_json and sys.stdout.isatty()
    bar: list[ProgressBar] = []

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
                bar[:] = [ProgressBar(out, event)]
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


def first_samples(dataset, n: int):
    """The dataset cut to its first ``n`` training and ``n`` test samples (``--max-samples``: a quick check)."""
    from dataclasses import replace

    def cut(a):
        if isinstance(a, dict):
            return {k: v[:n] for k, v in a.items()}
        return type(a)(v[:n] for v in a) if isinstance(a, (list, tuple)) else a[:n]

    return replace(dataset, x_train=cut(dataset.x_train), y_train=cut(dataset.y_train),
                   x_test=cut(dataset.x_test), y_test=cut(dataset.y_test))


