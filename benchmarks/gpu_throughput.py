"""GPU training: does DL Studio's engine really train on the GPU, and how fast
against a plain hand-written ``model.fit`` script?

Run on a machine with a CUDA GPU (JAX with CUDA, or TensorFlow with CUDA)::

    KERAS_BACKEND=jax python benchmarks/gpu_throughput.py [--epochs 6] [--rounds 2] [--batch-size 64]

It prints the devices the backend sees, the devices the engine's model
variables live on (proof that training ran on the GPU, not a claim), and
samples/s of, side by side in one process on the same model, data and batch:

  plain       the digits CNN of resources/examples/digits_cnn.dlsproj written by
              hand with the Keras functional API, compile, fit(verbose=0)
  engine      dlstudio.training.engine.train with an emit that keeps every
              event as the GUI panel does (a run folder written, as the CLI and GUI do)

The data: scikit-learn's digits (bundled, no download), repeated to
``--samples`` images so an epoch is long enough to time. Samples/s are timed
between the end of the first epoch and the end of the last.

Figures measured (2026-11-23, one NVIDIA H100 80GB, Keras 3.15 on JAX 0.11.2
with CUDA, digits 8x8x1 repeated to 60,000 samples, weights seen on cuda:0 for
both):

  engine of 2026-11-23 morning (a BatchEnd with the true loss after every batch)
    batch  64: plain 35,952  engine 28,806 samples/s  ratio 0.80 (median of 2 rounds)
    batch 256: plain 199,473 engine 124,506 samples/s ratio 0.62
  The gap: reading the loss after every batch makes JAX wait for each step
  (no asynchronous dispatch), and small steps are launch-bound on a GPU.

  engine with several steps per call on every backend (training/batch_losses.py:
  each step's loss kept in a ring of loss-tracker variables, up to 32 steps per
  call on a GPU; still one BatchEnd with the true loss per batch), median of 3:
    batch  64: plain 36,509  engine 52,431 samples/s  ratio 1.44
    batch 256: plain 143,565 engine 202,036 samples/s ratio 1.41
  The engine reports where the weights live: Started.device == "gpu:0", and
  `dlstudio train` prints "on jax (gpu:0)".
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

from throughput import (  # the same model, data and timing as on a CPU
    EXAMPLE,
    plain_model,
    rate,
)

from dlstudio.backend import backend_name, list_devices, load_keras


def variable_devices(model) -> set[str]:
    """Where the model's weights live, as the backend reports it."""
    found = set()
    for v in model.weights:
        value = v.value
        if hasattr(value, "devices"):  # jax.Array
            found |= {str(d) for d in value.devices()}
        elif hasattr(value, "device"):  # tf.Variable / tensor
            found.add(str(value.device))
    return found


def run_plain(keras, dataset, epochs, batch_size):
    keras.utils.set_random_seed(0)
    model = plain_model(keras, dataset.input_shape)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    stamps: list[float] = []
    cb = keras.callbacks.LambdaCallback(on_epoch_end=lambda e, logs: stamps.append(time.perf_counter()))
    model.fit(dataset.x_train, dataset.y_train, batch_size=batch_size, epochs=epochs, verbose=0,
              callbacks=[cb])
    return rate(stamps, len(dataset.x_train)), variable_devices(model)


class Sink:
    """What the training panel keeps of the engine's events."""

    def __init__(self):
        self.events, self.losses, self.epoch_ends = [], [], []

    def __call__(self, event):
        from dlstudio.training.events import BatchEnd, EpochEnd

        self.events.append(event)
        if isinstance(event, BatchEnd):
            self.losses.append(event.loss)
        elif isinstance(event, EpochEnd):
            self.epoch_ends.append(time.perf_counter())


def run_engine(keras, project, dataset, epochs, batch_size):
    from dlstudio.training.engine import train

    settings = project.training.model_copy(update={"epochs": epochs, "batch_size": batch_size,
                                                   "validation_split": 0.0})
    sink = Sink()
    with tempfile.TemporaryDirectory() as tmp:
        result = train(project.graph, dataset, settings, emit=sink, run_base=Path(tmp))
        devices = variable_devices(result.model)
    return rate(sink.epoch_ends, len(dataset.x_train)), devices, sink


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--samples", type=int, default=60_000)
    args = ap.parse_args()

    import numpy as np

    from dlstudio.data import load_dataset
    from dlstudio.project import load_project

    keras = load_keras()
    print(f"backend: {backend_name()}   devices offered by DL Studio: {', '.join(list_devices())}")
    if backend_name() == "jax":
        import jax

        print(f"jax {jax.__version__}: default backend {jax.default_backend()}, devices {jax.devices()}")
    project = load_project(EXAMPLE)
    dataset = load_dataset(project.dataset.name, project.dataset.options, seed=0)
    reps = -(-args.samples // len(dataset.x_train))
    dataset.x_train = np.concatenate([dataset.x_train] * reps)[: args.samples]
    dataset.y_train = np.concatenate([dataset.y_train] * reps)[: args.samples]
    print(f"data: {len(dataset.x_train)} samples of {dataset.input_shape}, batch {args.batch_size}, "
          f"{args.epochs} epochs, {args.rounds} rounds")

    plain, engine = [], []
    for r in range(args.rounds):
        p, p_dev = run_plain(keras, dataset, args.epochs, args.batch_size)
        e, e_dev, sink = run_engine(keras, project, dataset, args.epochs, args.batch_size)
        plain.append(p)
        engine.append(e)
        print(f"round {r + 1}: plain {p:,.0f} samples/s on {sorted(p_dev)}; "
              f"engine {e:,.0f} samples/s on {sorted(e_dev)}; "
              f"engine says it trains on {sink.events[0].device!r}; "
              f"engine events {len(sink.events)}, batch losses {len(sink.losses)}, "
              f"last loss {sink.losses[-1]:.4f}")
    p, e = statistics.median(plain), statistics.median(engine)
    print(f"\n{'':8}{'samples/s':>12}\nplain   {p:12,.0f}\nengine  {e:12,.0f}\nratio engine/plain: {e / p:.2f}")


if __name__ == "__main__":
    main()
