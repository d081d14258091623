"""The layer catalog kept on disk, so the editor has its palette, settings and checks before
Keras has loaded (importing TensorFlow takes seconds; reading this file, milliseconds).

The catalog is derived from Keras (:func:`dlstudio.catalog.registry.derive_catalog`); this module
writes that result as JSON under :func:`dlstudio.cache.cache_dir` with a key made of the Keras and
DL Studio versions and the source of the modules that derive it, and reads it back only when the
key matches: a new Keras, a new DL Studio or an edited override derives it again. A file that
cannot be read, is damaged or holds something else is ignored (and replaced on the next derive).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from dlstudio import __version__
from dlstudio.atomic import atomic_write_text
from dlstudio.cache import cache_dir, fingerprint, package_version
from dlstudio.catalog.specs import LayerSpec, ParamSpec, PortSpec

#: Larger than any catalog (about 300 KB): a bigger file is not ours.
MAX_BYTES = 8_000_000
FORMAT = 1


def catalog_key() -> str:
    """Changes with Keras (its version and the backend asked for), DL Studio and the modules that
    derive the catalog."""
    here = Path(__file__).resolve().parent
    return fingerprint(f"format {FORMAT}", package_version("keras"), os.environ.get("KERAS_BACKEND", ""), __version__,
                       sources=tuple(here / name for name in ("registry.py", "overrides.py", "specs.py", "disk.py")))


def catalog_file(key: str | None = None) -> Path:
    return cache_dir() / f"catalog-{key or catalog_key()}.json"


def _encode(value: Any) -> Any:
    if isinstance(value, tuple):
        return {"tuple": [_encode(v) for v in value]}
    if isinstance(value, list):
        return [_encode(v) for v in value]
    if isinstance(value, dict):
        return {"dict": {k: _encode(v) for k, v in value.items()}}
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise TypeError(f"cannot keep {type(value).__name__} in the catalog cache")


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"tuple"}:
            return tuple(_decode(v) for v in value["tuple"])
        if set(value) == {"dict"} and isinstance(value["dict"], dict):
            return {k: _decode(v) for k, v in value["dict"].items()}
        raise ValueError("an unknown entry")
    return value


def _fields(obj: Any, nested: tuple[str, ...] = ()) -> dict[str, Any]:
    return {f.name: _encode(getattr(obj, f.name)) for f in dataclasses.fields(obj) if f.name not in nested}


def dumps(specs: dict[str, LayerSpec]) -> str:
    layers = []
    for spec in specs.values():
        entry = _fields(spec, nested=("params", "inputs"))
        entry["params"] = [_fields(p) for p in spec.params]
        entry["inputs"] = [_fields(p) for p in spec.inputs]
        layers.append(entry)
    return json.dumps({"format": FORMAT, "layers": layers}, separators=(",", ":"))


def loads(text: str) -> dict[str, LayerSpec]:
    """The catalog from :func:`dumps`' text; raises (ValueError, TypeError, KeyError) on anything else."""
    data = json.loads(text)
    if not isinstance(data, dict) or data.get("format") != FORMAT or not isinstance(data.get("layers"), list):
        raise ValueError("not a catalog cache")
    out: dict[str, LayerSpec] = {}
    for entry in data["layers"]:
        fields = {k: _decode(v) for k, v in entry.items() if k not in ("params", "inputs")}
        spec = LayerSpec(**fields,
                         params=tuple(ParamSpec(**{k: _decode(v) for k, v in p.items()}) for p in entry["params"]),
                         inputs=tuple(PortSpec(**{k: _decode(v) for k, v in p.items()}) for p in entry["inputs"]))
        if not isinstance(spec.type, str) or spec.type in out:
            raise ValueError("a damaged layer entry")
        out[spec.type] = spec
    if not out:
        raise ValueError("an empty catalog")
    return out


def load() -> dict[str, LayerSpec] | None:
    """The cached catalog of this Keras and DL Studio, or None (none yet, or not usable)."""
    path = catalog_file()
    try:
        if not path.is_file() or path.stat().st_size > MAX_BYTES:
            return None
        return loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError, RecursionError):
        return None


def save(specs: dict[str, LayerSpec]) -> Path | None:
    """Keep a derived catalog (whole or not at all); the caches of other versions go. A folder
    that cannot be written only means no cache: returns None."""
    path = catalog_file()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(path, dumps(specs))
        for old in path.parent.glob("catalog-*.json"):
            if old != path:
                old.unlink(missing_ok=True)
    except (OSError, TypeError):  # TypeError: a value JSON cannot keep (the equality test catches it)
        return None
    return path
