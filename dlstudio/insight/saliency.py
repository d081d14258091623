"""Where a classifier looks: saliency maps and Grad-CAM (numpy in, numpy out).

- :func:`saliency` ``(model, x, class_index=None)``: ``|d score / d x|``, the
  magnitude of the class score's gradient with respect to every input value
  (Simonyan et al. 2013); for images the largest value over the channels.
- :func:`grad_cam` ``(model, x, class_index=None, layer_name=None)``: the
  class activation map of a convolution layer (Selvaraju et al. 2017): each
  channel of its output weighted by the spatial mean of the score's gradient,
  summed, ReLU, divided by its maximum; the layer's own spatial size.
- :func:`explain` does both with one forward pass; :func:`overlay` blends a
  heat map over an image.

**The class score.** When the model ends in a softmax (or sigmoid) the score
is the *logit*, the value before that activation: a Dense layer with
``activation="softmax"`` is evaluated without it (its own kernel and bias),
a final ``Activation``/``Softmax`` layer is skipped. A probability's gradient
is small wherever the softmax saturates and mixes in every other class; the
logit's is not (Simonyan et al. use the unnormalised score for that reason).
``logits=False`` takes the model's outputs as they are. A single sigmoid unit
``z`` gives two scores, ``(-z, z)`` (``(1 - p, p)`` for probabilities).

Gradients come from :func:`dlstudio.inference.input_gradients.input_gradient` (the one
backend-specific module); Grad-CAM differentiates a *head* model from the
chosen layer's output to the scores, so the same helper serves both.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from dlstudio.insight.activations import (
    InsightError,
    as_batch,
    conv_layers,
    spatial_layers,
)

SOFTMAX_LIKE = ("softmax", "sigmoid")


@functools.cache
def _scores_layer_class() -> type:
    import keras

    class ClassScores(keras.layers.Layer):
        """Class scores from the output layer's input: a Dense layer's pre-activation
        output (with its own weights, so nothing is copied), and one unit made two."""

        def __init__(self, dense: Any = None, two_columns: bool = False, probabilities: bool = False, **kwargs):
            super().__init__(**kwargs)
            self.dense = dense
            self.two_columns = two_columns
            self.probabilities = probabilities

        def call(self, x):
            ops = keras.ops
            y = x
            if self.dense is not None:
                y = ops.matmul(x, self.dense.kernel)
                if self.dense.use_bias:
                    y = y + self.dense.bias
            if self.two_columns:
                y = ops.concatenate([1.0 - y if self.probabilities else -y, y], axis=-1)
            return y

        def compute_output_shape(self, input_shape):
            width = self.dense.units if self.dense is not None else input_shape[-1]
            return tuple(input_shape[:-1]) + (2 if self.two_columns else width,)

    return ClassScores


def _activation_name(layer: Any) -> str:
    if type(layer).__name__ == "Softmax":
        return "softmax"
    act = getattr(layer, "activation", None)
    return getattr(act, "__name__", str(act or ""))


def _output_layer(model: Any) -> Any:
    out = model.outputs[0]
    for layer in model.layers:
        if getattr(layer, "output", None) is out:
            return layer
    return model.layers[-1]


@dataclass
class _Scorer:
    """The (cached) score model of a classifier and the heads for Grad-CAM."""

    model: Any
    logits: bool
    scores: Any  # the KerasTensor of class scores
    score_model: Any
    description: str
    heads: dict
    kind: str = "logits"  # "logits", "binary_logits" ((-z, z)) or "probabilities"

    def probabilities(self, scores: np.ndarray) -> np.ndarray:
        """Class probabilities from scores of this kind (softmax of logits, sigmoid of one)."""
        s = np.asarray(scores, np.float64)
        if self.kind == "probabilities":
            return s
        if self.kind == "binary_logits":
            p = 1.0 / (1.0 + np.exp(-s[..., 1:]))
            return np.concatenate([1.0 - p, p], axis=-1)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)

    def head(self, layer_name: str) -> Any:
        """keras.Model(layer output -> scores), or InsightError when a path bypasses the layer."""
        if layer_name not in self.heads:
            import keras

            layer = self.model.get_layer(layer_name)
            try:
                self.heads[layer_name] = (keras.Model(layer.output, self.scores, name=f"{layer_name}_head"),
                                          keras.Model(self.model.inputs[0], [layer.output, self.scores]))
            except ValueError:
                self.heads[layer_name] = None
        if self.heads[layer_name] is None:
            raise InsightError(f"Grad-CAM cannot use {layer_name}: a path from the input to the output goes "
                               "around it (a skip connection or a second branch); choose a layer every path "
                               "passes through, such as the one after the merge")
        return self.heads[layer_name]


_SCORERS: "weakref.WeakKeyDictionary[Any, dict]" = weakref.WeakKeyDictionary()


def scorer(model: Any, logits: bool = True) -> _Scorer:
    """The class-score model of a one-input classifier (cached per model)."""
    per = _SCORERS.setdefault(model, {})
    if logits in per:
        return per[logits]
    import keras

    if len(model.outputs) != 1:
        raise InsightError(f"the model has {len(model.outputs)} outputs; saliency explains one classifier output")
    if len(model.inputs) != 1:
        raise InsightError(f"the model has {len(model.inputs)} inputs; saliency needs a model with one input")
    out = model.outputs[0]
    if len(out.shape) != 2:
        raise InsightError(f"the output has shape {tuple(out.shape[1:])}; saliency needs class scores "
                           "(batch, classes)")
    last = _output_layer(model)
    act = _activation_name(last)
    kind = type(last).__name__
    dense, source = None, out
    if logits and act in SOFTMAX_LIKE and kind == "Dense":
        dense, source = last, last.input
        description = f"logits: {last.name} without its {act}"
    elif logits and act in SOFTMAX_LIKE and kind in ("Activation", "Softmax"):
        source = last.input
        description = f"logits: the input of {last.name} ({act})"
    else:
        description = f"outputs of {last.name}" + (f" ({act})" if act and act != "linear" else "")
    two = int(out.shape[-1]) == 1
    probabilities = act in SOFTMAX_LIKE and source is out
    scores = _scores_layer_class()(dense, two, probabilities, name="class_scores")(source)
    score_model = keras.Model(model.inputs[0], scores, name=f"{model.name}_scores")
    kind = "probabilities" if probabilities else ("binary_logits" if two else "logits")
    per[logits] = _Scorer(model, logits, scores, score_model, description, {}, kind)
    return per[logits]


def target_classes(scores: np.ndarray, class_index: Any) -> np.ndarray:
    """The class explained for each sample: the best-scoring one (``class_index`` None), one
    class for all, or one per sample; InsightError for a class the model does not have."""
    n, c = scores.shape
    if class_index is None:
        return scores.argmax(axis=-1).astype(np.int32)
    idx = np.asarray(class_index, np.int64)
    idx = np.full(n, int(idx), np.int64) if idx.ndim == 0 else idx.reshape(-1)
    if len(idx) != n:
        raise InsightError(f"{len(idx)} class indices for {n} samples")
    bad = idx[(idx < 0) | (idx >= c)]
    if len(bad):
        raise InsightError(f"class {int(bad[0])} is out of range: the model has {c} classes (0 to {c - 1})")
    return idx.astype(np.int32)


def _gradient(model: Any, x: np.ndarray, target: np.ndarray) -> np.ndarray:
    from dlstudio.inference.input_gradients import input_gradient

    return input_gradient(model, x, target)


def class_scores(model: Any, x: Any, logits: bool = True) -> np.ndarray:
    """The class scores the maps explain: ``(n, classes)`` (or ``(classes,)`` for one sample)."""
    batch, single = as_batch(model, x)
    s = np.asarray(scorer(model, logits).score_model.predict_on_batch(batch), np.float32)
    return s[0] if single else s


def _reduce(grad: np.ndarray, model_input_rank: int, reduce_channels: bool) -> np.ndarray:
    g = np.abs(grad)
    if reduce_channels and model_input_rank == 3:  # (H, W, C) samples: the strongest channel
        g = g.max(axis=-1)
    return g.astype(np.float32)


def saliency(model: Any, x: Any, class_index: Any = None, *, logits: bool = True,
             reduce_channels: bool = True) -> np.ndarray:
    """``|d score / d x|`` for each sample: shaped like the input, except that image
    samples ``(H, W, C)`` give ``(H, W)`` (the largest over channels) unless
    ``reduce_channels=False``. ``class_index``: an int, one per sample, or None for
    each sample's predicted class. Not normalised (see :func:`normalized`)."""
    batch, single = as_batch(model, x)
    sc = scorer(model, logits)
    target = target_classes(np.asarray(sc.score_model.predict_on_batch(batch)), class_index)
    sal = _reduce(_gradient(sc.score_model, batch, target), batch.ndim - 1, reduce_channels)
    return sal[0] if single else sal


def gradcam_layer(model: Any, logits: bool = True) -> str:
    """The layer Grad-CAM uses by default: the last 2-D convolution every path to the
    output passes through (else the last such map-shaped layer)."""
    sc = scorer(model, logits)
    spatial = spatial_layers(model)
    convs = conv_layers(model)
    for name in list(reversed(convs)) + [n for n in reversed(spatial) if n not in convs]:
        try:
            sc.head(name)
            return name
        except InsightError:
            continue
    if not spatial:
        raise InsightError("the model has no convolution layer (no layer with a height x width x channels "
                           "output), so there is nothing for Grad-CAM to map")
    raise InsightError("every convolution layer is bypassed by a skip connection; pass layer_name= a layer "
                       "after the merge")


def _cam(activation: np.ndarray, grads: np.ndarray) -> np.ndarray:
    weights = grads.mean(axis=(1, 2))  # (n, K): how much each channel raises the score
    cam = np.maximum((activation * weights[:, None, None, :]).sum(axis=-1), 0.0)
    peak = cam.max(axis=(1, 2), keepdims=True)
    return np.where(peak > 0, cam / np.where(peak > 0, peak, 1.0), 0.0).astype(np.float32)


def grad_cam(model: Any, x: Any, class_index: Any = None, layer_name: str | None = None, *,
             logits: bool = True) -> np.ndarray:
    """Grad-CAM of ``layer_name`` (default :func:`gradcam_layer`): ``(n, h, w)`` in [0, 1]
    (``(h, w)`` for one sample) with the layer's own spatial size ``h x w``."""
    return explain(model, x, class_index, layer_name, logits=logits, with_saliency=False).cam


@dataclass
class Explanation:
    """Saliency and Grad-CAM of a batch (or one sample: no batch axes) for ``classes``."""

    classes: np.ndarray  # explained class per sample
    scores: np.ndarray  # (n, C) class scores (logits, or outputs; see ``score``)
    probabilities: np.ndarray  # (n, C) the model's class probabilities
    score: str  # what the scores are
    layer: str  # the Grad-CAM layer ("" without Grad-CAM)
    saliency: np.ndarray | None
    cam: np.ndarray | None
    cam_error: str = ""  # why there is no Grad-CAM


def explain(model: Any, x: Any, class_index: Any = None, layer_name: str | None = None, *,
            logits: bool = True, with_saliency: bool = True, with_cam: bool | str = True) -> Explanation:
    """Saliency and Grad-CAM together, from one forward pass. ``with_cam="auto"``:
    a model without a usable convolution layer gets saliency only (``cam`` None,
    ``cam_error`` says why) instead of an InsightError."""
    batch, single = as_batch(model, x)
    sc = scorer(model, logits)
    name, cam_error = "", ""
    if with_cam:
        try:
            name = layer_name or gradcam_layer(model, logits)
            if layer_name is not None:
                try:
                    model.get_layer(layer_name)
                except ValueError:
                    raise InsightError(f"no layer named {layer_name!r}") from None
                if layer_name not in spatial_layers(model):
                    raise InsightError(f"{layer_name} has no height x width x channels output; Grad-CAM needs a "
                                       "convolution (or pooling) layer")
            head, base = sc.head(name)
        except InsightError as exc:
            if with_cam != "auto":
                raise
            name, cam_error = "", str(exc)
    cam = None
    if name:
        activation, scores = (np.asarray(a, np.float32) for a in base.predict_on_batch(batch))
        target = target_classes(scores, class_index)
        cam = _cam(activation, _gradient(head, activation, target))
    else:
        scores = np.asarray(sc.score_model.predict_on_batch(batch), np.float32)
        target = target_classes(scores, class_index)
    sal = None
    if with_saliency:
        sal = _reduce(_gradient(sc.score_model, batch, target), batch.ndim - 1, True)
    probs = sc.probabilities(scores).astype(np.float32)
    if single:
        return Explanation(target[0], scores[0], probs[0], sc.description, name,
                           None if sal is None else sal[0], None if cam is None else cam[0], cam_error)
    return Explanation(target, scores, probs, sc.description, name, sal, cam, cam_error)


# ----------------------------------------------------------------- pictures
def normalized(heat: np.ndarray) -> np.ndarray:
    """A heat map divided by its maximum (all zeros stays zeros), float32 in [0, 1]."""
    h = np.abs(np.nan_to_num(np.asarray(heat, np.float64)))
    peak = h.max() if h.size else 0.0
    return (h / peak if peak > 0 else np.zeros_like(h)).astype(np.float32)


def display_image(sample: np.ndarray) -> np.ndarray:
    """A sample as an image to look at: ``(H, W, C)``/``(H, W)`` -> ``(H, W, 3)``
    float32 in [0, 1]; values outside [0, 1] (standardised data) are stretched."""
    a = np.nan_to_num(np.asarray(sample, np.float64))
    if a.ndim == 2:
        a = a[..., None]
    if a.ndim != 3 or a.shape[-1] not in (1, 3, 4):
        raise InsightError(f"a sample of shape {np.shape(sample)} is not an image (height, width, 1 or 3 channels)")
    a = a[..., :3]
    if a.size and (a.min() < 0.0 or a.max() > 1.0):
        lo, hi = a.min(), a.max()
        a = (a - lo) / (hi - lo) if hi > lo else np.zeros_like(a)
    if a.shape[-1] == 1:
        a = np.repeat(a, 3, axis=-1)
    return a.astype(np.float32)


def resize_map(heat: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear resize of a 2-D map to ``height x width`` (float32)."""
    from PIL import Image

    h = np.asarray(heat, np.float32)
    if h.shape == (height, width):
        return h.copy()
    return np.asarray(Image.fromarray(h, mode="F").resize((int(width), int(height)), Image.Resampling.BILINEAR),
                      np.float32)


def overlay(image: np.ndarray, heat: np.ndarray, alpha: float = 0.45, cmap: str = "inferno") -> np.ndarray:
    """``image`` (a sample, see :func:`display_image`) with ``heat`` (any 2-D size,
    values in [0, 1]) resized to it, colour-mapped and blended with weight ``alpha``:
    ``(H, W, 3)`` float32 in [0, 1]."""
    from dlstudio.insight.activations import colorize

    if not 0.0 <= float(alpha) <= 1.0:
        raise ValueError(f"alpha must be between 0 and 1 (got {alpha})")
    img = display_image(image)
    heat2 = np.asarray(heat, np.float32)
    if heat2.ndim != 2:
        raise ValueError(f"expected a 2-D heat map; got shape {heat2.shape}")
    big = np.clip(resize_map(heat2, img.shape[0], img.shape[1]), 0.0, 1.0)
    colored = colorize(big, cmap).astype(np.float32) / 255.0
    return np.clip((1.0 - alpha) * img + alpha * colored, 0.0, 1.0).astype(np.float32)
