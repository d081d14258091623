"""Reading and checking model files without Keras.

The JSON config of a ``.keras`` archive or an ``.h5`` file is read with
``zipfile`` / ``h5py`` and walked before Keras deserialises anything: a Lambda
layer, a custom or registered class, or a reference to any code outside Keras
refuses the file, naming the layer, so no code from the file ever runs.
"""

from __future__ import annotations

import functools
import json
import zipfile
from pathlib import Path
from typing import Any
from dlstudio.compile.import_ops import APPLICATION_LAYERS
from dlstudio.errors import DLStudioError


class ModelImportError(DLStudioError, ValueError):
    """A model or model file that cannot become a DL Studio graph; the message says why."""


_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_CONTAINERS = {"Functional", "Sequential", "Model"}
_DATA_CLASSES = {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__"}
_MAX_CONFIG = 64 * 1024 * 1024
#: Entry keys not scanned: the layer config has its own walk; loading with
#: ``compile=False`` never reads the compile config (custom losses are fine).
_SKIPPED = {"config", "compile_config"}


def read_model_config(path: Path) -> tuple[str, dict[str, Any]]:
    """``("keras" | "h5", config)`` of a model file, read without Keras."""
    if not path.exists():
        raise ModelImportError(f"'{path}' does not exist")
    if path.is_dir():
        raise ModelImportError(f"'{path.name}' is a folder; DL Studio imports .keras and .h5 model files")
    try:
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError as e:
        raise ModelImportError(f"cannot read '{path.name}': {e.strerror}") from None
    raw: Any
    if zipfile.is_zipfile(path):
        kind = "keras"
        try:
            with zipfile.ZipFile(path) as z:
                info = z.getinfo("config.json")
                if info.file_size > _MAX_CONFIG:
                    raise ModelImportError(f"the model description in '{path.name}' is absurdly large")
                raw = z.read(info)
        except KeyError:
            raise ModelImportError(f"'{path.name}' is a zip archive without config.json, not a .keras model") from None
        except (zipfile.BadZipFile, OSError, RuntimeError) as e:
            raise ModelImportError(f"'{path.name}' is a damaged .keras file: {e}") from None
    elif head == _HDF5_MAGIC:
        kind = "h5"
        import h5py

        try:
            with h5py.File(path, "r") as f:
                raw = f.attrs.get("model_config")
        except OSError as e:
            raise ModelImportError(f"'{path.name}' is a damaged .h5 file: {e}") from None
        if raw is None:
            raise ModelImportError(f"'{path.name}' holds weights only, no model; save the whole model")
    else:
        raise ModelImportError(f"'{path.name}' is neither a .keras nor an .h5 model file")
    try:
        config = json.loads(raw.decode("utf-8") if isinstance(raw, bytes) else str(raw))
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ModelImportError(f"the model description in '{path.name}' is damaged") from None
    if not isinstance(config, dict) or "class_name" not in config:
        raise ModelImportError(f"the model description in '{path.name}' is damaged")
    return kind, config


def check_model_config(config: dict[str, Any], filename: str = "the file") -> None:
    """Refuse a model config that names a Lambda, a custom class or any code
    outside Keras; reads JSON only, so nothing from the file runs."""
    try:
        _check_layer(config, filename)
    except RecursionError:
        raise ModelImportError(f"the model description in '{filename}' is nested absurdly deep") from None


def _check_layer(cfg: Any, filename: str) -> None:
    from dlstudio.catalog import catalog

    if not isinstance(cfg, dict) or not isinstance(cfg.get("class_name"), str):
        raise ModelImportError(f"the model description in '{filename}' is damaged")
    cls = cfg["class_name"]
    inner = cfg.get("config") if isinstance(cfg.get("config"), dict) else {}
    name = inner.get("name") or cfg.get("name") or cls
    if cls == "Lambda":
        raise ModelImportError(
            f"layer '{name}' in '{filename}' is a Lambda layer: it holds Python code, which DL Studio "
            "never runs; rebuild it from catalog layers")
    if not _is_keras(cfg):
        raise ModelImportError(
            f"layer '{name}' in '{filename}' is the custom class '{_origin(cfg)}': its code is not part "
            "of Keras, and DL Studio never runs code from a model file; rebuild it from catalog layers")
    if cls in _CONTAINERS:
        layers = inner.get("layers", [])
        for layer in layers if isinstance(layers, list) else [layers]:
            _check_layer(layer, filename)
        _check_objects({k: v for k, v in cfg.items() if k not in _SKIPPED}, name, filename)
        return
    if cls != "InputLayer" and (cls not in catalog() or cls == "Input") and not _is_keras_op(cfg) \
            and (cfg.get("module"), cls) not in APPLICATION_LAYERS:
        raise ModelImportError(
            f"layer '{name}' in '{filename}' is a {cls}, which is not in DL Studio's layer catalog; "
            "rebuild it from catalog layers")
    _check_objects(cfg.get("config"), name, filename)
    _check_objects({k: v for k, v in cfg.items() if k not in _SKIPPED}, name, filename)


def _check_objects(value: Any, layer: str, filename: str, key: str = "") -> None:
    """Every serialised object inside a layer entry must be Keras' own."""
    if isinstance(value, list):
        for v in value:
            _check_objects(v, layer, filename, key)
        return
    if not isinstance(value, dict):
        return
    cls = value.get("class_name")
    if isinstance(cls, str) and "config" in value:
        if key in ("layer", "backward_layer") or cls == "Lambda":
            _check_layer(value, filename)  # a wrapped layer
            return
        if cls in _DATA_CLASSES:
            return
        if cls.startswith("__") or not _is_keras(value):
            raise ModelImportError(
                f"layer '{layer}' in '{filename}' refers to '{_origin(value)}', Python code outside Keras, "
                "which DL Studio never runs; rebuild it from catalog layers and settings")
        _check_keras_reference(value, cls, layer, filename)
    for k, v in value.items():
        _check_objects(v, layer, filename, k)


def _check_keras_reference(obj: dict[str, Any], cls: str, layer: str, filename: str) -> None:
    """Inside a layer, a Keras reference may only name an activation function or an initializer,
    regularizer, constraint or dtype policy class: Keras itself holds functions that fetch files
    (keras.utils.get_file), switch safe mode off (keras.config.enable_unsafe_deserialization) or
    load other models from disk (keras.layers.TFSMLayer)."""
    if cls == "function":
        if obj.get("config") not in _allowed_names()[0]:
            raise ModelImportError(
                f"layer '{layer}' in '{filename}' refers to the function '{_origin(obj)}', which is not one of "
                "Keras' activations; DL Studio never calls it")
    elif cls not in _allowed_names()[1]:
        raise ModelImportError(
            f"layer '{layer}' in '{filename}' refers to '{_origin(obj)}', which is not a Keras initializer, "
            "regularizer, constraint or dtype policy; DL Studio never loads it")


@functools.cache
def _allowed_names() -> tuple[frozenset[str], frozenset[str]]:
    """(activation function names, class names) a layer's settings may refer to."""
    import keras

    def public(module: Any, want_class: bool) -> set[str]:
        return {n for n, v in vars(module).items() if not n.startswith("_") and callable(v)
                and isinstance(v, type) == want_class and n not in ("get", "serialize", "deserialize")}

    classes = set()
    for module in (keras.initializers, keras.regularizers, keras.constraints, keras.dtype_policies):
        classes |= public(module, True)
    return frozenset(public(keras.activations, False)), frozenset(classes)


def check_model_storage(path: Path, kind: str, filename: str | None = None) -> None:
    """Refuse a model file whose weights point outside it: an HDF5 external link, external
    raw storage or a virtual dataset would make h5py read other files while Keras loads it."""
    import h5py

    filename = filename or path.name
    try:
        if kind == "h5":
            with h5py.File(path, "r") as f:
                _check_h5_links(f, filename)
            return
        with zipfile.ZipFile(path) as z:
            for member in z.namelist():
                if member.endswith(".h5"):
                    with z.open(member) as raw, h5py.File(raw, "r") as f:
                        _check_h5_links(f, f"{filename}/{member}")
    except (OSError, zipfile.BadZipFile, RuntimeError) as e:
        raise ModelImportError(f"'{filename}' is a damaged model file: {e}") from None


def _check_h5_links(f: Any, filename: str) -> None:
    import h5py

    def visit(name: str, link: Any) -> str | None:  # a returned text stops the walk (raising inside h5py breaks it)
        if isinstance(link, h5py.ExternalLink):
            return f"'{filename}' links '{name}' to the external file '{link.filename}'"
        if isinstance(link, h5py.HardLink):
            obj = f.get(name)
            if isinstance(obj, h5py.Dataset) and (obj.external or obj.is_virtual):
                source = obj.external[0][0] if obj.external else "other datasets"
                return f"'{filename}' keeps the weights '{name}' in the external file '{_text(source)}'"
        return None

    problem = f.visititems_links(visit)
    if problem:
        raise ModelImportError(f"{problem}: DL Studio reads nothing outside the model file you chose")


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _is_keras(obj: dict[str, Any]) -> bool:
    module = obj.get("module")
    registered = obj.get("registered_name")
    names = [obj.get("class_name"), registered]
    if obj.get("class_name") == "function":
        names.append(obj.get("config"))
    if any(isinstance(n, str) and ">" in n for n in names):
        return False  # "package>Name": a registered custom object
    if module is None or (isinstance(module, str) and (module == "keras" or module.startswith("keras."))):
        return True
    return module == "builtins" and obj.get("class_name") == "function"


def _origin(obj: dict[str, Any]) -> str:
    name = obj.get("config") if obj.get("class_name") == "function" else obj.get("class_name")
    module = obj.get("module")
    return f"{module}.{name}" if module else str(name)


def _is_keras_op(cfg: dict[str, Any]) -> bool:
    """A ``keras.ops`` operation (such as the NotEqual behind a mask)."""
    import importlib

    module = cfg.get("module")
    if module is not None:
        return isinstance(module, str) and module.startswith("keras.src.ops.")
    from keras.src.ops.operation import Operation

    for mod in ("numpy", "nn", "math", "core", "image", "linalg"):
        obj = getattr(importlib.import_module(f"keras.src.ops.{mod}"), cfg["class_name"], None)
        if isinstance(obj, type) and issubclass(obj, Operation):
            return True
    return False
