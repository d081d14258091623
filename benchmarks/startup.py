"""Time from launching ``dlstudio`` to its first window on screen, and to
Keras being ready (shapes shown), in a fresh process each run.

Run: .venv/bin/python benchmarks/startup.py  (uses QT_QPA_PLATFORM=offscreen
unless a display is set). Target: first window <= 1.5 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 5


def one_run() -> tuple[float, float]:
    env = dict(os.environ, DLSTUDIO_STARTUP_TIMING="1", DLSTUDIO_CONFIG_DIR=tempfile.mkdtemp())
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dlstudio"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    first = ready = None
    try:
        for line in proc.stdout:
            if line.startswith("first_window_s") and first is None:
                first = time.perf_counter() - t0
            if line.startswith("keras_ready_s"):
                ready = time.perf_counter() - t0
                break
    finally:
        proc.kill()
        proc.wait()
    return first, ready


def main() -> None:
    results = [one_run() for _ in range(RUNS)]
    firsts = [r[0] for r in results if r[0] is not None]
    readies = [r[1] for r in results if r[1] is not None]
    print(f"first_window_s: {statistics.median(firsts):.2f} (median of {len(firsts)}; target <= 1.5; "
          f"min {min(firsts):.2f}, max {max(firsts):.2f})")
    print(f"keras_ready_s: {statistics.median(readies):.2f} (shapes and catalog available)")


if __name__ == "__main__":
    main()
