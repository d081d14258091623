"""Why a classifier decided: attribution maps, numpy in and numpy out, on any backend.

:func:`attribute` ``(model, x, method, class_index=None, **options)`` gives an
:class:`Attribution` for one sample or a batch, with one of :data:`METHODS`:

- ``"saliency"``: ``|d score / d x|`` (Simonyan et al. 2013; :mod:`dlstudio.insight.saliency`).
- ``"gradcam"``: Grad-CAM of the last convolution (Selvaraju et al. 2017), the layer's size.
- ``"ig"``: Integrated Gradients (Sundararajan et al. 2017): ``(x - b) * mean of the
  gradient along the straight path from the baseline b to x`` (trapezoid rule over
  ``steps`` intervals; b defaults to the all-zero input). Its own check is
  *completeness*: the attributions sum to ``f(x) - f(b)``, where f is the chosen
  class's output as the model gives it (the probability for a softmax model);
  :attr:`Attribution.completeness_error` is the relative gap.
- ``"smoothgrad"``: the class score's gradient averaged over ``samples`` noisy copies
  (Smilkov et al. 2017; noise ``sigma = noise * (max - min)`` of the sample).
- ``"occlusion"``: a ``patch`` slid over the input (images: ``patch x patch`` pixels
  with ``stride``; text: one token, replaced by id 0; rows and sequences: one
  feature or time step), each position getting the mean drop of the chosen class's
  output over the patches that covered it (Zeiler & Fergus 2014).

The unit follows the input: ``pixel`` (images ``(H, W, C)``; :attr:`Attribution.heat`
is ``(H, W)``), ``token`` (integer ids into an Embedding layer: gradients are taken
at the embedding and summed over its width), ``feature`` (table rows) or ``step``
(sequences ``(T, F)``: summed over F). ``values`` keep the signed attributions in
the input's own shape (embeddings for text); ``heat`` is what to draw, one number
per unit (its magnitude; IG and occlusion keep their sign).

The class defaults to each sample's predicted one. Gradients come from
:mod:`dlstudio.inference.input_gradients` (TensorFlow, JAX or PyTorch). The model
randomisation test (Adebayo et al. 2018) is :mod:`dlstudio.insight.sanity`.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlstudio.insight.activations import InsightError, as_batch
from dlstudio.insight.saliency import target_classes

METHODS = ("saliency", "gradcam", "ig", "smoothgrad", "occlusion")
METHOD_NAMES = {"saliency": "Saliency (gradient)", "gradcam": "Grad-CAM", "ig": "Integrated Gradients",
                "smoothgrad": "SmoothGrad", "occlusion": "Occlusion"}
DEFAULT_STEPS = 64
_BATCH = 256


@dataclass
class Attribution:
    """Attributions of a batch (or of one sample: no batch axes) for ``classes``."""

    method: str
    values: np.ndarray  # signed attributions shaped like the input (embeddings for text; Grad-CAM: (h, w))
    heat: np.ndarray  # one number per pixel / token / feature / step
    classes: np.ndarray  # the explained class of each sample
    probabilities: np.ndarray  # (n, C) the model's class probabilities
    unit: str  # "pixel", "token", "feature", "step" (Grad-CAM: "cell")
    score: str  # what the method explains ("probability", "logit", ...)
    options: dict = field(default_factory=dict)
    #: Integrated Gradients: f(x), f(baseline) and the sum of the attributions, per sample
    target: np.ndarray | None = None
    baseline_score: np.ndarray | None = None
    total: np.ndarray | None = None
    layer: str = ""

    @property
    def completeness_error(self) -> np.ndarray | float | None:
        """|sum(attributions) - (f(x) - f(b))| / |f(x) - f(b)| (Integrated Gradients only)."""
        if self.total is None:
            return None
        delta = np.asarray(self.target, np.float64) - np.asarray(self.baseline_score, np.float64)
        err = np.abs(np.asarray(self.total, np.float64) - delta) / np.maximum(np.abs(delta), 1e-12)
        return float(err) if np.ndim(err) == 0 else err

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON (no arrays but the classes and the IG sums)."""
        d: dict[str, Any] = {"method": self.method, "unit": self.unit, "score": self.score,
                             "classes": np.asarray(self.classes).tolist(), "shape": list(np.shape(self.heat)),
                             "options": {k: v for k, v in self.options.items() if np.ndim(v) == 0}}
        if self.layer:
            d["layer"] = self.layer
        if self.total is not None:
            d.update({"f_x": np.asarray(self.target).tolist(), "f_baseline": np.asarray(self.baseline_score).tolist(),
                      "sum": np.asarray(self.total).tolist(),
                      "completeness_error": np.asarray(self.completeness_error).tolist()})
        return d


# ------------------------------------------------------------------ the space gradients are taken in
@dataclass
class _Space:
    """Where the gradients are taken: the model itself, or (integer token inputs) the head
    from its Embedding layer's output, with ``embed`` mapping ids to that space."""

    model: Any
    embed: Any  # keras.Model ids -> embeddings, or None
    unit: str
    pad: int = 0
    logit_model: Any = None  # tokens: embeddings -> class scores before the softmax (two columns for one unit)


_SPACES: "weakref.WeakKeyDictionary[Any, _Space]" = weakref.WeakKeyDictionary()


def _space(model: Any) -> _Space:
    if model in _SPACES:
        return _SPACES[model]
    import keras

    shape = as_batch(model, np.zeros((1,) + tuple(d or 1 for d in model.inputs[0].shape[1:]), np.float32))[0].shape
    if len(model.outputs) != 1 or len(model.outputs[0].shape) != 2:
        raise InsightError("attribution explains one classifier output of shape (batch, classes); this model "
                           f"gives {[tuple(o.shape[1:]) for o in model.outputs]}")
    dtype = str(getattr(model.inputs[0], "dtype", "float32"))
    if "int" in dtype:
        embedding = next((layer for layer in model.layers if type(layer).__name__ == "Embedding"
                          and getattr(layer, "input", None) is model.inputs[0]), None)
        if embedding is None:
            raise InsightError("the model takes integer tokens but no Embedding layer reads them, so there is "
                               "nothing continuous to take gradients of")
        from dlstudio.insight.saliency import scorer

        try:
            head = keras.Model(embedding.output, model.outputs[0], name=f"{model.name}_from_embedding")
            logit_head = keras.Model(embedding.output, scorer(model, True).scores, name=f"{model.name}_scores")
        except ValueError:
            raise InsightError(f"a path from the tokens to the output goes around {embedding.name}; attribution "
                               "needs every path to pass through the Embedding layer") from None
        space = _Space(head, keras.Model(model.inputs[0], embedding.output), "token", 0, logit_head)
    else:
        rank = len(shape) - 1
        space = _Space(model, None, {3: "pixel", 2: "step", 1: "feature"}.get(rank, "value"))
    _SPACES[model] = space
    return space


def _predict(model: Any, x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.asarray(model.predict_on_batch(x[i:i + _BATCH]), np.float32)
                           for i in range(0, len(x), _BATCH)]) if len(x) else np.zeros((0, 1), np.float32)


def probabilities_of(outputs: np.ndarray) -> np.ndarray:
    """(n, C) class probabilities from a classifier's outputs (one sigmoid unit -> two columns)."""
    out = np.asarray(outputs, np.float32)
    return np.concatenate([1.0 - out, out], axis=-1) if out.shape[-1] == 1 else out


def _score_gradient(space: _Space, x: np.ndarray, classes: np.ndarray, logits: bool, one_unit: bool) -> np.ndarray:
    """d f_class / d x in batches; one sigmoid unit: class 1 is p (or z), class 0 is 1 - p (-z)."""
    from dlstudio.inference.input_gradients import input_gradient

    model = space.model
    if logits and space.logit_model is not None:
        model, logits, one_unit = space.logit_model, False, False
    out = []
    for i in range(0, len(x), _BATCH):
        c = classes[i:i + _BATCH]
        g = input_gradient(model, x[i:i + _BATCH], np.zeros_like(c) if one_unit else c, logits=logits)
        if one_unit:
            g = g * np.where(c == 1, 1.0, -1.0).reshape((-1,) + (1,) * (g.ndim - 1)).astype(np.float32)
        out.append(g)
    return np.concatenate(out)


def _class_output(model: Any, x: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """f_class(x) as the model gives it (the probability for a softmax / sigmoid model)."""
    p = probabilities_of(_predict(model, x))
    return p[np.arange(len(x)), classes].astype(np.float64)


def _heat(values: np.ndarray, unit: str, signed: bool) -> np.ndarray:
    v = values if signed else np.abs(values)
    if unit in ("pixel", "token", "step"):
        if unit == "pixel" and not signed:
            return v.max(axis=-1).astype(np.float32)  # the strongest channel, as saliency
        return v.sum(axis=-1).astype(np.float32)
    return v.astype(np.float32)


# ------------------------------------------------------------------ the methods
def _ig(space: _Space, emb: np.ndarray, classes: np.ndarray, baseline: np.ndarray, steps: int,
        one_unit: bool) -> np.ndarray:
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype=np.float32)
    weights = np.full(steps + 1, 1.0 / steps, np.float32)
    weights[[0, -1]] *= 0.5  # the trapezoid rule
    out = np.zeros_like(emb)
    per = max(1, _BATCH // (steps + 1))
    for i in range(0, len(emb), per):
        x, b, c = emb[i:i + per], baseline[i:i + per], classes[i:i + per]
        diff = x - b
        path = b[:, None] + alphas.reshape((1, -1) + (1,) * (x.ndim - 1)) * diff[:, None]
        flat = path.reshape((-1,) + x.shape[1:])
        g = _score_gradient(space, flat, np.repeat(c, steps + 1), False, one_unit)
        g = g.reshape(path.shape)
        mean = np.tensordot(weights, np.moveaxis(g, 1, 0), axes=1)
        out[i:i + per] = diff * mean
    return out


def _baseline(baseline: Any, batch: np.ndarray, space: _Space) -> np.ndarray:
    """The baseline in the input space (a number, an array like one sample or the batch, or
    ``"zero"``/``None``/``"mean"``/``"blur"``); for tokens, ids (default: all padding id 0)."""
    if baseline is None or (isinstance(baseline, str) and baseline == "zero"):
        return np.zeros_like(batch)
    if isinstance(baseline, str):
        if baseline == "mean":
            return np.broadcast_to(batch.mean(axis=tuple(range(1, batch.ndim)), keepdims=True), batch.shape).copy()
        if baseline == "blur" and space.unit == "pixel":
            from scipy.ndimage import gaussian_filter

            return np.stack([gaussian_filter(s, sigma=(max(1.0, s.shape[0] / 8),) * 2 + (0,)) for s in batch])
        raise InsightError(f"unknown baseline {baseline!r}: use a number, an array, 'zero', 'mean' or 'blur'")
    b = np.asarray(baseline, batch.dtype)
    try:
        return np.broadcast_to(b, batch.shape).copy()
    except ValueError:
        raise InsightError(f"a baseline of shape {b.shape} does not fit samples of shape {batch.shape[1:]}") from None


def _occlusion(model: Any, batch: np.ndarray, classes: np.ndarray, unit: str, patch: int, stride: int,
               fill: Any, pad: int) -> np.ndarray:
    """The mean drop of f_class per position over the occluding patches that cover it."""
    n = len(batch)
    base = _class_output(model, batch, classes)
    if unit == "pixel":
        h, w = batch.shape[1:3]
        ys = list(range(0, max(h - patch, 0) + 1, stride))
        xs = list(range(0, max(w - patch, 0) + 1, stride))
        if ys[-1] + patch < h:
            ys.append(h - patch)
        if xs[-1] + patch < w:
            xs.append(w - patch)
        windows = [(slice(y, y + patch), slice(x, x + patch)) for y in ys for x in xs]
        shape = (h, w)
    else:
        length = batch.shape[1]
        windows = [(slice(t, t + 1),) for t in range(length)]
        shape = (length,)
    heat = np.zeros((n,) + shape, np.float64)
    count = np.zeros(shape, np.float64)
    fill_value = pad if unit == "token" else fill
    for window in windows:
        count[window] += 1
    for i in range(n):
        copies = np.repeat(batch[i:i + 1], len(windows), axis=0)
        for k, window in enumerate(windows):
            copies[(k,) + window] = fill_value if np.ndim(fill_value) == 0 else np.asarray(fill_value)[window]
        drops = base[i] - _class_output(model, copies, np.full(len(windows), classes[i], np.int32))
        for k, window in enumerate(windows):
            heat[(i,) + window] += drops[k]
    return (heat / np.maximum(count, 1)).astype(np.float32)


def default_patch(shape: tuple) -> tuple[int, int]:
    """(patch, stride) for occluding an image of ``shape`` (H, W, ...): about an eighth of its side."""
    side = int(min(shape[0], shape[1]))
    patch = max(2, side // 8) if side >= 4 else 1
    return patch, max(1, patch // 2)


def attribute(model: Any, x: Any, method: str = "ig", class_index: Any = None, *, baseline: Any = None,
              steps: int = DEFAULT_STEPS, samples: int = 32, noise: float = 0.15, patch: int | None = None,
              stride: int | None = None, layer_name: str | None = None, seed: int = 0,
              logits: bool | None = None) -> Attribution:
    """Attribute ``model``'s class ``class_index`` (an int, one per sample, None: predicted) for
    ``x`` (one sample or a batch) with ``method`` (see the module text). ``logits``: explain the
    pre-softmax score (default: True for saliency, SmoothGrad and Grad-CAM; IG and occlusion
    explain the probability, so completeness and drops are in probability)."""
    if method not in METHODS:
        raise InsightError(f"unknown attribution method {method!r}; choose one of {', '.join(METHODS)}")
    batch, single = as_batch(model, x)
    space = _space(model)
    outputs = _predict(model, batch)
    one_unit = outputs.shape[-1] == 1
    probs = probabilities_of(outputs)
    classes = target_classes(probs, class_index)
    options: dict[str, Any] = {}
    target = base_score = total = None
    layer = ""
    if method in ("saliency", "gradcam") and space.unit != "token":
        from dlstudio.insight.saliency import explain

        e = explain(model, batch, classes, layer_name, logits=logits is not False,
                    with_saliency=method == "saliency", with_cam=method == "gradcam")
        values = e.saliency if method == "saliency" else e.cam
        heat, unit, score, layer = values, ("cell" if method == "gradcam" else space.unit), e.score, e.layer
    elif method == "gradcam":
        raise InsightError("Grad-CAM needs images (a convolution layer's map); use another method for text")
    elif method == "occlusion":
        if space.unit == "pixel":
            auto = default_patch(batch.shape[1:])
            patch, stride = int(patch or auto[0]), int(stride or (auto[1] if patch is None else max(1, patch // 2)))
            options.update(patch=patch, stride=stride)
        fill = 0.0 if baseline is None or isinstance(baseline, str) else baseline
        heat = _occlusion(model, batch, classes, space.unit, patch or 1, stride or 1, fill, space.pad)
        values, unit, score = heat, space.unit, "probability" if not one_unit else "output"
        options["fill"] = "padding token 0" if space.unit == "token" else fill
    else:
        x_in = batch if space.embed is None else _predict(space.embed, batch)
        use_logits = bool(logits) if logits is not None else method != "ig"
        if method == "ig":
            if space.embed is None:
                b = _baseline(baseline, batch, space)
            else:  # a baseline of token ids, embedded (default: every token the padding id 0)
                b_ids = np.zeros_like(batch) if baseline is None else _baseline(baseline, batch, space)
                b = _predict(space.embed, b_ids.astype(batch.dtype))
            steps = int(steps)
            if steps < 1:
                raise InsightError(f"steps must be at least 1 (got {steps})")
            values = _ig(space, x_in.astype(np.float32), classes, b.astype(np.float32), steps, one_unit)
            target = _class_output(space.model, x_in, classes)
            base_score = _class_output(space.model, b, classes)
            total = values.reshape(len(values), -1).sum(axis=1).astype(np.float64)
            options.update(steps=steps, baseline="zero" if baseline is None else
                           (baseline if isinstance(baseline, str) else "custom"))
            score = "probability" if not one_unit else "output"
            heat = _heat(values, space.unit, signed=True)
        elif method == "saliency":  # tokens: the gradient at their embeddings
            values = _score_gradient(space, x_in.astype(np.float32), classes, use_logits, one_unit)
            score = "logit" if use_logits else "probability"
            heat = _heat(values, space.unit, signed=False)
        else:  # smoothgrad
            rng = np.random.default_rng(seed)
            samples = max(1, int(samples))
            span = (x_in.reshape(len(x_in), -1).max(axis=1) - x_in.reshape(len(x_in), -1).min(axis=1))
            sigma = (float(noise) * np.where(span > 0, span, 1.0)).reshape((-1,) + (1,) * (x_in.ndim - 1))
            values = np.zeros_like(x_in, dtype=np.float32)
            for _ in range(samples):
                noisy = (x_in + rng.normal(size=x_in.shape) * sigma).astype(np.float32)
                values += _score_gradient(space, noisy, classes, use_logits, one_unit)
            values /= samples
            options.update(samples=samples, noise=float(noise))
            score = "logit" if use_logits else "probability"
            heat = _heat(values, space.unit, signed=False)
        unit = space.unit
    if single:
        return Attribution(method, values[0], heat[0], classes[0], probs[0], unit, score, options,
                           None if target is None else target[0], None if base_score is None else base_score[0],
                           None if total is None else total[0], layer)
    return Attribution(method, values, heat, classes, probs, unit, score, options, target, base_score, total, layer)


def patch_drop(model: Any, x: Any, heat: Any, class_index: Any = None, patch: int = 2, fill: float = 0.0,
               rng: Any = None) -> tuple[float, float]:
    """(drop when the ``patch x patch`` window of highest summed ``heat`` is occluded, drop for a
    random window) of one image sample's class output: a map that points at what matters gives
    the first the larger drop."""
    batch, _ = as_batch(model, x)
    h = np.asarray(heat, np.float64)
    if h.shape != batch.shape[1:3]:
        from dlstudio.insight.saliency import resize_map

        h = resize_map(h, *batch.shape[1:3]).astype(np.float64)
    c = target_classes(probabilities_of(_predict(model, batch)), class_index)
    sums = np.lib.stride_tricks.sliding_window_view(h, (patch, patch)).sum(axis=(-1, -2))
    best = np.unravel_index(int(np.argmax(sums)), sums.shape)
    rng = rng if rng is not None else np.random.default_rng(0)
    rand = (int(rng.integers(sums.shape[0])), int(rng.integers(sums.shape[1])))
    copies = np.repeat(batch, 3, axis=0)
    for k, (y, x0) in ((1, best), (2, rand)):
        copies[k, y:y + patch, x0:x0 + patch] = fill
    f = _class_output(model, copies, np.repeat(c, 3))
    return float(f[0] - f[1]), float(f[0] - f[2])
