"""The one writer of DL Studio's files: a crash never leaves a file half-written.

Every file DL Studio writes (a project, each file of a run folder: run.json, history,
weights, optimizer state, samples; an export) goes through here. The bytes go to a
temporary file in the target's own folder, which is flushed and fsynced, given the
permissions of the file it replaces (a new file gets what the umask allows, never
``mkstemp``'s private 0600), and renamed over the target in one step; then the folder is
fsynced, so that the rename survives a power cut too. Until the rename the old file is
intact, after it the new one is complete, and a kill in between leaves at worst a hidden
``.tmp-*`` file beside it. Writers that want a file name (Keras ``save_weights``,
``numpy.savez``, Pillow) write to the name :func:`atomic_path` yields.

A write that fails (a full disk, no permission, a read-only or pseudo file system) raises
:class:`WriteError`, a DLStudioError and an OSError whose message names the file, and
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import secrets
import stat
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from dlstudio.errors import DLStudioError

#: Prefix of the temporary files; whatever starts with it is an unfinished write.
TEMP_PREFIX = ".tmp-"


class WriteError(DLStudioError, OSError):
    """A file that could not be written; the message names it and says why."""

    def __str__(self) -> str:
        return self.strerror or super().__str__()


def write_error(path: str | os.PathLike, exc: OSError) -> WriteError:
    """A WriteError for ``path`` from the OSError a write raised (a full disk named as such)."""
    if isinstance(exc, WriteError):
        return exc
    reason = exc.strerror or str(exc) or type(exc).__name__
    if exc.errno == errno.ENOSPC:
        reason = "the disk is full (no space left on the device)"
    elif exc.errno == errno.EDQUOT:
        reason = "the disk quota is exhausted"
    return WriteError(exc.errno or errno.EIO, f"cannot write {path}: {reason}")


def new_file_mode() -> int:
    """The permissions a new file gets here: 0o666 less the process' umask."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a rename inside ``folder`` durable (a no-op where folders cannot be opened)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def fsync_tree(folder: str | os.PathLike) -> None:
    """Flush every file and folder under ``folder`` (a copied tree) to the disk, so that a
    rename that publishes it cannot survive a power cut without its contents."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            if os.path.islink(path):
                continue
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        fsync_folder(root)


def _temp_name(path: Path) -> Path:
    # the target's name stays at the end: writers that check suffixes (.weights.h5, .npz) accept it
    return path.with_name(f"{TEMP_PREFIX}{secrets.token_hex(4)}-{path.name}")


def replace_file(tmp: str | os.PathLike, path: str | os.PathLike, new_mode: int | None = None) -> None:
    """Move the complete file ``tmp`` (in ``path``'s folder) onto ``path`` durably: it gets
    ``path``'s permissions (a new file: ``new_mode``, by default what the umask allows), is
    fsynced, renamed, and the folder fsynced. For writers that stage files themselves
    (:func:`dlstudio.export.formats.staged`)."""
    _settle(Path(tmp), Path(path), fsync_file=True, new_mode=new_mode)


def _settle(tmp: Path, path: Path, *, fsync_file: bool, new_mode: int | None = None) -> None:
    """Give ``tmp`` the permissions of ``path`` (or the umask's), fsync it, rename it over
    ``path`` and fsync the folder."""
    try:
        old = os.stat(path)
    except OSError:
        old = None
    if old is not None and stat.S_ISREG(old.st_mode):
        mode = stat.S_IMODE(old.st_mode)
        with contextlib.suppress(OSError):  # the group too, where we may (a shared project's folder)
            if os.stat(tmp).st_gid != old.st_gid:
                os.chown(tmp, -1, old.st_gid)
    else:
        mode = new_file_mode() if new_mode is None else new_mode
    if not tmp.is_dir():
        os.chmod(tmp, mode)
        if fsync_file:
            fd = os.open(tmp, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    os.replace(tmp, path)
    fsync_folder(path.parent)


def _remove(tmp: Path) -> None:
    with contextlib.suppress(OSError):
        if tmp.is_dir() and not tmp.is_symlink():
            import shutil

            shutil.rmtree(tmp, ignore_errors=True)
        else:
            os.unlink(tmp)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """A temporary name beside ``path`` for a writer that takes a file name; when the block
    ends normally the file is fsynced and renamed onto ``path`` (with ``path``'s permissions),
    when it raises it is removed. An OSError becomes a WriteError naming ``path``."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise write_error(path, exc) from None
    tmp = _temp_name(path)
    try:
        yield tmp
        if not tmp.exists():
            raise WriteError(errno.EIO, f"cannot write {path}: nothing was written")
        _settle(tmp, path, fsync_file=True)
    except OSError as exc:
        _remove(tmp)
        raise write_error(path, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def write_file(path: str | os.PathLike, writer: Callable[[Path], Any]) -> Path:
    """``writer(temporary name)`` made atomic: ``write_file(p, model.save_weights)``."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see the module's description)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = _temp_name(path)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise write_error(path, exc) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        _settle(tmp, path, fsync_file=False)
    except OSError as exc:
        _remove(tmp)
        raise write_error(path, exc) from None
    except BaseException:
        _remove(tmp)
        raise


def atomic_write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically; the old file stays intact until the
    new one is complete."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | os.PathLike, data: Any) -> None:
    """``data`` as indented JSON, written atomically."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def is_temporary(path: str | os.PathLike) -> bool:
    """Whether ``path`` is an unfinished write of this module (left by a kill)."""
    return Path(path).name.startswith(TEMP_PREFIX)
