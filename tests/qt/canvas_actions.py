"""What a user does on the canvas, for the GUI tests: right-click somewhere and pick
an entry of the menu that pops up."""

from __future__ import annotations


def right_click(view, scene_pos):
    """A user's right-click on the canvas at ``scene_pos``: the context menu it pops up
    (kept by the scene as ``menu``), or None when nothing was offered."""
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QContextMenuEvent
    from PySide6.QtWidgets import QApplication

    if not isinstance(scene_pos, QPointF):
        scene_pos = QPointF(*scene_pos)
    view.graph_scene.menu = None
    pos = view.mapFromScene(scene_pos)
    event = QContextMenuEvent(QContextMenuEvent.Reason.Mouse, pos, view.viewport().mapToGlobal(pos))
    QApplication.sendEvent(view.viewport(), event)
    return view.graph_scene.menu


def menu_action(menu, *path: str):
    """The action at ``path`` ("Insert Layer", "Flatten") of a menu, by text (a submenu's
    entries match on their first word, before the shape they give)."""
    for i, text in enumerate(path):
        for action in menu.actions():
            label = action.text().replace("&", "")
            if label == text or label.split("  →")[0] == text:
                if i == len(path) - 1:
                    return action
                menu = action.menu()
                break
        else:
            raise AssertionError(f"no '{text}' in {[a.text() for a in menu.actions()]}")
    raise AssertionError(f"no {path}")


def open_editor(qtbot, graph, size=(900, 700), name: str = "test"):
    """A project holding ``graph`` open in a canvas (Document, scene, view) as a user sees it:
    shown, analysed and fitted. Returns (document, scene, view)."""
    from dlstudio.project import new_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.editor.scene import GraphScene
    from dlstudio.qt.editor.view import GraphView

    project = new_project(name)
    project.graph = graph
    doc = Document(project)
    scene = GraphScene(doc)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(*size)
    view.show()
    doc.analyze_now()
    view.fit_all()
    return doc, scene, view


def chain_graph():
    """image (28x28x1) -> conv (Conv2D 8) -> flat (Flatten) -> out (Dense 10)."""
    from dlstudio.graph import Graph

    g = Graph()
    inp = g.add_node("Input", {"shape": [28, 28, 1]}, name="image", pos=(0, 0))
    conv = g.add_node("Conv2D", {"filters": 8, "kernel_size": 3}, name="conv", pos=(0, 150))
    flat = g.add_node("Flatten", {}, name="flat", pos=(0, 300))
    out = g.add_node("Dense", {"units": 10}, name="out", pos=(0, 450))
    g.connect(inp.id, conv.id), g.connect(conv.id, flat.id), g.connect(flat.id, out.id)
    return g
