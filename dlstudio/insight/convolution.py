"""Convolution by hand, as the lectures show it (numpy in, numpy out).

- :data:`PRESETS`: the hand-set kernels (blur, sharpen, edge detect, Sobel,
  identity, emboss) as raw matrices; :func:`preset` gives one, optionally
  normalised (the blur divided by 9, so it keeps the brightness).
- :func:`convolve` ``(image, kernel, padding="valid", stride=1)``: what a Keras
  ``Conv2D`` computes, i.e. cross-correlation (the kernel is not flipped),
  with "valid" or "same" padding (Keras' split: the extra row/column at the
  bottom/right) and a stride.
- :func:`lecture_image`: the 6x6 example, left half 5 and right half 0; the
  vertical Sobel kernel turns it into rows of ``[0, 20, 20, 0]``: the edge.
- :func:`conv_kernel_params` / :func:`set_conv_kernel`: put a kernel into a
  ``Conv2D`` node's parameters, so the network *starts* as an edge detector.

How a node holds a fixed kernel: the catalog has no "weights" parameter, but
every ``*_initializer`` parameter takes a serialised Keras initializer, so the
kernel goes in as ``kernel_initializer = {"class_name": "Constant", "config":
{"value": [...]}}`` with the value shaped ``(kh, kw, 1, 1)``; Keras broadcasts it
to every input channel and filter. It is saved with the project and needs no
run. ``use_bias`` is turned off (the layer computes exactly the kernel) and by
default ``filters`` becomes 1. Freezing it (``trainable=False``) needs a
``trainable`` parameter in the catalog; :func:`can_freeze` says whether there is
one, and :func:`conv_kernel_params` sets it when there is.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: The lecture kernels, raw (integers as the slides write them).
PRESETS: dict[str, np.ndarray] = {
    "identity": np.array([[0, 0, 0], [0, 1, 0], [0, 0, 0]], np.float64),
    "blur": np.array([[1, 1, 1], [1, 1, 1], [1, 1, 1]], np.float64),
    "sharpen": np.array([[0, -1, 0], [-1, 5, -1], [0, -1, 0]], np.float64),
    "edge_detect": np.array([[0, 1, 0], [1, -4, 1], [0, 1, 0]], np.float64),
    "sobel_vertical": np.array([[1, 0, -1], [2, 0, -2], [1, 0, -1]], np.float64),
    "sobel_horizontal": np.array([[1, 2, 1], [0, 0, 0], [-1, -2, -1]], np.float64),
    "emboss": np.array([[-2, -1, 0], [-1, 1, 1], [0, 1, 2]], np.float64),
}

#: Button titles and one-line explanations, in PRESETS order.
PRESET_TITLES: dict[str, str] = {
    "identity": "Identity", "blur": "Blur", "sharpen": "Sharpen", "edge_detect": "Edge detect",
    "sobel_vertical": "Sobel vertical", "sobel_horizontal": "Sobel horizontal", "emboss": "Emboss",
}
PRESET_HELP: dict[str, str] = {
    "identity": "Copies the image: one 1 in the middle.",
    "blur": "Box blur: the sum of the 3x3 neighbourhood (normalised: the mean, divided by 9).",
    "sharpen": "Adds the difference to the neighbours: edges get stronger.",
    "edge_detect": "Laplacian: zero on flat areas, large where brightness changes in any direction.",
    "sobel_vertical": "Responds to vertical edges: left minus right, the middle row weighted twice.",
    "sobel_horizontal": "Responds to horizontal edges: top minus bottom.",
    "emboss": "Lights the image from the top left: a relief effect.",
}

PADDINGS = ("valid", "same")


def preset(name: str, normalized: bool = False) -> np.ndarray:
    """A copy of preset ``name``; ``normalized`` divides a kernel whose weights sum to
    more than 1 by that sum (the blur becomes the 3x3 mean), so brightness is kept."""
    try:
        k = PRESETS[name].copy()
    except KeyError:
        raise ValueError(f"unknown kernel preset {name!r}; choose one of {', '.join(PRESETS)}") from None
    total = k.sum()
    if normalized and total > 1:
        k /= total
    return k


def preset_name(kernel: Any) -> str | None:
    """The preset a kernel equals (raw or normalised), or None."""
    k = np.asarray(kernel, np.float64)
    for name in PRESETS:
        for norm in (False, True):
            p = preset(name, norm)
            if p.shape == k.shape and np.allclose(p, k):
                return name
    return None


def lecture_image(size: int = 6, bright: float = 5.0) -> np.ndarray:
    """The lecture's ``size x size`` image: the left half ``bright``, the right half 0."""
    img = np.zeros((size, size), np.float64)
    img[:, : size // 2] = bright
    return img


def output_size(n: int, k: int, padding: str = "valid", stride: int = 1) -> int:
    """Output length along one axis, as Keras computes it."""
    if padding == "same":
        return math.ceil(n / stride)
    return max(0, (n - k) // stride + 1)


def _pads(n: int, k: int, stride: int) -> tuple[int, int]:
    total = max((math.ceil(n / stride) - 1) * stride + k - n, 0)
    return total // 2, total - total // 2


def convolve(image: Any, kernel: Any, padding: str = "valid", stride: int | tuple[int, int] = 1) -> np.ndarray:
    """Slide ``kernel`` over ``image`` the way ``keras.layers.Conv2D`` does
    (cross-correlation, no flip), in float64.

    - ``image`` (H, W) with ``kernel`` (kh, kw): a 2-D result.
    - ``image`` (H, W, C) with ``kernel`` (kh, kw): every channel on its own
      (H', W', C), as a picture editor filters a colour image.
    - ``kernel`` (kh, kw, C): summed over the channels, one (H', W') map.
    - ``kernel`` (kh, kw, C, F): exactly Conv2D, (H', W', F).

    ``padding``: "valid" (no padding) or "same" (zeros around; the output has
    ceil(H / stride) rows). ``stride``: one int or (rows, columns).
    """
    if padding not in PADDINGS:
        raise ValueError(f"padding must be 'valid' or 'same' (got {padding!r})")
    sy, sx = (stride, stride) if isinstance(stride, (int, np.integer)) else tuple(int(s) for s in stride)
    if sy < 1 or sx < 1:
        raise ValueError(f"the stride must be at least 1 (got {stride})")
    img = np.asarray(image, np.float64)
    k = np.asarray(kernel, np.float64)
    if img.ndim not in (2, 3):
        raise ValueError(f"expected an image shaped (H, W) or (H, W, C); got {img.shape}")
    if k.ndim not in (2, 3, 4):
        raise ValueError(f"expected a kernel shaped (kh, kw), (kh, kw, C) or (kh, kw, C, F); got {k.shape}")
    squeeze = img.ndim == 2
    x = img[..., None] if squeeze else img
    h, w, c = x.shape
    if k.ndim >= 3 and k.shape[2] != c:
        raise ValueError(f"the kernel has {k.shape[2]} input channels but the image has {c}")
    kh, kw = k.shape[:2]
    if padding == "same":
        (t, b), (left, r) = _pads(h, kh, sy), _pads(w, kw, sx)
        x = np.pad(x, ((t, b), (left, r), (0, 0)))
    elif kh > h or kw > w:
        raise ValueError(f"a {kh}x{kw} kernel does not fit in a {h}x{w} image without padding")
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(0, 1))[::sy, ::sx]  # (H', W', C, kh, kw)
    if k.ndim == 2:
        out = np.einsum("yxcij,ij->yxc", win, k)
        return out[..., 0] if squeeze else out
    if k.ndim == 3:
        return np.einsum("yxcij,ijc->yx", win, k)
    return np.einsum("yxcij,ijcf->yxf", win, k)


# ----------------------------------------------------------------- into a Conv2D node
def can_freeze(type_name: str = "Conv2D") -> bool:
    """Whether the catalog lets a node say ``trainable: false``."""
    from dlstudio.catalog import get_spec

    return "trainable" in get_spec(type_name).param_names()


def kernel_initializer(kernel: Any) -> dict:
    """A Keras ``Constant`` initializer config holding ``kernel`` (kh, kw) as (kh, kw, 1, 1),
    which Keras broadcasts to (kh, kw, in channels, filters)."""
    k = np.asarray(kernel, np.float64)
    if k.ndim != 2 or not np.isfinite(k).all():
        raise ValueError(f"expected a finite 2-D kernel; got shape {k.shape}")
    value = [[[[float(v)]] for v in row] for row in k]
    return {"class_name": "Constant", "config": {"value": value}}


def kernel_of(params: dict) -> np.ndarray | None:
    """The fixed (kh, kw) kernel a node's ``kernel_initializer`` holds, or None."""
    init = params.get("kernel_initializer") if isinstance(params, dict) else None
    if not isinstance(init, dict) or init.get("class_name") != "Constant":
        return None
    try:
        v = np.asarray((init.get("config") or {}).get("value"), np.float64)
    except (TypeError, ValueError):
        return None
    if v.ndim == 4 and v.shape[2:] == (1, 1):
        return v[:, :, 0, 0]
    return v if v.ndim == 2 else None


def conv_kernel_params(params: dict, kernel: Any, filters: int | None = 1, freeze: bool = True) -> dict:
    """A Conv2D node's parameters with ``kernel`` (kh, kw) as its starting weights:
    ``kernel_size`` set to the kernel's size, the ``Constant`` initializer, no bias,
    ``filters`` set (None keeps the node's; every filter gets the same kernel) and,
    where the catalog allows it, ``trainable`` = not ``freeze``. The rest is kept."""
    k = np.asarray(kernel, np.float64)
    out = dict(params)
    out["kernel_size"] = [int(k.shape[0]), int(k.shape[1])] if k.ndim == 2 else out.get("kernel_size")
    out["kernel_initializer"] = kernel_initializer(k)
    out["use_bias"] = False
    if filters is not None:
        out["filters"] = int(filters)
    if can_freeze("Conv2D"):
        out["trainable"] = not freeze
    return out


def set_conv_kernel(graph: Any, node_id: str, kernel: Any, *, normalized: bool = False, filters: int | None = 1,
                    freeze: bool = True) -> dict:
    """Write ``kernel`` (a preset name or a 2-D array) into Conv2D node ``node_id`` of
    ``graph`` (one ``set_params``); returns the previous parameters (to undo)."""
    node = graph.node(node_id)
    if node.type != "Conv2D":
        raise ValueError(f"{node.name} is a {node.type}; a hand-set kernel goes into a Conv2D layer")
    k = preset(kernel, normalized) if isinstance(kernel, str) else np.asarray(kernel, np.float64)
    old = dict(node.params)
    graph.set_params(node_id, conv_kernel_params(old, k, filters=filters, freeze=freeze))
    return old
