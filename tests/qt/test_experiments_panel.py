"""The Experiments panel from the user's steps: define a space from the Inspector ("Search over…"
on a parameter: the node gets a badge; undo takes it back), start a short search, see the trials
fill the table, the Pareto front and the best-so-far curve while the window stays responsive,
open a trial's run from its Pareto point, and diff two trials' runs on a canvas."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer

from tests.search.conftest import tiny_document

TIMEOUT = 180_000


@pytest.fixture
def project_without_search(tmp_path):
    doc = tiny_document()
    del doc["search"]
    path = tmp_path / "tiny.dlsproj"
    path.write_text(json.dumps(doc))
    return path


def test_define_search_run_it_open_a_trial_and_diff_two(window, qtbot, project_without_search, monkeypatch):
    from dlstudio.qt.panels.experiments import search_dialog

    window.open_path(project_without_search)
    project = window.document.project
    assert project.search is None
    # the user selects the hidden Dense layer and right-clicks its units: "Search over…"
    window.scene.select_nodes(["n2"])
    qtbot.waitUntil(lambda: window.inspector.node_id == "n2" and window.inspector.form is not None, timeout=30_000)
    menu = window.inspector.field("units").label_menu()
    action = next(a for a in menu.actions() if a.text() == "Search over…")

    def answer(dialog):  # the user types the values and presses OK
        dialog.kind.setCurrentIndex(dialog.kind.findData("choice"))
        dialog.choices.setText("4, 0")
        dialog.accept()
        assert "units" in dialog.error.text() or "0" in dialog.error.text()  # 0 units is refused in the dialog
        dialog.choices.setText("4, 8")
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(search_dialog.SearchOverDialog, "exec", answer)
    action.trigger()
    searched = project.search.param_for("n2", "units")
    assert searched.kind == "choice" and searched.choices == [4, 8] and searched.name == "hidden.units"
    assert project.search.objective.metric == "val_accuracy" and project.search.objective.direction == "maximize"
    assert set(window.search_badges.badges) == {"n2"}
    assert "units: 4, 8" in window.search_badges.badges["n2"].toolTip()
    window.document.undo_stack.undo()
    assert project.search is None and window.search_badges.badges == {}
    window.document.undo_stack.redo()
    assert set(window.search_badges.badges) == {"n2"}
    window.document.save()

    # a grid of the two values: two trials, each a run
    project.search = project.search.model_copy(update={"sampler": "grid", "trials": 2, "pruner": "none"})
    panel = window.experiments_panel
    window.experiments_dock.show()
    window.experiments_dock.raise_()
    assert panel.trials_spin.value() == 2
    ticks = []
    timer = QTimer()
    timer.timeout.connect(lambda: ticks.append(1))
    timer.start(50)
    panel.start_button.click()
    assert panel.is_running() and panel.stop_button.isEnabled() and not panel.start_button.isEnabled()
    qtbot.waitUntil(lambda: not panel.is_running() and panel.table.rowCount() == 2, timeout=TIMEOUT)
    timer.stop()
    assert len(ticks) > 10  # the event loop kept running while the search trained
    assert [panel.table.item(r, 1).text() for r in range(2)] == ["complete", "complete"]
    assert "Done. Best: trial" in panel.status.text()
    headers = [panel.table.horizontalHeaderItem(c).text() for c in range(panel.table.columnCount())]
    assert headers[:4] == ["trial", "state", "val_accuracy", "hidden.units"] and "MACs" in headers
    assert len(panel.pareto_view.points.points()) == 2 and panel.pareto_view.front
    xs, ys = panel.best_view.best_curve()
    assert len(ys) >= 2 and ys[-1] == max(r.value for r in panel.records)
    panel.pareto_view.set_cost("macs")
    assert panel.pareto_view.plot.getAxis("bottom").labelText.startswith("multiply-adds")
    panel.filter.setText("complete")
    assert not panel.table.isRowHidden(0)
    panel.filter.setText("no such trial")
    assert panel.table.isRowHidden(0) and panel.table.isRowHidden(1)
    panel.filter.setText("")

    # a click on a Pareto point opens that trial's run
    spot = panel.pareto_view.points.points()[0]
    panel.pareto_view._clicked(panel.pareto_view.points, [spot])
    run_id = spot.data()
    qtbot.waitUntil(lambda: window.evaluation_panel.runs.combo.run_id() == run_id, timeout=30_000)
    assert window.runs_panel.selected_ids() == [run_id]

    # two trials selected: Diff shows the run graph with the changed layer marked
    panel.select_trials([0, 1])
    assert panel.diff_button.isEnabled()
    panel.diff_button.click()
    dialog = window.diff_dialog
    assert dialog is not None and dialog.isVisible()
    states = {k: state for k, (_rect, state) in dialog.canvas.boxes.items()}
    assert states["n2"] == "changed" and {s for k, s in states.items() if k != "n2"} == {"same"}
    assert "~ hidden (Dense): units" in dialog.text.toPlainText()
    dialog.close()
    # the same from the Runs panel: two runs selected, Diff
    runs = sorted(r.run_id for r in panel.records)
    window.runs_panel.refresh()
    window.runs_panel.select_runs(runs)
    assert window.runs_panel.diff_button.isEnabled()
    window.runs_panel.diff_button.click()
    assert window.diff_dialog is not dialog and window.diff_dialog.diff.a == runs[0]
    window.diff_dialog.close()


def test_the_search_refuses_to_start_with_problems_and_says_why(window, project_without_search):
    window.open_path(project_without_search)
    panel = window.experiments_panel
    assert "No search space yet" in panel.status.text()
    assert not panel.start()
    assert "no search space yet" in panel.status.text()
    from dlstudio.project.search_schema import SearchParam, SearchSettings

    window.document.project.search = SearchSettings(params=[SearchParam(node="n9", param="units", kind="int",
                                                                        low=1, high=4)])
    assert not panel.start() and "the graph has no node 'n9'" in panel.status.text()


def test_structure_and_settings_of_the_search_from_the_panel(window, project_without_search):
    window.open_path(project_without_search)
    project, space = window.document.project, window.experiments_panel.space
    window.scene.select_nodes(["n3"])
    assert space.make_optional()  # the Dropout: switched on or off
    assert [(o.name, o.nodes) for o in project.search.optional] == [("drop", ["n3"])]
    assert set(window.search_badges.badges) == {"n3"}
    window.scene.select_nodes(["n2"])
    space.repeat_min.setValue(1)
    space.repeat_max.setValue(2)
    assert space.make_repeat()
    assert [(r.nodes, r.min, r.max) for r in project.search.repeat] == [(["n2"], 1, 2)]
    window.scene.select_nodes(["n2", "n4"])  # the Dropout lies between: not a chain
    messages = []
    space.message.connect(messages.append)
    assert not space.make_optional() and "is not a chain" in messages[-1]
    space.sampler.setCurrentText("random")
    space.sampler.activated.emit(space.sampler.currentIndex())
    assert project.search.sampler == "random"
    space.direction.setCurrentText("minimize")
    space.direction.activated.emit(space.direction.currentIndex())
    assert project.search.objective.direction == "minimize"
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert project.search.sampler == "tpe" and project.search.objective.direction == "maximize"
    assert space.sampler.currentText() == "tpe"  # the widgets follow undo


def test_search_over_a_training_setting_from_the_settings_dock(window, project_without_search, monkeypatch):
    from dlstudio.qt.panels.experiments import search_dialog

    window.open_path(project_without_search)

    def answer(dialog):
        assert dialog.name_edit.text() == "learning_rate" and dialog.kind.currentData() == "float"
        dialog.low.setText("0.001")
        dialog.high.setText("0.1")
        dialog.log.setChecked(True)
        dialog.accept()
        return dialog.result()

    monkeypatch.setattr(search_dialog.SearchOverDialog, "exec", answer)
    menu = window.training_settings.field("learning_rate").label_menu()
    next(a for a in menu.actions() if a.text() == "Search over…").trigger()
    searched = window.document.project.search.param_for(None, "learning_rate")
    assert (searched.kind, searched.low, searched.high, searched.log) == ("float", 0.001, 0.1, True)
    assert window.search_badges.badges == {}  # a setting, not a node


def test_stop_ends_the_current_trial_and_start_continues(window, qtbot, tmp_path):
    from tests.search.conftest import write_project

    doc = json.loads(write_project(tmp_path, name="long", trials=2, pruner="none").read_text())
    doc["training"]["epochs"] = 200  # long enough to be stopped while it trains
    path = tmp_path / "long.dlsproj"
    path.write_text(json.dumps(doc))
    window.open_path(path)
    panel = window.experiments_panel
    assert panel.start()
    qtbot.waitUntil(lambda: "epoch" in panel.status.text(), timeout=TIMEOUT)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)
    assert panel.status.text().startswith("Stopped.")
    assert [r.state for r in panel.records] == ["stopped"] and not panel.records[0].counted
    assert panel.start_button.isEnabled() and not panel.stop_button.isEnabled()
