"""Training throughput: DL Studio's engine against a plain hand-written model.fit.

Side by side, in one process, on the same model (the digits CNN example,
``resources/examples/digits_cnn.dlsproj``), the same data and batch size:

  plain     keras functional code written by hand, compile, fit(verbose=0)
  engine    dlstudio.training.engine.train with an emit that mimics the GUI's
            plumbing (every event appended to a list, batch losses to buffers)
  engine+run  the same with a run folder (history, last/best weights and a
            BackupAndRestore checkpoint written every epoch), as the CLI and GUI do
  engine+run/30s  the same, the engine patched in this process so the three
            per-epoch h5 writers run at most every 30 s (a proposed change)
  plain+gradflow  plain fit with the GradientFlow callback (every 10 batches)
  engine+gradflow  the engine with the GUI's live gradient-flow callback
            (``training.live.LiveGradientFlow``, every 10 batches), as the training
            panel passes it when "Gradient flow" is on

Samples/s are timed between the end of the first epoch and the end of the
last (tracing and the first-epoch warm-up excluded; everything that happens
per epoch included). The runs alternate for ``--rounds`` rounds; the median
is reported. No validation split (the plain fit has none).

    python benchmarks/throughput.py [--epochs 12] [--rounds 3] [--batch-size 32] [--size 8] [--profile]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dlstudio import RESOURCES
from dlstudio.backend import load_keras

EXAMPLE = RESOURCES / "examples" / "digits_cnn.dlsproj"


def plain_model(keras, input_shape):
    """The digits CNN of the example, written by hand."""
    inp = keras.Input(shape=input_shape, name="image")
    h = keras.layers.Conv2D(16, 3, padding="same", activation="relu", name="conv1")(inp)
    h = keras.layers.MaxPooling2D(2, name="pool1")(h)
    h = keras.layers.Conv2D(32, 3, padding="same", activation="relu", name="conv2")(h)
    h = keras.layers.MaxPooling2D(2, name="pool2")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(64, activation="relu", name="fc1")(h)
    out = keras.layers.Dense(10, activation="softmax", name="digit")(h)
    return keras.Model(inp, out)


def rate(stamps: list[float], samples: int) -> float:
    """Samples per second between the first and the last epoch end."""
    return (len(stamps) - 1) * samples / (stamps[-1] - stamps[0])


def run_plain(keras, dataset, epochs, batch_size, lr, gradient_flow=False):
    keras.utils.set_random_seed(0)
    model = plain_model(keras, dataset.input_shape)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    stamps: list[float] = []
    callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: stamps.append(time.perf_counter()))]
    if gradient_flow:
        from dlstudio.training.gradients import GradientFlow

        events: list = []
        callbacks.insert(0, GradientFlow(dataset.x_train[:64], dataset.y_train[:64], 10, emit=events.append))
    t0 = time.perf_counter()
    model.fit(dataset.x_train, dataset.y_train, batch_size=batch_size, epochs=epochs, shuffle=True, verbose=0,
              callbacks=callbacks)
    return rate(stamps, len(dataset.x_train)), time.perf_counter() - t0


class GuiLikeSink:
    """What the training panel does with events: keep them, and append batch losses to buffers."""

    def __init__(self):
        self.events, self.steps, self.losses, self.epoch_ends = [], [], [], []

    def __call__(self, event):
        from dlstudio.training.events import BatchEnd, EpochEnd

        self.events.append(event)
        if isinstance(event, BatchEnd):
            self.steps.append(event.step)
            self.losses.append(event.loss)
        elif isinstance(event, EpochEnd):
            self.epoch_ends.append(time.perf_counter())


def throttled_run_files(keras, seconds: float):
    """A context manager that patches the engine (in this process only) so the run's
    per-epoch h5 writers -- RunRecorder, ModelCheckpoint, BackupAndRestore -- run at
    most once every ``seconds``: a demonstration of the proposed engine change."""
    import contextlib

    from dlstudio.training import engine

    class Throttle(keras.callbacks.Callback):
        def __init__(self, inner):
            super().__init__()
            self.inner, self.last = inner, time.perf_counter()

        def set_model(self, model):
            super().set_model(model)
            self.inner.set_model(model)

        def set_params(self, params):
            super().set_params(params)
            self.inner.set_params(params)

        def on_train_begin(self, logs=None):
            self.inner.on_train_begin(logs)

        def on_epoch_begin(self, epoch, logs=None):
            self.inner.on_epoch_begin(epoch, logs)

        def on_epoch_end(self, epoch, logs=None):
            if time.perf_counter() - self.last >= seconds:
                self.inner.on_epoch_end(epoch, logs)
                self.last = time.perf_counter()

        def on_train_end(self, logs=None):
            self.inner.on_train_end(logs)

    writers = (engine.RunRecorder, keras.callbacks.ModelCheckpoint, keras.callbacks.BackupAndRestore)
    original = engine._callbacks

    def patched(*args, **kwargs):
        events, callbacks = original(*args, **kwargs)
        return events, [Throttle(c) if isinstance(c, writers) else c for c in callbacks]

    @contextlib.contextmanager
    def patch():
        engine._callbacks = patched
        try:
            yield
        finally:
            engine._callbacks = original

    return patch()


def run_engine(project, dataset, epochs, batch_size, with_run: bool, throttle=None, live=None):
    from dlstudio.training.engine import train
    from dlstudio.training.live import live_callbacks

    if throttle is not None:
        with throttle():
            return run_engine(project, dataset, epochs, batch_size, with_run)
    settings = project.training.model_copy(update={"epochs": epochs, "batch_size": batch_size,
                                                   "validation_split": 0.0})
    sink = GuiLikeSink()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        callbacks = live_callbacks(dataset, sink, live) if live is not None else []
        train(project.graph, dataset, settings, emit=sink, run_base=Path(tmp) if with_run else None,
              callbacks=callbacks)
    return rate(sink.epoch_ends, len(dataset.x_train)), time.perf_counter() - t0


def profile_epoch_costs(keras, project, dataset, repeats: int = 15) -> None:
    """What each per-epoch step of engine training costs, timed alone (median of ``repeats``)."""
    import numpy as np

    from dlstudio.compile import build_model
    from dlstudio.project.runs import create_run
    from dlstudio.training.engine import EventCallback, RunRecorder

    model = build_model(project.graph)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(dataset.x_train, dataset.y_train, epochs=1, verbose=0)
    logs = {"loss": 0.5, "accuracy": 0.9}
    with tempfile.TemporaryDirectory() as tmp:
        run = create_run(tmp, {"graph": project.graph.to_dict()})
        history: dict = {}
        recorder = RunRecorder(run, history)
        best = keras.callbacks.ModelCheckpoint(str(run.path / "best.weights.h5"), monitor="loss",
                                               save_best_only=True, save_weights_only=True)
        backup = keras.callbacks.BackupAndRestore(str(run.path / "backup"))
        events = EventCallback(lambda e: None, lambda: False, 10, len(dataset.x_train), 32)
        for cb in (recorder, best, backup, events):
            cb.set_model(model)
        backup.on_train_begin()
        events.on_epoch_begin(0)
        falling = iter(np.geomspace(1.0, 1e-3, repeats * 4))
        steps = [
            ("EventCallback.on_epoch_end (get_weights, EpochEnd)", lambda: events.on_epoch_end(0, logs)),
            ("EventCallback.on_train_batch_end (per batch)", lambda: events.on_train_batch_end(0, logs)),
            ("RunRecorder.on_epoch_end (all of it)", lambda: recorder.on_epoch_end(0, logs)),
            ("  model.save_weights(model.weights.h5)", lambda: model.save_weights(run.weights_path)),
            ("  run.write_history", lambda: run.write_history(history)),
            ("  run.update (run.json)", lambda: run.update(epochs_done=1)),
            ("ModelCheckpoint best.weights.h5 (improving)",
             lambda: best.on_epoch_end(0, {"loss": float(next(falling))})),
            ("BackupAndRestore.on_epoch_end", lambda: backup.on_epoch_end(0, logs)),
        ]
        print("per-epoch costs of engine training (median ms):")
        for name, fn in steps:
            fn()
            times = []
            for _ in range(repeats):
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            print(f"  {name:<52}{1000 * statistics.median(times):8.2f}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--size", type=int, default=8, choices=(8, 16, 28), help="digits image side")
    parser.add_argument("--skip", default="", help="comma-separated variants to leave out")
    parser.add_argument("--profile", action="store_true", help="also time each per-epoch step of the engine")
    args = parser.parse_args(argv)

    keras = load_keras()
    from dlstudio.data import load_dataset
    from dlstudio.project import load_project
    from dlstudio.training.live import LiveOptions

    project = load_project(EXAMPLE)
    dataset = load_dataset("digits", {"size": args.size}, seed=0)
    if args.size != 8:
        input_node = next(n for n in project.graph.nodes if n.type == "Input")
        project.graph.set_param(input_node.id, "shape", list(dataset.input_shape))
    lr = project.training.learning_rate
    print(f"digits CNN, {len(dataset.x_train)} training samples of {dataset.input_shape}, batch size "
          f"{args.batch_size}, {args.epochs} epochs x {args.rounds} rounds, keras {keras.__version__} on "
          f"{keras.backend.backend()}, {os.cpu_count()} CPUs visible")
    variants = {
        "plain": lambda: run_plain(keras, dataset, args.epochs, args.batch_size, lr),
        "engine": lambda: run_engine(project, dataset, args.epochs, args.batch_size, with_run=False),
        "engine+run": lambda: run_engine(project, dataset, args.epochs, args.batch_size, with_run=True),
        "engine+run/30s": lambda: run_engine(project, dataset, args.epochs, args.batch_size, with_run=True,
                                             throttle=lambda: throttled_run_files(keras, 30.0)),
        "plain+gradflow": lambda: run_plain(keras, dataset, args.epochs, args.batch_size, lr, gradient_flow=True),
        "engine+gradflow": lambda: run_engine(project, dataset, args.epochs, args.batch_size, with_run=False,
                                              live=LiveOptions(boundary=False, gradient_flow=True)),
    }
    for name in filter(None, args.skip.split(",")):
        variants.pop(name.strip())
    results: dict[str, list[tuple[float, float]]] = {k: [] for k in variants}
    variants["plain"]()  # warm-up: first imports, the first graph tracing
    for _ in range(args.rounds):
        for name, fn in variants.items():
            results[name].append(fn())
    base = statistics.median(r for r, _ in results["plain"]) if "plain" in results else None
    print(f"{'variant':<16}{'samples/s':>12}{'ratio':>8}{'wall s':>9}   per round")
    for name, values in results.items():
        med = statistics.median(r for r, _ in values)
        wall = statistics.median(w for _, w in values)
        ratio = f"{med / base:.2f}" if base else "-"
        each = ", ".join(f"{r:,.0f}" for r, _ in values)
        print(f"{name:<16}{med:>12,.0f}{ratio:>8}{wall:>9.2f}   {each}")
    if base and "engine" in results:
        print(f"engine/plain = {statistics.median(r for r, _ in results['engine']) / base:.2f} (target >= 1.0)")
    if args.profile:
        profile_epoch_costs(keras, project, dataset)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
