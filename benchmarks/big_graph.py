"""Open and navigate a big imported graph in the canvas.

Run from the repository root::

    .venv/bin/python benchmarks/big_graph.py [--model ResNet50|ResNet101|ResNet152] [--profile]

Builds ``keras.applications.<model>(weights=None)`` (nothing is downloaded),
converts it with ``graph_from_model``, then, in an offscreen Qt app (or on the
display in ``$DISPLAY`` when one is set), times opening it in the editor:
Document + GraphScene + GraphView + the first shape analysis + the first
frame. Then frame times while panning (60 steps of 40 px, each followed by a
synchronous full repaint of the viewport) and zooming (30 wheel-sized steps),
at actual size, at 30 %, at 10 % (the least the wheel allows) and with the whole
graph fitted in the view.

Without ``--model`` it runs ResNet50 (177 layers) and ResNet152 (517 layers,
the ~500-node case). Prints plain ``name: value (target ...)`` lines; asserts
nothing. ``--profile`` adds the top functions of a cProfile run of the opening
and of the zoomed-out pan.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

VIEW_SIZE = (1100, 720)  # about the canvas of a 1400x880 main window
PAN_STEPS, PAN_PX = 60, 40
ZOOM_STEPS = 30


def none_refcount_bug() -> bool:
    """True when PySide6 drops a reference to None on every call of a method
    returning void (PySide6 6.12.0 on Python < 3.12, where None is not
    immortal): the process then aborts with "deallocating None" after some
    hundred thousand calls, i.e. some hundred frames of a big canvas."""
    from PySide6.QtGui import QColor

    colour = QColor(1, 2, 3)
    colour.setAlpha(1)
    before = sys.getrefcount(None)
    for _ in range(100):
        colour.setAlpha(1)
    return sys.getrefcount(None) < before - 50


def keep_none_alive() -> None:
    """Benchmark-only workaround for :func:`none_refcount_bug`: give None a huge
    reference count (what Python 3.12's immortal objects do), so the run can finish."""
    import ctypes

    ctypes.c_ssize_t.from_address(id(None)).value += 1 << 40


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def p95(values: list[float]) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(0.95 * (len(s) - 1)))]


def convert(model_name: str):
    import keras

    from dlstudio.compile.importer import graph_from_model

    t0 = time.perf_counter()
    model = getattr(keras.applications, model_name)(weights=None)
    built = time.perf_counter() - t0
    t0 = time.perf_counter()
    graph, _weights = graph_from_model(model)
    converted = time.perf_counter() - t0
    return model, graph, built, converted


def open_graph(graph, app):
    """Document, scene, view, first analysis and first frame; each timed."""
    from dlstudio.project import new_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.editor.scene import GraphScene
    from dlstudio.qt.editor.view import GraphView

    times = {}
    t0 = time.perf_counter()
    project = new_project("big")
    project.graph = graph
    document = Document(project)
    t1 = time.perf_counter()
    scene = GraphScene(document)
    t2 = time.perf_counter()
    view = GraphView(scene)
    view.resize(*VIEW_SIZE)
    view.show()
    view.fit_all(readable=0.6)  # what the main window does on open
    t3 = time.perf_counter()
    analysis = document.analyze_now()
    t4 = time.perf_counter()
    app.processEvents()
    view.viewport().repaint()
    t5 = time.perf_counter()
    times.update(document=t1 - t0, scene=t2 - t1, view=t3 - t2, analysis=t4 - t3, first_frame=t5 - t4,
                 total=t5 - t0)
    return document, scene, view, analysis, times


def pan_frames(view, app, steps: int = PAN_STEPS, px: int = PAN_PX) -> list[float]:
    """Scroll ``px`` down per step (back up when the end is reached), repaint synchronously."""
    bar = view.verticalScrollBar()
    hbar = view.horizontalScrollBar()
    direction = 1
    frames = []
    for i in range(steps):
        if not bar.minimum() <= bar.value() + direction * px <= bar.maximum():
            direction = -direction
        t0 = time.perf_counter()
        bar.setValue(bar.value() + direction * px)
        if i % 4 == 3:
            hbar.setValue(hbar.value() + (px // 2 if i % 8 == 3 else -px // 2))
        view.viewport().repaint()
        app.processEvents()
        frames.append(time.perf_counter() - t0)
    return frames


def zoom_frames(view, app, steps: int = ZOOM_STEPS) -> list[float]:
    """Wheel-sized zoom steps (x1.15) in and out around the current zoom."""
    frames = []
    for i in range(steps):
        factor = 1.15 if (i // 5) % 2 == 0 else 1 / 1.15
        t0 = time.perf_counter()
        view.set_zoom(view.zoom() * factor)
        view.viewport().repaint()
        app.processEvents()
        frames.append(time.perf_counter() - t0)
    return frames


def centre_on_middle(view, scene) -> None:
    rect = scene.items_rect()
    view.centerOn(rect.center())


def profile(label: str, fn, limit: int = 14) -> None:
    prof = cProfile.Profile()
    prof.enable()
    fn()
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).sort_stats("tottime").print_stats(limit)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next((i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls")), 0)
    print(f"--- profile: {label} (by own time) ---")
    for ln in lines[start:start + limit + 1]:
        print("   " + ln)


def run(model_name: str, app, do_profile: bool) -> None:
    model, graph, built, converted = convert(model_name)
    n = len(graph.nodes)
    print(f"== {model_name}: {len(model.layers)} layers -> {n} nodes, {len(graph.edges)} edges")
    print(f"keras_build_model_s: {built:.2f} (keras.applications.{model_name}(weights=None); not ours)")
    print(f"graph_from_model_s: {converted:.2f}")

    document, scene, view, analysis, t = open_graph(graph, app)
    tag = "open_500_nodes_s" if n >= 400 else f"open_{n}_nodes_s"
    print(f"{tag}: {t['total']:.2f} (target < 2; {n} nodes; document {ms(t['document'])} ms, "
          f"scene {ms(t['scene'])} ms, view {ms(t['view'])} ms, first analysis {ms(t['analysis'])} ms, "
          f"first frame {ms(t['first_frame'])} ms)")
    if analysis is None or not analysis.ok:
        problems = [str(p) for p in analysis.problems][:3] if analysis is not None else ["no analysis"]
        print(f"analysis_ok: False ({'; '.join(problems)})")
    else:
        print(f"analysis_ok: True ({analysis.total_params:,} parameters)")

    zooms = [("1.0", 1.0), ("0.3", 0.3), ("0.1", 0.1), ("fit", None)]
    worst = {}
    for label, zoom in zooms:
        if zoom is None:
            view.fit_all()
            label = f"fit({view.zoom():.2f})"
        else:
            view.set_zoom(zoom)
            centre_on_middle(view, scene)
        app.processEvents()
        view.viewport().repaint()
        visible = len([i for i in scene.items(view.mapToScene(view.viewport().rect()).boundingRect())
                       if i.parentItem() is None])
        pan = pan_frames(view, app)
        if zoom is None:
            view.fit_all()
        else:
            view.set_zoom(zoom)
            centre_on_middle(view, scene)
        zf = zoom_frames(view, app)
        med, hi = statistics.median(pan) * 1000, p95(pan) * 1000
        worst[label] = med
        print(f"pan_frame_ms_median@{label}: {med:.1f} (target < 16; p95 {hi:.1f}; "
              f"{visible} items in view)")
        print(f"zoom_frame_ms_median@{label}: {statistics.median(zf) * 1000:.1f} (p95 {p95(zf) * 1000:.1f})")

    if do_profile:
        graph2 = convert(model_name)[1]
        profile("open (Document + scene + view + first analysis + first frame)",
                lambda: open_graph(graph2, app))
        view.fit_all()
        profile(f"pan at fit-all ({PAN_STEPS} frames)", lambda: pan_frames(view, app))
        view.set_zoom(1.0)
        centre_on_middle(view, scene)
        profile(f"pan at 1.0 ({PAN_STEPS} frames)", lambda: pan_frames(view, app))
    view.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", action="append", choices=["ResNet50", "ResNet101", "ResNet152"])
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()

    from PySide6.QtWidgets import QApplication

    from dlstudio.qt.keras_loader import loader
    from dlstudio.qt.theme import apply_theme

    app = QApplication.instance() or QApplication([sys.argv[0]])
    apply_theme(app, "light", remember=False)
    t0 = time.perf_counter()
    if not loader().wait(300):
        sys.exit(f"Keras did not load: {loader().error}")
    print(f"platform: {app.platformName()}; keras + catalog load (not timed below): "
          f"{time.perf_counter() - t0:.1f} s")
    if none_refcount_bug():
        import PySide6

        print(f"WARNING: PySide6 {PySide6.__version__} on Python {sys.version.split()[0]} loses a reference to "
              "None on every void call (the app aborts with 'deallocating None'); worked around for this run")
        keep_none_alive()
    for name in args.model or ["ResNet50", "ResNet152"]:
        run(name, app, args.profile)


if __name__ == "__main__":
    main()
