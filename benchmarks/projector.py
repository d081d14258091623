"""How fluid the embedding projector stays with 10,000 points (offscreen Qt).

Run from the repository root::

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/projector.py [POINTS]

It fills the Projector panel with a synthetic projection (10 classes, 5% misclassified,
8x8 samples) and times: showing it, one zoom step with a repaint, one hover (the
nearest point, its sample beside the plot), and a lasso selecting about half.

Measured on 2026-12-07 on the development machine (2 shared CPU cores, offscreen
software rendering, 10,000 points): show 0.69 s; zoom + repaint 46 ms a frame; hover
12.6 ms; nearest point 0.02 ms; lasso of 4,783 points 11 ms.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main(n: int = 10_000) -> None:
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance() or QApplication([])
    from dlstudio.insight.projector import Projection
    from dlstudio.qt.panels.projector.projector_panel import ProjectorPanel

    panel = ProjectorPanel(None)
    panel.resize(1000, 500)
    panel.show()
    app.processEvents()
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, n)
    pts = (rng.normal(size=(n, 2)) + np.stack([np.cos(labels), np.sin(labels)], 1) * 4).astype(np.float32)
    pred = np.where(rng.uniform(size=n) < 0.05, (labels + 1) % 10, labels)
    p = Projection(pts, np.arange(n), labels, pred, [str(i) for i in range(10)], "fc1", "pca", 64)
    data = SimpleNamespace(x_test=rng.uniform(size=(n, 8, 8, 1)).astype(np.float32), x_train=None, vocabulary=[])
    t = time.perf_counter()
    panel.show_result(("synthetic",), (p, data, ["fc1"], SimpleNamespace(layers=[])))
    app.processEvents()
    print(f"{n:,} points: show {time.perf_counter() - t:.2f} s")
    t = time.perf_counter()
    for _ in range(20):
        panel.plot.getPlotItem().getViewBox().scaleBy((0.98, 0.98))
        panel.plot.repaint()
        app.processEvents()
    print(f"zoom + repaint {(time.perf_counter() - t) / 20 * 1000:.1f} ms a frame")
    t = time.perf_counter()
    for k in range(50):
        panel.hover_index = -1
        panel.hover(k)
        app.processEvents()
    print(f"hover {(time.perf_counter() - t) / 50 * 1000:.1f} ms")
    t = time.perf_counter()
    chosen = panel.select_polygon([(-20, -20), (0, -20), (0, 20), (-20, 20)])
    print(f"lasso of {len(chosen):,} points {(time.perf_counter() - t) * 1000:.0f} ms")


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:2]))
