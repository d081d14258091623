"""File > Export > Trained Model…: the dialog exports a run on a background task and
says in place what it wrote, or why it could not (naming the layer)."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtWidgets import QDialogButtonBox, QMessageBox

from dlstudio.qt.keras_loader import loader
from tests.export.conftest import chain, project_with_run

TIMEOUT = 120_000


@pytest.fixture(scope="module")
def keras_loaded():
    assert loader().wait(120), loader().error
    return True


@pytest.fixture
def make_dialog(qtbot, keras_loaded, tmp_path):
    from dlstudio.qt.document import Document
    from dlstudio.qt.export_dialog import ExportDialog

    made = []

    def make(graph, run_id=None):
        project, run = project_with_run(tmp_path, "xor", graph, "xor", {"samples": 64})
        dialog = ExportDialog(Document(project), run_id)
        qtbot.addWidget(dialog)
        dialog.show()
        made.append(dialog)
        return dialog, run

    yield make
    for d in made:
        qtbot.waitUntil(lambda d=d: not d.busy(), timeout=TIMEOUT)


def xor_graph():
    return chain(("Input", {"shape": [2]}), ("Dense", {"units": 8, "activation": "tanh"}),
                 ("Dropout", {"rate": 0.2}), ("Dense", {"units": 1, "activation": "sigmoid"}),
                 names=("point", "hidden", "drop", "out"))


def choose(dialog, fmt: str, path) -> None:
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData(fmt))
    dialog.path_edit.setText(str(path))


def test_exports_onnx_in_the_background_and_reports_the_check(make_dialog, qtbot, tmp_path):
    dialog, run = make_dialog(xor_graph())
    assert dialog.run_combo.currentData() == run.id and run.id in dialog.run_combo.currentText()
    assert not dialog.weights_combo.model().item(1).isEnabled()  # no best weights in this run
    assert dialog.path_edit.text().endswith("xor.keras")  # the default: beside the project
    choose(dialog, "onnx", tmp_path / "out.onnx")
    assert "ONNX Runtime" in dialog.format_help.text()
    dialog.export_button.click()
    assert dialog.busy() and not dialog.export_button.isEnabled() and dialog.progress.isVisible()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=TIMEOUT)
    assert dialog.error is None, dialog.error
    result = dialog.export_result
    assert result.path == tmp_path / "out.onnx" and result.path.is_file()
    assert result.max_difference is not None and result.max_difference < 1e-5
    text = dialog.status.text()
    assert "Exported onnx to" in text and "outputs match Keras" in text and "left out drop" in text
    assert dialog.export_button.isEnabled() and not dialog.progress.isVisible()


def test_switching_format_keeps_the_folder_and_changes_the_name(make_dialog, tmp_path):
    dialog, _ = make_dialog(xor_graph())
    dialog.path_edit.setText(str(tmp_path / "exports" / "whatever.keras"))
    choose_fmt = dialog.format_combo.findData("savedmodel")
    dialog.format_combo.setCurrentIndex(choose_fmt)
    assert dialog.path_edit.text() == str(tmp_path / "exports" / "xor_savedmodel")
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("python"))
    assert dialog.path_edit.text() == str(tmp_path / "exports" / "xor.py")
    assert not dialog.check_box.isEnabled()  # a script has nothing to check against


def test_a_layer_the_format_cannot_take_is_named_in_the_dialog(make_dialog, qtbot, tmp_path):
    graph = chain(("Input", {"shape": [8, 8, 1]}), ("RandomCrop", {"height": 6, "width": 6}),
                  ("GlobalAveragePooling2D", {}), ("Dense", {"units": 1}), names=("image", "crop", "gap", "out"))
    dialog, _ = make_dialog(graph)
    choose(dialog, "tflite", tmp_path / "m.tflite")
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=TIMEOUT)
    assert dialog.export_result is None
    assert "layer 'crop' (RandomCrop) cannot be exported to TFLite" in dialog.error
    assert "Not exported" in dialog.status.text() and "#c62828" in dialog.status.text()
    assert not (tmp_path / "m.tflite").exists()


def test_an_existing_file_is_replaced_only_when_confirmed(make_dialog, qtbot, tmp_path, no_modal_dialogs):
    dialog, _ = make_dialog(xor_graph())
    target = tmp_path / "taken.keras"
    target.write_text("keep")
    choose(dialog, "keras", target)
    dialog.export_button.click()  # the autouse fixture answers Cancel
    assert not dialog.busy() and target.read_text() == "keep"
    assert no_modal_dialogs[-1][0] == "question"


def test_an_int8_export_shows_float_against_int8(make_dialog, qtbot, tmp_path):
    dialog, _ = make_dialog(xor_graph())
    choose(dialog, "onnx", tmp_path / "m.onnx")
    assert not dialog.quantize_box.isEnabled()  # ONNX has no int8 export here
    choose(dialog, "keras", tmp_path / "m.keras")
    assert dialog.quantize_box.isEnabled()
    dialog.quantize_box.setChecked(True)
    dialog.export_button.click()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=TIMEOUT)
    assert dialog.error is None, dialog.error
    comparison = dialog.export_result.comparison
    assert comparison is not None and comparison.runtime == "Keras"
    text = dialog.status.text()
    assert "Exported int8 keras" in text and "<table>" in text and "float32" in text and "latency" in text
    assert "int8 weights in 2 layers: hidden, out" in text


def test_a_project_without_runs_says_so(qtbot, keras_loaded):
    from dlstudio.project import new_project
    from dlstudio.qt.document import Document
    from dlstudio.qt.export_dialog import ExportDialog

    dialog = ExportDialog(Document(new_project("empty")))
    qtbot.addWidget(dialog)
    assert not dialog.export_button.isEnabled()
    assert "no trained runs yet" in dialog.status.text()
    assert dialog.buttons.button(QDialogButtonBox.StandardButton.Close).isEnabled()


def test_the_file_menu_opens_it(qtbot, tmp_path, monkeypatch, keras_loaded):
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    from dlstudio.qt.export_dialog import ExportDialog
    from dlstudio.qt.main_window import MainWindow

    window = MainWindow()
    qtbot.addWidget(window)
    file_menu = window.menuBar().actions()[0].menu()
    export_menu = next(a.menu() for a in file_menu.actions() if a.menu() and "Export" in a.text())
    assert window.act_export_model in export_menu.actions()
    assert window.act_export_model.shortcut().toString() == "Ctrl+Shift+E"
    window.act_export_model.trigger()
    dialogs = [w for w in window.findChildren(ExportDialog)]
    assert len(dialogs) == 1 and dialogs[0].isVisible()
    dialogs[0].close()
    if window.document is not None:
        window.document.undo_stack.setClean()
    assert QMessageBox  # imported for the autouse fixture's patches
