"""The backend module: device names."""

from __future__ import annotations


def test_model_device_names_where_the_weights_live():
    from dlstudio.backend import list_devices, load_keras, model_device

    keras = load_keras()
    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2)(inp))
    assert model_device(model) in list_devices()
    with __import__("dlstudio.backend", fromlist=["device_scope"]).device_scope("cpu"):
        on_cpu = keras.Model(inp, keras.layers.Dense(2)(inp))
    assert model_device(on_cpu) == "cpu"
