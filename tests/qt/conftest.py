"""GUI tests run offscreen; a modal dialog must never block a test run."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QMessageBox


@pytest.fixture(autouse=True)
def no_modal_dialogs(monkeypatch):
    """Static QMessageBox calls answer at once (Cancel/No) and are recorded;
    a test that needs another answer patches the one it uses."""
    shown: list[tuple[str, tuple]] = []

    def fake(kind):
        def answer(*args, **kwargs):
            shown.append((kind, args))
            if kind in ("warning", "question"):
                return QMessageBox.StandardButton.Cancel
            return QMessageBox.StandardButton.Ok
        return answer

    for kind in ("warning", "question", "critical", "information"):
        monkeypatch.setattr(QMessageBox, kind, fake(kind))
    monkeypatch.setattr(QMessageBox, "about", lambda *a, **k: shown.append(("about", a)))
    return shown


@pytest.fixture(autouse=True, scope="session")
def _clear_clipboard_at_exit(qapp):
    """Qt's offscreen platform crashes at interpreter exit while its clipboard
    still owns mime data (a Qt bug; xcb is fine): empty it after the session."""
    yield
    qapp.clipboard().clear()


@pytest.fixture(autouse=True)
def _background_tasks_end_with_their_test():
    """No pool task of one test may still run while the next test starts."""
    yield
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(60000)


@pytest.fixture
def restore_app_look(qapp):
    """For a test that changes the application's theme: style, palette and stylesheet
    come back afterwards (later tests check colours against the palette they set)."""
    palette, style, sheet = qapp.palette(), qapp.style().name(), qapp.styleSheet()
    yield qapp
    qapp.setStyle(style)
    qapp.setPalette(palette)
    qapp.setStyleSheet(sheet)
    qapp.setProperty("dlstudio_fusion", None)


@pytest.fixture
def window(qtbot, tmp_path, monkeypatch):
    """The main window as a user gets it (1400x900, Keras loaded), with its settings,
    recovery files and unsaved runs in tmp_path; any training is stopped afterwards and
    the window closes without asking to save."""
    from dlstudio.qt.keras_loader import loader

    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    assert loader().wait(120), loader().error
    from dlstudio.qt.main_window import MainWindow

    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: not w.loading.isVisible(), timeout=120_000)
    yield w
    w.training_panel.stop_and_wait(60_000)
    w.gan_panel.stop_and_wait(60_000)
    if w.document is not None:
        w.document.undo_stack.setClean()


@pytest.fixture
def isolated_editor(tmp_path, monkeypatch):
    """For a canvas test: settings in a folder of the test's own, Keras loaded."""
    from dlstudio.qt.keras_loader import loader

    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    assert loader().wait(120), loader().error


@pytest.fixture
def chain_editor(qtbot, isolated_editor):
    """A canvas on image (28x28x1) -> conv (Conv2D 8) -> flat (Flatten) -> out (Dense 10):
    (document, scene, view)."""
    from canvas_actions import chain_graph, open_editor

    doc, scene, view = open_editor(qtbot, chain_graph(), (900, 800), "chain")
    yield doc, scene, view
    doc.undo_stack.setClean()
