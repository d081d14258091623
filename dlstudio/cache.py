"""The folder of DL Studio's disk caches: what can be derived again, kept to start faster.

``$DLSTUDIO_CACHE_DIR`` when set; else ``$XDG_CACHE_HOME/dlstudio`` (``~/.cache/dlstudio``) on
Linux, ``~/Library/Caches/DLStudio`` on macOS and ``%LOCALAPPDATA%\\DLStudio\\cache`` on Windows.
Everything in it may be deleted at any time; a cache that cannot be read or written is derived
again, never an error. Its readers check what they read (a cache is a file like any other).
"""

from __future__ import annotations

import hashlib
import os
import sys
from importlib import metadata
from pathlib import Path


def cache_dir() -> Path:
    """The cache folder (not created here: a writer creates it)."""
    env = os.environ.get("DLSTUDIO_CACHE_DIR")
    if env:
        return Path(env)
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local") / "DLStudio" / "cache"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "DLStudio"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "dlstudio"


def package_version(name: str) -> str:
    """An installed distribution's version without importing it ("" when it is not installed)."""
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return ""


def fingerprint(*parts: str, sources: tuple[Path, ...] = ()) -> str:
    """A short key for a cache from ``parts`` (versions) and the bytes of ``sources`` (the
    modules that derive what is cached: a change to them changes the key)."""
    digest = hashlib.sha256("|".join(parts).encode())
    for source in sources:
        digest.update(source.name.encode())
        try:
            digest.update(source.read_bytes())
        except OSError:  # a frozen app (PyInstaller) has no sources: its version says it all
            digest.update(b"-")
    return digest.hexdigest()[:24]
