"""Toy 2-D classification sets, as in TensorFlow Playground."""

from __future__ import annotations

import numpy as np

from dlstudio.data.dataset import Dataset
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
