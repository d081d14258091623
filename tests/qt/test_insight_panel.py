"""The insight panel and the convolution playground (offscreen)."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from dlstudio import RESOURCES  # noqa: E402
from dlstudio.project import load_project  # noqa: E402
from dlstudio.qt import keras_loader  # noqa: E402

TIMEOUT = 90_000
DIGITS = RESOURCES / "examples" / "digits_cnn.dlsproj"


@pytest.fixture(scope="module")
def keras_loaded():
    assert keras_loader.loader().wait(120), keras_loader.loader().error
    return True


def _digits_project(path=None):
    project = load_project(DIGITS)
    project.path = path  # an untitled copy unless saved somewhere
    return project


@pytest.fixture
def make_panel(qtbot, keras_loaded):
    documents = []

    def make(project=None, height: int = 700, show: bool = True):
        from dlstudio.qt.document import Document
        from dlstudio.qt.panels.insight.insight_panel import InsightPanel

        doc = Document(project or _digits_project())
        documents.append(doc)
        panel = InsightPanel(doc)
        qtbot.addWidget(panel)
        panel.resize(420, height)
        if show:
            with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
                panel.show()
        return panel, doc

    yield make
    for doc in documents:
        doc.deleteLater()


def test_panel_shows_maps_filters_and_saliency_of_the_untrained_digits_cnn(make_panel, qtbot):
    panel, _doc = make_panel()
    assert panel.model_combo.currentData() is None  # no runs: the untrained graph
    maps = panel.maps
    assert maps.layer_names() == ["conv1", "pool1", "conv2", "pool2", "fc1", "digit"]  # no Flatten bars
    assert maps.grid("conv1").count() == 16 and maps.grid("conv2").count() == 32
    assert maps.header("conv1").detail_label.text().startswith("8\u00d78\u00d716")
    assert maps.grid("fc1") is None  # Dense: bars
    assert panel.insight.maps["conv1"].shape == (8, 8, 16)
    assert panel.weights.filters_grid.count() == 16
    assert panel.weights.layer_combo.count() == 4  # conv1, conv2, fc1, digit
    e = panel.insight.explanation
    assert e is not None and e.layer == "conv2" and e.cam.shape == (4, 4) and e.saliency.shape == (8, 8)
    assert not panel.saliency.images[2].pixmap().isNull()
    assert "test #0" in panel.status.text()
    # a tile click enlarges that map
    maps.grid("conv1").set_current(2)
    assert maps.enlarged == ("conv1", 2) and not maps.enlarged_label.pixmap().isNull()
    assert "map 3 of 16" in maps.enlarged_caption.text()


def test_next_sample_and_the_cache(make_panel, qtbot):
    panel, _doc = make_panel()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.next_button.click()
    assert panel.index.value() == 1 and "test #1" in panel.status.text()
    assert panel.index.maximum() == 359  # digits: 360 test samples
    with qtbot.waitSignal(panel.computed, timeout=1000):
        panel.set_sample(0)  # cached: shown at once
    assert not panel.is_busy() and "test #0" in panel.status.text()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.split_combo.setCurrentText("train")
    assert "train #0" in panel.status.text()


def test_show_layer_scrolls_marks_and_targets_the_playground(make_panel, qtbot):
    panel, _doc = make_panel(height=420)
    bar = panel.maps_scroll.verticalScrollBar()
    assert bar.value() == 0
    assert panel.show_layer("pool2")
    qtbot.wait(50)
    head = panel.maps.header("pool2")
    assert panel.selected_layer() == "pool2" and head.title_label.text().endswith("pool2")
    assert bar.value() > 0
    top = head.mapTo(panel.maps, head.rect().topLeft()).y() - bar.value()
    assert 0 <= top <= 12  # its header is at the top of the view
    assert panel.weights.layer_combo.currentText() != "pool2"  # pooling has no weights
    assert panel.show_layer("conv2")
    assert panel.weights.layer_combo.currentText() == "conv2"
    assert panel.playground.use_button.isEnabled()
    panel.show_layer("pool1")
    assert not panel.playground.use_button.isEnabled()
    assert not panel.show_layer("flatten")  # no maps or bars for it


def test_show_layer_before_the_maps_exist_scrolls_when_they_arrive(make_panel, qtbot):
    panel, _doc = make_panel(height=420, show=False)
    panel.show_layer("pool2")
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.show()
    qtbot.waitUntil(lambda: panel.maps_scroll.verticalScrollBar().value() > 0, timeout=2000)
    assert panel.selected_layer() == "pool2"


def test_image_file_input(make_panel, qtbot, tmp_path):
    from PIL import Image

    img = np.zeros((32, 32), np.uint8)
    img[:, 12:20] = 255
    path = tmp_path / "bar.png"
    Image.fromarray(img).save(path)
    panel, _doc = make_panel()
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.set_input_file(path)
    assert "bar.png" in panel.status.text()
    assert panel.sample.shape == (8, 8, 1)  # resized to the Input


def test_a_trained_run_is_offered_and_shown(make_panel, qtbot, tmp_path):
    from dlstudio.compile import build_model
    from dlstudio.project import save_project
    from dlstudio.runs import create_run, runs_dir

    project = _digits_project()
    save_project(project, tmp_path / "digits.dlsproj")
    model = build_model(project.graph)
    run = create_run(runs_dir(project.path), {"graph": project.graph.to_dict(), "dataset": "digits",
                                              "status": "finished", "settings": {"seed": 0},
                                              "metrics": {"test_accuracy": 0.5}})
    model.save_weights(run.weights_path)
    panel, _doc = make_panel(project)
    assert panel.run_ids() == [run.id]
    assert panel.model_combo.run_id() == run.id  # the newest run by default ("Latest run")
    assert "accuracy 50.0%" in panel.model_combo.currentText()
    w = np.asarray(model.get_layer("conv1").kernel)
    shown = panel.insight.filters
    assert np.allclose(shown[0][..., 0], w[..., 0, 0] / (2 * np.abs(w[..., 0]).max()) + 0.5, atol=1e-5)
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.set_model(None)
    assert panel.status.text().startswith("Untrained")


def test_a_graph_that_does_not_fit_the_dataset_says_so(make_panel, qtbot):
    project = _digits_project()
    project.graph.set_param("n1", "shape", [28, 28, 1])
    panel, _doc = make_panel(project, show=False)
    with qtbot.waitSignal(panel.failed, timeout=TIMEOUT) as sig:
        panel.show()
    assert "takes samples of shape (28, 28, 1)" in sig.args[0]
    assert "takes samples" in panel.status.text()


def test_playground_sobel_on_the_lecture_image(qtbot):
    from dlstudio.qt.panels.insight.conv_playground import ConvPlayground

    pg = ConvPlayground()
    qtbot.addWidget(pg)
    pg.show()
    assert pg.kernel().tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]  # the default: Sobel vertical
    assert pg.pixel_grid.texts()[0] == ["5", "5", "5", "0", "0", "0"]
    assert pg.result_texts() == [["0", "20", "20", "0"]] * 4
    pg.apply_preset("blur")
    assert pg.result_texts()[0] == ["45", "30", "15", "0"]
    pg.normalized.setChecked(True)
    assert pg.result_texts()[0] == ["5", "3.33", "1.67", "0"]
    pg.padding.setCurrentText("same")
    assert len(pg.result_texts()) == 6
    pg.padding.setCurrentText("valid")
    pg.stride.setValue(2)
    assert len(pg.result_texts()) == 2
    pg.stride.setValue(1)
    pg.apply_preset("sobel_vertical")
    # edit one kernel cell: no longer a preset
    pg.kernel_grid.item(1, 0).setText("3")
    assert pg.kernel()[1, 0] == 3 and not any(b.isChecked() for b in pg.preset_buttons.values())
    assert pg.result_texts()[0] == ["5", "25", "25", "0"]  # no longer balanced: flat areas respond
    pg.kernel_grid.item(1, 0).setText("oops")  # not a number: the old value stays
    assert pg.kernel()[1, 0] == 3
    # 5x5 keeps the 3x3 kernel in the middle
    pg.apply_preset("sobel_vertical")
    pg.size_combo.setCurrentIndex(1)
    assert pg.kernel().shape == (5, 5) and pg.result_texts() == [["20", "20"]] * 2
    # a large input is shown as a picture
    pg.set_sample(np.random.default_rng(0).random((20, 20, 1)))
    pg.source.setCurrentIndex(1)
    assert pg.result_texts() == [] and not pg.result_image.pixmap().isNull()
    pg.reset_image()
    assert pg.source.currentIndex() == 0


def test_use_in_conv2d_is_one_undoable_step(keras_loaded, qtbot):
    from dlstudio.insight.convolution import kernel_of
    from dlstudio.qt.document import Document
    from dlstudio.qt.panels.insight.conv_playground import ConvPlayground

    doc = Document(_digits_project())
    pg = ConvPlayground(doc)
    qtbot.addWidget(pg)
    assert not pg.use_button.isEnabled()
    pg.set_target_node("n4")  # pool1
    assert not pg.use_button.isEnabled() and "select a Conv2D" in pg.target_label.text()
    pg.set_target_node("n2")  # conv1
    pg.apply_preset("edge_detect")
    assert not pg.use_in_conv2d()  # the confirmation answered Cancel (conftest)
    before = dict(doc.graph.node("n2").params)
    assert pg.use_in_conv2d(confirm=False)
    params = doc.graph.node("n2").params
    assert kernel_of(params).tolist() == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert params["filters"] == 1 and params["use_bias"] is False
    assert doc.undo_stack.count() == 1 and "edge detect" in doc.undo_stack.undoText()
    doc.analyze_now()
    assert not doc.analysis.errors  # the rest of the network follows the new shape
    doc.undo_stack.undo()
    assert doc.graph.node("n2").params == before
    doc.undo_stack.redo()
    assert kernel_of(doc.graph.node("n2").params) is not None
    doc.deleteLater()


def test_main_window_has_an_insight_dock_that_follows_the_canvas(qtbot, tmp_path, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    assert keras_loader.loader().wait(120), keras_loader.loader().error
    from dlstudio.qt.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.loading.isVisible())
    path = tmp_path / "digits.dlsproj"
    path.write_text(DIGITS.read_text())
    assert w.open_path(path)
    panel = w.insight_panel
    assert w.insight_dock.widget() is panel and panel.document is w.document
    assert w.insight_dock in w.tabifiedDockWidgets(w.inspector_dock)
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        w.insight_dock.raise_()
    w.scene.select_nodes([w.document.graph.node_by_name("conv2").id])
    assert panel.selected_layer() == "conv2" and panel.playground.use_button.isEnabled()
    qtbot.waitUntil(lambda: not w.insight_dock.visibleRegion().isEmpty())  # still in front
    w.document.undo_stack.setClean()
