"""The Text and Forecast docks of sequence models, and what both panels share.

``build_sequence_docks(window)`` adds the two docks (tabs beside Insight on the
right, so the training curves at the bottom stay in view), connects them to
the training panel (its live events; its runs) and gives the training panel
the panels' :class:`~dlstudio.training.sequence_callbacks.SampleSettings`, so
every training of a text or time-series project samples text or forecasts at
its epochs' ends. A dock comes to the front once per training, with the first
sample or forecast.

:class:`RunPicker` lists the project's trained runs (newest first) with a
"live" entry for the training in progress; the panels load a run with
:func:`dlstudio.runs.load_run` on a pool thread.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QWidget

from dlstudio.qt.panels.runs.run_combo import RunsCombo, RunSource

LIVE = "__live__"


class RunPicker(RunsCombo):
    """The live training first (the default), then "Latest run" and the project's runs
    with weights, newest first."""

    picked = Signal(str)  # LIVE or a run id

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("run_picker")
        self.setToolTip("Samples of the training in progress, or of a trained run")
        self.source = RunSource(self, lead=[("Live (the next or running training)", LIVE)], default=0,
                                keep_lead=True)
        self.source.changed.connect(lambda: self.picked.emit(self.current()))

    def current(self) -> str:
        """LIVE or the chosen run's id ("Latest run" resolved)."""
        return self.run_id() or LIVE

    def set_document(self, document: Any) -> None:
        self.source.set_document(document)

    def refresh(self) -> None:
        self.source.refresh()

    def select(self, run_id: str) -> None:
        self.source.refresh()
        if not self.choose(run_id):
            raise KeyError(run_id)


def build_sequence_docks(window: Any) -> None:
    """The Text and Forecast docks of the main window, fed by its training panel.

    They share one tab group under the right-hand panels and stay hidden until
    a project with text or a time series is opened or a training sends its
    first sample, so other projects keep the space."""
    from dlstudio.qt.panels.sequences.forecast_panel import ForecastPanel
    from dlstudio.qt.panels.sequences.text_sample_panel import TextSamplePanel

    window.text_dock = window._dock("Text", "text_samples", Qt.DockWidgetArea.RightDockWidgetArea)
    window.forecast_dock = window._dock("Forecast", "forecast", Qt.DockWidgetArea.RightDockWidgetArea)
    window.text_panel, window.forecast_panel = TextSamplePanel(None), ForecastPanel(None)
    window.text_dock.setWidget(window.text_panel)
    window.forecast_dock.setWidget(window.forecast_panel)
    # window._dock added both below the right-hand tab group (the right area stacks vertically);
    # splitDockWidget would make them tabs of that crowded group instead
    window.tabifyDockWidget(window.text_dock, window.forecast_dock)
    for panel, dock in ((window.text_panel, window.text_dock), (window.forecast_panel, window.forecast_dock)):
        dock.hide()
        follow_training(window.training_panel, panel)
        panel.wants_attention.connect(lambda d=dock: (d.show(), d.raise_()))


def follow_training(training_panel: Any, panel: Any) -> None:
    """Feed ``panel`` (text or forecast) from a training panel: its live events, its running
    state and its saved runs; the text panel's sample settings go into every training."""
    settings = getattr(panel, "settings", None)
    if settings is not None:
        training_panel.sample_settings = settings
    elif training_panel.sample_settings is None:  # forecasts only: default sample settings
        from dlstudio.training.sample_settings import SampleSettings

        training_panel.sample_settings = SampleSettings()
    training_panel.live_event.connect(panel.add_event)
    training_panel.running_changed.connect(panel.set_training)

