"""Running an exported model in its own runtime, to check it predicts what Keras predicts.

ONNX runs in ONNX Runtime, TFLite in the LiteRT interpreter (``ai_edge_litert``,
or TensorFlow's own ``tf.lite.Interpreter`` where LiteRT is not installed), a
SavedModel through ``tf.saved_model.load`` and a .keras file through Keras with
``safe_mode``.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from dlstudio.errors import DLStudioError


#: An export whose outputs differ from Keras' by more than this (absolute + relative) is refused.
TOLERANCE = 1e-4


class RuntimeMissing(DLStudioError, RuntimeError):
    """The runtime to check a format with is not installed."""


def keras_outputs(model: Any, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    ys = model(list(inputs) if len(inputs) > 1 else inputs[0], training=False)
    return [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]


def run_onnx(path: str | Path, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    try:
        import onnxruntime as ort
    except ImportError:
        raise RuntimeMissing("onnxruntime is not installed") from None
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    feed = {spec.name: x for spec, x in zip(session.get_inputs(), inputs, strict=True)}
    return [np.asarray(y) for y in session.run(None, feed)]


def tflite_interpreter(path: str | Path) -> Any:
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        try:
            import tensorflow as tf
        except ImportError:
            raise RuntimeMissing("neither ai-edge-litert nor tensorflow is installed") from None
        Interpreter = tf.lite.Interpreter
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TensorFlow's copy warns that it moved to LiteRT
        return Interpreter(model_path=str(path))


def run_tflite(path: str | Path, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Outputs for a batch; a model with a fixed batch size of 1 is run one sample at a time."""
    interpreter = tflite_interpreter(path)
    details = sorted(interpreter.get_input_details(), key=lambda d: d["index"])
    outputs = sorted(interpreter.get_output_details(), key=lambda d: d["index"])
    n = len(inputs[0])
    fixed = any(int(d["shape_signature"][0]) == 1 for d in details)
    chunks = [slice(i, i + 1) for i in range(n)] if fixed else [slice(0, n)]
    results: list[list[np.ndarray]] = [[] for _ in outputs]
    for chunk in chunks:
        for d, x in zip(details, inputs):  # the batch, and the length of a variable-length axis
            interpreter.resize_tensor_input(d["index"], x[chunk].shape)
        interpreter.allocate_tensors()
        for d, x in zip(details, inputs):
            interpreter.set_tensor(d["index"], np.ascontiguousarray(x[chunk], dtype=d["dtype"]))
        interpreter.invoke()
        for out, d in zip(results, outputs):
            out.append(np.array(interpreter.get_tensor(d["index"])))
    return [np.concatenate(parts) for parts in results]


def run_saved_model(path: str | Path, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    import tensorflow as tf

    loaded = tf.saved_model.load(str(path))
    tensors = [tf.constant(x) for x in inputs]
    ys = loaded.serve(tensors[0] if len(tensors) == 1 else tensors)  # Keras exports several inputs as one list
    return [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]


def run_keras_file(path: str | Path, inputs: Sequence[np.ndarray]) -> list[np.ndarray]:
    import keras

    model = keras.saving.load_model(str(path), safe_mode=True, compile=False)
    return keras_outputs(model, inputs)


RUNNERS = {"onnx": run_onnx, "tflite": run_tflite, "savedmodel": run_saved_model, "keras": run_keras_file}


def max_difference(expected: Sequence[np.ndarray], got: Sequence[np.ndarray]) -> float:
    """The largest absolute difference; inf when the shapes do not agree."""
    if len(expected) != len(got):
        return float("inf")
    worst = 0.0
    for a, b in zip(expected, got):
        if np.shape(a) != np.shape(b):
            return float("inf")
        if np.size(a):
            worst = max(worst, float(np.max(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)))))
    return worst


def agrees(expected: Sequence[np.ndarray], got: Sequence[np.ndarray], tolerance: float = TOLERANCE) -> bool:
    if max_difference(expected, got) == float("inf"):
        return False
    return all(np.allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), atol=tolerance, rtol=tolerance)
               for a, b in zip(expected, got))
