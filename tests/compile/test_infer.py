"""Shape inference: shapes, parameters and MACs against Keras; problems as data; the cache."""

from __future__ import annotations

import math
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlstudio.compile.infer as infer_module
from dlstudio.compile import Analysis, ShapeInference, analyze, build_model, connection_problem
from dlstudio.graph import Graph, Node


# ------------------------------------------------------------------ helpers
class Builder:
    """Terse graph construction: ``b.add("Dense", "fc1", src, units=10)``."""

    def __init__(self) -> None:
        self.g = Graph()
        self._y = 0.0

    def add(self, type_name: str, name: str, *srcs, pos=None, **params) -> Node:
        """``srcs`` are nodes or (node, src_port) pairs, connected to ports 0, 1, ..."""
        self._y += 50.0
        node = self.g.add_node(type_name, params, name=name, pos=pos or (0.0, self._y))
        for port, src in enumerate(srcs):
            if src is None:
                continue
            src_node, src_port = src if isinstance(src, tuple) else (src, 0)
            self.g.add_edge(src_node.id, src_port, node.id, port)
        return node

    def input(self, name: str, *shape, dtype: str = "float32", pos=None) -> Node:
        return self.add("Input", name, shape=list(shape), dtype=dtype, pos=pos)


def infos_by_name(g: Graph, a: Analysis) -> dict:
    return {g.node(nid).name: info for nid, info in a.nodes.items()}


def assert_matches_keras(g: Graph) -> tuple[Analysis, object]:
    """Every node's output shapes, parameter and trainable counts equal Keras'."""
    a = ShapeInference().analyze(g)
    assert a.ok, [str(p) for p in a.problems]
    model = build_model(g, a)
    infos = infos_by_name(g, a)
    assert {layer.name for layer in model.layers} == set(infos)
    for layer in model.layers:
        info = infos[layer.name]
        outs = layer.output if isinstance(layer.output, (list, tuple)) else [layer.output]
        assert info.output_shapes == tuple(tuple(t.shape) for t in outs), layer.name
        assert info.params == layer.count_params(), layer.name
        trainable = sum(math.prod(w.shape) for w in layer.trainable_weights)
        assert info.trainable_params == trainable, layer.name
    assert a.total_params == model.count_params()
    return a, model


def only_problem(g: Graph):
    a = ShapeInference().analyze(g)
    errors = a.errors
    assert len(errors) == 1, [str(p) for p in a.problems]
    return errors[0], a


def assert_actionable(problem, *names: str, ids=()):
    """The problem names these nodes in its text and ids, and says what to do."""
    text = str(problem)
    for name in names:
        assert f"'{name}'" in text, (name, text)
    for nid in ids:
        assert nid in problem.node_ids, (nid, problem.node_ids)
    assert problem.hint, text
    assert problem.is_error


# ------------------------------------------------------- models vs Keras
def test_lenet_shapes_params_macs():
    b = Builder()
    x = b.input("image", 28, 28, 1)
    c1 = b.add("Conv2D", "conv1", x, filters=6, kernel_size=5, padding="same", activation="relu")
    p1 = b.add("MaxPooling2D", "pool1", c1)
    c2 = b.add("Conv2D", "conv2", p1, filters=16, kernel_size=5, activation="relu")
    p2 = b.add("MaxPooling2D", "pool2", c2)
    f = b.add("Flatten", "flatten", p2)
    d1 = b.add("Dense", "fc1", f, units=120, activation="relu")
    d2 = b.add("Dense", "fc2", d1, units=84, activation="relu")
    b.add("Dense", "logits", d2, units=10, activation="softmax")
    a, model = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)
    assert info["conv1"].output_shape == (None, 28, 28, 6)
    assert info["conv2"].output_shape == (None, 10, 10, 16)
    assert info["flatten"].output_shape == (None, 400)
    assert info["conv1"].params == 5 * 5 * 1 * 6 + 6
    assert info["fc1"].params == 400 * 120 + 120
    # MACs by hand: a kernel weight is used once per output pixel (conv) or once (dense)
    assert info["conv1"].macs == (5 * 5 * 1 * 6) * (28 * 28)
    assert info["conv2"].macs == (5 * 5 * 6 * 16) * (10 * 10)
    assert info["fc1"].macs == 400 * 120
    assert info["fc2"].macs == 120 * 84
    assert info["logits"].macs == 84 * 10
    for name in ("image", "pool1", "pool2", "flatten"):
        assert info[name].macs == 0 and info[name].params == 0
    assert a.total_macs == 117600 + 240000 + 48000 + 10080 + 840
    assert a.total_params == 61706 == model.count_params()


def test_resnet_block_with_add():
    b = Builder()
    x = b.input("x", 16, 16, 8)
    c1 = b.add("Conv2D", "c1", x, filters=8, padding="same")
    n1 = b.add("BatchNormalization", "bn1", c1)
    r1 = b.add("Activation", "relu1", n1, activation="relu")
    c2 = b.add("Conv2D", "c2", r1, filters=8, padding="same")
    n2 = b.add("BatchNormalization", "bn2", c2)
    add = b.add("Add", "add", x, n2)
    b.add("Activation", "out", add, activation="relu")
    a, _ = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)
    assert info["add"].output_shape == (None, 16, 16, 8)
    assert info["bn1"].params == 4 * 8 and info["bn1"].trainable_params == 2 * 8
    assert info["c1"].macs == 3 * 3 * 8 * 8 * 16 * 16
    assert info["add"].macs == 0


def test_inception_block():
    b = Builder()
    x = b.input("x", 16, 16, 8)
    b1 = b.add("Conv2D", "b1_1x1", x, filters=8, kernel_size=1)
    r3 = b.add("Conv2D", "b2_reduce", x, filters=4, kernel_size=1)
    b2 = b.add("Conv2D", "b2_3x3", r3, filters=8, kernel_size=3, padding="same")
    r5 = b.add("Conv2D", "b3_reduce", x, filters=2, kernel_size=1)
    b3 = b.add("Conv2D", "b3_5x5", r5, filters=4, kernel_size=5, padding="same")
    mp = b.add("MaxPooling2D", "b4_pool", x, pool_size=3, strides=1, padding="same")
    b4 = b.add("Conv2D", "b4_1x1", mp, filters=4, kernel_size=1)
    cat = b.add("Concatenate", "concat", b1, b2, b3, b4, inputs=4)
    gap = b.add("GlobalAveragePooling2D", "gap", cat)
    b.add("Dense", "logits", gap, units=10)
    a, _ = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)
    assert info["concat"].output_shape == (None, 16, 16, 8 + 8 + 4 + 4)
    assert info["gap"].output_shape == (None, 24)
    assert info["b3_5x5"].macs == 5 * 5 * 2 * 4 * 16 * 16


def test_multi_input_multi_output():
    b = Builder()
    img = b.input("image", 12, 12, 1, pos=(0, 0))
    meta = b.input("meta", 5, pos=(300, 0))
    c = b.add("Conv2D", "conv", img, filters=4)
    gap = b.add("GlobalAveragePooling2D", "gap", c)
    m = b.add("Dense", "meta_dense", meta, units=6)
    cat = b.add("Concatenate", "merge", gap, m)
    h = b.add("Dense", "hidden", cat, units=16)
    b.add("Dense", "score", h, units=1, activation="sigmoid", pos=(0, 900))
    b.add("Dense", "kind", h, units=3, activation="softmax", pos=(300, 900))
    a, model = assert_matches_keras(b.g)
    assert [b.g.node(n).name for n in a.inputs] == ["image", "meta"]
    assert sorted(b.g.node(n).name for n in a.outputs) == ["kind", "score"]
    assert infos_by_name(b.g, a)["merge"].output_shape == (None, 10)
    assert len(model.inputs) == 2 and len(model.outputs) == 2


def test_squeeze_excitation_multiply_broadcasts():
    b = Builder()
    x = b.input("x", 8, 8, 16)
    gap = b.add("GlobalAveragePooling2D", "squeeze", x)
    d = b.add("Dense", "excite", gap, units=16, activation="sigmoid")
    r = b.add("Reshape", "to_1x1", d, target_shape=[1, 1, 16])
    b.add("Multiply", "scale", x, r)
    a, _ = assert_matches_keras(b.g)
    assert infos_by_name(b.g, a)["scale"].output_shape == (None, 8, 8, 16)


def test_stacked_lstm_return_sequences():
    b = Builder()
    x = b.input("x", 10, 4)
    l1 = b.add("LSTM", "lstm1", x, units=8, return_sequences=True)
    l2 = b.add("LSTM", "lstm2", l1, units=6)
    b.add("Dense", "out", l2, units=1)
    a, _ = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)
    assert info["lstm1"].output_shape == (None, 10, 8)
    assert info["lstm2"].output_shape == (None, 6)
    assert info["lstm1"].params == 4 * (4 * 8 + 8 * 8 + 8)
    # input and recurrent kernels are applied once per time step
    assert info["lstm1"].macs == (4 * 32 + 8 * 32) * 10


def test_embedding_lstm():
    b = Builder()
    tok = b.input("tokens", 20, dtype="int32")
    e = b.add("Embedding", "embed", tok, input_dim=100, output_dim=16)
    l1 = b.add("LSTM", "lstm", e, units=8)
    b.add("Dense", "out", l1, units=2, activation="softmax")
    a, _ = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)
    assert info["embed"].output_shape == (None, 20, 16)
    assert info["embed"].params == 1600 and info["embed"].macs == 0


@pytest.mark.parametrize("merge_mode,width", [("concat", 10), ("sum", 5)])
def test_bidirectional(merge_mode, width):
    b = Builder()
    x = b.input("x", 12, 6)
    bi = b.add("Bidirectional", "bi", x, layer="LSTM",
               inner={"units": 5, "return_sequences": True}, merge_mode=merge_mode)
    b.add("GlobalAveragePooling1D", "pool", bi)
    a, _ = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)
    assert info["bi"].output_shape == (None, 12, width)
    assert info["bi"].params == 2 * 4 * (6 * 5 + 5 * 5 + 5)
    assert info["bi"].macs == 2 * (6 * 20 + 5 * 20) * 12


def test_time_distributed_dense():
    b = Builder()
    x = b.input("x", 7, 3)
    b.add("TimeDistributed", "td", x, layer="Dense", inner={"units": 4})
    a, _ = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)
    assert info["td"].output_shape == (None, 7, 4)
    assert info["td"].params == 3 * 4 + 4
    assert info["td"].macs == 3 * 4 * 7


def test_multi_head_self_attention():
    b = Builder()
    x = b.input("x", 10, 32)
    b.add("MultiHeadAttention", "mha", x, x, num_heads=4, key_dim=8)  # query = value
    a, _ = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)["mha"]
    assert info.output_shape == (None, 10, 32)
    assert info.params == 3 * (32 * 4 * 8 + 4 * 8) + (4 * 8 * 32 + 32)
    projections = 3 * 10 * (32 * 32) + 10 * (32 * 32)  # q, k, v in; output out
    attention = 10 * 10 * 32 + 10 * 32 * 10  # scores, then weighted sum of values
    assert info.macs == projections + attention


def test_multi_head_cross_attention_macs():
    """Decoder queries (6 steps) attend to encoder values (15 steps)."""
    b = Builder()
    q = b.input("dec", 6, 16)
    v = b.input("enc", 15, 24)
    b.add("MultiHeadAttention", "mha", q, v, num_heads=2, key_dim=8)
    a, _ = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)["mha"]
    assert info.output_shape == (None, 6, 16)
    heads = 2 * 8
    expected = (6 * 16 * heads  # query projection, per query step
                + 15 * 24 * heads  # key projection (key = value), per value step
                + 15 * 24 * heads  # value projection
                + 6 * heads * 16  # output projection
                + 6 * 15 * heads  # scores
                + 6 * 15 * heads)  # weighted sum
    assert info.macs == expected


def test_seq2seq_encoder_states_feed_decoder():
    b = Builder()
    enc_in = b.input("enc_in", 10, 8, pos=(0, 0))
    enc = b.add("LSTM", "encoder", enc_in, units=16, return_state=True)
    dec_in = b.input("dec_in", 12, 8, pos=(300, 0))
    dec = b.add("LSTM", "decoder", dec_in, (enc, 1), (enc, 2), units=16, return_sequences=True)
    b.add("TimeDistributed", "proj", dec, layer="Dense", inner={"units": 5, "activation": "softmax"})
    a, model = assert_matches_keras(b.g)
    info = infos_by_name(b.g, a)
    assert info["encoder"].output_shapes == ((None, 16), (None, 16), (None, 16))
    assert info["decoder"].output_shape == (None, 12, 16)
    assert info["proj"].output_shape == (None, 12, 5)
    assert [b.g.node(n).name for n in a.outputs] == ["proj"]
    assert len(model.inputs) == 2


def test_seq2seq_state_of_wrong_size_is_a_problem():
    b = Builder()
    enc_in = b.input("enc_in", 10, 8)
    enc = b.add("LSTM", "encoder", enc_in, units=16, return_state=True)
    dec_in = b.input("dec_in", 12, 8)
    b.add("LSTM", "decoder", dec_in, (enc, 1), (enc, 2), units=32)
    dec = b.g.node_by_name("decoder")
    p, _ = only_problem(b.g)
    assert_actionable(p, "decoder", "encoder", ids=(dec.id, enc.id))
    assert "(batch, 32)" in p.message and "(batch, 16)" in p.message and "units" in p.hint


def test_unconnected_return_state_outputs_are_fine():
    b = Builder()
    x = b.input("x", 5, 3)
    enc = b.add("LSTM", "enc", x, units=4, return_state=True)
    b.add("Dense", "out", enc, units=2)
    a = ShapeInference().analyze(b.g)
    assert a.ok, [str(p) for p in a.problems]


# ------------------------------------------------------------- problems
def test_cycle():
    b = Builder()
    x = b.input("x", 4)
    cat = b.add("Concatenate", "cat", x, None)
    d1 = b.add("Dense", "d1", cat)
    d2 = b.add("Dense", "d2", d1)
    b.g.connect(d2.id, cat.id, 1)  # closes the loop cat -> d1 -> d2 -> cat
    a = ShapeInference().analyze(b.g)
    cyc = [p for p in a.errors if "cycle" in p.message]
    assert len(cyc) == 1
    assert_actionable(cyc[0], ids=(cat.id, d1.id, d2.id))
    assert all(name in cyc[0].message for name in ("cat", "d1", "d2"))
    assert "remove" in cyc[0].hint
    # nodes on the cycle get no shapes but still have an entry
    assert a.nodes[d2.id].output_shape is None
    assert set(a.nodes) == {n.id for n in b.g.nodes}


def test_cycle_is_not_also_reported_as_a_missing_output():
    b = Builder()
    x = b.input("x", 4)
    d1 = b.add("Concatenate", "merge", x, None)
    d2 = b.add("Dense", "d2", d1)
    b.g.connect(d2.id, d1.id, 1)
    a = ShapeInference().analyze(b.g)
    assert [p for p in a.errors if "cycle" in p.message]
    assert not [p for p in a.errors if "output" in p.message], [str(p) for p in a.errors]


def test_unconnected_required_input():
    b = Builder()
    x = b.input("x", 4)
    add = b.add("Add", "sum", x)  # port 1 left empty
    p, _ = only_problem(b.g)
    assert_actionable(p, "sum", ids=(add.id,))
    assert "not connected" in p.message and p.port == 1


def test_two_edges_into_one_port():
    b = Builder()
    x1, x2 = b.input("x1", 4), b.input("x2", 4)
    d = b.add("Dense", "fc", x1)
    b.g.connect(x2.id, d.id, 0)
    p, _ = only_problem(b.g)
    assert_actionable(p, "fc", "x1", "x2", ids=(d.id, x1.id, x2.id))
    assert "remove" in p.hint


def test_add_with_incompatible_shapes_names_both_sources():
    b = Builder()
    x = b.input("x", 8, 8, 3)
    c1 = b.add("Conv2D", "wide", x, filters=16, padding="same")
    c2 = b.add("Conv2D", "narrow", x, filters=8, padding="same")
    add = b.add("Add", "residual", c1, c2)
    p, _ = only_problem(b.g)
    assert_actionable(p, "residual", "wide", "narrow", ids=(add.id, c1.id, c2.id))
    assert "(batch, 8, 8, 16)" in p.message and "(batch, 8, 8, 8)" in p.message
    assert "1x1 Conv2D" in p.hint


def test_concatenate_with_mismatched_spatial_dims():
    b = Builder()
    x = b.input("x", 8, 8, 3)
    c1 = b.add("Conv2D", "same_pad", x, filters=4, padding="same")
    c2 = b.add("Conv2D", "valid_pad", x, filters=4)
    cat = b.add("Concatenate", "join", c1, c2)
    p, _ = only_problem(b.g)
    assert_actionable(p, "join", "same_pad", "valid_pad", ids=(cat.id, c1.id, c2.id))
    assert "(batch, 8, 8, 4)" in p.message and "(batch, 6, 6, 4)" in p.message
    assert "padding='same'" in p.hint


def test_dense_after_conv_has_the_exact_rank_message():
    b = Builder()
    x = b.input("image", 28, 28, 1)
    c = b.add("Conv2D", "conv1", x, filters=32, kernel_size=3)
    d = b.add("Dense", "fc1", c, units=10)
    p, _ = only_problem(b.g)
    assert str(p) == ("Dense 'fc1' expects (batch, features) but receives (batch, 26, 26, 32) "
                      "from 'conv1': insert Flatten or GlobalAveragePooling2D before it")
    assert set(p.node_ids) == {d.id, c.id} and p.port == 0


def test_invalid_parameter_values():
    b = Builder()
    x = b.input("x", 4)
    fc = b.add("Dense", "fc", x, units=-3)
    dr = b.add("Dropout", "drop", x, rate=1.5)
    a = ShapeInference().analyze(b.g)
    by_node = {p.node_ids: p for p in a.errors}
    assert set(by_node) == {(fc.id,), (dr.id,)}
    p_fc, p_dr = by_node[(fc.id,)], by_node[(dr.id,)]
    assert_actionable(p_fc, "fc")
    assert "units" in p_fc.message and "-3" in p_fc.message and ">= 1" in p_fc.message
    assert_actionable(p_dr, "drop")
    assert "rate" in p_dr.message and "1.5" in p_dr.message and "< 1" in p_dr.message


def test_unknown_parameter_is_named_once():
    b = Builder()
    x = b.input("x", 4)
    b.add("Dense", "fc", x, unitz=3)
    p, _ = only_problem(b.g)
    assert_actionable(p, "fc")
    assert p.message.count("unitz") == 1, p.message


def test_kernel_larger_than_input():
    b = Builder()
    x = b.input("x", 4, 4, 1)
    c = b.add("Conv2D", "big", x, kernel_size=5)
    p, _ = only_problem(b.g)
    assert_actionable(p, "big", ids=(c.id,))
    assert "5x5" in p.message and "4x4" in p.message and "kernel_size" in p.hint


def test_pool_that_shrinks_a_dimension_to_zero():
    b = Builder()
    x = b.input("x", 3, 3, 1)
    p1 = b.add("MaxPooling2D", "pool1", x)
    p2 = b.add("MaxPooling2D", "pool2", p1)
    p, a = only_problem(b.g)
    assert a.nodes[p1.id].output_shape == (None, 1, 1, 1)
    assert_actionable(p, "pool2", ids=(p2.id,))
    assert "zero" in p.message


def test_strided_conv_shrinking_to_zero_is_caught():
    b = Builder()
    x = b.input("x", 2, 2, 1)
    c = b.add("Conv2D", "c", x, kernel_size=3, strides=2, padding="valid")
    p, _ = only_problem(b.g)
    assert_actionable(p, "c", ids=(c.id,))


def test_no_input():
    b = Builder()
    d = b.add("Dense", "lonely")
    a = ShapeInference().analyze(b.g)
    no_input = [p for p in a.errors if "no Input" in p.message]
    assert len(no_input) == 1 and "Input" in no_input[0].hint
    # the dangling port is reported on the node too
    assert any(d.id in p.node_ids for p in a.errors)


def test_empty_graph():
    a = ShapeInference().analyze(Graph())
    assert not a.ok and any("no Input" in p.message for p in a.errors)


def test_no_output_only_an_input():
    b = Builder()
    x = b.input("alone", 4)
    a = ShapeInference().analyze(b.g)
    (err,) = a.errors
    assert "no output" in err.message and err.hint and x.id in err.node_ids
    warnings = [p for p in a.problems if not p.is_error]
    assert len(warnings) == 1 and "'alone'" in warnings[0].message


def test_duplicate_names():
    b = Builder()
    x = b.input("x", 4)
    d1 = b.add("Dense", "fc", x)
    d2 = b.add("Dense", "fc", d1)
    p, _ = only_problem(b.g)
    assert_actionable(p, "fc", ids=(d1.id, d2.id))
    assert "unique" in p.hint


def test_a_name_keras_cannot_use_is_a_problem_with_a_fix():
    b = Builder()
    x = b.input("x", 4)
    d = b.add("Dense", "character vectors", x)
    p, _ = only_problem(b.g)
    assert_actionable(p, "character vectors", ids=(d.id,))
    assert "a space" in p.message and "'character_vectors'" in p.hint
    b.g.rename(d.id, "character_vectors")
    assert not ShapeInference().analyze(b.g).problems


def test_unknown_layer_type():
    b = Builder()
    x = b.input("x", 4)
    f = b.add("Frobnicate", "mystery", x)
    b.add("Dense", "after", f)  # downstream: no shape, no extra problem
    p, a = only_problem(b.g)
    assert_actionable(p, "mystery", ids=(f.id,))
    assert "Frobnicate" in p.message
    assert a.nodes[f.id].output_shape is None


def test_keras_rejection_keeps_the_keras_reason():
    b = Builder()
    x = b.input("x", 4)
    r = b.add("Reshape", "reshape", x, target_shape=[3, 3])
    p, _ = only_problem(b.g)
    assert_actionable(p, "reshape", ids=(r.id,))
    assert "total size" in p.message, p.message
    assert "\x1b" not in p.message and "Arguments received" not in p.message


def test_problems_downstream_of_a_problem_are_not_repeated():
    b = Builder()
    x = b.input("x", 4)
    d = b.add("Dense", "bad", x, units=0)
    d2 = b.add("Dense", "next", d)
    b.add("Dense", "last", d2)
    p, a = only_problem(b.g)
    assert p.node_ids == (d.id,)
    assert a.nodes[d2.id].output_shape is None and a.nodes[d2.id].ok


def test_edge_to_a_missing_port_or_output():
    b = Builder()
    x = b.input("x", 4)
    d = b.add("Dense", "fc")
    b.g.add_edge(x.id, 0, d.id, 3)
    p, _ = only_problem(b.g)
    assert_actionable(p, "fc", "x")
    b2 = Builder()
    x2 = b2.input("x", 4)
    d2 = b2.add("Dense", "fc")
    b2.g.add_edge(x2.id, 2, d2.id, 0)
    p2, _ = only_problem(b2.g)
    assert_actionable(p2, "x", ids=(d2.id,))


ALL_TYPES_SAMPLE = st.sampled_from([
    "Input", "Dense", "Conv2D", "Conv1D", "MaxPooling2D", "Flatten", "Add", "Concatenate",
    "LSTM", "Embedding", "Reshape", "Dropout", "BatchNormalization", "GlobalAveragePooling2D",
    "MultiHeadAttention", "Bidirectional", "TimeDistributed", "Frobnicate",
])
PARAM_VALUES = st.dictionaries(
    st.sampled_from(["units", "filters", "kernel_size", "rate", "padding", "pool_size", "inputs",
                     "target_shape", "return_state", "axis", "layer", "inner", "strides", "shape"]),
    st.one_of(st.integers(-3, 40), st.floats(-1, 2, allow_nan=False), st.sampled_from(
        ["same", "valid", "bogus", "LSTM", "Dense", None, True, [2, 2], [-1, 4], [], {}, {"units": 3}])),
    max_size=3,
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(ALL_TYPES_SAMPLE, PARAM_VALUES), min_size=1, max_size=6),
       st.lists(st.tuples(st.integers(0, 5), st.integers(0, 3), st.integers(0, 5), st.integers(0, 3)),
                max_size=8))
def test_analysis_never_raises(nodes, edges):
    g = Graph()
    ids = [g.add_node(t, p).id for t, p in nodes]
    for s, sp, d, dp in edges:
        g.add_edge(ids[s % len(ids)], sp, ids[d % len(ids)], dp)
    a = SHARED.analyze(g)
    assert set(a.nodes) == set(ids)
    for p in a.problems:
        assert p.message and isinstance(p.node_ids, tuple)


SHARED = ShapeInference()


# ------------------------------------------------------------------ cache
def dense_chain(units=(10, 11, 12, 13, 14)) -> tuple[Graph, list[Node]]:
    b = Builder()
    prev = b.input("x", 4)
    nodes = []
    for i, u in enumerate(units):
        prev = b.add("Dense", f"d{i}", prev, units=u)
        nodes.append(prev)
    return b.g, nodes


def test_reanalysing_an_unchanged_graph_asks_keras_nothing():
    g, _ = dense_chain()
    si = ShapeInference()
    first = si.analyze(g)
    calls = si.keras_calls
    assert calls > 0
    again = si.analyze(g)
    assert si.keras_calls == calls
    assert again.nodes == first.nodes and again.problems == first.problems
    # moving and renaming a node changes nothing Keras is asked about
    g.move(g.nodes[2].id, 100, 100)
    si.analyze(g)
    assert si.keras_calls == calls


def test_one_edit_reasks_keras_for_the_node_and_its_successor(monkeypatch):
    g, nodes = dense_chain()
    si = ShapeInference()
    si.analyze(g)
    asked = []
    real = infer_module.layer_output

    def spy(type_name, params, shapes):
        asked.append((type_name, params.get("units"), tuple(shapes)))
        return real(type_name, params, shapes)

    monkeypatch.setattr(infer_module, "layer_output", spy)
    calls = si.keras_calls
    g.set_param(nodes[2].id, "units", 20)
    a = si.analyze(g)
    assert si.keras_calls - calls == 2
    assert asked == [("Dense", 20, ((None, 11),)), ("Dense", 13, ((None, 20),))]
    assert a.nodes[nodes[2].id].output_shape == (None, 20)
    assert a.nodes[nodes[3].id].params == 20 * 13 + 13
    assert a.nodes[nodes[4].id].output_shape == (None, 14)
    # going back is all cache hits
    asked.clear()
    g.set_param(nodes[2].id, "units", 12)
    si.analyze(g)
    assert asked == []


def test_cache_is_bounded():
    si = ShapeInference(cache_size=3)
    g, _ = dense_chain((5, 6, 7, 8, 9))
    si.analyze(g)
    assert len(si._cache) == 3


def test_process_wide_analyze():
    g, nodes = dense_chain()
    a = analyze(g)
    assert a.ok and a.nodes[nodes[-1].id].output_shape == (None, 14)


# ------------------------------------------------------ connection_problem
def test_connection_problem_rank_mismatch():
    b = Builder()
    x = b.input("image", 8, 8, 1)
    c = b.add("Conv2D", "conv", x)
    f = b.add("Flatten", "flat", c)
    d = b.add("Dense", "fc", f, units=10)
    c2 = b.add("Conv2D", "conv_b")
    a = ShapeInference().analyze(b.g)
    why = connection_problem(b.g, a, d.id, 0, c2.id, 0)
    assert why and "Conv2D 'conv_b'" in why and "'fc'" in why
    assert "(batch, 10)" in why and "Reshape" in why
    # a rank the port accepts is fine
    assert connection_problem(b.g, a, x.id, 0, c2.id, 0) is None


def test_connection_problem_cycle_and_structure():
    b = Builder()
    x = b.input("x", 4)
    cat = b.add("Concatenate", "cat", x)
    d1 = b.add("Dense", "d1", cat)
    d2 = b.add("Dense", "d2", d1)
    a = ShapeInference().analyze(b.g)
    why = connection_problem(b.g, a, d2.id, 0, cat.id, 1)
    assert why and "cycle" in why and "'d2'" in why and "'cat'" in why
    assert "taken" in connection_problem(b.g, a, d2.id, 0, d1.id, 0)
    other = b.add("Dense", "other", b.input("x3", 4))
    a = ShapeInference().analyze(b.g)
    assert "Input" in connection_problem(b.g, a, other.id, 0, x.id, 0)
    assert "no input 3" in connection_problem(b.g, a, other.id, 0, d1.id, 2)
    x2 = b.input("x2", 4)
    assert connection_problem(b.g, a, x2.id, 0, cat.id, 1) is None
