"""The block library: reusable groups of layers as ``.dlsblock`` files.

Built-in blocks (from the lectures: VGG block, residual blocks, Inception module,
squeeze-and-excitation, Transformer encoder, LSTM encoder) live in ``resources/blocks``;
the user's own in a folder of their data (the GUI passes its config folder's
``blocks``). A block file is JSON::

    {"format": "dlstudio-block", "version": 1, "name": "Residual block",
     "description": "...", "nodes": [...], "edges": [...],
     "params": {"filters": [["n2", "filters"], ["n5", "filters"]]}}

``nodes`` and ``edges`` are written as in a project's graph; ``params`` are the block's
exposed parameters. A file is read with the project loader's own checks (size, JSON,
layer types and settings, ids, edges), so a damaged or hostile file is refused with a
message naming what and where, and written atomically.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlstudio import RESOURCES
from dlstudio.bounded import load_json
from dlstudio.errors import DLStudioError
from dlstudio.atomic import atomic_write_json
from dlstudio.project.io import ProjectError, project_from_dict

SUFFIX = ".dlsblock"
FORMAT = "dlstudio-block"
BUILTIN = RESOURCES / "blocks"
MAX_BYTES = 8 * 1024 * 1024


class BlockFileError(DLStudioError, ValueError):
    """A block file that cannot be used (the message names the file and what is wrong)."""


@dataclass(frozen=True)
class LibraryBlock:
    name: str
    description: str
    fragment: dict[str, Any]  # nodes, edges, params (as block_fragment gives them)
    path: Path
    builtin: bool

    @property
    def key(self) -> str:
        return ("builtin:" if self.builtin else "user:") + self.path.stem


def read_block_file(path: str | Path, builtin: bool = False) -> LibraryBlock:
    """Read and check one block file."""
    path = Path(path)
    try:
        data = load_json(path, MAX_BYTES, "block file")
    except (DLStudioError, ValueError) as exc:  # too big, not JSON, nested too deep
        raise BlockFileError(str(exc)) from None
    except OSError as exc:
        raise BlockFileError(f"Cannot read block file {path}: {exc.strerror or exc}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise BlockFileError(f"{path.name} is not a DL Studio block file (no \"format\": \"{FORMAT}\")")
    if data.get("version") != 1:
        raise BlockFileError(f"{path.name}: block file version {data.get('version')!r} is not supported")
    name = data.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 200:
        raise BlockFileError(f"{path.name}: \"name\" must be a text of 1 to 200 characters")
    description = data.get("description", "")
    if not isinstance(description, str):
        raise BlockFileError(f"{path.name}: \"description\" must be a text")
    members = [n.get("id") for n in data.get("nodes", []) if isinstance(n, dict)]
    document = {"format_version": 1, "name": name, "graph": {
        "nodes": data.get("nodes", []), "edges": data.get("edges", []),
        "blocks": [{"id": "__block__", "name": name, "nodes": members or ["?"], "params": data.get("params", {})}],
    }}
    try:
        project = project_from_dict(document, path.name)
    except ProjectError as exc:
        raise BlockFileError(str(exc).replace("graph.blocks[0].", "").replace("graph.", "")) from None
    if not project.graph.nodes:
        raise BlockFileError(f"{path.name}: the block has no layers")
    [block] = project.graph.blocks
    fragment = project.graph.to_dict()
    fragment.pop("blocks", None)
    fragment["params"] = {k: [list(t) for t in v] for k, v in block.params.items()}
    return LibraryBlock(name.strip(), description, fragment, path, builtin)


def write_block_file(path: str | Path, name: str, description: str, fragment: dict[str, Any]) -> Path:
    """Write a block file whole or not at all."""
    path = Path(path)
    doc = {"format": FORMAT, "version": 1, "name": name, "description": description,
           "nodes": fragment["nodes"], "edges": fragment["edges"], "params": fragment.get("params", {})}
    atomic_write_json(path, doc)
    return path


def library_blocks(user_folder: str | Path | None = None) -> tuple[list[LibraryBlock], list[str]]:
    """The built-in blocks, then the user's (by name); and a message per user file that
    could not be read (it is left where it is)."""
    found = [read_block_file(p, builtin=True) for p in sorted(BUILTIN.glob(f"*{SUFFIX}"))]
    problems: list[str] = []
    if user_folder is not None and Path(user_folder).is_dir():
        own = []
        for p in sorted(Path(user_folder).glob(f"*{SUFFIX}"))[:1000]:
            try:
                own.append(read_block_file(p))
            except BlockFileError as exc:
                problems.append(str(exc))
        found += sorted(own, key=lambda b: b.name.lower())
    return found, problems


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").lower()[:60] or "block"


def save_to_library(user_folder: str | Path, name: str, fragment: dict[str, Any], description: str = "") -> Path:
    """Store a block in the user's library under a file name made from ``name`` (never
    overwriting another block)."""
    folder = Path(user_folder)
    folder.mkdir(parents=True, exist_ok=True)
    stem = _slug(name)
    path = folder / f"{stem}{SUFFIX}"
    i = 2
    while path.exists():
        path = folder / f"{stem}_{i}{SUFFIX}"
        i += 1
    write_block_file(path, name, description, fragment)
    read_block_file(path)  # what was written reads back
    return path


def import_block_file(user_folder: str | Path, path: str | Path) -> LibraryBlock:
    """Check a block file and add a copy of it to the user's library."""
    block = read_block_file(path)
    copy = save_to_library(user_folder, block.name, block.fragment, block.description)
    return read_block_file(copy)


def find_block(key: str, user_folder: str | Path | None = None) -> LibraryBlock:
    """The library block with this key (``builtin:vgg_block``, ``user:my_block``)."""
    kind, _, stem = key.partition(":")
    folder = BUILTIN if kind == "builtin" else Path(user_folder) if user_folder is not None and kind == "user" else None
    if folder is None or not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        raise BlockFileError(f"no block '{key}' in the library")
    path = folder / f"{stem}{SUFFIX}"
    if not path.is_file():
        raise BlockFileError(f"no block '{key}' in the library")
    return read_block_file(path, builtin=kind == "builtin")
