"""Long work on a background thread, reported to the GUI by queued signals.

``TrainingWorker`` runs :func:`dlstudio.training.engine.train` on its own
``QThread``. Everything that touches Keras (importing the engine, loading the
dataset, building and fitting the model) happens on that thread; the GUI
thread only receives the engine's small frozen events.

Events cross threads in exactly one way: the worker thread emits the private
``_posted`` signal, connected with ``Qt.QueuedConnection`` to a slot of this
object, which lives on the GUI thread; that slot re-emits ``events`` (the
list) and ``event`` (each one, and ``finished`` or ``failed``). So every
public signal is emitted on the GUI thread, whatever the connection type its
receivers use, and no widget is ever touched from the worker thread.

Batch events are posted in bundles, at most every ``POST_INTERVAL`` seconds
(every other event at once, with the batches before it). This matters more
than it seems: while the training thread runs Python (Keras' fit loop), each
entry of the GUI thread into Python waits for the GIL, up to the interpreter's
switch interval (5 ms). A queued signal per batch, thousands a second on a
small model, would make the GUI wait that long once per batch; a bundle makes
it wait once.

``stop()`` sets a ``threading.Event`` that the engine's ``should_stop`` reads
after every batch; the engine then ends the epoch early, evaluates, saves the
run with status "stopped" and emits ``Finished(stopped=True)``.
"""

from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from dlstudio.qt.background import gc_paused
from dlstudio.data.dataset import DatasetError
from dlstudio.errors import DLStudioError
from dlstudio.training.events import BatchEnd, BoundaryFrame, Failed, Finished
from dlstudio.training.gradient_events import GradientFlow

#: Events that wait for the next bundle (the per-batch ones); any other is posted at once.
_BUNDLED = (BatchEnd, GradientFlow, BoundaryFrame)

#: ``load()`` -> Dataset, called on the worker thread.
DatasetLoader = Callable[[], Any]

#: Batch events are bundled and posted to the GUI thread at most this often (seconds).
POST_INTERVAL = 0.05
#: While a training runs, Python switches threads at least this often (seconds; default 0.005).
SWITCH_INTERVAL = 0.001
#: Niceness added to the training thread (and the threads it starts) on Linux.
NICE = 10

_switch_lock = threading.Lock()
_switch_users = 0
_switch_saved = 0.005


def _share_gil_more(on: bool) -> None:
    """A shorter switch interval while any training runs: the GUI thread, entering
    Python for a slot or a paint, then waits for the GIL ~1 ms instead of ~5 ms."""
    global _switch_users, _switch_saved
    with _switch_lock:
        if on:
            if _switch_users == 0:
                _switch_saved = sys.getswitchinterval()
                sys.setswitchinterval(min(_switch_saved, SWITCH_INTERVAL))
            _switch_users += 1
        else:
            _switch_users = max(0, _switch_users - 1)
            if _switch_users == 0:
                sys.setswitchinterval(_switch_saved)


def _lower_this_threads_priority() -> None:
    """Let the GUI thread win the CPU over the training: on Linux a thread has
    its own nice value, inherited by the threads it creates (the backend's
    compute pools, when this thread starts them). Elsewhere QThread priorities."""
    if sys.platform.startswith("linux") and hasattr(os, "setpriority"):
        try:
            tid = threading.get_native_id()
            os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + NICE))
        except OSError:
            pass



def failure_message(exc: BaseException, what: str = "training") -> str:
    """One line for a long task that ended with ``exc``: "the dataset could not be loaded:
    ...", "<what> failed: <message>" for our errors, "<what> failed: unexpected <type>:
    ..." for a defect."""
    first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if isinstance(exc, DatasetError):
        return f"the dataset could not be loaded: {first}"
    if isinstance(exc, DLStudioError):
        return f"{what} failed: {first}"
    return f"{what} failed: unexpected {type(exc).__name__}: {first}"


class _Thread(QThread):
    def __init__(self, target: Callable[[], None], name: str, parent: QObject | None = None):
        super().__init__(parent)
        self._target = target
        self.setObjectName(name)

    def run(self) -> None:  # the worker thread
        if not sys.platform.startswith("linux"):
            self.setPriority(QThread.Priority.LowPriority)
        _lower_this_threads_priority()
        _share_gil_more(True)
        gc_paused(True)  # no GUI-thread garbage collection of TF objects during training
        try:
            self._target()
        finally:
            gc_paused(False)
            _share_gil_more(False)


class TrainingWorker(QObject):
    """Trains a graph on a background thread.

    ``graph`` is copied and ``settings`` deep-copied on construction (the
    user may keep editing while the training runs). ``dataset`` is either a
    loaded :class:`~dlstudio.data.Dataset`, a ``DatasetRef`` (name and
    options, loaded with the settings' seed) or a callable returning a
    Dataset; the last two are loaded on the worker thread.

    Signals (all emitted on the GUI thread, in order):

    - ``events(list)``: the events that arrived together, oldest first (use
      this one where events are many: one call per bundle);
    - ``event(object)``: every engine event (Started, BatchEnd, EpochEnd,
      Finished, Failed);
    - ``finished(object)``: the ``Finished`` event, right after its ``event``;
    - ``failed(object)``: a ``Failed`` event (message and problems);
    - ``done()``: the thread has ended; ``result`` holds the TrainResult (or None).
    """

    events = Signal(list)
    event = Signal(object)
    finished = Signal(object)
    failed = Signal(object)
    done = Signal()
    _posted = Signal(list)

    def __init__(self, graph: Any, dataset: Any, settings: Any, *, run_base: str | Path | None = None,
                 run_info: dict[str, Any] | None = None, start_from: str | Path | None = None,
                 resume: str | Path | None = None, live: Any = None, data_base: str | Path | None = None,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.data_base = data_base  # the folder relative data paths start from: the project's (data/paths.py)
        self.live = live  # training.live.LiveOptions: the live views this training feeds (None: none)
        self.graph = graph.copy()
        self.settings = settings.model_copy(deep=True) if hasattr(settings, "model_copy") else dict(settings)
        self.dataset = dataset
        self.run_base = Path(run_base) if run_base is not None else None
        self.run_info = dict(run_info or {})
        self.start_from = Path(start_from) if start_from is not None else None
        self.resume = Path(resume) if resume is not None else None
        self.result: Any = None  # the engine's TrainResult once finished
        self.outcome: Finished | Failed | None = None
        self._stop = threading.Event()
        self._failed_sent = False  # written on the worker thread only
        self._bundle: list = []  # worker thread only: events not posted yet
        self._last_post = 0.0
        self._started = False
        self._posted.connect(self._relay, Qt.ConnectionType.QueuedConnection)
        self._thread = _Thread(self._work, "dlstudio-training", self)
        self._thread.finished.connect(self._thread_finished, Qt.ConnectionType.QueuedConnection)

    # ------------------------------------------------------------ GUI thread
    def start(self) -> None:
        """Start the training thread (once)."""
        if self._started:
            raise RuntimeError("a TrainingWorker runs once; make a new one")
        self._started = True
        self._thread.start()

    def stop(self) -> None:
        """Ask the training to stop after the current batch (thread-safe)."""
        self._stop.set()

    @property
    def stop_requested(self) -> bool:
        return self._stop.is_set()

    def is_running(self) -> bool:
        return self._thread.isRunning()

    def wait(self, timeout_ms: int = -1) -> bool:
        """Block until the thread has ended (True) or ``timeout_ms`` passed (False).

        Queued events still pending are delivered later by the event loop.
        """
        if not self._started:
            return True
        if timeout_ms < 0:
            return self._thread.wait()
        return self._thread.wait(timeout_ms)

    def stop_and_wait(self, timeout_ms: int = 30_000) -> bool:
        self.stop()
        return self.wait(timeout_ms)

    @Slot(list)
    def _relay(self, bundle: list) -> None:
        self.events.emit(bundle)
        for ev in bundle:
            if isinstance(ev, (Finished, Failed)):
                self.outcome = ev
            self.event.emit(ev)
            if isinstance(ev, Finished):
                self.finished.emit(ev)
            elif isinstance(ev, Failed):
                self.failed.emit(ev)

    @Slot()
    def _thread_finished(self) -> None:
        self.done.emit()

    # --------------------------------------------------------- worker thread
    def _emit(self, ev: object) -> None:
        if isinstance(ev, Failed):
            self._failed_sent = True
        self._bundle.append(ev)
        now = time.perf_counter()
        if not isinstance(ev, _BUNDLED) or now - self._last_post >= POST_INTERVAL:
            self._flush(now)

    def _flush(self, now: float | None = None) -> None:
        if self._bundle:
            bundle, self._bundle = self._bundle, []
            self._last_post = time.perf_counter() if now is None else now
            self._posted.emit(bundle)

    def _load_dataset(self) -> Any:
        ds = self.dataset
        if callable(ds) and not hasattr(ds, "x_train"):
            return ds()
        if hasattr(ds, "x_train"):
            return ds
        from dlstudio.data import load_dataset

        seed = int(getattr(self.settings, "seed", 0) if not isinstance(self.settings, dict)
                   else self.settings.get("seed", 0))
        return load_dataset(ds.name, ds.options, seed=seed, base=self.data_base)

    def _live_callbacks(self, dataset: Any) -> list:
        """The callbacks of the live views asked for (boundary, gradient flow, weights)."""
        if self.live is None:
            return []
        from dlstudio.training.live import live_callbacks

        get = self.settings.get if isinstance(self.settings, dict) else lambda k, d: getattr(self.settings, k, d)
        return live_callbacks(dataset, self._emit, self.live, seed=int(get("seed", 0)),
                              batch_size=int(get("batch_size", 32)))

    def _work(self) -> None:
        try:
            self._train()
        finally:
            self._flush()

    def _train(self) -> None:
        try:
            dataset = self._load_dataset()
            if self._stop.is_set():
                self._emit(Finished({}, 0, True))
                return
            from dlstudio.training.engine import TrainingError, train

            try:
                self.result = train(self.graph, dataset, self.settings, emit=self._emit,
                                    should_stop=self._stop.is_set, run_base=self.run_base,
                                    run_info=self.run_info, start_from=self.start_from, resume=self.resume,
                                    callbacks=self._live_callbacks(dataset))
            except TrainingError as exc:
                if not self._failed_sent:  # the engine emits Failed itself in most cases
                    self._emit(Failed(str(exc), tuple(exc.problems)))
        except Exception as exc:  # noqa: BLE001 - reported in the panel, never lost on a thread
            if not self._failed_sent:
                self._emit(Failed(failure_message(exc), (), traceback.format_exc()))
