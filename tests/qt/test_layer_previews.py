"""Layer previews (View > Layer Previews), from a user's steps: turn them on and every layer
shows what it makes of a sample; edit a layer and only it and the layers after it change;
train and they follow the training's epochs, then show the run; click one to open it in
Insight."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from dlstudio import RESOURCES
from dlstudio.project import load_project, save_project
from dlstudio.qt.editor.commands import SetParamCommand

TIMEOUT = 120_000


def saved_copy(tmp_path: Path, example: str, epochs: int) -> Path:
    project = load_project(RESOURCES / "examples" / f"{example}.dlsproj")
    project.training = project.training.model_copy(update={"epochs": epochs, "batch_size": 64})
    path = tmp_path / f"{example}.dlsproj"
    save_project(project, path)
    return path


def digests(window) -> dict[str, str]:
    return {nid: item.preview_item().digest for nid, item in window.scene.node_items.items()}


def test_previews_appear_follow_edits_downstream_and_training(window, qtbot, tmp_path):
    assert window.open_path(saved_copy(tmp_path, "digits_cnn", epochs=2))
    g = window.document.graph
    names = {n.name: n.id for n in g.nodes}
    with qtbot.waitSignal(window.previews.updated, timeout=TIMEOUT):
        window.act_previews.trigger()  # View > Layer Previews
    items = window.scene.node_items
    assert all(items[nid].preview_item().isVisible() for nid in names.values())
    conv, digit = items[names["conv1"]].preview_item(), items[names["digit"]].preview_item()
    assert conv.image.width() > 16 and "16 feature maps of 8×8" in conv.toolTip()
    assert "class " in digit.toolTip() and digit.image.width() == 20  # the output's class probabilities
    before = digests(window)

    # an edit: fc1 gets 32 units; only fc1 and what follows it change
    with qtbot.waitSignal(window.previews.updated, timeout=TIMEOUT, check_params_cb=lambda n: n > 0) as blocker:
        window.document.push(SetParamCommand(g, names["fc1"], "units", 32))
    after = digests(window)
    changed = {n for n, nid in names.items() if after[nid] != before[nid]}
    assert changed == {"fc1", "digit"} and blocker.args == [2]

    # a collapsed block shows the picture of its output
    window.scene.select_nodes([names["conv1"], names["pool1"]], center=False)
    bid = window.view.group_selection()
    block_preview = window.scene.block_items[bid].preview_item()
    assert block_preview.isVisible() and block_preview.digest == items[names["pool1"]].preview_item().digest
    window.document.undo_stack.undo()

    # a click on a preview opens the layer in Insight
    window.view.centerOn(conv)
    at = window.view.mapFromScene(conv.sceneBoundingRect().center())
    asked = []
    window.view.insight_requested.connect(asked.append)
    QTest.mouseClick(window.view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    assert asked == [names["conv1"]]
    assert window.insight_panel._wanted_layer == "conv1" and not window.insight_dock.visibleRegion().isEmpty()

    # training: the previews follow the epochs (weights at each epoch's end), then the run
    with qtbot.waitSignal(window.previews.updated, timeout=TIMEOUT, check_params_cb=lambda n: n > 0):
        window.document.push(SetParamCommand(g, names["fc1"], "units", 64))
    untrained = digests(window)
    updates: list[int] = []
    during: list[int] = []
    window.previews.updated.connect(updates.append)
    window.previews.updated.connect(lambda n: during.append((window.previews.shown_from, n)))
    window.document.undo_stack.setClean()
    with qtbot.waitSignal(window.training_panel.training_finished, timeout=TIMEOUT):
        window.act_train.trigger()
    qtbot.waitUntil(lambda: not window.training_panel.is_running(), timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.previews.shown_from[:1] == ("run",), timeout=TIMEOUT)  # then the run
    # new pictures from the weights of an epoch while it trained, then from the finished run
    assert any(source[0] == "epoch" and n > 0 for source, n in during), during
    assert window.previews.shown_from[1] == window.document.runs.latest().id
    trained = digests(window)
    assert trained[names["conv1"]] != untrained[names["conv1"]]  # trained weights make other maps
    assert trained[names["image"]] == untrained[names["image"]]  # the sample stays the sample
    window.act_previews.trigger()
    assert not any(item.preview_item().isVisible() for item in items.values())


def test_previews_that_cannot_be_made_say_why(window, qtbot, tmp_path):
    """A project whose data cannot be read: the status bar says why there are no previews."""
    project = load_project(RESOURCES / "examples" / "xor_mlp.dlsproj")
    project.dataset.name, project.dataset.options = "csv", {"path": "missing.csv"}
    save_project(project, tmp_path / "nodata.dlsproj")
    assert window.open_path(tmp_path / "nodata.dlsproj")
    with qtbot.waitSignal(window.previews.failed, timeout=TIMEOUT) as blocker:
        window.act_previews.trigger()
    assert "missing.csv" in blocker.args[0]
    assert window.statusBar().currentMessage().startswith("Layer previews: ")
    assert "missing.csv" in window.statusBar().currentMessage()
