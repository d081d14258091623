"""The whole catalog instantiates, serialises and maps back to node parameters."""

from __future__ import annotations

import copy
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import pytest

from dlstudio.catalog import ParamError, catalog, check_params, get_spec, instantiate
from dlstudio.catalog.from_keras import (
    NotInCatalogError, dropped_settings, node_type_of, params_from_config,
)
from dlstudio.catalog.registry import parse_args_section

LAYER_TYPES = [t for t in catalog() if t != "Input"]

REQUIRED = """Input Dense Activation Dropout GaussianNoise BatchNormalization LayerNormalization
Conv1D Conv2D Conv3D Conv2DTranspose SeparableConv2D DepthwiseConv2D MaxPooling1D MaxPooling2D
AveragePooling1D AveragePooling2D GlobalAveragePooling1D GlobalAveragePooling2D GlobalMaxPooling1D
GlobalMaxPooling2D Flatten Reshape Permute RepeatVector UpSampling2D ZeroPadding2D Cropping2D Add
Subtract Multiply Average Maximum Concatenate Dot Embedding SimpleRNN LSTM GRU Bidirectional
TimeDistributed MultiHeadAttention RandomFlip RandomRotation RandomZoom RandomTranslation RandomCrop
RandomContrast Rescaling Resizing Normalization""".split()


def _defaults(type_name: str) -> dict:
    params, errors = check_params(type_name, get_spec(type_name).defaults())
    assert not errors, errors
    return params


def _without_name(config):
    if isinstance(config, dict):
        return {k: _without_name(v) for k, v in config.items() if k not in ("name", "seed")}
    return config


@pytest.mark.parametrize("type_name", LAYER_TYPES)
def test_serialization_round_trip(type_name):
    """Keras' run_class_serialization_test: config -> from_config -> same config."""
    import keras

    layer = instantiate(type_name, _defaults(type_name), name="probe")
    config = layer.get_config()
    revived = type(layer).from_config(copy.deepcopy(config))
    assert revived.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    again = keras.saving.deserialize_keras_object(copy.deepcopy(serialized))
    assert type(again) is type(layer)
    assert again.get_config() == config


@pytest.mark.parametrize("type_name", LAYER_TYPES)
def test_params_from_config_gives_back_the_defaults(type_name):
    params = _defaults(type_name)
    layer = instantiate(type_name, params, name="probe")
    assert params_from_config(type_name, layer.get_config()) == params
    assert dropped_settings(type_name, layer.get_config()) == {}
    assert node_type_of(layer) == type_name


def _changed(p, value):
    """A different, usually valid value for parameter spec ``p``."""
    if p.kind == "bool":
        return not value
    if p.kind == "int" and p.name != "axis":
        return (value or 0) + 1
    if p.kind == "float":
        return 0.3 if p.max is not None and p.max <= 1 else round((value or 0) * 0.5 + 0.25, 3)
    if p.kind == "choice":
        opts = list(p.choices)
        return opts[(opts.index(value) + 1) % len(opts)] if value in opts else opts[0]
    if p.kind == "ints":
        return [3] * len(value) if isinstance(value, list) else (value or 1) + 2
    if p.kind == "floats":
        return 0.3
    return value


@pytest.mark.parametrize("type_name", LAYER_TYPES)
def test_params_from_config_recovers_changed_values(type_name):
    """Each parameter changed on its own maps back to a node that builds the same layer."""
    spec = get_spec(type_name)
    base = _defaults(type_name)
    for p in spec.params:
        value = _changed(p, base[p.name])
        if not p.keras or value == base[p.name]:
            continue
        params, errors = check_params(type_name, {**base, p.name: value})
        if errors:
            continue
        try:
            layer = instantiate(type_name, params, name="probe")
        except (ValueError, NotImplementedError):
            continue  # an invalid combination with the other defaults
        back = params_from_config(type_name, layer.get_config())
        rebuilt = instantiate(type_name, back, name="probe")
        assert _without_name(rebuilt.get_config()) == _without_name(layer.get_config()), p.name


def test_wrappers_map_their_inner_layer():
    import keras

    bi = keras.layers.Bidirectional(keras.layers.GRU(7, return_sequences=True), merge_mode="sum")
    params = params_from_config("Bidirectional", bi.get_config())
    assert params["layer"] == "GRU" and params["merge_mode"] == "sum"
    assert params["inner"]["units"] == 7 and params["inner"]["return_sequences"] is True
    td = keras.layers.TimeDistributed(keras.layers.Dense(5, activation="relu"))
    params = params_from_config("TimeDistributed", td.get_config())
    assert params["layer"] == "Dense"
    assert params["inner"]["units"] == 5 and params["inner"]["activation"] == "relu"


def test_initializers_and_regularizers_map_back_to_names():
    import keras

    dense = keras.layers.Dense(4, kernel_initializer="he_normal", kernel_regularizer="l2")
    params = params_from_config("Dense", dense.get_config())
    assert params["kernel_initializer"] == "he_normal"
    assert params["kernel_regularizer"] == "l2"
    odd = keras.layers.Dense(4, kernel_initializer=keras.initializers.RandomNormal(stddev=0.3))
    params = params_from_config("Dense", odd.get_config())
    assert params["kernel_initializer"]["class_name"] == "RandomNormal"
    assert check_params("Dense", params)[1] == []


def test_kernel_size_tuples_become_a_single_number():
    import keras

    conv = keras.layers.Conv2D(8, (5, 5), strides=(2, 2))
    params = params_from_config("Conv2D", conv.get_config())
    assert params["kernel_size"] == 5 and params["strides"] == 2
    conv = keras.layers.Conv2D(8, (1, 3))
    assert params_from_config("Conv2D", conv.get_config())["kernel_size"] == [1, 3]


@pytest.mark.parametrize("make, expected", [
    (lambda: __import__("keras").layers.MaxPooling2D(3, strides=2), {"pool_size": 3, "strides": 2}),
    (lambda: __import__("keras").layers.MaxPooling2D(3), {"pool_size": 3, "strides": None}),
    (lambda: __import__("keras").layers.MaxPooling2D(2, strides=2), {"pool_size": 2, "strides": None}),
    (lambda: __import__("keras").layers.AveragePooling1D(4, strides=1), {"pool_size": 4, "strides": 1}),
    (lambda: __import__("keras").layers.MultiHeadAttention(2, 8, value_dim=8), {"key_dim": 8, "value_dim": None}),
    (lambda: __import__("keras").layers.MultiHeadAttention(2, 8, value_dim=4), {"key_dim": 8, "value_dim": 4}),
])
def test_params_that_depend_on_each_other(make, expected):
    """A value that equals the default only next to other defaults is kept."""
    layer = make()
    type_name = type(layer).__name__
    params = params_from_config(type_name, layer.get_config())
    assert {k: params[k] for k in expected} == expected
    rebuilt = instantiate(type_name, params, name="probe")
    assert _without_name(rebuilt.get_config()) == _without_name(layer.get_config())


def test_hidden_settings_are_reported():
    import keras

    lstm = keras.layers.LSTM(4, go_backwards=True)
    assert dropped_settings("LSTM", lstm.get_config()) == {"go_backwards": True}
    conv = keras.layers.Conv2D(4, 3, data_format="channels_first", kernel_constraint="non_neg")
    assert dropped_settings("Conv2D", conv.get_config()) == {"data_format": "channels_first"}
    td = keras.layers.TimeDistributed(conv)
    assert dropped_settings("TimeDistributed", td.get_config()) == {"layer.data_format": "channels_first"}
    custom_back = keras.layers.Bidirectional(
        keras.layers.LSTM(4), backward_layer=keras.layers.GRU(4, go_backwards=True))
    assert dropped_settings("Bidirectional", custom_back.get_config()) == {"backward_layer": "GRU"}


def test_input_layer_params():
    import keras

    layer = keras.layers.InputLayer(shape=(None, 3), dtype="int64")
    assert node_type_of(layer) == "Input"
    assert params_from_config("Input", layer.get_config()) == {"shape": [None, 3], "dtype": "int32"}


def test_node_type_of_refuses_unknown_classes():
    import keras

    class Custom(keras.layers.Dense):
        pass

    with pytest.raises(NotInCatalogError, match="'odd' is a Custom"):
        node_type_of(Custom(3, name="odd"))
    with pytest.raises(NotInCatalogError, match="Lambda"):
        node_type_of(keras.layers.Lambda(lambda x: x))


def test_required_layers_are_present():
    missing = [t for t in REQUIRED if t not in catalog()]
    assert not missing


def test_every_spec_has_a_category_and_help():
    specs = list(catalog().values())
    assert all(s.category for s in specs)
    assert all(s.help for s in specs)
    params = [p for s in specs for p in s.params]
    with_help = [p for p in params if p.help]
    assert len(with_help) >= 0.9 * len(params)
    assert get_spec("Dense").param("units").help.startswith("Positive integer")


def test_parse_args_section():
    doc = """Summary.

    Args:
        units: Positive integer,
            dimensionality.
        **kwargs: Base layer keyword arguments.

    Input shape:
        whatever: not an argument.
    """
    assert parse_args_section(doc) == {
        "units": "Positive integer, dimensionality.", "kwargs": "Base layer keyword arguments.",
    }


@pytest.mark.parametrize("params, param, fatal", [
    ({"units": -3}, "units", False),
    ({"units": 0}, "units", False),
    ({"units": "many"}, "units", True),
    ({"units": 2.5}, "units", True),
    ({"units": 10**9}, "units", True),
    ({"use_bias": "yes"}, "use_bias", True),
    ({"colour": "red"}, "colour", True),
    ({"activation": "nonsense"}, "activation", False),
    ({"activation": 3}, "activation", True),
])
def test_check_params_reports_bad_values(params, param, fatal):
    _, errors = check_params("Dense", params)
    assert [e.param for e in errors] == [param]
    assert isinstance(errors[0], ParamError) and errors[0].fatal is fatal


def test_check_params_inner_errors_are_prefixed():
    _, errors = check_params("TimeDistributed", {"layer": "Dense", "inner": {"units": -1}})
    assert [e.param for e in errors] == ["inner.units"]
