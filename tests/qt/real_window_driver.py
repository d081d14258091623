"""The app's real main window for ``test_real_window.py``, with a probe.

Run as a subprocess under Xvfb (QT_QPA_PLATFORM=xcb)::

    python tests/qt/real_window_driver.py PROBE.json [WIDTH HEIGHT]

It starts the window as ``dlstudio.qt.app.run_app`` does, opens a blank
project holding one Input node, and every 100 ms writes PROBE.json (atomically)
with what the test needs to aim real X events: the native screen coordinates
of the "Dense" palette item, the canvas and every port, and the node and edge
counts. Coordinates are native pixels (Qt's logical pixels times the device
pixel ratio), which is what xdotool uses, also under QT_SCALE_FACTOR=2.
Not a test module (pytest collects only ``test_*.py``).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

INPUT_POS = (-105.0, -230.0)  # scene position of the Input node: above the view centre


def main(argv: list[str]) -> int:
    probe = Path(argv[0])
    width, height = (int(argv[1]), int(argv[2])) if len(argv) >= 3 else (1280, 800)

    from PySide6.QtCore import QPointF, QTimer
    from PySide6.QtWidgets import QApplication

    from dlstudio.project import new_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.keras_loader import keras_ready, loader
    from dlstudio.qt.main_window import MainWindow
    from dlstudio.qt.notifications import install_excepthooks
    from dlstudio.qt.theme import apply_theme

    app = QApplication([sys.argv[0]])
    app.setApplicationName("DL Studio")
    app.setOrganizationName("DLStudio")
    apply_theme(app, "light", remember=False)
    install_excepthooks()

    window = MainWindow()
    from dlstudio.project import DatasetRef

    project = new_project("Real window")
    # a dataset whose samples fit the Input: the only problem of the finished graph is its
    # output size against the 2 classes, which the editor offers to fix
    project.dataset = DatasetRef(name="xor", options={})
    project.graph.add_node("Input", {"shape": [2]}, name="features", pos=INPUT_POS)
    window.set_document(Document(project))
    window.resize(width, height)
    window.move(0, 0)
    window.show()
    state = {"arranged": False, "errors": []}
    from dlstudio.qt.notifications import notifications

    notifications().posted.connect(
        lambda n: state["errors"].append(n.message) if n.severity == "error" else None)

    def arrange() -> None:
        """Actual size, the Input node above the centre: the centre is free for a drop."""
        view = window.view
        view.set_zoom(1.0)
        view.centerOn(0.0, 0.0)
        tree = window.palette_panel.tree
        item = window.palette_panel.item_for("Dense")
        if item is not None:
            tree.scrollToItem(item)
        state["arranged"] = True

    def on_ready() -> None:
        QTimer.singleShot(400, arrange)  # after the window's own fit-to-view timers

    loader().ready.connect(on_ready)
    if keras_ready():
        on_ready()

    def native(widget, point) -> list[float]:
        g = widget.mapToGlobal(point)
        dpr = widget.devicePixelRatioF()
        return [round(g.x() * dpr), round(g.y() * dpr)]

    def native_rect(widget, rect) -> list[float]:
        x, y = native(widget, rect.topLeft())
        dpr = widget.devicePixelRatioF()
        return [x, y, round(rect.width() * dpr), round(rect.height() * dpr)]

    def snapshot() -> dict:
        view, scene, vp = window.view, window.scene, window.view.viewport()
        tree = window.palette_panel.tree
        item = window.palette_panel.item_for("Dense")
        dense = None
        if item is not None:
            rect = tree.visualItemRect(item)
            if rect.isValid() and tree.viewport().rect().contains(rect.center()):
                dense = native_rect(tree.viewport(), rect)

        def port(p) -> list[float]:
            return native(vp, view.mapFromScene(p.scenePos()))

        nodes = []
        for nid, it in scene.node_items.items():
            node = scene.graph.node(nid)
            nodes.append({"id": nid, "type": node.type, "name": node.name,
                          "inputs": [port(p) for p in it.in_ports],
                          "outputs": [port(p) for p in it.out_ports],
                          "centre": native(vp, view.mapFromScene(it.sceneBoundingRect().center()))})
        edges = [{"src": e.src, "dst": e.dst} for e in scene.graph.edges]
        return {
            "pid": os.getpid(),
            "ready": bool(keras_ready() and state["arranged"] and window.isVisible()
                          and not window.palette_panel.is_loading()),
            "dpr": window.devicePixelRatioF(),
            "window": native_rect(window, window.rect()),
            "canvas": native_rect(vp, vp.rect()),
            "dense_item": dense,
            "zoom": view.zoom(),
            "node_count": len(scene.node_items),
            "edge_count": len(scene.edge_items),
            "nodes": nodes,
            "edges": edges,
            "status": window.statusBar().currentMessage(),
            "errors": state["errors"],
            "analysis_ok": bool(window.document.analysis is not None and window.document.analysis.ok),
            "analysis_edges": (sum(1 for e in window.document.graph.edges)
                               if window.document.analysis is not None else -1),
            "problems": [{"node_ids": list(p.node_ids), "message": str(p), "severity": p.severity,
                          "fix": p.fix.label if getattr(p, "fix", None) is not None else None}
                         for p in (window.document.analysis.problems if window.document.analysis else [])],
        }

    def write() -> None:
        try:
            data = snapshot()
        except Exception as exc:  # noqa: BLE001 - reported to the test, never fatal
            data = {"ready": False, "error": f"{type(exc).__name__}: {exc}"}
        tmp = probe.with_suffix(".tmp")
        tmp.write_text(json.dumps(data))
        os.replace(tmp, probe)

    timer = QTimer()
    timer.timeout.connect(write)
    timer.start(100)
    return app.exec()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
