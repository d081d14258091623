"""Upgrading project files written by older versions of DL Studio.

Every format change adds one function to :data:`MIGRATIONS`, keyed by the
version it upgrades *from*; :func:`migrate` applies them in order until the
document reaches :data:`~dlstudio.project.schema.FORMAT_VERSION`. A migration
takes and returns a plain dict (a copy is passed in; mutating it is fine). It
should be forgiving: when something is not where it expects, it leaves it for
validation to report rather than raising.
"""

from __future__ import annotations

import copy
from typing import Any, Callable

from dlstudio.project.schema import FORMAT_VERSION
from dlstudio.errors import DLStudioError

Migration = Callable[[dict[str, Any]], dict[str, Any]]

#: ``{from_version: function}``; the function upgrades to ``from_version + 1``.
MIGRATIONS: dict[int, Migration] = {}


class MigrationError(DLStudioError, ValueError):
    """A document whose version cannot be read or upgraded."""


def migration(from_version: int) -> Callable[[Migration], Migration]:
    """Register ``fn`` as the upgrade from ``from_version`` to the next version."""

    def register(fn: Migration) -> Migration:
        if from_version in MIGRATIONS:
            raise ValueError(f"a migration from format {from_version} already exists")
        MIGRATIONS[from_version] = fn
        return fn

    return register


def source_version(data: dict[str, Any]) -> int:
    """The ``format_version`` of a document, or MigrationError saying why not."""
    if "format_version" not in data:
        raise MigrationError(
            "format_version: missing; every DL Studio project states its format "
            "version (is this a DL Studio project?)"
        )
    version = data["format_version"]
    if isinstance(version, bool) or not isinstance(version, int):
        raise MigrationError(f"format_version: expected a whole number, got {_short(version)}")
    if version > FORMAT_VERSION:
        raise MigrationError(
            f"this project was saved by a newer DL Studio (format {version}); this "
            f"version reads up to format {FORMAT_VERSION} — update DL Studio"
        )
    if version < min(MIGRATIONS, default=FORMAT_VERSION):
        raise MigrationError(f"format_version: {version} is not a known project format")
    return version


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` upgraded to the current format (``data`` is not changed)."""
    version = source_version(data)
    out = copy.deepcopy(data)
    while version < FORMAT_VERSION:
        fn = MIGRATIONS.get(version)
        if fn is None:
            raise MigrationError(f"no way to upgrade a project from format {version}")
        try:
            out = fn(out)
        except Exception as e:  # a migration should not raise; report it if it does
            raise MigrationError(
                f"could not upgrade the project from format {version}: {e}"
            ) from e
        if not isinstance(out, dict):
            raise MigrationError(f"upgrading from format {version} did not give a document")
        version += 1
        out["format_version"] = version
    return out


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------- v0 -> v1
@migration(0)
def _v0_to_v1(data: dict[str, Any]) -> dict[str, Any]:
    """Format 0 (the pre-release format) to format 1.

    Format 0 kept the layers in a top-level ``"layers"`` list (``config`` for
    the parameters, ``x``/``y`` for the position) and the wiring in
    ``"connections"``, a list of ``[src, dst]`` or ``[src, dst, dst_port]``;
    edges had no ids. ``dataset`` was a bare name and the learning rate was
    called ``lr``.
    """
    out: dict[str, Any] = {}
    for key, value in data.items():
        if key not in ("layers", "connections", "graph"):
            out[key] = value
    if "graph" in data:  # already half-upgraded by hand: trust it
        out["graph"] = data["graph"]
    else:
        out["graph"] = {
            "nodes": _v0_nodes(data.get("layers", [])),
            "edges": _v0_edges(data.get("connections", []), _ids(data.get("layers"))),
        }
    if isinstance(out.get("dataset"), str):
        out["dataset"] = {"name": out["dataset"], "options": {}}
    training = out.get("training")
    if isinstance(training, dict) and "lr" in training and "learning_rate" not in training:
        training = dict(training)
        training["learning_rate"] = training.pop("lr")
        out["training"] = training
    return out


def _v0_nodes(layers: Any) -> Any:
    if not isinstance(layers, list):
        return layers  # validation reports it
    nodes = []
    for layer in layers:
        if not isinstance(layer, dict):
            nodes.append(layer)
            continue
        node = {k: v for k, v in layer.items() if k not in ("config", "x", "y")}
        node["params"] = layer.get("config", {})
        node["pos"] = [layer.get("x", 0.0), layer.get("y", 0.0)]
        nodes.append(node)
    return nodes


def _ids(layers: Any) -> set[Any]:
    if not isinstance(layers, list):
        return set()
    return {layer.get("id") for layer in layers if isinstance(layer, dict) and isinstance(layer.get("id"), str)}


def _v0_edges(connections: Any, taken: set[Any]) -> Any:
    if not isinstance(connections, list):
        return connections
    edges = []
    counter = 0
    for conn in connections:
        if isinstance(conn, list) and len(conn) in (2, 3):
            counter += 1
            while f"e{counter}" in taken:
                counter += 1
            edge = {"id": f"e{counter}", "src": conn[0], "src_port": 0, "dst": conn[1],
                    "dst_port": conn[2] if len(conn) == 3 else 0}
            edges.append(edge)
        else:
            edges.append(conn)  # validation reports it
    return edges
