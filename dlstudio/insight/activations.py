"""What a network computes inside: feature maps, filters, weights (numpy in, numpy out).

- :class:`ActivationProbe` ``(model)`` builds one sub-model with an output for
  every layer (except the Input) once, and ``probe(x)`` returns
  ``{layer name: activation}`` for one sample or a batch.
- :func:`channel_grid` turns one layer's activation ``(H, W, C)`` into ``C``
  tiles ``(C, H, W)`` in [0, 1], one per channel (a feature map each).
- :func:`first_layer_filters` gives the first convolution's kernels as small
  images ``(n, kh, kw, cin)`` in [0, 1] (0.5 is a zero weight).
- :func:`weight_histograms` counts every layer's weights (kernel, bias, ...).
- :func:`colorize` and :data:`LUTS` map [0, 1] values to colours; the GUI uses
  the same lookup tables, so the CLI's PNGs and the panel look alike.

Layer names are the graph's node names (``build_model`` names layers after
nodes), so a canvas selection finds its feature maps by name.
"""

from __future__ import annotations

import weakref
from typing import Any, Iterable, Sequence

import numpy as np
from dlstudio.errors import DLStudioError


class InsightError(DLStudioError, ValueError):
    """A model or an input that cannot be looked into (no conv layer, a non-image input, ...)."""


# ----------------------------------------------------------------- colour maps
def _lut(anchors: Sequence[tuple[int, int, int]]) -> np.ndarray:
    """A (256, 3) uint8 table interpolated between evenly spaced anchor colours."""
    a = np.asarray(anchors, np.float64)
    pos = np.linspace(0.0, 1.0, len(a))
    t = np.linspace(0.0, 1.0, 256)
    return np.rint(np.stack([np.interp(t, pos, a[:, i]) for i in range(3)], axis=1)).astype(np.uint8)


#: Colour lookup tables (256 x RGB uint8): viridis for activations, inferno for
#: heat maps (saliency, Grad-CAM), coolwarm for signed weights, gray.
LUTS: dict[str, np.ndarray] = {
    "viridis": _lut([(68, 1, 84), (71, 44, 122), (59, 81, 139), (44, 113, 142), (33, 144, 141),
                     (39, 173, 129), (92, 200, 99), (170, 220, 50), (253, 231, 37)]),
    "inferno": _lut([(0, 0, 4), (31, 12, 72), (85, 15, 109), (136, 34, 106), (186, 54, 85),
                     (227, 89, 51), (249, 140, 10), (249, 201, 50), (252, 255, 164)]),
    "coolwarm": _lut([(59, 76, 192), (141, 176, 254), (221, 221, 221), (244, 154, 123), (180, 4, 38)]),
    "gray": _lut([(0, 0, 0), (255, 255, 255)]),
}


def colorize(values: np.ndarray, cmap: str = "viridis") -> np.ndarray:
    """Values in [0, 1] (any shape, clipped; NaN as 0) -> the same shape + (3,) RGB uint8."""
    try:
        lut = LUTS[cmap]
    except KeyError:
        raise ValueError(f"unknown colour map {cmap!r}; choose one of {', '.join(LUTS)}") from None
    v = np.clip(np.nan_to_num(np.asarray(values, np.float64)), 0.0, 1.0)
    return lut[np.rint(v * 255).astype(np.intp)]


# ----------------------------------------------------------------- layers
def layer_kind(shape: Sequence[Any]) -> str:
    """How to show a layer's output from its shape without the batch axis:
    "maps" (height, width, channels), "vector" (features), "sequence" (steps,
    features) or "other"."""
    return {3: "maps", 1: "vector", 2: "sequence"}.get(len(shape), "other")


def _output_shape(layer: Any) -> tuple | None:
    out = getattr(layer, "output", None)
    if out is None or isinstance(out, (list, tuple, dict)):
        return None
    return tuple(out.shape[1:])


def probe_layers(model: Any) -> list[Any]:
    """The layers worth probing: every layer except Input layers and layers with
    several outputs (an RNN returning its states), in model order."""
    return [layer for layer in model.layers
            if type(layer).__name__ != "InputLayer" and _output_shape(layer) is not None]


def is_conv(layer: Any) -> bool:
    return "Conv" in type(layer).__name__ and len(getattr(layer, "kernel", np.zeros(0)).shape) >= 3


def spatial_layers(model: Any) -> list[str]:
    """Names of the layers whose output is an image-like (height, width, channels) map."""
    return [layer.name for layer in probe_layers(model) if layer_kind(_output_shape(layer)) == "maps"]


def conv_layers(model: Any) -> list[str]:
    """Names of the 2-D convolution layers (a 4-D kernel and a map-shaped output)."""
    return [layer.name for layer in probe_layers(model)
            if is_conv(layer) and layer_kind(_output_shape(layer)) == "maps"]


def single_input(model: Any) -> tuple:
    """The shape (without batch) of the model's only input; InsightError for several."""
    inputs = list(getattr(model, "inputs", None) or [])
    if len(inputs) != 1:
        raise InsightError(f"the model has {len(inputs)} inputs; looking inside needs a model with one input")
    return tuple(inputs[0].shape[1:])


def as_batch(model: Any, x: Any) -> tuple[np.ndarray, bool]:
    """``(batch, was_single)``: one sample gets a batch axis; the shape is checked."""
    shape = single_input(model)
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise InsightError(f"the input holds {arr.dtype} values, expected numbers")
    single = arr.ndim == len(shape)
    if single:
        arr = arr[None]
    if arr.ndim != len(shape) + 1 or any(s is not None and s != d for s, d in zip(shape, arr.shape[1:])):
        raise InsightError(f"the model takes samples of shape {shape}; got an array of shape {np.shape(x)}")
    if "float" in str(getattr(model.inputs[0], "dtype", "float32")):
        arr = arr.astype(np.float32)
    return arr, single


# ----------------------------------------------------------------- the probe
class ActivationProbe:
    """Every probed layer's output for an input, from one sub-model built once.

    ``layer_names``, ``shapes`` (without batch) and ``kinds`` (see
    :func:`layer_kind`) describe what :meth:`probe` returns. The sub-model
    shares the model's weights, so a probe always sees the current weights.
    """

    def __init__(self, model: Any, layers: Iterable[str] | None = None):
        import keras

        single_input(model)
        chosen = probe_layers(model)
        if layers is not None:
            wanted = list(layers)
            by_name = {layer.name: layer for layer in chosen}
            missing = [n for n in wanted if n not in by_name]
            if missing:
                raise InsightError(f"no layer named {missing[0]!r} to probe (layers: "
                                   f"{', '.join(by_name) or 'none'})")
            chosen = [by_name[n] for n in wanted]
        if not chosen:
            raise InsightError("the model has no layers to look into")
        self.model = model
        self.layer_names: list[str] = [layer.name for layer in chosen]
        self.shapes: dict[str, tuple] = {layer.name: _output_shape(layer) for layer in chosen}
        self.kinds: dict[str, str] = {n: layer_kind(s) for n, s in self.shapes.items()}
        self._sub = keras.Model(model.inputs[0], [layer.output for layer in chosen], name=f"{model.name}_probe")

    def probe(self, x: Any) -> dict[str, np.ndarray]:
        """``{layer name: output}`` for one sample (no batch axis in the results) or
        a batch (results keep it), in inference mode (dropout off, BN moving stats)."""
        batch, single = as_batch(self.model, x)
        outs = self._sub.predict_on_batch(batch)
        if not isinstance(outs, (list, tuple)):
            outs = [outs]
        result = {}
        for name, out in zip(self.layer_names, outs):
            arr = np.asarray(out)
            result[name] = arr[0] if single else arr
        return result

    __call__ = probe


_PROBES: "weakref.WeakKeyDictionary[Any, ActivationProbe]" = weakref.WeakKeyDictionary()


def probe_for(model: Any) -> ActivationProbe:
    """The (cached) probe of every layer of ``model``."""
    p = _PROBES.get(model)
    if p is None:
        p = _PROBES[model] = ActivationProbe(model)
    return p


# ----------------------------------------------------------------- pictures
NORMALIZE = ("per_channel", "layer", "none")


def _scale(a: np.ndarray, lo: Any, hi: Any) -> np.ndarray:
    span = hi - lo
    safe = np.where(span > 0, span, 1.0)
    return np.where(span > 0, (a - lo) / safe, 0.0)


def channel_grid(activation: np.ndarray, normalize: str = "per_channel") -> np.ndarray:
    """One tile per channel: ``(H, W, C)`` (or ``(1, H, W, C)``) -> ``(C, H, W)`` float32 in [0, 1].

    ``normalize``: "per_channel" stretches each map to [0, 1] on its own (a
    constant map, such as a dead ReLU, is all 0); "layer" uses the layer's
    minimum and maximum, so brightness compares across channels; "none" clips.
    A vector ``(C,)`` gives ``C`` 1x1 tiles, a sequence ``(T, C)`` ``C`` tiles of 1 x T.
    """
    if normalize not in NORMALIZE:
        raise ValueError(f"normalize must be one of {', '.join(NORMALIZE)} (got {normalize!r})")
    a = np.asarray(activation, np.float64)
    if a.ndim == 4 and a.shape[0] == 1:
        a = a[0]
    if a.ndim == 1:
        a = a[None, None, :]
    elif a.ndim == 2:
        a = a[None, :, :]
    if a.ndim != 3:
        raise ValueError(f"expected an activation shaped (H, W, C); got {np.shape(activation)}")
    tiles = np.moveaxis(np.nan_to_num(a), -1, 0)  # (C, H, W)
    if normalize == "per_channel":
        lo = tiles.min(axis=(1, 2), keepdims=True)
        hi = tiles.max(axis=(1, 2), keepdims=True)
        tiles = _scale(tiles, lo, hi)
    elif normalize == "layer":
        tiles = _scale(tiles, tiles.min(), tiles.max())
    return np.clip(tiles, 0.0, 1.0).astype(np.float32)


def _find_layer(model: Any, name: str) -> Any:
    try:
        return model.get_layer(name)
    except ValueError:
        names = ", ".join(layer.name for layer in probe_layers(model))
        raise InsightError(f"no layer named {name!r} (layers: {names or 'none'})") from None


def first_layer_filters(model: Any, layer_name: str | None = None) -> np.ndarray:
    """The kernels of the first 2-D convolution (or ``layer_name``) as images
    ``(filters, kh, kw, cin)`` in [0, 1]: each filter divided by twice its own
    largest |weight| and shifted by 0.5, so a zero weight is 0.5 (mid grey, or
    the middle of a diverging colour map) and the sign stays visible."""
    if layer_name is None:
        names = conv_layers(model)
        if not names:
            raise InsightError("the model has no 2-D convolution layer, so it has no filters to show")
        layer_name = names[0]
    layer = _find_layer(model, layer_name)
    kernel = getattr(layer, "kernel", None)
    if kernel is None or len(kernel.shape) != 4:
        raise InsightError(f"{layer_name} is not a 2-D convolution (it has no 4-D kernel)")
    k = np.moveaxis(np.asarray(kernel, np.float64), -1, 0)  # (n, kh, kw, cin)
    peak = np.abs(k).max(axis=(1, 2, 3), keepdims=True)
    k = np.where(peak > 0, k / (2.0 * np.where(peak > 0, peak, 1.0)), 0.0) + 0.5
    return np.clip(k, 0.0, 1.0).astype(np.float32)


def _weight_name(v: Any, taken: set[str]) -> str:
    name = str(getattr(v, "name", "") or "weight").rsplit("/", 1)[-1].split(":")[0]
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def weight_histograms(model: Any, bins: int = 40) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``{layer: {weight name: (counts, edges)}}`` for every layer with weights
    (kernel, bias, BN gamma/beta/moving statistics...), in model order; ``counts``
    has ``bins`` int64 values and ``edges`` ``bins + 1`` (a constant weight gets a
    unit-wide range around its value)."""
    if bins < 1:
        raise ValueError(f"bins must be at least 1 (got {bins})")
    out: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for layer in model.layers:
        weights = getattr(layer, "weights", None) or []
        if not weights:
            continue
        taken: set[str] = set()
        per: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        for v in weights:
            values = np.asarray(v, np.float64).ravel()
            values = values[np.isfinite(values)]
            if values.size == 0:
                lo, hi = 0.0, 1.0
            else:
                lo, hi = float(values.min()), float(values.max())
                if hi <= lo:
                    lo, hi = lo - 0.5, hi + 0.5
            counts, edges = np.histogram(values, bins=bins, range=(lo, hi))
            per[_weight_name(v, taken)] = (counts.astype(np.int64), edges)
        out[layer.name] = per
    return out
