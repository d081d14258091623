"""The canvas keeps its room (issue 17): in a 1400x900 window, whichever dock is in front, the
canvas has more than half of the window's width and height; a training does not grow the bottom
docks; the opened example is shown whole."""

from __future__ import annotations

from PySide6.QtWidgets import QDockWidget

from dlstudio import RESOURCES


def _settle(qtbot, ms: int = 200) -> None:
    qtbot.wait(ms)


def test_the_canvas_keeps_half_the_window_whichever_dock_is_in_front(window, qtbot):
    from dlstudio.qt.window_docks import BOTTOM_HEIGHT

    window.resize(1400, 900)
    window.reset_layout()
    _settle(qtbot, 400)
    assert window.width() == 1400
    shown = [d for d in window.findChildren(QDockWidget) if d.isVisible() and not d.isFloating()]
    assert len(shown) >= 10
    for dock in shown:
        dock.raise_()
        _settle(qtbot, 50)
        canvas = window.canvas_stack.geometry()
        assert canvas.width() >= window.width() / 2, (dock.objectName(), canvas)
        assert canvas.height() >= window.height() / 2, (dock.objectName(), canvas)
    assert window.palette_dock.width() >= 180  # "BatchNormalization" reads in full
    before = window.training_dock.height()
    window._show_training()  # what Train does before the first epoch
    _settle(qtbot)
    assert window.training_dock.height() <= max(before, BOTTOM_HEIGHT) + 2  # it used to jump to 400 px
    assert window.canvas_stack.height() >= window.height() / 2


def test_an_opened_example_is_shown_whole(window, qtbot):
    window.resize(1400, 900)
    assert window.open_path(RESOURCES / "examples" / "small_vgg.dlsproj")
    _settle(qtbot, 400)
    seen = window.view.mapToScene(window.view.viewport().rect()).boundingRect()
    nodes = window.scene.items_rect()
    assert seen.contains(nodes), (seen, nodes)
    assert window.view.zoom() <= 1.0
