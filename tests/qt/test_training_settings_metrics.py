"""The training settings form: choosing the metrics, and the mirrored device choice."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402

from dlstudio import RESOURCES  # noqa: E402
from dlstudio.project import load_project  # noqa: E402
from dlstudio.qt.keras_loader import loader  # noqa: E402


@pytest.fixture
def form(qtbot):
    from dlstudio.qt.document import Document
    from dlstudio.qt.panels.training.training_settings import TrainingSettingsForm

    assert loader().wait(120), loader().error
    project = load_project(RESOURCES / "examples" / "xor_mlp.dlsproj")
    project.training.metrics = ["auto"]
    doc = Document(project)
    f = TrainingSettingsForm(doc)
    qtbot.addWidget(f)
    f.resize(420, 900)
    f.show()
    yield f
    doc.undo_stack.setClean()


def _click(qtbot, form, name):
    from PySide6.QtCore import QPoint

    box = form.metrics_chooser.boxes[name]
    # on the check mark: a check box takes clicks on its mark and label only, and the
    # middle of a box stretched by the grid can be blank space
    qtbot.mouseClick(box, Qt.MouseButton.LeftButton, pos=QPoint(8, box.height() // 2))


def test_metrics_are_chosen_with_check_boxes_and_each_click_is_one_undo_step(qtbot, form):
    doc, boxes = form.document, form.metrics_chooser.boxes
    assert boxes["auto"].isChecked() and not boxes["accuracy"].isEnabled()
    _click(qtbot, form, "auto")  # auto off: nothing chosen yet, every metric can be picked
    assert doc.project.training.metrics == []
    assert boxes["accuracy"].isEnabled() and not boxes["accuracy"].isChecked()
    _click(qtbot, form, "precision")
    _click(qtbot, form, "accuracy")
    assert doc.project.training.metrics == ["accuracy", "precision"]  # in the form's order
    assert doc.undo_stack.count() == 3 and doc.undo_stack.undoText() == "Set metrics"
    doc.undo_stack.undo()
    assert doc.project.training.metrics == ["precision"] and not boxes["accuracy"].isChecked()
    _click(qtbot, form, "auto")
    assert doc.project.training.metrics == ["auto"]
    assert not boxes["precision"].isChecked() and not boxes["precision"].isEnabled()


def test_metrics_from_the_file_are_shown_aliases_included(qtbot, form):
    from dlstudio.qt.editor.settings_commands import SetTrainingSettingsCommand

    form.document.push(SetTrainingSettingsCommand(form.document, {"metrics": ["acc", "r2_score"]}, "Set metrics"))
    boxes = form.metrics_chooser.boxes
    assert boxes["accuracy"].isChecked() and boxes["r2"].isChecked() and not boxes["auto"].isChecked()
    assert form.metrics_chooser.metrics() == ["accuracy", "r2"]


def test_mirrored_device_is_offered_only_with_two_gpus(monkeypatch):
    import dlstudio.backend
    from dlstudio.qt.panels.training import training_settings as ts

    for devices, offered in ((["cpu"], False), (["cpu", "gpu:0"], False), (["cpu", "gpu:0", "gpu:1"], True)):
        ts.available_devices.cache_clear()
        monkeypatch.setattr(dlstudio.backend, "list_devices", lambda d=devices: d)
        assert ("mirrored" in ts.available_devices()) is offered
    ts.available_devices.cache_clear()


def test_screenshot_of_the_metrics_rows(qtbot, form, tmp_path):
    form.metrics_chooser.set_metrics(["accuracy", "top_5_accuracy"])
    path = tmp_path / "metrics.png"
    assert form.grab().save(str(path))
    assert path.stat().st_size > 1000
