"""The layer catalog, derived from Keras' own classes.

For every layer type the parameters come from ``inspect.signature`` of the
Keras constructor (names, defaults), the help text from the docstring's
``Args:`` section, and :mod:`dlstudio.catalog.overrides` adds choices, ranges,
defaults for required arguments and port ranks.
"""

from __future__ import annotations

import functools
import inspect
import re
import threading
from typing import Any

from dlstudio.catalog import overrides as ov
from dlstudio.catalog.specs import LayerSpec, ParamError, ParamSpec, PortSpec
from dlstudio.errors import DLStudioError


class UnknownLayerError(DLStudioError, KeyError):
    def __init__(self, type_name: str):
        super().__init__(type_name)
        self.type_name = type_name

    def __str__(self) -> str:
        return f"unknown layer type {self.type_name!r}"


def parse_args_section(doc: str | None, headers: tuple[str, ...] = ("Args:", "Arguments:")) -> dict[str, str]:
    """Help text per argument from a Google-style docstring ``Args:`` section (or another
    section: ``headers=("Call arguments:",)``)."""
    if not doc:
        return {}
    lines = doc.expandtabs().splitlines()
    out: dict[str, str] = {}
    in_args = False
    arg_indent = None
    current = None
    for line in lines:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not in_args:
            if stripped in headers:
                in_args = True
                section_indent = indent
            continue
        if not stripped:
            continue
        if indent <= section_indent:
            break  # the next section ("Call arguments:", "Input shape:", ...)
        m = re.match(r"^(\*{0,2}\w+):\s*(.*)$", stripped)
        if m and (arg_indent is None or indent == arg_indent):
            arg_indent = indent
            current = m.group(1).lstrip("*")
            out[current] = m.group(2)
        elif current is not None:
            out[current] += " " + stripped
    return {k: re.sub(r"\s+", " ", v).strip() for k, v in out.items()}


def _summary(doc: str | None) -> str:
    if not doc:
        return ""
    para = inspect.cleandoc(doc).split("\n\n")[0]
    return re.sub(r"\s+", " ", para).strip()


def _kind_from_default(default: Any) -> str:
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, float):
        return "float"
    if isinstance(default, str):
        return "str"
    if isinstance(default, tuple) and all(isinstance(v, int) for v in default):
        return "ints"
    return "json"


def _param_specs(type_name: str, cls: Any) -> tuple[ParamSpec, ...]:
    helps = parse_args_section(cls.__doc__)
    specs = []
    sig = inspect.signature(cls.__init__)
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in ov.HIDDEN:
            continue
        if p.name in ("layer",):  # wrapper argument, added below
            continue
        rule = ov.BY_TYPE.get(type_name, {}).get(p.name, ov.BY_NAME.get(p.name, {}))
        if rule is None:
            continue  # hidden by name pattern
        required = p.default is inspect.Parameter.empty
        keras_default = None if required else p.default
        default = rule.get("default", keras_default)
        if required and "default" not in rule:
            raise RuntimeError(f"catalog: {type_name}.{p.name} is required but has no default override")
        if isinstance(default, tuple):
            default = list(default)
        kind = rule.get("kind") or _kind_from_default(keras_default if keras_default is not None else default)
        optional = rule.get("optional", keras_default is None and not required and default is None)
        choices = rule.get("choices")
        if rule.get("keras_choices"):
            choices = keras_choices(rule["keras_choices"], choices or ())
        specs.append(ParamSpec(
            name=p.name, kind=kind, default=default, help=helps.get(p.name, ""),
            choices=choices, min=rule.get("min"), max=rule.get("max"),
            optional=optional, length=rule.get("length"), config_ok=rule.get("config_ok", False),
            exclusive_min=rule.get("exclusive_min", False),
            exclusive_max=rule.get("exclusive_max", False),
        ))
    return tuple(specs)


@functools.cache
def keras_choices(source: str, preferred: tuple[str, ...] = ()) -> tuple[str, ...]:
    """The names Keras itself takes for an activation, initializer, regularizer or constraint
    (``source``: "activations", "initializers", "regularizers", "constraints"): ``preferred``
    first (those Keras knows), then every other name, sorted. Activations that need more
    arguments than the tensor (``threshold``) and the abstract base classes are left out."""
    import keras

    module = getattr(keras, source)
    if source == "activations":
        names = [n for n, f in vars(module).items() if not n.startswith("_") and inspect.isfunction(f)
                 and n not in ("get", "serialize", "deserialize")
                 and all(p.default is not p.empty for p in list(inspect.signature(f).parameters.values())[1:])]
    else:
        base = {"initializers": "Initializer", "regularizers": "Regularizer", "constraints": "Constraint"}[source]
        names = []
        for n in getattr(module, "ALL_OBJECTS_DICT", None) or _all_objects(source):
            if n[:1].islower():
                try:
                    obj = module.get(n)
                except Exception:  # noqa: BLE001 - a name that needs arguments (constant)
                    continue
                if type(obj).__name__ != base:
                    names.append(n)
    return tuple(dict.fromkeys([n for n in preferred if n in names] + sorted(names)))


def _all_objects(source: str) -> dict[str, Any]:
    import importlib

    return getattr(importlib.import_module(f"keras.src.{source}"), "ALL_OBJECTS_DICT", {})


def _call_params(type_name: str, cls: Any) -> tuple[ParamSpec, ...]:
    """Settings of the layer's call (``ov.CALL_PARAMS``), helped by the docstring's "Call arguments:"."""
    helps = parse_args_section(cls.__doc__, ("Call arguments:", "Call Args:", "Call args:"))
    return tuple(ParamSpec(name, rule["kind"], default=rule.get("default"), help=helps.get(name, ""),
                           optional=rule.get("optional", False), keras=False, call=True)
                 for name, rule in ov.CALL_PARAMS.get(type_name, {}).items())


#: Every layer may reuse the layer of another node (shared weights, a Siamese network).
SHARES = ParamSpec("shares", "str", default=None, optional=True, keras=False,
                   help="The name of another node of the same type and settings whose layer (and so "
                        "whose weights) this node uses: one set of weights applied to several inputs. "
                        "Empty: weights of its own.")


def _input_spec() -> LayerSpec:
    return LayerSpec(
        type="Input", category="Input",
        help="The model's input: a tensor of the given shape (without the batch axis).",
        class_name=None,
        params=(
            ParamSpec("shape", "shape", default=[28, 28, 1], min=1, optional=True,
                      help="Shape of one sample, without the batch axis; null for a variable length."),
            ParamSpec("dtype", "choice", default="float32", choices=("float32", "int32"),
                      help="Type of the values: float32 for features, int32 for token ids."),
        ),
        inputs=(), call="input",
    )


def _takes_kwargs(cls: Any) -> bool:
    return any(p.kind is p.VAR_KEYWORD for p in inspect.signature(cls.__init__).parameters.values())


#: Every layer can be frozen (a Keras base-layer argument, so not in the signatures).
TRAINABLE = ParamSpec("trainable", "bool", default=True,
                      help="Whether training updates this layer's weights; untick to freeze it "
                           "(for example a hand-set edge-detector kernel).")


def _wrapper_params(type_name: str, inner_types: tuple[str, ...]) -> tuple[ParamSpec, ...]:
    return (
        ParamSpec("layer", "layer", default=inner_types[0], choices=inner_types, keras=False,
                  help="The layer this wrapper applies."),
        ParamSpec("inner", "inner", default={}, keras=False,
                  help="Parameters of the wrapped layer."),
    )


_catalog: dict[str, LayerSpec] | None = None
_catalog_lock = threading.Lock()


def catalog() -> dict[str, LayerSpec]:
    """All layer types, keyed by type name, in palette order: from the disk cache when it was
    derived by this Keras and DL Studio (no Keras import), else derived now and kept there."""
    global _catalog
    if cached_catalog() is None:
        with _catalog_lock:
            if _catalog is None:
                from dlstudio.catalog import disk

                _catalog = derive_catalog()
                disk.save(_catalog)
    return _catalog


def cached_catalog() -> dict[str, LayerSpec] | None:
    """The catalog if it is at hand without importing Keras (in memory, or in the disk cache),
    else None: the editor asks this before Keras has loaded."""
    global _catalog
    if _catalog is None:
        from dlstudio.catalog import disk

        found = disk.load()
        with _catalog_lock:
            if _catalog is None and found is not None:
                _catalog = found
    return _catalog


def derive_catalog() -> dict[str, LayerSpec]:
    """The catalog as Keras' classes give it now (imports Keras)."""
    from dlstudio.backend import load_keras

    layers = load_keras().layers

    out: dict[str, LayerSpec] = {}
    for category, names in ov.CATEGORIES.items():
        for name in names:
            if name == "Input":
                out[name] = _input_spec()
                continue
            cls = getattr(layers, name)
            params = _param_specs(name, cls)
            call = "single"
            if name in ov.VARIADIC:
                call = "list"
                if name not in ov.TWO_INPUTS_ONLY:
                    params = (ParamSpec("inputs", "int", default=2, min=2, max=64, keras=False,
                                        help="Number of input ports."),) + params
            elif name == "MultiHeadAttention":
                call = "attention"
            elif name in ov.RNN_TYPES:
                call = "rnn"
            if name == "Bidirectional":
                params = _wrapper_params(name, ov.RNN_TYPES) + params
            elif name == "TimeDistributed":
                params = _wrapper_params(name, ov.TIME_DISTRIBUTED_TYPES) + params
            params = params + _call_params(name, cls)
            if _takes_kwargs(cls):
                params = params + (TRAINABLE,)
            params = params + (SHARES,)
            ports = ov.PORTS.get(name, (PortSpec("input"),))
            out[name] = LayerSpec(
                type=name, category=category, help=_summary(cls.__doc__), class_name=name,
                params=params, inputs=ports, variadic=name in ov.VARIADIC, call=call,
                keywords=ov.KEYWORDS.get(name, ()),
            )
    return out


def get_spec(type_name: str) -> LayerSpec:
    try:
        return catalog()[type_name]
    except KeyError:
        raise UnknownLayerError(type_name) from None


def categories() -> dict[str, list[LayerSpec]]:
    grouped: dict[str, list[LayerSpec]] = {}
    for spec in catalog().values():
        grouped.setdefault(spec.category, []).append(spec)
    return grouped


def check_params(type_name: str, params: dict[str, Any]) -> tuple[dict[str, Any], list[ParamError]]:
    """Fill in defaults and check every parameter of a node.

    Returns the full, normalised parameter dict (bad values kept as given, so
    nothing is lost) and the list of errors found.
    """
    spec = get_spec(type_name)
    errors: list[ParamError] = []
    out: dict[str, Any] = {}
    known = set(spec.param_names())
    for key in params:
        if key not in known:
            errors.append(ParamError(key, f"{type_name} has no parameter {key!r}", fatal=True))
    defaults = spec.defaults()
    for p in spec.params:
        value = params[p.name] if p.name in params else defaults[p.name]
        try:
            out[p.name] = p.check(value)
        except ParamError as e:
            errors.append(e)
            out[p.name] = value
    if "inner" in out and isinstance(out.get("layer"), str) and out["layer"] in catalog():
        inner = out["inner"] if isinstance(out["inner"], dict) else {}
        inner_spec = get_spec(out["layer"])
        names = set(inner_spec.param_names())
        full, inner_errors = check_params(out["layer"], {k: v for k, v in inner.items() if k in names})
        out["inner"] = full
        for e in inner_errors:
            errors.append(ParamError(f"inner.{e.param}", e.message, e.fatal))
    return out, errors


def keras_kwargs(type_name: str, params: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments for the Keras class from checked parameters."""
    spec = get_spec(type_name)
    kwargs = {}
    for p in spec.params:
        if p.keras and p.name in params:
            kwargs[p.name] = p.to_keras(params[p.name])
    if "layer" in params and "inner" in params:
        inner_type = params["layer"]
        inner_spec = get_spec(inner_type)
        kwargs["layer"] = inner_spec.cls(**keras_kwargs(inner_type, params["inner"]))
    return kwargs


def instantiate(type_name: str, params: dict[str, Any], name: str | None = None) -> Any:
    """A Keras layer for a (checked) node. Not for Input nodes."""
    spec = get_spec(type_name)
    if spec.cls is None:
        raise ValueError(f"{type_name} is not a Keras layer class")
    return spec.cls(name=name, **keras_kwargs(type_name, params))
