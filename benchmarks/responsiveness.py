"""How responsive the GUI stays while a training runs in the training panel.

A 5 ms precise QTimer probes the event loop on the GUI thread while the panel
trains (offscreen); every gap between two probes longer than the interval is
time the GUI thread could not react. Prints ``longest_gap_ms`` and
``p99_gap_ms`` per scenario. Targets: no gap over 50 ms, p99 under 17 ms
(one frame at 60 Hz).

Scenarios: ``xor`` (a tiny MLP with batches of 4: thousands of events a
second, the worst case for event traffic) and ``digits`` (the digits CNN:
heavier batches, the usual case).

Live views: ``--boundary on|off`` (the decision boundary beside the curves,
on by default as in the app; it applies to xor only) and ``--gradient-flow``.

Run: .venv/bin/python benchmarks/responsiveness.py [--scenario xor|digits|all] [--epochs N]
     [--boundary on|off] [--gradient-flow]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("DLSTUDIO_CONFIG_DIR", tempfile.mkdtemp(prefix="dls-bench-"))

import numpy as np  # noqa: E402

PROBE_MS = 5

SCENARIOS = {
    "xor": ("xor_mlp.dlsproj", {"samples": 2000}, {"epochs": 8, "batch_size": 4}),
    "digits": ("digits_cnn.dlsproj", None, {"epochs": 6, "batch_size": 32}),
}


def run_scenario(app, name: str, epochs: int | None, boundary: bool = True, gradient_flow: bool = False) -> dict:
    from PySide6.QtCore import QEventLoop, Qt, QTimer

    from dlstudio import RESOURCES
    from dlstudio.project import load_project, save_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.panels.training.training_panel import TrainingPanel

    file, options, settings = SCENARIOS[name]
    project = load_project(RESOURCES / "examples" / file)
    if options is not None:
        project.dataset.options = {**project.dataset.options, **options}
    project.training = project.training.model_copy(update={**settings, **({"epochs": epochs} if epochs else {})})
    folder = Path(tempfile.mkdtemp(prefix="dls-bench-"))
    save_project(project, folder / file)
    doc = Document(project)
    doc.analyze_now()
    panel = TrainingPanel(doc)
    panel.resize(1200, 420)
    panel.act_boundary.setChecked(boundary)
    panel.act_gradients.setChecked(gradient_flow)
    panel.show()
    app.processEvents()

    stamps: list[float] = []
    events = {"n": 0}
    probe = QTimer()
    probe.setTimerType(Qt.TimerType.PreciseTimer)
    probe.setInterval(PROBE_MS)
    probe.timeout.connect(lambda: stamps.append(time.perf_counter()))

    t0 = time.perf_counter()
    probe.start()
    assert panel.train(), panel.error_label.text()
    log: list[tuple[float, str]] = []  # (arrival time, kind) of the non-batch events

    def arrived(bundle: list) -> None:
        events["n"] += len(bundle)
        now = time.perf_counter()
        log.extend((now, type(e).__name__) for e in bundle if type(e).__name__ != "BatchEnd")

    panel.worker.events.connect(arrived)
    loop = QEventLoop()  # the real event loop, as in the application
    panel.running_changed.connect(lambda running: running or loop.quit())
    if panel.is_running():
        loop.exec()
    app.processEvents()
    probe.stop()
    seconds = time.perf_counter() - t0
    if panel.last_failed is not None:
        raise SystemExit(f"{name}: training failed: {panel.last_failed.message}")
    stamps_a = np.asarray(stamps)
    gaps = np.diff(stamps_a) * 1000.0
    big = [(float(stamps_a[i] - t0), float(gaps[i]),
            next((f"{k} {stamps_a[i + 1] - t:+.2f} s" for t, k in reversed(log) if t <= stamps_a[i + 1] + 0.5),
                 "before Started"))
           for i in np.argsort(gaps)[::-1][:8] if gaps[i] > 50]
    panel.close()
    panel.deleteLater()
    doc.undo_stack.setClean()
    app.processEvents()
    return {
        "scenario": name,
        "seconds": seconds,
        "events": events["n"],
        "events_per_s": events["n"] / seconds,
        "probes": len(stamps),
        "longest_gap_ms": float(gaps.max()) if len(gaps) else float("nan"),
        "p99_gap_ms": float(np.percentile(gaps, 99)) if len(gaps) else float("nan"),
        "median_gap_ms": float(np.median(gaps)) if len(gaps) else float("nan"),
        "gaps_over_17ms": int((gaps > 17).sum()),
        "gaps_over_50ms": int((gaps > 50).sum()),
        "big_gaps": sorted(big),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--epochs", type=int, default=None)
    parser.add_argument("-v", "--verbose", action="store_true", help="list the longest gaps")
    parser.add_argument("--boundary", choices=("on", "off"), default="on", help="the live decision boundary")
    parser.add_argument("--gradient-flow", action="store_true", help="the live gradient-flow plot")
    args = parser.parse_args(argv)

    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication(sys.argv[:1])
    from dlstudio.qt.keras_loader import loader

    if not loader().wait(180):  # Keras loads on its own thread at start-up; not measured here
        raise SystemExit(f"Keras did not load: {loader().error}")
    ok = True
    for name in (SCENARIOS if args.scenario == "all" else [args.scenario]):
        r = run_scenario(app, name, args.epochs, args.boundary == "on", args.gradient_flow)
        good = r["longest_gap_ms"] <= 50 and r["p99_gap_ms"] < 17
        ok &= good
        print(f"{name}: {r['seconds']:.1f} s, {r['events']} events ({r['events_per_s']:.0f}/s), "
              f"{r['probes']} probes")
        print(f"  longest_gap_ms: {r['longest_gap_ms']:.1f}")
        print(f"  p99_gap_ms: {r['p99_gap_ms']:.1f}")
        print(f"  median_gap_ms: {r['median_gap_ms']:.1f}; gaps > 17 ms: {r['gaps_over_17ms']}, "
              f"> 50 ms: {r['gaps_over_50ms']}  [{'ok' if good else 'MISSES the target'}]")
        if args.verbose:
            for at, ms, near in r["big_gaps"]:
                print(f"    gap {ms:.0f} ms at {at:.2f} s (nearest event: {near})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
