"""A search (:func:`dlstudio.search.runner.run_search`) on its own thread, reported to the GUI by
a queued signal: the search's events (SearchStarted, TrialStarted, TrialEnded, SearchEnded) and
each trial's epochs (EpochEnd) cross threads as they come; batches are not sent. ``stop()`` stops
the current trial after its batch (its run is "stopped"; the study continues next time)."""

from __future__ import annotations

import threading
import traceback
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot


class SearchThread(QThread):
    def __init__(self, target, parent: QObject | None = None):
        super().__init__(parent)
        self.target = target
        self.setObjectName("dlstudio-search")

    def run(self) -> None:  # the search thread
        self.target()


class SearchWorker(QObject):
    """``event(object)``: a search or epoch event (GUI thread); ``failed(str)``: the search could not
    run (its message); ``done()``: the thread has ended (``result``: the SearchEnded or None)."""

    event = Signal(object)
    failed = Signal(str)
    done = Signal()
    _posted = Signal(object)

    def __init__(self, project: Any, dataset: Any, *, trials: int | None = None, timeout: float | None = None,
                 runs_dir: Any = None, epochs: int | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.project, self.dataset = project, dataset
        self.options = {"trials": trials, "timeout": timeout, "runs_dir": runs_dir, "epochs": epochs}
        self.result: Any = None
        self._stop = threading.Event()
        self._posted.connect(self._relay, Qt.ConnectionType.QueuedConnection)
        self._thread = SearchThread(self._work, self)
        self._thread.finished.connect(self.done, Qt.ConnectionType.QueuedConnection)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = 60_000) -> bool:
        return self._thread.wait(timeout_ms)

    @Slot(object)
    def _relay(self, item: object) -> None:
        if isinstance(item, tuple) and item and item[0] == "failed":
            self.failed.emit(item[1])
        else:
            self.event.emit(item)

    def _work(self) -> None:  # the search thread
        from dlstudio.errors import DLStudioError, user_message
        from dlstudio.search.runner import run_search
        from dlstudio.training.events import EpochEnd

        def train_emit(event: object) -> None:
            if isinstance(event, EpochEnd):
                self._posted.emit(event)

        try:
            dataset = self.dataset() if callable(self.dataset) else self.dataset
            self.result = run_search(self.project, dataset, emit=self._posted.emit, should_stop=self._stop.is_set,
                                     train_emit=train_emit, **self.options)
        except DLStudioError as exc:
            self._posted.emit(("failed", user_message(exc)))
        except Exception as exc:  # noqa: BLE001 - shown in the panel, never lost on a thread
            self._posted.emit(("failed", f"the search failed: {type(exc).__name__}: {exc}\n{traceback.format_exc()}"))
