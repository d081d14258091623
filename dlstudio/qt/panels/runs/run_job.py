"""One background computation at a time for a panel: the newest request wins.

A run panel asks for a result by key (the run, its weights, the input...):
a cached result is delivered at once; otherwise the function runs on a pool thread
(``dlstudio.qt.background``). While one runs, a new request waits (only the newest);
a result whose request was overtaken or reset is dropped. Errors arrive as the text
to show (:func:`dlstudio.errors.user_message`: a DL Studio error as it is, anything
else as "unexpected ...").
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from PySide6.QtCore import QObject, Signal
from shiboken6 import isValid

from dlstudio.errors import sentence, user_message


class RunJob(QObject):
    """``done(key, result)``; ``failed(key, message)``; ``busy_changed(bool)``."""

    done = Signal(object, object)
    failed = Signal(object, str)
    busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, cache_size: int = 3):
        super().__init__(parent)
        self.cache_size = cache_size
        self.cache: dict[Hashable, Any] = {}
        self._token = 0
        self._busy = False
        self._pending: tuple | None = None
        self._worker = None

    def is_busy(self) -> bool:
        return self._busy

    def reset(self) -> None:
        """Forget the cache and drop whatever is running or waiting (another project)."""
        self._token += 1
        self._pending = None
        self.cache.clear()

    def request(self, key: Hashable, fn: Callable[..., Any], *args: Any) -> bool:
        """Compute ``fn(*args)`` for ``key`` (False: the cached result was delivered at once)."""
        if key in self.cache:
            self._token += 1  # a computation still running for an older key is now stale
            self._pending = None
            self.done.emit(key, self.cache[key])
            return False
        if self._busy:
            self._pending = (key, fn, args)
            return True
        self._start(key, fn, args)
        return True

    def _start(self, key: Hashable, fn: Callable[..., Any], args: tuple) -> None:
        from dlstudio.qt.background import create_worker

        self._token += 1
        token = self._token
        self._busy = True
        self.busy_changed.emit(True)
        worker = create_worker(fn, *args)
        worker.returned.connect(lambda r, k=key, t=token: self._returned(t, k, r))
        worker.errored.connect(lambda e, k=key, t=token: self._errored(t, k, e))
        worker.finished.connect(self._finished)
        self._worker = worker
        worker.start()

    def _returned(self, token: int, key: Hashable, result: Any) -> None:
        if not isValid(self) or token != self._token:
            return
        self.cache[key] = result
        while len(self.cache) > self.cache_size:
            self.cache.pop(next(iter(self.cache)))
        self.done.emit(key, result)

    def _errored(self, token: int, key: Hashable, exc: BaseException) -> None:
        if not isValid(self) or token != self._token:
            return
        self.failed.emit(key, sentence(user_message(exc)))

    def _finished(self) -> None:
        if not isValid(self):
            return
        self._busy = False
        self._worker = None
        if self._pending is not None:
            key, fn, args = self._pending
            self._pending = None
            self.request(key, fn, *args)
        if not self._busy:
            self.busy_changed.emit(False)
