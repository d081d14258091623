"""Tables: scikit-learn's bundled classification sets and a synthetic apartment-price regression.

Shapes and dtypes (split by ``test_fraction``, stratified for classes):

- ``iris``: x float32 (150, 4), y int64 (150,) in 0..2.
- ``wine``: x float32 (178, 13), y int64 (178,) in 0..2.
- ``breast_cancer``: x float32 (569, 30), y int64 (569,) in 0..1.
- ``apartments``: x float32 (N, 6) (size_m2, rooms, distance_km, floor, age_years,
  balcony), y float32 (N, 1): the price in units of 100,000 euro.

With ``standardize`` (default on) every feature is shifted and scaled to mean 0
and standard deviation 1 *on the training part only* (no peeking at the test
set); ``meta["feature_mean"]`` and ``meta["feature_std"]`` keep the transform so
raw values can be recovered: raw = x * std + mean.
"""

from __future__ import annotations

import numpy as np

from dlstudio.data.dataset import Dataset
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option, train_test


def _standardize_option() -> OptionSpec:
    return OptionSpec("standardize", "bool", True,
                      "scale every feature to mean 0, standard deviation 1 (fitted on the training part)")


def _standardize(xtr: np.ndarray, xte: np.ndarray, meta: dict) -> tuple[np.ndarray, np.ndarray]:
    mean = xtr.mean(axis=0)
    std = xtr.std(axis=0)
    std = np.where(std > 0, std, 1.0)
    meta["feature_mean"] = [float(v) for v in mean]
    meta["feature_std"] = [float(v) for v in std]
    return ((xtr - mean) / std).astype("float32"), ((xte - mean) / std).astype("float32")


def _sklearn_table(name: str, loader_name: str, options: dict, seed: int, description: str) -> Dataset:
    import sklearn.datasets

    data = getattr(sklearn.datasets, loader_name)()
    x = np.asarray(data.data, dtype="float64")
    y = np.asarray(data.target, dtype="int64")
    xtr, xte, ytr, yte = train_test(x, y, options["test_fraction"], seed)
    meta: dict = {}
    if options["standardize"]:
        xtr, xte = _standardize(xtr, xte, meta)
    return Dataset(name, xtr.astype("float32"), ytr, xte.astype("float32"), yte, "classification",
                   [str(c) for c in data.target_names], description, kind="table",
                   feature_names=[str(f) for f in data.feature_names], meta=meta)


@register("iris", "Iris flowers", "tabular",
          "Fisher's 150 iris flowers: 4 measurements (sepal and petal length and width, cm) -> "
          "3 species. Bundled with scikit-learn, no download.",
          (_standardize_option(), test_fraction_option()))
def iris(options: dict, seed: int) -> Dataset:
    return _sklearn_table("iris", "load_iris", options, seed, "150 iris flowers, 4 measurements, 3 species")


@register("wine", "Wine cultivars", "tabular",
          "178 Italian wines: 13 chemical measurements -> 3 cultivars. Bundled with scikit-learn.",
          (_standardize_option(), test_fraction_option()))
def wine(options: dict, seed: int) -> Dataset:
    return _sklearn_table("wine", "load_wine", options, seed, "178 wines, 13 chemical measurements, 3 cultivars")


@register("breast_cancer", "Breast cancer (Wisconsin)", "tabular",
          "569 breast-mass samples: 30 features of cell nuclei -> malignant or benign. "
          "Bundled with scikit-learn.",
          (_standardize_option(), test_fraction_option()))
def breast_cancer(options: dict, seed: int) -> Dataset:
    return _sklearn_table("breast_cancer", "load_breast_cancer", options, seed,
                          "569 samples, 30 cell-nucleus features, malignant or benign")


APARTMENT_FEATURES = ["size_m2", "rooms", "distance_km", "floor", "age_years", "balcony"]


def apartment_prices(size: np.ndarray, rooms: np.ndarray, distance: np.ndarray, floor: np.ndarray,
                     age: np.ndarray, balcony: np.ndarray) -> np.ndarray:
    """The noise-free price in euro: a price per m² that falls with the distance to the centre,
    older flats cheaper, higher floors and a balcony a little dearer, each room a fixed premium."""
    per_m2 = 1500.0 + 5500.0 * np.exp(-distance / 8.0)
    return (size * per_m2 * (1.0 - 0.004 * age) * (1.0 + 0.01 * floor) * (1.0 + 0.05 * balcony)
            + 8000.0 * rooms)


@register("apartments", "Apartment prices (regression)", "regression",
          "A synthetic table of apartments: size (m²), rooms, distance to the centre (km), floor, "
          "age (years) and balcony (0/1) -> price (in 100,000 euro), from a plausible formula "
          "plus noise. Regression with a few meaningful features.",
          (OptionSpec("samples", "int", 1000, "number of apartments", 50, 1_000_000),
           OptionSpec("noise", "float", 0.1, "relative noise on the price (0.1: about ±10 %)", 0.0, 1.0),
           _standardize_option(), test_fraction_option()))
def apartments(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n = options["samples"]
    size = np.clip(rng.lognormal(np.log(70.0), 0.4, n), 18.0, 250.0)
    rooms = np.clip(np.round(size / 25.0 + rng.normal(0, 0.6, n)), 1, 8)
    distance = np.clip(rng.exponential(6.0, n), 0.2, 40.0)
    floor = np.minimum(rng.geometric(0.3, n) - 1, 25).astype("float64")
    age = np.clip(rng.gamma(2.0, 15.0, n), 0.0, 120.0)
    balcony = (rng.uniform(0, 1, n) < 0.6).astype("float64")
    price = apartment_prices(size, rooms, distance, floor, age, balcony)
    price = price * np.exp(rng.normal(0, options["noise"], n))  # relative noise, price stays positive
    x = np.stack([size, rooms, distance, floor, age, balcony], axis=1)
    y = (price / 100_000.0).reshape(n, 1)
    xtr, xte, ytr, yte = train_test(x, y, options["test_fraction"], seed)
    meta: dict = {"target_names": ["price_100k_eur"]}
    if options["standardize"]:
        xtr, xte = _standardize(xtr, xte, meta)
    return Dataset("apartments", xtr.astype("float32"), ytr.astype("float32"), xte.astype("float32"),
                   yte.astype("float32"), "regression", [],
                   "apartment prices (100,000 euro) from size, rooms, distance, floor, age and balcony",
                   kind="table", feature_names=list(APARTMENT_FEATURES), meta=meta)
