"""The Text and Forecast docks of sequence models, and what both panels share.

``build_sequence_docks(window)`` adds the two docks (tabs beside Insight on the
right, so the training curves at the bottom stay in view), connects them to
the training panel (its live events; its runs) and gives the training panel
the panels' :class:`~dlstudio.training.sequence_callbacks.SampleSettings`, so
every training of a text or time-series project samples text or forecasts at
its epochs' ends. A dock comes to the front once per training, with the first
sample or forecast.

:class:`RunPicker` lists the project's trained runs (newest first) with a
"live" entry for the training in progress; :func:`load_run` (run on a pool
thread) rebuilds a run's model and dataset.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QWidget

LIVE = "__live__"


def load_run(project: Any, run_id: str) -> tuple[Any, Any, Any]:
    """(run, model, dataset) of a project's run; called on a pool thread."""
    from dlstudio.runs import dataset_for_run, load_run_model
    from dlstudio.runs import find_run

    run = find_run(project, run_id)
    return run, load_run_model(run), dataset_for_run(project, run)


def error_text(exc: BaseException | str) -> str:
    """A message for the panel: known errors as they are, others with their type."""
    known = ("GenerationError", "ForecastError", "EvaluationError", "DatasetError", "FileNotFoundError")
    text = exc if isinstance(exc, str) else (str(exc) if type(exc).__name__ in known
                                             else f"unexpected {type(exc).__name__}: {exc}")
    return text[:1].upper() + text[1:]


class RunPicker(QComboBox):
    """The live training first, then the project's runs with weights, newest first."""

    picked = Signal(str)  # LIVE or a run id

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("run_picker")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.setToolTip("Samples of the training in progress, or of a trained run")
        self.addItem("Live (the next or running training)", LIVE)
        self.currentIndexChanged.connect(lambda _i: self.picked.emit(self.current()))

    def current(self) -> str:
        return self.currentData() or LIVE

    def refresh(self, project_path: Any) -> None:
        from dlstudio.runs import list_runs

        keep = self.current()
        runs = [r for r in list_runs(project_path) if r.weights_path.is_file()][::-1] if project_path else []
        self.blockSignals(True)
        while self.count() > 1:
            self.removeItem(1)
        for r in runs:
            acc = r.metrics.get("test_accuracy", r.metrics.get("test_mae"))
            what = "accuracy" if "test_accuracy" in r.metrics else "MAE"
            label = f"Run {r.id}" + (f" \u00b7 {what} {acc:.3f}" if isinstance(acc, (int, float)) else "")
            self.addItem(label, r.id)
        self.setCurrentIndex(max(self.findData(keep), 0))
        self.blockSignals(False)
        if self.current() != keep:
            self.picked.emit(self.current())

    def select(self, run_id: str) -> None:
        i = self.findData(run_id)
        if i < 0:
            raise KeyError(run_id)
        self.setCurrentIndex(i)


def build_sequence_docks(window: Any) -> None:
    """The Text and Forecast docks of the main window, fed by its training panel.

    They share one tab group under the right-hand panels and stay hidden until
    a project with text or a time series is opened or a training sends its
    first sample, so other projects keep the space."""
    from dlstudio.qt.panels.forecast_panel import ForecastPanel
    from dlstudio.qt.panels.text_sample_panel import TextSamplePanel

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
        panel.document_set.connect(lambda kind, d=dock, k=("text" if panel is window.text_panel else "series"):
                                   d.setVisible(kind == k))


def sequence_kind(document: Any) -> str:
    """"text" (language models, translation), "series" (forecasting) or "" for a document's
    dataset, from the registry's categories (no data is loaded)."""
    from dlstudio.data import DatasetError, get_dataset_spec

    project = getattr(getattr(document, "main", document), "project", None)
    name = getattr(getattr(project, "dataset", None), "name", "") or ""
    try:
        category = get_dataset_spec(name).category if name else ""
    except DatasetError:
        return ""
    if category == "sequences":
        return "series"
    return "text" if name in TEXT_DATASETS else ""


#: Datasets whose models write text or translate (the Text panel); ``reviews`` only classifies.
TEXT_DATASETS = frozenset({"hello", "text_corpus", "text_file", "translation"})


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
    training_panel.run_saved.connect(lambda _path: panel.refresh_runs())
