"""Every keras.applications constructor that builds offline (weights=None, the smallest input it
takes) imports with the same parameter count and, exported, gives the same outputs on the same
inputs (max abs difference <= 1e-5).

Every model up to 25 million parameters goes through the .keras export and is run from the file;
the bigger ones (the big members of the same families: the same layers, wider and deeper) compare
the rebuilt model in memory, the original freed first, so that only one copy of their weights
(up to 1.4 GB for ConvNeXtXLarge) is held at a time. One model of each kind the importer translates
(ops as Rescaling and hard_silu: MobileNetV3; noise_shape: EfficientNet; LayerScale, a fixed
Normalization and pointwise Dense: ConvNeXt) runs in the quick suite; the others are marked slow
(they still run in CI).
"""

from __future__ import annotations

import gc

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from dlstudio.compile import analyze, build_model  # noqa: E402
from dlstudio.compile.importer import apply_weights, graph_from_model  # noqa: E402
from dlstudio.export.models import write_keras  # noqa: E402
from dlstudio.export.verify import keras_outputs, run_keras_file  # noqa: E402

#: The smallest input each family takes (32x32 where nothing else is said).
_SIZES = {"InceptionV3": 75, "InceptionResNetV2": 75, "Xception": 71}
_QUICK = {"MobileNet", "MobileNetV3Small", "EfficientNetB0", "ConvNeXtTiny"}
NAMES = sorted(n for n in dir(keras.applications) if n[:1].isupper() and callable(getattr(keras.applications, n)))


def _param(name):
    return pytest.param(name, id=name, marks=() if name in _QUICK else pytest.mark.slow)


@pytest.mark.parametrize("name", [_param(n) for n in NAMES])
def test_application_round_trip(name, tmp_path):
    size = _SIZES.get(name, 32)
    keras.utils.set_random_seed(1)
    original = getattr(keras.applications, name)(weights=None, input_shape=(size, size, 3), classes=10)
    graph, weights = graph_from_model(original)
    analysis = analyze(graph)
    assert analysis.ok, analysis.errors[:3]
    assert analysis.total_params == original.count_params()
    big = original.count_params() > 25_000_000
    x = np.random.default_rng(0).uniform(0, 255, size=(2, size, size, 3)).astype("float32")
    expected = keras_outputs(original, [x])
    n_params = original.count_params()
    del original
    gc.collect()
    rebuilt = build_model(graph, analysis, name=name.lower())
    assert rebuilt.count_params() == n_params
    apply_weights(rebuilt, graph, weights)
    del weights
    if big:
        got = keras_outputs(rebuilt, [x])
    else:
        path = tmp_path / "exported.keras"
        write_keras(rebuilt, path)
        del rebuilt
        got = run_keras_file(path, [x])
    assert len(got) == len(expected)
    for a, b in zip(expected, got):
        assert a.shape == b.shape
        assert float(np.max(np.abs(a - b))) <= 1e-5
