"""Model <-> data problems in the window, with one-click fixes (issue 14, defect 1).

Written from the user's steps: File > New, drag an Input and set its shape to 2,
connect a Dense: the Problems panel must say the Input does not fit digits and
offer the fix; Two spirals with a last Dense of 5 units: the problem sits on
that Dense and its fix sets 2 units. Every fix is one undo step.
"""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt  # noqa: E402
from PySide6.QtWidgets import QPushButton  # noqa: E402

from dlstudio import RESOURCES  # noqa: E402
from canvas_actions import right_click  # noqa: E402
from dlstudio.qt.editor.commands import SetParamCommand  # noqa: E402

EXAMPLES = RESOURCES / "examples"




def new_project_with_data(window, qtbot):
    """File > New; the project's dataset (digits) is known without opening the Data panel."""
    window.new_project()
    qtbot.waitUntil(lambda: window.document.data_description() is not None, timeout=30000)
    return window.document


def settle(window, qtbot):
    """Run the debounced shape pass now (the panels follow its result)."""
    window.document.analyze_now()


def panel_problem(window, qtbot, text):
    """The problem shown in the Problems panel whose message contains ``text``."""
    panel = window.problems
    qtbot.waitUntil(lambda: any(text in p.message for p in panel.problems()), timeout=10000)
    return next(p for p in panel.problems() if text in p.message)


def show_problems(window, qtbot):
    window.problems_dock.show()
    window.problems_dock.raise_()
    qtbot.waitUntil(lambda: window.problems.list.isVisible())


def test_a_new_project_starts_consistent_with_its_dataset(window, qtbot):
    doc = new_project_with_data(window, qtbot)
    assert doc.project.dataset.name == "digits"
    inp = window.view.add_layer("Input")
    assert doc.graph.node(inp).params["shape"] == [8, 8, 1]  # not the catalog's 28x28x1
    window.view.add_layer("Flatten", connect_from=inp)
    settle(window, qtbot)
    assert not any("digits gives" in p.message for p in window.problems.problems())


def test_input_shape_2_on_digits_is_shown_and_fixed_in_one_undoable_click(window, qtbot):
    doc = new_project_with_data(window, qtbot)
    show_problems(window, qtbot)
    inp = window.view.add_layer("Input")
    doc.push(SetParamCommand(doc.graph, inp, "shape", [2]))  # what the inspector does
    window.view.add_layer("Dense", connect_from=inp)
    problem = panel_problem(window, qtbot, "has shape (batch, 2) but digits gives (batch, 8, 8, 1)")
    assert problem.node_ids == (inp,) and problem.fix.label == "Set shape to (8, 8, 1)"
    assert window.problems.placeholder_text() == ""  # not "No problems"
    assert problem in doc.graph.annotations[inp].problems  # on the node too (its error badge)

    rect = window.problems.fix_button_rect(problem)
    assert not rect.isEmpty()
    qtbot.mouseClick(window.problems.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert doc.graph.node(inp).params["shape"] == [8, 8, 1]
    assert doc.undo_stack.undoText() == "Fix: Set shape to (8, 8, 1)"
    settle(window, qtbot)
    assert not any("digits gives" in p.message for p in window.problems.problems())
    # the next problem: a Dense on images; its fix inserts Flatten
    flatten = panel_problem(window, qtbot, "expects (batch, features)")
    assert window.problems.apply_fix(flatten)
    assert any(n.type == "Flatten" for n in doc.graph.nodes)

    doc.undo_stack.undo()  # the Flatten goes in one step
    assert not any(n.type == "Flatten" for n in doc.graph.nodes)
    doc.undo_stack.undo()
    assert doc.graph.node(inp).params["shape"] == [2]
    panel_problem(window, qtbot, "has shape (batch, 2) but digits gives")


def test_spirals_with_a_last_dense_of_5_units_is_fixed_from_the_node(window, qtbot):
    doc = new_project_with_data(window, qtbot)
    window.data_panel.select_dataset("spirals")
    window.data_panel.apply()
    qtbot.waitUntil(lambda: doc.project.dataset.name == "spirals", timeout=30000)
    qtbot.waitUntil(lambda: doc.data_description() is not None and doc.data_description().name == "spirals")
    inp = window.view.add_layer("Input")
    assert doc.graph.node(inp).params["shape"] == [2]
    hidden = window.view.add_layer("Dense", connect_from=inp)
    last = window.view.add_layer("Dense", connect_from=hidden)
    doc.push(SetParamCommand(doc.graph, last, "units", 5))
    problem = panel_problem(window, qtbot, "gives 5 values per sample, but spirals has 2 classes")
    assert problem.node_ids == (last,)
    assert not any(p.node_ids == (hidden,) for p in window.problems.problems())

    window.view.centerOn(window.scene.node_items[last])
    menu = right_click(window.view, window.scene.node_items[last].sceneBoundingRect().center())
    [fix] = [a for a in menu.actions() if a.text().startswith("Fix:")]  # the node's context menu
    assert fix.text() == "Fix: Set units to 2"
    fix.trigger()
    assert doc.graph.node(last).params["units"] == 2
    settle(window, qtbot)
    assert window.problems.problems() == [] and window.problems.placeholder_text() == "No problems"
    doc.undo_stack.undo()
    assert doc.graph.node(last).params["units"] == 5
    panel_problem(window, qtbot, "gives 5 values per sample")

    # the error badge offers the same fix
    settle(window, qtbot)
    item = window.scene.node_items[last]
    window.view.centerOn(item)
    badge = window.view.mapFromScene(item.mapToScene(item.badge_rect().center()))
    qtbot.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(badge.x(), badge.y()))
    menu = window.scene.menu
    assert menu is not None and [a.text() for a in menu.actions()] == ["Fix: Set units to 2"]
    menu.actions()[0].trigger()
    menu.close()
    assert doc.graph.node(last).params["units"] == 2 and doc.undo_stack.undoText() == "Fix: Set units to 2"


def test_changing_the_dataset_adapts_the_input_and_offers_the_output_fix(window, qtbot, tmp_path):
    path = tmp_path / "digits_cnn.dlsproj"
    path.write_text((EXAMPLES / "digits_cnn.dlsproj").read_text())
    assert window.open_path(path)
    doc = window.document
    qtbot.waitUntil(lambda: doc.data_description() is not None, timeout=30000)
    settle(window, qtbot)
    assert doc.analysis.ok
    window.data_panel.select_dataset("shapes", {"samples": 300, "size": 28})
    window.data_panel.apply()
    qtbot.waitUntil(lambda: doc.project.dataset.name == "shapes", timeout=30000)
    inp = next(n for n in doc.graph.nodes if n.type == "Input")
    assert inp.params["shape"] == [28, 28, 1]  # the Input follows in the same undo step
    problem = panel_problem(window, qtbot, "but shapes has 3 classes")
    assert problem.fix.label == "Set units to 3"
    doc.undo_stack.undo()  # one step back: digits and its Input again
    assert doc.project.dataset.name == "digits" and inp.params["shape"] == [8, 8, 1]
    qtbot.waitUntil(lambda: doc.data_description() is not None and doc.data_description().name == "digits",
                    timeout=30000)
    settle(window, qtbot)
    assert doc.analysis.ok


def test_a_gan_generator_takes_noise_not_the_dataset(window, qtbot):
    window.open_example(EXAMPLES / "dcgan_digits.dlsproj")
    doc = window.document
    qtbot.waitUntil(lambda: doc.project_data.dataset is not None, timeout=30000)
    settle(window, qtbot)
    assert doc.analysis.ok, [str(p) for p in doc.analysis.problems]


def test_the_fix_button_is_drawn_in_the_problems_panel(window, qtbot, tmp_path):
    """A screenshot to look at (saved under tmp_path), and the button's place in the row."""
    doc = new_project_with_data(window, qtbot)
    show_problems(window, qtbot)
    inp = window.view.add_layer("Input")
    doc.push(SetParamCommand(doc.graph, inp, "shape", [2]))
    window.view.add_layer("Dense", connect_from=inp)
    problem = panel_problem(window, qtbot, "digits gives")
    rect = window.problems.fix_button_rect(problem)
    item_rect = window.problems.list.visualItemRect(window.problems.item_for(problem))
    assert item_rect.contains(rect) and rect.height() > 10
    window.grab().save(str(tmp_path / "problems.png"))


def test_a_loss_that_does_not_fit_the_labels_is_fixed_in_the_settings_as_one_step(window, qtbot):
    from dlstudio.qt.editor.settings_commands import SetTrainingSettingsCommand

    doc = new_project_with_data(window, qtbot)
    inp = window.view.add_layer("Input")
    flat = window.view.add_layer("Flatten", connect_from=inp)
    out = window.view.add_layer("Dense", connect_from=flat)
    doc.push(SetParamCommand(doc.graph, out, "units", 10))
    settle(window, qtbot)
    assert doc.analysis.ok
    doc.push(SetTrainingSettingsCommand(doc, {"loss": "binary_crossentropy"}))
    problem = panel_problem(window, qtbot, "binary_crossentropy is for two classes, but digits has 10")
    assert problem.node_ids == (out,)
    assert window.problems.apply_fix(problem)
    assert doc.project.training.loss == "auto" and doc.undo_stack.undoText().startswith("Fix: Set the loss to auto")
    settle(window, qtbot)
    assert doc.analysis.ok
    doc.undo_stack.undo()
    assert doc.project.training.loss == "binary_crossentropy"
    panel_problem(window, qtbot, "binary_crossentropy is for two classes")


def test_the_inspector_offers_the_fix_of_the_selected_layer(window, qtbot):
    """A Dense of 7 units right after the digits Input: the Inspector shows its problem with the
    same one-click fix as the Problems panel (insert Flatten); once that is applied, the next
    problem (7 values for 10 classes) offers its fix there too. Each click is one undo step."""
    doc = new_project_with_data(window, qtbot)
    inp = window.view.add_layer("Input")
    dense = window.view.add_layer("Dense", connect_from=inp)
    doc.push(SetParamCommand(doc.graph, dense, "units", 7))
    settle(window, qtbot)
    window.inspector_dock.show()
    window.inspector_dock.raise_()
    window.scene.select_nodes([dense])

    def buttons():
        return {b.text(): b for b in window.inspector.findChildren(QPushButton, "inspector_fix") if not b.isHidden()}

    qtbot.waitUntil(lambda: list(buttons()) == ["Fix: Insert Flatten before 'dense_1'"], timeout=10000)
    qtbot.mouseClick(buttons()["Fix: Insert Flatten before 'dense_1'"], Qt.MouseButton.LeftButton)
    assert [n.type for n in doc.graph.nodes].count("Flatten") == 1
    settle(window, qtbot)
    window.scene.select_nodes([dense])
    qtbot.waitUntil(lambda: list(buttons()) == ["Fix: Set units to 10"], timeout=10000)
    qtbot.mouseClick(buttons()["Fix: Set units to 10"], Qt.MouseButton.LeftButton)
    assert doc.graph.node(dense).params["units"] == 10 and doc.undo_stack.undoText() == "Fix: Set units to 10"
    settle(window, qtbot)
    assert doc.analysis.ok
