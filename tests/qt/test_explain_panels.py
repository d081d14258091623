"""Seeing why, in the app (offscreen), from the user's steps on a trained digits CNN:
the Insight dock's Attribution tab (method, class, baseline, steps; "Check this method"),
the Evaluation dock's Curves tab (ROC / PR areas, reliability and ECE), and the
embedding projector (hover shows the sample, a click opens it in Predict, a lasso
selects a group)."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPointF, Qt  # noqa: E402

from dlstudio import RESOURCES  # noqa: E402
from dlstudio.qt.keras_loader import loader  # noqa: E402

TIMEOUT = 90_000


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A saved digits CNN project with one run trained 6 epochs (about 96%)."""
    from dlstudio.cli import run_cli
    from dlstudio.project import load_project

    assert loader().wait(120), loader().error
    path = tmp_path_factory.mktemp("explain_qt") / "digits.dlsproj"
    shutil.copy(RESOURCES / "examples" / "digits_cnn.dlsproj", path)
    assert run_cli(["train", str(path), "--epochs", "6", "--batch-size", "32"]) == 0
    return path, load_project(path)


@pytest.fixture
def document(trained):
    from dlstudio.qt.document import Document

    doc = Document(trained[1])
    yield doc
    doc.deleteLater()


def test_attribution_tab_methods_classes_and_the_check(qtbot, document):
    from dlstudio.qt.panels.insight.insight_panel import InsightPanel

    panel = InsightPanel(document)
    qtbot.addWidget(panel)
    panel.resize(460, 760)
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.show()
    assert panel.model_combo.currentData() is not None  # the trained run
    view = panel.attribution
    # the user opens the Attribution tab: Integrated Gradients of the predicted class
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT) as got:
        panel.tabs.setCurrentWidget(panel.attribution_scroll)
    a = got.args[0]
    assert a.method == "ig" and a.completeness_error < 0.02 and a.heat.shape == (8, 8)
    assert "Completeness" in view.note.text() and not view.picture.pixmap().isNull()
    assert view.steps.isVisible() and not view.samples.isVisible()
    # more steps, then SmoothGrad, then occlusion of the true class
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT) as got:
        view.steps.setValue(128)
    assert got.args[0].options["steps"] == 128
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT) as got:
        view.set_method("smoothgrad")
    assert got.args[0].method == "smoothgrad" and view.samples.isVisible() and not view.steps.isVisible()
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT) as got:
        view.set_method("occlusion")
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT) as got:
        view.set_class("true")
    assert int(got.args[0].classes) == int(panel.dataset.y_test[0])
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT) as got:
        view.set_class(3)
    assert int(got.args[0].classes) == 3
    # "Check this method" on saliency: the correlations fall as the layers are randomised
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT):
        view.set_method("saliency")
    with qtbot.waitSignal(view.checked, timeout=TIMEOUT) as got:
        view.check_button.click()
    check = got.args[0]
    assert check.layers[1:] == ["digit", "fc1", "conv2", "conv1"] and check.samples == 8
    assert "conv1" in view.check_text.text() and ("passes" in view.check_text.text()
                                                   or "FAILS" in view.check_text.text())
    qtbot.wait(100)  # the check's table laid out
    panel.grab().save(str(RESOURCES.parent / "tests" / "artifacts" / "attribution_tab.png"))


def test_evaluation_curves_tab(qtbot, document):
    from dlstudio.qt.panels.evaluation.evaluation_panel import EvaluationPanel

    panel = EvaluationPanel(None)
    qtbot.addWidget(panel)
    panel.resize(1100, 460)
    panel.show()
    panel.set_document(document)
    qtbot.waitUntil(lambda: panel.evaluation is not None and not panel.is_busy(), timeout=TIMEOUT)
    view = panel.curves_view
    assert view is not None and panel.right_tabs.indexOf(view) >= 0
    panel.right_tabs.setCurrentWidget(view)
    curves = view.curves
    assert len(curves.classes) == 10 and curves.macro_roc_auc > 0.9 and 0 <= curves.ece < 0.3
    assert "ROC AUC" in view.summary.text() and "calibration error" in view.summary.text()
    view.choose_class(3)
    assert "<b>3</b>" in view.summary.text() and "chance" in view.summary.text()
    panel.grab().save(str(RESOURCES.parent / "tests" / "artifacts" / "evaluation_curves.png"))


def _widget_pos(panel, xy):
    """Where plane point ``xy`` is on the plot's viewport (widget pixels)."""
    scene = panel.viewbox.mapViewToScene(QPointF(float(xy[0]), float(xy[1])))
    return panel.plot.mapFromScene(scene)  # a QPoint


def _drag(widget, points):
    """A left-button drag through ``points`` (widget pixels), as a hand makes it."""
    from PySide6.QtCore import QEvent
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtTest import QTest
    from PySide6.QtWidgets import QApplication

    def send(kind, pos, button, buttons):
        p = QPointF(pos.x(), pos.y())
        event = QMouseEvent(kind, p, widget.mapToGlobal(p), button, buttons, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)

    left = Qt.MouseButton.LeftButton
    send(QEvent.Type.MouseButtonPress, points[0], left, left)
    for pos in points[1:]:
        QTest.qWait(25)  # pyqtgraph drops mouse moves that come faster than a screen refreshes
        send(QEvent.Type.MouseMove, pos, Qt.MouseButton.NoButton, left)
    send(QEvent.Type.MouseButtonRelease, points[-1], left, Qt.MouseButton.NoButton)


def test_projector_hover_click_to_predict_and_lasso(qtbot, document):
    from types import SimpleNamespace

    from dlstudio.qt.panels.evaluation.predict_panel import PredictPanel
    from dlstudio.qt.panels.projector.projector_panel import ProjectorPanel, open_in_predict

    panel = ProjectorPanel(None)
    qtbot.addWidget(panel)
    panel.resize(1000, 480)
    panel.show()
    with qtbot.waitSignal(panel.projected, timeout=TIMEOUT) as got:
        panel.set_document(document)
    p = got.args[0]
    assert p.layer == "fc1" and len(p.points) == 360 and p.method == "pca"
    assert p.knn_accuracy > 0.4 and "misclassified (ringed)" in panel.status.text()  # chance: 0.1
    assert panel.layer_combo.findData("conv2") >= 0
    qtbot.wait(50)
    # hover: the sample under the pointer shows beside the plot
    k = int(np.argmax(p.points[:, 0]))  # the right-most point: nothing on top of it
    with qtbot.waitSignal(panel.hovered, timeout=5000) as hovered:
        qtbot.mouseMove(panel.plot.viewport(), _widget_pos(panel, p.points[k]))
    assert hovered.args[0] == int(p.indices[k]) and not panel.hover_image.pixmap().isNull()
    assert f"test #{p.indices[k]}" in panel.hover_text.text()
    # click: it opens in Predict
    predict = PredictPanel(None)
    qtbot.addWidget(predict)
    predict.show()
    predict.set_document(document)
    window = SimpleNamespace(predict_panel=predict, predict_dock=SimpleNamespace(raise_=lambda: None))
    panel.open_sample.connect(lambda r, s, i: open_in_predict(window, r, s, i))
    with qtbot.waitSignal(panel.open_sample, timeout=5000) as opened:
        qtbot.mouseClick(panel.plot.viewport(), Qt.MouseButton.LeftButton,
                         pos=_widget_pos(panel, p.points[k]))
    assert opened.args[1:] == ["test", int(p.indices[k])]
    assert predict.index.value() == int(p.indices[k])
    # lasso: a loop around the right half selects exactly the points inside it
    panel.lasso_button.setChecked(True)
    lo, hi = p.points.min(axis=0), p.points.max(axis=0)
    mid = (lo + hi) / 2
    pad = 0.01 * (hi - lo)
    corners = np.array([(mid[0], lo[1] - pad[1]), (hi[0] + pad[0], lo[1] - pad[1]), (hi[0] + pad[0], hi[1] + pad[1]),
                        (mid[0], hi[1] + pad[1]), (mid[0], lo[1] - pad[1])])
    loop = [a + (b - a) * t for a, b in zip(corners[:-1], corners[1:]) for t in np.linspace(0, 1, 8)]
    with qtbot.waitSignal(panel.selection_changed, timeout=5000) as chosen:
        _drag(panel.plot.viewport(), [_widget_pos(panel, xy) for xy in loop])
    picked = set(np.asarray(chosen.args[0]).tolist())
    right = set(p.indices[p.points[:, 0] > mid[0] + 0.02 * (hi[0] - lo[0])].tolist())
    assert right and right <= picked and len(picked) < len(p.points)
    assert "selected" in panel.selection_text.text() and panel.grid.count() == min(48, len(picked))
    panel.grab().save(str(RESOURCES.parent / "tests" / "artifacts" / "projector.png"))
    # t-SNE computes in the background too
    with qtbot.waitSignal(panel.projected, timeout=TIMEOUT) as got:
        panel.set_method("tsne")
    assert got.args[0].method == "tsne"


def test_a_misclassified_sample_from_the_confusion_matrix_is_explained(window, trained, qtbot):
    """In the main window: Evaluation shows the most frequent mistake's samples; a click on one
    opens it in Insight's Attribution tab with the same run (and the Projector dock is there)."""
    path, _ = trained
    assert window.open_path(path)
    window.evaluation_dock.raise_()
    panel = window.evaluation_panel
    qtbot.waitUntil(lambda: panel.evaluation is not None and not panel.is_busy(), timeout=TIMEOUT)
    grid = panel.samples.grid
    qtbot.waitUntil(lambda: grid.count() > 0, timeout=5000)
    index = int(panel.samples.indices[0])
    ev = panel.evaluation
    assert ev.predicted[index] != ev.y_true[index]  # the worst cell is a mistake
    view = window.insight_panel.attribution
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT) as got:
        qtbot.mouseClick(grid, Qt.MouseButton.LeftButton, pos=grid.tile_rect(0).center())
    assert window.insight_panel.index.value() == index
    assert window.insight_panel.tabs.currentWidget() is window.insight_panel.attribution_scroll
    assert int(got.args[0].classes) == int(ev.predicted[index])  # why it chose the wrong class
    assert not window.projector_dock.isHidden()  # a classifier's docks include the projector
    assert window.open_path(RESOURCES / "examples" / "mlp_gan_ring.dlsproj")
    assert window.projector_dock.isHidden()  # a GAN has no layer to project


@pytest.mark.slow  # about 20 s: IG's path through an LSTM is traced on first use
def test_attribution_tab_explains_a_text_per_token(qtbot):
    """A text classifier (the BiLSTM example, untrained graph): one bar per token."""
    from dlstudio.project import load_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.panels.insight.insight_panel import InsightPanel

    assert loader().wait(120), loader().error
    project = load_project(RESOURCES / "examples" / "bilstm_classifier.dlsproj")
    project.dataset.options = {**project.dataset.options, "samples": 600}
    project.path = None
    doc = Document(project)
    panel = InsightPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(460, 760)
    with qtbot.waitSignal(panel.computed, timeout=TIMEOUT):
        panel.show()
    view = panel.attribution
    with qtbot.waitSignal(view.computed, timeout=TIMEOUT) as got:
        panel.tabs.setCurrentWidget(panel.attribution_scroll)
    a = got.args[0]
    assert a.unit == "token" and a.heat.shape == (24,) and a.completeness_error < 0.02
    assert not view.picture.pixmap().isNull() and not view.patch.isVisible()
    qtbot.wait(100)  # laid out
    panel.grab().save(str(RESOURCES.parent / "tests" / "artifacts" / "attribution_text.png"))
    doc.deleteLater()


@pytest.mark.slow  # trains the autoencoder example briefly and opens it in the main window
def test_an_autoencoders_codes_open_in_the_projector(window, qtbot, tmp_path):
    from dlstudio.cli import run_cli

    path = tmp_path / "autoencoder.dlsproj"
    shutil.copy(RESOURCES / "examples" / "autoencoder_digits.dlsproj", path)
    assert run_cli(["train", str(path), "--epochs", "2"]) == 0
    assert window.open_path(path)
    assert not window.projector_dock.isHidden()
    projector = window.projector_panel
    window.projector_dock.raise_()  # it shows the newest run's code layer; the user picks another layer
    qtbot.waitUntil(lambda: projector.projection is not None, timeout=TIMEOUT)
    other = projector.layer_combo.itemData(projector.layer_combo.count() - 1)
    projector.set_layer(other)
    qtbot.waitUntil(lambda: projector.projection.layer == other, timeout=TIMEOUT)
    window.autoencoder_dock.raise_()
    auto = window.autoencoder_panel
    qtbot.waitUntil(lambda: auto.view is not None and auto.projector_button.isVisible(), timeout=TIMEOUT)
    auto.projector_button.click()  # back to the codes, in front
    qtbot.waitUntil(lambda: projector.projection.layer == "code", timeout=TIMEOUT)
    assert projector.isVisible()
    p = projector.projection
    assert p.layer == "code" and p.features == 2 and p.labels is not None and p.predicted is None
    assert len(p.points) == len(auto.view.codes)


def test_projector_lists_the_nearest_tokens_of_a_word(qtbot):
    from types import SimpleNamespace

    from dlstudio.backend import load_keras
    from dlstudio.qt.panels.projector.projector_panel import ProjectorPanel

    keras = load_keras()
    inp = keras.Input((3,), dtype="int32")
    model = keras.Model(inp, keras.layers.Embedding(4, 2, name="emb")(inp))
    model.get_layer("emb").embeddings.assign(np.array([[0, 1], [1, 0], [0.95, 0.05], [-1, 0]], np.float32))
    panel = ProjectorPanel(None)
    qtbot.addWidget(panel)
    panel.model, panel.dataset = model, SimpleNamespace(vocabulary=["<pad>", "cat", "cats", "tac"])
    panel.token_edit.setText("cat")
    qtbot.keyClick(panel.token_edit, Qt.Key.Key_Return)
    assert panel.nearest_text.text().startswith("'cats' 1.00") and "'tac' -1.00" in panel.nearest_text.text()
    assert panel.show_nearest("dog") == [] and "not in the vocabulary" in panel.nearest_text.text()


def test_the_projector_follows_a_training_epoch_by_epoch(window, qtbot, tmp_path):
    """Open the digits CNN, show the Projector, tick "Follow the training", press F5: the view
    shows the running training after each epoch (the points of the model with that epoch's
    weights), then the finished run."""
    from dlstudio.insight.models import project_dataset
    from dlstudio.insight.projector import project_layer
    from dlstudio.project import load_project, save_project

    project = load_project(RESOURCES / "examples" / "digits_cnn.dlsproj")
    project.training = project.training.model_copy(update={"epochs": 3, "batch_size": 64})
    path = tmp_path / "digits.dlsproj"
    save_project(project, path)
    assert window.open_path(path)
    projector = window.projector_panel
    window.projector_dock.raise_()
    projector.follow_check.setChecked(True)
    shown = []
    projector.projected.connect(lambda p: shown.append((projector._shown_key, projector.status.text(), p)))
    with qtbot.waitSignal(window.training_panel.training_finished, timeout=TIMEOUT):
        window.act_train.trigger()
        qtbot.waitUntil(lambda: window.training_panel.is_running(), timeout=TIMEOUT)
        assert not window.projector_dock.visibleRegion().isEmpty()  # F5 keeps the followed view in front
    qtbot.waitUntil(lambda: not window.training_panel.is_running(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: shown and shown[-1][0][0] != "training" and not projector.is_busy(), timeout=TIMEOUT)
    live = [(key, text, p) for key, text, p in shown if key[0] == "training"]
    assert live, [key for key, _, _ in shown]
    epochs = [key[1] for key, _, _ in live]
    assert epochs == sorted(epochs) and epochs[-1] == 3
    key, text, p = live[-1]
    assert text.startswith("the running training after epoch 3")
    direct = project_layer(window.training_panel.result.model, project_dataset(window.document.project),
                           p.layer, p.method)  # the final weights are epoch 3's
    assert np.allclose(np.abs(direct.points), np.abs(p.points), atol=1e-3)  # PCA: up to the axes' signs
    assert shown[-1][0][0] == str(window.projector_panel.runs.run().path)  # then the run itself
    window.document.undo_stack.setClean()
