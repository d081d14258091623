"""Writing a trained keras.Model as .keras, SavedModel, ONNX or TFLite.

The serving formats (SavedModel, ONNX, TFLite) hold the model as it predicts,
so the layers that only act while training (dropout, noise, random
augmentation) are left out of them: they are the identity at inference, and
their random operations have no counterpart in ONNX or TFLite.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from pathlib import Path
from typing import Any

from dlstudio.export.formats import ExportError, staged
from dlstudio.export.layer_errors import describe_failure, unsupported_layers
from dlstudio.graph import Graph

#: Layers that pass their input through unchanged at inference.
INFERENCE_IDENTITY = frozenset({
    "Dropout", "SpatialDropout1D", "SpatialDropout2D", "GaussianNoise", "RandomFlip", "RandomRotation",
    "RandomZoom", "RandomTranslation", "RandomContrast",
})


def inference_graph(graph: Graph) -> tuple[Graph, list[str]]:
    """A copy of ``graph`` without the layers that only act while training, and their names."""
    g = graph.copy()
    dropped = []
    for node in list(g.nodes):
        if node.type not in INFERENCE_IDENTITY:
            continue
        ins, outs = g.in_edges(node.id), g.out_edges(node.id)
        if len(ins) != 1 or not outs:  # an output layer stays (the model's outputs keep their order)
            continue
        src = ins[0]
        g.remove_node(node.id)
        for e in outs:
            g.add_edge(src.src, src.src_port, e.dst, e.dst_port)
        dropped.append(node.name)
    return g, dropped


def inference_model(model: Any, graph: Graph) -> tuple[Any, list[str]]:
    """``model`` without its training-only layers (same weights), and the names left out."""
    from dlstudio.compile import build_model

    stripped, dropped = inference_graph(graph)
    if not dropped:
        return model, []
    lean = build_model(stripped, name=model.name)
    for layer in lean.layers:
        weights = model.get_layer(layer.name).get_weights()
        if weights:
            layer.set_weights(weights)
    return lean, dropped


def _refuse_unsupported(model: Any, fmt: str, title: str) -> None:
    bad = unsupported_layers(model, fmt)
    if bad:
        name, cls, reason = bad[0]
        more = f" (and {len(bad) - 1} more such layers)" if len(bad) > 1 else ""
        raise ExportError(f"layer '{name}' ({cls}) cannot be exported to {title}: {reason}{more}")


@contextlib.contextmanager
def _quiet() -> Any:
    """Converters print progress and warnings; the export reports by itself."""
    from dlstudio.backend import silenced_stderr

    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), silenced_stderr():
        warnings.simplefilter("ignore")
        yield


def write_keras(model: Any, path: Path) -> None:
    with staged(path) as tmp:
        try:
            model.save(tmp)
        except Exception as exc:  # noqa: BLE001 - Keras raises many kinds
            raise ExportError(describe_failure(exc, model, "the .keras format")) from None


def write_saved_model(model: Any, path: Path) -> None:
    _refuse_unsupported(model, "savedmodel", "a SavedModel")
    with staged(path, folder=True) as tmp, _quiet():
        try:
            model.export(str(tmp), format="tf_saved_model", verbose=False)
        except Exception as exc:  # noqa: BLE001
            raise ExportError(describe_failure(exc, model, "a SavedModel")) from None


def write_onnx(model: Any, path: Path) -> None:
    _refuse_unsupported(model, "onnx", "ONNX")
    try:
        import onnx  # noqa: F401 - Keras' exporter needs it (through tf2onnx)
        import tf2onnx  # noqa: F401
    except ImportError as exc:
        raise ExportError(f"ONNX export needs the packages onnx and tf2onnx ({exc.name} is missing): "
                          "pip install 'dlstudio[export]'") from None
    _call_once(model)
    with staged(path) as tmp, _quiet():
        try:
            model.export(str(tmp), format="onnx", verbose=False)
        except Exception as exc:  # noqa: BLE001
            raise ExportError(describe_failure(exc, model, "ONNX")) from None


def _call_once(model: Any) -> None:
    """Keras' ONNX exporter wants a model that has been called (a rebuilt one has not)."""
    if getattr(model, "_called", True):
        return
    from dlstudio.export.samples import input_sets

    xs = [x[:1] for x in input_sets(model, 1)[0]]  # the real shapes: a length for a None axis
    model(xs if len(xs) > 1 else xs[0], training=False)


def write_tflite(model: Any, path: Path, int8: Any = None) -> list[str]:
    """Write a TFLite flatbuffer; returns notes (a fixed batch size of 1 for recurrent layers).
    ``int8``: a representative dataset (a generator function of input lists) for full-integer
    quantization: every operation int8, float32 in and out, one sample at a time (the shape of
    on-device inference: static shapes fold the shape arithmetic away), the names of inner
    tensors left out (the inputs and outputs keep theirs)."""
    _refuse_unsupported(model, "tflite", "TFLite")
    notes: list[str] = []
    what = "int8 TFLite (full-integer quantization)" if int8 is not None else "TFLite"
    try:
        data = _convert_tflite(model, batch=None if int8 is None else 1, int8=int8)
    except Exception as first:  # noqa: BLE001 - retried with a static batch size below
        text = str(first)
        if "static" not in text and "TensorList" not in text:
            raise ExportError(describe_failure(first, model, what)) from None
        try:  # loops over time (LSTM, GRU) need static shapes in TFLite
            data = _convert_tflite(model, batch=1, int8=int8)
        except Exception as exc:  # noqa: BLE001
            raise ExportError(describe_failure(exc, model, what)) from None
        notes.append("the TFLite model takes one sample at a time (batch size 1): its recurrent layers "
                     "need fixed shapes in TFLite")
    if int8 is not None:
        data = lean_flatbuffer(data)
    with staged(path) as tmp:
        tmp.write_bytes(data)
    return notes


def lean_flatbuffer(data: bytes) -> bytes:
    """A TFLite model without what no runtime reads: the names of inner tensors, the model's
    description and the converter's metadata (``min_runtime_version`` stays)."""
    try:
        from tensorflow.lite.tools import flatbuffer_utils
    except ImportError:  # pragma: no cover - a TensorFlow without the tools
        return data
    model = flatbuffer_utils.convert_bytearray_to_object(bytearray(data))
    model.description = None
    for subgraph in model.subgraphs:
        keep = set(subgraph.inputs) | set(subgraph.outputs)
        for i, tensor in enumerate(subgraph.tensors):
            if i not in keep:
                tensor.name = None
    model.metadata = [m for m in (model.metadata or []) if m.name == b"min_runtime_version"] or None
    return bytes(flatbuffer_utils.convert_object_to_bytearray(model))


def _convert_tflite(model: Any, batch: int | None, int8: Any = None) -> bytes:
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    specs = [tf.TensorSpec((batch, *t.shape[1:]), t.dtype, name=_input_name(t, i))
             for i, t in enumerate(model.inputs)]

    if len(specs) == 1:
        fn = tf.function(lambda x: model(x, training=False), input_signature=specs)
    else:
        fn = tf.function(lambda *xs: model(list(xs), training=False), input_signature=specs)
    with _quiet():
        frozen = convert_variables_to_constants_v2(fn.get_concrete_function())
        converter = tf.lite.TFLiteConverter.from_concrete_functions([frozen])
        if int8 is not None:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.representative_dataset = int8
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        return converter.convert()


def _input_name(tensor: Any, index: int) -> str:
    name = getattr(tensor, "name", "") or ""
    return name.split(":")[0] or f"input_{index}"
