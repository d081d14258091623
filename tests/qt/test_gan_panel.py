"""GAN studio in the GUI (offscreen): the generator and discriminator tabs, the
cross-graph problem in the Problems panel, training a few steps from the GAN
panel with the sample grid refreshing, scrubbing, interpolation, saving the
generator, and undoable settings."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from dlstudio import RESOURCES

RING = RESOURCES / "examples" / "mlp_gan_ring.dlsproj"
DCGAN = RESOURCES / "examples" / "dcgan_digits.dlsproj"
TIMEOUT = 120_000




def open_copy(window, tmp_path, source, change=None):
    data = json.loads(source.read_text())
    if change:
        change(data)
    path = tmp_path / source.name
    path.write_text(json.dumps(data))
    assert window.open_path(path)
    return path


def test_a_gan_project_shows_its_graphs_as_tabs(window, tmp_path, qtbot):
    from dlstudio.qt.graph_tabs import current_graph_name, show_graph

    open_copy(window, tmp_path, DCGAN)
    tabs = window._graph_tabs
    assert [tabs.widget.tabText(i) for i in range(tabs.widget.count())] == ["Generator", "Discriminator"]
    assert window.canvas_stack.currentWidget() is tabs.widget
    main_doc = window.document
    show_graph(window, "discriminator")
    assert current_graph_name(window) == "discriminator"
    disc = window.document
    assert disc.graph is main_doc.project.graphs["discriminator"]
    assert set(window.scene.node_items) == {n.id for n in disc.graph.nodes}
    assert window.inspector.document is disc and window.problems.document is disc
    # an edit on the discriminator tab is one undo step of the whole project
    window.view.add_layer("Dense")
    assert len(disc.graph) == 9 and window.isWindowModified()
    main_doc.undo_stack.undo()
    assert len(disc.graph) == 8
    show_graph(window, "main")
    assert window.document is main_doc and window.scene.graph is main_doc.graph
    # another project: the tabs go, a plain canvas comes back
    window.open_path(open_copy(window, tmp_path, RESOURCES / "examples" / "xor_mlp.dlsproj"))
    assert window._graph_tabs is None and window.canvas_stack.currentWidget() is window.view
    assert window.gan_panel.stack.currentWidget() is window.gan_panel.placeholder


def test_the_cross_graph_problem_is_in_the_problems_panel(window, tmp_path, qtbot):
    def bigger_input(data):
        data["graphs"]["discriminator"]["nodes"][0]["params"]["shape"] = [16, 16, 1]

    open_copy(window, tmp_path, DCGAN, bigger_input)
    qtbot.waitUntil(lambda: any("expects" in p.message for p in window.problems.problems()), timeout=10_000)
    messages = [p.message for p in window.problems.problems()]
    assert any("generator output Conv2D 'image'" in m and "discriminator input Input 'image'" in m for m in messages)
    # the generator's Input is noise: the digits dataset does not flag it
    assert not any("'noise'" in m and "dataset" in m for m in messages)
    # each tab locates the problem at its own node: the generator's output here
    [problem] = [p for p in window.problems.problems() if "expects" in p.message]
    image = window.document.graph.node_by_name("image")
    assert problem.node_ids == (image.id,)
    from dlstudio.qt.graph_tabs import show_graph

    show_graph(window, "discriminator")
    [problem] = [p for p in window.problems.problems() if "expects" in p.message]
    assert problem.node_ids == (window.document.graph.node_by_name("image").id,)
    assert window.document.graph.node(problem.node_ids[0]).type == "Input"
    assert not window.gan_panel.train()
    assert "GAN has problems" in window.gan_panel.error.text()


def test_train_a_few_steps_and_watch_the_grid_refresh(window, tmp_path, qtbot):
    def short(data):
        data["training"]["epochs"] = 3
        data["gan"]["sample_every"] = 5

    path = open_copy(window, tmp_path, RING, short)
    panel = window.gan_panel
    assert panel.stack.currentWidget() is panel.page
    assert window.train()  # F5 on a GAN project trains in the GAN panel
    assert not window.act_train.isEnabled()
    qtbot.waitUntil(lambda: len(panel.frames) >= 3, timeout=TIMEOUT)
    first = panel.frames[0][1]
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)
    steps = [s for s, _ in panel.frames]
    assert steps[0] == 0 and steps == sorted(steps) and steps[-1] == 3 * (1600 // 128)
    assert panel.slider.maximum() == len(panel.frames) - 1 and panel.slider.value() == panel.slider.maximum()
    assert panel.picture.has_picture()
    last = panel.frames[-1][1]
    assert isinstance(first, np.ndarray) and not np.array_equal(first, last)  # the samples moved
    assert len(panel.curves.series["d_loss"]) == steps[-1]
    panel.slider.setValue(0)
    assert panel.shown_step() == 0 and panel.step_label.text() == "step 0"
    assert "Finished after 36 steps" in panel.status.text()
    qtbot.waitUntil(panel.interp_view.has_picture, timeout=TIMEOUT)
    assert window.act_train.isEnabled()
    # the run is on disk: reopening the project shows its grids again
    runs = panel.gan_runs()
    assert len(runs) == 1 and runs[0].status == "finished"
    window.open_path(path)
    assert [s for s, _ in window.gan_panel.frames] == steps
    assert isinstance(window.gan_panel.frames[0][1], str)
    # save the generator as its own model
    target = tmp_path / "generator.keras"
    window.gan_panel.save_generator(str(target))
    qtbot.waitUntil(lambda: "Saved the generator" in window.gan_panel.status.text(), timeout=TIMEOUT)
    import keras

    model = keras.saving.load_model(target)
    assert model.output_shape == (None, 2)


def test_stop_keeps_a_stopped_run(window, tmp_path, qtbot):
    open_copy(window, tmp_path, RING)
    panel = window.gan_panel
    from PySide6.QtCore import Qt

    # the Training panel's own Train button sends a GAN project to the GAN panel too
    qtbot.mouseClick(window.training_panel.train_button, Qt.MouseButton.LeftButton)
    assert panel.is_running() and not window.training_panel.is_running()
    qtbot.waitUntil(lambda: panel.last_step is not None, timeout=TIMEOUT)
    window.stop_training()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)
    assert "Stopped after" in panel.status.text()
    assert panel.gan_runs()[-1].status == "stopped"
    assert panel.continue_button.isEnabled()
    stopped_at = panel.frames[-1][0]
    window.document.project.training.epochs = 1
    assert window.continue_training()  # Ctrl+F5 on a GAN project continues in the GAN panel
    assert panel.frames[0][0] == 0  # the first run's pictures stay on the slider
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)
    steps = [s for s, _ in panel.frames]
    assert steps == sorted(set(steps)) and steps[0] == 0 and steps[-1] == stopped_at + 1600 // 128
    runs = panel.gan_runs()
    assert len(runs) == 2 and runs[-1].info["continued_from"] == runs[0].id


def test_settings_edits_are_undoable(window, tmp_path, qtbot):
    open_copy(window, tmp_path, RING)
    form = window.gan_panel.settings
    project = window.document.project
    form.editors["g_learning_rate"].setValue(0.0005)
    form.editors["epochs"].setValue(7)
    assert project.gan.g_learning_rate == pytest.approx(0.0005) and project.training.epochs == 7
    window.document.undo_stack.undo()
    window.document.undo_stack.undo()
    assert project.gan.g_learning_rate == pytest.approx(0.002) and project.training.epochs == 100
    assert form.editors["g_learning_rate"].value() == pytest.approx(0.002)
