"""Pictures of a dataset, numpy in, numpy out (no Qt): image grids, 2-D
scatter plots and text previews, for ``dlstudio data show`` and the data panel.

- :func:`image_grid` tiles (N, H, W, C) images in [0, 1] (grey or RGB) into
  one uint8 RGB array, with thin gutters and an optional caption under each
  tile; :func:`grid_geometry` says where every tile lands.
- :func:`points_plot` rasterises a 2-D point set coloured by class, with a
  frame, ticks and a legend.
- :func:`text_preview` decodes a few text samples back to characters or words.
- :func:`save_png` writes an array with Pillow.

``CLASS_COLORS`` is the one class palette: the panel's plots use it too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

#: Distinct class colours (Tableau 10), readable on light and dark backgrounds.
CLASS_COLORS: tuple[str, ...] = (
    "#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#76b7b2", "#edc948", "#ff9da7", "#9c755f", "#bab0ac",
)


def class_color(index: int) -> tuple[int, int, int]:
    """RGB of class ``index``; after ten classes the hues repeat a little darker."""
    h = CLASS_COLORS[index % len(CLASS_COLORS)].lstrip("#")
    rgb = [int(h[i:i + 2], 16) for i in (0, 2, 4)]
    shade = 0.78 ** (index // len(CLASS_COLORS))
    return tuple(int(round(c * shade)) for c in rgb)  # type: ignore[return-value]


# --------------------------------------------------------------------- fonts
def load_font(size: int):
    """Pillow's default font at ``size`` pixels (its small bitmap font without FreeType)."""
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the small bitmap font
        return ImageFont.load_default()


def _text_size(draw, text: str, font) -> tuple[int, int]:
    left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
    return right - left, bottom - top


def _fit_text(draw, text: str, font, width: int) -> str:
    """``text`` shortened with an ellipsis so it fits ``width`` pixels."""
    if _text_size(draw, text, font)[0] <= width:
        return text
    while len(text) > 1 and _text_size(draw, text + "\u2026", font)[0] > width:
        text = text[:-1]
    return text + "\u2026"


def text_strip(text: str, width: int, height: int = 22, bold: bool = True) -> np.ndarray:
    """A white RGB uint8 strip ``width`` x ``height`` with ``text`` on it (shortened to fit):
    a header above a picture."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (max(1, width), height), (255, 255, 255))
    draw = ImageDraw.Draw(img)
    font = load_font(13 if bold else 12)
    draw.text((2, height / 2), _fit_text(draw, text, font, width - 4), fill=(30, 30, 30) if bold else (90, 90, 90),
              font=font, anchor="lm")
    return np.asarray(img)


# ---------------------------------------------------------------- image grid
@dataclass(frozen=True)
class GridGeometry:
    """Where the tiles of an :func:`image_grid` lie, in output pixels."""

    count: int
    rows: int
    columns: int
    tile_height: int  # the scaled image, without the caption
    tile_width: int
    caption: int  # height of the caption strip under each tile (0: none)
    gutter: int

    @property
    def height(self) -> int:
        return self.gutter + self.rows * (self.tile_height + self.caption + self.gutter)

    @property
    def width(self) -> int:
        return self.gutter + self.columns * (self.tile_width + self.gutter)

    def origin(self, index: int) -> tuple[int, int]:
        """(top, left) of image ``index`` (row-major)."""
        row, col = divmod(index, self.columns)
        return (self.gutter + row * (self.tile_height + self.caption + self.gutter),
                self.gutter + col * (self.tile_width + self.gutter))

    def index_at(self, y: float, x: float) -> int | None:
        """The tile (image or caption) under output pixel (y, x), or None."""
        row = int((y - self.gutter) // (self.tile_height + self.caption + self.gutter))
        col = int((x - self.gutter) // (self.tile_width + self.gutter))
        if not (0 <= row < self.rows and 0 <= col < self.columns):
            return None
        top, left = self.origin(row * self.columns + col)
        inside = top <= y < top + self.tile_height + self.caption and left <= x < left + self.tile_width
        index = row * self.columns + col
        return index if inside and index < self.count else None


def auto_scale(height: int, width: int, target: int = 56) -> int:
    """A whole-number zoom that makes a tile about ``target`` pixels (at least 1)."""
    return max(1, int(round(target / max(1, height, width))))


def grid_geometry(count: int, height: int, width: int, columns: int | None = None, scale: int = 1,
                  caption: int = 0, gutter: int = 2) -> GridGeometry:
    """The layout :func:`image_grid` uses: about square unless ``columns`` is given."""
    if count < 1:
        raise ValueError("an image grid needs at least one image")
    columns = max(1, min(count, columns or math.ceil(math.sqrt(count))))
    rows = math.ceil(count / columns)
    return GridGeometry(count, rows, columns, height * scale, width * scale, caption, gutter)


def as_rgb_uint8(images: np.ndarray) -> np.ndarray:
    """(N, H, W), (N, H, W, 1) or (N, H, W, 3) floats in [0, 1] -> (N, H, W, 3) uint8 (clipped)."""
    x = np.asarray(images)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4 or x.shape[-1] not in (1, 3, 4):
        raise ValueError(f"expected images shaped (N, H, W[, 1 or 3]); got {tuple(x.shape)}")
    x = x[..., :3]
    if x.dtype != np.uint8:
        x = np.rint(np.clip(np.nan_to_num(x.astype(np.float32)), 0.0, 1.0) * 255.0).astype(np.uint8)
    if x.shape[-1] == 1:
        x = np.repeat(x, 3, axis=-1)
    return x


def image_grid(images: np.ndarray, labels: Sequence[str] | None = None, columns: int | None = None,
               scale: int | None = None, gutter: int = 2,
               background: tuple[int, int, int] = (255, 255, 255),
               text_color: tuple[int, int, int] = (40, 40, 40)) -> np.ndarray:
    """Tile images into one uint8 RGB array (rows x columns, row-major).

    ``images``: (N, H, W) or (N, H, W, C) with C 1 (grey) or 3 (RGB), floats
    in [0, 1] (clipped) or uint8. ``scale``: whole-number nearest-neighbour
    zoom (None: tiles of about 56 pixels). ``labels``: one caption per image,
    drawn under its tile. Empty cells and gutters have the ``background`` colour.
    """
    x = as_rgb_uint8(images)
    n, h, w = x.shape[:3]
    scale = auto_scale(h, w) if scale is None else max(1, int(scale))
    if labels is not None and len(labels) != n:
        raise ValueError(f"{len(labels)} labels for {n} images")
    caption = 0
    font = None
    if labels is not None:
        font_size = int(np.clip(w * scale * 0.22, 9, 14))
        font = load_font(font_size)
        caption = font_size + 6
    geo = grid_geometry(n, h, w, columns, scale, caption, gutter)
    out = np.empty((geo.height, geo.width, 3), np.uint8)
    out[:] = np.asarray(background, np.uint8)
    big = x.repeat(scale, axis=1).repeat(scale, axis=2) if scale > 1 else x
    for i in range(n):
        top, left = geo.origin(i)
        out[top:top + geo.tile_height, left:left + geo.tile_width] = big[i]
    if labels is not None:
        from PIL import Image, ImageDraw

        img = Image.fromarray(out)
        draw = ImageDraw.Draw(img)
        for i, text in enumerate(labels):
            top, left = geo.origin(i)
            text = _fit_text(draw, str(text), font, geo.tile_width)
            tw, _ = _text_size(draw, text, font)
            draw.text((left + (geo.tile_width - tw) / 2, top + geo.tile_height + caption / 2), text,
                      fill=text_color, font=font, anchor="lm")
        out = np.asarray(img)
    return out


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write an (H, W, 3) or (H, W) uint8 array (floats in [0, 1] are converted) as a PNG, through
    the one writer (:func:`dlstudio.atomic.write_file`)."""
    from PIL import Image

    a = np.asarray(array)
    if a.dtype != np.uint8:
        a = np.rint(np.clip(a.astype(np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    from dlstudio.atomic import write_file

    image = Image.fromarray(a)
    return write_file(Path(path), lambda tmp: image.save(tmp, format="PNG"))  # atomic: never half a PNG


def sample_indices(labels: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """Up to ``n`` sample indices that show every class: round-robin over the
    classes (in class order), each class's samples in a seeded random order.
    For float targets (regression), ``n`` seeded random indices in order."""
    y = np.asarray(labels)
    rng = np.random.default_rng(seed)
    total = len(y)
    n = min(n, total)
    if y.ndim != 1 or y.dtype.kind not in "iub":
        return np.sort(rng.choice(total, n, replace=False)) if n else np.zeros(0, np.int64)
    pools = [rng.permutation(np.flatnonzero(y == c)) for c in np.unique(y)]
    out: list[int] = []
    depth = 0
    while len(out) < n:
        for pool in pools:
            if depth < len(pool) and len(out) < n:
                out.append(int(pool[depth]))
        depth += 1
    return np.asarray(out, np.int64)


# ------------------------------------------------------------------- scatter
def nice_ticks(lo: float, hi: float, count: int = 6) -> list[float]:
    """About ``count`` round axis tick values (steps of 1, 2, 2.5 or 5 times a power of ten) in [lo, hi]."""
    span = hi - lo
    if span <= 0 or not math.isfinite(span):
        return [lo]
    raw = span / max(1, count - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    ticks = []
    t = first
    while t <= hi + 1e-9 * step:
        ticks.append(0.0 if abs(t) < step * 1e-9 else t)
        t += step
    return ticks


def tick_text(v: float) -> str:
    """An axis tick's label: short, scientific for large values."""
    return f"{v:g}" if abs(v) < 1e4 else f"{v:.1e}"


def points_plot(x: np.ndarray, y: np.ndarray, class_names: Sequence[str] | None = None,
                size: int | tuple[int, int] = 480, point_radius: int | None = None,
                feature_names: Sequence[str] = ("x1", "x2"),
                background: tuple[int, int, int] = (255, 255, 255),
                foreground: tuple[int, int, int] = (60, 60, 60)) -> np.ndarray:
    """A scatter plot of 2-D points coloured by class, as a uint8 RGB (H, W, 3) array.

    ``x``: (N, 2) coordinates; ``y``: (N,) integer class ids (float targets
    are drawn in one colour). A frame with ticks, axis names and a legend of
    ``class_names``. Points are drawn in a seeded random order, so no class
    hides another. The plot keeps the data's aspect ratio (one unit is as long
    on both axes) when that leaves enough room.
    """
    from PIL import Image, ImageDraw

    pts = np.asarray(x, dtype=np.float64)
    if pts.ndim != 2 or pts.shape[1] != 2:
        raise ValueError(f"points_plot needs (N, 2) coordinates; got {tuple(pts.shape)}")
    labels = np.asarray(y).reshape(len(pts), -1)[:, 0] if len(pts) else np.zeros(0)
    ids = labels.astype(np.int64) if labels.dtype.kind in "iub" else np.zeros(len(pts), np.int64)
    names = list(class_names or [])
    width, height = (size, size) if isinstance(size, int) else size
    font = load_font(12)
    margin_left, margin_bottom, margin_top, margin_right = 46, 38, 12, 14
    pw, ph = width - margin_left - margin_right, height - margin_top - margin_bottom
    if pw < 20 or ph < 20:
        raise ValueError(f"a {width}x{height} plot is too small")
    finite = np.isfinite(pts).all(axis=1)
    pts, ids = pts[finite], ids[finite]
    if len(pts):
        lo, hi = pts.min(axis=0), pts.max(axis=0)
    else:
        lo, hi = np.array([-1.0, -1.0]), np.array([1.0, 1.0])
    span = np.where(hi - lo > 0, hi - lo, 1.0)
    lo, hi = lo - 0.06 * span, hi + 0.06 * span
    span = hi - lo
    # equal aspect when the data's ratio is not extreme
    units = max(span[0] / pw, span[1] / ph)
    if max(span) / min(span) < 4:
        extra = np.array([units * pw, units * ph]) - span
        lo, hi = lo - extra / 2, hi + extra / 2
        span = hi - lo

    img = Image.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(img)
    grid_color = tuple(int(b + (f - b) * 0.12) for b, f in zip(background, foreground))
    left, top, right, bottom = margin_left, margin_top, margin_left + pw, margin_top + ph

    def px(v: np.ndarray) -> np.ndarray:
        return left + (v - lo[0]) / span[0] * (pw - 1)

    def py(v: np.ndarray) -> np.ndarray:
        return bottom - 1 - (v - lo[1]) / span[1] * (ph - 1)

    for t in nice_ticks(lo[0], hi[0]):
        xx = float(px(np.float64(t)))
        draw.line([(xx, top), (xx, bottom - 1)], fill=grid_color)
        draw.line([(xx, bottom), (xx, bottom + 4)], fill=foreground)
        draw.text((xx, bottom + 6), tick_text(t), fill=foreground, font=font, anchor="mt")
    for t in nice_ticks(lo[1], hi[1]):
        yy = float(py(np.float64(t)))
        draw.line([(left, yy), (right - 1, yy)], fill=grid_color)
        draw.line([(left - 4, yy), (left - 1, yy)], fill=foreground)
        draw.text((left - 6, yy), tick_text(t), fill=foreground, font=font, anchor="rm")
    fx, fy = (list(feature_names) + ["x1", "x2"])[:2]
    draw.text(((left + right) / 2, height - 4), str(fx), fill=foreground, font=font, anchor="md")
    draw.text((4, top), str(fy), fill=foreground, font=font, anchor="la")
    canvas = np.array(img)

    # points: a small disc stencil stamped with numpy (fast for many points)
    r = point_radius if point_radius is not None else (3 if len(pts) <= 2000 else 2 if len(pts) <= 20000 else 1)
    offsets = [(dy, dx) for dy in range(-r, r + 1) for dx in range(-r, r + 1) if dy * dy + dx * dx <= r * r + r * 0.5]
    order = np.random.default_rng(0).permutation(len(pts))
    cx = np.rint(px(pts[order, 0])).astype(np.int64)
    cy = np.rint(py(pts[order, 1])).astype(np.int64)
    palette = np.array([class_color(i) for i in range(max(1, int(ids.max()) + 1 if len(ids) else 1))], np.uint8)
    colors = palette[np.clip(ids[order], 0, len(palette) - 1)]
    edge = (colors.astype(np.float32) * 0.65).astype(np.uint8)  # a darker rim keeps overlapping points apart
    for dy, dx in offsets:
        yy, xx = cy + dy, cx + dx
        keep = (yy >= top) & (yy < bottom) & (xx >= left) & (xx < right)
        rim = dy * dy + dx * dx > (r - 1) * (r - 1) + (r - 1) * 0.5 if r > 1 else False
        canvas[yy[keep], xx[keep]] = (edge if rim else colors)[keep]
    img = Image.fromarray(canvas)
    draw = ImageDraw.Draw(img)
    draw.rectangle([left - 1, top - 1, right, bottom], outline=foreground)

    # legend, top right inside the frame
    shown = sorted(set(ids.tolist())) if len(ids) and labels.dtype.kind in "iub" else []
    if shown:
        entries = [(i, str(names[i]) if i < len(names) else str(i)) for i in shown]
        entries = entries[:12]
        line_h = 16
        text_w = max(_text_size(draw, t, font)[0] for _, t in entries)
        box_w, box_h = text_w + 28, line_h * len(entries) + 8
        bx, by = right - box_w - 6, top + 6
        draw.rectangle([bx, by, bx + box_w, by + box_h], fill=background, outline=grid_color)
        for k, (i, text) in enumerate(entries):
            cy0 = by + 4 + k * line_h + line_h // 2
            draw.ellipse([bx + 8, cy0 - 4, bx + 16, cy0 + 4], fill=class_color(i))
            draw.text((bx + 22, cy0), text, fill=foreground, font=font, anchor="lm")
    return np.asarray(img)


# ---------------------------------------------------------------------- text
def _decode(ids: np.ndarray, vocabulary: Sequence[str]) -> str:
    vocab = list(vocabulary)
    words = any(len(v) > 1 for v in vocab[4:50])  # word vocabularies (imdb) join with spaces
    out = []
    for i in np.asarray(ids).ravel().tolist():
        i = int(i)
        token = vocab[i] if 0 <= i < len(vocab) else f"<{i}>"
        if words and token in ("<pad>",):
            continue
        out.append(token)
    return " ".join(t for t in out if t) if words else "".join(out)


def text_samples(dataset, n: int = 8, split: str = "train") -> list[tuple[str, str]]:
    """(input text, target text) of the first ``n`` samples of a text dataset."""
    x = dataset.x_train if split == "train" else dataset.x_test
    y = dataset.y_train if split == "train" else dataset.y_test
    vocab = dataset.vocabulary or [str(i) for i in range(int(np.max(x)) + 1 if np.size(x) else 0)]
    out = []
    for i in range(min(n, len(x))):
        target = y[i]
        if np.ndim(target) == 0 and dataset.class_names and 0 <= int(target) < len(dataset.class_names):
            t = dataset.class_names[int(target)]
        elif np.ndim(target) == 1 and np.asarray(target).dtype.kind in "iu" and dataset.vocabulary:
            t = _decode(target, vocab)  # a token per step (seq2seq targets)
        else:
            t = str(np.asarray(target).tolist())
        row = x[i].argmax(-1) if np.ndim(x[i]) == 2 and x.dtype.kind == "f" else x[i]  # one-hot rows -> ids
        out.append((_decode(row, vocab), t))
    return out


def text_preview(dataset, n: int = 8, width: int = 72) -> str:
    """A few text samples, one per line: the input in quotes (its last
    ``width`` characters; new lines and tabs made visible) and the target
    after an arrow."""
    lines = []
    for text, target in text_samples(dataset, n):
        shown = text.replace("\n", "\u21b5").replace("\t", "\u21e5")
        if len(shown) > width:
            shown = "\u2026" + shown[-(width - 1):]
        lines.append(f"\u201c{shown}\u201d  \u2192  {target}")
    return "\n".join(lines)


# ------------------------------------------------------------------- summary
def class_balance(labels: np.ndarray, num_classes: int) -> np.ndarray:
    """Samples per class (int64, length ``num_classes``) of integer labels."""
    y = np.asarray(labels).reshape(-1)
    if num_classes < 1 or y.dtype.kind not in "iub":
        return np.zeros(0, np.int64)
    return np.bincount(np.clip(y.astype(np.int64), 0, num_classes - 1), minlength=num_classes)
