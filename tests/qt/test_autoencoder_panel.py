"""The Autoencoder panel: reconstruction grid and 2-D codes of a trained run, computed off the GUI thread."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from dlstudio.gallery import EXAMPLES_DIR
from dlstudio.qt.panels.autoencoder.autoencoder_panel import AutoencoderPanel, reconstruction_grid


@pytest.fixture(autouse=True)
def _isolated_config(tmp_path, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))


def _trained(tmp_path, stem: str, epochs: int = 2):
    from dlstudio.cli import run_cli
    from dlstudio.project import load_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.keras_loader import loader

    assert loader().wait(120)
    path = tmp_path / f"{stem}.dlsproj"
    shutil.copy(EXAMPLES_DIR / f"{stem}.dlsproj", path)
    assert run_cli(["train", str(path), "--epochs", str(epochs), "--max-samples", "400"]) == 0
    return Document(load_project(path))


def test_reconstruction_grid_puts_inputs_over_outputs():
    inputs = np.zeros((3, 4, 4, 1), np.float32)
    outputs = np.ones((3, 4, 4, 1), np.float32)
    grid = reconstruction_grid(inputs, outputs)
    assert grid.dtype == np.uint8 and grid.shape[2] == 3
    assert grid[1:5, 1:5].max() == 0 and grid[-5:-1, 1:5].min() == 255  # first tile black on top, white below
    assert grid.shape[1] > grid.shape[0]  # one row of three tiles each


@pytest.mark.slow  # trains the example for 2 epochs first
def test_panel_shows_reconstructions_and_codes_of_a_trained_autoencoder(qtbot, tmp_path):
    document = _trained(tmp_path, "autoencoder_digits")
    panel = AutoencoderPanel(None)
    qtbot.addWidget(panel)
    panel.resize(460, 640)
    with qtbot.waitSignal(panel.computed, timeout=120000) as blocker:
        panel.set_document(document)
        panel.show()
    view = blocker.args[0]
    assert len(panel.run_combo.run_ids()) == 1 and panel.run_combo.currentText().startswith("Latest run")
    assert view.code_layer == "code" and view.inputs.shape == (10, 8, 8, 1)
    assert panel.grid.isVisible() and panel.grid.image is not None
    assert panel.grid.image.height() < panel.grid.image.width()  # two rows of ten tiles
    [scatter] = [i for i in panel.plot.getPlotItem().items if type(i).__name__ == "ScatterPlotItem"]
    assert len(scatter.data) == len(view.codes) == 360
    from dlstudio.data.grid import class_color

    for k in (0, 100, 359):  # each class in the colour the Projector (and every view) gives it
        brush = scatter.data[k]["brush"].color()
        assert (brush.red(), brush.green(), brush.blue()) == class_color(int(view.labels[k]))
    assert len(panel.legend.items) == 10
    assert "code layer 'code' (2 numbers per sample)" in panel.summary.text()
    assert "nearest-neighbour class accuracy" in panel.summary.text()
    assert panel.plot.getPlotItem().getAxis("bottom").labelText == "code 1"
    panel.grab().save(str(tmp_path / "panel.png"))


def test_a_classifier_is_explained_not_shown(qtbot, tmp_path):
    document = _trained(tmp_path, "xor_mlp", epochs=1)
    panel = AutoencoderPanel(None)
    qtbot.addWidget(panel)
    with qtbot.waitSignal(panel.failed, timeout=120000) as blocker:
        panel.set_document(document)
        panel.show()
    assert blocker.args[0].startswith("Not an autoencoder: its output 'output' gives (batch, 1)")
    assert not panel.grid.isVisible()


def test_an_unsaved_project_without_runs_says_to_train(qtbot):
    """An unsaved project trains too (its runs wait in a scratch folder): the panel says train."""
    from dlstudio.project import new_project
    from dlstudio.qt.document import Document

    panel = AutoencoderPanel(None)
    qtbot.addWidget(panel)
    panel.set_document(Document(new_project("x")))
    panel.show()
    assert panel.run_combo.count() == 0
    assert panel.status.text().startswith("No trained runs yet: train the project")


def test_data_panel_captions_an_autoencoder_dataset_by_class(qtbot):
    from dlstudio.data import load_dataset
    from dlstudio.qt.panels.data.data_panel import DataPanel

    data = load_dataset("digits", {"target": "image"})
    panel = DataPanel(None)
    qtbot.addWidget(panel)
    idx = np.arange(6)
    assert panel._labels(data, idx) == [str(int(c)) for c in data.meta["labels_train"][:6]]
