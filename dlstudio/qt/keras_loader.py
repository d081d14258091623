"""Load Keras/TensorFlow on a background thread after the window shows.

The editor needs only the layer catalog, which comes from the disk cache when this Keras and DL
Studio derived it before (``catalog_ready()``; ``loader().catalog_loaded`` when it comes with
Keras instead): the palette, the inspector and the opened graph with the shapes the shape store
knows do not wait for TensorFlow. What truly needs Keras (new shapes, training, insight) asks
``keras_ready()`` or connects to ``loader().ready``; the window stays responsive meanwhile.
"""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Signal


class KerasLoader(QObject):
    ready = Signal()
    failed = Signal(str)
    #: The catalog is at hand now, having come with Keras (not emitted when the disk cache had it).
    catalog_loaded = Signal()

    def __init__(self) -> None:
        super().__init__()
        self._done = threading.Event()
        self._started = False
        self._catalog_cached: bool | None = None  # None: the disk cache not asked yet
        self.error: str | None = None

    def has_catalog(self) -> bool:
        """The catalog is at hand without waiting (the disk cache had it, or Keras has loaded)."""
        if self._catalog_cached is None:
            from dlstudio.catalog import cached_catalog

            self._catalog_cached = cached_catalog() is not None
        return self._catalog_cached or self.is_ready()

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
        came_now = not self._catalog_cached
        self._done.set()
        if came_now:
            self.catalog_loaded.emit()
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


def catalog_ready() -> bool:
    """The layer catalog can be used now without importing Keras on this thread."""
    return loader().has_catalog()
