"""Layer previews on a 500-node graph: frame times with previews on beside off, and the
time from an edit to its previews.

Run from the repository root::

    .venv/bin/python benchmarks/previews.py [--layers 249]

Builds a digits model of ``Input -> (Conv2D 8 -> BatchNormalization) x N -> GAP -> Dense``
(N=249: 501 nodes) in the main window's canvas (offscreen unless ``$DISPLAY`` is set),
then measures, side by side in this one run:

- pan and zoom frame times at actual size and with the whole graph fitted, previews off,
  then on (every node showing its picture);
- the time from an edit (a convolution near the end gets more filters) to the previews
  updated on the canvas, and how many nodes got a new picture (only those downstream);
- the same for an edit near the start (nearly every node downstream);
- the longest stall of the GUI thread while the previews are computed (a 5 ms timer's
  worst lateness): the canvas must stay as fast as without them.

Prints ``name: value`` lines; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("DLSTUDIO_CONFIG_DIR", "/tmp/dlstudio-bench-previews")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from big_graph import keep_none_alive, none_refcount_bug, pan_frames, zoom_frames  # noqa: E402


def deep_graph(pairs: int):
    from dlstudio.graph import Graph

    g = Graph()
    prev = g.add_node("Input", {"shape": [8, 8, 1]}, name="image", pos=(0, 0))
    y = 0
    for i in range(pairs):
        y += 150
        conv = g.add_node("Conv2D", {"filters": 8, "kernel_size": 3, "padding": "same", "activation": "relu"},
                          name=f"conv{i}", pos=(0, y))
        y += 150
        bn = g.add_node("BatchNormalization", {}, name=f"bn{i}", pos=(0, y))
        g.connect(prev.id, conv.id)
        g.connect(conv.id, bn.id)
        prev = bn
    gap = g.add_node("GlobalAveragePooling2D", {}, name="gap", pos=(0, y + 150))
    out = g.add_node("Dense", {"units": 10, "activation": "softmax"}, name="digit", pos=(0, y + 300))
    g.connect(prev.id, gap.id)
    g.connect(gap.id, out.id)
    return g


def ms(values: list[float]) -> str:
    return f"{statistics.median(values) * 1000:.1f} (p95 {sorted(values)[int(0.95 * (len(values) - 1))] * 1000:.1f})"


def frames(view, scene, app, label: str) -> None:
    for zoom, where in ((1.0, "1.0"), (None, "fit")):
        if zoom is None:
            view.fit_all()
        else:
            view.set_zoom(zoom)
            view.centerOn(scene.items_rect().center())
        app.processEvents()
        pan = pan_frames(view, app)
        zoomed = zoom_frames(view, app)
        print(f"pan_frame_ms@{where}_{label}: {ms(pan)}")
        print(f"zoom_frame_ms@{where}_{label}: {ms(zoomed)}")


def until(app, predicate, timeout: float = 300.0) -> float:
    """Process events until ``predicate()``; returns the worst lateness of a 5 ms timer meanwhile."""
    from PySide6.QtCore import QTimer

    worst = [0.0]
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        worst[0] = max(worst[0], now - last[0] - 0.005)
        last[0] = now

    timer = QTimer(interval=5, timeout=tick)
    timer.start()
    end = time.perf_counter() + timeout
    while not predicate() and time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)
    timer.stop()
    return worst[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", type=int, default=249, help="Conv2D/BatchNormalization pairs (249: 501 nodes)")
    args = parser.parse_args()
    if none_refcount_bug():
        keep_none_alive()
    from PySide6.QtWidgets import QApplication

    from dlstudio.project import new_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.editor.commands import SetParamCommand
    from dlstudio.qt.editor.previews import PreviewController
    from dlstudio.qt.editor.scene import GraphScene
    from dlstudio.qt.editor.view import GraphView
    from dlstudio.qt.keras_loader import loader

    app = QApplication.instance() or QApplication([])
    loader().wait(300)
    project = new_project("deep")
    project.graph = deep_graph(args.layers)
    doc = Document(project)
    doc.analyze_now()
    scene = GraphScene(doc)
    view = GraphView(scene)
    view.resize(1100, 720)
    view.show()
    app.processEvents()
    print(f"nodes: {len(project.graph)}")
    frames(view, scene, app, "previews_off")
    ids = {n.name: n.id for n in project.graph.nodes}
    analysed: list = []
    doc.analysis_changed.connect(analysed.append)
    t0 = time.perf_counter()
    doc.push(SetParamCommand(project.graph, ids["conv1"], "filters", 9))
    stall = until(app, lambda: analysed)
    print(f"edit_to_shapes_s@previews_off: {time.perf_counter() - t0:.2f} (worst GUI stall {stall * 1000:.0f} ms)")

    previews = PreviewController(scene)
    got: list[int] = []
    previews.updated.connect(got.append)
    t0 = time.perf_counter()
    previews.set_enabled(True)
    stall = until(app, lambda: got or previews.message)
    print(f"first_previews_s: {time.perf_counter() - t0:.2f} ({got[-1] if got else 0} pictures; "
          f"{previews.message or 'ok'}; worst GUI stall {stall * 1000:.0f} ms)")
    frames(view, scene, app, "previews_on")

    for where, name in (("near_end", f"conv{args.layers - 2}"), ("near_start", "conv1")):
        got.clear()
        t0 = time.perf_counter()
        filters = project.graph.node(ids[name]).params["filters"]
        doc.push(SetParamCommand(project.graph, ids[name], "filters", filters + 4))
        stall = until(app, lambda: any(got))
        print(f"edit_to_previews_s@{where}: {time.perf_counter() - t0:.2f} ({got[-1] if got else 0} of "
              f"{len(project.graph)} pictures changed; worst GUI stall {stall * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
