"""Exporting a run as .keras, SavedModel, ONNX and TFLite: each file is loaded back in
its own runtime here and predicts what the Keras model predicts; layers a format cannot
take are named, and a failed export leaves no file behind."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlstudio.export import ExportError, export_run
from dlstudio.runs import RunNotFound, load_run_model
from tests.export.conftest import chain, project_with_run

keras = pytest.importorskip("keras")


def _inputs(model, n=16, seed=3):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 1, size=(n, *model.inputs[0].shape[1:])).astype("float32")


def _expected(run, x):
    return np.asarray(load_run_model(run)(x, training=False))


def _leftovers(folder, keep=()):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_keras_file_reloads_with_the_same_outputs(digits_run, tmp_path):
    project, run = digits_run
    result = export_run(project, run, "keras", tmp_path / "digits.keras")
    model = keras.saving.load_model(tmp_path / "digits.keras", safe_mode=True)
    x = _inputs(model)
    np.testing.assert_allclose(np.asarray(model(x, training=False)), _expected(run, x), atol=1e-6)
    assert [type(lay).__name__ for lay in model.layers].count("RandomFlip") == 1  # the full model
    assert result.max_difference is not None and result.max_difference < 1e-6
    assert result.samples_checked == 8  # real test samples of the run's dataset


def test_onnx_matches_keras_in_onnx_runtime(digits_run, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    onnx = pytest.importorskip("onnx")
    project, run = digits_run
    path = tmp_path / "digits.onnx"
    result = export_run(project, run, "onnx", path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = _inputs(load_run_model(run), n=32)
    (got,) = session.run(None, {session.get_inputs()[0].name: x})
    np.testing.assert_allclose(got, _expected(run, x), atol=1e-5, rtol=0)
    ops = {n.op_type for n in onnx.load(str(path)).graph.node}
    assert not any("Random" in op for op in ops), ops  # augmentation is not part of the served model
    assert any("flip" in note and "drop" in note for note in result.notes), result.notes
    assert _leftovers(tmp_path) == ["digits.onnx"]


def test_tflite_matches_keras_in_the_interpreter(digits_run, tmp_path):
    litert = pytest.importorskip("ai_edge_litert.interpreter")
    project, run = digits_run
    path = tmp_path / "digits.tflite"
    export_run(project, run, "tflite", path)
    interpreter = litert.Interpreter(model_path=str(path))
    (inp,), (out,) = interpreter.get_input_details(), interpreter.get_output_details()
    x = _inputs(load_run_model(run), n=5)
    interpreter.resize_tensor_input(inp["index"], x.shape)
    interpreter.allocate_tensors()
    interpreter.set_tensor(inp["index"], x)
    interpreter.invoke()
    np.testing.assert_allclose(interpreter.get_tensor(out["index"]), _expected(run, x), atol=1e-5)


def test_saved_model_serves_the_same_outputs(digits_run, tmp_path):
    import tensorflow as tf

    project, run = digits_run
    path = tmp_path / "served"
    export_run(project, run, "savedmodel", path)
    served = tf.saved_model.load(str(path))
    x = _inputs(load_run_model(run))
    np.testing.assert_allclose(np.asarray(served.serve(tf.constant(x))), _expected(run, x), atol=1e-6)
    # replacing an existing export needs force, and then leaves only the new one
    with pytest.raises(ExportError, match="already exists and is not empty; use --force"):
        export_run(project, run, "savedmodel", path)
    export_run(project, run, "savedmodel", path, force=True, verify=False)
    assert (path / "saved_model.pb").is_file()
    assert _leftovers(tmp_path) == ["served"]


def test_recurrent_model_to_tflite_runs_one_sample_at_a_time(tmp_path):
    graph = chain(("Input", {"shape": [6, 3]}), ("LSTM", {"units": 5}), ("Dense", {"units": 2}),
                  names=("series", "lstm", "out"))
    project, run = project_with_run(tmp_path, "rnn", graph, "xor")  # xor does not fit: random samples
    out = tmp_path / "out"
    out.mkdir()
    result = export_run(project, run, "tflite", out / "rnn.tflite")
    assert any("batch size 1" in n for n in result.notes)
    assert result.max_difference is not None and result.max_difference < 1e-5
    from dlstudio.export.verify import run_tflite

    x = np.random.default_rng(0).normal(size=(4, 6, 3)).astype("float32")
    np.testing.assert_allclose(run_tflite(out / "rnn.tflite", [x])[0], _expected(run, x), atol=1e-5)


def test_a_layer_the_format_cannot_take_is_named_and_nothing_is_written(tmp_path):
    graph = chain(("Input", {"shape": [8, 8, 1]}), ("RandomCrop", {"height": 6, "width": 6}),
                  ("GlobalAveragePooling2D", {}), ("Dense", {"units": 10}), names=("image", "crop", "gap", "logits"))
    project, run = project_with_run(tmp_path, "crop", graph, "digits")
    out = tmp_path / "out"
    out.mkdir()
    for fmt, title in (("onnx", "ONNX"), ("tflite", "TFLite"), ("savedmodel", "a SavedModel")):
        with pytest.raises(ExportError, match=rf"layer 'crop' \(RandomCrop\) cannot be exported to {title}: "
                                              "at inference Keras' RandomCrop passes the whole image"):
            export_run(project, run, fmt, out / f"m.{fmt}")
    assert _leftovers(out) == []
    export_run(project, run, "keras", out / "m.keras")  # the Keras file keeps the layer as it is
    assert _leftovers(out) == ["m.keras"]


def test_a_converter_failure_names_the_layer_and_leaves_no_half_file(digits_run, tmp_path, monkeypatch):
    project, run = digits_run

    def broken_export(self, filepath, format="tf_saved_model", **kwargs):
        with open(filepath, "wb") as fh:
            fh.write(b"half an onnx file")
        raise ValueError("Conversion failed:\n<unknown>:0: error: loc(fused[\"Conv2D:\", "
                         "\"functional_1/conv_1/convolution@__inference_call\"]): 'tf.Conv2D' op is not "
                         "supported by this runtime\n")

    monkeypatch.setattr(keras.Model, "export", broken_export)
    with pytest.raises(ExportError) as info:
        export_run(project, run, "onnx", tmp_path / "m.onnx")
    assert str(info.value) == ("layer 'conv' (Conv2D) cannot be exported to ONNX: 'tf.Conv2D' op is not "
                               "supported by this runtime")
    assert _leftovers(tmp_path) == []


def test_an_export_that_predicts_differently_is_refused_and_removed(digits_run, tmp_path, monkeypatch):
    from dlstudio.export import verify

    project, run = digits_run
    real = verify.RUNNERS["onnx"]
    monkeypatch.setitem(verify.RUNNERS, "onnx", lambda path, xs: [y + 0.01 for y in real(path, xs)])
    with pytest.raises(ExportError, match=r"predicts differently from the Keras model \(largest difference 0.01"):
        export_run(project, run, "onnx", tmp_path / "m.onnx")
    assert _leftovers(tmp_path) == []


def test_targets_are_checked_before_any_work(digits_run, tmp_path):
    project, run = digits_run
    (tmp_path / "taken.onnx").write_text("keep me")
    with pytest.raises(ExportError, match="taken.onnx already exists; use --force"):
        export_run(project, run, "onnx", tmp_path / "taken.onnx")
    assert (tmp_path / "taken.onnx").read_text() == "keep me"
    with pytest.raises(ExportError, match="the folder .*nowhere does not exist"):
        export_run(project, run, "tflite", tmp_path / "nowhere" / "m.tflite")
    with pytest.raises(ExportError, match="unknown export format 'pt'; choose one of keras, savedmodel, onnx"):
        export_run(project, run, "pt", tmp_path / "m.pt")
    with pytest.raises(RunNotFound, match="'nope' is not a run of digits.dlsproj"):
        export_run(project, "nope", "keras", tmp_path / "m.keras")


def test_weights_of_the_best_epoch_must_exist(digits_run, tmp_path):
    from dlstudio.runs import RunIncompatible

    project, run = digits_run
    with pytest.raises(RunIncompatible, match="no best weights: best.weights.h5 is missing"):
        export_run(project, run, "keras", tmp_path / "m.keras", which="best")
    assert json.loads((run.path / "run.json").read_text())["status"] == "finished"  # untouched


def test_a_model_with_two_inputs_exports_to_every_serving_format(tmp_path):
    from dlstudio.graph import Graph

    g = Graph()
    a = g.add_node("Input", {"shape": [3]}, name="a", pos=(0, 0))
    b = g.add_node("Input", {"shape": [5]}, name="b", pos=(300, 0))
    da = g.add_node("Dense", {"units": 4}, name="da", pos=(0, 150))
    db = g.add_node("Dense", {"units": 4}, name="db", pos=(300, 150))
    cat = g.add_node("Concatenate", {}, name="cat", pos=(150, 300))
    out = g.add_node("Dense", {"units": 2}, name="out", pos=(150, 450))
    for src, dst, port in ((a, da, 0), (b, db, 0), (da, cat, 0), (db, cat, 1), (cat, out, 0)):
        g.connect(src.id, dst.id, port)
    project, run = project_with_run(tmp_path, "two", g, "xor")  # random samples: xor has one input
    folder = tmp_path / "out"
    folder.mkdir()
    for fmt in ("onnx", "tflite", "savedmodel"):
        result = export_run(project, run, fmt, folder / f"two.{fmt}")
        assert result.max_difference is not None and result.max_difference < 1e-5, fmt
