"""The pictures of the editor's layer previews, and the weights they keep: an edit changes
only the outputs downstream of it; a run's weights go to the layers of the same name."""

from __future__ import annotations

import numpy as np

from dlstudio.graph import Graph
from dlstudio.insight.previews import PreviewModel, node_signatures, preview_picture


def mlp() -> Graph:
    g = Graph()
    a = g.add_node("Input", {"shape": [6]}, name="x")
    b = g.add_node("Dense", {"units": 5, "activation": "relu"}, name="h1")
    c = g.add_node("Dense", {"units": 4, "activation": "relu"}, name="h2")
    d = g.add_node("Dense", {"units": 3, "activation": "softmax"}, name="out")
    g.connect(a.id, b.id), g.connect(b.id, c.id), g.connect(c.id, d.id)
    return g


def test_pictures_of_maps_vectors_sequences_and_probabilities():
    maps = preview_picture(np.random.default_rng(0).random((6, 6, 20)))
    assert maps.kind == "maps" and maps.image.shape == (4 * 7 - 1, 4 * 7 - 1) and "first 16" in maps.text
    seq = preview_picture(np.arange(30, dtype=float).reshape(10, 3))
    assert seq.kind == "sequence" and seq.image.shape == (3, 10) and seq.image.max() == 255
    probs = preview_picture(np.array([0.1, 0.7, 0.2]), probabilities=True, class_names=["a", "b", "c"])
    assert probs.kind == "probabilities" and probs.text == "class b: 70%"
    assert probs.image[:, 8:16].sum() > probs.image[:, :8].sum()  # b's bar is the tallest
    gauge = preview_picture(np.array([0.25]), probabilities=True)
    assert gauge.text == "class 1: 25%" and gauge.image.shape[1] >= 20
    assert preview_picture(np.zeros(4)).digest == preview_picture(np.zeros(4)).digest
    assert preview_picture(np.zeros(4)).digest != preview_picture(np.ones(4) * np.arange(4)).digest


def test_an_edit_changes_only_what_is_downstream_of_it():
    g = mlp()
    model = PreviewModel()
    x = [np.linspace(-1, 1, 6).astype(np.float32)]
    first = model.outputs(g, x)
    ids = {n.name: n.id for n in g.nodes}
    assert np.allclose(first[ids["x"]], x[0]) and first[ids["out"]].shape == (3,)
    sigs = node_signatures(g)
    g.set_param(ids["h2"], "units", 7)
    assert {n for n, s in node_signatures(g).items() if s != sigs[n]} == {ids["h2"], ids["out"]}
    second = model.outputs(g, x)
    assert np.array_equal(first[ids["h1"]], second[ids["h1"]])  # same weights upstream
    assert second[ids["h2"]].shape == (7,) and model.computed == 2


def test_a_runs_weights_go_to_layers_of_the_same_name():
    from dlstudio.compile import build_model

    g = mlp()
    trained = build_model(g)
    for layer in trained.layers:
        if layer.weights:
            layer.set_weights([np.full(w.shape, 0.1, np.float32) for w in layer.get_weights()])
    g.set_param(next(n.id for n in g.nodes if n.name == "out"), "units", 2)  # changed since the run
    out = PreviewModel().outputs(g, [np.ones(6, np.float32)], source=trained)
    h1 = next(n.id for n in g.nodes if n.name == "h1")
    assert np.allclose(out[h1], 0.1 * 6 + 0.1)  # the run's weights
    assert out[next(n.id for n in g.nodes if n.name == "out")].shape == (2,)  # fresh weights, new shape
