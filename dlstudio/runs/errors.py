"""Errors about runs: each says which project or run and what to do."""

from __future__ import annotations

from dlstudio.errors import DLStudioError


class RunError(DLStudioError, ValueError):
    """A run that cannot be found, read or used."""


class NoRunsYet(RunError):
    """The project (or the runs folder asked for) holds no run yet: train first."""


class RunNotFound(RunError):
    """A run reference that names no run, or several."""


class RunIncompatible(RunError):
    """A run that exists but cannot be used as asked: no weights, a graph snapshot that
    no longer builds, a dataset that changed since it trained."""
