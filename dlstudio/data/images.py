"""Built-in image datasets that work offline.

Shapes and dtypes (N samples, split into train and test by ``test_fraction``):

- ``digits``: x float32 (N, S, S, 1) in [0, 1] with S = ``size`` (8, 16 or 28),
  or (N, S*S) with ``flatten``; y int64 (N,) in 0..9. N = 1797. With
  ``target="image"`` y is a copy of x (a regression, for autoencoders) and the
  digit classes are in ``meta["labels_train"]`` / ``meta["labels_test"]``.
- ``shapes``: x float32 (N, S, S, C) in [0, 1], S = ``size`` (28 or 32),
  C = 3 with ``colour`` else 1; y int64 (N,) in 0..2 (circle, square, triangle).
"""

from __future__ import annotations

import numpy as np

from dlstudio.data.dataset import Dataset
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option, train_test


def _upscale(images: np.ndarray, size: int) -> np.ndarray:
    """(N, h, h) in [0, 1] -> (N, size, size) by smooth (cubic spline) zoom, kept in [0, 1].

    The zoom is separable and linear, so it is one small matrix A (size x h) applied to rows
    and columns, A @ image @ A.T -- the same as scipy.ndimage.zoom on each image, only faster."""
    h = images.shape[1]
    if h == size:
        return images
    from scipy.ndimage import zoom

    a = np.stack([zoom(unit, size / h, order=3, mode="nearest", grid_mode=True) for unit in np.eye(h)], axis=1)
    return np.clip(np.einsum("ij,njk,lk->nil", a, images, a), 0.0, 1.0)


@register("digits", "Handwritten digits (8x8, bundled)", "images",
          "scikit-learn's 1,797 handwritten digits, 8x8 grey, scaled to [0, 1]; bundled, no download. "
          "Optionally upscaled smoothly to 16x16 or 28x28 (MNIST-sized), e.g. for deeper CNNs.",
          (OptionSpec("flatten", "bool", False, "give S*S features instead of SxSx1 images"),
           OptionSpec("size", "choice", 8, "image side in pixels (upscaled smoothly from 8x8)",
                      choices=(8, 16, 28)),
           OptionSpec("target", "choice", "label",
                      "what the network learns to output: the digit's class, or the image itself "
                      "(autoencoders; the classes are kept in meta for colouring)",
                      choices=("label", "image")),
           test_fraction_option()))
def digits(options: dict, seed: int) -> Dataset:
    from sklearn.datasets import load_digits

    data = load_digits()
    size = int(options["size"])
    x = _upscale(data.images / 16.0, size).astype("float32")
    x = x.reshape(len(x), -1) if options["flatten"] else x[..., None]
    y = data.target.astype("int64")
    xtr, xte, ytr, yte = train_test(x, y, options["test_fraction"], seed)
    names = [str(i) for i in range(10)]
    kind = "table" if options["flatten"] else "image"
    description = f"{size}x{size} grey handwritten digits from scikit-learn, scaled to [0, 1]"
    if options["target"] == "image":  # reconstruct the input: a regression onto the image itself
        return Dataset("digits", xtr, xtr.copy(), xte, xte.copy(), "regression", [],
                       description + "; the target is the image itself", kind=kind,
                       meta={"size": size, "class_names": names, "labels_train": ytr, "labels_test": yte})
    return Dataset("digits", xtr, ytr, xte, yte, "classification", names, description, kind=kind,
                   meta={"size": size})


SHAPE_NAMES = ["circle", "square", "triangle"]


def _shape_masks(labels: np.ndarray, size: int, rng: np.random.Generator, rotation: bool) -> np.ndarray:
    """Anti-aliased masks (N, size, size) in [0, 1], drawn from signed distances in pixels."""
    n = len(labels)
    radius = rng.uniform(0.22, 0.34, n) * size  # circumradius of the shape
    shift = 0.5 * size - radius - 1.0  # keep the shape inside the frame
    cx = 0.5 * size + rng.uniform(-1, 1, n) * np.minimum(shift, 0.15 * size)
    cy = 0.5 * size + rng.uniform(-1, 1, n) * np.minimum(shift, 0.15 * size)
    angle = rng.uniform(0, 2 * np.pi, n) if rotation else np.zeros(n)

    grid = np.arange(size, dtype="float64") + 0.5
    px = grid[None, None, :] - cx[:, None, None]
    py = grid[None, :, None] - cy[:, None, None]
    cos, sin = np.cos(angle)[:, None, None], np.sin(angle)[:, None, None]
    qx, qy = cos * px + sin * py, -sin * px + cos * py  # pixel in the shape's own frame
    r = radius[:, None, None]

    circle = np.hypot(qx, qy) - 0.85 * r  # a bit smaller: similar area to the others
    square = np.maximum(np.abs(qx), np.abs(qy)) - r / np.sqrt(2.0)
    # equilateral triangle, one corner up: the largest of three edge distances
    inradius = 0.5 * r
    edges = [np.cos(a) * qx + np.sin(a) * qy - inradius
             for a in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3, np.pi / 2 + 4 * np.pi / 3)]
    triangle = np.maximum(np.maximum(edges[0], edges[1]), edges[2])

    lab = labels[:, None, None]
    sd = np.where(lab == 0, circle, np.where(lab == 1, square, triangle))
    return np.clip(0.5 - sd, 0.0, 1.0)


@register("shapes", "Shapes (circles, squares, triangles)", "images",
          "Synthetic images of one circle, square or triangle each, at a random place and size, "
          "optionally rotated, in colour and with pixel noise. Drawn on the fly; a first CNN "
          "learns them in a few epochs.",
          (OptionSpec("samples", "int", 1500, "number of images", 30, 200_000),
           OptionSpec("size", "choice", 28, "image side in pixels", choices=(28, 32)),
           OptionSpec("colour", "bool", False, "RGB images with random colours instead of grey"),
           OptionSpec("noise", "float", 0.05, "standard deviation of the pixel noise", 0.0, 1.0),
           OptionSpec("rotation", "bool", True, "rotate each shape by a random angle"),
           test_fraction_option()))
def shapes(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n, size = options["samples"], int(options["size"])
    labels = rng.permutation(np.arange(n) % 3).astype("int64")
    mask = _shape_masks(labels, size, rng, options["rotation"])[..., None]
    if options["colour"]:
        fg = rng.uniform(0.35, 1.0, (n, 1, 1, 3))
        bg = rng.uniform(0.0, 0.3, (n, 1, 1, 3))
    else:
        fg, bg = np.ones((n, 1, 1, 1)), np.zeros((n, 1, 1, 1))
    x = bg + (fg - bg) * mask
    if options["noise"] > 0:
        x = x + rng.normal(0.0, options["noise"], x.shape)
    x = np.clip(x, 0.0, 1.0).astype("float32")
    xtr, xte, ytr, yte = train_test(x, labels, options["test_fraction"], seed)
    channels = 3 if options["colour"] else 1
    return Dataset("shapes", xtr, ytr, xte, yte, "classification", list(SHAPE_NAMES),
                   f"{size}x{size}x{channels} images of circles, squares and triangles", kind="image",
                   meta={"size": size})
