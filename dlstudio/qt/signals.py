"""Following the open document: a panel's slots move from the old document's signals
to the new one's in one call."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def rebind(old: Any, new: Any, *connections: tuple[str, Callable]) -> None:
    """For each ``(signal name, slot)``: disconnect ``slot`` from ``old``'s signal (if
    connected, and ``old`` still alive) and connect it to ``new``'s (when ``new`` is set)."""
    for name, slot in connections:
        if old is not None:
            try:
                getattr(old, name).disconnect(slot)
            except (RuntimeError, TypeError, ValueError):  # not connected, or already deleted
                pass
        if new is not None:
            getattr(new, name).connect(slot)
