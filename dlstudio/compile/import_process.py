"""Importing an untrusted model file in a child process, with a time and a memory limit.

HDF5 can loop for ever on a few flipped bits (the C library ignores Ctrl+C while it reads),
and a small ``.keras`` file can describe layers whose weights take gigabytes. So the command
line and the app never read a model file in their own process: first cheap checks that read
no HDF5 (a regular file, its size, a ``.keras`` archive's members and their unpacked size),
then :func:`dlstudio.compile.importer.import_model_file` runs in a child process
(``python -m dlstudio.compile.import_process``) under a memory limit (the memory this process
may still use) and a time limit (:data:`TIMEOUT_SECONDS`, more for large files). A child that
runs out of either is stopped, and the user reads a ModelImportError that says which.

The child hands back the graph (JSON) and the weights (an ``.npz`` of plain arrays, loaded
with ``allow_pickle=False`` after its headers were checked) through a private folder.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from dlstudio.bounded import (
    CHILD_MEMORY_ENV, LIMITS, LimitError, available_memory, check_archive, fmt_bytes, limit_own_memory,
    regular_file,
)
from dlstudio.compile.model_file import ModelImportError

#: Seconds a child may take for a small file; large files get one more second per 20 MB.
TIMEOUT_SECONDS = 30.0
#: Largest model file imported.
MAX_MODEL_BYTES = 4 * 1024 ** 3
#: A .keras archive's members beyond the config, metadata and weights (assets Keras unpacks to disk).
MAX_ASSET_BYTES = 256 * 1024 ** 2
_KERAS_CORE = {"config.json", "metadata.json", "model.weights.h5", "model.weights.npz"}


def precheck(path: Path) -> int:
    """Checks that read no HDF5: a regular file under :data:`MAX_MODEL_BYTES`; for a zip archive
    (.keras) the member count, the total unpacked size against the limit and the memory
    available, and the assets Keras would unpack. Returns the file's size."""
    name = path.name
    try:
        size = regular_file(path, "model file").st_size
    except FileNotFoundError:
        raise ModelImportError(f"'{path}' does not exist") from None
    except LimitError as exc:
        raise ModelImportError(str(exc)) from None
    except OSError as exc:
        raise ModelImportError(f"cannot read '{name}': {exc.strerror or exc}") from None
    if size > MAX_MODEL_BYTES:
        raise ModelImportError(f"'{name}' is {fmt_bytes(size)}; DL Studio imports model files of at most "
                               f"{fmt_bytes(MAX_MODEL_BYTES)}")
    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                check_archive(archive, f"'{name}'", min(LIMITS.archive_bytes, int(available_memory() * 0.8)))
                assets = sum(i.file_size for i in archive.infolist() if i.filename not in _KERAS_CORE)
        except LimitError as exc:
            raise ModelImportError(str(exc)) from None
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError) as exc:
            raise ModelImportError(f"'{name}' is a damaged .keras file: {exc}") from None
        if assets > MAX_ASSET_BYTES:
            raise ModelImportError(f"'{name}' holds {fmt_bytes(assets)} of assets besides the model; DL Studio "
                                   f"imports at most {fmt_bytes(MAX_ASSET_BYTES)} (catalog layers need none)")
    return size


def import_model_isolated(path: str | os.PathLike, timeout: float | None = None) -> tuple[Any, dict[str, list[Any]]]:
    """Graph and weights of the model in a ``.keras`` or ``.h5`` file, read in a child process
    (see the module's description); ModelImportError for every problem, the limits included."""
    from dlstudio.graph import Graph

    path = Path(path)
    size = precheck(path)
    if getattr(sys, "frozen", False):  # the bundled app has no interpreter to start: read here
        from dlstudio.compile.importer import import_model_file

        return import_model_file(path)
    timeout = timeout if timeout is not None else TIMEOUT_SECONDS + size / (20 * 1024 ** 2)
    # the child's own memory: what this process may still use, but at least what TensorFlow needs to start
    memory = max(int(available_memory() * LIMITS.memory_share), 3 * 1024 ** 3)
    env = dict(os.environ, MALLOC_ARENA_MAX="2", TF_CPP_MIN_LOG_LEVEL="3", **{CHILD_MEMORY_ENV: str(memory)})
    with tempfile.TemporaryDirectory(prefix="dlstudio-import-") as out:
        try:
            done = subprocess.run([sys.executable, "-m", "dlstudio.compile.import_process", str(path.resolve()), out],
                                  capture_output=True, text=True, timeout=timeout, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise ModelImportError(
                f"reading '{path.name}' took more than {timeout:.0f} s and was stopped: the file is damaged "
                "(a damaged HDF5 file can make its reader loop for ever)") from None
        result = _result(Path(out), done, path.name, memory)
        graph = Graph.from_dict(result["graph"])
        weights = _weights(Path(out) / "weights.npz", result["weights"], path.name)
    return graph, weights


def _result(out: Path, done: subprocess.CompletedProcess, name: str, memory: int) -> dict[str, Any]:
    from dlstudio.bounded import load_json

    try:
        result = load_json(out / "result.json", 256 * 1024 ** 2, "import result")
    except (OSError, ValueError):
        result = None
    if isinstance(result, dict) and isinstance(result.get("error"), str):
        raise ModelImportError(result["error"])
    if isinstance(result, dict) and isinstance(result.get("graph"), dict):
        return result
    text = f"{done.stderr}\n{done.stdout}"
    if done.returncode < 0 or "MemoryError" in text or "Cannot allocate memory" in text or "bad_alloc" in text:
        raise ModelImportError(f"reading '{name}' needed more than the {fmt_bytes(memory)} of memory available "
                               "and was stopped: the file describes a model too large for this machine, or is "
                               "damaged")
    last = [ln for ln in text.splitlines() if ln.strip()]
    raise ModelImportError(f"could not read '{name}' (the reader stopped with exit code {done.returncode}"
                           f"{': ' + last[-1][:300] if last else ''})")


def _weights(path: Path, names: dict[str, int], filename: str) -> dict[str, list[Any]]:
    import numpy as np

    from dlstudio.bounded import check_memory, npz_headers

    if not names:
        return {}
    try:
        headers = npz_headers(path, f"the weights read from '{filename}'")
        check_memory(sum(h.nbytes for h in headers.values()), f"the weights of '{filename}'")
        with np.load(path, allow_pickle=False) as arrays:
            return {node: [arrays[f"{node}/{i}"] for i in range(count)] for node, count in names.items()}
    except (LimitError, OSError, ValueError, KeyError) as exc:
        raise ModelImportError(f"could not read the weights of '{filename}': {exc}") from None


def _child(model: str, out: str) -> int:
    """In the child: import, then write result.json (graph or error) and weights.npz (into the
    parent's private temporary folder, which it reads only once the child has ended)."""
    import numpy as np

    out_dir = Path(out)

    def atomic_write_json(path: Path, value: Any) -> None:
        path.write_text(json.dumps(value), encoding="utf-8")

    try:
        from dlstudio.backend import load_keras

        load_keras()
        from dlstudio.compile.importer import import_model_file

        graph, weights = import_model_file(model)
        arrays = {f"{node}/{i}": np.asarray(w) for node, ws in weights.items() for i, w in enumerate(ws)}
        if arrays:
            np.savez(out_dir / "weights.npz", **arrays)
        atomic_write_json(out_dir / "result.json",
                          {"graph": graph.to_dict(), "weights": {n: len(ws) for n, ws in weights.items() if ws}})
    except ModelImportError as exc:
        atomic_write_json(out_dir / "result.json", {"error": str(exc)})
    except MemoryError:
        atomic_write_json(out_dir / "result.json", {"error": f"reading '{Path(model).name}' needed more memory "
                                                             "than is available: the model is too large for this "
                                                             "machine, or the file is damaged"})
    except Exception as exc:  # noqa: BLE001 - anything else a damaged file provokes, as a message
        first = str(exc).splitlines()[0][:300] if str(exc) else ""
        atomic_write_json(out_dir / "result.json",
                          {"error": f"could not read '{Path(model).name}': {type(exc).__name__}: {first}"})
    return 0


if __name__ == "__main__":
    limit_own_memory()  # the parent's limit, set here: a preexec_fn could deadlock in a threaded parent
    sys.exit(_child(sys.argv[1], sys.argv[2]))
