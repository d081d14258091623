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
