"""The base of the panels that show a computation on a trained run (Evaluation,
Predict, Autoencoder): the document they follow, the run choice (a RunsCombo fed by a
RunSource), one background job (RunJob) and when to compute: now when the panel is
shown, else when it is next shown. A panel then consists of its computation on a run
and its view of the result:

- ``compute()`` starts the computation for the chosen run (usually ``self.job.request``),
- ``show_result(key, result)`` and ``show_error(message)`` draw what came back,
- ``clear_view(text)`` empties the view when there is no run (or another project).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QTimer, Signal
from PySide6.QtWidgets import QWidget
from shiboken6 import isValid

from dlstudio.qt.panels.runs.run_combo import RunsCombo, RunSource
from dlstudio.qt.panels.runs.run_job import RunJob


class RunPanel(QWidget):
    """``failed(message)`` when a computation fails (the message is also shown)."""

    failed = Signal(str)
    #: What the panel says while its project has no trained run.
    no_run_text = "No trained run yet: train the model (F5); its results show here when the training ends."

    def __init__(self, parent: QWidget | None = None, cache_size: int = 3):
        super().__init__(parent)
        self.document = None
        self._stale = True
        self.job = RunJob(self, cache_size)
        self.job.done.connect(self.show_result)
        self.job.failed.connect(lambda _key, message: (self.show_error(message), self.failed.emit(message)))

    def make_run_choice(self, tooltip: str, **source_options: Any) -> RunsCombo:
        """The panel's run combo box, and ``self.runs`` (a RunSource) behind it."""
        combo = RunsCombo(self)
        combo.setToolTip(tooltip)
        self.runs = RunSource(combo, **source_options)
        self.runs.changed.connect(self._run_changed)
        return combo

    # ------------------------------------------------------------------ document and runs
    def set_document(self, document) -> None:
        """Follow another project: nothing of the last one stays, its runs are read afresh."""
        self.document = document
        self.job.reset()
        self.clear_view(self._empty_text())
        self.runs.set_document(document)

    def refresh_runs(self) -> None:
        """Read the runs again (the choice is kept, or follows the latest run)."""
        self.runs.refresh()

    def run_ids(self) -> list[str]:
        return self.runs.combo.run_ids()

    def set_run(self, run_id: str) -> None:
        """Look at run ``run_id`` (KeyError when the project has no such trained run)."""
        self.runs.refresh()
        if not self.runs.combo.choose(run_id):
            raise KeyError(run_id)
        self.schedule()

    def _run_changed(self) -> None:
        if self.runs.run() is None:
            self.clear_view(self._empty_text())
        self.schedule()

    def _empty_text(self) -> str:
        return self.no_run_text if self.document is not None else "No project."

    # ------------------------------------------------------------------ when to compute
    def schedule(self) -> None:
        """Compute now if the panel is shown, else when it is next shown."""
        if not self.isVisible():
            self._stale = True
            return
        QTimer.singleShot(0, lambda: isValid(self) and self._compute_if_ready())

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale:
            self._stale = False
            self.runs.refresh()
            QTimer.singleShot(0, lambda: isValid(self) and self._compute_if_ready())

    def is_busy(self) -> bool:
        return self.job.is_busy()

    def _compute_if_ready(self) -> None:
        from dlstudio.qt.keras_loader import keras_ready

        if self.document is None or self.runs.run() is None:
            return
        if not keras_ready():
            self.show_status("Keras is loading\u2026")
            QTimer.singleShot(500, lambda: isValid(self) and self.schedule())
            return
        self.compute(self.runs.run())

    # ------------------------------------------------------------------ what a panel provides
    def compute(self, run: Any) -> None:
        """Start the computation for ``run`` (with ``self.job.request``)."""
        raise NotImplementedError(f"{type(self).__name__} must say what it computes for a run")

    def show_result(self, key: Any, result: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say how it shows a result")

    def show_error(self, message: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say how it shows an error")

    def show_status(self, text: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say how it shows a status line")

    def clear_view(self, text: str) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say how it empties its view")
