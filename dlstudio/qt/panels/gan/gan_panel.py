"""The GAN panel: train a project's generator against its discriminator and watch it.

- Train / Stop / Continue (a :class:`~dlstudio.qt.gan_worker.GanTrainingWorker`
  on its own thread; the panel only receives events);
- the GAN's knobs (latent size, loss, both learning rates, label smoothing, ...);
- live curves: D loss, G loss, D(real), D(fake);
- the samples the generator makes of the *same* fixed noise, refreshed every N
  steps, with a slider to scrub back through the earlier ones (for 2-D data:
  real and generated points plotted together);
- latent interpolation: a row of samples between two noise vectors;
- "Save generator as model…" (.keras).

A project that is not a GAN shows how to get one (the GAN examples).
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gan.events import GanSamples, GanStep
from dlstudio.qt.keras_loader import keras_ready
from dlstudio.qt.panels.gan.gan_views import GanCurves, GanSettingsForm, PictureView
from dlstudio.training.events import EpochEnd, Failed, Finished, Started
from dlstudio.qt.signals import rebind

REDRAW_MS = 50  # at most 20 redraws a second
INTERPOLATION_STEPS = 8
INTERPOLATION_POINTS = 48  # 2-D data: the walk is a trail of points over the real ones

_live_workers: set = set()  # workers whose thread still runs after their panel went away


def _title(text: str, parent: QWidget) -> QLabel:
    label = QLabel(f"<b>{html.escape(text)}</b>", parent)
    return label


class GanPanel(QWidget):
    running_changed = Signal(bool)
    run_saved = Signal(str)  # the run folder, once a training ended

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = None
        self.worker = None
        self.frames: list[tuple[int, Any]] = []  # (step, picture array or PNG path), in step order
        self.last_step: GanStep | None = None
        self.last_outcome: Finished | Failed | None = None
        self.run_path: Path | None = None
        self._generator = None  # the generator of the last training in this session
        self._interp_seed = 0
        self._task = None
        self._steps_per_epoch = 1
        self._running = False
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self.set_document(document)

    # -------------------------------------------------------------- building
    def _build(self) -> None:
        self.stack = QStackedWidget(self)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        outer.addWidget(self.stack)
        self.placeholder = QLabel(
            "<p><b>This project is not a GAN.</b></p><p>A GAN project holds two graphs that compete: a "
            "<i>generator</i> that turns random noise into samples and a <i>discriminator</i> that tells real "
            "from fake. Open one from <b>File ▸ New from Example</b>: <i>dcgan digits</i> (images) or "
            "<i>mlp gan ring</i> (2-D points, as in GAN Lab).</p>", self)
        self.placeholder.setWordWrap(True)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.stack.addWidget(self.placeholder)

        page = QWidget(self)
        lay = QVBoxLayout(page)
        lay.setContentsMargins(0, 0, 0, 0)
        bar = QHBoxLayout()
        self.train_button = QPushButton("Train", page)
        self.train_button.setToolTip("Train the generator against the discriminator from scratch")
        self.stop_button = QPushButton("Stop", page)
        self.stop_button.setToolTip("Stop after this step; the run is saved")
        self.continue_button = QPushButton("Continue", page)
        self.continue_button.setToolTip("Train more epochs from the last run's weights")
        self.save_button = QPushButton("Save generator as model…", page)
        self.save_button.setToolTip("Write the trained generator as its own .keras model")
        for b in (self.train_button, self.stop_button, self.continue_button):
            bar.addWidget(b)
        self.status = QLabel("", page)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        bar.addWidget(self.status, 1)
        bar.addWidget(self.save_button)
        lay.addLayout(bar)
        self.error = QLabel("", page)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #cf222e;")
        self.error.hide()
        lay.addWidget(self.error)

        split = QSplitter(Qt.Orientation.Horizontal, page)
        self.settings = GanSettingsForm(split)
        self.curves = GanCurves(split)
        samples = QWidget(split)
        sl = QVBoxLayout(samples)
        sl.setContentsMargins(4, 0, 4, 0)
        self.samples_title = _title("Samples from fixed noise", samples)
        self.samples_title.setToolTip("The same noise vectors all along: watch the same samples improve")
        sl.addWidget(self.samples_title)
        self.picture = PictureView(samples)
        self.picture.placeholder = "Train to see what the generator makes of the same noise, step by step."
        sl.addWidget(self.picture, 1)
        row = QHBoxLayout()
        self.slider = QSlider(Qt.Orientation.Horizontal, samples)
        self.slider.setToolTip("Scrub back through the samples of earlier steps")
        self.slider.setRange(0, 0)
        self.slider.valueChanged.connect(self._show_frame)
        self.step_label = QLabel("", samples)
        self.step_label.setMinimumWidth(90)
        row.addWidget(self.slider, 1)
        row.addWidget(self.step_label)
        sl.addLayout(row)
        interp = QWidget(split)
        il = QVBoxLayout(interp)
        il.setContentsMargins(4, 0, 0, 0)
        il.addWidget(_title("Latent interpolation", interp))
        self.interp_note = QLabel("A walk from one noise vector to another: smooth changes mean the generator "
                                  "learned a continuous space, not a lookup table.", interp)
        self.interp_note.setWordWrap(True)
        il.addWidget(self.interp_note)
        self.interp_view = PictureView(interp, minimum=80)
        self.interp_view.placeholder = "After training: samples between two noise vectors."
        il.addWidget(self.interp_view, 1)
        self.interp_button = QPushButton("New endpoints", interp)
        self.interp_button.setToolTip("Interpolate between two other noise vectors")
        il.addWidget(self.interp_button)
        for i, (widget, stretch) in enumerate(((self.settings, 0), (self.curves, 4), (samples, 3), (interp, 2))):
            split.addWidget(widget)
            split.setStretchFactor(i, stretch)
            split.setCollapsible(i, False)
        lay.addWidget(split, 1)
        self.stack.addWidget(page)
        self.page = page

        self.train_button.clicked.connect(lambda: self.train())
        self.stop_button.clicked.connect(self.stop)
        self.continue_button.clicked.connect(lambda: self.continue_training())
        self.save_button.clicked.connect(lambda: self.save_generator())
        self.interp_button.clicked.connect(self._new_endpoints)
        self._update_buttons()

    def sizeHint(self) -> QSize:
        return QSize(900, 420)

    # -------------------------------------------------------------- document
    def set_document(self, document) -> None:
        rebind(self.document, document, ("settings_changed", self._setting_changed))
        self.document = document
        self.settings.set_document(document)
        self._reset_views()
        self.run_path = None
        self._generator = None
        is_gan = document is not None and document.project.gan is not None
        self.stack.setCurrentWidget(self.page if is_gan else self.placeholder)
        if is_gan:
            self._set_samples_title()
            self._show_last_run()
        self._update_buttons()

    def _set_samples_title(self) -> None:
        from dlstudio.data.registry import get_dataset_spec

        try:
            points = get_dataset_spec(self.document.project.dataset.name).category == "toy"
        except ValueError:
            points = False
        if points:
            self.samples_title.setText("<b>Real and generated points over D's view</b>")
            self.samples_title.setToolTip("The background is D(x): green where the discriminator says 'real', "
                                          "purple where it says 'fake'. The generator moves its points (the "
                                          "same noise all along) towards green.")
        else:
            self.samples_title.setText("<b>Samples from fixed noise</b>")
            self.samples_title.setToolTip("The same noise vectors all along: watch the same samples improve")

    def _setting_changed(self, name: str) -> None:
        if name != "gan":
            return
        self.settings.load()
        is_gan = self.document is not None and self.document.project.gan is not None
        self.stack.setCurrentWidget(self.page if is_gan else self.placeholder)

    def _reset_views(self) -> None:
        self.frames = []
        self.curves.clear()
        self.picture.set_picture(None)
        self.interp_view.set_picture(None)
        self.slider.setRange(0, 0)
        self.step_label.clear()
        self.status.clear()
        self.error.hide()
        self.last_step = None

    def gan_runs(self) -> list:
        if self.document is None:
            return []
        return self.document.runs.runs(kind="gan")

    def _show_last_run(self) -> None:
        """An opened GAN project shows its last run: curves, sample grids, interpolation."""

        runs = [r for r in self.gan_runs() if (r.path / "generator.weights.h5").is_file()]
        if not runs:
            return
        run = runs[-1]
        self.run_path = run.path
        steps, epochs = self._load_run(run)
        self.status.setText(f"Run {html.escape(run.id)}: {steps:,} steps, {epochs} epochs ({run.status}).")
        if self.isVisible():
            self.curves.ensure_plots()
            self.interpolate()

    def _load_run(self, run) -> tuple[int, int]:
        """Show a run's curves and sample pictures, those of the runs it continued first
        (so the slider goes back to step 0); returns its steps and epochs."""
        from dlstudio.gan.train import saved_samples

        by_id = {r.id: r for r in self.gan_runs()}
        frames: list[tuple[int, Any]] = []
        chain, seen = run, set()
        while chain is not None and chain.id not in seen:
            seen.add(chain.id)
            older = [(step, str(path)) for step, path in saved_samples(chain.path)
                     if not frames or step < frames[0][0]]
            frames = older + frames
            chain = by_id.get(chain.info.get("continued_from"))
        self.frames = frames
        steps, epochs = int(run.info.get("steps_done", 0)), int(run.info.get("epochs_done", 0))
        self._steps_per_epoch = max(1, steps // max(1, epochs))
        self.curves.load_history(run.history(), self._steps_per_epoch)
        self._frames_changed(follow=True)
        return steps, epochs

    # ------------------------------------------------------------- training
    def is_running(self) -> bool:
        """From Train until the worker's thread ended and its last events arrived."""
        return self.worker is not None and self._running

    def train(self) -> bool:
        return self._start(None)

    def continue_training(self, run_path: str | Path | None = None) -> bool:
        if run_path is None:
            runs = self.gan_runs()
            if not runs:
                self._show_error("there is no GAN run to continue yet: press Train first")
                return False
            run_path = runs[-1].path
        return self._start(Path(run_path))

    def _precheck(self) -> str | None:
        if self.document is None or self.document.project.gan is None:
            return "this project is not a GAN"
        if not keras_ready():
            return "Keras is still loading; try again in a moment"
        from dlstudio.gan.project import GanError, gan_pair

        try:
            pair = gan_pair(self.document.project)
        except GanError as exc:
            return str(exc)
        if pair.errors:
            return "the GAN has problems, so training did not start:<br>" + "<br>".join(
                html.escape(str(p)) for p in pair.errors[:6])
        return None

    def _start(self, start_from: Path | None) -> bool:
        if self.is_running():
            return False
        problem = self._precheck()
        if problem is not None:
            self._show_error(problem, escape=False)
            return False
        from dlstudio.qt.gan_worker import GanTrainingWorker
        doc = self.document
        store = doc.runs
        base, temporary = store.folder, not store.saved
        self.frames = []
        self.curves.clear()
        if start_from is not None:  # the story so far, then the new steps after it
            from dlstudio.runs import open_run

            self._load_run(open_run(start_from))
        self.error.hide()
        self.last_outcome = None
        self._generator = None
        info = {"project": str(doc.path) if doc.path else None, "project_name": doc.project.name}
        worker = GanTrainingWorker(doc.project, run_base=base, run_info=info, start_from=start_from)
        worker.document = doc  # the project this training belongs to
        worker.events.connect(self._on_events)
        worker.done.connect(lambda w=worker: self._worker_done(w))
        worker.done.connect(lambda w=worker: _live_workers.discard(w))
        self.worker = worker
        _live_workers.add(worker)
        self._running = True
        where = "runs go to the settings folder (the project is not saved)" if temporary else \
            f"runs are saved in {html.escape(base.name)}"
        self.status.setText(("Continuing…" if start_from else "Loading the dataset…") + f" {where}.")
        self.curves.ensure_plots()
        worker.start()
        self._timer.start()
        self._update_buttons()
        self.running_changed.emit(True)
        return True

    def stop(self) -> None:
        if self.is_running() and self.worker.is_running():
            self.worker.stop()
            self.status.setText("Stopping after this step…")

    def stop_and_wait(self, timeout_ms: int = 60_000) -> bool:
        from PySide6.QtWidgets import QApplication

        if self.worker is None:
            return True
        self.worker.stop()
        ok = self.worker.wait(timeout_ms)
        if ok:
            QApplication.sendPostedEvents(self.worker)
        return ok

    def _on_events(self, bundle: list) -> None:
        for ev in bundle:
            if isinstance(ev, GanStep):
                self.last_step = ev
                self.curves.append(ev.step, {"d_loss": ev.d_loss, "g_loss": ev.g_loss,
                                             "d_real": ev.d_real, "d_fake": ev.d_fake})
            elif isinstance(ev, GanSamples) and ev.picture is not None:
                follow = self.slider.value() >= self.slider.maximum()
                if self.frames and self.frames[-1][0] >= ev.step:  # a continued run starts where it ended
                    self.frames[-1] = (ev.step, ev.picture)
                else:
                    self.frames.append((ev.step, ev.picture))
                self._frames_changed(follow)
            elif isinstance(ev, Started):
                self.run_path = Path(ev.run_path) if ev.run_path else None
                self._steps_per_epoch = ev.steps_per_epoch
                self._epochs = ev.epochs
            elif isinstance(ev, EpochEnd):
                self._epoch = ev.epoch
            elif isinstance(ev, (Finished, Failed)):
                self.last_outcome = ev
                if isinstance(ev, Failed):
                    self._show_error(ev.message + ("<br>" + "<br>".join(map(html.escape, ev.problems))
                                                   if ev.problems else ""))

    def _redraw(self) -> None:
        self.curves.redraw()
        ev = self.last_step
        if ev is not None and self.is_running():
            self.status.setText(
                f"step {ev.step:,} · epoch {ev.epoch}/{getattr(self, '_epochs', '?')} · "
                f"D loss {ev.d_loss:.3f} · G loss {ev.g_loss:.3f} · D(real) {ev.d_real:.2f} · "
                f"D(fake) {ev.d_fake:.2f}")

    def _worker_done(self, worker) -> None:
        if worker is not self.worker:
            return
        self._running = False
        self._timer.stop()
        self._redraw()
        result = worker.result
        self._generator = getattr(result, "generator", None)
        outcome = self.last_outcome
        if isinstance(outcome, Finished):
            m = outcome.metrics
            text = (f"{'Stopped' if outcome.stopped else 'Finished'} after {getattr(result, 'steps', 0):,} steps: "
                    f"D(real) {m.get('d_real', float('nan')):.2f}, D(fake) {m.get('d_fake', float('nan')):.2f}")
            if "modes_covered" in m:
                text += f"; generated points cover {m['modes_covered']:.0f} modes"
            self.status.setText(text + ".")
        self._update_buttons()
        self.running_changed.emit(False)
        if self.document is not None and getattr(worker, "document", None) is self.document:
            moved = {p.name: p for p in self.document.adopt_scratch_runs()}
            if self.run_path is not None and self.run_path.name in moved:
                self.run_path = moved[self.run_path.name]
            self.document.notify_runs_changed(self.run_path.name if self.run_path is not None else None)
        if self.run_path is not None:
            self.run_saved.emit(str(self.run_path))
        if self._generator is not None or self.run_path is not None:
            self.interpolate()

    def _show_error(self, message: str, escape: bool = True) -> None:
        self.error.setText(html.escape(message) if escape else message)
        self.error.show()

    def _update_buttons(self) -> None:
        running = self.is_running()
        gan = self.document is not None and self.document.project.gan is not None
        trained = self._generator is not None or self.run_path is not None
        self.train_button.setEnabled(gan and not running)
        self.continue_button.setEnabled(gan and not running and bool(self.gan_runs()))
        self.stop_button.setEnabled(running)
        self.save_button.setEnabled(trained and not running)
        self.interp_button.setEnabled(trained and not running)
        self.settings.setEnabled(not running)

    # --------------------------------------------------------------- samples
    def _frames_changed(self, follow: bool) -> None:
        last = max(0, len(self.frames) - 1)
        self.slider.blockSignals(True)
        self.slider.setRange(0, last)
        if follow:
            self.slider.setValue(last)
        self.slider.blockSignals(False)
        self._show_frame(self.slider.value())

    def _show_frame(self, index: int) -> None:
        if not self.frames:
            return
        step, source = self.frames[min(index, len(self.frames) - 1)]
        if isinstance(source, str):
            self.picture.set_path(source)
        else:
            self.picture.set_picture(source)
        self.step_label.setText(f"step {step:,}")

    def shown_step(self) -> int | None:
        return self.frames[self.slider.value()][0] if self.frames else None

    # ---------------------------------------------------- generator in the background
    def _generator_job(self):
        """A function (for a pool thread) giving (generator, pair) from this session's training
        or the last run on disk."""
        from dlstudio.gan.project import gan_pair

        project, generator, run_path = self.document.project, self._generator, self.run_path

        def job():
            if generator is not None:
                return generator, gan_pair(project)
            from dlstudio.gan.train import load_generator
            from dlstudio.runs import open_run

            return load_generator(project, open_run(run_path))

        return job

    def _new_endpoints(self) -> None:
        self._interp_seed += 1
        self.interpolate()

    def interpolate(self) -> None:
        """Generate the interpolation row in the background (latest request wins)."""
        if self.document is None or self.document.project.gan is None:
            return
        if self._generator is None and self.run_path is None:
            return
        from dlstudio.qt.background import create_worker

        job, seed, project = self._generator_job(), self._interp_seed, self.document.project

        def work():
            from dlstudio.gan.sampling import (
                generator_picture,
                interpolation_noise,
                is_points,
            )

            generator, pair = job()
            steps = INTERPOLATION_POINTS if is_points(pair.sample_shape) else INTERPOLATION_STEPS
            z = interpolation_noise(pair.settings, steps, pair.settings.seed + 1000 + seed)
            return generator_picture(generator, pair, z, project, columns=steps)

        task = create_worker(work)
        task.returned.connect(lambda picture, t=task: t is self._task and self.interp_view.set_picture(picture))
        task.errored.connect(lambda exc, t=task: t is self._task and self._show_error(f"interpolation: {exc}"))
        self._task = task
        task.start()

    def save_generator(self, path: str | None = None) -> None:
        """Write the generator as a .keras model (asks where when ``path`` is None)."""
        if path is None:
            title = self.document.title if self.document else "generator"
            path, _ = QFileDialog.getSaveFileName(self, "Save generator as model", str(Path.home() /
                                                  f"{title}_generator.keras"), "Keras models (*.keras)")
            if not path:
                return
            if not path.endswith(".keras"):
                path += ".keras"
        from dlstudio.qt.background import create_worker

        job = self._generator_job()

        def work():
            generator, _pair = job()
            generator.save(path)
            return path

        task = create_worker(work)
        task.returned.connect(lambda p: self.status.setText(f"Saved the generator as {html.escape(str(p))}."))
        task.errored.connect(lambda exc: self._show_error(f"could not save the generator: {exc}"))
        self._save_task = task
        task.start()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self.stack.currentWidget() is self.page:
            self.curves.ensure_plots()
            if not self.interp_view.has_picture():
                self.interpolate()


# ------------------------------------------------------------- main window
def build_gan_dock(window: Any) -> None:
    """The GAN dock, a tab beside Training at the bottom; F5 trains a GAN project here."""
    from PySide6.QtWidgets import QApplication

    dock = window._dock("GAN", "gan", Qt.DockWidgetArea.BottomDockWidgetArea)
    panel = GanPanel(None)
    dock.setWidget(panel)
    window.tabifyDockWidget(window.training_dock, dock)
    window.problems_dock.raise_()
    window.gan_dock, window.gan_panel = dock, panel
    panel.running_changed.connect(window._training_running_changed)
    QApplication.instance().aboutToQuit.connect(_stop_all)


def _stop_all() -> None:
    for worker in list(_live_workers):
        if worker.is_running():
            worker.stop_and_wait(60_000)


def train_in_window(window: Any, run_path: Any = None, continuing: bool = False) -> bool | None:
    """F5 / Ctrl+F5 for a GAN project: the GAN panel trains (None: not a GAN project)."""
    document = window.document
    project = getattr(getattr(document, "main", document), "project", None)
    if project is None or project.gan is None:
        return None
    window.gan_dock.show()
    window.gan_dock.raise_()
    if not window.gan_dock.isFloating() and window.gan_dock.height() < 360:
        window.resizeDocks([window.gan_dock], [420], Qt.Orientation.Vertical)
    return window.gan_panel.continue_training(run_path) if continuing else window.gan_panel.train()
