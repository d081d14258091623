"""Hostile model files, one fixture of each kind: a Lambda layer (tests/compile/test_importer.py,
``test_lambda_is_refused_and_never_runs``), an injected module reference, injected function
references (a registered function, a Keras function that is not an activation), and external-file
references (an HDF5 external link, external raw storage, a layer that loads another model from
disk). Each is refused with a message that names the layer or link, and no code from it runs."""

from __future__ import annotations

import json
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

keras = pytest.importorskip("keras")
h5py = pytest.importorskip("h5py")
layers = keras.layers

from dlstudio.compile.importer import ModelImportError, import_model_file

PAYLOAD = "tests.compile.payload_module"


def small_model():
    inp = keras.Input((3,), name="x")
    return keras.Model(inp, layers.Dense(2, name="dense")(inp))


def rewrite_config(path: Path, change) -> None:
    """Edit config.json inside a .keras archive (as an attacker would)."""
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    config = json.loads(files["config.json"])
    change(config)
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)


def layer_entry(config: dict, name: str) -> dict:
    return next(lay for lay in config["config"]["layers"] if lay["config"]["name"] == name)


@pytest.fixture
def marker(tmp_path, monkeypatch):
    path = tmp_path / "code-ran.txt"
    monkeypatch.setenv("DLSTUDIO_TEST_MARKER", str(path))
    monkeypatch.delitem(sys.modules, PAYLOAD, raising=False)
    yield path
    sys.modules.pop(PAYLOAD, None)


# --------------------------------------------------------------- injected module references


def test_a_layer_class_from_an_injected_module_is_refused_and_never_imported(tmp_path, marker):
    path = tmp_path / "module.keras"
    small_model().save(path)

    def inject(config):
        entry = layer_entry(config, "dense")
        entry.update(module=PAYLOAD, class_name="Payload", registered_name=None)

    rewrite_config(path, inject)
    with pytest.raises(ModelImportError, match=rf"layer 'dense' in 'module.keras' is the custom class "
                                               rf"'{PAYLOAD}.Payload'"):
        import_model_file(path)
    assert not marker.exists() and PAYLOAD not in sys.modules
    __import__(PAYLOAD)  # the payload is real: importing it is what leaves the marker
    assert marker.exists()


def test_an_activation_from_os_is_refused(tmp_path, marker):
    path = tmp_path / "os.keras"
    small_model().save(path)

    def inject(config):
        layer_entry(config, "dense")["config"]["activation"] = {
            "module": "os", "class_name": "function", "config": "system", "registered_name": "function"}

    rewrite_config(path, inject)
    with pytest.raises(ModelImportError, match="layer 'dense' in 'os.keras' refers to 'os.system', Python code "
                                               "outside Keras"):
        import_model_file(path)


# --------------------------------------------------------------- injected function references

_CALLS = {"marker": None}


@keras.saving.register_keras_serializable(package="dlsmal")
def leaky_trap(x):
    """A registered function used as an activation: leaves a marker when Keras calls it."""
    if _CALLS["marker"]:
        Path(_CALLS["marker"]).write_text("the registered function ran")
    return x


@pytest.mark.parametrize("suffix", ["keras", "h5"])
def test_a_registered_function_as_activation_is_refused_and_never_called(tmp_path, marker, suffix):
    inp = keras.Input((3,), name="x")
    model = keras.Model(inp, layers.Dense(2, activation=leaky_trap, name="dense")(inp))
    path = tmp_path / f"fn.{suffix}"
    model.save(path)
    _CALLS["marker"] = str(marker)
    try:
        with pytest.raises(ModelImportError, match=rf"layer 'dense' in 'fn.{suffix}' refers to "
                                                   r"'.*leaky_trap', Python code outside Keras"):
            import_model_file(path)
        assert not marker.exists()
        loaded = keras.saving.load_model(path, safe_mode=True, compile=False)  # plain Keras accepts it ...
        loaded(np.ones((1, 3), np.float32))  # ... and runs it with the model
        assert marker.exists()
    finally:
        _CALLS["marker"] = None


@pytest.mark.parametrize("module, function", [
    ("builtins", "exec"),
    ("keras.utils", "get_file"),  # fetches a file named by the model
    ("keras.config", "enable_unsafe_deserialization"),  # switches safe mode off for later loads
])
def test_a_keras_or_builtin_function_that_is_no_activation_is_refused(tmp_path, module, function):
    path = tmp_path / "fn.keras"
    small_model().save(path)

    def inject(config):
        layer_entry(config, "dense")["config"]["activation"] = {
            "module": module, "class_name": "function", "config": function, "registered_name": "function"}

    rewrite_config(path, inject)
    with pytest.raises(ModelImportError, match=rf"layer 'dense' in 'fn.keras' refers to the function "
                                               rf"'{module}.{function}', which is not one of Keras' activations"):
        import_model_file(path)
    from keras.src.saving.serialization_lib import in_safe_mode

    assert in_safe_mode() is not False  # safe mode was not switched off


def test_keras_activations_by_reference_still_import(tmp_path):
    inp = keras.Input((3,), name="x")
    model = keras.Model(inp, layers.Dense(2, activation=keras.activations.gelu, kernel_initializer="he_normal",
                                          kernel_regularizer=keras.regularizers.L2(1e-3), name="dense")(inp))
    model.save(tmp_path / "ok.keras")
    graph, _ = import_model_file(tmp_path / "ok.keras")
    assert {n.name for n in graph.nodes} == {"x", "dense"}


# --------------------------------------------------------------- external-file references


def test_an_h5_external_link_is_refused(tmp_path):
    secret = tmp_path / "secret.h5"
    with h5py.File(secret, "w") as f:
        f["kernel"] = np.ones((3, 2), np.float32)
    path = tmp_path / "linked.h5"
    small_model().save(path)
    with h5py.File(path, "a") as f:
        f["model_weights"]["stolen"] = h5py.ExternalLink(str(secret), "/")
    with pytest.raises(ModelImportError, match=rf"'linked.h5' links 'model_weights/stolen' to the external file "
                                               rf"'{secret}': DL Studio reads nothing outside"):
        import_model_file(path)


def test_external_weights_inside_a_keras_archive_are_refused(tmp_path):
    raw = tmp_path / "weights.bin"
    raw.write_bytes(np.arange(6, dtype=np.float32).tobytes())
    path = tmp_path / "external.keras"
    small_model().save(path)
    with zipfile.ZipFile(path) as z:
        files = {name: z.read(name) for name in z.namelist()}
    inner = tmp_path / "model.weights.h5"
    inner.write_bytes(files["model.weights.h5"])
    with h5py.File(inner, "a") as f:
        f.create_dataset("outside", shape=(6,), dtype="float32", external=[(str(raw), 0, 24)])
    files["model.weights.h5"] = inner.read_bytes()
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    with pytest.raises(ModelImportError, match=rf"'external.keras/model.weights.h5' keeps the weights 'outside' "
                                               rf"in the external file '{raw}'"):
        import_model_file(path)


def test_a_setting_that_loads_another_model_from_disk_is_refused(tmp_path):
    path = tmp_path / "tfsm.keras"
    small_model().save(path)

    def inject(config):
        layer_entry(config, "dense")["config"]["kernel_initializer"] = {
            "module": "keras.layers", "class_name": "TFSMLayer", "registered_name": None,
            "config": {"filepath": str(tmp_path / "elsewhere"), "call_endpoint": "serve"}}

    rewrite_config(path, inject)
    with pytest.raises(ModelImportError, match="layer 'dense' in 'tfsm.keras' refers to 'keras.layers.TFSMLayer', "
                                               "which is not a Keras initializer, regularizer, constraint"):
        import_model_file(path)
