"""Training throughput: DL Studio's engine against a plain hand-written model.fit.

Side by side, in one process, on the same model (the digits CNN example,
``resources/examples/digits_cnn.dlsproj``), the same data and batch size:

  plain     keras functional code written by hand, compile, fit(verbose=0)
  tuned     the same, tuned: steps_per_execution (the engine's rule: ~30 ms a call) and a
            shuffled, batched, prefetched tf.data pipeline
  engine    dlstudio.training.engine.train with an emit that mimics the GUI's
            plumbing (every event appended to a list, batch losses to buffers)
  engine+run  the same with a run folder (history every epoch; last/best weights,
            optimizer state and the resume backup at most every 30 s, the default)
  engine+run/0s  the same, writing the weights and backup every epoch (as the
            engine did before the throttle: checkpoint_seconds=0)
  engine/1-step  the engine forced to one step per compiled call (what it does
            when a live view with a per-batch hook is on)
  plain+gradflow  plain fit with the GradientFlow callback (every 10 batches)
  engine+gradflow  the engine with the GUI's live gradient flow (``training.live.live_callbacks``
            with gradient_flow on, every 10 batches: ``StepGradientFlow``, the gradients
            recorded inside the train step), as the training panel passes it

Samples/s are timed between the end of the first epoch and the end of the
last (tracing and the first-epoch warm-up excluded; everything that happens
per epoch included). The runs alternate for ``--rounds`` rounds; the median
is reported. No validation split (the plain fit has none).

Where the engine is faster than the plain script: its input pipeline (shuffled
index batches taken from the numpy arrays, prefetched) and, for small models on
TensorFlow, several steps per compiled call (``steps_per_execution``, chosen so
that one call stays about 30 ms; dlstudio/training/batch_losses.py). Keras then
calls the batch hooks once per call with a running mean, so the engine records
every step's own loss inside the compiled step and still emits one BatchEnd per
batch with that batch's loss: the plots get the same points, in bursts of k
(one call takes ~30 ms, so Stop still acts well within a second). Live views with
a per-batch hook (the decision boundary) switch it back to one step per call; the
gradient flow is recorded inside the step and read once per call, so it keeps k. Writing the run's h5 files every epoch cost ~240 ms per epoch here
(--profile), hence the 30 s throttle.

Measured 2026-11-23 on the shared 2-core CPU machine (6 engineers' jobs running
at the same time, so single rounds vary by 2x; compare the ratios of one run),
``--epochs 10 --rounds 3 --skip plain+gradflow,engine+gradflow --profile``,
Keras 3.15.1 on TensorFlow 2.21, digits 8x8, batch 32:

  variant            samples/s   ratio   wall s   per round
  plain                  2,265    1.00    12.34   1,661, 2,265, 3,814
  engine                 5,481    2.42    10.00   5,593, 5,481, 4,281
  engine+run             4,420    1.95    10.48   3,775, 4,420, 6,095
  engine+run/0s          1,684    0.74    16.78   1,353, 1,684, 2,559
  engine/1-step          2,333    1.03    11.90   2,098, 2,333, 6,261
  engine/plain = 2.42 (target >= 1.0)
  per-epoch costs (median ms): EventCallback.on_epoch_end 1.4; RunRecorder writing
  everything 237 (model.weights.h5 62, optimizer.npz 9, history 8, run.json 8);
  RunRecorder throttled (history only) 6.4

Measured 2026-12-07 (same machine), ``--epochs 10 --rounds 5 --skip
engine+run,engine+run/0s,engine/1-step,plain+gradflow``, medians in samples/s:

  size    plain    tuned   engine  engine+gradflow   engine/tuned  gradflow/engine
  8x8     7,346   17,874   18,255           17,787           1.02             0.97
  28x28   7,026    8,144    8,210            7,653           1.01             0.93

(the gradient flow is recorded inside the train step; the fixed-batch probe it replaced forced
one step per call: engine+gradflow was 1.00x a plain fit beside the engine's 2.01x. Small data
goes into tf.data whole, which brought engine/tuned at 8x8 from 0.78 to 1.0.)

An earlier run of this session (8 epochs, before steps_per_execution) gave
engine/plain = 1.30 and engine+run/plain = 1.78, from the input pipeline alone.

    python benchmarks/throughput.py [--epochs 12] [--rounds 3] [--batch-size 32] [--sizes 8,28] [--profile]
                                    [--cprofile] [--skip VARIANT,...]
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


def tuned_steps(project, batch_size: int, n_train: int) -> int:
    """The steps per call a tuned script would choose: the engine's own rule (about 30 ms a call)."""
    from dlstudio.compile.infer import analyze
    from dlstudio.training.batch_losses import steps_per_execution

    return steps_per_execution(analyze(project.graph).total_macs, batch_size, max(1, n_train // batch_size))


def run_tuned(keras, dataset, epochs, batch_size, lr, steps):
    """The hand-written model tuned as a practitioner would: several steps per compiled call and a
    shuffled, batched, prefetched tf.data pipeline (TensorFlow only)."""
    import tensorflow as tf

    keras.utils.set_random_seed(0)
    model = plain_model(keras, dataset.input_shape)
    model.compile(optimizer=keras.optimizers.Adam(lr), loss=keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"], steps_per_execution=steps)
    data = (tf.data.Dataset.from_tensor_slices((dataset.x_train, dataset.y_train))
            .shuffle(len(dataset.x_train), seed=0).batch(batch_size).prefetch(tf.data.AUTOTUNE))
    stamps: list[float] = []
    callbacks = [keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: stamps.append(time.perf_counter()))]
    t0 = time.perf_counter()
    model.fit(data, epochs=epochs, verbose=0, callbacks=callbacks)
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


def one_step_per_call(keras):
    """A callback with a per-batch hook: the engine then runs one step per compiled call."""

    class OneStepPerCall(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            pass

    return OneStepPerCall()


def run_engine(project, dataset, epochs, batch_size, with_run: bool, live=None, checkpoint_seconds=30.0,
               one_step=False):
    from dlstudio.backend import load_keras
    from dlstudio.training.engine import train
    from dlstudio.training.live import live_callbacks

    settings = project.training.model_copy(update={"epochs": epochs, "batch_size": batch_size,
                                                   "validation_split": 0.0})
    sink = GuiLikeSink()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        callbacks = live_callbacks(dataset, sink, live) if live is not None else []
        if one_step:
            callbacks.append(one_step_per_call(load_keras()))
        train(project.graph, dataset, settings, emit=sink, run_base=Path(tmp) if with_run else None,
              callbacks=callbacks, checkpoint_seconds=checkpoint_seconds)
    return rate(sink.epoch_ends, len(dataset.x_train)), time.perf_counter() - t0


def cprofile_engine(project, dataset, epochs, batch_size, top: int = 25) -> None:
    """Where the time of one engine training goes (cProfile, by internal time)."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.runcall(run_engine, project, dataset, epochs, batch_size, with_run=True)
    print(f"cProfile of one engine+run training ({epochs} epochs), top {top} by internal time:")
    pstats.Stats(profiler).sort_stats("tottime").print_stats(top)


def profile_epoch_costs(keras, project, dataset, repeats: int = 15) -> None:
    """What each per-epoch step of engine training costs, timed alone (median of ``repeats``)."""
    import numpy as np

    from dlstudio.compile import build_model
    from dlstudio.runs import create_run
    from dlstudio.training.checkpoints import save_optimizer_state
    from dlstudio.training.engine import EventCallback, RunRecorder

    model = build_model(project.graph)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(dataset.x_train, dataset.y_train, epochs=1, verbose=0)
    logs = {"loss": 0.5, "accuracy": 0.9}
    with tempfile.TemporaryDirectory() as tmp:
        run = create_run(tmp, {"graph": project.graph.to_dict()})
        history: dict = {}
        every_epoch = RunRecorder(run, history, "loss", 0.0)  # writes all files every epoch
        throttled = RunRecorder(run, {}, "loss", 3600.0)  # the default: at most every 30 s
        events = EventCallback(lambda e: None, lambda: False, 10, len(dataset.x_train), 32)
        for cb in (every_epoch, throttled, events):
            cb.set_model(model)
        every_epoch.on_train_begin()
        throttled.on_epoch_end(0, logs)  # its first epoch is always written
        events.on_epoch_begin(0)
        falling = iter(np.geomspace(1.0, 1e-3, repeats * 4))
        steps = [
            ("EventCallback.on_epoch_end (get_weights, EpochEnd)", lambda: events.on_epoch_end(0, logs)),
            ("EventCallback.on_train_batch_end (per batch)", lambda: events.on_train_batch_end(0, logs)),
            ("RunRecorder.on_epoch_end, writing everything",
             lambda: every_epoch.on_epoch_end(1, {"loss": float(next(falling))})),
            ("  model.save_weights(model.weights.h5)", lambda: model.save_weights(run.weights_path)),
            ("  optimizer.npz", lambda: save_optimizer_state(model.optimizer, run.path)),
            ("  run.write_history", lambda: run.write_history(history)),
            ("  run.update (run.json)", lambda: run.update(epochs_done=1)),
            ("RunRecorder.on_epoch_end, throttled (history only)", lambda: throttled.on_epoch_end(1, logs)),
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
    parser.add_argument("--sizes", default="8,28", help="digits image sides, comma-separated (8, 16, 28)")
    parser.add_argument("--skip", default="", help="comma-separated variants to leave out")
    parser.add_argument("--profile", action="store_true", help="also time each per-epoch step of the engine")
    parser.add_argument("--cprofile", action="store_true", help="also profile one engine+run training (cProfile)")
    args = parser.parse_args(argv)
    keras = load_keras()
    for size in (int(v) for v in args.sizes.split(",")):
        one_size(keras, args, size)
    return 0


def one_size(keras, args, size: int) -> None:
    from dlstudio.data import load_dataset
    from dlstudio.project import load_project
    from dlstudio.training.live import LiveOptions

    project = load_project(EXAMPLE)
    dataset = load_dataset("digits", {"size": size}, seed=0)
    if size != 8:
        input_node = next(n for n in project.graph.nodes if n.type == "Input")
        project.graph.set_param(input_node.id, "shape", list(dataset.input_shape))
    lr = project.training.learning_rate
    steps = tuned_steps(project, args.batch_size, len(dataset.x_train))
    print(f"digits CNN, {len(dataset.x_train)} training samples of {dataset.input_shape}, batch size "
          f"{args.batch_size}, {args.epochs} epochs x {args.rounds} rounds, keras {keras.__version__} on "
          f"{keras.backend.backend()}, {os.cpu_count()} CPUs visible; tuned: {steps} steps per call")
    variants = {
        "plain": lambda: run_plain(keras, dataset, args.epochs, args.batch_size, lr),
        "tuned": lambda: run_tuned(keras, dataset, args.epochs, args.batch_size, lr, steps),
        "engine": lambda: run_engine(project, dataset, args.epochs, args.batch_size, with_run=False),
        "engine+run": lambda: run_engine(project, dataset, args.epochs, args.batch_size, with_run=True),
        "engine+run/0s": lambda: run_engine(project, dataset, args.epochs, args.batch_size, with_run=True,
                                            checkpoint_seconds=0.0),
        "engine/1-step": lambda: run_engine(project, dataset, args.epochs, args.batch_size, with_run=False,
                                            one_step=True),
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
    med = {name: statistics.median(r for r, _ in values) for name, values in results.items()}
    for a, b, target in (("engine", "plain", ">= 1.0"), ("engine", "tuned", ">= 1.0"),
                         ("engine+gradflow", "engine", ">= 0.9"), ("engine+gradflow", "tuned", "")):
        if a in med and b in med:
            print(f"{a}/{b} = {med[a] / med[b]:.2f}" + (f" (target {target})" if target else ""))
    if args.profile:
        profile_epoch_costs(keras, project, dataset)
    if args.cprofile:
        cprofile_engine(project, dataset, args.epochs, args.batch_size)
    print()


if __name__ == "__main__":
    raise SystemExit(main())
