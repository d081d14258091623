"""One project, one truth (issue 14), from the user's steps: every panel that looks at
a trained run shows the run just trained, runs trained before the first save move with
the project, opening another project leaves nothing of the last one, and a GAN project
gets the GAN's panels and settings, not a classifier's."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox

from dlstudio import RESOURCES
from dlstudio.project import load_project, save_project
from dlstudio.qt.editor.settings_commands import SetTrainingSettingsCommand
from dlstudio.qt.panels.runs.run_combo import LATEST
from dlstudio.runs import list_runs, runs_dir

EXAMPLES = RESOURCES / "examples"
TIMEOUT = 120_000




def saved_copy(tmp_path: Path, example: str, epochs: int = 1, **options) -> Path:
    project = load_project(EXAMPLES / f"{example}.dlsproj")
    if options:
        project.dataset.options = {**project.dataset.options, **options}
    project.training = project.training.model_copy(update={"epochs": epochs, "batch_size": 64})
    path = tmp_path / f"{example}.dlsproj"
    save_project(project, path)
    return path


def train(window, qtbot) -> None:
    """F5, and wait until the training thread has ended (the runs are home then)."""
    with qtbot.waitSignal(window.training_panel.training_finished, timeout=TIMEOUT):
        window.act_train.trigger()
    qtbot.waitUntil(lambda: not window.training_panel.is_running(), timeout=TIMEOUT)


def run_panels(window) -> dict:
    return {"insight": window.insight_panel, "evaluation": window.evaluation_panel,
            "predict": window.predict_panel, "adversarial": window.adversarial_panel}


def test_every_run_panel_follows_each_new_training(window, qtbot, tmp_path):
    """Open digits_cnn, save, open Insight, train: Insight (and Evaluation, Predict,
    Adversarial) show the new run, not the untrained graph. Pick the first run by hand in
    Evaluation, train again: every panel shows the second run."""
    path = saved_copy(tmp_path, "digits_cnn")
    assert window.open_path(path)
    window.insight_dock.show()
    window.insight_dock.raise_()
    assert window.insight_panel.model_combo.currentText().startswith("Untrained")  # no run yet
    train(window, qtbot)
    first = list_runs(runs_dir(path))[-1]
    for name, panel in run_panels(window).items():
        assert panel.runs.run() is not None and panel.runs.run().id == first.id, name
    assert window.insight_panel.model_combo.currentData() == LATEST
    qtbot.waitUntil(lambda: window.insight_panel.insight is not None, timeout=TIMEOUT)
    assert "untrained" not in window.insight_panel.status.text().lower()

    window.evaluation_panel.set_run(first.id)  # a run picked by hand...
    train(window, qtbot)
    second = list_runs(runs_dir(path))[-1]
    assert second.id != first.id
    for name, panel in run_panels(window).items():  # ...and still a new training is what they show
        assert panel.runs.run().id == second.id, name
        assert panel.runs.combo.run_ids()[:2] == [second.id, first.id], name


def test_runs_trained_before_the_first_save_move_with_the_project(window, qtbot, tmp_path, monkeypatch):
    """Open an example (an untitled copy), F5, answer "No" (train without saving): every run
    panel lists the run. Ctrl+S: the run is in NAME.runs/, Runs lists it, nothing is left behind."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.open_example(EXAMPLES / "xor_mlp.dlsproj")
    assert window.document.path is None
    window.document.push(SetTrainingSettingsCommand(window.document, {"epochs": 2}))
    train(window, qtbot)
    scratch = window.document.runs.folder
    (run,) = list_runs(scratch)
    assert run.trained
    for name, panel in run_panels(window).items():
        assert panel.runs.run() is not None and panel.runs.run().id == run.id, name
    assert [r.id for r in window.runs_panel.runs] == [run.id]

    target = tmp_path / "mine.dlsproj"
    monkeypatch.setattr("dlstudio.qt.main_window.QFileDialog.getSaveFileName", lambda *a, **k: (str(target), ""))
    assert window.save()
    home = tmp_path / "mine.runs"
    assert (home / run.id / "run.json").is_file() and (home / run.id / "model.weights.h5").is_file()
    assert not scratch.exists()
    assert [r.id for r in window.runs_panel.runs] == [run.id]
    assert window.runs_panel.count_label.text().endswith("mine.runs")
    for name, panel in run_panels(window).items():
        assert panel.runs.run().path == home / run.id, name
    window.evaluation_dock.show()
    window.evaluation_dock.raise_()
    qtbot.waitUntil(lambda: window.evaluation_panel.evaluation is not None, timeout=TIMEOUT)
    assert window.evaluation_panel.evaluation.run_id == run.id


def test_two_untitled_projects_never_share_runs(window, qtbot, monkeypatch):
    """Two untitled copies of the same example train into folders of their own."""
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.No)
    window.open_example(EXAMPLES / "xor_mlp.dlsproj")
    window.document.push(SetTrainingSettingsCommand(window.document, {"epochs": 1}))
    train(window, qtbot)
    first_folder = window.document.runs.folder
    window.document.undo_stack.setClean()
    window.open_example(EXAMPLES / "xor_mlp.dlsproj")
    assert window.document.runs.folder != first_folder
    assert window.evaluation_panel.runs.run() is None and window.runs_panel.runs == []


def test_opening_another_project_leaves_nothing_of_the_last(window, qtbot, tmp_path):
    """Train spirals and attack it in the Adversarial tab; open digits_cnn: no panel shows
    the spirals run; File > Close: the status bar no longer talks of that training."""
    path = saved_copy(tmp_path, "spiral_mlp", epochs=2, samples=300)
    assert window.open_path(path)
    window.adversarial_dock.show()
    window.adversarial_dock.raise_()
    train(window, qtbot)
    qtbot.waitUntil(lambda: window.adversarial_panel.result is not None, timeout=TIMEOUT)
    assert "arm" in window.adversarial_panel.captions["original"].text()
    assert "Training finished" in window.notification_area.text()

    assert window.open_path(saved_copy(tmp_path, "digits_cnn"))
    adv = window.adversarial_panel
    assert adv.result is None and adv.runs.run() is None
    assert "arm" not in adv.captions["original"].text()
    assert window.evaluation_panel.evaluation is None and window.evaluation_panel.runs.run() is None
    assert window.predict_panel.prediction is None and window.predict_panel.runs.run() is None
    assert window.insight_panel.runs.run() is None
    assert window.runs_panel.runs == []
    assert window.notification_area.text() == ""
    assert "finished" not in window.training_panel.message.text().lower()

    window.close_project()
    assert window.notification_area.text() == ""


def test_a_new_training_starts_with_fresh_plot_axes(window, qtbot, tmp_path):
    """After a long training, the plots of the next one do not keep its epoch axis."""
    path = saved_copy(tmp_path, "xor_mlp", epochs=6)
    assert window.open_path(path)
    train(window, qtbot)
    plot = window.training_panel.plots.plot("loss")
    assert plot.vb.viewRange()[0][1] >= 5.5
    window.training_panel._clear_plots()
    plots = window.training_panel.plots
    assert all(all(p.vb.autoRangeEnabled()) for p in plots.plots.values())


def test_a_gan_project_gets_the_gan_panels_not_a_classifiers(window):
    """Open dcgan_digits: the GAN dock, no Insight/Evaluation/Predict/Adversarial, and the
    training settings show no classifier loss, metrics or adversarial training."""
    assert window.open_path(EXAMPLES / "dcgan_digits.dlsproj")
    assert window.gan_dock.isVisible()
    for dock in (window.insight_dock, window.evaluation_dock, window.predict_dock, window.adversarial_dock,
                 window.autoencoder_dock):
        assert not dock.isVisible(), dock.objectName()
    form = window.training_settings
    for name in ("loss", "adversarial", "early_stopping_patience", "validation_split"):
        assert not form.row_visible(name), name
    assert form.metrics_chooser.isHidden()
    for name in ("epochs", "batch_size", "seed"):
        assert form.row_visible(name), name
    assert window.open_path(EXAMPLES / "digits_cnn.dlsproj")  # and back: a classifier's panels
    assert window.evaluation_dock.isVisible() and window.adversarial_dock.isVisible()
    assert not window.gan_dock.isVisible()
    assert form.row_visible("loss") and not form.metrics_chooser.isHidden()
