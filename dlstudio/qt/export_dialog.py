"""File > Export > Trained Model…: write a run as .keras, SavedModel, ONNX, TFLite or a
Python script. The export (conversion and the check in the format's own runtime) runs
on a background task; the dialog says what was written, or why not, in place."""

from __future__ import annotations

import html
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit,
    QMessageBox, QProgressBar, QPushButton, QVBoxLayout, QWidget,
)

from dlstudio.export.formats import FORMATS, ExportFormat, default_path
from dlstudio.runs import run_label

MODEL_FORMATS = [f for f in FORMATS.values() if f.needs_run]


def add_export_action(window, menu) -> QAction:
    """The menu entry in ``window``'s File > Export menu."""
    act = QAction("Trained &Model…", window)
    act.setShortcut(QKeySequence("Ctrl+Shift+E"))
    act.setStatusTip("Write a trained run as .keras, SavedModel, ONNX, TFLite or a Python script")
    act.triggered.connect(lambda _checked=False: open_export_dialog(window))
    menu.addAction(act)
    window.act_export_model = act
    return act


def open_export_dialog(window) -> ExportDialog:
    panel = getattr(window, "runs_panel", None)
    selected = panel.selected_ids() if panel is not None else []
    dialog = ExportDialog(window.document, selected[0] if selected else None, window)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    dialog.show()
    return dialog


def comparison_table(comparison) -> str:
    """The float vs int8 table of a quantized export (:class:`dlstudio.export.quantize.Comparison`) as HTML."""
    rows = comparison.rows()
    cell = "<td style='padding:1px 10px 1px 0' align='{}'>{}</td>"
    body = ["<tr>" + "".join(cell.format("left" if i == 0 else "right", f"<b>{html.escape(c)}</b>")
                             for i, c in enumerate(rows[0])) + "</tr>"]
    body += ["<tr>" + "".join(cell.format("left" if i == 0 else "right", html.escape(c)) for i, c in enumerate(r))
             + "</tr>" for r in rows[1:]]
    return (f"<table>{''.join(body)}</table>in {html.escape(comparison.runtime)}, the metric on "
            f"{comparison.samples} test samples")


class ExportDialog(QDialog):
    def __init__(self, document, run_id: str | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Export Trained Model")
        self.document = document
        self.runs = self._list_runs()
        self.export_result = None
        self.error: str | None = None
        self._task = None
        self._folder = Path(document.path).parent if document.path else Path.home()

        self.run_combo = QComboBox()
        for run in reversed(self.runs):  # newest first
            self.run_combo.addItem(run_label(run), run.id)
        if run_id is not None and self.run_combo.findData(run_id) >= 0:
            self.run_combo.setCurrentIndex(self.run_combo.findData(run_id))
        self.weights_combo = QComboBox()
        self.weights_combo.addItem("At the end of training", "last")
        self.weights_combo.addItem("Of the best epoch", "best")
        self.format_combo = QComboBox()
        for fmt in MODEL_FORMATS:
            self.format_combo.addItem(fmt.title, fmt.key)
        self.format_help = QLabel()
        self.format_help.setWordWrap(True)
        self.format_help.setForegroundRole(self.format_help.palette().ColorRole.PlaceholderText)
        self.path_edit = QLineEdit()
        self.path_edit.setMinimumWidth(360)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.setContentsMargins(0, 0, 0, 0)
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(browse)
        self.check_box = QCheckBox("Load the export in its own runtime and compare its outputs with Keras")
        self.check_box.setChecked(True)
        self.quantize_box = QCheckBox("Quantize to int8 and compare size, test metric and latency with the "
                                      "float model")
        self.quantize_box.setToolTip("TFLite: full-integer post-training quantization calibrated on the "
                                     "project's training split, run in LiteRT. Keras: Keras' own int8 layers "
                                     "(Dense, Embedding, ...).")

        form = QFormLayout()
        form.addRow("Run:", self.run_combo)
        form.addRow("Weights:", self.weights_combo)
        form.addRow("Format:", self.format_combo)
        form.addRow("", self.format_help)
        form.addRow("Save to:", path_row)
        form.addRow("", self.check_box)
        form.addRow("", self.quantize_box)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setTextVisible(False)
        self.progress.setMaximumHeight(6)
        self.progress.hide()
        self.status = QLabel()
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.export_button.setDefault(True)
        self.buttons.accepted.connect(self.start_export)
        self.buttons.rejected.connect(self.reject)

        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addStretch(1)
        layout.addWidget(self.buttons)

        self.format_combo.currentIndexChanged.connect(self._format_changed)
        self.run_combo.currentIndexChanged.connect(self._run_changed)
        self._format_changed()
        self._run_changed()
        if not self.runs:
            self._say("This project has no trained runs yet: train the model (Model > Train) and export a run "
                      "afterwards.", error=True)
            for w in (self.export_button, self.run_combo, self.weights_combo, self.format_combo, self.path_edit,
                      browse, self.check_box):
                w.setEnabled(False)

    # ---------------------------------------------------------------- state
    def _list_runs(self) -> list:
        try:
            return self.document.runs.runs(trained=True, kind="model")
        except OSError:
            return []

    def current_run(self):
        run_id = self.run_combo.currentData()
        return next((r for r in self.runs if r.id == run_id), None)

    def current_format(self) -> ExportFormat:
        return FORMATS[self.format_combo.currentData()]

    def _stem(self) -> str:
        return (self.document.title or "model").replace(" ", "_")

    def _format_changed(self) -> None:
        fmt = self.current_format()
        self.format_help.setText(fmt.description[:1].upper() + fmt.description[1:] + ".")
        text = self.path_edit.text().strip()
        folder = Path(text).parent if text else self._folder
        self.path_edit.setText(str(default_path(folder, self._stem(), fmt)))
        self.check_box.setEnabled(fmt.key != "python" and bool(self.runs))
        from dlstudio.export.quantize import QUANTIZABLE

        self.quantize_box.setEnabled(fmt.key in QUANTIZABLE and bool(self.runs))
        if fmt.key not in QUANTIZABLE:
            self.quantize_box.setChecked(False)

    def _run_changed(self) -> None:
        run = self.current_run()
        has_best = run is not None and (run.path / "best.weights.h5").is_file()
        self.weights_combo.model().item(1).setEnabled(has_best)
        if not has_best:
            self.weights_combo.setCurrentIndex(0)

    def browse(self) -> None:
        fmt = self.current_format()
        current = self.path_edit.text().strip() or str(default_path(self._folder, self._stem(), fmt))
        if fmt.folder:
            path = QFileDialog.getExistingDirectory(self, "Folder for the SavedModel", str(Path(current).parent))
            if path:
                path = str(Path(path) / Path(current).name)
        else:
            path, _ = QFileDialog.getSaveFileName(self, f"Export as {fmt.title}", current,
                                                  f"{fmt.title} (*{fmt.suffix})")
            if path and not path.lower().endswith(fmt.suffix):
                path += fmt.suffix
        if path:
            self.path_edit.setText(path)

    def _say(self, text: str, error: bool = False) -> None:
        colour = self.palette().color(self.foregroundRole()).name() if not error else "#c62828"
        self.status.setText(f"<span style='color:{colour}'>{text}</span>")

    def busy(self) -> bool:
        return self._task is not None

    # ---------------------------------------------------------------- export
    def start_export(self) -> None:
        if self.busy():
            return
        run, fmt = self.current_run(), self.current_format()
        text = self.path_edit.text().strip()
        if run is None or not text:
            self._say("Choose a run and where to save the export.", error=True)
            return
        path = Path(text).expanduser()
        force = False
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            answer = QMessageBox.question(self, "Replace?", f"{path} already exists. Replace it?")
            if answer != QMessageBox.StandardButton.Yes:
                return
            force = True
        from dlstudio.export.run_export import export_run
        from dlstudio.qt.background import create_worker

        self.export_result, self.error = None, None
        self._task = create_worker(export_run, self.document.project, run, fmt.key, path,
                                   which=self.weights_combo.currentData(), force=force,
                                   verify=self.check_box.isChecked(),
                                   quantize="int8" if self.quantize_box.isChecked() else None)
        self._task.returned.connect(self._done)
        self._task.errored.connect(self._failed)
        self._task.finished.connect(self._finished)
        self.export_button.setEnabled(False)
        self.progress.show()
        self._say(f"Exporting run {run.id} as {fmt.title}\u2026")
        self._task.start()

    def _done(self, result) -> None:
        self.export_result = result
        summary = result.summary().split("\n")[0]
        lines = [html.escape(summary[:1].upper() + summary[1:])] + [f"Note: {html.escape(n)}" for n in result.notes]
        if result.comparison is not None:
            lines.insert(1, comparison_table(result.comparison))
        self._say("<br>".join(lines))
        window = self.parent()
        if window is not None and hasattr(window, "statusBar"):
            window.statusBar().showMessage(f"Exported {result.path}", 5000)

    def _failed(self, exc: BaseException) -> None:
        from dlstudio.errors import user_message

        self.error = user_message(exc)
        self._say(f"Not exported: {html.escape(self.error)}", error=True)

    def _finished(self) -> None:
        self._task = None
        self.progress.hide()
        self.export_button.setEnabled(bool(self.runs))

    def reject(self) -> None:
        if self.busy():
            self._say("The export is still running; it cannot be stopped half-way (it would leave nothing "
                      "behind, but the converter has to finish first).")
            return
        super().reject()

    def closeEvent(self, event) -> None:
        if self.busy():
            event.ignore()
            self.reject()
            return
        super().closeEvent(event)
