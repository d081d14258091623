"""The training panel's progress line and messages, as a mixin of
:class:`~dlstudio.qt.panels.training.training_panel.TrainingPanel`: the progress bars with
speed and time left, the one-line status and metrics labels, the error box and
the notifications. It reads the panel's widgets and its training state
(``_epoch``, ``_batch``, ``_steps_per_epoch``, ...); it never starts anything.
"""

from __future__ import annotations

import html
import math
import time
from pathlib import Path

import numpy as np
from PySide6.QtGui import QColor

from dlstudio.qt.panels.training.training_plots import (
    format_duration,
    format_metric,
    metric_items,
    metric_title,
)
from dlstudio.training.events import Failed, Finished, Started


class TrainingStatus:
    """Progress and messages of the training panel (a mixin: ``self`` is the panel)."""

    def _reset_progress(self) -> None:
        for bar in (self.run_progress, self.epoch_progress):
            bar.setValue(0)
        self.run_label.setText("Run")
        self.epoch_label.setText("Epoch")
        self.speed_label.setText("")
        self.time_label.setText("")

    def _update_progress(self, final: bool = False) -> None:
        spe = self._steps_per_epoch
        if self._epochs <= 0 or self._first_epoch is None:
            return
        done_in_epoch = min(spe, self._batch + 1)
        self.epoch_progress.setValue(int(1000 * done_in_epoch / spe))
        self.epoch_label.setText(f"Batch {done_in_epoch} of {spe}")
        first = self._first_epoch
        total_steps = max(1, (self._epochs - first + 1) * spe)
        done_steps = (self._epoch - first) * spe + done_in_epoch
        self.run_progress.setValue(int(1000 * min(1.0, done_steps / total_steps)))
        self.run_label.setText(f"Epoch {self._epoch} of {self._epochs}")
        now = time.perf_counter()
        elapsed = now - self._t_start
        # speed over the last ~2 s of batches (the first epoch's tracing does not linger in it)
        window = self._speed_window
        window.append((now, self._batches_seen))
        while len(window) > 2 and now - window[1][0] > 2.0:
            window.pop(0)
        t0, n0 = window[0]
        per_step = (now - t0) / (self._batches_seen - n0) if self._batches_seen > n0 and now > t0 else math.nan
        if final and self._epoch_speeds:
            sps = float(np.median(self._epoch_speeds))
        elif math.isfinite(per_step):
            sps = self._batch_size / per_step
        else:
            sps = self._epoch_speeds[-1] if self._epoch_speeds else 0.0
        self.speed_label.setText(f"{sps:,.0f} samples/s" if sps else "")
        if final:
            self.time_label.setText(f"took {format_duration(elapsed)}")
            return
        if not math.isfinite(per_step) and self._epoch_seconds:
            per_step = float(np.mean(self._epoch_seconds[-3:])) / spe
        left = max(0, total_steps - done_steps) * per_step
        self.time_label.setText(f"{format_duration(elapsed)} elapsed · "
                                f"{format_duration(left) if math.isfinite(left) else '–'} left")

    # ------------------------------------------------------------- messages
    def _running_text(self, ev: Started) -> str:
        run = f" · run <i>{html.escape(Path(ev.run_path).name)}</i>" if ev.run_path else ""
        since = f" from run {html.escape(self._starting_run)}" if self._starting_run else ""
        where = " (in the config folder: the project is not saved)" if self._runs_temporary else ""
        device = f" · <b>{html.escape(ev.device.upper())}</b>" if ev.device else ""
        return (f"Training{since} on {ev.samples:,} samples, {ev.steps_per_epoch} batches per epoch, "
                f"Keras on {html.escape(ev.backend)}{device}{run}{where}.")

    def _set_message(self, text: str) -> None:
        self.message.setText(text)
        self.message.setToolTip(text if len(text) > 80 else "")

    def _set_metrics(self, title: str, logs: dict[str, float]) -> None:
        train = {k: v for k, v in logs.items() if not k.startswith("val_") and k not in ("learning_rate", "lr")}
        val = {k[4:]: v for k, v in logs.items() if k.startswith("val_")}
        text = f"{title}: {metric_items(train)}"
        if val:
            text += f" &nbsp;&nbsp;│&nbsp;&nbsp; validation: {metric_items(val)}"
        self.metrics_label.setText(text)

    def _show_finished(self, ev: Finished) -> None:
        tests = {k[5:]: v for k, v in ev.metrics.items() if k.startswith("test_")}
        trains = {k: v for k, v in ev.metrics.items() if not k.startswith(("test_", "val_"))
                  and k not in ("learning_rate", "lr")}
        vals = {k[4:]: v for k, v in ev.metrics.items() if k.startswith("val_")}

        def line(title: str, values: dict[str, float]) -> str:
            return f"{title}: {metric_items(values)}"

        how = "Stopped" if ev.stopped else "Finished"
        first = self._first_epoch or 1
        if first > 1 and ev.epochs_done >= first:  # a continued run
            head = (f"<b>{how}</b> after epochs {first}–{ev.epochs_done}"
                    + (f" (continuing run {html.escape(self._starting_run)})" if self._starting_run else ""))
        else:
            head = f"<b>{how}</b> after {ev.epochs_done} epoch{'s' if ev.epochs_done != 1 else ''}"
        if ev.run_path:
            head += f" · run <a href='run'>{html.escape(Path(ev.run_path).name)}</a> saved"
            if self._runs_temporary:
                head += f" in {html.escape(str(Path(ev.run_path).parent))}"
        self._set_message(head)
        parts = [line(t, v) for t, v in (("Test", tests), ("Training", trains), ("Validation", vals)) if v]
        self.metrics_label.setText(" &nbsp;&nbsp;│&nbsp;&nbsp; ".join(parts))
        self.metrics_label.setToolTip("<br>".join(parts))
        from dlstudio.qt.notifications import notifications

        summary = ", ".join(f"{metric_title(k)} {format_metric(k, v)}" for k, v in tests.items())
        notifications().notify(f"Training {how.lower()} after {ev.epochs_done} epochs"
                               + (f": test {summary}" if summary else ""), "info")

    def _show_error(self, ev: Failed) -> None:
        msg = html.escape(ev.message[:1].upper() + ev.message[1:])
        problems = "".join(f"<li>{html.escape(p)}</li>" for p in ev.problems)
        self.error_label.setText(f"<b>{msg}</b>" + (f"<ul style='margin:2px 0 0 -20px'>{problems}</ul>"
                                                    if problems else ""))
        self._style_error_box()
        self.error_box.show()
        if self._running:
            run = f" · run <i>{html.escape(self.run_path.name)}</i> keeps its last good epoch" if self.run_path else ""
            self._set_message(f"<b>Training failed</b>{run}.")
        else:
            self._set_message("Training did not start.")

    def _notify_failed(self, ev: Failed) -> None:
        from dlstudio.qt.notifications import notifications

        details = "\n".join(ev.problems) if ev.problems else (ev.details if isinstance(ev.details, str) else "")
        notifications().notify(f"Training: {ev.message}", "error", details)

    def _style_error_box(self) -> None:
        from dlstudio.qt.icons import severity_color

        color = severity_color("error", self.palette())
        bg = QColor(color)
        bg.setAlphaF(0.10)
        self.error_box.setStyleSheet(
            f"#training_error {{ background: rgba({bg.red()},{bg.green()},{bg.blue()},{bg.alpha()});"
            f" border-left: 3px solid {color.name()}; border-radius: 2px; }}")
        self.error_label.setStyleSheet(f"color: {color.name()};")

    def _link(self, href: str) -> None:
        if href == "run" and self.run_path is not None:
            from PySide6.QtCore import QUrl
            from PySide6.QtGui import QDesktopServices

            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.run_path)))
