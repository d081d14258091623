"""``--quantize int8``: full-integer TFLite calibrated on the training split and Keras' own int8
layers, each run in its runtime beside the float model (size, test accuracy, latency); what
cannot be quantized is named, and a converter crash fails the export, not the process."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from dlstudio.cli import run_cli
from dlstudio.export import ExportError, export_run
from tests.export.conftest import chain, project_with_run

keras = pytest.importorskip("keras")
pytest.importorskip("ai_edge_litert.interpreter")

EXAMPLE = Path(__file__).resolve().parents[2] / "resources" / "examples" / "digits_cnn.dlsproj"


@pytest.fixture(scope="module")
def trained_digits(tmp_path_factory):
    """The digits_cnn example, trained for a few epochs (a run as training writes it)."""
    from dlstudio.compile import build_model
    from dlstudio.project import load_project
    from dlstudio.runs import dataset_for_run

    graph = load_project(EXAMPLE).graph
    project, run = project_with_run(tmp_path_factory.mktemp("digits_cnn"), "digits_cnn", graph, "digits")
    data = dataset_for_run(project, run)
    keras.utils.set_random_seed(0)
    model = build_model(graph)
    model.compile(optimizer=keras.optimizers.Adam(0.005), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(data.x_train, data.y_train, epochs=12, batch_size=64, verbose=0)
    model.save_weights(run.weights_path)
    return project, run


def test_int8_tflite_is_a_third_of_the_size_and_as_accurate(trained_digits, tmp_path, capsys):
    project, run = trained_digits
    out = tmp_path / "m.tflite"
    assert run_cli(["export", str(project.path), "--run", "last", "--format", "tflite", "--quantize", "int8",
                    "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    comparison = result["comparison"]
    assert result["quantize"] == "int8" and comparison["metric"] == "accuracy" and comparison["runtime"] == "LiteRT"
    f, q = comparison["float"], comparison["int8"]
    assert q["size_bytes"] == out.stat().st_size and q["size_bytes"] <= 0.35 * f["size_bytes"]
    assert f["metric"] > 0.9 and abs(f["metric"] - q["metric"]) <= 0.015
    assert f["latency_ms"] > 0 and q["latency_ms"] > 0 and comparison["samples"] == 360
    assert "float32" in captured.err and "int8" in captured.err and "latency / sample" in captured.err
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=str(out))
    kinds = {d["dtype"] for d in interpreter.get_tensor_details() if len(d["shape"]) == 4 and d["shape"][-1] > 1}
    assert kinds == {np.int8}  # the feature maps are int8 (float only in and out)


def test_keras_int8_names_what_stays_float(trained_digits, tmp_path):
    project, run = trained_digits
    result = export_run(project, run, "keras", tmp_path / "m.keras", quantize="int8")
    assert result.comparison.runtime == "Keras"
    assert abs(result.comparison.float.metric - result.comparison.int8.metric) <= 0.015
    assert any("int8 weights in 2 layers: fc1, digit" in n for n in result.notes), result.notes
    assert any("Conv2D conv1" in n and "stay float32" in n for n in result.notes), result.notes
    model = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    assert model.get_layer("fc1").quantization_mode == "int8"


def test_formats_without_int8_and_recurrent_layers_are_refused(tmp_path, capsys):
    graph = chain(("Input", {"shape": [5, 3]}), ("GRU", {"units": 4}), ("Dense", {"units": 2}),
                  names=("seq", "memory", "out"))
    project, run = project_with_run(tmp_path, "seq", graph, "xor")
    assert run_cli(["export", str(project.path), "-o", str(tmp_path / "m.onnx"), "--quantize", "int8"]) == 1
    assert "--quantize int8 applies to tflite" in capsys.readouterr().err
    with pytest.raises(ExportError, match=r"layer 'memory' \(GRU\) cannot be quantized to int8 TFLite"):
        export_run(project, run, "tflite", tmp_path / "m.tflite", quantize="int8")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seq.dlsproj", "seq.runs"]


@pytest.mark.slow  # a child process that loads TensorFlow and crashes in its converter
def test_a_converter_crash_fails_the_export_not_the_process(tmp_path, monkeypatch):
    from dlstudio.export import quantize

    monkeypatch.setattr(quantize, "NO_INT8", {})  # let the recurrent layer through to the converter
    graph = chain(("Input", {"shape": [5, 3]}), ("SimpleRNN", {"units": 4}), names=("seq", "memory"))
    project, run = project_with_run(tmp_path, "seq", graph, "xor")
    with pytest.raises(ExportError, match="the TFLite converter crashed while quantizing the model to int8"):
        export_run(project, run, "tflite", tmp_path / "m.tflite", quantize="int8")
    assert not (tmp_path / "m.tflite").exists()
