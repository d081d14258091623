"""Built-in image datasets that work offline."""

from __future__ import annotations

import numpy as np

from dlstudio.data.dataset import Dataset
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option, train_test


@register("digits", "Handwritten digits (8x8)", "images",
          "scikit-learn's 1,797 handwritten digits, 8x8 grey, scaled to [0, 1]; bundled, no download.",
          (OptionSpec("flatten", "bool", False, "give 64 features instead of 8x8x1 images"),
           test_fraction_option()))
def digits(options: dict, seed: int) -> Dataset:
    from sklearn.datasets import load_digits

    data = load_digits()
    x = (data.images / 16.0).astype("float32")
    x = x.reshape(len(x), -1) if options["flatten"] else x[..., None]
    y = data.target.astype("int64")
    xtr, xte, ytr, yte = train_test(x, y, options["test_fraction"], seed)
    return Dataset("digits", xtr, ytr, xte, yte, "classification", [str(i) for i in range(10)],
                   "8x8 grey handwritten digits from scikit-learn, scaled to [0, 1]",
                   kind="table" if options["flatten"] else "image")
