"""The training panel: Train / Stop / Continue, progress and live plots.

A :class:`~dlstudio.qt.workers.TrainingWorker` runs the engine on its own
thread; its events arrive here on the GUI thread and are only *appended* to
numpy buffers (:class:`Series`). A 50 ms timer redraws whatever changed, so
the plots update at most 20 times a second however fast batches come, and
the curves are created once and fed with ``setData``.

Plots share one x axis in epochs: a batch ``b`` of epoch ``e`` sits at
``e - 1 + (b + 1) / steps_per_epoch``, the per-epoch values at ``e``. So the
raw batch losses line up with the epoch curves, and a continued run (whose
epoch numbers go on from the run it continues) extends the same curves.

The buffers and the redraw are :class:`TrainingCurves` (training_curves.py), the progress
line and messages :class:`TrainingStatus` (training_status.py): mixins of the panel.
"""

from __future__ import annotations

import dataclasses
import html
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QEvent, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QApplication,
    QFrame,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QStyle,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.keras_loader import keras_ready
from dlstudio.qt.panels.training.training_curves import TrainingCurves
from dlstudio.qt.panels.training.training_plots import ProgressLine, Series, TrainingPlots
from dlstudio.qt.panels.training.training_status import TrainingStatus
from dlstudio.training.events import BatchEnd, EpochEnd, Failed, Finished, Started
from dlstudio.qt.signals import rebind

REDRAW_MS = 50  # at most 20 redraws a second
EMA_BETA = 0.9  # smoothing of the batch loss (debiased, as TensorBoard does)

_live_workers: set = set()  # workers whose thread still runs after their panel went away


# -------------------------------------------------------------------- panel
def _muted(label: QLabel) -> QLabel:
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


class TrainingPanel(TrainingCurves, TrainingStatus, QWidget):
    """Trains the open document's graph on its dataset, live.

    Public API: ``set_document``, ``train()``, ``continue_training(run_path=None)``,
    ``stop()``, ``is_running()``, ``stop_and_wait(timeout_ms)``; the data behind
    the plots in ``series`` (``batch_raw``, ``batch_smooth``, ``lr`` and
    ``NAME`` / ``val_NAME`` per metric); ``plots`` (:class:`TrainingPlots`);
    ``last_finished`` / ``last_failed`` (the final event) and ``result`` (the
    engine's TrainResult, with the trained model).

    ``save_handler`` (set by the main window) saves an untitled project before
    training so its runs go beside it; without it, or when the user declines,
    runs go to a folder under the config dir, and the panel says so.
    """

    running_changed = Signal(bool)
    training_finished = Signal(object)  # Finished
    training_failed = Signal(object)  # Failed
    run_started = Signal(str)  # the new run folder, once the engine created it
    run_saved = Signal(str)  # the run folder, after Finished or Failed
    settings_requested = Signal()
    live_event = Signal(object)  # BoundaryFrame, GradientFlow or WeightsSnapshot of the running training
    sample_settings = None  # training.sequence_callbacks.SampleSettings while a text/forecast panel follows

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("TrainingPanel")
        self.document = None
        self.worker = None
        self.save_handler: Callable[[], bool] | None = None
        self.series: dict[str, Series] = {}
        self.last_finished: Finished | None = None
        self.last_failed: Failed | None = None
        self.result: Any = None
        self.run_path: Path | None = None  # the run the plots show
        self._runs_temporary = False
        self._dirty = False
        self._running = False
        self._can_continue = False
        self._weights_wanted = threading.Event()  # read by the training thread at each epoch's end
        self._weights_wanting: set[str] = set()  # who asked for them (set_weights_wanted)
        self._reset_state()

        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._tick)
        app = QApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self._about_to_quit)
        self.set_document(document)

    # ------------------------------------------------------------- building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 6)
        outer.setSpacing(6)

        bar = QHBoxLayout()
        bar.setSpacing(6)
        style = self.style()
        self.train_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaPlay), "Train")
        self.train_button.setObjectName("train_button")
        self.train_button.setToolTip("Train the model from scratch on the project's dataset (F5)")
        self.stop_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaStop), "Stop")
        self.stop_button.setObjectName("stop_button")
        self.stop_button.setToolTip("Stop after the current batch; the run is saved with its weights")
        self.continue_button = QPushButton(style.standardIcon(QStyle.StandardPixmap.SP_MediaSeekForward),
                                           "Continue")
        self.continue_button.setObjectName("continue_button")
        self.continue_button.setToolTip("Train more epochs, starting from the last run's weights")
        self.train_button.clicked.connect(lambda: self.train())
        self.stop_button.clicked.connect(self.stop)
        self.continue_button.clicked.connect(lambda: self.continue_training())
        for b in (self.train_button, self.stop_button, self.continue_button):
            bar.addWidget(b)
        bar.addSpacing(8)
        self.summary_label = _muted(QLabel(self))
        self.summary_label.setObjectName("settings_summary")
        self.summary_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        bar.addWidget(self.summary_label, 1)
        from dlstudio.qt.panels.training.live_views import (
            LiveViewsButton,  # Qt only: no pyqtgraph
        )

        self.live_button = LiveViewsButton(self)
        self.act_boundary, self.act_gradients = self.live_button.boundary, self.live_button.gradients
        bar.addWidget(self.live_button)
        self.settings_button = QToolButton(self)
        self.settings_button.setText("Settings…")
        self.settings_button.setAutoRaise(True)
        self.settings_button.setToolTip("Edit the training settings")
        self.settings_button.clicked.connect(self.settings_requested)
        bar.addWidget(self.settings_button)
        outer.addLayout(bar)

        row = QHBoxLayout()  # one row: run progress, epoch progress, time and speed
        row.setSpacing(8)
        self.run_label = QLabel("Run", self)
        self.run_progress = ProgressLine(self)
        self.run_progress.setObjectName("run_progress")
        self.epoch_label = QLabel("Epoch", self)
        self.epoch_progress = ProgressLine(self)
        self.epoch_progress.setObjectName("epoch_progress")
        fm = self.fontMetrics()
        self.run_label.setFixedWidth(fm.horizontalAdvance("Epoch 88888 of 88888") + 4)
        self.epoch_label.setFixedWidth(fm.horizontalAdvance("Batch 88888 of 88888") + 4)
        self.run_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.epoch_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.time_label = QLabel(self)
        self.time_label.setObjectName("time_label")
        self.speed_label = QLabel(self)
        self.speed_label.setObjectName("speed_label")
        self.time_label.setFixedWidth(fm.horizontalAdvance("8:88:88 elapsed · 8:88:88 left") + 6)
        self.speed_label.setFixedWidth(fm.horizontalAdvance("888,888 samples/s") + 6)
        for lab in (self.speed_label, self.time_label):
            lab.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        _muted(self.run_label)
        _muted(self.epoch_label)
        row.addWidget(self.run_label)
        row.addWidget(self.run_progress, 3)
        row.addWidget(self.epoch_label)
        row.addWidget(self.epoch_progress, 2)
        row.addWidget(self.time_label)
        row.addWidget(self.speed_label)
        outer.addLayout(row)

        # Two one-line labels of fixed height: what happens, and the latest metrics. Their
        # text changes never re-lay out the panel (which would repaint every plot).
        self.message = self._line_label("training_message")  # status, then the outcome
        self.message.linkActivated.connect(self._link)
        self.metrics_label = self._line_label("metrics_label")  # last epoch, then the final metrics
        outer.addWidget(self.message)
        outer.addWidget(self.metrics_label)

        self.error_box = QFrame(self)
        self.error_box.setObjectName("training_error")
        self.error_box.setFrameShape(QFrame.Shape.NoFrame)
        err = QVBoxLayout(self.error_box)
        err.setContentsMargins(10, 6, 10, 6)
        err.setSpacing(2)
        self.error_label = QLabel(self.error_box)
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.RichText)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        err.addWidget(self.error_label)
        self.error_box.hide()
        outer.addWidget(self.error_box)

        self.stack = QStackedWidget(self)
        self.hint = _muted(QLabel(self))
        self.hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.hint.setWordWrap(True)
        self.hint.setContentsMargins(20, 20, 20, 20)
        self.stack.addWidget(self.hint)
        self._plots: TrainingPlots | None = None  # made when first needed
        outer.addWidget(self.stack, 1)
        self._update_buttons()
        self._style_error_box()

    def live_options(self):
        """The live views the next training feeds (a ``training.live.LiveOptions``)."""
        options = self.live_button.options(weights_wanted=self._weights_wanted.is_set)
        if self.sample_settings is not None:  # the text sample and forecast panels (sequence_docks.py)
            options = dataclasses.replace(options, sequences=self.sample_settings)
        return options

    def set_weights_wanted(self, on: bool, who: str = "insight") -> None:
        """Whether the running (and next) training sends its weights at each epoch's end: while
        anyone (``who``: the Insight panel, the layer previews) wants them."""
        (self._weights_wanting.add if on else self._weights_wanting.discard)(who)
        if self._weights_wanting:
            self._weights_wanted.set()
        else:
            self._weights_wanted.clear()

    def _line_label(self, name: str) -> QLabel:
        label = QLabel(self)
        label.setObjectName(name)
        label.setTextFormat(Qt.TextFormat.RichText)
        label.setWordWrap(False)
        label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        label.setFixedHeight(label.fontMetrics().height() + 4)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                      | Qt.TextInteractionFlag.LinksAccessibleByMouse)
        label.setOpenExternalLinks(False)
        return label

    def sizeHint(self) -> QSize:
        return QSize(900, 340)

    # ------------------------------------------------------------ document
    def set_document(self, document) -> None:
        """Follow another document. A training in progress goes on (it trains
        a copy of the graph it started with) and keeps its plots."""
        rebind(self.document, document, ("settings_changed", self._document_changed),
               ("path_changed", self._path_changed))
        self.document = document
        if not self.is_running():
            self._clear_plots()
            self.stack.setCurrentWidget(self.hint)
            self.message.clear()
            self.metrics_label.clear()
            self.error_box.hide()
            self._reset_progress()
        self._document_changed()
        self.refresh_runs()

    def _path_changed(self, *_args) -> None:
        self._document_changed()
        self.refresh_runs()

    def _document_changed(self, *_args) -> None:
        from dlstudio.qt.panels.training.training_settings import settings_summary

        doc = self.document
        if doc is None:
            self.summary_label.setText("")
            self.hint.setText("No project open.")
        else:
            s = doc.project.training
            dataset = doc.project.dataset.name
            self.summary_label.setText(f"{dataset} · {settings_summary(s)}")
            self.summary_label.setToolTip(self.summary_label.text())
            self.hint.setText(
                f"<p><b>Train</b> (F5) fits the model on <b>{html.escape(dataset)}</b> for {s.epochs} "
                f"epoch{'s' if s.epochs != 1 else ''} on a background thread; you can keep editing.</p>"
                "<p>The loss per batch and per epoch, every metric for training and validation, and the "
                "learning rate are plotted here as they come. <b>Continue</b> trains more epochs from the "
                "last run's weights.</p>")

    # ---------------------------------------------------------------- state
    def _reset_state(self) -> None:
        self._epochs = 0
        self._steps_per_epoch = 1
        self._epoch = 0
        self._batch = -1
        self._first_epoch = None  # epoch number of the first batch of this training
        self._batches_seen = 0
        self._t_start = 0.0
        self._t_first_batch = None
        self._epoch_seconds: list[float] = []
        self._epoch_speeds: list[float] = []
        self._speed_window: list[tuple[float, int]] = []
        self._batch_size = 32
        self._ema = 0.0
        self._ema_n = 0
        self._stopping = False
        self._starting_run: str | None = None

    def is_running(self) -> bool:
        """A training was started and its thread has not reported ``done`` yet."""
        return self._running

    def continue_source(self):
        """The run Continue starts from: the run shown (if it can be continued),
        else the project's newest finished or stopped run with weights; or None."""
        if self.document is None:
            return None
        from dlstudio.runs import RunError, open_run

        def usable(run) -> bool:
            return run.trained and run.status in ("finished", "stopped")

        try:
            if self.run_path is not None:
                try:
                    run = open_run(self.run_path)
                    if usable(run):
                        return run
                except RunError:
                    pass
            runs = [r for r in self.document.runs.runs(kind="model") if usable(r)]
        except OSError:
            return None
        return runs[-1] if runs else None

    def refresh_runs(self) -> None:
        """Look at the runs folder again (after runs were added or deleted elsewhere)."""
        self._can_continue = self.continue_source() is not None
        self._update_buttons()

    def _update_buttons(self) -> None:
        running = self.is_running()
        ready = self.document is not None
        self.train_button.setEnabled(ready and not running)
        self.stop_button.setEnabled(running and not self._stopping)
        self.continue_button.setEnabled(ready and not running and self._can_continue)

    # ------------------------------------------------------------ actions
    def train(self) -> bool:
        """Train from scratch; False when it did not start (the panel says why)."""
        return self._start(None)

    def continue_training(self, run_path: str | Path | None = None) -> bool:
        """Train ``settings.epochs`` more epochs from a run's weights (default: the last run)."""
        if run_path is None:
            run = self.continue_source()
            if run is None:
                self._show_error(Failed("there is no run to continue yet: press Train first"))
                return False
            run_path = run.path
        return self._start(Path(run_path))

    def stop(self) -> None:
        """Stop after the current batch; the run is saved with status "stopped"."""
        if self.worker is None or not self.is_running():
            return
        self.worker.stop()
        self._stopping = True
        self._set_message("Stopping after this batch…")
        self._update_buttons()

    def stop_and_wait(self, timeout_ms: int = 60_000) -> bool:
        """Stop and block until the training thread ended (closing the window)."""
        if self.worker is None:
            return True
        self.stop()
        ok = self.worker.wait(timeout_ms)
        if ok:  # deliver the last events (Finished) while the panel still exists
            QApplication.sendPostedEvents(self.worker)
        return ok

    def _about_to_quit(self) -> None:
        for worker in list(_live_workers):
            if worker.is_running():
                worker.stop_and_wait(60_000)

    def _precheck(self) -> Failed | None:
        if self.document is None:
            return Failed("no project is open")
        if not keras_ready():
            return Failed("Keras is still loading; try again in a moment")
        pending = getattr(self.document, "_timer", None)
        analysis = self.document.analysis
        if analysis is None or (pending is not None and pending.isActive()):
            analysis = self.document.analyze_now()  # only when the last edit is not analysed yet
        if analysis is not None and analysis.errors:
            return Failed("the graph has problems, so training did not start",
                          tuple(str(p) for p in analysis.errors))
        if analysis is not None and not self.document.graph.nodes:
            return Failed("the graph is empty: add an Input and some layers first")
        return None

    def _ask_where_runs_go(self) -> bool:
        """For an untitled project: save it first, or train with runs under the config dir."""
        if self.document.path is not None:
            return True
        base = self.document.runs.folder
        if self.save_handler is None:
            return True
        answer = QMessageBox.question(
            self, "Save the project first?",
            f"“{self.document.title}” has not been saved yet. Runs (weights, history, metrics) are kept "
            "beside the project file.\n\n"
            "Yes: save the project now, then train.\n"
            f"No: train without saving; the runs go to {base}.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No | QMessageBox.StandardButton.Cancel,
            QMessageBox.StandardButton.Yes)
        if answer == QMessageBox.StandardButton.Yes:
            return bool(self.save_handler())
        return answer == QMessageBox.StandardButton.No

    def _start(self, start_from: Path | None) -> bool:
        if self.is_running():
            return False
        problem = self._precheck()
        if problem is not None:
            self._show_error(problem)
            self._notify_failed(problem)
            return False
        if not self._ask_where_runs_go():
            self._set_message("Training not started.")
            return False
        from dlstudio.qt.workers import TrainingWorker

        doc = self.document
        self._document_changed()  # the summary shows the settings this run uses
        store = doc.runs
        base = store.folder
        self._runs_temporary = not store.saved
        continuing_shown = start_from is not None and self.run_path is not None and \
            Path(start_from) == self.run_path and len(self.series.get("loss", ())) > 0
        if not continuing_shown:
            self._clear_plots()
            if start_from is not None:
                self._prefill_from(Path(start_from))
        self.last_finished = self.last_failed = None
        self.result = None
        self.error_box.hide()
        self.metrics_label.clear()
        self._reset_state()
        self._batch_size = doc.project.training.batch_size
        self._t_start = time.perf_counter()
        self._starting_run = Path(start_from).name if start_from else None
        info = {"project": str(doc.path) if doc.path else None, "project_name": doc.project.name}
        from dlstudio.data.paths import base_folder

        worker = TrainingWorker(doc.graph, doc.project.dataset, doc.project.training, run_base=base,
                                run_info=info, start_from=start_from, live=self.live_options(),
                                data_base=base_folder(doc.project))
        worker.document = doc  # the project this training belongs to
        worker.events.connect(self._on_events)
        worker.done.connect(lambda w=worker: self._worker_done(w))
        worker.done.connect(lambda w=worker: _live_workers.discard(w))
        self.worker = worker  # the previous one (its thread ended) is released here
        _live_workers.add(worker)  # kept alive until its thread ends, even without the panel
        self._running = True
        where = (f"runs go to <i>{html.escape(str(base))}</i> (the project is not saved)" if not store.saved
                 else f"runs are saved in <i>{html.escape(base.name)}</i> beside the project")
        what = f"Continuing from run {html.escape(start_from.name)}" if start_from else "Loading the dataset"
        self._set_message(f"{what}… {where}.")
        from dlstudio.qt.panels.training.live_views import graph_takes_points

        self.stack.setCurrentWidget(self.plots.parentWidget())  # the curves, with the live views beside them
        self._plots_page.start(self.act_boundary.isChecked() and graph_takes_points(doc.graph),
                               self.act_gradients.isChecked())
        self._reset_progress()
        worker.start()
        self._timer.start()
        self._update_buttons()
        self.running_changed.emit(True)
        return True

    # ------------------------------------------------------------- events
    def _on_events(self, bundle: list) -> None:
        for ev in bundle:
            self._on_event(ev)

    def _on_event(self, ev: object) -> None:
        """Runs on the GUI thread for every engine event: append only, redraw later."""
        if isinstance(ev, BatchEnd):
            if self._first_epoch is None:
                self._first_epoch = ev.epoch
                self._t_first_batch = time.perf_counter()
            self._epoch, self._batch = ev.epoch, ev.batch
            self._batches_seen += 1
            x = ev.epoch - 1 + (ev.batch + 1) / self._steps_per_epoch
            loss = ev.loss
            self.series["batch_raw"].append(x, loss)
            if math.isfinite(loss):
                self._ema = EMA_BETA * self._ema + (1 - EMA_BETA) * loss
                self._ema_n += 1
                self.series["batch_smooth"].append(x, self._ema / (1 - EMA_BETA ** self._ema_n))
            self._dirty = True
        elif isinstance(ev, EpochEnd):
            self._epoch, self._epochs = ev.epoch, ev.epochs
            self._batch = self._steps_per_epoch - 1
            for key, value in ev.logs.items():
                if key in ("learning_rate", "lr"):
                    continue
                base = key.removeprefix("val_")
                self._series_for(base)
                self.series[key].append(ev.epoch, value)
            self.series["lr"].append(ev.epoch, ev.learning_rate)
            self._set_metrics(f"Epoch {ev.epoch}", ev.logs)
            self._epoch_seconds.append(ev.seconds)
            self._epoch_speeds.append(ev.samples_per_second)
            self._dirty = True
        elif isinstance(ev, Started):
            self._epochs = ev.epochs
            self.plots.set_epochs(ev.epochs)
            self._steps_per_epoch = max(1, ev.steps_per_epoch)
            self.run_path = Path(ev.run_path) if ev.run_path else None
            self._set_message(self._running_text(ev))
            if ev.run_path:
                self.run_started.emit(ev.run_path)
                if self.document is not None:
                    self.document.notify_runs_changed()
        elif isinstance(ev, Finished):
            self.last_finished = ev
            if ev.run_path:
                self.run_path = Path(ev.run_path)
            self._finish()
            self._show_finished(ev)
            self.training_finished.emit(ev)
            if ev.run_path:
                self.run_saved.emit(ev.run_path)
        elif isinstance(ev, Failed):
            self.last_failed = ev
            self._finish()
            self._show_error(ev)
            self._notify_failed(ev)
            self.training_failed.emit(ev)
            if self.run_path is not None:
                self.run_saved.emit(str(self.run_path))
        else:  # a live view's event (boundary, gradient flow, weights), for the views and others
            self._plots_page.add(ev)
            self.live_event.emit(ev)

    def _finish(self) -> None:
        self._tick(final=True)
        self._timer.stop()
        if self._plots is not None:
            self._plots_page.finish()

    def _worker_done(self, worker) -> None:
        if worker is not self.worker:
            return
        self.result = worker.result
        if worker.outcome is None:  # the thread ended without a final event
            self._finish()
        self._running = False
        self._stopping = False
        self._runs_home(worker)
        self._can_continue = self.continue_source() is not None
        self._update_buttons()
        self.running_changed.emit(False)

    def _runs_home(self, worker) -> None:
        """The training thread has ended: a run trained before the project's first save
        moves to ``NAME.runs/`` now, and the run panels learn of the new run."""
        doc = self.document
        if doc is None or worker.document is not doc:
            return
        moved = {p.name: p for p in doc.adopt_scratch_runs()}
        if self.run_path is not None and self.run_path.name in moved:
            self.run_path = moved[self.run_path.name]
            self._runs_temporary = False
        finished = self.last_finished
        run_id = Path(finished.run_path).name if finished is not None and finished.run_path else None
        doc.notify_runs_changed(run_id)

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) \
                and hasattr(self, "error_box"):
            self._style_error_box()

