"""Specs of layer types, their parameters and ports, and parameter checking.

Specs are plain frozen dataclasses (no Keras objects inside, apart from the
class reference used to build a layer), so the GUI can read them cheaply.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any
from dlstudio.errors import DLStudioError

#: The hard limit beyond which a number in a project is refused outright as absurd.
SANITY_LIMIT = 10_000_000


class ParamError(DLStudioError, ValueError):
    """A parameter value that cannot be used.

    ``fatal`` marks values that cannot even be represented (wrong type, unknown
    parameter, absurd size): a project file holding one is refused. Other
    errors (a negative unit count) are shown as problems on the node.
    """

    def __init__(self, param: str, message: str, fatal: bool = False):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message
        self.fatal = fatal


@dataclass(frozen=True)
class ParamSpec:
    name: str
    kind: str  # int float bool str choice ints floats shape json layer inner
    default: Any = None
    help: str = ""
    choices: tuple[Any, ...] | None = None
    min: float | None = None
    max: float | None = None
    optional: bool = False  # None is an allowed value
    length: int | None = None  # for "ints": how many ints a tuple has
    config_ok: bool = False  # a serialised Keras config dict is accepted too
    exclusive_min: bool = False
    exclusive_max: bool = False
    keras: bool = True  # passed to the Keras constructor
    call: bool = False  # passed to the layer's call instead (use_causal_mask, training, ...)

    def check(self, value: Any) -> Any:
        """Return ``value`` normalised for this parameter, or raise ParamError."""
        if value is None:
            if self.optional:
                return None
            raise ParamError(self.name, "a value is required", fatal=False)
        if self.config_ok and isinstance(value, dict):
            if not isinstance(value.get("class_name"), str):
                raise ParamError(self.name, "a config needs a 'class_name'", fatal=True)
            _check_json(self.name, _without_seeds(value))  # finite, sane numbers (Constant 1e308 is refused)
            return value
        kind = self.kind
        if kind == "bool":
            if not isinstance(value, bool):
                raise ParamError(self.name, f"expected true or false, got {value!r}", fatal=True)
            return value
        if kind == "int":
            return self._check_range(_as_int(self.name, value))
        if kind == "float":
            return self._check_range(_as_float(self.name, value))
        if kind == "str":
            if not isinstance(value, str):
                raise ParamError(self.name, f"expected text, got {value!r}", fatal=True)
            return value
        if kind in ("choice", "layer"):
            if value not in (self.choices or ()):
                opts = ", ".join(repr(c) for c in self.choices or ())
                raise ParamError(self.name, f"{value!r} is not one of {opts}", fatal=not isinstance(value, str))
            return value
        if kind == "ints":
            if isinstance(value, (list, tuple)):
                if self.length is not None and len(value) != self.length:
                    raise ParamError(
                        self.name, f"expected one number or {self.length} numbers, got {len(value)}", fatal=True
                    )
                return [self._check_range(_as_int(self.name, v)) for v in value]
            return self._check_range(_as_int(self.name, value))
        if kind == "floats":
            if isinstance(value, (list, tuple)):
                if len(value) != 2:
                    raise ParamError(self.name, "expected one number or a pair (low, high)", fatal=True)
                return [self._check_range(_as_float(self.name, v)) for v in value]
            return self._check_range(_as_float(self.name, value))
        if kind == "shape":
            if not isinstance(value, (list, tuple)):
                raise ParamError(self.name, f"expected a list of sizes, got {value!r}", fatal=True)
            out = []
            for v in value:
                if v is None and self.optional:
                    out.append(None)
                    continue
                out.append(self._check_range(_as_int(self.name, v)))
            return out
        if kind in ("json", "inner"):
            _check_json(self.name, value)
            return value
        raise ParamError(self.name, f"unknown parameter kind {kind!r}", fatal=True)

    def _check_range(self, v: float) -> Any:
        if abs(v) > SANITY_LIMIT:
            raise ParamError(self.name, f"{v} is absurdly large", fatal=True)
        if self.min is not None and (v < self.min or (self.exclusive_min and v == self.min)):
            op = ">" if self.exclusive_min else ">="
            raise ParamError(self.name, f"must be {op} {_fmt(self.min)} (got {_fmt(v)})")
        if self.max is not None and (v > self.max or (self.exclusive_max and v == self.max)):
            op = "<" if self.exclusive_max else "<="
            raise ParamError(self.name, f"must be {op} {_fmt(self.max)} (got {_fmt(v)})")
        return v

    def to_keras(self, value: Any) -> Any:
        """Convert a checked project value into what the Keras constructor takes."""
        if isinstance(value, list) and self.kind in ("ints", "floats", "shape"):
            return tuple(value)
        if self.kind == "json" and isinstance(value, list):
            return _tuplify(value)
        return value


@dataclass(frozen=True)
class PortSpec:
    name: str
    ranks: tuple[int, ...] | None = None  # accepted ranks including the batch axis
    optional: bool = False
    expects: str = ""  # human description, e.g. "(batch, features)"
    fix: str = ""  # what to insert when the rank is wrong
    #: Ranks Keras takes but that are usually a mistake: a warning where the node feeds other layers
    #: (ConvNeXt's Dense on (h, w, c) is a 1x1 convolution), the error above where it is an output.
    warn_ranks: tuple[int, ...] = ()


@dataclass(frozen=True)
class LayerSpec:
    type: str
    category: str
    help: str
    class_name: str | None  # the Keras class in keras.layers, None for Input
    params: tuple[ParamSpec, ...]
    inputs: tuple[PortSpec, ...]
    variadic: bool = False  # merge layers: input count from the "inputs" param
    call: str = "single"  # single | list | attention | rnn | input
    outputs: tuple[str, ...] = ("output",)
    keywords: tuple[str, ...] = field(default_factory=tuple)

    @property
    def cls(self) -> Any:
        """The Keras class (imports Keras: the catalog itself may come from the disk cache,
        read before Keras has loaded). None for Input."""
        if self.class_name is None:
            return None
        if "keras" not in sys.modules:
            from dlstudio.backend import load_keras

            load_keras()
        import keras

        return getattr(keras.layers, self.class_name)

    def param(self, name: str) -> ParamSpec:
        for p in self.params:
            if p.name == name:
                return p
        raise KeyError(name)

    def param_names(self) -> list[str]:
        return [p.name for p in self.params]

    def defaults(self) -> dict[str, Any]:
        return {p.name: _copy(p.default) for p in self.params}

    def input_ports(self, params: dict[str, Any]) -> tuple[PortSpec, ...]:
        if self.variadic:
            n = params.get("inputs", 2)
            n = n if isinstance(n, int) and 2 <= n <= 64 else 2
            return tuple(PortSpec(f"in{i + 1}", self.inputs[0].ranks) for i in range(n))
        return self.inputs

    def output_ports(self, params: dict[str, Any]) -> tuple[str, ...]:
        if self.call == "rnn" and params.get("return_state"):
            states = ("state_h", "state_c") if self.type == "LSTM" else ("state",)
            return self.outputs + states
        if self.call == "attention" and params.get("return_attention_scores"):
            return self.outputs + ("scores",)
        return self.outputs

    def call_arguments(self, params: dict[str, Any], args: list[Any]) -> tuple[list[Any], dict[str, Any]]:
        """How a node's layer is called: (positional arguments, keywords), from what stands for
        the tensor on each input port (None: unconnected) and the node's call settings. The one
        home of this rule for the model builder, shape inference and the Python export."""
        if self.call == "list":
            pos, kw = [[a for a in args if a is not None]], {}
        elif self.call == "attention":
            pos, kw = [args[0], args[1]], {}
            if len(args) > 2 and args[2] is not None:
                kw["key"] = args[2]
        elif self.call == "rnn" and any(a is not None for a in args[1:]):
            pos, kw = [args[0]], {"initial_state": [a for a in args[1:] if a is not None]}
        else:
            pos, kw = [args[0] if args else None], {}
        for p in self.params:
            if p.call and params.get(p.name, p.default) not in (None, p.default):
                kw[p.name] = params[p.name]
        return pos, kw


def _fmt(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(name, f"expected a whole number, got {value!r}", fatal=True)
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ParamError(name, f"expected a whole number, got {value!r}", fatal=True)
        value = int(value)
    return value


def _as_float(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParamError(name, f"expected a number, got {value!r}", fatal=True)
    if not math.isfinite(value):
        raise ParamError(name, f"expected a finite number, got {value!r}", fatal=True)
    return float(value)


def _without_seeds(value: Any, depth: int = 0) -> Any:
    """A config without its ``seed`` entries (any whole number is a seed), for :func:`_check_json`."""
    if depth > 20:
        return value
    if isinstance(value, dict):
        return {k: _without_seeds(v, depth + 1) for k, v in value.items() if not (k == "seed" and isinstance(v, int))}
    if isinstance(value, (list, tuple)):
        return [_without_seeds(v, depth + 1) for v in value]
    return value


def _check_json(name: str, value: Any, depth: int = 0) -> None:
    if depth > 20:
        raise ParamError(name, "value nested too deeply", fatal=True)
    if value is None or isinstance(value, (bool, str)):
        return
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ParamError(name, f"expected a finite number, got {value!r}", fatal=True)
        if abs(value) > SANITY_LIMIT:
            raise ParamError(name, f"{value} is absurdly large", fatal=True)
        return
    if isinstance(value, (list, tuple)):
        for v in value:
            _check_json(name, v, depth + 1)
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise ParamError(name, "keys must be text", fatal=True)
            _check_json(name, v, depth + 1)
        return
    raise ParamError(name, f"unsupported value {value!r}", fatal=True)


def _tuplify(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_tuplify(v) for v in value)
    return value


def _copy(value: Any) -> Any:
    if isinstance(value, (list, tuple)):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    return value
