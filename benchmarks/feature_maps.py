"""How fast the insight panel can show feature maps, saliency and Grad-CAM.

Run from the repository root::

    .venv/bin/python benchmarks/feature_maps.py [--repeats 30] [--batch 1]

Builds a small VGG-style network on 32x32x3 inputs (three blocks of two 3x3
convolutions and a max-pooling, 32/64/128 filters, then 256 dense units and 10
softmax classes; untrained weights, nothing downloaded) and times, for one
input: the first probe of every layer (building the sub-model and tracing its
predict function included), later probes (target: under 100 ms), turning all
maps into normalised tiles, and saliency + Grad-CAM (first call, then later
ones). Prints plain ``name: value`` lines; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def vgg_small(keras):
    inp = keras.Input((32, 32, 3), name="image")
    x = inp
    for block, filters in enumerate((32, 64, 128), start=1):
        for i in (1, 2):
            x = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=f"block{block}_conv{i}")(x)
        x = keras.layers.MaxPooling2D(name=f"block{block}_pool")(x)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(256, activation="relu", name="fc")(x)
    out = keras.layers.Dense(10, activation="softmax", name="classes")(x)
    return keras.Model(inp, out, name="vgg_small")


def timed(fn, repeats: int) -> tuple[float, list[float]]:
    """(first call, later calls) in milliseconds."""
    t = time.perf_counter()
    fn()
    first = (time.perf_counter() - t) * 1000
    later = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        later.append((time.perf_counter() - t) * 1000)
    return first, later


def report(name: str, first: float, later: list[float], target: float | None = None) -> None:
    med = statistics.median(later)
    note = f" (target < {target:.0f} ms: {'met' if med < target else 'MISSED'})" if target else ""
    print(f"{name}: first {first:.1f} ms, later median {med:.1f} ms, max {max(later):.1f} ms{note}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1, help="inputs per probe (default 1)")
    args = parser.parse_args()

    import numpy as np

    from dlstudio.backend import backend_name, load_keras

    t = time.perf_counter()
    keras = load_keras()
    print(f"import keras ({backend_name()}): {time.perf_counter() - t:.2f} s")
    from dlstudio.insight.activations import ActivationProbe, channel_grid
    from dlstudio.insight.saliency import explain

    keras.utils.set_random_seed(0)
    model = vgg_small(keras)
    print(f"model: {model.name}, {len(model.layers) - 1} layers, {model.count_params():,} parameters")
    rng = np.random.default_rng(0)
    x = rng.random((args.batch, 32, 32, 3), dtype=np.float32)
    if args.batch == 1:
        x = x[0]

    t = time.perf_counter()
    probe = ActivationProbe(model)
    build = (time.perf_counter() - t) * 1000
    first, later = timed(lambda: probe.probe(x), args.repeats)
    print(f"probe sub-model built: {build:.1f} ms")
    report(f"probe of {len(probe.layer_names)} layers", first + build, later, target=100)
    maps = probe.probe(x)
    spatial = [n for n in probe.layer_names if probe.kinds[n] == "maps"]
    channels = sum(probe.shapes[n][-1] for n in spatial)
    one = {n: (m[0] if args.batch > 1 else m) for n, m in maps.items()}
    report(f"tiles for {channels} maps in {len(spatial)} layers",
           *timed(lambda: [channel_grid(one[n]) for n in spatial], args.repeats))
    sample = x if args.batch == 1 else x[0]
    report("saliency + Grad-CAM", *timed(lambda: explain(model, sample), max(5, args.repeats // 3)))


if __name__ == "__main__":
    main()
