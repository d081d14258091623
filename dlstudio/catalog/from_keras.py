"""From Keras back to the catalog: node type and parameters of an existing layer.

Keras configs are normalised versions of constructor arguments (``3`` becomes
``(3, 3)``, ``"he_normal"`` a serialised initializer, ``0.1`` a range). Rather
than undoing each normalisation by hand, every candidate value is checked by
asking Keras: the candidate is used only if a layer built with it has the very
config value found.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from dlstudio.catalog.registry import catalog, check_params, get_spec, keras_kwargs
from dlstudio.errors import DLStudioError

#: Config keys of hidden arguments that may differ without changing what the
#: layer computes (names, training-only settings): dropped on import.
IGNORABLE = {
    "name", "seed", "dtype", "activity_regularizer", "quantization_config",
    "zero_output_for_mask", "unroll", "synchronized",
}

#: Hidden settings that building a layer fills in with what the default means.
_BUILT_DEFAULTS = {("MultiHeadAttention", "attention_axes"): [[1]]}

_INPUT_DTYPES = {"float16": "float32", "bfloat16": "float32", "float64": "float32",
                 "int8": "int32", "int16": "int32", "int64": "int32", "uint8": "int32"}


class NotInCatalogError(DLStudioError, ValueError):
    """A Keras layer (or setting) that no catalog node can represent."""


def node_type_of(layer: Any) -> str:
    """The catalog type of a Keras layer instance (``"Input"`` for an InputLayer)."""
    import keras

    cls = type(layer)
    if cls is keras.layers.InputLayer:
        return "Input"
    if cls is keras.layers.Lambda:
        raise NotInCatalogError(
            f"layer '{layer.name}' is a Lambda layer: it holds Python code, which DL Studio "
            "cannot show as a graph; rebuild it from catalog layers")
    spec = catalog().get(cls.__name__)
    if spec is None or spec.cls is not cls:
        where = f"{cls.__module__}.{cls.__name__}"
        raise NotInCatalogError(
            f"layer '{getattr(layer, 'name', '?')}' is a {cls.__name__} ({where}), which is not "
            f"in DL Studio's layer catalog; rebuild it from catalog layers"
        )
    return cls.__name__


def canonical(value: Any) -> Any:
    """A comparable form of a config value: lists for tuples, serialised objects
    reduced to class name and config (the module path differs between formats)."""
    if isinstance(value, (list, tuple)):
        return [canonical(v) for v in value]
    if isinstance(value, dict):
        if "class_name" in value:
            return {"class_name": value["class_name"], "config": canonical(value.get("config"))}
        return {k: canonical(v) for k, v in value.items()}
    return value


@functools.cache
def _reference_config(type_name: str) -> dict[str, Any]:
    params, _ = check_params(type_name, get_spec(type_name).defaults())
    return _config_for(type_name, params)


def _config_for(type_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """The config of a layer built from ``params`` (cached: a big model repeats its settings)."""
    try:
        key = json.dumps(params, sort_keys=True)
    except (TypeError, ValueError):
        key = None
    if key is None:
        spec = get_spec(type_name)
        return spec.cls(**keras_kwargs(type_name, params)).get_config()
    return json.loads(_cached_config(type_name, key))


@functools.lru_cache(maxsize=4096)
def _cached_config(type_name: str, params: str) -> str:
    spec = get_spec(type_name)
    return json.dumps(spec.cls(**keras_kwargs(type_name, json.loads(params))).get_config())


def _config_value(type_name: str, name: str, candidate: Any) -> Any:
    """The config value Keras stores for ``name=candidate`` (others at defaults)."""
    return json.loads(_cached_config_value(type_name, name, json.dumps(candidate)))


@functools.lru_cache(maxsize=4096)
def _cached_config_value(type_name: str, name: str, candidate: str) -> str:
    params, _ = check_params(type_name, get_spec(type_name).defaults())
    params[name] = json.loads(candidate)
    return json.dumps(canonical(_config_for(type_name, params).get(name)))


def _candidates(kind: str, choices: tuple | None, value: Any) -> list[Any]:
    """Project values that might have produced config ``value``, nicest first."""
    value = _plain(value)
    out: list[Any] = []
    if isinstance(value, dict) and "class_name" in value and choices:
        out.extend(choices)  # e.g. "he_normal" for a serialised HeNormal
    if isinstance(value, list) and value:
        if kind == "ints" and all(v == value[0] for v in value):
            out.append(value[0])
        if kind == "floats" and len(value) == 2:  # Keras stores 0.1 as (-0.1, 0.1) or (0, 0.1)
            out.extend(v for v in (value[1], -value[0]) if isinstance(v, (int, float)) and v > 0)
    if kind == "float" and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    out.append(value)
    return out


def _plain(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def params_from_config(type_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Node parameters (checked, defaults filled in) for a Keras layer config."""
    if type_name == "Input":
        return _input_params(config)
    spec = get_spec(type_name)
    ref = _reference_config(type_name)
    params: dict[str, Any] = {}
    if any(p.name == "inner" for p in spec.params) and isinstance(config.get("layer"), dict):
        inner = config["layer"]
        params["layer"] = inner["class_name"]
        params["inner"] = params_from_config(inner["class_name"], inner.get("config", {}))
    for p in spec.params:
        if not p.keras or p.name not in config:
            continue
        value = config[p.name]
        if canonical(value) != canonical(ref.get(p.name)):
            params[p.name] = _pick(type_name, p, value, None)
    params = _fix_interplay(type_name, check_params(type_name, params)[0], config)
    return _simplify(type_name, params)


def _pick(type_name: str, p: Any, value: Any, context: dict[str, Any] | None) -> Any:
    """The nicest candidate for config ``value`` that Keras stores as ``value``,
    next to the other parameters of ``context`` (None: the defaults)."""
    cands = _candidates(p.kind, p.choices, value)
    for cand in cands:
        try:
            p.check(cand)
            if context is None:
                got = _config_value(type_name, p.name, cand)
            else:
                got = _config_for(type_name, dict(context, **{p.name: cand})).get(p.name)
            if canonical(got) == canonical(value):
                return cand
        except Exception:  # noqa: BLE001 - not a value Keras takes here
            continue
    return cands[-1]


def _fix_interplay(type_name: str, params: dict[str, Any], config: dict[str, Any]) -> dict[str, Any]:
    """Set explicitly what only looked like a default: ``strides`` (2, 2) is the
    default next to ``pool_size=2``, not next to ``pool_size=3``."""
    try:
        built = _config_for(type_name, params)
    except Exception:  # noqa: BLE001 - an unbuildable set is reported by the caller
        return params
    for p in get_spec(type_name).params:
        if p.keras and p.name in config and canonical(built.get(p.name)) != canonical(config[p.name]):
            params = dict(params, **{p.name: _pick(type_name, p, config[p.name], params)})
    return params


def _simplify(type_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Reset parameters to their default where that builds the same layer
    (``strides=3`` with ``pool_size=3`` is the default ``strides=None``)."""
    defaults, _ = check_params(type_name, get_spec(type_name).defaults())
    changed = [k for k in params if params[k] != defaults[k] and get_spec(type_name).param(k).keras]
    if not changed:
        return params
    try:
        target = _comparable(_config_for(type_name, params))
    except Exception:  # noqa: BLE001 - an unbuildable set is reported by the caller
        return params
    for key in changed:
        trial = dict(params, **{key: defaults[key]})
        try:
            if _comparable(_config_for(type_name, trial)) == target:
                params = trial
        except Exception:  # noqa: BLE001
            continue
    return params


def _comparable(config: Any) -> Any:
    """``canonical`` without ignorable keys at any depth (wrapped layers get fresh
    names, some layers a fresh random seed)."""
    if isinstance(config, dict):
        return {k: _comparable(v) for k, v in canonical(config).items() if k not in IGNORABLE}
    if isinstance(config, list):
        return [_comparable(v) for v in config]
    return config


def _input_params(config: dict[str, Any]) -> dict[str, Any]:
    shape = config.get("batch_shape") or config.get("batch_input_shape")
    if shape is None and config.get("shape") is not None:
        shape = [None, *config["shape"]]
    dtype = config.get("dtype") or "float32"
    if isinstance(dtype, dict):  # a serialised dtype policy
        dtype = dtype.get("config", {}).get("name", "float32")
    params = {"shape": list(shape[1:]) if shape else None, "dtype": _INPUT_DTYPES.get(dtype, dtype)}
    return check_params("Input", params)[0]


def dropped_settings(type_name: str, config: dict[str, Any]) -> dict[str, Any]:
    """Hidden settings of a layer config that differ from Keras' defaults and
    that a node cannot carry (``data_format``, ``go_backwards``, ...)."""
    if type_name == "Input":
        return {k: config[k] for k in ("sparse", "ragged", "optional") if config.get(k)}
    spec = get_spec(type_name)
    ref = _reference_config(type_name)
    visible = set(spec.param_names())
    out: dict[str, Any] = {}
    for key, value in config.items():
        if key == "layer" and isinstance(value, dict) and value.get("class_name") in catalog():
            inner = dropped_settings(value["class_name"], value.get("config", {}))
            out.update({f"layer.{k}": v for k, v in inner.items()})
            continue
        if key in visible or key in IGNORABLE or key == "backward_layer":
            continue
        if canonical(value) != canonical(ref.get(key)) \
                and canonical(value) not in _BUILT_DEFAULTS.get((type_name, key), []):
            out[key] = value
    back = config.get("backward_layer")
    if isinstance(back, dict) and isinstance(config.get("layer"), dict):
        if _strip(back) != _strip(config["layer"]):
            out["backward_layer"] = back.get("class_name")
    return out


def _strip(layer_config: dict[str, Any]) -> Any:
    cfg = dict(layer_config.get("config", {}))
    for key in ("name", "go_backwards"):
        cfg.pop(key, None)
    return canonical({"class_name": layer_config.get("class_name"), "config": cfg})
