"""Pictures of what a CNN sees, as RGB uint8 arrays (no Qt): the input with every
layer's feature maps under headers, and input | saliency | Grad-CAM side by side.
``dlstudio featuremaps`` and ``dlstudio saliency`` write them as PNGs."""

from __future__ import annotations

from typing import Any

HEADER_HEIGHT = 22
MARGIN = 8


def stack_sections(sections: list[tuple[str, Any]], background: tuple[int, int, int] = (255, 255, 255)):
    """One picture: each (header, RGB uint8 picture) below the previous one, left-aligned."""
    import numpy as np

    from dlstudio.data.grid import text_strip

    width = max(p.shape[1] for _, p in sections) + 2 * MARGIN
    parts = []
    for title, picture in sections:
        head = text_strip(title, width - 2 * MARGIN, HEADER_HEIGHT)
        for block in (head, picture):
            row = np.empty((block.shape[0], width, 3), np.uint8)
            row[:] = background
            row[:, MARGIN:MARGIN + block.shape[1]] = block
            parts.append(row)
        spacer = np.empty((MARGIN, width, 3), np.uint8)
        spacer[:] = background
        parts.append(spacer)
    return np.concatenate(parts, axis=0)


def shape_text(shape: Any) -> str:
    """``8x8x16``: Pillow's default font may lack the multiplication sign."""
    return "x".join(str(d) for d in shape)


def feature_map_picture(maps: dict, shapes: dict, image: Any, caption: str, normalize: str = "per_channel",
                        tile: int = 40):
    """The input and every layer's channel tiles (viridis), as one RGB uint8 picture."""
    from dlstudio.data.grid import auto_scale, image_grid
    from dlstudio.insight.activations import channel_grid, colorize
    from dlstudio.insight.saliency import display_image

    img = display_image(image)
    sections = [(f"input \u00b7 {caption}", image_grid(img[None], scale=auto_scale(*img.shape[:2], target=96)))]
    for name, act in maps.items():
        tiles = channel_grid(act, normalize)
        n, h, w = tiles.shape
        columns = min(n, 16) if h > 1 else min(n, 32)
        grid = image_grid(colorize(tiles, "viridis"), columns=columns, scale=auto_scale(h, w, target=tile))
        sections.append((f"{name} \u00b7 {shape_text(shapes[name])} \u00b7 {n} channel{'s' * (n != 1)}", grid))
    return stack_sections(sections)


def saliency_picture(image: Any, sal: Any, cam: Any, captions: list[str], size: int = 160):
    """Input | saliency (inferno) | Grad-CAM overlay, side by side with captions."""
    import numpy as np

    from dlstudio.data.grid import auto_scale, image_grid
    from dlstudio.insight.activations import colorize
    from dlstudio.insight.saliency import display_image, normalized, overlay

    img = display_image(image)
    tiles = np.stack([img, colorize(normalized(sal), "inferno").astype(np.float32) / 255.0, overlay(image, cam)])
    return image_grid(tiles, labels=captions, columns=3, scale=auto_scale(*img.shape[:2], target=size), gutter=6)
