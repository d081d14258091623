"""The predict panel (offscreen): a dataset sample picked by number or by a click
in the strip, a file (PNG, CSV), the class probabilities as sorted bars that sum
to 1 and agree with the model's own prediction; bad files say what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from dlstudio import RESOURCES
from dlstudio.data import load_dataset
from dlstudio.project import load_project, new_project, save_project
from dlstudio.runs import runs_dir
from dlstudio.qt.keras_loader import loader
from dlstudio.training.engine import train
from dlstudio.runs import load_run_model
from dlstudio.compile.outputs import output_is_probability, to_probabilities

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def keras_loaded():
    assert loader().wait(120), loader().error
    return True


def trained(folder, name, graph, dataset_name, options, settings):
    project = new_project(name)
    project.graph = graph
    project.dataset.name, project.dataset.options = dataset_name, options
    for k, v in settings.items():
        setattr(project.training, k, v)
    path = folder / f"{name}.dlsproj"
    save_project(project, path)
    project = load_project(path)
    dataset = load_dataset(dataset_name, options, seed=project.training.seed)
    result = train(project.graph, dataset, project.training, run_base=runs_dir(path))
    return project, dataset, result.run


@pytest.fixture(scope="module")
def digits(tmp_path_factory, keras_loaded):
    example = load_project(RESOURCES / "examples" / "digits_cnn.dlsproj")
    return trained(tmp_path_factory.mktemp("digits"), "digits", example.graph, "digits", {},
                   {"epochs": 1, "batch_size": 64, "validation_split": 0.1})


@pytest.fixture
def panel(qtbot):
    from dlstudio.qt.panels.evaluation.predict_panel import PredictPanel

    p = PredictPanel(None)
    qtbot.addWidget(p)
    p.resize(900, 380)
    p.show()
    return p


def wait_prediction(qtbot, panel, previous=None):
    qtbot.waitUntil(lambda: panel.prediction is not None and panel.prediction is not previous
                    and not panel.is_busy(), timeout=TIMEOUT)
    return panel.prediction


def own_probabilities(run, x):
    model = load_run_model(run)
    return to_probabilities(np.asarray(model.predict(x, verbose=0)), output_is_probability(model))


def test_a_sample_gives_probabilities_that_match_the_model(qtbot, panel, digits):
    from dlstudio.qt.document import Document

    project, dataset, run = digits
    panel.set_document(Document(project))
    assert panel.run_ids() == [run.id]
    first = wait_prediction(qtbot, panel)  # sample #0 of the test split at once
    panel.set_sample(7)
    pred = wait_prediction(qtbot, panel, first)
    probs = pred.probabilities[0]
    assert probs.sum() == pytest.approx(1.0, abs=1e-5)
    want = own_probabilities(run, dataset.x_test[7:8])[0]
    assert np.allclose(probs, want, atol=1e-5)
    ranked = panel.bars.ranked
    assert [p for _n, p in ranked] == sorted((p for _n, p in ranked), reverse=True)
    assert ranked[0][0] == dataset.class_names[int(np.argmax(want))]
    assert len(ranked) == 10
    true = dataset.class_names[int(dataset.y_test[7])]
    assert panel.bars.true_name == true and "test #7" in panel.status.text()
    assert ("right" if ranked[0][0] == true else "wrong") in panel.status.text()
    assert panel.input_image.isVisible() and not panel.input_image.pixmap().isNull()


def test_a_click_in_the_strip_predicts_that_sample(qtbot, panel, digits):
    from dlstudio.qt.document import Document

    project, dataset, run = digits
    panel.set_document(Document(project))
    first = wait_prediction(qtbot, panel)
    assert panel.strip_scroll.isVisible() and panel.strip.count() == 48
    rect = panel.strip.tile_rect(3)
    qtbot.mouseClick(panel.strip, Qt.MouseButton.LeftButton, pos=rect.center())
    pred = wait_prediction(qtbot, panel, first)
    assert panel.index.value() == 3
    assert np.allclose(pred.probabilities[0], own_probabilities(run, dataset.x_test[3:4])[0], atol=1e-5)


def test_an_image_file_and_a_bad_file(qtbot, panel, digits, tmp_path):
    from PIL import Image

    from dlstudio.qt.document import Document

    project, dataset, run = digits
    panel.set_document(Document(project))
    first = wait_prediction(qtbot, panel)
    img = (dataset.x_test[11, :, :, 0] * 255).round().astype(np.uint8)
    Image.fromarray(img, "L").save(tmp_path / "eleven.png")
    panel.set_input_file(tmp_path / "eleven.png")
    pred = wait_prediction(qtbot, panel, first)
    assert pred.path.endswith("eleven.png") and "eleven.png" in panel.status.text()
    assert np.allclose(pred.probabilities[0], own_probabilities(run, pred.inputs)[0], atol=1e-5)
    messages = []
    panel.failed.connect(messages.append)
    (tmp_path / "notes.csv").write_text("a,b\n1,2\n")
    panel.set_input_file(tmp_path / "notes.csv")
    qtbot.waitUntil(lambda: bool(messages), timeout=TIMEOUT)
    assert "notes.csv" in messages[0] and "image" in messages[0]
    assert panel.prediction is pred  # the last good prediction stays


def test_points_show_the_row_and_a_csv_row(qtbot, panel, tmp_path, keras_loaded):
    from dlstudio.graph import Graph
    from dlstudio.qt.document import Document

    g = Graph()
    x = g.add_node("Input", {"shape": [2]}, name="x")
    h = g.add_node("Dense", {"units": 8, "activation": "tanh"}, name="h")
    out = g.add_node("Dense", {"units": 2, "activation": "softmax"}, name="out")
    g.connect(x.id, h.id)
    g.connect(h.id, out.id)
    project, dataset, run = trained(tmp_path, "xor", g, "xor", {"samples": 100},
                                    {"epochs": 1, "batch_size": 16})
    panel.set_document(Document(project))
    first = wait_prediction(qtbot, panel)
    assert not panel.strip_scroll.isVisible() and panel.input_text.isVisible()
    assert f"{float(dataset.x_test[0, 0]):.3g}" in panel.input_text.text()
    (tmp_path / "row.csv").write_text("0.9,-1.1\n")
    panel.set_input_file(tmp_path / "row.csv")
    pred = wait_prediction(qtbot, panel, first)
    assert pred.probabilities[0].sum() == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(pred.probabilities[0], own_probabilities(run, np.array([[0.9, -1.1]], np.float32))[0],
                       atol=1e-5)
