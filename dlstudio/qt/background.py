"""Run a plain function on Qt's thread pool and get its result back on the GUI
thread as a signal.

A deliberately small alternative to superqt's ``create_worker``: importing
superqt pulls in qtpy, whose start-up asks PySide for every signature (several
seconds on a busy machine), which would put the first window far past its
1.5 s budget.
"""

from __future__ import annotations

import gc
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QThreadPool, Signal

_running: set[BackgroundTask] = set()  # keep tasks alive until their signals are out
_busy = 0
_busy_lock = threading.Lock()


def gc_paused(on: bool) -> None:
    """While a task builds Keras/TensorFlow objects, the GUI thread must not
    garbage-collect TensorFlow objects at the same moment: TensorFlow can
    crash on that race (seen as a segfault in CI). So automatic collection
    pauses while any task runs, and resumes when the last one ends."""
    global _busy
    with _busy_lock:
        _busy += 1 if on else -1
        if on and _busy == 1:
            gc.disable()
        elif not on and _busy == 0:
            gc.enable()


class BackgroundTask(QObject):
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        super().__init__()
        self._call = (fn, args, kwargs)
        self.finished.connect(lambda: _running.discard(self))

    def start(self) -> None:
        _running.add(self)
        QThreadPool.globalInstance().start(self._run)

    def _run(self) -> None:
        fn, args, kwargs = self._call
        gc_paused(True)
        try:
            result = fn(*args, **kwargs)
        except Exception as exc:  # handed to the GUI thread, shown there
            _emit(self.errored, exc)
        else:
            _emit(self.returned, result)
        finally:
            gc_paused(False)
            _emit(self.finished)


def _emit(signal: Any, *args: Any) -> None:
    """Emit from the pool thread; a task whose Qt side was deleted meanwhile (the window closed,
    the application quits) has nobody to tell, and says nothing."""
    try:
        signal.emit(*args)
    except RuntimeError:  # "Signal source has been deleted"
        pass


def create_worker(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> BackgroundTask:
    """A task that calls ``fn(*args, **kwargs)`` on a pool thread once started."""
    return BackgroundTask(fn, *args, **kwargs)
