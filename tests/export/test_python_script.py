"""The exported Python script rebuilds the app's model (same layers, names, wiring and
parameter count), loads the same dataset and trains with the run's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dlstudio import RESOURCES
from dlstudio.compile import build_model
from dlstudio.export import export_run
from dlstudio.export.python_script import layer_call, model_source
from dlstudio.project import load_project
from dlstudio.runs import load_run_model

keras = pytest.importorskip("keras")
ROOT = Path(__file__).resolve().parents[2]


def structure(model) -> list[tuple[str, str, list[str]]]:
    """(name, class, names of the layers feeding it) for every layer."""
    out = []
    for layer in model.layers:
        node = layer._inbound_nodes[0]
        feeds = [t._keras_history.operation.name for t in node.input_tensors]
        out.append((layer.name, type(layer).__name__, feeds))
    return sorted(out)


def layer_settings(model) -> dict[str, dict]:
    ignore = {"name", "dtype", "build_config", "trainable"}
    return {lay.name: {k: v for k, v in lay.get_config().items() if k not in ignore} for lay in model.layers}


def _build_from_source(graph):
    namespace = {"keras": keras}
    exec("def build_model():\n" + model_source(graph), namespace)  # noqa: S102 - the generated code under test
    return namespace["build_model"]()


@pytest.mark.parametrize("example", ["resnet_block", "inception_block", "digits_cnn", "spiral_mlp"])
def test_generated_model_code_matches_the_compiler(example):
    graph = load_project(RESOURCES / "examples" / f"{example}.dlsproj").graph
    ours, app = _build_from_source(graph), build_model(graph)
    assert ours.count_params() == app.count_params()
    assert structure(ours) == structure(app)
    assert layer_settings(ours) == layer_settings(app)


def test_only_settings_that_differ_from_keras_are_written():
    text = layer_call("Conv2D", {"filters": 8, "kernel_size": 3, "strides": 1, "padding": "valid",
                                 "activation": "relu", "trainable": True}, "conv", 0)
    assert text == "keras.layers.Conv2D(filters=8, kernel_size=3, activation='relu', name='conv')"
    wrapped = layer_call("Bidirectional", {"layer": "LSTM", "inner": {"units": 4, "return_sequences": True},
                                           "merge_mode": "sum"}, "bi", 0)
    assert "layer=keras.layers.LSTM(units=4, return_sequences=True)" in wrapped and "merge_mode='sum'" in wrapped


@pytest.mark.slow  # a child Python that imports TensorFlow: 10-40 s on a busy machine
def test_the_script_runs_and_rebuilds_the_run_model(digits_run, tmp_path):
    project, run = digits_run
    script = tmp_path / "digits_model.py"
    export_run(project, run, "python", script)
    text = script.read_text()
    assert "dlstudio.data" in text.split('"""')[1]  # the header says where the data comes from
    assert "EarlyStopping(monitor='val_loss', patience=2" in text and "LearningRateScheduler" in text
    assert os.access(script, os.X_OK)
    saved = tmp_path / "trained.keras"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(script), "--epochs", "1", "--samples", "96", "--save", str(saved)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "test accuracy" in done.stdout and "saved" in done.stdout
    trained, app = keras.saving.load_model(saved), load_run_model(run)
    assert trained.count_params() == app.count_params()
    assert structure(trained) == structure(app)
    assert layer_settings(trained) == layer_settings(app)
    assert trained.optimizer.learning_rate.numpy() == pytest.approx(0.002)
    assert trained.loss.__class__.__name__ == "SparseCategoricalCrossentropy"


def test_metric_settings_that_change_results_are_kept_in_the_script():
    """A logit output's precision thresholds at 0 and top-k keeps its k: the script must say so."""
    from dlstudio.backend import load_keras
    from dlstudio.export.python_script import _object_source

    keras = load_keras()
    assert _object_source(keras.metrics.Precision(thresholds=0.0), "metrics") == \
        "keras.metrics.Precision(thresholds=0.0)"
    assert _object_source(keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top_5_accuracy"), "metrics") == \
        "keras.metrics.SparseTopKCategoricalAccuracy(k=5, name='top_5_accuracy')"


@pytest.mark.slow  # trains one epoch in a child process
def test_the_script_reads_relative_data_from_the_projects_folder_wherever_it_starts(tmp_path):
    """A project whose data path is relative (data.csv beside it) exports a script that reads
    that file, run from another folder, not a data.csv where it happens to start."""
    from dlstudio.cli import run_cli
    from dlstudio.project import new_project, save_project
    from dlstudio.runs import RunStore
    from tests.export.conftest import chain

    folder = tmp_path / "proj"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b,label\n" + "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(60)))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "data.csv").write_text("this is not the file the project means\n")
    project = new_project("tabular")
    project.graph = chain(("Input", {"shape": [2]}), ("Dense", {"units": 2, "activation": "softmax"}))
    project.dataset.name, project.dataset.options = "csv", {"path": "data.csv"}
    project.training.epochs = 1
    save_project(project, folder / "tabular.dlsproj")
    assert run_cli(["train", str(folder / "tabular.dlsproj")]) == 0
    project = load_project(folder / "tabular.dlsproj")
    run = RunStore.of_project(folder / "tabular.dlsproj").latest()
    script = tmp_path / "out" / "tabular.py"
    script.parent.mkdir()
    export_run(project, run, "python", script)
    assert f"DATA_FOLDER = {str(folder.resolve())!r}" in script.read_text()
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(ROOT))
    done = subprocess.run([sys.executable, str(script), "--epochs", "1"], capture_output=True, text=True, env=env,
                          cwd=elsewhere, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
