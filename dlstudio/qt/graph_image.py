"""Draw a graph to a PNG or SVG file without a window: the bridge that lets the
command line (``dlstudio export --format png|svg``) use the canvas' own drawing
(:mod:`dlstudio.qt.editor.image_export`) instead of a second renderer.

Run as ``python -m dlstudio.qt.graph_image GRAPH.json png|svg OUT`` (the core
starts it as a child process, so the core itself never loads Qt), or call
:func:`render_graph` from Qt code.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path


def render_graph(graph, path: str | Path, kind: str) -> Path:
    """Write ``graph`` as drawn on the canvas (shapes on the wires) to ``path``."""
    from PySide6.QtWidgets import QApplication

    from dlstudio.project import new_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.editor.image_export import export_png, export_svg
    from dlstudio.qt.editor.scene import GraphScene
    from dlstudio.qt.keras_loader import loader

    app = QApplication.instance() or QApplication([sys.argv[0]])
    loader().wait()  # the shapes on the wires need Keras
    project = new_project("graph")
    project.graph = graph
    document = Document(project)
    document.analyze_now()
    scene = GraphScene(document)
    try:
        if kind == "png":
            return export_png(scene, path)
        if kind == "svg":
            return export_svg(scene, path)
        raise ValueError(f"unknown picture kind {kind!r}; choose png or svg")
    finally:
        scene.detach()
        scene.deleteLater()
        document.deleteLater()
        app.processEvents()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 3:
        print("usage: python -m dlstudio.qt.graph_image GRAPH.json png|svg OUTPUT", file=sys.stderr)
        return 2
    from dlstudio.graph import Graph

    graph_file, kind, out = args
    try:
        graph = Graph.from_dict(json.loads(Path(graph_file).read_text(encoding="utf-8")))
        render_graph(graph, out, kind)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
