"""The functional idioms of Keras models made of built-in layers import and give back the same
model: import -> same parameter count -> export as .keras -> the same outputs on the same inputs
(max abs difference <= 1e-5), on inputs of the model's real shapes (several lengths where an
input has a variable length). What no node represents is refused by name."""

from __future__ import annotations

import json

import numpy as np
import pytest

keras = pytest.importorskip("keras")
layers, ops = keras.layers, keras.ops

from dlstudio.compile import analyze, build_model  # noqa: E402
from dlstudio.compile.importer import ModelImportError, apply_weights, graph_from_model  # noqa: E402
from dlstudio.export.models import write_keras  # noqa: E402
from dlstudio.export.samples import input_sets  # noqa: E402
from dlstudio.export.verify import keras_outputs, run_keras_file  # noqa: E402

# --------------------------------------------------------------- the idioms


def text_cnn():
    """Token ids of any length."""
    ids = keras.Input((None,), dtype="int32", name="ids")
    x = layers.Embedding(40, 8)(ids)
    x = layers.Conv1D(8, 3, activation="relu")(x)
    return keras.Model(ids, layers.Dense(2, activation="softmax")(layers.GlobalMaxPooling1D()(x)))


def masked_bilstm():
    """A variable-length sequence classifier whose padding mask propagates."""
    ids = keras.Input((None,), dtype="int32")
    x = layers.Embedding(30, 6, mask_zero=True)(ids)
    x = layers.Bidirectional(layers.LSTM(5))(x)
    return keras.Model(ids, layers.Dense(3)(x))


def char_seq2seq():
    """Encoder states as the decoder's initial_state; both sequences of any length."""
    enc_in, dec_in = keras.Input((None, 6)), keras.Input((None, 6))
    _, h, c = layers.LSTM(8, return_state=True)(enc_in)
    x = layers.LSTM(8, return_sequences=True)(dec_in, initial_state=[h, c])
    return keras.Model([enc_in, dec_in], layers.Dense(6, activation="softmax")(x))


def gru_initial_state():
    seq, state = keras.Input((5, 3)), keras.Input((4,))
    return keras.Model([seq, state], layers.GRU(4)(seq, initial_state=state))


def two_in_two_out():
    img, meta = keras.Input((8, 8, 1)), keras.Input((3,))
    x = layers.Flatten()(layers.Conv2D(2, 3)(img))
    x = layers.Concatenate()([x, layers.Dense(4)(meta)])
    return keras.Model([img, meta], [layers.Dense(2, name="a")(x), layers.Dense(1, name="b")(x)])


def siamese():
    """One Dense applied to two inputs: one set of weights."""
    a, b = keras.Input((5,)), keras.Input((5,))
    shared = layers.Dense(4, activation="tanh", name="encoder")
    return keras.Model([a, b], layers.Subtract()([shared(a), shared(b)]))


def shared_embedding():
    q, d = keras.Input((None,), dtype="int32"), keras.Input((None,), dtype="int32")
    emb = layers.Embedding(25, 4)
    pool = layers.GlobalAveragePooling1D()
    return keras.Model([q, d], layers.Dot(axes=-1)([pool(emb(q)), pool(emb(d))]))


def shared_nested_encoder():
    """A Sequential encoder called on two inputs; its layers are shared."""
    encoder = keras.Sequential([layers.Dense(6, activation="relu"), layers.Dense(3)], name="encoder")
    a, b = keras.Input((7,)), keras.Input((7,))
    return keras.Model([a, b], layers.Concatenate()([encoder(a), encoder(b)]))


def nested_functional():
    inner_in = keras.Input((4,))
    inner = keras.Model(inner_in, layers.Dense(3, name="proj")(inner_in), name="block")
    inp = keras.Input((6,))
    return keras.Model(inp, layers.Dense(2)(inner(layers.Dense(4)(inp))))


def transformer_block():
    """Causal self-attention that also returns its scores; a residual and LayerNorm."""
    x = keras.Input((None, 8))
    out, scores = layers.MultiHeadAttention(2, 4, name="mha")(x, x, use_causal_mask=True,
                                                                return_attention_scores=True)
    y = layers.LayerNormalization()(layers.Add()([x, out]))
    return keras.Model(x, [layers.Dense(8)(y), scores])  # the scores: a second output of the layer


def lstm_with_its_states():
    """Outputs that are not the first output of a final layer: states, and a tensor also fed on."""
    seq = keras.Input((None, 3))
    out, h, c = layers.LSTM(4, return_sequences=True, return_state=True)(seq)
    return keras.Model(seq, [out, h, c, layers.Dense(2)(h)])


def autoencoder_with_its_code():
    inp = keras.Input((12,))
    code = layers.Dense(3, activation="relu", name="code")(inp)
    return keras.Model(inp, [layers.Dense(12, name="reconstruction")(code), code])


def cross_attention():
    q, v, k = keras.Input((4, 6)), keras.Input((7, 5)), keras.Input((7, 3))
    return keras.Model([q, v, k], layers.MultiHeadAttention(3, 2)(q, v, key=k))


def keras_ops():
    """keras.ops calls a node computes: scaling, shifting, activations, merges, concatenation."""
    a, b = keras.Input((6,)), keras.Input((6,))
    x = layers.Dense(6)(a)
    x = ops.relu(x * 2.0 + 1.0)
    y = 1.0 - layers.Dense(6)(b) / 4.0
    z = ops.concatenate([x + y, ops.maximum(x, y), ops.sigmoid(x * y)], axis=-1)
    return keras.Model([a, b], ops.softmax(z))


def hard_swish_mobile_block():
    """MobileNetV3's hard-swish and squeeze-excite, spelled with keras.ops as Keras spells it."""
    inp = keras.Input((8, 8, 4))
    x = layers.Conv2D(8, 3, padding="same")(inp)
    hs = layers.Multiply()([x, layers.ReLU(6.0)(x + 3.0) * (1.0 / 6.0)])
    se = layers.GlobalAveragePooling2D(keepdims=True)(hs)
    se = layers.Conv2D(8, 1, activation="hard_sigmoid")(se)
    return keras.Model(inp, layers.Multiply()([hs, se]))


def every_setting():
    """Settings that used to be out of reach: noise_shape, Keras' newer activations, constraints,
    regularizers and initializers by config, a Normalization with fixed statistics."""
    inp = keras.Input((6, 6, 3))
    x = layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.05, 0.06, 0.07])(inp)
    x = layers.Conv2D(4, 3, activation="hard_silu", kernel_constraint=keras.constraints.MaxNorm(2.0),
                      kernel_regularizer=keras.regularizers.OrthogonalRegularizer(0.01),
                      bias_initializer=keras.initializers.Constant(0.1))(x)
    x = layers.Dropout(0.2, noise_shape=(None, 1, 1, 4))(x)
    x = layers.Activation("squareplus")(layers.Flatten()(x))
    return keras.Model(inp, layers.Dense(2, activation="celu", bias_constraint="non_neg")(x))


def sequential_with_dropout_at_inference():
    return keras.Sequential([keras.Input((4,)), layers.Dense(3), layers.Dropout(0.3), layers.Dense(2)])


IDIOMS = [text_cnn, masked_bilstm, char_seq2seq, gru_initial_state, two_in_two_out, siamese,
          shared_embedding, shared_nested_encoder, nested_functional, transformer_block, lstm_with_its_states,
          autoencoder_with_its_code, cross_attention,
          keras_ops, hard_swish_mobile_block, every_setting, sequential_with_dropout_at_inference]


def _round_trip(model, tmp_path):
    """import -> same parameter count -> export .keras -> the same outputs; the graph again."""
    graph, weights = graph_from_model(model)
    analysis = analyze(graph)
    assert analysis.ok, analysis.errors
    assert analysis.total_params == model.count_params()
    rebuilt = build_model(graph, name=model.name)
    assert rebuilt.count_params() == model.count_params()
    apply_weights(rebuilt, graph, weights)
    path = tmp_path / "exported.keras"
    write_keras(rebuilt, path)
    for inputs in input_sets(model, n=3):
        expected, got = keras_outputs(model, inputs), run_keras_file(path, inputs)
        assert [a.shape for a in expected] == [b.shape for b in got]
        for a, b in zip(expected, got):
            assert float(np.max(np.abs(a - b))) <= 1e-5
    again, _ = graph_from_model(rebuilt)
    assert {n.name: (n.type, n.params) for n in again.nodes} == {n.name: (n.type, n.params) for n in graph.nodes}
    return graph


@pytest.mark.parametrize("make", IDIOMS, ids=lambda f: f.__name__)
def test_idiom_round_trip(make, tmp_path):
    keras.utils.set_random_seed(3)
    _round_trip(make(), tmp_path)


def test_a_shared_layer_is_one_set_of_weights(tmp_path):
    graph = _round_trip(siamese(), tmp_path)
    dense = [n for n in graph.nodes if n.type == "Dense"]
    assert sorted(n.params["shares"] or "" for n in dense) == ["", "encoder"]
    rebuilt = build_model(graph)
    assert [type(lay).__name__ for lay in rebuilt.layers].count("Dense") == 1
    infos = analyze(graph).nodes
    assert sorted(infos[n.id].params for n in dense) == [0, 24]


def test_nested_models_keep_their_layer_names():
    graph, _ = graph_from_model(nested_functional())
    assert "proj" in {n.name for n in graph.nodes}


def test_attention_call_settings_become_node_settings():
    graph, _ = graph_from_model(transformer_block())
    mha = next(n for n in graph.nodes if n.type == "MultiHeadAttention")
    assert mha.params["use_causal_mask"] is True and mha.params["return_attention_scores"] is True
    assert sorted(e.src_port for e in graph.edges if e.src == mha.id) == [0, 1]
    assert "mha_scores" in {n.name for n in graph.nodes}  # the scores output, through an identity node


def test_monte_carlo_dropout_keeps_training_true():
    inp = keras.Input((4,))
    model = keras.Model(inp, layers.Dense(2)(layers.Dropout(0.5, name="mc")(inp, training=True)))
    graph, _ = graph_from_model(model)
    assert next(n for n in graph.nodes if n.name == "mc").params["training"] is True
    rebuilt = build_model(graph)
    config = json.dumps(rebuilt.get_config())
    assert '"training": true' in config
    seq = keras.Input((5, 2))
    model = keras.Model(seq, layers.LSTM(3, dropout=0.2, name="rnn")(seq, training=True))
    with pytest.raises(ModelImportError, match="'rnn' .*training=True"):
        graph_from_model(model)


def test_keras_ops_without_a_node_are_refused_by_name():
    inp = keras.Input((4,))
    model = keras.Model(inp, layers.Dense(2, name="after")(ops.sin(layers.Dense(4)(inp))))
    with pytest.raises(ModelImportError, match=r"'after' takes the result of the operation 'sin.*' \(Sin\)"):
        graph_from_model(model)
    model = keras.Model(inp, ops.gelu(layers.Dense(4)(inp)))  # approximate=True: not the activation
    with pytest.raises(ModelImportError, match="output 1 of the model is a keras.ops result"):
        graph_from_model(model)


def test_a_mask_of_its_own_is_refused():
    ids = keras.Input((None,), dtype="int32")
    x = layers.Embedding(10, 4)(ids)
    model = keras.Model(ids, layers.LSTM(3, name="rnn")(x, mask=ops.not_equal(ids, 0)))
    with pytest.raises(ModelImportError, match="'rnn' is called with a mask of its own"):
        graph_from_model(model)


def test_renaming_a_shared_node_keeps_the_sharing():
    graph, _ = graph_from_model(siamese())
    owner = next(n for n in graph.nodes if n.name == "encoder")
    graph.rename(owner.id, "enc")
    assert sorted(n.params.get("shares") or "" for n in graph.nodes if n.type == "Dense") == ["", "enc"]
    assert analyze(graph).ok


def test_a_node_that_cannot_share_is_a_problem_with_a_fix():
    graph, _ = graph_from_model(siamese())
    sharer = next(n for n in graph.nodes if n.params.get("shares"))
    graph.set_param(sharer.id, "units", 9)
    problems = [p for p in analyze(graph).errors if sharer.id in p.node_ids]
    assert problems and "settings differ" in str(problems[0])
    problems[0].fix.apply(graph)
    assert analyze(graph).ok


@pytest.mark.parametrize("make", [char_seq2seq, two_in_two_out, shared_embedding], ids=lambda f: f.__name__)
def test_import_then_export_on_the_command_line(make, tmp_path, capsys):
    from dlstudio.cli import run_cli

    model = make()
    model.save(tmp_path / "model.keras")
    project = tmp_path / "imported.dlsproj"
    assert run_cli(["import", str(tmp_path / "model.keras"), "-o", str(project)]) == 0
    out = tmp_path / "back.keras"
    assert run_cli(["export", str(project), "--format", "keras", "-o", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["max_difference"] <= 1e-5
    for inputs in input_sets(model, n=2):
        for a, b in zip(keras_outputs(model, inputs), run_keras_file(out, inputs)):
            assert float(np.max(np.abs(a - b))) <= 1e-5


@pytest.mark.parametrize("make", [siamese, shared_nested_encoder, transformer_block], ids=lambda f: f.__name__)
def test_the_python_export_keeps_shared_layers_and_call_settings(make):
    from dlstudio.export.python_script import model_source

    model = make()
    graph, _ = graph_from_model(model)
    namespace = {"keras": keras}
    exec("def build_model():\n" + model_source(graph), namespace)  # noqa: S102 - the generator's own code
    rebuilt = namespace["build_model"]()
    assert rebuilt.count_params() == model.count_params()
    assert len(rebuilt.layers) == len(build_model(graph).layers)  # a shared layer made once
