"""The Text and Forecast panels (offscreen): samples appear epoch by epoch while a tiny
model trains, follow the temperature slider, and come from a trained run afterwards;
forecasts are drawn live and for a run; the main window has both docks."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from dlstudio import RESOURCES
from dlstudio.project import load_project, save_project
from dlstudio.qt.keras_loader import loader

TIMEOUT = 120_000


@pytest.fixture(scope="module")
def keras_loaded():
    assert loader().wait(120), loader().error
    return True


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))


def document(tmp_path, stem: str, options: dict, **training):
    from dlstudio.qt.document import Document

    project = load_project(RESOURCES / "examples" / f"{stem}.dlsproj")
    project.dataset.options = {**project.dataset.options, **options}
    project.training = project.training.model_copy(update=training)
    save_project(project, tmp_path / f"{stem}.dlsproj")
    d = Document(project)
    d.analyze_now()
    return d


@pytest.fixture
def training(qtbot, keras_loaded):
    from dlstudio.qt.panels.training.training_panel import TrainingPanel

    p = TrainingPanel(None)
    qtbot.addWidget(p)
    p.resize(900, 360)
    yield p
    assert p.stop_and_wait(TIMEOUT)
    qtbot.waitUntil(lambda: not p.is_running(), timeout=TIMEOUT)


def train(qtbot, panel):
    with qtbot.waitSignal(panel.training_finished, timeout=TIMEOUT):
        assert panel.train()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)


def test_text_appears_each_epoch_then_comes_from_the_run(qtbot, training, tmp_path):
    from dlstudio.qt.panels.sequences.sequence_docks import LIVE, follow_training
    from dlstudio.qt.panels.sequences.text_sample_panel import TextSamplePanel
    from dlstudio.training.events import TextSample

    doc = document(tmp_path, "char_lstm_hello", {"repeats": 10}, epochs=3, batch_size=8)
    text = TextSamplePanel(None)
    qtbot.addWidget(text)
    follow_training(training, text)
    training.set_document(doc)
    text.set_document(doc)
    text.show()
    assert training.live_options().sequences is text.settings
    text.set_temperature(0.0)
    text.length.setValue(12)
    text.prompt.setText("hel")
    text.settings.update(enabled=True)
    seen: list = []
    text.sample_shown.connect(seen.append)
    attention: list = []
    text.wants_attention.connect(lambda: attention.append(1))
    train(qtbot, training)
    qtbot.waitUntil(lambda: any(isinstance(s, TextSample) and s.epoch == 3 for s in seen), timeout=TIMEOUT)
    live = [s for s in seen if isinstance(s, TextSample)]
    assert live[0].epoch == 1 and live[0].prompt == "hel" and live[0].temperature == 0.0
    assert attention == [1]  # the dock is asked to the front once per training
    assert len(text.samples) == len(live) and set(text.latest_text()) <= set("helo")
    shown = text.text_view.toPlainText()
    assert "Epoch 3" in shown and shown.index("Epoch 3") < shown.index("Epoch 1")  # newest first

    # after training: the run, generated on a pool thread; temperature 0 is repeatable
    text.refresh_runs()
    assert text.runs.current() == LIVE and len(text.runs.run_ids()) == 1  # Live stays chosen
    seen.clear()
    with qtbot.waitSignal(text.sample_shown, timeout=TIMEOUT):
        text.runs.setCurrentIndex(1)  # "Latest run"
    first = seen[-1]
    assert first["prompt"] == "hel" and len(first["text"]) == 12 and first["temperature"] == 0.0
    with qtbot.waitSignal(text.sample_shown, timeout=TIMEOUT):
        text.write()
    assert seen[-1]["text"] == first["text"]
    with qtbot.waitSignal(text.sample_shown, timeout=TIMEOUT):  # the slider regenerates by itself
        text.set_temperature(1.5)
    assert seen[-1]["temperature"] == 1.5 and "temperature 1.50" in text.text_view.toPlainText()
    text.prompt.setText("xyz")
    text.write()
    qtbot.waitUntil(lambda: "never saw" in text.status.text() or "not in the vocabulary" in text.status.text(),
                    timeout=TIMEOUT)
    text.runs.setCurrentIndex(text.runs.findData(LIVE))
    assert text.samples == [] and "next training" in text.status.text()
    doc.undo_stack.setClean()


def test_translations_table_and_own_input(qtbot, training, tmp_path):
    from dlstudio.qt.panels.sequences.sequence_docks import follow_training
    from dlstudio.qt.panels.sequences.text_sample_panel import TextSamplePanel

    doc = document(tmp_path, "seq2seq_dates", {"samples": 300}, epochs=2, batch_size=64)
    text = TextSamplePanel(None)
    qtbot.addWidget(text)
    follow_training(training, text)
    training.set_document(doc)
    text.set_document(doc)
    train(qtbot, training)
    qtbot.waitUntil(lambda: text.table.rowCount() == 8, timeout=TIMEOUT)
    assert text.pages.currentIndex() == 1 and "greedy translations" in text.status.text()
    rows = [[text.table.item(r, c).text() for c in range(3)] for r in range(8)]
    assert all(len(src) == 10 and len(out) == 11 and len(truth) == 11 for src, out, truth in rows)
    text.refresh_runs()
    text.runs.blockSignals(True)
    text.runs.setCurrentIndex(1)
    text.runs.blockSignals(False)
    text.own.setText("2024-03-01")
    with qtbot.waitSignal(text.sample_shown, timeout=TIMEOUT):
        text.translate_own()
    assert text.table.rowCount() == 1 and text.table.item(0, 0).text() == "2024-03-01"
    assert len(text.table.item(0, 1).text()) == 11
    doc.undo_stack.setClean()


def test_forecast_is_drawn_live_and_for_a_run(qtbot, training, tmp_path):
    from dlstudio.qt.panels.sequences.forecast_panel import ForecastPanel
    from dlstudio.qt.panels.sequences.sequence_docks import follow_training

    doc = document(tmp_path, "forecast_sine", {"length": 400}, epochs=2, batch_size=32)
    panel = ForecastPanel(None)
    qtbot.addWidget(panel)
    follow_training(training, panel)
    assert training.sample_settings is not None  # forecasts are fed without a text panel too
    training.set_document(doc)
    panel.set_document(doc)
    panel.resize(600, 400)
    panel.show()
    assert panel.plot is None  # pyqtgraph waits for the first forecast
    shown: list = []
    panel.forecast_shown.connect(shown.append)
    train(qtbot, training)
    qtbot.waitUntil(lambda: len(shown) >= 1, timeout=TIMEOUT)
    f = shown[-1]
    assert panel.plot is not None and "Epoch 2" in panel.status.text()
    x, y = panel.curves["truth"].getData()
    assert np.array_equal(x, f.truth_t) and np.allclose(y, f.truth)
    assert len(panel.curves["free"].getData()[0]) == len(f.free) > 0
    assert panel.split_line.value() == f.split_index == 320
    panel.show_free.setChecked(False)
    assert panel.curves["free"].getData()[0] is None or len(panel.curves["free"].getData()[0]) == 0
    panel.refresh_runs()
    with qtbot.waitSignal(panel.forecast_shown, timeout=TIMEOUT):
        panel.runs.setCurrentIndex(1)
    assert "Run " in panel.status.text() and "free-running" in panel.status.text()
    doc.undo_stack.setClean()


def test_main_window_has_the_text_and_forecast_docks(qtbot, keras_loaded):
    from dlstudio.qt.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    assert w.text_dock.widget() is w.text_panel and w.forecast_dock.widget() is w.forecast_panel
    assert w.training_panel.sample_settings is w.text_panel.settings
    assert w.text_panel.document is w.document and w.forecast_panel.document is w.document
    assert w.forecast_panel.plot is None
    assert w.text_dock.isHidden() and w.forecast_dock.isHidden()  # an empty project: no room taken
    w.document.undo_stack.setClean()
    from dlstudio.qt.document import Document

    w.set_document(Document(load_project(RESOURCES / "examples" / "seq2seq_dates.dlsproj")))
    assert not w.text_dock.isHidden() and w.forecast_dock.isHidden()
    w.set_document(Document(load_project(RESOURCES / "examples" / "forecast_sine.dlsproj")))
    assert w.text_dock.isHidden() and not w.forecast_dock.isHidden()
    w.set_document(Document(load_project(RESOURCES / "examples" / "bilstm_classifier.dlsproj")))
    assert w.text_dock.isHidden() and w.forecast_dock.isHidden()  # a classifier writes no text
    w.text_panel.wants_attention.emit()  # the first sample of a training shows the dock anyway
    assert not w.text_dock.isHidden()
    w.document.undo_stack.setClean()
