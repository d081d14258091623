"""The predict panel: what does a trained run say about one input?

Pick a run, then an input: a sample of the dataset's test or train split (by
number, or a click in the strip of samples for image data), or a file (an
image, a CSV row, a text, a .npy array; also dropped on the panel). The input
is shown beside the class probabilities as bars, most probable first (for a
regression: the predicted values). Files are read by
:func:`dlstudio.training.evaluate.predict_file`, samples go through
:func:`~dlstudio.training.evaluate.predict_samples` (the core of
``dlstudio predict``), on a worker thread; models and datasets are kept per run.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.data.data_widgets import SampleGrid, muted_label, sample_stepper, section_header
from dlstudio.qt.panels.evaluation.evaluation_views import images_of, sample_text
from dlstudio.qt.panels.insight.insight_views import scroll_area
from dlstudio.qt.panels.runs.run_panel import RunPanel

STRIP = 48  # image samples offered for a click
SHOWN_CLASSES = 12  # bars drawn; the rest are summed in one line
FILE_FILTER = ("Inputs (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp *.csv *.tsv *.txt *.npy);;"
               "All files (*)")


def _predict(job: dict) -> tuple:
    """On a worker thread: (model, dataset, Prediction, input shown, caption, true label or None)."""
    from dlstudio.backend import load_keras
    from dlstudio.insight.models import sample, split_arrays
    from dlstudio.runs import dataset_for_run, load_run_model
    from dlstudio.training.evaluate import predict_file, predict_samples

    load_keras()
    run, project = job["run"], job["project"]
    dataset = job["dataset"] if job["dataset"] is not None else dataset_for_run(project, run)
    model = job["model"] if job["model"] is not None else load_run_model(run, "last")
    if job["file"] is not None:
        pred = predict_file(project, run, job["file"], top=10**6, model=model, dataset=dataset)
        return model, dataset, pred, pred.inputs[0], Path(job["file"]).name, None
    split, index = job["split"], job["index"]
    x, caption = sample(dataset, index, split)
    pred = predict_samples(model, x[None], dataset, run.id, f"{split} #{index}", top=10**6)
    y = split_arrays(dataset, split)[1][index]
    return model, dataset, pred, x, caption, y


class ProbabilityBars(QWidget):
    """Horizontal bars, most probable first: class name, bar, percentage."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.ranked: list[tuple[str, float]] = []
        self.true_name: str | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)

    def set_ranked(self, ranked: list[tuple[str, float]], true_name: str | None = None) -> None:
        self.ranked = list(ranked)
        self.true_name = true_name
        self.updateGeometry()
        self.update()

    def _row_height(self) -> int:
        return self.fontMetrics().height() + 8

    def sizeHint(self) -> QSize:
        rows = min(len(self.ranked), SHOWN_CLASSES) + (1 if len(self.ranked) > SHOWN_CLASSES else 0)
        return QSize(320, max(40, rows * self._row_height() + 8))

    def paintEvent(self, _event) -> None:
        if not self.ranked:
            return
        p = QPainter(self)
        pal = self.palette()
        fm = self.fontMetrics()
        h = self._row_height()
        name_w = min(max(fm.horizontalAdvance(n) for n, _ in self.ranked[:SHOWN_CLASSES])
                     + fm.horizontalAdvance("\u2713 ") + 12, int(self.width() * 0.4))
        pct_w = fm.horizontalAdvance("100.0%") + 10
        bar_w = max(20, min(420, self.width() - name_w - pct_w - 8))
        hi = pal.color(QPalette.ColorRole.Highlight)
        muted = pal.color(QPalette.ColorRole.Mid)
        good = severity_color("info", pal)
        for i, (name, prob) in enumerate(self.ranked[:SHOWN_CLASSES]):
            y = 4 + i * h
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            label = fm.elidedText(name, Qt.TextElideMode.ElideRight, name_w - 12 - fm.horizontalAdvance("\u2713 "))
            if name == self.true_name:
                label = "\u2713 " + label
                p.setPen(good)
            p.drawText(QRectF(0, y, name_w - 8, h), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter, label)
            p.fillRect(QRectF(name_w, y + 3, bar_w, h - 6), pal.color(QPalette.ColorRole.AlternateBase))
            p.fillRect(QRectF(name_w, y + 3, max(1.0, bar_w * float(prob)), h - 6), hi if i == 0 else muted)
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            p.drawText(QRectF(name_w + bar_w + 6, y, pct_w, h), Qt.AlignmentFlag.AlignLeft
                       | Qt.AlignmentFlag.AlignVCenter, f"{prob:.1%}")
        rest = self.ranked[SHOWN_CLASSES:]
        if rest:
            p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            p.drawText(QRectF(0, 4 + SHOWN_CLASSES * h, self.width(), h), Qt.AlignmentFlag.AlignCenter,
                       f"{len(rest)} more classes, {sum(q for _, q in rest):.1%} together")
        p.end()


class PredictPanel(RunPanel):
    """A run's prediction for one input. Public: ``set_document``, ``refresh_runs``,
    ``run_ids``, ``set_run(id)``, ``set_sample(index, split)``, ``set_input_file(path)``,
    ``is_busy()``; ``prediction`` (the Prediction shown). Signals ``predicted(object)``, ``failed(str)``."""

    predicted = Signal(object)
    no_run_text = "No trained run yet: train the model (F5), then pick an input here."

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent, cache_size=0)  # the model and dataset are kept instead
        self.setObjectName("PredictPanel")
        self.setAcceptDrops(True)
        self.prediction = None
        self._file: str | None = None
        self._models: dict[str, Any] = {}
        self._datasets: dict[str, Any] = {}
        self._strip_for: str | None = None
        self._build()
        self.set_document(document)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(8, 6, 8, 4)
        outer.setSpacing(4)
        top = QGridLayout()
        top.setHorizontalSpacing(6)
        self.run_combo = self.make_run_choice("The trained run that predicts (newest first)")
        self.run_combo.setMinimumContentsLength(20)
        top.addWidget(QLabel("Run", self), 0, 0)
        top.addWidget(self.run_combo, 0, 1, 1, 6)
        self.split_combo = QComboBox(self)
        self.split_combo.addItems(["test", "train"])
        self.split_combo.currentIndexChanged.connect(lambda _i: self._use_sample())
        self.prev_button, self.index, self.next_button = sample_stepper(self, self.set_sample, self._use_sample)
        self.file_button = QPushButton("File\u2026", self)
        self.file_button.setToolTip("Predict an image, a CSV row, a text or a .npy array (or drop a file here)")
        self.file_button.clicked.connect(self._open_file)
        top.addWidget(QLabel("Input", self), 1, 0)
        for col, w in enumerate((self.split_combo, self.prev_button, self.index, self.next_button), start=1):
            top.addWidget(w, 1, col)
        top.addWidget(self.file_button, 1, 6)
        top.setColumnStretch(5, 1)
        outer.addLayout(top)
        self.status = muted_label("", self, wrap=False)
        self.status.setTextFormat(Qt.TextFormat.RichText)
        outer.addWidget(self.status)

        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.setChildrenCollapsible(False)
        left = QWidget(split)
        lay = QVBoxLayout(left)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(section_header("Input", left))
        self.input_image = QLabel(left)
        self.input_image.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.input_image.setMinimumSize(64, 64)
        lay.addWidget(self.input_image, 1)
        self.input_text = QLabel(left)
        self.input_text.setWordWrap(True)
        self.input_text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.input_text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.input_text, 1)
        self.strip = SampleGrid(left, target=32, captions=False, click_to_select=True)
        self.strip.setToolTip("Click a sample to predict it")
        self.strip.selected.connect(lambda i: self.set_sample(i))
        self.strip_scroll = scroll_area(self.strip, left)
        lay.addWidget(self.strip_scroll)
        right = QWidget(split)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.output_header = section_header("Class probabilities", right)
        rl.addWidget(self.output_header)
        self.bars = ProbabilityBars(right)
        rl.addWidget(self.bars)
        self.values = QLabel(right)
        self.values.setTextFormat(Qt.TextFormat.RichText)
        self.values.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.values.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rl.addWidget(self.values)
        rl.addStretch(1)
        split.addWidget(left)
        split.addWidget(right)
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 3)
        outer.addWidget(split, 1)

    def sizeHint(self) -> QSize:
        return QSize(820, 340)

    # ------------------------------------------------------------------ document, runs, inputs
    def set_document(self, document) -> None:
        self._models.clear()
        self._datasets.clear()
        self._file = None
        super().set_document(document)

    def clear_view(self, text: str) -> None:
        self.prediction = None
        self._strip_for = None
        self.strip.clear()
        self.show_status(text)

    def set_sample(self, index: int, split: str | None = None) -> None:
        """Predict sample ``index`` of the split (test by default)."""
        if split is not None:
            self.split_combo.blockSignals(True)
            self.split_combo.setCurrentText(split)
            self.split_combo.blockSignals(False)
        self._file = None
        self.index.blockSignals(True)
        self.index.setValue(max(0, min(int(index), self.index.maximum())))
        self.index.blockSignals(False)
        self.schedule()

    def set_input_file(self, path: str | Path) -> None:
        """Predict a file (image, CSV rows: the first is shown, text, .npy)."""
        self._file = str(path)
        self.schedule()

    def _use_sample(self) -> None:
        self._file = None
        self.schedule()

    def _open_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Predict a file", "", FILE_FILTER)
        if path:
            self.set_input_file(path)

    def dragEnterEvent(self, event) -> None:
        mime = event.mimeData()
        if mime is not None and mime.hasUrls() and any(u.isLocalFile() for u in mime.urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event) -> None:
        urls = [u for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.set_input_file(urls[0].toLocalFile())

    # ------------------------------------------------------------------ computing
    def compute(self, run: Any) -> None:
        job = {"run": run, "project": self.document.project, "model": self._models.get(run.id),
               "dataset": self._datasets.get(run.id), "file": self._file,
               "split": self.split_combo.currentText(), "index": self.index.value()}
        self.job.request((run.id, job["file"], job["split"], job["index"]), _predict, job)

    def show_result(self, key: tuple, result: tuple) -> None:
        model, dataset, pred, x, caption, y = result
        self._models = {key[0]: model}  # one model kept: the run looked at
        self._datasets = {key[0]: dataset}
        self._show(dataset, pred, x, caption, y)

    def show_error(self, message: str) -> None:
        self.status.setText(html.escape(message))
        self.status.setToolTip(message)
        self.status.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")

    def show_status(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.status.setToolTip("")

    # ------------------------------------------------------------------ showing
    def _show(self, dataset: Any, pred: Any, x: np.ndarray, caption: str, y: Any) -> None:
        self.prediction = pred
        count = len(dataset.x_test if self.split_combo.currentText() == "test" else dataset.x_train)
        self.index.blockSignals(True)
        self.index.setMaximum(max(0, count - 1))
        self.index.blockSignals(False)
        self._show_strip(dataset)
        self._show_input(dataset, x)
        true_name = None
        if y is not None and pred.task == "classification" and np.ndim(y) == 0 and dataset.class_names:
            true_name = dataset.class_names[int(y)] if 0 <= int(y) < len(dataset.class_names) else None
        if pred.task == "classification":
            ranked = pred.ranked(0)
            self.output_header.title_label.setText("CLASS PROBABILITIES")
            self.bars.set_ranked(ranked, true_name)
            self.bars.show()
            self.values.setText("")
            best, p = ranked[0]
            verdict = ""
            if true_name is not None:
                verdict = " \u00b7 <b>right</b>" if best == true_name else f" \u00b7 <b>wrong</b> (true: {html.escape(true_name)})"
            more = f" ({len(pred.inputs)} rows in the file; the first shown)" if len(pred.inputs) > 1 else ""
            self.show_status(f"{html.escape(caption)}: predicted <b>{html.escape(best)}</b> ({p:.1%}){verdict}{more}")
        else:
            self.output_header.title_label.setText("PREDICTED VALUES")
            self.bars.hide()
            rows = "".join(f"<tr><td>{html.escape(n)}&nbsp;&nbsp;</td><td align='right'><b>{v:.6g}</b></td>"
                           + (f"<td>&nbsp;&nbsp;true {float(t):.6g}</td>" if t is not None else "") + "</tr>"
                           for n, v, t in zip(pred.output_names, pred.values[0],
                                              list(np.ravel(y)) if y is not None else [None] * len(pred.output_names)))
            self.values.setText(f"<table>{rows}</table>")
            self.show_status(f"{html.escape(caption)}: predicted {', '.join(f'{v:.4g}' for v in pred.values[0][:4])}")
        self.predicted.emit(pred)

    def _show_strip(self, dataset: Any) -> None:
        key = f"{id(dataset)}:{self.split_combo.currentText()}"
        if key == self._strip_for:
            return
        self._strip_for = key
        x = dataset.x_test if self.split_combo.currentText() == "test" else dataset.x_train
        images = images_of(x[:STRIP], dataset.kind) if len(x) else None
        if images is None:
            self.strip.clear()
            self.strip_scroll.hide()
        else:
            self.strip.set_samples(images)
            self.strip_scroll.show()

    def _show_input(self, dataset: Any, x: np.ndarray) -> None:
        from dlstudio.data.grid import as_rgb_uint8

        images = images_of(np.asarray(x)[None], dataset.kind)
        if images is not None:
            rgb = np.ascontiguousarray(as_rgb_uint8(images)[0])
            h, w = rgb.shape[:2]
            img = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
            side = max(96, min(self.input_image.width(), self.input_image.height(), 240))
            self.input_image.setPixmap(QPixmap.fromImage(img).scaled(
                side, side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.FastTransformation))
            self.input_image.show()
            self.input_text.hide()
        else:
            self.input_image.hide()
            self.input_text.setText(sample_text(x, dataset))
            self.input_text.show()
