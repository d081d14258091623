"""What a generator makes: latent noise, sample grids, latent interpolation and
mode coverage (numpy in, numpy out; no Qt).

A GAN is watched through the *same* noise all along: ``fixed_noise`` draws it
from the project's GAN seed, so the grid of step 100 and of step 5000 show
the same latent points, and the CLI's ``dlstudio sample`` reproduces them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

#: Generated points drawn on a 2-D picture (the fixed noise of 2-D GANs).
POINTS = 512


def latent_noise(n: int, latent_dim: int, rng: np.random.Generator | int, distribution: str = "normal") -> np.ndarray:
    """``n`` latent vectors (float32, (n, latent_dim)): standard normal or uniform in [-1, 1]."""
    rng = np.random.default_rng(rng) if not isinstance(rng, np.random.Generator) else rng
    if distribution == "uniform":
        return rng.uniform(-1.0, 1.0, (n, latent_dim)).astype(np.float32)
    return rng.standard_normal((n, latent_dim)).astype(np.float32)


def fixed_noise(gan: Any, n: int) -> np.ndarray:
    """The project's fixed noise: the same ``n`` vectors for the same GAN settings, always."""
    return latent_noise(n, gan.latent_dim, np.random.default_rng(gan.seed), gan.latent_distribution)


def fixed_count(gan: Any, sample_shape: Sequence[int]) -> int:
    """How many fixed-noise samples a picture shows: a grid_size² grid of images, or POINTS points."""
    return POINTS if is_points(sample_shape) else gan.grid_size ** 2


def is_points(sample_shape: Sequence[int] | None) -> bool:
    return sample_shape is not None and tuple(sample_shape) == (2,)


def is_image(sample_shape: Sequence[int] | None) -> bool:
    return sample_shape is not None and len(sample_shape) in (2, 3) and (
        len(sample_shape) == 2 or sample_shape[-1] in (1, 3))


# ---------------------------------------------------------- data <-> model units
def to_model_units(x: np.ndarray, output_range: tuple[float, float] | None) -> np.ndarray:
    """Real data in the generator's range: images in [0, 1] become [-1, 1] for a tanh generator."""
    x = np.asarray(x, np.float32)
    if output_range == (-1.0, 1.0) and x.size and x.min() >= 0.0 and x.max() <= 1.0:
        return x * 2.0 - 1.0
    return x


def to_display_units(x: np.ndarray, output_range: tuple[float, float] | None) -> np.ndarray:
    """Generated data back in the data's units (tanh output [-1, 1] -> [0, 1])."""
    x = np.asarray(x, np.float32)
    if output_range == (-1.0, 1.0):
        return (x + 1.0) / 2.0
    return x


def generate(generator: Any, z: np.ndarray, output_range: tuple[float, float] | None = None,
             batch_size: int = 256) -> np.ndarray:
    """G(z) in display units (inference mode: batch normalization uses its moving statistics)."""
    out = [np.asarray(generator(z[i:i + batch_size], training=False)) for i in range(0, len(z), batch_size)]
    return to_display_units(np.concatenate(out) if out else np.zeros((0,)), output_range)


# ------------------------------------------------------------------ pictures
def sample_picture(samples: np.ndarray, columns: int | None = None, real_points: np.ndarray | None = None,
                   scale: int | None = None) -> np.ndarray:
    """A uint8 RGB picture of generated samples: an image grid (``columns`` wide),
    or the generated points over ``real_points`` for 2-D data."""
    from dlstudio.data.grid import image_grid

    samples = np.asarray(samples, np.float32)
    if samples.ndim == 2 and samples.shape[1] == 2:
        real = np.zeros((0, 2), np.float32) if real_points is None else np.asarray(real_points, np.float32)
        lo, hi = field_extent(real if len(real) else samples)
        return discriminator_picture(None, lo, hi, real, samples)
    if samples.ndim in (3, 4):
        return image_grid(samples, columns=columns, scale=scale)
    from dlstudio.gan.project import GanError

    raise GanError(f"cannot draw samples of shape {samples.shape[1:]}: only images and 2-D points")


def interpolate(z0: np.ndarray, z1: np.ndarray, steps: int, spherical: bool = True) -> np.ndarray:
    """``steps`` latent vectors from ``z0`` to ``z1`` (both included).

    Spherical (slerp) by default: the in-between vectors keep the length that
    normal noise has, so they stay where the generator was trained (a straight
    line passes through the low-norm middle, which it rarely saw).
    """
    z0, z1 = np.asarray(z0, np.float32).ravel(), np.asarray(z1, np.float32).ravel()
    t = np.linspace(0.0, 1.0, max(2, int(steps)), dtype=np.float32)[:, None]
    if spherical:
        cos = float(np.dot(z0, z1) / (np.linalg.norm(z0) * np.linalg.norm(z1) + 1e-12))
        omega = math.acos(min(1.0, max(-1.0, cos)))
        if omega > 1e-4:
            s = math.sin(omega)
            return ((np.sin((1.0 - t) * omega) / s) * z0 + (np.sin(t * omega) / s) * z1).astype(np.float32)
    return ((1.0 - t) * z0 + t * z1).astype(np.float32)


# --------------------------------------------------------------- mode coverage
@dataclass(frozen=True)
class Coverage:
    """How generated points spread over the modes of a ring (or any Gaussian mixture)."""

    covered: int  # modes that receive a fair part of the good points
    modes: int
    counts: tuple[int, ...]  # good points per mode
    good_share: float  # share of points within ``within`` standard deviations of some mode

    def __str__(self) -> str:
        return (f"{self.covered} of {self.modes} modes covered; {self.good_share:.0%} of the points "
                "lie close to a mode")


def mode_coverage(points: np.ndarray, centres: np.ndarray, std: float, within: float = 3.0,
                  min_share: float = 0.2) -> Coverage:
    """A point is *good* when it lies within ``within`` std of its nearest mode; a
    mode is *covered* when it gets at least ``min_share`` of its fair share
    (``min_share * len(points) / modes``) of the points (the usual ring-of-Gaussians
    measure, as in the Unrolled-GAN paper)."""
    points, centres = np.asarray(points, np.float64), np.asarray(centres, np.float64)
    k = len(centres)
    if not len(points):
        return Coverage(0, k, (0,) * k, 0.0)
    dist = np.linalg.norm(points[:, None, :] - centres[None, :, :], axis=-1)
    nearest = dist.argmin(axis=1)
    good = dist[np.arange(len(points)), nearest] <= within * std
    counts = np.bincount(nearest[good], minlength=k)
    covered = int((counts >= min_share * len(points) / k).sum())
    return Coverage(covered, k, tuple(int(c) for c in counts), float(good.mean()))


# ------------------------------------------------------- the discriminator's view
#: D(x) colours, as in GAN Lab: purple where D says "fake", green where it says "real".
FAKE_RGB, MID_RGB, REAL_RGB = np.array([123, 80, 176]), np.array([247, 247, 247]), np.array([46, 160, 67])


def field_extent(real: np.ndarray, margin: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """A square window around 2-D real data (with ``margin`` of its span on every side)."""
    real = np.asarray(real, np.float64)
    real = real[np.isfinite(real).all(axis=1)] if real.ndim == 2 else real.reshape(0, 2)
    if not len(real):
        return np.array([-1.5, -1.5]), np.array([1.5, 1.5])
    lo, hi = real.min(axis=0), real.max(axis=0)
    centre, half = (lo + hi) / 2, max(float((hi - lo).max()), 1e-6) * (0.5 + margin)
    return centre - half, centre + half


def discriminator_field(discriminator: Any, lo: np.ndarray, hi: np.ndarray, from_logits: bool,
                        n: int = 72) -> np.ndarray:
    """D(x) on an n x n grid over [lo, hi] (row 0 at the top, i.e. the highest x2)."""
    xs = np.linspace(lo[0], hi[0], n, dtype=np.float32)
    ys = np.linspace(hi[1], lo[1], n, dtype=np.float32)
    grid = np.stack(np.meshgrid(xs, ys), axis=-1).reshape(-1, 2)
    scores = np.asarray(discriminator(grid, training=False), np.float64).reshape(n, n)
    return 1.0 / (1.0 + np.exp(-scores)) if from_logits else scores


def discriminator_picture(field: np.ndarray | None, lo: np.ndarray, hi: np.ndarray, real: np.ndarray,
                          fake: np.ndarray, size: int = 480) -> np.ndarray:
    """GAN Lab's view: D(x) as the background (green: 'real', purple: 'fake'), the real
    points (dark green) and the generated ones (orange) on top, with ticks and a legend.
    Without a ``field`` the background is plain."""
    from PIL import Image, ImageDraw

    from dlstudio.data.grid import load_font, nice_ticks, tick_text

    margin_l, margin_b, margin_t, margin_r = 40, 30, 8, 8
    w, h = size - margin_l - margin_r, size - margin_t - margin_b
    p = np.clip(np.asarray(field if field is not None else np.full((2, 2), 0.5), np.float64), 0, 1)[..., None]
    rgb = np.where(p < 0.5, FAKE_RGB + (MID_RGB - FAKE_RGB) * (p / 0.5),
                   MID_RGB + (REAL_RGB - MID_RGB) * ((p - 0.5) / 0.5))
    back = Image.fromarray(rgb.astype(np.uint8)).resize((w, h), Image.Resampling.BILINEAR)
    img = Image.new("RGB", (size, size), (255, 255, 255))
    img.paste(back, (margin_l, margin_t))
    draw = ImageDraw.Draw(img)
    font = load_font(12)
    span = hi - lo

    def px(x):
        return margin_l + (np.asarray(x) - lo[0]) / span[0] * (w - 1)

    def py(y):
        return margin_t + h - 1 - (np.asarray(y) - lo[1]) / span[1] * (h - 1)

    for pts, fill, outline, r in ((real, (27, 94, 32), None, 2), (fake, (247, 144, 30), (120, 60, 0), 3)):
        pts = np.asarray(pts, np.float64)
        pts = pts[np.isfinite(pts).all(axis=1)] if len(pts) else pts
        for x, y in zip(px(pts[:, 0]) if len(pts) else (), py(pts[:, 1]) if len(pts) else ()):
            if margin_l <= x < margin_l + w and margin_t <= y < margin_t + h:
                draw.ellipse([x - r, y - r, x + r, y + r], fill=fill, outline=outline)
    ink = (60, 60, 60)
    draw.rectangle([margin_l - 1, margin_t - 1, margin_l + w, margin_t + h], outline=ink)
    for t in nice_ticks(lo[0], hi[0]):
        x = float(px(t))
        draw.line([(x, margin_t + h), (x, margin_t + h + 4)], fill=ink)
        draw.text((x, margin_t + h + 6), tick_text(t), fill=ink, font=font, anchor="mt")
    for t in nice_ticks(lo[1], hi[1]):
        y = float(py(t))
        draw.line([(margin_l - 4, y), (margin_l - 1, y)], fill=ink)
        draw.text((margin_l - 6, y), tick_text(t), fill=ink, font=font, anchor="rm")
    entries = (("real", (27, 94, 32)), ("generated", (247, 144, 30)))
    if field is not None:
        entries += (("D: real", tuple(REAL_RGB)), ("D: fake", tuple(FAKE_RGB)))
    bx, by = margin_l + 6, margin_t + 6
    draw.rectangle([bx, by, bx + 92, by + 8 + 15 * len(entries)], fill=(255, 255, 255), outline=(200, 200, 200))
    for k, (text, color) in enumerate(entries):
        cy = by + 11 + 15 * k
        draw.rectangle([bx + 6, cy - 4, bx + 14, cy + 4], fill=color)
        draw.text((bx + 20, cy), text, fill=ink, font=font, anchor="lm")
    return np.asarray(img)


# ------------------------------------------------- pictures of a trained generator
def interpolation_noise(gan: Any, steps: int, seed: int) -> np.ndarray:
    """``steps`` latent vectors on the way between two noise vectors drawn from ``seed``."""
    ends = latent_noise(2, gan.latent_dim, seed, gan.latent_distribution)
    return interpolate(ends[0], ends[1], steps, spherical=gan.latent_distribution == "normal")


def real_points_of(project: Any) -> np.ndarray | None:
    """The project's training points to draw under generated 2-D points (None when unavailable)."""
    from dlstudio.data import DatasetError, load_dataset
    from dlstudio.data.paths import base_folder

    try:
        return load_dataset(project.dataset.name, project.dataset.options, seed=project.training.seed,
                            base=base_folder(project)).x_train
    except DatasetError:
        return None


def generator_picture(generator: Any, pair: Any, z: np.ndarray, project: Any = None,
                      columns: int | None = None) -> np.ndarray:
    """What ``generator`` makes of ``z``, drawn: an image grid, or the points over the
    project's real ones. Raises GanError (a ValueError) for samples that have no picture."""
    if not (is_image(pair.sample_shape) or is_points(pair.sample_shape)):
        from dlstudio.gan.project import GanError

        raise GanError(f"the generator makes samples of shape {pair.sample_shape}: only images and 2-D "
                         "points can be drawn")
    samples = np.asarray(generate(generator, z, pair.output_range))
    real = real_points_of(project) if project is not None and is_points(pair.sample_shape) else None
    return sample_picture(samples, columns=columns, real_points=real)
