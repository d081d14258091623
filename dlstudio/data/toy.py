"""Toy sets: 2-D classification as in TensorFlow Playground, and 1-D regression.

Classification (spirals, xor, circles, moons, blobs): x float32 (N, 2) with
features "x1", "x2" (roughly within [-1.5, 1.5]), y int64 (N,) class ids;
kind "points"; split by ``test_fraction`` (stratified).

Regression (sine, polynomial): x float32 (N, 1) with feature "x", y float32
(N, 1) -- every regression target in DL Studio has shape (N, outputs);
task "regression", kind "table"; random split by ``test_fraction``.
"""

from __future__ import annotations

import numpy as np

from dlstudio.data.dataset import Dataset, DatasetError
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option, train_test


def _samples(default: int) -> OptionSpec:
    return OptionSpec("samples", "int", default, "number of points", 10, 1_000_000)


def _noise(default: float) -> OptionSpec:
    return OptionSpec("noise", "float", default, "spread of the points", 0.0, 10.0)


def _points(name: str, x: np.ndarray, y: np.ndarray, options: dict, seed: int, classes: list[str],
            description: str) -> Dataset:
    xtr, xte, ytr, yte = train_test(x.astype("float32"), y.astype("int64"), options["test_fraction"], seed)
    return Dataset(name, xtr, ytr, xte, yte, "classification", classes, description, kind="points",
                   feature_names=["x1", "x2"])


@register("spirals", "Two spirals", "toy", "Two interleaved spirals: needs several hidden layers.",
          (_samples(1000), _noise(0.1), OptionSpec("turns", "float", 1.5, "turns of each arm", 0.1, 10.0),
           test_fraction_option()))
def spirals(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    per, turns = options["samples"] // 2, options["turns"]
    t = np.sqrt(rng.uniform(0, 1, per)) * turns * 2 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (turns * 2 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, options["noise"] * 0.1, (2 * per, 2))
    y = np.concatenate([np.zeros(per), np.ones(per)])
    return _points("spirals", x, y, options, seed, ["arm 0", "arm 1"], "two interleaved spirals in the plane")


@register("xor", "XOR", "toy", "Four clusters labelled by XOR: no straight line separates them.",
          (OptionSpec("samples", "int", 400, "number of points", 4, 1_000_000), _noise(0.15),
           test_fraction_option(0.25)))
def xor(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    corners = rng.integers(0, 2, size=(options["samples"], 2))
    x = corners * 2.0 - 1.0 + rng.normal(0, options["noise"], corners.shape)
    y = corners[:, 0] ^ corners[:, 1]
    return _points("xor", x, y, options, seed, ["0", "1"], "XOR: no straight line separates the classes")


@register("circles", "Circles", "toy", "A ring around a disc: a straight line fails, one hidden layer (or x² "
          "features) separates them.",
          (_samples(1000), _noise(0.1),
           OptionSpec("factor", "float", 0.5, "radius of the inner disc relative to the ring", 0.05, 0.95),
           test_fraction_option()))
def circles(options: dict, seed: int) -> Dataset:
    from sklearn.datasets import make_circles

    x, y = make_circles(options["samples"], noise=options["noise"], factor=options["factor"],
                        random_state=seed)
    return _points("circles", x, y, options, seed, ["ring", "disc"], "a disc inside a ring")


@register("moons", "Two moons", "toy", "Two interleaving half circles: a gently curved boundary.",
          (_samples(1000), _noise(0.15), test_fraction_option()))
def moons(options: dict, seed: int) -> Dataset:
    from sklearn.datasets import make_moons

    x, y = make_moons(options["samples"], noise=options["noise"], random_state=seed)
    x = x - np.array([0.5, 0.25])  # centred on the origin, like the other toy sets
    return _points("moons", x, y, options, seed, ["upper moon", "lower moon"], "two interleaving half moons")


@register("blobs", "Gaussian blobs", "toy", "Round clusters, one per class, on a circle: linearly separable "
          "for little noise, a first softmax classifier.",
          (_samples(1000), _noise(0.25),
           OptionSpec("classes", "int", 3, "number of clusters (classes)", 2, 8),
           test_fraction_option()))
def blobs(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    k, n = options["classes"], options["samples"]
    if n < 10 * k:
        raise DatasetError(f"dataset 'blobs' option 'samples' must be at least {10 * k} for {k} classes "
                           f"(got {n})")
    angles = rng.uniform(0, 2 * np.pi) + np.arange(k) * 2 * np.pi / k
    centres = np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = rng.permutation(np.arange(n) % k)
    x = centres[y] + rng.normal(0, options["noise"], (n, 2))
    return _points("blobs", x, y, options, seed, [f"blob {i}" for i in range(k)],
                   f"{k} Gaussian clusters on the unit circle")


@register("ring", "Ring of Gaussians (GAN)", "toy", "Small Gaussian clusters evenly spaced on a circle, as in "
          "GAN Lab: the classic test of a GAN's mode coverage (a generator that collapses covers only a few "
          "clusters). Labels are the cluster ids.",
          (OptionSpec("samples", "int", 2000, "number of points", 16, 1_000_000),
           OptionSpec("modes", "int", 8, "number of clusters on the circle", 2, 32),
           OptionSpec("radius", "float", 1.0, "radius of the circle", 0.1, 100.0),
           OptionSpec("noise", "float", 0.05, "standard deviation of each cluster", 0.001, 10.0),
           test_fraction_option()))
def ring(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    k, n, radius, std = options["modes"], options["samples"], options["radius"], options["noise"]
    angles = np.arange(k) * 2 * np.pi / k
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    y = rng.permutation(np.arange(n) % k)
    x = centres[y] + rng.normal(0, std, (n, 2))
    d = _points("ring", x, y, options, seed, [f"mode {i}" for i in range(k)],
                f"{k} Gaussian clusters (std {std:g}) on a circle of radius {radius:g}")
    d.meta.update(centres=centres.tolist(), std=float(std))
    return d


def _regression(name: str, x: np.ndarray, y: np.ndarray, options: dict, seed: int, description: str) -> Dataset:
    x = x.astype("float32").reshape(len(x), -1)
    y = y.astype("float32").reshape(len(y), 1)
    xtr, xte, ytr, yte = train_test(x, y, options["test_fraction"], seed)
    return Dataset(name, xtr, ytr, xte, yte, "regression", [], description, kind="table", feature_names=["x"],
                   meta={"target_names": ["y"]})


@register("sine", "Sine curve (regression)", "regression",
          "x uniform in [-pi, pi], target sin(x) plus Gaussian noise: fit a curve with a small MLP "
          "(tanh or ReLU) and watch the line bend.",
          (_samples(500), OptionSpec("noise", "float", 0.1, "standard deviation of the noise on y", 0.0, 10.0),
           test_fraction_option()))
def sine(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-np.pi, np.pi, options["samples"])
    y = np.sin(x) + rng.normal(0, options["noise"], x.shape)
    return _regression("sine", x, y, options, seed, "y = sin(x) + noise, x in [-pi, pi]")


@register("polynomial", "Polynomial (regression)", "regression",
          "x uniform in [-1, 1], target a random polynomial of the chosen degree (coefficients drawn "
          "from the seed, scaled to about [-1, 1]) plus noise: under- and over-fitting in one picture.",
          (_samples(500), OptionSpec("degree", "int", 3, "degree of the polynomial", 1, 10),
           OptionSpec("noise", "float", 0.1, "standard deviation of the noise on y", 0.0, 10.0),
           test_fraction_option()))
def polynomial(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    degree = options["degree"]
    coefficients = rng.normal(0, 1, degree + 1)
    coefficients[-1] = np.sign(coefficients[-1] or 1.0) * max(abs(coefficients[-1]), 0.5)  # really degree d
    x = rng.uniform(-1, 1, options["samples"])
    clean = np.polynomial.polynomial.polyval(x, coefficients)
    scale = np.max(np.abs(np.polynomial.polynomial.polyval(np.linspace(-1, 1, 201), coefficients))) or 1.0
    y = clean / scale + rng.normal(0, options["noise"], x.shape)
    d = _regression("polynomial", x, y, options, seed, f"a random polynomial of degree {degree} plus noise")
    d.meta["coefficients"] = [float(c / scale) for c in coefficients]  # lowest power first
    return d
