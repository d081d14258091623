"""The Forecast panel: history, truth and prediction of a time-series model on one plot.

While a time-series project trains, its
:class:`~dlstudio.training.sequence_callbacks.ForecastProbe` sends a forecast
of the test part at epochs' ends (at most about once a second, and after the
last); with a trained run picked, the panel computes it on a pool thread.
Four curves: the end of the training part (history), the test part (truth),
the one-step-ahead prediction from true windows, and the free-running
forecast that feeds its own predictions back; a dashed line marks where the
test part starts. pyqtgraph is imported when the first forecast is drawn.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from dlstudio.qt.panels.runs.run_job import RunJob
from dlstudio.qt.panels.sequences.sequence_docks import LIVE, RunPicker
from dlstudio.qt.panels.training.training_plots import style_axes
from dlstudio.runs import load_run
from dlstudio.training.events import ForecastFrame
from dlstudio.qt.plot_menu import install_plot_menu

#: (key, legend name, colour, dashed)
CURVES = (("history", "history", "#8a8a8a", False), ("truth", "truth", "#1f77b4", False),
          ("one_step", "one step ahead", "#ff7f0e", False), ("free", "free-running", "#d62728", True))


def _forecast_job(project: Any, run: Any, cache: dict) -> Any:
    """On a pool thread: the run's model and dataset (cached by the caller), then its forecast."""
    from dlstudio.inference.forecast import forecast

    if run.id not in cache:
        cache[run.id] = load_run(project, run, check=False)
    model, dataset = cache[run.id].model, cache[run.id].dataset
    return forecast(model, dataset)


class ForecastPanel(QWidget):
    """History, truth, one-step and free-running forecasts of the live training or a run."""

    wants_attention = Signal()  # the first forecast of a training arrived
    forecast_shown = Signal(object)  # the Forecast drawn

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ForecastPanel")
        self.document = None
        self.plot = None  # made with the first forecast (pyqtgraph off the start-up path)
        self.curves: dict[str, Any] = {}
        self.split_line = None
        self.forecast = None  # the Forecast shown
        self.training = False
        self._attention_given = False
        self._cache: dict = {}  # run id -> its LoadedRun (model and dataset), filled on the pool thread
        self.job = RunJob(self, cache_size=4)
        self.job.done.connect(lambda key, forecast: self.show_forecast(forecast, f"Run {key[0]}"))
        self.job.failed.connect(lambda _key, message: self._set_status(message, error=True))
        top = QHBoxLayout()
        self.runs = RunPicker(self)
        self.runs.picked.connect(self._run_picked)
        top.addWidget(self.runs, 1)
        self.show_free = QCheckBox("Free-running", self)
        self.show_free.setChecked(True)
        self.show_free.setToolTip("The forecast that feeds its own predictions back: errors add up")
        self.show_free.toggled.connect(lambda _on: self._draw())
        top.addWidget(self.show_free)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        self.layout_ = QVBoxLayout(self)
        self.layout_.setContentsMargins(6, 6, 6, 6)
        self.layout_.addLayout(top)
        self.layout_.addWidget(self.status)
        self.layout_.addStretch(1)
        self._set_status("Train a time-series model (sine_series): its forecast of the test part appears here.")
        if document is not None:
            self.set_document(document)

    # ------------------------------------------------------------------ document, runs, training
    def set_document(self, document) -> None:
        self.document = document
        self._cache.clear()
        self.job.reset()
        self.forecast = None
        self._draw()
        self.runs.set_document(document)

    def refresh_runs(self) -> None:
        self.runs.refresh()

    def set_training(self, running: bool) -> None:
        self.training = running
        if running:
            self._attention_given = False

    def add_event(self, event: object) -> None:
        if not isinstance(event, ForecastFrame) or self.runs.current() != LIVE:
            return
        if not self._attention_given:
            self._attention_given = True
            self.wants_attention.emit()
        self.show_forecast(event.forecast, f"Epoch {event.epoch}")

    def _run_picked(self, run_id: str) -> None:
        if run_id == LIVE:
            self._set_status("The forecast of the next training appears here as it trains.")
            return
        if self.document is None:
            return
        run = self.runs.run()
        if self.job.request((run.id, str(run.path)), _forecast_job, self.document.project, run, self._cache):
            self._set_status("Forecasting\u2026")

    # ------------------------------------------------------------------ drawing
    def show_forecast(self, forecast: Any, caption: str) -> None:
        self.forecast = forecast
        self._draw()
        self._set_status(f"{caption}: test MAE one step ahead {forecast.one_step_mae:.4f}, free-running "
                         f"{forecast.free_mae:.4f} over {len(forecast.free)} steps; repeating the last value "
                         f"{forecast.naive_mae:.4f}")
        self.forecast_shown.emit(forecast)

    def _ensure_plot(self) -> None:
        if self.plot is not None:
            return
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(self)
        install_plot_menu(self.plot, "Forecast")
        self.plot.setObjectName("forecast_plot")
        pal = self.palette()
        colors = style_axes(self.plot, pal)
        text = colors["text"]
        self.plot.setBackground(colors["background"])
        self.plot.setLabel("bottom", "time step")
        self.plot.showGrid(x=True, y=True, alpha=0.15)
        self.plot.getViewBox().setDefaultPadding(0.08)  # room above the curves for the legend row
        legend = self.plot.addLegend(offset=(8, 2), labelTextColor=text, colCount=len(CURVES))
        legend.setBrush(pg.mkBrush(QColor(pal.color(QPalette.ColorRole.Base)).darker(102)))
        for key, name, colour, dashed in CURVES:
            pen = pg.mkPen(colour, width=1.6 if key != "history" else 1.2,
                           style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
            curve = self.plot.plot([], [], pen=pen, name=name)
            curve.setClipToView(True)
            curve.setDownsampling(auto=True, method="peak")
            self.curves[key] = curve
        self.split_line = pg.InfiniteLine(angle=90, movable=False,
                                          pen=pg.mkPen(pal.color(QPalette.ColorRole.PlaceholderText),
                                                       style=Qt.PenStyle.DotLine),
                                          label="test part", labelOpts={"position": 0.95, "color": text})
        self.plot.addItem(self.split_line)
        self.layout_.insertWidget(2, self.plot, 1)
        self.layout_.setStretch(3, 0)

    def _draw(self) -> None:
        f = self.forecast
        if f is None:
            for curve in self.curves.values():
                curve.setData([], [])
            return
        self._ensure_plot()
        data = {"history": (f.history_t, f.history), "truth": (f.truth_t, f.truth),
                "one_step": (f.truth_t, f.one_step), "free": (f.free_t, f.free)}
        for key, (t, v) in data.items():
            show = key != "free" or self.show_free.isChecked()
            self.curves[key].setData(np.asarray(t, np.float64), np.asarray(v, np.float64)) if show else \
                self.curves[key].setData([], [])
        self.split_line.setPos(float(f.split_index))

    def _set_status(self, text: str, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet("color: #c62828;" if error else "")
