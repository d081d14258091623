"""The one resolver of data paths: where a dataset's ``path`` options point, and what may be read there.

A project names its data files relative to its own folder (``data/train.csv`` beside
``digits.dlsproj``), so a relative path is resolved against the project's folder, never the
current directory: the project reads the same file wherever it is started from. Without a
project (``dlstudio data show --option path=...``, an unsaved project) it is relative to the
current directory, as a command-line path is.

Inside a data folder (an image folder's class folders and files) every entry is resolved,
links included, and must stay inside that folder: a class folder linked to ``/usr`` or a file
linked to ``/etc/passwd`` is refused with a message naming the link and where it leads.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dlstudio.data.dataset import DatasetError


def base_folder(project: Any) -> Path | None:
    """The folder a project's relative data paths start from: its file's folder (None when
    it has no file yet)."""
    path = getattr(project, "path", None)
    return Path(path).resolve().parent if path is not None else None


def resolve_data_path(raw: str | os.PathLike, base: str | os.PathLike | None = None) -> Path:
    """``raw`` (``~`` expanded) made absolute against ``base`` (a project's folder) when it is
    relative; against the current directory when there is no ``base``."""
    path = Path(raw).expanduser()
    if not path.is_absolute():
        path = (Path(base) if base is not None else Path.cwd()) / path
    return Path(os.path.normpath(path))


def confined(path: Path, root: Path, label: str) -> Path:
    """``path`` (an entry found inside the data folder ``root``) with its links resolved;
    DatasetError when it leads outside ``root``."""
    real_root = root.resolve()
    try:
        real = path.resolve(strict=True)
    except (OSError, RuntimeError) as exc:  # a dangling link, a link loop
        raise DatasetError(f"{label}: {path.relative_to(root).as_posix()} cannot be followed "
                           f"({getattr(exc, 'strerror', None) or exc})") from None
    if real != real_root and real_root not in real.parents:
        raise DatasetError(f"{label}: {path.relative_to(root).as_posix()} is a link to {real}, outside the data "
                           "folder; DL Studio reads only what is inside it (copy the files in instead)")
    return real
