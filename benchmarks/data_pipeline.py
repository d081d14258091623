"""Load 60,000 28x28 images from an .npz through the ``numpy`` file dataset and
iterate one epoch of batches of 64 through ``make_dataset``.

    python benchmarks/data_pipeline.py [--repeat 3]

Prints ``load_and_batch_60k_s: X (target < 1 s)`` (the median of the repeats;
the first one, "cold", also pays for the first touch of ~200 MB of fresh
memory) and the split between loading and batching. TensorFlow is imported and
warmed up before timing, as it is in the app by the time the user trains.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

N, TEST, BATCH = 60_000, 10_000, 64


def write_npz(folder: Path) -> Path:
    rng = np.random.default_rng(0)
    path = folder / "images.npz"
    np.savez(path, x_train=rng.integers(0, 256, (N, 28, 28), dtype=np.uint8),
             y_train=rng.integers(0, 10, N, dtype=np.uint8),
             x_test=rng.integers(0, 256, (TEST, 28, 28), dtype=np.uint8),
             y_test=rng.integers(0, 10, TEST, dtype=np.uint8))
    return path


def once(path: Path) -> tuple[float, float, int]:
    import dlstudio.data.files  # noqa: F401  (registers the file datasets)
    from dlstudio.data import load_dataset
    from dlstudio.data.pipeline import make_dataset

    t0 = time.perf_counter()
    data = load_dataset("numpy", {"path": str(path)})
    t1 = time.perf_counter()
    seen = 0
    for xb, _ in make_dataset(data.x_train, data.y_train, BATCH, shuffle=True, seed=0):
        seen += int(xb.shape[0])
    t2 = time.perf_counter()
    assert seen == N and data.input_shape == (28, 28, 1), (seen, data.input_shape)
    return t1 - t0, t2 - t1, seen


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from dlstudio.backend import load_keras
    from dlstudio.data.pipeline import make_dataset

    keras = load_keras()
    for _ in make_dataset(np.zeros((8, 2), np.float32), np.zeros(8), 4):  # warm up tf.data
        pass
    with tempfile.TemporaryDirectory() as tmp:
        path = write_npz(Path(tmp))
        size_mb = path.stat().st_size / 1e6
        runs = [once(path) for _ in range(args.repeat)]
    load_s, batch_s, _ = sorted(runs, key=lambda r: r[0] + r[1])[len(runs) // 2]
    total = load_s + batch_s
    print(f"backend: {keras.backend.backend()}, file {size_mb:.0f} MB, {N} train images, batches of {BATCH}")
    print(f"load_and_batch_60k_s: {total:.3f} (target < 1 s; median of {len(runs)})")
    print(f"  load_s: {load_s:.3f}  batch_epoch_s: {batch_s:.3f}  ({N / batch_s:,.0f} samples/s)")
    print(f"  cold (first run): {sum(runs[0][:2]):.3f}  best: {min(a + b for a, b, _ in runs):.3f}")
    print("  all runs (load, batch): " + ", ".join(f"({a:.3f}, {b:.3f})" for a, b, _ in runs))


if __name__ == "__main__":
    main()
