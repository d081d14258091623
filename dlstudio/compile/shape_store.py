"""What Keras said about layers, kept on disk: the shapes and weights of a layer type with its
settings on inputs of given shapes, or the reason Keras refused it.

Shape inference asks Keras (:mod:`dlstudio.compile.keras_shapes`), which needs TensorFlow
imported; with this store a graph opened again (or an example seen before) has its shapes,
parameters and multiply-adds at once, before Keras has loaded: the editor is usable while
TensorFlow imports. Keyed by the Keras and DL Studio versions and the code that asks Keras, so a
new version starts a new store. At most :data:`LIMIT` entries (the least recently used go); the
file is written whole or not at all, a few seconds after new entries and when the process ends.
A file that cannot be read is ignored (and replaced).
"""

from __future__ import annotations

import atexit
import json
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

from dlstudio.atomic import atomic_write_text
from dlstudio.cache import cache_dir, fingerprint
from dlstudio.catalog.disk import catalog_key
from dlstudio.compile.keras_shapes import LayerResult

LIMIT = 20_000
MAX_BYTES = 64_000_000
FORMAT = 1
#: Seconds between new entries and the write that keeps them.
WRITE_DELAY = 3.0


class KerasRefused(ValueError):
    """Keras refused this layer on these inputs (the reason, as it was shown then)."""


def store_key() -> str:
    """The catalog's key (Keras, its backend, DL Studio, the catalog's modules) and the code that
    asks Keras."""
    here = Path(__file__).resolve().parent
    return fingerprint(f"format {FORMAT}", catalog_key(), sources=(here / "keras_shapes.py", here / "shape_store.py"))


def entry_key(type_name: str, params_json: str, shapes: tuple) -> str:
    return json.dumps([type_name, params_json, [None if s is None else list(s) for s in shapes]],
                      separators=(",", ":"))


def _encode(value: LayerResult | KerasRefused) -> list:
    if isinstance(value, KerasRefused):
        return ["refused", str(value)]
    return ["ok", [list(s) for s in value.output_shapes], [[n, list(s), t] for n, s, t in value.weights]]


def _decode(value: Any) -> LayerResult | KerasRefused:
    if value[0] == "refused" and isinstance(value[1], str):
        return KerasRefused(value[1])
    if value[0] != "ok":
        raise ValueError("an unknown entry")
    shapes = tuple(tuple(None if d is None else int(d) for d in s) for s in value[1])
    weights = tuple((str(n), tuple(int(d) for d in s), bool(t)) for n, s, t in value[2])
    return LayerResult(shapes, weights)


class ShapeStore:
    """A bounded, thread-safe map from :func:`entry_key` to a LayerResult or a KerasRefused,
    read from ``path`` on first use and written back after changes."""

    def __init__(self, path: Path, limit: int = LIMIT) -> None:
        self.path = path
        self.limit = limit
        self._entries: OrderedDict[str, list] | None = None
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one write at a time, the newest copy last
        self._timer: threading.Timer | None = None
        self._dirty = False

    def _load(self) -> OrderedDict[str, list]:
        entries: OrderedDict[str, list] = OrderedDict()
        try:
            if self.path.is_file() and self.path.stat().st_size <= MAX_BYTES:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                if isinstance(data, dict) and data.get("format") == FORMAT and isinstance(data.get("entries"), list):
                    for key, value in data["entries"][-self.limit:]:
                        if isinstance(key, str) and isinstance(value, list) and value:
                            entries[key] = value
        except (OSError, ValueError, TypeError, RecursionError):
            entries.clear()
        return entries

    def _table(self) -> OrderedDict[str, list]:
        if self._entries is None:
            self._entries = self._load()
        return self._entries

    def get(self, key: str) -> LayerResult | KerasRefused | None:
        with self._lock:
            value = self._table().get(key)
            if value is None:
                return None
            self._entries.move_to_end(key)
        try:
            return _decode(value)
        except (ValueError, TypeError, IndexError):
            with self._lock:
                self._entries.pop(key, None)
            return None

    def put(self, key: str, value: LayerResult | KerasRefused) -> None:
        with self._lock:
            table = self._table()
            table[key] = _encode(value)
            table.move_to_end(key)
            while len(table) > self.limit:
                table.popitem(last=False)
            self._dirty = True
            if self._timer is None:
                self._timer = threading.Timer(WRITE_DELAY, self.flush)
                self._timer.daemon = True
                self._timer.start()

    def __len__(self) -> int:
        with self._lock:
            return len(self._table())

    def flush(self) -> bool:
        """Write the entries if they changed; False when the folder cannot be written."""
        with self._write_lock:
            return self._write()

    def _write(self) -> bool:
        with self._lock:  # a copy under the lock; the GUI thread's lookups do not wait for the encoding
            self._timer = None
            if not self._dirty or self._entries is None:
                return True
            entries = list(self._entries.items())
            self._dirty = False
        text = json.dumps({"format": FORMAT, "entries": entries}, separators=(",", ":"))
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, text)
            for old in self.path.parent.glob("shapes-*.json"):
                if old != self.path:
                    old.unlink(missing_ok=True)
        except OSError:
            return False
        return True


_store: ShapeStore | None = None
_store_lock = threading.Lock()


def shape_store() -> ShapeStore:
    """The process's store (in the cache folder of the moment it is first asked for)."""
    global _store
    with _store_lock:
        if _store is None:
            _store = ShapeStore(cache_dir() / f"shapes-{store_key()}.json")
            atexit.register(_store.flush)
        return _store
