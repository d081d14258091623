"""Time from launching ``dlstudio`` to its first window, to the editor being ready (palette filled,
the example drawn with every shape) and to Keras being ready, in a fresh process each run; beside
it, in the same run, the time of a bare ``python -c "import tensorflow"``.

Run: .venv/bin/python benchmarks/startup.py  (uses QT_QPA_PLATFORM=offscreen unless a display is
set). Modules run compiled, as pip installs them (PYTHONDONTWRITEBYTECODE is dropped for the
launches, so the first one writes what is missing). The launches share one cache folder (as a user's launches do) after one first launch that
fills it, which is timed apart (``first_launch_*``: the catalog and the shapes come with Keras).
Targets (issue 17): first window <= 1.0 s; the editor ready before a bare TensorFlow import would
have finished (editor_ready_s / tensorflow_import_s < 1.0). Prints ``name: value`` lines.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 5


def one_run(cache: str, linger: float = 0.0) -> dict[str, float]:
    """One launch; ``linger``: seconds it stays open after both are ready (the shape store is
    written a few seconds after Keras' answers, as in any real session)."""
    env = dict(os.environ, DLSTUDIO_STARTUP_TIMING="1", DLSTUDIO_CONFIG_DIR=tempfile.mkdtemp(),
               DLSTUDIO_CACHE_DIR=cache)
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: compiled modules (pip writes them)
    if not env.get("DISPLAY"):
        env["QT_QPA_PLATFORM"] = "offscreen"
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "dlstudio"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, text=True)
    seen: dict[str, float] = {}
    try:
        for line in proc.stdout:
            name = line.split(":")[0]
            if name.endswith("_s") and name not in seen:
                seen[name] = time.perf_counter() - t0
            if {"keras_ready_s", "editor_ready_s"} <= set(seen):
                break
        time.sleep(linger)
    finally:
        proc.kill()
        proc.wait()
    return seen


def tensorflow_import() -> float:
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import tensorflow"], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def median_of(results: list[dict[str, float]], name: str) -> float:
    return statistics.median(r[name] for r in results if name in r)


def main() -> None:
    cache = tempfile.mkdtemp(prefix="dlstudio-startup-cache-")
    first = one_run(cache, linger=6.0)  # fills the caches, as the very first launch on a machine does
    results, imports = [], []
    for _ in range(RUNS):  # interleaved: both see the same load on a shared machine
        results.append(one_run(cache))
        imports.append(tensorflow_import())
    firsts = [r["first_window_s"] for r in results]
    editor, keras, tf = median_of(results, "editor_ready_s"), median_of(results, "keras_ready_s"), statistics.median(imports)
    print(f"first_window_s: {statistics.median(firsts):.2f} (median of {len(firsts)}; target <= 1.0; "
          f"min {min(firsts):.2f}, max {max(firsts):.2f})")
    print(f"editor_ready_s: {editor:.2f} (palette filled, the example drawn with every shape)")
    print(f"keras_ready_s: {keras:.2f} (TensorFlow imported in the app)")
    print(f"tensorflow_import_s: {tf:.2f} (median of {len(imports)} bare 'python -c \"import tensorflow\"')")
    print(f"editor_ready_over_tensorflow_import: {editor / tf:.2f} (target < 1.0)")
    print(f"first_launch_editor_ready_s: {first.get('editor_ready_s', float('nan')):.2f} "
          f"(empty caches: the catalog and the shapes come with Keras, "
          f"first launch keras_ready_s {first.get('keras_ready_s', float('nan')):.2f})")


if __name__ == "__main__":
    main()
