"""The export formats, and writing a file or folder so that a failed export leaves nothing behind.

Every writer produces its result under a temporary name beside the target and
moves it into place only when it is complete, so an export that fails (an
unsupported layer, a full disk, Ctrl+C) never leaves half a model where the
user asked for one.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from dlstudio.errors import DLStudioError
from dlstudio.atomic import fsync_folder, replace_file, write_error


class ExportError(DLStudioError, ValueError):
    """An export that cannot be done; the message says what and why (and names the layer)."""


@dataclass(frozen=True)
class ExportFormat:
    key: str  # the --format value
    title: str  # for menus and messages
    suffix: str  # the file suffix, "" for a folder
    description: str
    folder: bool = False  # the result is a folder, not a file
    needs_run: bool = True  # trained weights are part of the result


FORMATS: dict[str, ExportFormat] = {f.key: f for f in (
    ExportFormat("keras", "Keras model (.keras)", ".keras",
                 "the native Keras format: architecture and trained weights, loadable with "
                 "keras.saving.load_model and importable back into DL Studio"),
    ExportFormat("savedmodel", "TensorFlow SavedModel (folder)", "",
                 "a folder for TensorFlow Serving and tf.saved_model.load (inference only, "
                 "signature 'serve')", folder=True),
    ExportFormat("onnx", "ONNX (.onnx)", ".onnx",
                 "for ONNX Runtime and other ONNX tools (inference only), checked with ONNX Runtime"),
    ExportFormat("tflite", "TensorFlow Lite (.tflite)", ".tflite",
                 "for mobile and embedded devices (LiteRT), checked with the TFLite interpreter"),
    ExportFormat("python", "Python script (.py)", ".py",
                 "a standalone script that rebuilds the model with the Keras functional API, loads "
                 "the same dataset and trains it with the same settings"),
    ExportFormat("png", "Graph picture (.png)", ".png", "the graph as drawn on the canvas", needs_run=False),
    ExportFormat("svg", "Graph picture (.svg)", ".svg", "the graph as a vector drawing", needs_run=False),
)}


def get_format(key: str) -> ExportFormat:
    try:
        return FORMATS[key.lower()]
    except KeyError:
        raise ExportError(f"unknown export format {key!r}; choose one of {', '.join(FORMATS)}") from None


def format_from_path(path: str | os.PathLike) -> ExportFormat | None:
    """The format a path's suffix names (``model.onnx`` -> onnx); None for no or an unknown suffix."""
    suffix = Path(path).suffix.lower()
    for fmt in FORMATS.values():
        if fmt.suffix and fmt.suffix == suffix:
            return fmt
    return None


def default_path(folder: str | os.PathLike, stem: str, fmt: ExportFormat) -> Path:
    """``folder/stem.onnx``; a SavedModel folder is ``folder/stem_savedmodel``."""
    return Path(folder) / (f"{stem}_savedmodel" if fmt.folder else f"{stem}{fmt.suffix}")


def check_target(path: str | os.PathLike, fmt: ExportFormat, force: bool = False) -> Path:
    """The output path, checked before any work is done."""
    path = Path(path)
    if not str(path).strip():
        raise ExportError("no output path given")
    if fmt.folder:
        if path.exists() and not path.is_dir():
            raise ExportError(f"{path} is a file; a SavedModel is a folder: choose another name")
        if path.is_dir() and any(path.iterdir()) and not force:
            raise ExportError(f"{path} already exists and is not empty; use --force to replace it")
    else:
        if path.is_dir():
            raise ExportError(f"{path} is a folder; give a file name ending in {fmt.suffix}")
        if path.exists() and not force:
            raise ExportError(f"{path} already exists; use --force to replace it")
    parent = path.parent
    if not parent.is_dir():
        raise ExportError(f"the folder {parent} does not exist")
    if not os.access(parent, os.W_OK):
        raise ExportError(f"cannot write into {parent} (no permission)")
    return path


@contextlib.contextmanager
def staged(path: Path, folder: bool = False) -> Iterator[Path]:
    """A temporary path beside ``path`` to write to; moved onto ``path`` when the block
    ends normally, removed when it raises."""
    try:
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent))
    except OSError as exc:
        raise write_error(path, exc) from None
    tmp = tmp_dir / (path.name if not folder else "export")
    try:
        yield tmp
        if not tmp.exists():
            raise ExportError(f"the exporter wrote nothing to {path}")
        if folder:
            old = None
            if path.exists():
                old = path.with_name(f".{path.name}.old-{os.getpid()}")
                os.replace(path, old)
            os.replace(tmp, path)
            fsync_folder(path.parent)
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        else:  # the one writer's last step: fsync, the old file's mode, rename, folder fsync
            replace_file(tmp, path, new_mode=stat.S_IMODE(tmp.stat().st_mode))
    except OSError as exc:
        raise write_error(path, exc) from None
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
