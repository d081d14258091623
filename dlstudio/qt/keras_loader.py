"""Load Keras/TensorFlow on a background thread after the window shows.

Anything that needs Keras (the catalog, shape inference) asks ``keras_ready()``
or connects to ``loader().ready``; the window stays responsive meanwhile.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal


class KerasLoader(QObject):
    ready = Signal()
    failed = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._done = threading.Event()
        self._started = False
        self.error: str | None = None

    def start(self) -> None:
        if self._started:
            return
        self._started = True
        threading.Thread(target=self._load, name="keras-loader", daemon=True).start()

    def _load(self) -> None:
        try:
            from dlstudio.backend import load_keras
            from dlstudio.catalog import catalog

            load_keras()
            catalog()
        except Exception as exc:  # reported in the window, never a silent console
            self.error = f"{type(exc).__name__}: {exc}"
            self._done.set()
            self.failed.emit(self.error)
            return
        self._done.set()
        self.ready.emit()

    def is_ready(self) -> bool:
        return self._done.is_set() and self.error is None

    def wait(self, timeout: float | None = None) -> bool:
        """Block until loaded (tests and the CLI-like paths)."""
        self.start()
        return self._done.wait(timeout) and self.error is None


_loader: KerasLoader | None = None


def loader() -> KerasLoader:
    global _loader
    if _loader is None:
        _loader = KerasLoader()
    return _loader


def keras_ready() -> bool:
    return loader().is_ready()
