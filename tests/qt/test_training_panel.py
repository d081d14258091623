"""Training in the GUI: the worker thread, the live panel, the settings form,
the runs panel and the main window's Train/close handling (offscreen, tiny
XOR data, a few epochs). Every test leaves no training thread behind."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QMessageBox  # noqa: E402

from dlstudio import RESOURCES  # noqa: E402
from dlstudio.project import load_project, save_project  # noqa: E402
from dlstudio.runs import create_run, list_runs, open_run, runs_dir  # noqa: E402
from dlstudio.qt.keras_loader import loader  # noqa: E402

XOR = RESOURCES / "examples" / "xor_mlp.dlsproj"
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def keras_loaded():
    assert loader().wait(120), loader().error
    return True


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    return tmp_path / "config"


def xor_project(tmp_path, saved: bool = True, **training):
    project = load_project(XOR)
    project.dataset.options = {"samples": 200, "noise": 0.15}
    settings = {"epochs": 3, "batch_size": 16, "validation_split": 0.2, **training}
    project.training = project.training.model_copy(update=settings)
    if saved:
        save_project(project, tmp_path / "xor.dlsproj")
    else:
        project.path = None
    return project


@pytest.fixture
def make_doc(qtbot, tmp_path, keras_loaded):
    from dlstudio.qt.document import Document

    docs = []

    def make(saved: bool = True, **training):
        doc = Document(xor_project(tmp_path, saved, **training))
        doc.analyze_now()
        docs.append(doc)
        return doc

    yield make
    for doc in docs:
        doc.undo_stack.setClean()


@pytest.fixture
def panel(qtbot, keras_loaded):
    from dlstudio.qt.panels.training import training_panel as tp

    p = tp.TrainingPanel(None)
    qtbot.addWidget(p)
    p.resize(1000, 420)
    p.show()
    yield p
    assert p.stop_and_wait(TIMEOUT)
    qtbot.waitUntil(lambda: not p.is_running(), timeout=TIMEOUT)
    assert p.worker is None or not p.worker.is_running()
    assert not any(w.is_running() for w in tp._live_workers)


def press(qtbot, button):
    assert button.isEnabled()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def train_and_wait(qtbot, panel, button=None):
    with qtbot.waitSignal(panel.training_finished, timeout=TIMEOUT) as blocker:
        press(qtbot, button or panel.train_button)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)
    return blocker.args[0]


# ------------------------------------------------------------------ worker
def test_worker_emits_on_the_gui_thread_and_loads_data_there_not(qtbot, make_doc):
    import threading

    from dlstudio.qt.workers import TrainingWorker
    from dlstudio.training.events import BatchEnd, EpochEnd, Finished, Started

    doc = make_doc(epochs=2)
    loaded_on = []

    def load():
        from dlstudio.data import load_dataset

        loaded_on.append(threading.current_thread())
        return load_dataset("xor", {"samples": 200}, seed=0)

    worker = TrainingWorker(doc.graph, load, doc.project.training)
    events, threads = [], []
    worker.event.connect(lambda e: (events.append(e), threads.append(threading.current_thread())))
    with qtbot.waitSignals([worker.finished, worker.done], timeout=TIMEOUT, order="strict"):
        worker.start()
    assert not worker.is_running()
    assert loaded_on and loaded_on[0] is not threading.main_thread()
    assert set(threads) == {threading.main_thread()}
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Finished and kinds.count(EpochEnd) == 2
    assert BatchEnd in kinds
    assert worker.result is not None and worker.outcome is events[-1]
    # the graph was copied: edits while training cannot race with the engine
    assert worker.graph is not doc.graph


def test_worker_reports_a_dataset_error_as_failed(qtbot, make_doc):
    from dlstudio.project import DatasetRef
    from dlstudio.qt.workers import TrainingWorker

    doc = make_doc()
    worker = TrainingWorker(doc.graph, DatasetRef(name="no_such_dataset"), doc.project.training)
    with qtbot.waitSignal(worker.failed, timeout=TIMEOUT) as blocker:
        worker.start()
    assert worker.wait(TIMEOUT)
    assert "no_such_dataset" in blocker.args[0].message


# ------------------------------------------------------------------- panel
def test_train_fills_the_curves_and_shows_the_test_metrics(qtbot, panel, make_doc):
    from dlstudio.qt.panels.training.training_panel import REDRAW_MS

    doc = make_doc(epochs=4, batch_size=8)
    panel.set_document(doc)
    assert panel.stack.currentWidget() is panel.hint
    assert not panel.continue_button.isEnabled()  # nothing to continue yet
    raw = panel.plots.curve("batch_raw")
    calls = []
    original = raw.setData
    raw.setData = lambda *a, **k: (calls.append(1), original(*a, **k))[1]
    import time

    t0 = time.perf_counter()
    finished = train_and_wait(qtbot, panel)
    elapsed = time.perf_counter() - t0
    assert not finished.stopped and finished.epochs_done == 4
    s = panel.series
    from dlstudio.data import load_dataset

    n_train = len(load_dataset("xor", doc.project.dataset.options, seed=0).x_train)
    steps = math.ceil((n_train - int(n_train * 0.2)) / 8)  # 20% validation
    assert len(s["batch_raw"]) == 4 * steps == len(s["batch_smooth"])
    assert np.allclose(s["batch_raw"].x[:steps], (np.arange(steps) + 1) / steps)  # x in epochs
    assert list(s["loss"].x) == [1, 2, 3, 4] and len(s["val_loss"]) == 4
    assert len(s["accuracy"]) == 4 and len(s["val_accuracy"]) == 4
    assert list(s["lr"].y) == pytest.approx([doc.project.training.learning_rate] * 4)
    # the curves show the buffers
    x, _y = raw.getData()
    assert len(x) == len(s["batch_raw"])
    assert np.array_equal(panel.plots.curve("val_accuracy").getData()[1], s["val_accuracy"].y)
    assert "accuracy" in panel.plots.metric_names()
    # redrawn by the timer, not per event
    assert len(calls) <= elapsed * 1000 / REDRAW_MS + 3
    # the final metrics, the run on disk
    assert "Finished" in panel.message.text()
    text = panel.metrics_label.text()
    assert text.startswith("Test: accuracy") and "Validation: " in text
    assert f"{finished.metrics['test_accuracy'] * 100:.2f}%" in text
    run = open_run(finished.run_path)
    assert run.status == "finished" and run.path.parent.name == "xor.runs"
    assert panel.epoch_progress.value() == 1000 and panel.run_progress.value() == 1000
    assert "took" in panel.time_label.text() and "samples/s" in panel.speed_label.text()
    assert panel.continue_button.isEnabled() and panel.train_button.isEnabled()
    assert not panel.stop_button.isEnabled()


def test_stop_stops_within_a_batch_and_saves_the_run(qtbot, panel, make_doc, monkeypatch):
    from dlstudio.qt import workers
    from dlstudio.training.events import BatchEnd

    after_stop = []
    original = workers.TrainingWorker._emit

    def emit(self, ev):
        if isinstance(ev, BatchEnd) and self.stop_requested:
            after_stop.append(ev)
        original(self, ev)

    monkeypatch.setattr(workers.TrainingWorker, "_emit", emit)
    doc = make_doc(epochs=500, batch_size=8)
    panel.set_document(doc)
    press(qtbot, panel.train_button)
    assert panel.is_running() and panel.stop_button.isEnabled() and not panel.train_button.isEnabled()
    qtbot.waitUntil(lambda: len(panel.series["batch_raw"]) >= 10, timeout=TIMEOUT)
    with qtbot.waitSignal(panel.training_finished, timeout=TIMEOUT) as blocker:
        press(qtbot, panel.stop_button)
        assert not panel.stop_button.isEnabled()
    finished = blocker.args[0]
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)
    # the compiled call running when Stop was pressed, at most: one batch, or for a small
    # model the few batches of one steps_per_execution call (~30 ms; training/batch_losses.py)
    from dlstudio.training.batch_losses import MAX_STEPS

    assert len(after_stop) <= MAX_STEPS
    assert finished.stopped and finished.epochs_done < 500
    run = open_run(finished.run_path)
    assert run.status == "stopped" and run.weights_path.is_file()
    assert "Stopped" in panel.message.text()


def test_continue_starts_from_the_last_run(qtbot, panel, make_doc):
    doc = make_doc(epochs=2)
    panel.set_document(doc)
    first = train_and_wait(qtbot, panel)
    first_batches = len(panel.series["batch_raw"])
    second = train_and_wait(qtbot, panel, panel.continue_button)
    assert second.epochs_done == 4
    assert list(panel.series["loss"].x) == [1, 2, 3, 4]  # epoch numbers go on
    assert len(panel.series["batch_raw"]) == 2 * first_batches
    assert panel.series["batch_raw"].x[-1] == pytest.approx(4.0)
    run = open_run(second.run_path)
    assert run.info["continued_from"] == open_run(first.run_path).id
    assert len(run.history()["loss"]) == 4
    assert len(list_runs(runs_dir(doc.path))) == 2


def test_continue_prefills_the_curves_of_a_run_it_did_not_show(qtbot, panel, make_doc, tmp_path):
    doc = make_doc(epochs=2)
    panel.set_document(doc)
    first = train_and_wait(qtbot, panel)
    panel.set_document(doc)  # forget the plots, as after reopening the project
    assert len(panel.series["loss"]) == 0 and panel.continue_button.isEnabled()
    assert panel.continue_source().path == open_run(first.run_path).path
    second = train_and_wait(qtbot, panel, panel.continue_button)
    assert list(panel.series["loss"].x) == [1, 2, 3, 4]
    assert second.epochs_done == 4
    assert panel.series["batch_raw"].x[0] > 2.0  # this run's batches start after epoch 2


def test_invalid_graph_shows_the_problems_without_starting(qtbot, panel, make_doc):
    from dlstudio.qt.notifications import notifications

    doc = make_doc()
    doc.graph.set_param(doc.graph.node_by_name("hidden").id, "units", 0)
    panel.set_document(doc)
    press(qtbot, panel.train_button)
    assert panel.worker is None and not panel.is_running()
    assert panel.error_box.isVisible()
    text = panel.error_label.text()
    assert "problems" in text and "<li>" in text and "units" in text
    qtbot.waitUntil(lambda: notifications().latest is not None
                    and notifications().latest.severity == "error")
    assert "training did not start" in notifications().latest.message
    assert panel.train_button.isEnabled()


def test_a_failure_on_the_worker_is_shown_inline(qtbot, panel, make_doc):
    doc = make_doc()
    doc.graph.set_param(doc.graph.node_by_name("point").id, "shape", [3])  # xor gives 2 features
    doc.analyze_now()
    panel.set_document(doc)
    with qtbot.waitSignal(panel.training_failed, timeout=TIMEOUT) as blocker:
        press(qtbot, panel.train_button)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)
    assert "Input" in blocker.args[0].message
    assert panel.error_box.isVisible() and "shape" in panel.error_label.text()
    assert panel.train_button.isEnabled() and not panel.stop_button.isEnabled()


def test_unsaved_project_asks_and_cancel_does_not_start(qtbot, panel, make_doc, no_modal_dialogs):
    doc = make_doc(saved=False)
    panel.set_document(doc)
    panel.save_handler = lambda: pytest.fail("Cancel must not save")
    press(qtbot, panel.train_button)  # the test dialogs answer Cancel
    assert no_modal_dialogs and no_modal_dialogs[-1][0] == "question"
    assert panel.worker is None and "not started" in panel.message.text()


def test_unsaved_project_trains_with_runs_under_the_config_dir(qtbot, panel, make_doc, monkeypatch,
                                                               config_dir):
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    doc = make_doc(saved=False, epochs=1)
    panel.set_document(doc)
    panel.save_handler = lambda: pytest.fail("No must not save")
    finished = train_and_wait(qtbot, panel)
    run_path = open_run(finished.run_path).path
    assert config_dir.resolve() in run_path.resolve().parents
    assert str(run_path.parent) in panel.message.text()  # says where the run went


def test_screenshots_light_and_dark(qtbot, panel, make_doc, tmp_path):
    """Grabs the panel during and after a run in both palettes (looked at by hand;
    here: they render, and the palette reaches the plots)."""
    from PySide6.QtWidgets import QApplication

    from dlstudio.qt.theme import dark_palette, light_palette

    doc = make_doc(epochs=3)
    panel.set_document(doc)
    train_and_wait(qtbot, panel)
    app = QApplication.instance()
    old = app.palette()
    try:
        for name, pal in (("light", light_palette()), ("dark", dark_palette())):
            app.setPalette(pal)
            QApplication.processEvents()
            image = panel.grab().toImage()
            assert not image.isNull()
            bg = panel.plots.backgroundBrush().color()
            assert bg == pal.color(pal.ColorRole.Base)
            image.save(str(tmp_path / f"training_{name}.png"))
    finally:
        app.setPalette(old)


# ---------------------------------------------------------------- settings
@pytest.fixture
def form(qtbot, make_doc):
    from dlstudio.qt.panels.training.training_settings import TrainingSettingsForm

    doc = make_doc()
    f = TrainingSettingsForm(doc)
    qtbot.addWidget(f)
    f.show()
    return f


def _type(editor, text):
    editor.setFocus()
    editor.setText(text)
    editor.textEdited.emit(text)
    editor.editingFinished.emit()


def test_settings_edits_push_undoable_commands(form):
    doc = form.document
    stack = doc.undo_stack
    _type(form.editor("learning_rate"), "1e-2")
    assert doc.project.training.learning_rate == pytest.approx(0.01)
    assert stack.count() == 1 and stack.undoText() == "Set learning rate"
    stack.undo()
    assert doc.project.training.learning_rate == pytest.approx(0.03)
    assert form.editor("learning_rate").text() == "0.03"
    stack.redo()
    assert form.editor("learning_rate").text() == "0.01"

    form.editor("epochs").setValue(7)
    assert doc.project.training.epochs == 7 and stack.count() == 2
    form.editor("early_stopping_patience").setValue(5)
    assert doc.project.training.early_stopping_patience == 5
    form.editor("early_stopping_patience").setValue(0)  # "off"
    assert doc.project.training.early_stopping_patience is None
    assert form.editor("early_stopping_patience").text() == "off"
    form.editor("mixed_precision").setChecked(True)
    assert doc.project.training.mixed_precision is True
    assert doc.is_modified()


def test_settings_refuse_invalid_values_inline(form):
    doc = form.document
    for text in ("-1", "abc", "0", "11"):
        _type(form.editor("learning_rate"), text)
        assert form.field("learning_rate").error, text
        assert doc.undo_stack.count() == 0
    assert doc.project.training.learning_rate == pytest.approx(0.03)
    _type(form.editor("validation_split"), "0.95")
    assert form.field("validation_split").error and doc.undo_stack.count() == 0
    _type(form.editor("validation_split"), "1/4")
    assert doc.project.training.validation_split == pytest.approx(0.25)
    assert not form.field("validation_split").error


def test_settings_rows_follow_the_choices(form):
    def choose(name, value):
        f = form.field(name)
        f.editor.setCurrentIndex(f.choices().index(value))

    assert not form.row_visible("momentum")
    choose("optimizer", "sgd")
    assert form.document.project.training.optimizer == "sgd" and form.row_visible("momentum")
    assert not form.row_visible("lr_step_epochs") and not form.row_visible("lr_decay")
    choose("lr_schedule", "step")
    assert form.row_visible("lr_step_epochs") and form.row_visible("lr_decay")
    choose("lr_schedule", "plateau")
    assert not form.row_visible("lr_step_epochs") and form.row_visible("lr_decay")
    choose("lr_schedule", "cosine")
    assert not form.row_visible("lr_decay")
    assert not form.row_visible("restore_best_weights")
    form.editor("early_stopping_patience").setValue(3)
    assert form.row_visible("restore_best_weights")
    form.document.undo_stack.undo()  # undo hides it again
    assert not form.row_visible("restore_best_weights")
    loss = form.field("loss")
    assert loss.choices() == ["auto", "sparse_categorical_crossentropy", "categorical_crossentropy",
                              "binary_crossentropy", "mse", "mae", "huber"]
    assert "auto" in loss.editor.itemText(0)
    choose("loss", "huber")
    assert form.document.project.training.loss == "huber"
    device = form.field("device")
    assert device.choices()[:2] == ["auto", "cpu"]
    assert "Keras" in form.backend_label.text()


def test_set_training_settings_command_validates():
    from pydantic import ValidationError

    from dlstudio.project import new_project
    from dlstudio.qt.editor.settings_commands import SetTrainingSettingsCommand

    class Doc:
        project = new_project()

    doc = Doc()
    cmd = SetTrainingSettingsCommand(doc, {"batch_size": 64, "optimizer": "sgd"})
    cmd.redo()
    assert doc.project.training.batch_size == 64 and doc.project.training.optimizer == "sgd"
    cmd.undo()
    assert doc.project.training.batch_size == 32
    with pytest.raises(ValidationError):
        SetTrainingSettingsCommand(doc, {"validation_split": 2.0})
    assert doc.project.training.validation_split == 0.1


# -------------------------------------------------------------------- runs
def _fake_run(base, losses, status="finished", accuracy=0.9):
    run = create_run(base, {"status": status, "dataset": "xor", "settings": {"optimizer": "adam"}})
    history = {"loss": losses, "val_loss": [v * 1.1 for v in losses], "accuracy": [0.5 + i / 20 for i in
                                                                                   range(len(losses))]}
    run.write_history(history)
    run.weights_path.write_bytes(b"")
    run.update(epochs_done=len(losses), metrics={"test_accuracy": accuracy, "test_loss": losses[-1]})
    return run


def test_runs_panel_lists_runs_and_overlays_two(qtbot, make_doc, no_modal_dialogs, monkeypatch):
    from dlstudio.runs import runs_dir
    from dlstudio.qt.panels.training.runs_panel import RunsPanel

    doc = make_doc()
    base = runs_dir(doc.path)
    a = _fake_run(base, [0.7, 0.5, 0.4])
    b = _fake_run(base, [0.69, 0.6, 0.55, 0.5, 0.45], status="stopped", accuracy=0.8)
    panel = RunsPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(900, 300)
    panel.show()
    assert [r.id for r in panel.runs] == [a.id, b.id]  # oldest first, even within one second
    tree = panel.tree
    assert tree.topLevelItemCount() == 2
    headers = [tree.headerItem().text(i) for i in range(tree.columnCount())]
    assert headers[:4] == ["Run", "Status", "Epochs", "Dataset"] and "accuracy (test)" in headers
    row = {tree.topLevelItem(i).text(0): tree.topLevelItem(i) for i in range(2)}
    assert row[b.id].text(1) == "stopped" and row[b.id].text(2) == "5"
    assert row[a.id].text(headers.index("accuracy (test)")) == "90.00%"

    panel.select_runs([a.id, b.id])
    assert set(panel.curves) == {a.id, b.id}
    assert panel.current_metric() == "loss"
    assert list(panel.curves[b.id].getData()[1]) == pytest.approx([0.69, 0.6, 0.55, 0.5, 0.45])
    panel.set_metric("val_loss")
    assert list(panel.curves[a.id].getData()[1]) == pytest.approx([0.77, 0.55, 0.44])
    axis = panel.plot.getAxis("left")
    qtbot.wait(100)  # the view range settles, the axis picks its scale
    assert "loss" in axis.labelText and axis.range[1] < 1
    assert "x0.001" not in axis.labelString() and axis.scale == 1  # 0.4 reads 0.4, not 400 (x0.001)
    assert not panel.continue_button.isEnabled()  # one run at a time
    with qtbot.waitSignal(panel.continue_requested) as blocker:
        panel.select_runs([a.id])
        panel.continue_button.click()
    assert blocker.args[0] == str(a.path)

    panel.select_runs([b.id])
    assert not panel.delete_selected()  # the test dialogs answer Cancel
    assert b.path.is_dir() and no_modal_dialogs[-1][0] == "question"
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert panel.delete_selected()
    assert not b.path.exists() and [r.id for r in panel.runs] == [a.id]


def test_runs_panel_refuses_to_delete_a_run_in_training(qtbot, make_doc, monkeypatch):
    from dlstudio.runs import runs_dir
    from dlstudio.qt.panels.training.runs_panel import RunsPanel

    doc = make_doc()
    run = _fake_run(runs_dir(doc.path), [0.5], status="running")
    panel = RunsPanel(doc)
    qtbot.addWidget(panel)
    panel.busy_run = run.path
    panel.select_runs([run.id])
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    assert not panel.delete_selected() and run.path.is_dir()


# ------------------------------------------------------------- main window
@pytest.fixture
def window(qtbot, keras_loaded):
    from dlstudio.qt.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.show()
    qtbot.waitUntil(lambda: not w.loading.isVisible(), timeout=TIMEOUT)
    yield w
    w.training_panel.stop_and_wait(TIMEOUT)
    qtbot.waitUntil(lambda: not w.training_panel.is_running(), timeout=TIMEOUT)
    if w.document is not None:
        w.document.undo_stack.setClean()


def test_window_trains_with_f5_and_closing_stops_the_run(qtbot, window, tmp_path, monkeypatch):
    project = xor_project(tmp_path, epochs=500, batch_size=8)
    save_project(project, tmp_path / "xor.dlsproj")
    assert window.open_path(tmp_path / "xor.dlsproj")
    assert window.act_train.shortcut().toString() == "F5"
    assert window.act_train in window.model_menu.actions()
    assert window.training_settings.document is window.document
    window.act_train.trigger()
    assert window.training_panel.is_running() and window.act_stop_training.isEnabled()
    assert window.training_dock.isVisible()
    qtbot.waitUntil(lambda: len(window.training_panel.series["batch_raw"]) >= 5, timeout=TIMEOUT)
    qtbot.waitUntil(lambda: window.runs_panel.busy_run is not None, timeout=TIMEOUT)
    assert not window.close()  # the test dialogs answer Cancel: training goes on
    assert window.training_panel.is_running()
    asked = []
    monkeypatch.setattr(QMessageBox, "question",
                        lambda *a, **k: asked.append(a[1]) or QMessageBox.StandardButton.Yes)
    assert window.close()
    assert asked == ["Training is running"]
    assert window.training_panel.worker is not None and not window.training_panel.worker.is_running()
    runs = list_runs(runs_dir(tmp_path / "xor.dlsproj"))
    assert len(runs) == 1 and runs[0].status == "stopped" and runs[0].weights_path.is_file()
    assert json.loads((runs[0].path / "run.json").read_text())["epochs_done"] < 500


def test_adversarial_training_is_set_in_the_form(form):
    assert not form.row_visible("adversarial_eps") and not form.row_visible("adversarial_ratio")
    f = form.field("adversarial")
    f.editor.setCurrentIndex(f.choices().index("fgsm"))
    training = form.document.project.training
    assert training.adversarial == "fgsm"
    assert form.row_visible("adversarial_eps") and form.row_visible("adversarial_ratio")
    form.document.undo_stack.undo()
    assert form.document.project.training.adversarial == "none"


def test_live_curves_fill_the_plots_instead_of_the_epoch_budget(qtbot):
    """A 1500-epoch run shows its first epochs across the whole width; the x axes widen
    (by steps, never past the budget) as the curves near the right edge."""
    from dlstudio.qt.panels.training.training_plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.set_epochs(1500)
    assert plots.x_view() == 5
    plots.follow_x(3.0)
    assert plots.x_view() == 5  # room left: no change (no repaint of every plot)
    for x in np.linspace(0.1, 107, 400):
        plots.follow_x(float(x))
    assert 107 <= plots.x_view() <= 107 * 1.5 + 1  # the 107 epochs done fill most of the width
    lo, hi = plots.plot("loss").vb.viewRange()[0]
    assert hi == pytest.approx(plots.x_view(), rel=0.05)  # every plot follows (linked axes)
    for x in np.linspace(107, 1500, 200):
        plots.follow_x(float(x))
    assert plots.x_view() == 1500
    plots.set_epochs(2)
    assert plots.x_view() == 2


def test_every_plot_can_be_copied_and_saved_from_its_right_click_menu(qtbot, tmp_path, monkeypatch):
    """Right-click a plot (the training curves here; every plot installs the same menu):
    Copy Image puts it on the clipboard, Save as PNG / SVG write whole files."""
    from PySide6.QtCore import QPoint
    from PySide6.QtGui import QContextMenuEvent, QGuiApplication
    from PySide6.QtWidgets import QApplication, QFileDialog

    from dlstudio.qt.panels.training.training_plots import TrainingPlots

    plots = TrainingPlots()
    qtbot.addWidget(plots)
    plots.resize(600, 300)
    plots.show()
    qtbot.waitExposed(plots)
    view = plots.view
    at = QPoint(100, 100)
    QApplication.sendEvent(view.viewport(), QContextMenuEvent(QContextMenuEvent.Reason.Mouse, at,
                                                              view.viewport().mapToGlobal(at)))
    menu = view.plot_menu
    assert [a.text() for a in menu.actions()] == ["Copy Image", "Save Image as PNG…", "Save Image as SVG…"]
    QGuiApplication.clipboard().clear()
    menu.actions()[0].trigger()
    image = QGuiApplication.clipboard().image()
    assert not image.isNull() and image.width() >= 600
    for action, name in ((menu.actions()[1], "curves.png"), (menu.actions()[2], "curves")):
        monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, n=name, **k: (str(tmp_path / n), ""))
        action.trigger()
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in (tmp_path / "curves.svg").read_bytes()[:400]  # the suffix was added
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curves.png", "curves.svg"]  # no temporary left
