"""The main window: files, title, copy/paste across projects, recovery,
problems focusing nodes. Settings and recovery files live in tmp_path."""

from __future__ import annotations

import json
import os

import pytest
from PySide6.QtWidgets import QMessageBox

from dlstudio import RESOURCES
from dlstudio.project import load_project, project_to_dict
from dlstudio.qt.editor.commands import SetParamCommand

DIGITS = RESOURCES / "examples" / "digits_cnn.dlsproj"
RESNET = RESOURCES / "examples" / "resnet_block.dlsproj"




def open_copy(window, tmp_path, source=DIGITS):
    path = tmp_path / source.name
    path.write_text(source.read_text())
    assert window.open_path(path)
    return path


def test_opens_a_project_and_shows_it(window, tmp_path, qtbot):
    path = open_copy(window, tmp_path)
    qtbot.waitUntil(lambda: window.document.analysis is not None)
    assert window.windowTitle().startswith("digits_cnn")
    assert len(window.scene.node_items) == len(load_project(path).graph.nodes)
    assert window.document.analysis is not None and window.document.analysis.ok
    assert not window.isWindowModified()


def test_edit_marks_modified_save_reopen_compare(window, tmp_path):
    path = open_copy(window, tmp_path)
    doc = window.document
    conv = doc.graph.node_by_name("conv1").id
    doc.push(SetParamCommand(doc.graph, conv, "filters", 12))
    assert window.isWindowModified()
    assert window.save()
    assert not window.isWindowModified()
    reopened = load_project(path)
    assert reopened.graph.node(conv).params["filters"] == 12
    assert project_to_dict(reopened) == project_to_dict(doc.project)


def test_copy_paste_across_projects(window, tmp_path):
    open_copy(window, tmp_path)
    names = ["conv1", "pool1", "conv2"]
    window.scene.select_nodes([window.document.graph.node_by_name(n).id for n in names])
    window.copy()
    open_copy(window, tmp_path, RESNET)
    before = len(window.document.graph.nodes)
    edges_before = len(window.document.graph.edges)
    window.paste()
    g = window.document.graph
    assert len(g.nodes) == before + 3
    assert len(g.edges) == edges_before + 2  # only the edges inside the selection
    pasted = [g.node(i) for i in window.scene.selected_node_ids()]
    assert sorted(n.type for n in pasted) == ["Conv2D", "Conv2D", "MaxPooling2D"]
    window.document.undo_stack.undo()
    assert len(g.nodes) == before


def test_problem_click_selects_and_centres_the_node(window, tmp_path, qtbot):
    open_copy(window, tmp_path)
    doc = window.document
    fc1 = doc.graph.node_by_name("fc1").id
    doc.push(SetParamCommand(doc.graph, fc1, "units", -5))
    qtbot.waitUntil(lambda: doc.analysis is not None and not doc.analysis.ok)
    problem = next(p for p in doc.analysis.problems if fc1 in p.node_ids)
    doc.selection_requested.emit(list(problem.node_ids))
    assert window.scene.selected_node_ids() == [fc1]
    centre = window.view.mapToScene(window.view.viewport().rect().center())
    assert window.scene.node_items[fc1].sceneBoundingRect().adjusted(-5, -5, 5, 5).contains(centre)


def test_close_with_unsaved_changes_asks(window, tmp_path, monkeypatch):
    open_copy(window, tmp_path)
    doc = window.document
    doc.push(SetParamCommand(doc.graph, doc.graph.node_by_name("fc1").id, "units", 8))
    asked = []
    monkeypatch.setattr(QMessageBox, "warning", lambda *a, **k: asked.append(a) or QMessageBox.StandardButton.Cancel)
    assert not window.maybe_save()
    assert asked and window.document is doc


def test_recovery_after_a_simulated_crash(window, tmp_path, qtbot, monkeypatch):
    from dlstudio.qt.recovery import pending_recoveries

    path = open_copy(window, tmp_path)
    doc = window.document
    fc1 = doc.graph.node_by_name("fc1").id
    doc.push(SetParamCommand(doc.graph, fc1, "units", 77))
    assert window.recovery.write_now()
    # simulate a crash: the sidecar names a process that no longer exists
    sidecar = window.recovery.sidecar_path
    info = json.loads(sidecar.read_text())
    info["pid"] = _dead_pid()
    sidecar.write_text(json.dumps(info))
    entries = pending_recoveries()
    assert len(entries) == 1 and entries[0].original_path == path
    # a new window offers it; restoring brings the unsaved edit back, marked unsaved
    from dlstudio.qt.main_window import MainWindow

    other = MainWindow()
    qtbot.addWidget(other)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert other.offer_recovery()
    restored = other.document
    assert restored.graph.node(fc1).params["units"] == 77
    assert restored.path == path and other.isWindowModified()
    assert load_project(path).graph.node(fc1).params["units"] != 77  # the file is untouched until saved
    restored.undo_stack.setClean()
    window.document.undo_stack.setClean()


def _dead_pid() -> int:
    pid = os.getpid() + 100000
    while True:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return pid
        except PermissionError:
            pass
        pid += 1


def test_import_keras_model_into_the_editor(window, tmp_path):
    import keras

    inp = keras.Input((6,), name="x")
    model = keras.Model(inp, keras.layers.Dense(2, name="y")(keras.layers.Dense(4, name="h")(inp)))
    model.save(tmp_path / "m.keras")
    assert window.import_model(tmp_path / "m.keras")
    assert sorted(n.name for n in window.document.graph.nodes) == ["h", "x", "y"]
    assert window.document.analyze_now().total_params == model.count_params()


def test_auto_layout_is_one_undo_step(window, tmp_path):
    open_copy(window, tmp_path, RESNET)
    g = window.document.graph
    for n in g.nodes:
        g.move(n.id, 0.0, 0.0)
    window.auto_layout()
    positions = {tuple(n.pos) for n in g.nodes}
    assert len(positions) == len(g.nodes)
    window.document.undo_stack.undo()
    assert {tuple(n.pos) for n in g.nodes} == {(0.0, 0.0)}


def test_panels_for_some_projects_show_with_those_projects(window):
    """GAN and Autoencoder docks follow the project; every dock is in View > Panels; the
    bottom docks do not force the canvas small (their panels scroll instead)."""
    from PySide6.QtWidgets import QDockWidget

    examples = RESOURCES / "examples"
    assert window.open_path(examples / "mlp_gan_ring.dlsproj")
    assert window.gan_dock.isVisible() and not window.autoencoder_dock.isVisible()
    assert window.open_path(examples / "autoencoder_digits.dlsproj")
    assert window.autoencoder_dock.isVisible() and not window.gan_dock.isVisible()
    assert window.open_path(examples / "digits_cnn.dlsproj")
    assert not window.autoencoder_dock.isVisible() and not window.gan_dock.isVisible()
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    panels = next(a.menu() for a in menu.actions() if a.menu() is not None and a.text() == "&Panels")
    assert {a.text().split(" (")[0] for a in panels.actions()} >= {d.windowTitle().split(" (")[0]
                                                                   for d in window.findChildren(QDockWidget)}
    for dock in (window.evaluation_dock, window.predict_dock, window.gan_dock):
        assert dock.minimumSizeHint().height() < 150, dock.objectName()


def test_ctrl_y_redoes_and_the_theme_menu_marks_the_theme_in_use(window, restore_app_look):
    """Edit > Redo answers Ctrl+Y as well as the platform's keys; View > Theme has the
    theme in use checked, and choosing another moves the check."""
    from PySide6.QtGui import QKeySequence

    redo = next(a for a in window.edit_menu.actions() if a.text().replace("&", "").startswith("Redo"))
    assert QKeySequence("Ctrl+Y") in redo.shortcuts()
    assert all(k in redo.shortcuts() for k in QKeySequence.keyBindings(QKeySequence.StandardKey.Redo))
    window._mark_theme()
    checked = [a.data() for a in window.theme_actions.actions() if a.isChecked()]
    assert len(checked) == 1
    dark = next(a for a in window.theme_actions.actions() if a.data() == "dark")
    dark.trigger()
    window._mark_theme()
    assert [a.data() for a in window.theme_actions.actions() if a.isChecked()] == ["dark"]


def test_no_two_actions_share_a_shortcut(window):
    """A key that two actions claim does nothing in Qt (an ambiguous shortcut)."""
    from PySide6.QtGui import QAction

    seen: dict[str, str] = {}
    for action in window.findChildren(QAction):
        for key in action.shortcuts():
            text = key.toString()
            if not text:
                continue
            assert text not in seen or seen[text] == action.text(), (
                f"{text} is both '{seen.get(text)}' and '{action.text()}'")
            seen[text] = action.text()
    assert seen["Ctrl+G"] == "&Group into Block" and seen["Ctrl+Shift+G"] == "U&ngroup Block"


def test_view_reset_layout_puts_every_panel_back(window, qtbot):
    from PySide6.QtCore import Qt

    window.palette_dock.setFloating(True)
    window.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, window.inspector_dock)
    window.problems_dock.hide()
    assert window.dockWidgetArea(window.inspector_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    view = next(a.menu() for a in window.menuBar().actions() if a.text() == "&View")
    next(a for a in view.actions() if a.text() == "&Reset Layout").trigger()
    assert not window.palette_dock.isFloating()
    assert window.dockWidgetArea(window.inspector_dock) == Qt.DockWidgetArea.RightDockWidgetArea
    assert window.dockWidgetArea(window.palette_dock) == Qt.DockWidgetArea.LeftDockWidgetArea
    assert not window.problems_dock.isHidden()


def test_every_dock_says_whats_this_and_every_toolbar_action_has_a_tooltip(window):
    from PySide6.QtWidgets import QDockWidget

    docks = window.findChildren(QDockWidget)
    assert len(docks) >= 15
    assert all(d.whatsThis().startswith(f"<b>{d.windowTitle().split(' (')[0]}</b>") for d in docks), [
        d.objectName() for d in docks if not d.whatsThis()]
    help_menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Help")
    assert window.act_whats_this in help_menu.actions() and window.act_whats_this.shortcut().toString() == "Shift+F1"
    for action in window.toolbar.actions():
        if not action.isSeparator():
            assert action.toolTip() and action.toolTip() != action.text().replace("&", ""), action.text()
