"""The data panel: choosing, previewing and applying a dataset (offscreen)."""

from __future__ import annotations

import numpy as np

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from dlstudio.project import DatasetRef, new_project  # noqa: E402
from dlstudio.qt import keras_loader  # noqa: E402

LOAD_TIMEOUT = 30_000


@pytest.fixture(scope="module")
def keras_loaded():
    assert keras_loader.loader().wait(120), keras_loader.loader().error
    return True


def _document(augment: bool = True, dataset: DatasetRef | None = None):
    from dlstudio.qt.document import Document

    project = new_project("data")
    if dataset is not None:
        project.dataset = dataset
    g = project.graph
    g.add_node("Input", {"shape": [28, 28, 1]}, name="image", id="inp")
    last = "inp"
    if augment:
        g.add_node("RandomFlip", {"mode": "horizontal"}, name="flip", id="flip")
        g.add_node("RandomRotation", {"factor": 0.2}, name="rotate", id="rot")
        g.connect("inp", "flip")
        g.connect("flip", "rot")
        last = "rot"
    g.add_node("Flatten", {}, name="flat", id="flat")
    g.add_node("Dense", {"units": 10, "activation": "softmax"}, name="head", id="dense")
    g.connect(last, "flat")
    g.connect("flat", "dense")
    return Document(project)


@pytest.fixture
def make_panel(qtbot, keras_loaded):
    documents = []

    def make(**kwargs):
        from dlstudio.qt.panels.data.data_panel import DataPanel

        doc = _document(**kwargs)
        documents.append(doc)
        panel = DataPanel(doc)
        qtbot.addWidget(panel)
        panel.resize(1200, 420)
        panel.show()
        return panel, doc

    yield make
    for doc in documents:
        doc.undo_stack.setClean()


def wait_loaded(qtbot, panel, name=None):
    qtbot.waitUntil(lambda: not panel.is_loading() and panel.dataset is not None
                    and (name is None or panel.current_name() == name), timeout=LOAD_TIMEOUT)


def test_reflects_the_project_dataset_and_shows_samples(make_panel, qtbot):
    panel, doc = make_panel(dataset=DatasetRef(name="digits", options={"size": 16}))
    assert panel.current_name() == "digits"
    assert panel.option_field("size").value() == 16
    assert panel.option_field("flatten").value() is False
    wait_loaded(qtbot, panel, "digits")  # offline sets load by themselves when shown
    assert panel.view_kind() == "images"
    assert panel.sample_grid.count() > 0
    assert set(panel.sample_grid.captions()) == {str(i) for i in range(10)}
    assert "train" in panel.split_label.text() and "10 classes" in panel.split_label.text()
    assert panel.balance_plot.isVisible()
    assert doc.undo_stack.count() == 0  # looking changes nothing


def test_categories_group_the_combo(make_panel):
    panel, _ = make_panel()
    names = panel.dataset_names()
    assert {"digits", "spirals", "iris"} <= set(names)
    model = panel.combo.model()
    headers = [model.item(i).text() for i in range(model.rowCount()) if not model.item(i).isEnabled()]
    assert "Images" in headers and len(headers) >= 3
    assert model.item(panel._combo_index("digits")).toolTip()


def test_apply_pushes_one_undoable_command(make_panel, qtbot):
    panel, doc = make_panel(dataset=DatasetRef(name="spirals", options={"samples": 200}))
    wait_loaded(qtbot, panel, "spirals")
    assert panel.view_kind() == "points"
    qtbot.wait(100)
    (x0, x1), (y0, y1) = panel.scatter_plot.getViewBox().viewRange()  # the scatter fits its data
    pts = panel.dataset.x_train
    assert x0 <= pts[:, 0].min() and pts[:, 0].max() <= x1 and y0 <= pts[:, 1].min() and pts[:, 1].max() <= y1
    assert (x1 - x0) < 3 * np.ptp(pts[:, 0]) or (y1 - y0) < 3 * np.ptp(pts[:, 1])  # and is not lost in space
    graph = doc.graph
    panel.select_dataset("digits")
    with qtbot.waitSignal(panel.applied, timeout=LOAD_TIMEOUT):
        panel.apply()
    assert doc.undo_stack.count() == 1
    assert doc.project.dataset.name == "digits"
    assert doc.project.dataset.options["size"] == 8
    assert doc.is_modified()
    from dlstudio.data import prepare

    if hasattr(prepare, "apply_input_shape"):
        assert graph.node("inp").params["shape"] == [8, 8, 1]
    doc.undo_stack.undo()
    assert doc.project.dataset.name == "spirals" and doc.project.dataset.options == {"samples": 200}
    assert graph.node("inp").params["shape"] == [28, 28, 1]
    assert panel.current_name() == "spirals"  # the panel follows undo
    assert panel.option_field("samples").value() == 200
    doc.undo_stack.redo()
    assert doc.project.dataset.name == "digits" and panel.current_name() == "digits"
    # applying the same dataset again changes nothing
    wait_loaded(qtbot, panel, "digits")
    panel.apply()
    assert doc.undo_stack.count() == 1


def test_other_edits_leave_the_browsed_dataset_alone(make_panel, qtbot):
    from dlstudio.qt.editor.commands import SetParamCommand

    panel, doc = make_panel()
    wait_loaded(qtbot, panel, "digits")
    panel.select_dataset("iris")
    wait_loaded(qtbot, panel, "iris")
    doc.push(SetParamCommand(doc.graph, "dense", "units", 3))
    assert panel.current_name() == "iris"
    assert panel.view_kind() == "table"
    assert panel.table.rowCount() == min(50, panel.dataset.sizes["train"])


def test_bad_option_shows_an_inline_error(make_panel, qtbot):
    panel, doc = make_panel()
    wait_loaded(qtbot, panel, "digits")
    panel.select_dataset("blobs")
    wait_loaded(qtbot, panel, "blobs")
    panel.set_option("samples", 12)  # fewer than 10 per class: the loader refuses
    with qtbot.waitSignal(panel.failed, timeout=LOAD_TIMEOUT) as blocker:
        panel.apply()
    message = blocker.args[0]
    assert "samples" in message
    assert panel.error_text() and "samples" in panel.error_text()
    assert "Traceback" not in panel.error_text()
    assert panel.option_field("samples").editor.styleSheet()  # the field is outlined
    assert panel.view_kind() == "placeholder"
    assert doc.undo_stack.count() == 0 and doc.project.dataset.name == "digits"
    panel.set_option("samples", 300)
    assert not panel.error_text()
    assert not panel.option_field("samples").editor.styleSheet()


def test_missing_file_shows_an_inline_error(make_panel, qtbot, tmp_path):
    panel, doc = make_panel()
    file_sets = [n for n in ("csv", "text_file", "numpy") if n in panel.dataset_names()]
    if not file_sets:
        pytest.skip("no file datasets registered yet")
    name = file_sets[0]
    panel.select_dataset(name, {"path": str(tmp_path / "missing.file")})
    field = panel.option_field("path")
    assert field.browse is not None  # a path option gets a Browse button
    with qtbot.waitSignal(panel.failed, timeout=LOAD_TIMEOUT):
        panel.apply()
    assert "missing.file" in panel.error_text()
    assert doc.undo_stack.count() == 0


def test_text_and_series_views(make_panel, qtbot):
    panel, _ = make_panel()
    panel.select_dataset("hello")
    wait_loaded(qtbot, panel, "hello")
    assert panel.view_kind() == "text"
    assert "\u2192" in panel.text_view.toPlainText()
    if "sine_series" in panel.dataset_names():
        panel.select_dataset("sine_series")
        wait_loaded(qtbot, panel, "sine_series")
        assert panel.view_kind() == "series"


def test_augmentation_preview(make_panel, qtbot):
    panel, _ = make_panel(augment=True)
    wait_loaded(qtbot, panel, "digits")
    assert panel.augment_button.isEnabled()
    assert "flip" in panel.aug_info.text() and "rotate" in panel.aug_info.text()
    panel.sample_grid.set_current(2)
    panel.augment_button.click()
    qtbot.waitUntil(lambda: panel.augment_grid.count() == 16, timeout=LOAD_TIMEOUT)
    assert panel.augment_grid.isVisible()
    # not for points, and not without augmentation layers
    panel.select_dataset("spirals")
    wait_loaded(qtbot, panel, "spirals")
    assert not panel.augment_button.isEnabled() and panel.augment_grid.count() == 0


def test_no_augmentation_layers(make_panel, qtbot):
    panel, _ = make_panel(augment=False)
    wait_loaded(qtbot, panel, "digits")
    assert not panel.augment_button.isEnabled()
    assert "Add augmentation layers" in panel.aug_info.text()


def test_main_window_has_a_data_tab_beside_problems(qtbot, tmp_path, monkeypatch, keras_loaded):
    from PySide6.QtWidgets import QTabBar

    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    from dlstudio.qt.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.loading.isVisible(), timeout=LOAD_TIMEOUT)
    assert w.data_dock in w.tabifiedDockWidgets(w.problems_dock)
    assert w.data_panel.document is w.document
    w.new_project()
    assert w.data_panel.document is w.document
    qtbot.wait(50)
    # one visible tab bar per tab group (no stale copy over another panel)
    visible = [tuple(b.tabText(i) for i in range(b.count())) for b in w.findChildren(QTabBar) if b.isVisible()]
    assert len(visible) == len(set(visible))
    w.document.undo_stack.setClean()
