"""Live previews of what every layer does to one sample, for the editor's nodes.

:class:`PreviewModel` keeps, per node, the weights it gave it last time, keyed by the
node's *signature* (its type, settings and everything upstream of it): after an edit only
the nodes downstream of it get new weights, so only their outputs change. With a run's
weights (or the running training's) each layer takes the weights of the layer of the same
name when their shapes agree; a layer added since then keeps fresh weights.

:func:`preview_picture` turns one layer's output into a small picture: feature maps as
tiles (up to 16 channels), a vector as a bar strip, a sequence as a heat strip; the
output layer of a classifier shows its class probabilities as bars.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlstudio.graph import Graph
from dlstudio.insight.activations import InsightError

MAX_TILES = 16
STRIP_W, STRIP_H = 48, 24


@dataclass(frozen=True)
class Preview:
    kind: str  # "maps" | "vector" | "sequence" | "probabilities"
    image: np.ndarray  # uint8, (h, w) grey or (h, w, 3)
    text: str  # for a tooltip: what the picture shows
    digest: str  # changes exactly when the picture does

    @classmethod
    def of(cls, kind: str, image: np.ndarray, text: str) -> Preview:
        image = np.ascontiguousarray(image, dtype=np.uint8)
        return cls(kind, image, text, hashlib.sha1(image.tobytes() + str(image.shape).encode()).hexdigest())


def node_signatures(graph: Graph) -> dict[str, str]:
    """Per node id: a hash of its type, name, settings and, in order, the signatures and
    ports of what feeds it. Equal signatures mean equal outputs for equal weights."""
    sigs: dict[str, str] = {}
    for nid in graph.acyclic_order():
        node = graph.node(nid)
        feeds = [(sigs.get(e.src, "?"), e.src_port, e.dst_port) for e in graph.in_edges(nid)]
        text = json.dumps([node.type, node.name, node.params, feeds], sort_keys=True, default=str)
        sigs[nid] = hashlib.sha1(text.encode()).hexdigest()
    return sigs


def transfer_weights(source: Any, target: Any) -> list[str]:
    """Copy each layer's weights from ``source`` to the layer of the same name in ``target``
    where every weight's shape agrees; returns the names copied."""
    by_name = {layer.name: layer for layer in source.layers}
    copied = []
    for layer in target.layers:
        src = by_name.get(layer.name)
        if src is None or not layer.weights:
            continue
        weights = src.get_weights()
        if len(weights) == len(layer.weights) and all(tuple(w.shape) == tuple(v.shape)
                                                      for w, v in zip(weights, layer.weights)):
            layer.set_weights(weights)
            copied.append(layer.name)
    return copied


class PreviewModel:
    """Computes every node's output for one sample, keeping unchanged nodes' weights."""

    def __init__(self) -> None:
        self.weights: dict[str, list[np.ndarray]] = {}  # node signature -> its layer's weights
        self.computed = 0  # forward passes so far (for tests and benchmarks)

    def outputs(self, graph: Graph, inputs: list[np.ndarray], source: Any = None) -> dict[str, np.ndarray]:
        """``{node id: first output for the sample (no batch axis)}``; ``inputs`` one array per
        model input (no batch axis); ``source``: a keras.Model whose weights to use (a run's)."""
        import keras

        from dlstudio.compile import CompileError, build_model

        try:
            model = build_model(graph)
        except CompileError as exc:
            raise InsightError(f"the graph does not compile yet: {exc.problems[0] if exc.problems else exc}") from None
        sigs = node_signatures(graph)
        by_name = {n.name: n.id for n in graph.nodes}
        if source is not None:
            transfer_weights(source, model)
        else:
            for layer in model.layers:
                sig = sigs.get(by_name.get(layer.name, ""))
                if sig is None or not layer.weights:
                    continue
                kept = self.weights.get(sig)
                if kept is not None and [w.shape for w in kept] == [tuple(v.shape) for v in layer.weights]:
                    layer.set_weights(kept)
                else:
                    self.weights[sig] = layer.get_weights()
            live = {sigs[n] for n in sigs}
            self.weights = {k: v for k, v in self.weights.items() if k in live}
        layers = [layer for layer in model.layers if layer.name in by_name and type(layer).__name__ != "InputLayer"]
        tensors = [layer.output[0] if isinstance(layer.output, (list, tuple)) else layer.output for layer in layers]
        probe = keras.Model(model.inputs, tensors)
        batch = [np.asarray(x)[None].astype(np.float32) if np.asarray(x).dtype.kind == "f" else np.asarray(x)[None]
                 for x in inputs]
        # one eager call: no graph to trace for a model that changes after every edit (tracing a
        # 500-layer function holds the GIL for long stretches and takes most of the time)
        outs = probe(batch, training=False)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        outs = [keras.ops.convert_to_numpy(o) for o in outs]
        self.computed += 1
        result = {by_name[layer.name]: np.asarray(out)[0] for layer, out in zip(layers, outs)}
        input_names = [t._keras_history.operation.name for t in model.inputs]
        for i, name in enumerate(input_names):  # an Input shows the sample itself
            if name in by_name and i < len(inputs):
                result[by_name[name]] = np.asarray(inputs[i])
        return result


def _stretch(a: np.ndarray) -> np.ndarray:
    a = np.nan_to_num(np.asarray(a, np.float64))
    lo, hi = float(a.min()) if a.size else 0.0, float(a.max()) if a.size else 0.0
    return np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo)


def preview_picture(output: np.ndarray, *, probabilities: bool = False, class_names: list[str] | None = None
                    ) -> Preview:
    """A small picture of one layer's output for one sample (see the module's docstring)."""
    a = np.asarray(output)
    if a.dtype.kind not in "biuf":
        return Preview.of("vector", np.zeros((STRIP_H, STRIP_W)), f"{a.dtype} values")
    a = a.astype(np.float64)
    if a.ndim == 3:  # (h, w, c): tiles of the first channels, each stretched on its own
        c = min(a.shape[2], MAX_TILES)
        cols = int(np.ceil(np.sqrt(c)))
        rows = int(np.ceil(c / cols))
        h, w = a.shape[:2]
        grid = np.full((rows * (h + 1) - 1, cols * (w + 1) - 1), 0.0)
        for k in range(c):
            r, q = divmod(k, cols)
            grid[r * (h + 1): r * (h + 1) + h, q * (w + 1): q * (w + 1) + w] = _stretch(a[:, :, k])
        text = f"{a.shape[2]} feature maps of {h}×{w}" + (f" (first {c})" if a.shape[2] > c else "")
        return Preview.of("maps", (grid * 255).round(), text)
    if a.ndim == 2:  # (steps, features): features down, steps across
        return Preview.of("sequence", (_stretch(a.T) * 255).round(), f"{a.shape[0]} steps × {a.shape[1]} features")
    flat = a.reshape(-1)
    if probabilities and flat.size == 1:  # a sigmoid: the probability of the positive class
        name = class_names[1] if class_names and len(class_names) > 1 else "1"
        text = f"class {name}: {float(flat[0]):.0%}"
        bars, kind = np.clip(flat, 0, 1), "probabilities"
    elif probabilities and flat.size > 1:
        k = int(np.argmax(flat))
        name = class_names[k] if class_names and k < len(class_names) else str(k)
        text = f"class {name}: {flat[k]:.0%}"
        bars = np.clip(flat, 0, 1)
        kind = "probabilities"
    else:
        text = (f"{flat.size} values, {flat.min():.3g} to {flat.max():.3g}" if flat.size > 1
                else f"value {float(flat[0]):.3g}" if flat.size else "no values")
        bars = _stretch(flat)
        kind = "vector"
    n = max(1, min(flat.size, STRIP_W))
    if flat.size > n:  # more values than columns: the strongest of each column's group
        bars = np.array([g.max() for g in np.array_split(bars, n)])
    width = max(1, STRIP_W // (2 * n)) if n < STRIP_W // 2 else 1  # a few values get wide bars
    gap = 1 if width > 2 else 0
    image = np.zeros((STRIP_H, n * width))
    for i, v in enumerate(bars):
        height = int(round(float(v) * STRIP_H))
        if height:
            image[STRIP_H - height:, i * width: (i + 1) * width - gap] = 255
    if n == 1:  # one value (a sigmoid's probability): a gauge with its frame
        image[0, :], image[-1, :], image[:, 0], image[:, -1] = 128, 128, 128, 128
    return Preview.of(kind, image, text)
