"""Pictures of attributions and projections for the command line (uint8 RGB arrays; no Qt).

- :func:`signed_colors` / :func:`heat_colors`: a map as colours (coolwarm around 0 for
  signed maps, inferno for magnitudes).
- :func:`attribution_picture`: an image sample | its map | the map over it; a text,
  row or sequence as one bar per token / feature / step.
- :func:`projection_picture`: the projector's points by class, misclassified ones ringed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def signed_scale(heat: Any) -> np.ndarray:
    """A signed map in [0, 1] with 0 at 0.5 (the largest magnitude at 0 or 1)."""
    h = np.nan_to_num(np.asarray(heat, np.float64))
    peak = float(np.abs(h).max()) if h.size else 0.0
    return (0.5 + 0.5 * h / peak if peak > 0 else np.full_like(h, 0.5)).astype(np.float32)


def map_colors(heat: Any, signed: bool) -> np.ndarray:
    """(..., 3) float32 colours of a map: coolwarm around 0 when ``signed``, else inferno."""
    from dlstudio.insight.activations import colorize
    from dlstudio.insight.saliency import normalized

    values = signed_scale(heat) if signed else normalized(heat)
    return colorize(values, "coolwarm" if signed else "inferno").astype(np.float32) / 255.0


def attribution_picture(sample: Any, heat: Any, unit: str, signed: bool, captions: Sequence[str],
                        labels: Sequence[str] | None = None, size: int = 160) -> np.ndarray:
    """The picture ``dlstudio explain`` writes (see the module text)."""
    if unit in ("pixel", "cell"):
        from dlstudio.data.grid import auto_scale, image_grid
        from dlstudio.insight.saliency import display_image, normalized, overlay, resize_map

        img = display_image(sample)
        h = np.asarray(heat, np.float32)
        big = resize_map(h, *img.shape[:2]) if h.shape != img.shape[:2] else h
        tiles = [img, map_colors(big, signed),
                 overlay(sample, signed_scale(h), cmap="coolwarm") if signed else overlay(sample, normalized(h))]
        return image_grid(np.stack(tiles), labels=list(captions)[:3], columns=3,
                          scale=auto_scale(*img.shape[:2], target=size), gutter=6)
    return bars_picture(np.asarray(heat, np.float64).ravel(), labels, signed, " / ".join(c for c in captions if c),
                        width=max(360, 3 * size + 40))


def bars_picture(values: np.ndarray, labels: Sequence[str] | None, signed: bool, title: str,
                 width: int = 560, row: int = 18, max_rows: int = 64) -> np.ndarray:
    """One labelled horizontal bar per value (signed bars grow from a middle line)."""
    from PIL import Image, ImageDraw

    from dlstudio.data.grid import load_font

    v = values[:max_rows]
    names = [str(labels[i]) if labels is not None and i < len(labels) else str(i) for i in range(len(v))]
    font = load_font(12)
    height = 28 + row * len(v) + 8
    img = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    draw.text((8, 6), title[:90], fill=(40, 40, 40), font=font)
    label_w = 150
    bar_left, bar_right = label_w + 10, width - 70
    peak = float(np.abs(v).max()) if len(v) else 0.0
    peak = peak if peak > 0 else 1.0
    colors = map_colors(v, signed) * 255
    mid = (bar_left + bar_right) // 2 if signed else bar_left
    for i, (name, val) in enumerate(zip(names, v)):
        y = 28 + i * row
        draw.text((8, y + 2), name[:22], fill=(40, 40, 40), font=font)
        span = (bar_right - mid) * abs(val) / peak
        x0, x1 = (mid, mid + span) if val >= 0 else (mid - span, mid)
        draw.rectangle([x0, y + 3, max(x0 + 1, x1), y + row - 3], fill=tuple(int(c) for c in colors[i]))
        draw.text((bar_right + 6, y + 2), f"{val:+.3g}" if signed else f"{val:.3g}", fill=(80, 80, 80), font=font)
    if signed:
        draw.line([mid, 26, mid, height - 6], fill=(150, 150, 150))
    return np.asarray(img, np.uint8)


def projection_picture(points: np.ndarray, labels: np.ndarray | None, wrong: np.ndarray,
                       class_names: Sequence[str], title: str = "", size: int = 520) -> np.ndarray:
    """The points coloured by class (points_plot), each misclassified one ringed in black."""
    from PIL import Image, ImageDraw

    from dlstudio.data.grid import load_font, points_plot

    y = labels if labels is not None else np.zeros(len(points), np.int64)
    pic = points_plot(points, y, class_names, size=size, feature_names=("", ""))
    if wrong.any() or title:
        img = Image.fromarray(pic)
        draw = ImageDraw.Draw(img)
        # points_plot's frame: 46 px left, 12 top, 14 right, 38 bottom; equal aspect -> recompute its mapping
        lo, hi = _plot_range(points, size)
        pw, ph = size - 46 - 14, size - 12 - 38
        for px, py in points[wrong]:
            cx = 46 + (px - lo[0]) / (hi[0] - lo[0]) * (pw - 1)
            cy = 12 + ph - 1 - (py - lo[1]) / (hi[1] - lo[1]) * (ph - 1)
            draw.ellipse([cx - 5, cy - 5, cx + 5, cy + 5], outline=(0, 0, 0), width=2)
        if title:
            draw.text((52, 14), title[:80], fill=(40, 40, 40), font=load_font(12))
        pic = np.asarray(img, np.uint8)
    return pic


def _plot_range(points: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The data range points_plot draws (its margins and equal-aspect rule)."""
    pts = np.asarray(points, np.float64)
    pts = pts[np.isfinite(pts).all(axis=1)]
    pw, ph = size - 46 - 14, size - 12 - 38
    lo, hi = (pts.min(axis=0), pts.max(axis=0)) if len(pts) else (np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lo, hi = lo - 0.06 * span, hi + 0.06 * span
    span = hi - lo
    units = max(span[0] / pw, span[1] / ph)
    if max(span) / min(span) < 4:
        extra = np.array([units * pw, units * ph]) - span
        lo, hi = lo - extra / 2, hi + extra / 2
    return lo, hi
