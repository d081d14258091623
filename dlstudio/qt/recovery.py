"""Crash recovery: autosave unsaved work to a recovery folder.

While a document has unsaved changes, a :class:`RecoveryManager` writes its
project every ``interval_ms`` to ``config_dir()/recovery/<key>.dlsproj`` (an
atomic write), plus a sidecar ``<key>.json`` with the original path, the time
and the pid of the writing process. A clean save (or ``discard()`` when the
document is closed normally) removes both files.

At start-up, :func:`pending_recoveries` lists the files left by processes that
are no longer running (a crash, a kill, a power cut). Restoring one::

    project = entry.load()                # .path is the original path again
    doc = Document(project)
    doc.undo_stack.resetClean()           # shown as modified
    manager = RecoveryManager(doc)
    manager.adopt(entry)

``adopt`` marks the entry as claimed by this process (so another running
instance does not offer it too) but keeps its files until the restored
document is saved or this session has written its own autosave: a second
crash before that still finds the entry, with the same content.
"""

from __future__ import annotations

import json
import os
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from dlstudio.project import Project, ProjectError, load_project, project_from_json, project_to_json
from dlstudio.atomic import atomic_write_json, atomic_write_text
from dlstudio.qt.notifications import notifications
from dlstudio.qt.settings import config_dir

RECOVERY_FOLDER = "recovery"
DAMAGED_FOLDER = "damaged"
PROJECT_SUFFIX = ".dlsproj"
SIDECAR_SUFFIX = ".json"
SIDECAR_VERSION = 1
#: A recovery file without its sidecar is offered once it is older than this
#: (a live process writes the sidecar right after the project file).
ORPHAN_AGE_S = 60.0


def recovery_dir() -> Path:
    folder = config_dir() / RECOVERY_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    return folder


# ----------------------------------------------------------------- processes
def pid_alive(pid: int | None) -> bool:
    """Whether a process with this id is running (zombies count as dead)."""
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    if pid == os.getpid():
        return True
    if sys.platform == "win32":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    except OSError:
        return False
    try:  # Linux: a zombie has exited already
        with open(f"/proc/{pid}/stat", "rb") as fh:
            state = fh.read().rsplit(b")", 1)[1].split()[0]
        return state not in (b"Z", b"X")
    except (OSError, IndexError):
        return True


def _pid_alive_windows(pid: int) -> bool:  # pragma: no cover - Windows only
    import ctypes
    from ctypes import wintypes

    kernel32 = ctypes.WinDLL("kernel32", use_last_error=True)
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return ctypes.get_last_error() == 5  # access denied: it exists
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)):
            return True
        return code.value == 259  # STILL_ACTIVE
    finally:
        kernel32.CloseHandle(handle)


# ------------------------------------------------------------------- entries
@dataclass
class RecoveryEntry:
    """Unsaved work left behind by a process that did not exit cleanly."""

    key: str
    original_path: Path | None  # None: the project was never saved
    time: datetime  # when it was written
    recovery_path: Path  # the .dlsproj in the recovery folder
    sidecar_path: Path
    pid: int | None = None
    name: str = ""  # the project's name

    @property
    def title(self) -> str:
        if self.original_path is not None:
            return self.original_path.name
        return f"{self.name or 'Untitled'} (never saved)"

    def load(self) -> Project:
        """The recovered project; ``.path`` is the original path (None if
        untitled), so Save writes where the user expects. The caller shows it
        as modified (``document.undo_stack.resetClean()``). Raises ProjectError."""
        project = load_project(self.recovery_path)
        project.path = self.original_path
        return project

    def text(self) -> str:
        return self.recovery_path.read_text(encoding="utf-8")

    def discard(self) -> None:
        """Delete the recovery files (the user declined, or the work is safe)."""
        for p in (self.recovery_path, self.sidecar_path):
            try:
                p.unlink()
            except FileNotFoundError:
                pass

    def exists(self) -> bool:
        return self.recovery_path.is_file()


def _read_sidecar(path: Path) -> dict[str, Any]:
    data = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise ValueError("the sidecar is not a JSON object")
    return data


def _as_pid(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _owner_alive(data: dict[str, Any]) -> bool:
    return pid_alive(_as_pid(data.get("pid"))) or pid_alive(_as_pid(data.get("claimed_by")))


def _move_aside(folder: Path, files: list[Path]) -> Path:
    damaged = folder / DAMAGED_FOLDER
    damaged.mkdir(exist_ok=True)
    for f in files:
        if f.exists():
            try:
                os.replace(f, damaged / f.name)
            except OSError:
                pass
    return damaged


def pending_recoveries(folder: Path | None = None) -> list[RecoveryEntry]:
    """Recovery files whose writer (and whoever restored them) is no longer
    running, newest first.

    Damaged files (an unreadable sidecar, a project that does not load) are
    moved to ``recovery/damaged/`` and reported as a warning notification;
    they never stop the others from being offered.
    """
    folder = folder or recovery_dir()
    if not folder.is_dir():
        return []
    entries: list[RecoveryEntry] = []
    damaged: list[str] = []
    now = time.time()
    for project_file in sorted(folder.glob(f"*{PROJECT_SUFFIX}")):
        key = project_file.name[: -len(PROJECT_SUFFIX)]
        sidecar = folder / f"{key}{SIDECAR_SUFFIX}"
        try:
            if sidecar.exists():
                data = _read_sidecar(sidecar)
            else:
                if now - project_file.stat().st_mtime < ORPHAN_AGE_S:
                    continue  # its writer may be about to add the sidecar
                data = {}
            if _owner_alive(data):
                continue
            original = data.get("original_path")
            stamp = data.get("timestamp")
            when = (datetime.fromtimestamp(stamp) if isinstance(stamp, (int, float))
                    else datetime.fromtimestamp(project_file.stat().st_mtime))
            text = project_file.read_text(encoding="utf-8")
            project = project_from_json(text, source=project_file.name)
        except FileNotFoundError:
            continue  # discarded meanwhile
        except (OSError, ValueError, ProjectError) as e:
            reason = str(e).strip().splitlines()
            damaged.append(f"{project_file.name}: {' '.join(reason[:3]) or type(e).__name__}")
            _move_aside(folder, [project_file, sidecar])
            continue
        entries.append(RecoveryEntry(
            key=key,
            original_path=Path(original) if isinstance(original, str) and original else None,
            time=when,
            recovery_path=project_file,
            sidecar_path=sidecar,
            pid=_as_pid(data.get("pid")),
            name=str(data.get("name") or project.name),
        ))
    if damaged:
        notifications().notify(
            f"{len(damaged)} damaged recovery file{'s' if len(damaged) != 1 else ''} skipped",
            "warning",
            "These autosaved files could not be read and were moved to "
            f"{folder / DAMAGED_FOLDER}:\n" + "\n".join(damaged))
    entries.sort(key=lambda e: e.time, reverse=True)
    return entries


# ------------------------------------------------------------------- manager
class RecoveryManager(QObject):
    """Autosaves one document while it has unsaved changes.

    ``document`` needs ``.project``, ``.is_modified()`` and a
    ``modified_changed(bool)`` signal (``dlstudio.qt.document.Document``).
    Parented to the document, so it lives as long as the document does.
    """

    written = Signal(object)  # Path of the recovery file
    failed = Signal(str)  # why an autosave could not be written
    discarded = Signal()

    def __init__(self, document: QObject, interval_ms: int = 60_000, *,
                 folder: Path | None = None, pid: int | None = None):
        super().__init__(document)
        self.document = document
        self.key = uuid.uuid4().hex  # stable for the document's lifetime
        self.pid = os.getpid() if pid is None else pid
        self._folder = Path(folder) if folder is not None else recovery_dir()
        self._last_text: str | None = None
        self._last_error: str | None = None
        self._adopted: list[RecoveryEntry] = []
        self._timer = QTimer(self)
        self._timer.setInterval(int(interval_ms))
        self._timer.timeout.connect(self.tick)
        document.modified_changed.connect(self._modified_changed)
        if document.is_modified():
            self._timer.start()

    # ----------------------------------------------------------------- paths
    @property
    def folder(self) -> Path:
        """Fixed when the manager is made (``config_dir()/recovery`` by default)."""
        self._folder.mkdir(parents=True, exist_ok=True)
        return self._folder

    @property
    def recovery_path(self) -> Path:
        return self.folder / f"{self.key}{PROJECT_SUFFIX}"

    @property
    def sidecar_path(self) -> Path:
        return self.folder / f"{self.key}{SIDECAR_SUFFIX}"

    @property
    def interval_ms(self) -> int:
        return self._timer.interval()

    def set_interval(self, ms: int) -> None:
        self._timer.setInterval(int(ms))

    def is_active(self) -> bool:
        """Whether the autosave timer is running."""
        return self._timer.isActive()

    # ---------------------------------------------------------------- events
    def _modified_changed(self, modified: bool) -> None:
        if modified:
            if not self._timer.isActive():
                self._timer.start()
        else:
            # Saved (or undone back to the saved state): the file on disk has it all.
            self.discard()

    def tick(self) -> bool:
        """One autosave step: write if modified and changed since the last
        write. Returns whether something was written."""
        if not self.document.is_modified():
            return False
        return self.write_now()

    def write_now(self) -> bool:
        """Write the recovery file now (unless identical to the last one).

        A project that cannot be written or would not load again keeps the
        previous recovery file, and the problem is reported (once per reason)
        as a warning notification.
        """
        project = self.document.project
        try:
            text = project_to_json(project)
            project_from_json(text, source="autosave")  # never replace a good file by a bad one
        except ProjectError as e:
            self._report("the project cannot be saved as it is", "\n".join(e.problems))
            return False
        except (TypeError, ValueError, RecursionError) as e:
            self._report("the project cannot be written as JSON", f"{type(e).__name__}: {e}")
            return False
        if text == self._last_text and self.recovery_path.exists():
            self._write_sidecar_if_needed()
            return False
        try:
            atomic_write_text(self.recovery_path, text)
            self._write_sidecar()
        except OSError as e:
            self._report("the recovery file cannot be written",
                         f"{self.recovery_path}: {e.strerror or e}", severity="error")
            return False
        self._last_text = text
        self._last_error = None
        # This session's own autosave now holds the restored work.
        for entry in self._adopted:
            entry.discard()
        self._adopted.clear()
        self.written.emit(self.recovery_path)
        return True

    def _sidecar(self) -> dict[str, Any]:
        path = self.document.project.path
        now = time.time()
        return {
            "version": SIDECAR_VERSION,
            "original_path": str(path) if path is not None else None,
            "name": self.document.project.name,
            "timestamp": now,
            "time": datetime.fromtimestamp(now).astimezone().isoformat(timespec="seconds"),
            "pid": self.pid,
        }

    def _write_sidecar(self) -> None:
        atomic_write_json(self.sidecar_path, self._sidecar())

    def _write_sidecar_if_needed(self) -> None:
        """Keep the original path current (e.g. after Save As of another copy)."""
        try:
            data = _read_sidecar(self.sidecar_path)
        except (OSError, ValueError):
            data = {}
        want = self._sidecar()
        if data.get("original_path") != want["original_path"] or data.get("pid") != self.pid:
            try:
                self._write_sidecar()
            except OSError:
                pass

    def _report(self, what: str, details: str, severity: str = "warning") -> None:
        self.failed.emit(f"{what}\n{details}")
        key = f"{what}\n{details}"
        if key == self._last_error:
            return
        self._last_error = key
        keep = " (the previous autosave is kept)" if self.recovery_path.exists() else ""
        notifications().notify(f"Autosave failed: {what}{keep}", severity, details)

    # ------------------------------------------------------------- restoring
    def adopt(self, entry: RecoveryEntry) -> None:
        """Take over a restored entry: it is claimed by this process (no other
        instance offers it) and deleted only once the document is saved or
        this manager has written its own autosave."""
        try:
            data = _read_sidecar(entry.sidecar_path)
        except (OSError, ValueError):
            data = {"original_path": str(entry.original_path) if entry.original_path else None,
                    "timestamp": entry.time.timestamp(), "pid": entry.pid}
        data["claimed_by"] = self.pid
        try:
            atomic_write_json(entry.sidecar_path, data)
        except OSError:
            pass  # unclaimed is still safe: it is only offered twice
        self._adopted.append(entry)
        if self.document.is_modified() and not self._timer.isActive():
            self._timer.start()

    @property
    def adopted(self) -> list[RecoveryEntry]:
        return list(self._adopted)

    # ------------------------------------------------------------- finishing
    def discard(self) -> None:
        """Remove this document's recovery files (after a save, or when it is
        closed without a crash: saved or deliberately not saved)."""
        self._timer.stop()
        for p in (self.recovery_path, self.sidecar_path):
            try:
                p.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                pass
        for entry in self._adopted:
            entry.discard()
        self._adopted.clear()
        self._last_text = None
        self._last_error = None
        self.discarded.emit()

    def stop(self) -> None:
        """Stop autosaving and leave the files as they are."""
        self._timer.stop()
