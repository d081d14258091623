"""keras.Model -> Graph -> keras.Model keeps structure, parameter count and outputs;
model files are checked before Keras reads them."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
layers = keras.layers

from dlstudio.compile import build_model  # noqa: E402
from dlstudio.compile.importer import (  # noqa: E402
    ModelImportError, apply_weights, check_model_config, graph_from_model, import_model_file,
    load_model_file,
)

# --------------------------------------------------------------- the models


def mlp():
    inp = keras.Input((20,), name="features")
    x = layers.Dense(32, activation="relu", kernel_initializer="he_normal")(inp)
    x = layers.Dropout(0.3)(x)
    out = layers.Dense(10, activation="softmax")(x)
    return keras.Model(inp, out)


def cnn():
    inp = keras.Input((16, 16, 3))
    x = layers.Conv2D(8, 3, padding="same", activation="relu")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.MaxPooling2D(3, strides=2)(x)  # strides that look like the default
    x = layers.Conv2D(16, (3, 3), strides=(2, 2))(x)
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(4)(x))


def resnet_block():
    inp = keras.Input((8, 8, 16))
    x = layers.Conv2D(16, 3, padding="same")(inp)
    x = layers.BatchNormalization()(x)
    x = layers.Activation("relu")(x)
    x = layers.Conv2D(16, 3, padding="same")(x)
    x = layers.Add()([x, inp])
    x = layers.Activation("relu")(x)
    x = layers.Flatten()(x)
    return keras.Model(inp, layers.Dense(3)(x))


def inception_block():
    inp = keras.Input((12, 12, 8))
    a = layers.Conv2D(4, 1, activation="relu")(inp)
    b = layers.Conv2D(6, 3, padding="same", activation="relu")(layers.Conv2D(3, 1)(inp))
    c = layers.Conv2D(2, 5, padding="same", activation="relu")(layers.Conv2D(2, 1)(inp))
    d = layers.Conv2D(2, 1)(layers.MaxPooling2D(3, strides=1, padding="same")(inp))
    x = layers.Concatenate()([a, b, c, d])
    x = layers.GlobalAveragePooling2D()(x)
    return keras.Model(inp, layers.Dense(5)(x))


def two_in_two_out():
    a = keras.Input((10,), name="in_a")
    b = keras.Input((6,), name="in_b")
    x = layers.Concatenate()([layers.Dense(8)(a), layers.Dense(8)(b)])
    x = layers.Dense(16, activation="tanh")(x)
    score = layers.Dense(1, activation="sigmoid", name="score")(x)
    cls = layers.Dense(3, activation="softmax", name="cls")(layers.Dense(12)(x))
    return keras.Model([b, a], [cls, score])  # not the order the layout would pick


def text_model():
    inp = keras.Input((12,), dtype="int32")
    x = layers.Embedding(100, 8, mask_zero=True)(inp)
    x = layers.Bidirectional(layers.LSTM(6, return_sequences=True), merge_mode="sum")(x)
    x = layers.GRU(5)(x)
    return keras.Model(inp, layers.Dense(2)(x))


def seq2seq():
    enc_in = keras.Input((7, 4))
    dec_in = keras.Input((5, 3))
    _, h, c = layers.LSTM(6, return_state=True)(enc_in)
    x = layers.LSTM(6, return_sequences=True)(dec_in, initial_state=[h, c])
    return keras.Model([enc_in, dec_in], layers.TimeDistributed(layers.Dense(3))(x))


def attention():
    inp = keras.Input((6, 8))
    x = layers.MultiHeadAttention(2, 4)(inp, inp)
    x = layers.LayerNormalization()(layers.Add()([x, inp]))
    return keras.Model(inp, layers.Dense(2)(layers.GlobalAveragePooling1D()(x)))


def nested_sequential():
    inner = keras.Sequential([layers.Dense(8, activation="relu", name="hidden"), layers.Dense(4)],
                             name="block")
    inp = keras.Input((5,))
    x = layers.Dense(6, name="hidden")(inp)  # collides with the inner name
    return keras.Model(inp, layers.Dense(2)(inner(x)))


def plain_sequential():
    return keras.Sequential([keras.Input((9,)), layers.Dense(4, activation="relu"), layers.Dense(2)])


MODELS = [mlp, cnn, resnet_block, inception_block, two_in_two_out, text_model, seq2seq,
          attention, nested_sequential, plain_sequential]


def _sample(model, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for t in model.inputs:
        shape = (3, *t.shape[1:])
        if "int" in str(t.dtype):
            out.append(rng.integers(0, 100, size=shape).astype("int32"))
        else:
            out.append(rng.normal(size=shape).astype("float32"))
    return out


def _predict(model, xs):
    ys = model(xs if len(xs) > 1 else xs[0], training=False)
    return [np.asarray(y) for y in (ys if isinstance(ys, (list, tuple)) else [ys])]


def _edges(graph):
    names = {n.id: n.name for n in graph.nodes}
    return sorted((names[e.src], e.src_port, names[e.dst], e.dst_port) for e in graph.edges)


def _check_same(original, graph, weights):
    rebuilt = build_model(graph)
    assert rebuilt.count_params() == original.count_params()
    again, _ = graph_from_model(rebuilt)
    assert _edges(again) == _edges(graph)
    assert {(n.name, n.type) for n in again.nodes} == {(n.name, n.type) for n in graph.nodes}
    assert {n.name: n.params for n in again.nodes} == {n.name: n.params for n in graph.nodes}
    apply_weights(rebuilt, graph, weights)
    xs = _sample(original)
    for a, b in zip(_predict(original, xs), _predict(rebuilt, xs), strict=True):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, atol=1e-5)
    return rebuilt


def _layer_types(model):
    found = []
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            found += _layer_types(layer)
        elif not isinstance(layer, layers.InputLayer):
            found.append(type(layer).__name__)
    return sorted(found)


@pytest.mark.parametrize("make", MODELS, ids=lambda f: f.__name__)
def test_round_trip(make):
    model = make()
    graph, weights = graph_from_model(model)
    assert sorted(n.type for n in graph.nodes if n.type != "Input") == _layer_types(model)
    assert len(graph.nodes) - len(graph.edges) <= len(model.inputs)  # connected: a tree or more
    _check_same(model, graph, weights)


def test_structure_of_a_residual_block():
    graph, _ = graph_from_model(resnet_block())
    add = next(n for n in graph.nodes if n.type == "Add")
    srcs = [graph.node(e.src).type for e in graph.in_edges(add.id)]
    assert srcs == ["Conv2D", "Input"] and add.params["inputs"] == 2
    for e in graph.edges:  # laid out top to bottom
        assert graph.node(e.dst).pos[1] > graph.node(e.src).pos[1]


def test_ports_of_attention_and_initial_states():
    graph, _ = graph_from_model(attention())
    mha = next(n for n in graph.nodes if n.type == "MultiHeadAttention")
    assert sorted(e.dst_port for e in graph.in_edges(mha.id)) == [0, 1]
    graph, _ = graph_from_model(seq2seq())
    enc = next(n for n in graph.nodes if n.type == "LSTM" and n.params["return_state"])
    dec = next(n for n in graph.nodes if n.type == "LSTM" and not n.params["return_state"])
    assert sorted((e.src_port, e.dst_port) for e in graph.in_edges(dec.id) if e.src == enc.id) == [(1, 1), (2, 2)]


def test_inputs_and_outputs_keep_their_order():
    model = two_in_two_out()
    rebuilt = build_model(graph_from_model(model)[0])
    assert [t.name for t in rebuilt.inputs] == ["in_b", "in_a"]
    assert [t.shape for t in rebuilt.outputs] == [t.shape for t in model.outputs]


def test_nested_names_are_prefixed_on_collision():
    graph, _ = graph_from_model(nested_sequential())
    names = {n.name for n in graph.nodes}
    assert {"hidden", "block_hidden"} <= names
    assert not any(n.type in ("Sequential", "Functional") for n in graph.nodes)


# --------------------------------------------------------------- refusals


def test_a_layer_called_twice_is_one_layer_of_two_nodes():
    inp = keras.Input((4,))
    shared = layers.Dense(4, name="twice")
    model = keras.Model(inp, shared(shared(inp)))
    graph, weights = graph_from_model(model)
    assert sorted((n.name, n.params["shares"]) for n in graph.nodes if n.type == "Dense") == [
        ("twice", None), ("twice_call2", "twice")]
    _check_same(model, graph, weights)


def test_keras_ops_and_unrepresentable_settings_are_refused():
    inp = keras.Input((4,))
    x = layers.Dense(4)(inp)
    model = keras.Model(inp, layers.Dense(2, name="after")(keras.ops.sin(x)))
    with pytest.raises(ModelImportError, match="'after' takes the result of the operation"):
        graph_from_model(model)
    seq = keras.Input((5, 3))
    model = keras.Model(seq, layers.LSTM(2, go_backwards=True, name="rev")(seq))
    with pytest.raises(ModelImportError, match="'rev' .*go_backwards=True"):
        graph_from_model(model)
    img = keras.Input((3, 8, 8))
    model = keras.Model(img, layers.Conv2D(2, 3, data_format="channels_first", name="cf")(img))
    with pytest.raises(ModelImportError, match="'cf' .*data_format"):
        graph_from_model(model)


def test_an_output_that_feeds_another_layer_gets_an_identity_node():
    inp = keras.Input((4,))
    mid = layers.Dense(3, name="mid")(inp)
    model = keras.Model(inp, [mid, layers.Dense(2)(mid)])
    graph, weights = graph_from_model(model)
    identity = next(n for n in graph.nodes if n.name == "mid_output")
    assert identity.type == "Activation" and identity.params["activation"] == "linear"
    rebuilt = build_model(graph)
    apply_weights(rebuilt, graph, weights)
    xs = _sample(model)
    for a, b in zip(_predict(model, xs), _predict(rebuilt, xs), strict=True):
        np.testing.assert_allclose(a, b, atol=1e-6)


def test_subclassed_model_is_refused():
    class Net(keras.Model):
        def __init__(self):
            super().__init__()
            self.d = layers.Dense(2)

        def call(self, x):
            return self.d(x)

    with pytest.raises(ModelImportError, match="subclassed"):
        graph_from_model(Net())


# --------------------------------------------------------------- files


@pytest.mark.parametrize("suffix", ["keras", "h5"])
@pytest.mark.parametrize("make", [mlp, cnn, inception_block, two_in_two_out, text_model,
                                  nested_sequential], ids=lambda f: f.__name__)
def test_import_from_file(tmp_path, make, suffix):
    model = make()
    path = tmp_path / f"model.{suffix}"
    model.save(path)
    if make is text_model and suffix == "h5":  # Keras' legacy loader knows no mask operations
        with pytest.raises(ModelImportError, match="could not load 'model.h5': Unknown layer: 'NotEqual'"):
            import_model_file(path)
        return
    graph, weights = import_model_file(path)
    _check_same(model, graph, weights)


_TRAP = {"path": None}


@keras.saving.register_keras_serializable(package="dlstest")
def trap(x):
    """Stands for hostile code: it leaves a file behind when it runs."""
    if _TRAP["path"]:
        Path(_TRAP["path"]).write_text("code from the model file ran")
    return x


@keras.saving.register_keras_serializable(package="dlstest")
class Scale(layers.Layer):
    def call(self, x):
        return x * 2.0


def test_lambda_is_refused_and_never_runs(tmp_path):
    inp = keras.Input((3,))
    model = keras.Model(inp, layers.Dense(2)(layers.Lambda(trap, name="sneaky")(inp)))
    path = tmp_path / "lambda.keras"
    model.save(path)
    config = json.loads(zipfile.ZipFile(path).read("config.json"))
    assert "trap" in json.dumps(config)  # the file refers to the function
    marker = tmp_path / "ran.txt"
    _TRAP["path"] = str(marker)
    try:
        with pytest.raises(ModelImportError, match="layer 'sneaky' .*is a Lambda layer"):
            import_model_file(path)
        assert not marker.exists()
        keras.saving.load_model(path, safe_mode=True, compile=False)  # plain Keras runs it
        assert marker.exists()
    finally:
        _TRAP["path"] = None


def test_lambda_with_bytecode_is_refused(tmp_path):
    inp = keras.Input((3,))
    model = keras.Model(inp, layers.Lambda(lambda x: x + 1.0, name="anon")(inp))
    for suffix in ("keras", "h5"):
        model.save(tmp_path / f"l.{suffix}")
        with pytest.raises(ModelImportError, match=f"layer 'anon' in 'l.{suffix}' is a Lambda layer"):
            load_model_file(tmp_path / f"l.{suffix}")


def test_custom_loss_in_the_compile_config_does_not_matter(tmp_path):
    @keras.saving.register_keras_serializable(package="dlstest")
    def my_loss(y, p):
        return keras.ops.mean((y - p) ** 2)

    model = mlp()
    model.compile(optimizer="sgd", loss=my_loss)
    model.save(tmp_path / "compiled.keras")
    graph, weights = import_model_file(tmp_path / "compiled.keras")
    _check_same(model, graph, weights)


def test_custom_layer_is_refused_by_name(tmp_path):
    inp = keras.Input((3,))
    model = keras.Model(inp, Scale(name="doubler")(inp))
    for suffix in ("keras", "h5"):
        path = tmp_path / f"custom.{suffix}"
        model.save(path)
        with pytest.raises(ModelImportError, match="'doubler' .*custom class .*Scale"):
            import_model_file(path)


def test_custom_objects_inside_layers_are_refused():
    config = {"class_name": "Functional", "config": {"name": "m", "layers": [
        {"class_name": "Dense", "module": "keras.layers", "config": {
            "name": "d", "units": 2, "activation": {"module": "evil", "class_name": "function",
                                                    "config": "boom", "registered_name": "function"}}},
    ]}}
    with pytest.raises(ModelImportError, match="'d' .*evil.boom"):
        check_model_config(config, "x.keras")
    config["config"]["layers"][0]["config"]["activation"] = "relu"
    check_model_config(config, "x.keras")
    config["config"]["layers"][0]["class_name"] = "Conv9D"
    with pytest.raises(ModelImportError, match="'d' .*Conv9D.*not in DL Studio's layer catalog"):
        check_model_config(config, "x.keras")


def test_bad_files(tmp_path):
    with pytest.raises(ModelImportError, match="missing.keras' does not exist"):
        load_model_file(tmp_path / "missing.keras")
    garbage = tmp_path / "garbage.keras"
    garbage.write_bytes(b"this is not a model" * 10)
    with pytest.raises(ModelImportError, match="'garbage.keras' is neither"):
        load_model_file(garbage)
    mlp().save(tmp_path / "good.keras")
    data = (tmp_path / "good.keras").read_bytes()
    cut = tmp_path / "cut.keras"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelImportError, match="cut.keras"):
        load_model_file(cut)
    with zipfile.ZipFile(tmp_path / "empty.keras", "w") as z:
        z.writestr("readme.txt", "hello")
    with pytest.raises(ModelImportError, match="'empty.keras' .*without config.json"):
        load_model_file(tmp_path / "empty.keras")
    h5 = tmp_path / "weights.h5"
    mlp().save_weights(tmp_path / "w.weights.h5")
    (tmp_path / "w.weights.h5").rename(h5)
    with pytest.raises(ModelImportError, match="'weights.h5' holds weights only"):
        load_model_file(h5)
