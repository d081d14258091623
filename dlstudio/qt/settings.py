"""Application settings: one INI file, a config folder, the recent-files list.

``app_settings()`` is the only way the application opens its settings. When the
environment variable ``DLSTUDIO_CONFIG_DIR`` is set, the settings file
(``settings.ini``) and the recovery folder live in that folder instead of the
user's configuration folder; tests point it at ``tmp_path`` so they never touch
the real settings.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QObject, QSettings, Signal

ORGANIZATION = "DLStudio"
APPLICATION = "DL Studio"
CONFIG_DIR_ENV = "DLSTUDIO_CONFIG_DIR"
SETTINGS_FILE = "settings.ini"

RECENT_FILES_KEY = "recent_files"
MAX_RECENT_FILES = 10


def _env_dir() -> Path | None:
    value = os.environ.get(CONFIG_DIR_ENV, "").strip()
    return Path(value).expanduser() if value else None


def app_settings() -> QSettings:
    """The application's settings (INI format).

    A new ``QSettings`` object each call (they are cheap and share one cache
    per file); the environment variable is read each call.
    """
    folder = _env_dir()
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        return QSettings(str(folder / SETTINGS_FILE), QSettings.Format.IniFormat)
    return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope,
                     ORGANIZATION, APPLICATION)


def config_dir() -> Path:
    """The folder holding the settings file (and the ``recovery`` folder).

    ``$DLSTUDIO_CONFIG_DIR`` when set, else the folder of the user's INI
    settings file (``~/.config/DLStudio`` on Linux, ``%APPDATA%\\DLStudio`` on
    Windows). Created if missing.
    """
    folder = _env_dir()
    if folder is None:
        folder = Path(app_settings().fileName()).parent
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def string_list(value: object) -> list[str]:
    """A stored list of strings, whatever shape QSettings hands back
    (INI files turn a one-element list into a plain string)."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, Iterable):
        return [str(v) for v in value if v]
    return []


def _norm(path: str | os.PathLike) -> str:
    """A comparable form of a path (absolute, normalised, case-folded on Windows)."""
    return os.path.normcase(os.path.abspath(os.path.expanduser(os.fspath(path))))


class RecentFiles(QObject):
    """The most recently opened project files, newest first, at most ``max_count``.

    Stored under ``key`` in ``settings`` (default: ``app_settings()``, opened
    anew for each operation so that several windows share one list). Files that
    no longer exist are dropped when the list is read.
    """

    changed = Signal()

    def __init__(self, settings: QSettings | None = None, key: str = RECENT_FILES_KEY,
                 max_count: int = MAX_RECENT_FILES, parent: QObject | None = None):
        super().__init__(parent)
        self._settings = settings
        self.key = key
        self.max_count = max_count

    def _store(self) -> QSettings:
        return self._settings if self._settings is not None else app_settings()

    def _read(self) -> list[str]:
        return string_list(self._store().value(self.key, []))

    def _write(self, paths: list[str]) -> None:
        s = self._store()
        if paths:
            s.setValue(self.key, list(paths))
        else:
            s.remove(self.key)
        s.sync()
        self.changed.emit()

    def paths(self) -> list[Path]:
        """The recent files that still exist, newest first (missing ones are
        removed from the stored list)."""
        stored = self._read()
        kept = [p for p in stored if os.path.isfile(p)][: self.max_count]
        if kept != stored:
            self._write(kept)
        return [Path(p) for p in kept]

    def add(self, path: str | os.PathLike) -> None:
        """Put ``path`` first (moving it if already listed), keeping at most ``max_count``."""
        new = os.path.abspath(os.path.expanduser(os.fspath(path)))
        key = _norm(new)
        rest = [p for p in self._read() if _norm(p) != key]
        self._write([new, *rest][: self.max_count])

    def remove(self, path: str | os.PathLike) -> None:
        key = _norm(path)
        stored = self._read()
        kept = [p for p in stored if _norm(p) != key]
        if kept != stored:
            self._write(kept)

    def clear(self) -> None:
        self._write([])

    def __len__(self) -> int:
        return len(self.paths())


def user_blocks_dir() -> Path:
    """The folder of the user's own blocks (the block library's "My blocks")."""
    return config_dir() / "blocks"
