"""Turning a converter's error into "layer 'lstm1' (LSTM) cannot ...: why".

TensorFlow names the operations of a traced Keras model after the layer that
made them (``functional_1/lstm1_1/TensorArrayV2``), so the layer behind a
failing operation can be found in the converter's message.
"""

from __future__ import annotations

import re
from typing import Any

_CROP = ("at inference Keras' RandomCrop passes the whole image through although the model's shapes "
         "assume the cropped size, so a served model does not predict what the trained one did; crop the "
         "images in the data instead")

#: Layers that a format cannot represent faithfully, with the reason, checked before converting.
UNSUPPORTED: dict[str, dict[str, str]] = {
    "savedmodel": {"RandomCrop": _CROP},
    "onnx": {
        "RandomCrop": _CROP + " (and ONNX has no counterpart of the random-number operations it traces)",
    },
    "tflite": {
        "RandomCrop": _CROP + " (and TFLite has no counterpart of the random-number operations it traces: "
                              "StatelessRandomGetKeyCounter)",
    },
}


def unsupported_layers(model: Any, fmt: str) -> list[tuple[str, str, str]]:
    """``(layer name, class, reason)`` for each layer of ``model`` that ``fmt`` cannot take."""
    table = UNSUPPORTED.get(fmt, {})
    return [(layer.name, type(layer).__name__, table[type(layer).__name__])
            for layer in model.layers if type(layer).__name__ in table]


def layer_in_message(message: str, model: Any) -> Any | None:
    """The model layer whose operations a converter message names (the first one mentioned)."""
    best: tuple[int, Any] | None = None
    for layer in sorted(model.layers, key=lambda lay: -len(lay.name)):
        pattern = rf"(?:^|[/\"'\s(,]){re.escape(layer.name)}(?:_\d+)?/"
        m = re.search(pattern, message)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), layer)
    return best[1] if best else None


def reason_in_message(message: str) -> str:
    """The short reason in a converter's (often very long) message."""
    lines = [ln.strip() for ln in str(message).splitlines() if ln.strip()]
    for ln in lines:
        if "error:" in ln:
            tail = ln.split("error:", 1)[1]
            if "): " in tail:
                tail = tail.rsplit("): ", 1)[1]
            return _short(tail.strip())
    m = re.search(r"In Node, \(\"[^\"]*\", (\w+),", str(message))
    if m:
        return f"the converted model uses the operation {m.group(1)}, which the runtime does not have"
    return _short(lines[0] if lines else type(message).__name__)


def _short(text: str, limit: int = 240) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def describe_failure(exc: BaseException, model: Any, what: str) -> str:
    """A one-line message: which layer (when it can be found) and why ``what`` failed."""
    message = str(exc) or type(exc).__name__
    layer = layer_in_message(message, model)
    reason = reason_in_message(message)
    if layer is not None:
        return f"layer '{layer.name}' ({type(layer).__name__}) cannot be exported to {what}: {reason}"
    return f"the model cannot be exported to {what}: {reason}"
