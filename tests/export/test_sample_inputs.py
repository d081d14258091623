"""The export check runs a model on inputs of its real shapes: a None dimension gets a length
(and other lengths where the model takes them), integer inputs token ids below the vocabulary
of their Embedding, several inputs a sample each."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.export import export_run
from dlstudio.export.samples import fits, input_sets, token_limits
from dlstudio.graph import Graph
from tests.export.conftest import project_with_run

keras = pytest.importorskip("keras")
layers = keras.layers


def _text_graph() -> Graph:
    g = Graph()
    prev = None
    for i, (kind, params) in enumerate([
        ("Input", {"shape": [None], "dtype": "int32"}), ("Embedding", {"input_dim": 37, "output_dim": 4}),
        ("Conv1D", {"filters": 4, "kernel_size": 3}), ("GlobalMaxPooling1D", {}), ("Dense", {"units": 2}),
    ]):
        node = g.add_node(kind, params, name=f"{kind.lower()}{i}", pos=(0.0, 150.0 * i))
        if prev is not None:
            g.connect(prev.id, node.id)
        prev = node
    return g


def test_token_ids_stay_below_the_vocabulary_and_lengths_vary():
    a = keras.Input((None,), dtype="int32")
    b = keras.Input((None, 3))
    x = layers.GlobalAveragePooling1D()(layers.Embedding(7, 3)(a))
    y = layers.GlobalAveragePooling1D()(layers.Conv1D(3, 20)(b))  # takes only 20 steps or more
    model = keras.Model([a, b], layers.Add()([x, y]))
    assert token_limits(model) == {0: 7}
    sets = input_sets(model, n=5)
    assert len(sets) == 2
    first, second = sets
    assert first[0].dtype == np.int32 and first[0].max() < 7 and first[1].dtype == np.float32
    assert first[0].shape == (5, 32) and first[1].shape == (5, 32, 3)  # 16 is too short for the conv
    assert second[0].shape[1] != second[1].shape[1]  # each input a length of its own
    assert all(fits(s, model) for s in sets)


def test_inputs_that_must_share_a_length_get_one_other_length():
    a, b = keras.Input((None, 2)), keras.Input((None, 2))
    model = keras.Model([a, b], layers.Add()([a, b]))
    sets = input_sets(model, n=2)
    assert [[x.shape for x in s] for s in sets] == [[(2, 16, 2)] * 2, [(2, 21, 2)] * 2]


def test_data_that_fits_comes_first():
    model = keras.Sequential([keras.Input((None, 2)), layers.SimpleRNN(3)])
    data = [np.ones((20, 9, 2), "float64")]
    sets = input_sets(model, n=4, data=data)
    assert sets[0][0].shape == (4, 9, 2) and sets[0][0].dtype == np.float32
    assert sets[1][0].shape[1] != 9
    assert input_sets(model, n=4, data=[np.ones((20, 9, 5))])[0][0].shape == (4, 16, 2)  # data that does not fit


def test_a_variable_length_text_model_exports_and_is_checked(tmp_path):
    project, run = project_with_run(tmp_path, "text", _text_graph(), "xor")  # xor does not fit: random ids
    for fmt in ("keras", "tflite"):
        result = export_run(project, run, fmt, tmp_path / f"text.{fmt}")
        assert result.max_difference is not None and result.max_difference < 1e-5
        assert result.samples_checked == 16  # two lengths
