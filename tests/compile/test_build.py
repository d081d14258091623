"""Graph -> keras.Model: names, input/output order, errors, and a model that trains."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from dlstudio.compile import CompileError, ShapeInference, build_model, model_io
from dlstudio.graph import Graph


def two_in_two_out() -> Graph:
    """Inputs and outputs deliberately added in the opposite of their position order."""
    g = Graph()
    meta = g.add_node("Input", {"shape": [5]}, name="meta", pos=(400, 0))
    img = g.add_node("Input", {"shape": [8, 8, 1]}, name="image", pos=(0, 0))
    conv = g.add_node("Conv2D", {"filters": 4}, name="conv", pos=(0, 100))
    gap = g.add_node("GlobalAveragePooling2D", {}, name="gap", pos=(0, 200))
    md = g.add_node("Dense", {"units": 3}, name="meta_dense", pos=(400, 100))
    cat = g.add_node("Concatenate", {}, name="merge", pos=(200, 300))
    late = g.add_node("Dense", {"units": 2, "activation": "softmax"}, name="late_out", pos=(0, 500))
    early = g.add_node("Dense", {"units": 1}, name="early_out", pos=(400, 400))
    g.connect(img.id, conv.id)
    g.connect(conv.id, gap.id)
    g.connect(meta.id, md.id)
    g.connect(gap.id, cat.id, 0)
    g.connect(md.id, cat.id, 1)
    g.connect(cat.id, late.id)
    g.connect(cat.id, early.id)
    return g


@pytest.fixture(scope="module")
def multi_model():
    g = two_in_two_out()
    return g, build_model(g, ShapeInference().analyze(g))


def test_layer_names_are_node_names(multi_model):
    g, model = multi_model
    assert sorted(layer.name for layer in model.layers) == sorted(n.name for n in g.nodes)
    assert model.get_layer("conv").filters == 4
    assert model.get_layer("meta_dense").units == 3


def test_inputs_and_outputs_in_position_order(multi_model):
    g, model = multi_model
    # top to bottom, then left to right: image (0, 0) before meta (400, 0)
    assert [t.name for t in model.inputs] == ["image", "meta"]
    assert [tuple(t.shape) for t in model.inputs] == [(None, 8, 8, 1), (None, 5)]
    # early_out sits higher (y=400) than late_out (y=500)
    assert [tuple(t.shape) for t in model.outputs] == [(None, 1), (None, 2)]
    assert model.output_names == ["early_out", "late_out"]
    a = ShapeInference().analyze(g)
    ins, outs = model_io(g, a)
    assert [g.node(n).name for n in ins] == ["image", "meta"]
    assert [g.node(n).name for n in outs] == ["early_out", "late_out"]


def test_multi_model_predicts(multi_model):
    _, model = multi_model
    y1, y2 = model.predict([np.zeros((3, 8, 8, 1), "float32"), np.zeros((3, 5), "float32")], verbose=0)
    assert y1.shape == (3, 1) and y2.shape == (3, 2)
    np.testing.assert_allclose(y2.sum(axis=1), 1.0, rtol=1e-5)


def test_moving_a_node_reorders_outputs():
    g = two_in_two_out()
    g.move(g.node_by_name("late_out").id, 0, 50)
    model = build_model(g, ShapeInference().analyze(g))
    assert model.output_names == ["late_out", "early_out"]


def test_single_input_output_is_not_a_list():
    g = Graph()
    x = g.add_node("Input", {"shape": [4]}, name="x")
    d = g.add_node("Dense", {"units": 2}, name="y")
    g.connect(x.id, d.id)
    model = build_model(g)
    assert len(model.inputs) == 1 and len(model.outputs) == 1
    assert model.predict(np.ones((2, 4), "float32"), verbose=0).shape == (2, 2)


def test_invalid_graph_raises_compile_error_with_problems():
    g = Graph()
    x = g.add_node("Input", {"shape": [28, 28, 1]}, name="image")
    c = g.add_node("Conv2D", {"filters": 8}, name="conv")
    d = g.add_node("Dense", {"units": 10}, name="fc1")
    g.connect(x.id, c.id)
    g.connect(c.id, d.id)
    with pytest.raises(CompileError) as err:
        build_model(g)
    problems = err.value.problems
    assert len(problems) == 1 and set(problems[0].node_ids) == {c.id, d.id}
    assert "fc1" in str(err.value) and "Flatten" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_compile_error_for_cycle_and_missing_input():
    g = Graph()
    a = g.add_node("Concatenate", {}, name="a")
    b = g.add_node("Dense", {}, name="b")
    g.connect(a.id, b.id)
    g.connect(b.id, a.id, 1)
    with pytest.raises(CompileError) as err:
        build_model(g)
    text = " ".join(p.message for p in err.value.problems)
    assert "cycle" in text and "no Input" in text


def test_warnings_do_not_stop_compilation():
    g = Graph()
    x = g.add_node("Input", {"shape": [4]}, name="x")
    g.add_node("Input", {"shape": [3]}, name="unused")
    d = g.add_node("Dense", {"units": 2}, name="y")
    g.connect(x.id, d.id)
    a = ShapeInference().analyze(g)
    assert a.ok and a.problems  # one warning: the unused input
    model = build_model(g, a)
    assert [t.name for t in model.inputs] == ["x"]


def test_recurrent_states_and_wrappers_compile():
    g = Graph()
    enc_in = g.add_node("Input", {"shape": [6, 3]}, name="enc_in", pos=(0, 0))
    dec_in = g.add_node("Input", {"shape": [5, 3]}, name="dec_in", pos=(100, 0))
    enc = g.add_node("LSTM", {"units": 8, "return_state": True}, name="enc")
    dec = g.add_node("LSTM", {"units": 8, "return_sequences": True}, name="dec")
    td = g.add_node("TimeDistributed", {"layer": "Dense", "inner": {"units": 4}}, name="td")
    g.connect(enc_in.id, enc.id)
    g.connect(dec_in.id, dec.id)
    g.add_edge(enc.id, 1, dec.id, 1)
    g.add_edge(enc.id, 2, dec.id, 2)
    g.connect(dec.id, td.id)
    model = build_model(g)
    out = model.predict([np.ones((2, 6, 3), "float32"), np.ones((2, 5, 3), "float32")], verbose=0)
    assert out.shape == (2, 5, 4)
    assert model.get_layer("td").layer.units == 4


def test_mlp_trains_one_step():
    g = Graph()
    x = g.add_node("Input", {"shape": [6]}, name="features")
    h = g.add_node("Dense", {"units": 8, "activation": "relu"}, name="hidden")
    drop = g.add_node("Dropout", {"rate": 0.1}, name="drop")
    y = g.add_node("Dense", {"units": 3, "activation": "softmax"}, name="probs")
    g.connect(x.id, h.id)
    g.connect(h.id, drop.id)
    g.connect(drop.id, y.id)
    model = build_model(g)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    rng = np.random.default_rng(0)
    data = rng.normal(size=(16, 6)).astype("float32")
    labels = rng.integers(0, 3, size=16)
    before = [w.copy() for w in model.get_weights()]
    history = model.fit(data, labels, batch_size=16, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = model.get_weights()
    assert any(not np.allclose(b, a) for b, a in zip(before, after))  # one step changed the weights


def test_a_frozen_layer_keeps_its_weights_out_of_training():
    from dlstudio.compile import analyze, build_model
    from dlstudio.graph import Graph

    g = Graph()
    inp = g.add_node("Input", {"shape": [6, 6, 1]})
    conv = g.add_node("Conv2D", {"filters": 1, "kernel_size": 3, "use_bias": False, "trainable": False,
                                 "kernel_initializer": {"class_name": "Constant", "config": {"value": 1.0}}})
    g.connect(inp.id, conv.id)
    analysis = analyze(g)
    assert analysis.total_params == 9 and analysis.trainable_params == 0
    model = build_model(g, analysis)
    assert model.get_layer(conv.name).trainable is False
    assert model.count_params() == 9 and not model.trainable_weights
