"""Qt infrastructure: settings and recent files, crash recovery, notifications, themes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time

import pytest
from PySide6.QtCore import QThread
from PySide6.QtGui import QColor, QPalette, QUndoCommand
from PySide6.QtWidgets import QApplication

from dlstudio.project import project_to_json
from dlstudio.qt import notifications as notif_mod
from dlstudio.qt import recovery as rec
from dlstudio.qt.document import Document
from dlstudio.qt.notifications import (
    Notification, NotificationArea, NotificationCenter, install_excepthooks, notifications,
    uninstall_excepthooks,
)
from dlstudio.qt.settings import RecentFiles, app_settings, config_dir
from dlstudio.qt.theme import (
    CANVAS_KEYS, apply_theme, canvas_colors, dark_palette, is_dark, light_palette,
    saved_theme_mode,
)


@pytest.fixture(autouse=True)
def isolated_config(tmp_path, monkeypatch):
    folder = tmp_path / "config"
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(folder))
    notifications().clear()
    yield folder
    notifications().clear()


def dead_pid() -> int:
    """The id of a process that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert not rec.pid_alive(proc.pid)
    return proc.pid


class AddDense(QUndoCommand):
    def __init__(self, doc: Document, units: int):
        super().__init__(f"Add Dense({units})")
        self.doc, self.units, self.node_id = doc, units, None

    def redo(self):
        self.node_id = self.doc.graph.add_node("Dense", {"units": self.units},
                                               id=self.node_id).id

    def undo(self):
        self.doc.graph.remove_node(self.node_id)


def edited_document(units: int = 7) -> Document:
    doc = Document()
    doc.push(AddDense(doc, units))
    assert doc.is_modified()
    return doc


# ------------------------------------------------------------------- settings
def test_settings_live_in_the_config_dir(isolated_config):
    s = app_settings()
    s.setValue("x/y", 3)
    s.sync()
    assert config_dir() == isolated_config
    assert os.path.dirname(s.fileName()) == str(isolated_config)
    assert int(app_settings().value("x/y")) == 3


def test_recent_files_order_dedupe_cap_and_missing(tmp_path):
    files = []
    for i in range(13):
        f = tmp_path / f"p{i}.dlsproj"
        f.write_text("{}")
        files.append(f)
    recent = RecentFiles()
    assert recent.paths() == []
    changed = []
    recent.changed.connect(lambda: changed.append(1))
    recent.add(files[0])
    assert recent.paths() == [files[0]]  # a single entry survives the INI round trip
    recent.add(files[1])
    recent.add(files[2])
    recent.add(files[0])  # again: moves to the front, not listed twice
    assert recent.paths() == [files[0], files[2], files[1]]
    assert changed
    recent.add(str(tmp_path / "sub" / ".." / "p1.dlsproj"))  # same file, other spelling
    assert recent.paths() == [files[1], files[0], files[2]]
    for f in files:
        recent.add(f)
    listed = recent.paths()
    assert len(listed) == 10
    assert listed == list(reversed(files))[:10]
    # shared through the settings file
    assert RecentFiles().paths() == listed
    # missing files are dropped when listed, and forgotten
    files[12].unlink()
    files[10].unlink()
    assert recent.paths() == [files[11], *reversed(files[3:10])]
    assert len(RecentFiles()._read()) == 8
    recent.remove(files[11])
    assert files[11] not in recent.paths()
    recent.clear()
    assert recent.paths() == [] and len(recent) == 0


# ------------------------------------------------------------------- recovery
def test_autosave_writes_only_while_modified(qtbot, isolated_config):
    doc = Document()
    mgr = rec.RecoveryManager(doc, interval_ms=20)
    qtbot.wait(120)
    assert not mgr.recovery_path.exists() and not mgr.is_active()
    assert mgr.tick() is False
    assert mgr.recovery_path.parent == isolated_config / "recovery"

    doc.push(AddDense(doc, 5))
    assert mgr.is_active()
    qtbot.waitUntil(mgr.recovery_path.exists, timeout=3000)
    qtbot.waitUntil(mgr.sidecar_path.exists, timeout=3000)
    assert mgr.recovery_path.read_text(encoding="utf-8") == project_to_json(doc.project)
    side = json.loads(mgr.sidecar_path.read_text(encoding="utf-8"))
    assert side["original_path"] is None and side["pid"] == os.getpid()
    assert abs(side["timestamp"] - time.time()) < 60

    # unchanged content is not rewritten; a new edit is
    assert mgr.tick() is False
    doc.push(AddDense(doc, 6))
    assert mgr.tick() is True
    assert '"units": 6' in mgr.recovery_path.read_text(encoding="utf-8")
    # a live process's autosave is not offered as a crash leftover
    assert rec.pending_recoveries() == []
    mgr.discard()
    assert not mgr.recovery_path.exists() and not mgr.is_active()


def test_clean_save_discards(qtbot, tmp_path):
    doc = edited_document()
    mgr = rec.RecoveryManager(doc, interval_ms=60_000)
    assert mgr.write_now()
    assert mgr.recovery_path.exists() and mgr.sidecar_path.exists()
    doc.save(tmp_path / "saved.dlsproj")
    assert not mgr.recovery_path.exists() and not mgr.sidecar_path.exists()
    assert not mgr.is_active()
    # editing again restarts autosaving, with the saved path in the sidecar
    doc.push(AddDense(doc, 9))
    assert mgr.is_active() and mgr.tick()
    side = json.loads(mgr.sidecar_path.read_text(encoding="utf-8"))
    assert side["original_path"] == str(tmp_path / "saved.dlsproj")
    # closing without a crash (e.g. "Don't Save")
    mgr.discard()
    assert not mgr.recovery_path.exists() and not mgr.sidecar_path.exists()


def test_crash_leftover_is_offered_and_restores_equal_content(qtbot, tmp_path):
    original = tmp_path / "model.dlsproj"
    doc = Document()
    doc.save(original)
    doc.push(AddDense(doc, 11))
    mgr = rec.RecoveryManager(doc, pid=dead_pid())  # the process that "crashed"
    assert mgr.write_now()
    expected = project_to_json(doc.project)

    entries = rec.pending_recoveries()
    assert len(entries) == 1
    entry = entries[0]
    assert entry.original_path == original
    assert entry.recovery_path == mgr.recovery_path
    assert entry.title == "model.dlsproj"
    assert abs(entry.time.timestamp() - time.time()) < 60
    project = entry.load()
    assert project.path == original
    assert project_to_json(project) == expected
    entry.discard()
    assert rec.pending_recoveries() == []


def test_second_crash_before_saving_loses_nothing(qtbot, tmp_path):
    # session 1: unsaved work, autosaved, then the process dies
    doc1 = edited_document(units=13)
    rec.RecoveryManager(doc1, pid=dead_pid()).write_now()
    content = project_to_json(doc1.project)

    # session 2: restores it ...
    [entry] = rec.pending_recoveries()
    doc2 = Document(entry.load())
    doc2.undo_stack.resetClean()
    assert doc2.is_modified()
    session2_pid = dead_pid()  # ... and will die before saving or autosaving
    mgr2 = rec.RecoveryManager(doc2, interval_ms=60_000, pid=session2_pid)
    mgr2.adopt(entry)
    assert mgr2.is_active() and not mgr2.recovery_path.exists()

    # session 3: the same work is offered again, unchanged
    [again] = rec.pending_recoveries()
    assert again.key == entry.key
    assert again.text() == content
    assert project_to_json(again.load()) == content
    assert again.original_path is None

    # while a live process holds the restored entry, nobody else is offered it
    live = rec.RecoveryManager(Document(again.load()))
    live.adopt(again)
    assert rec.pending_recoveries() == []
    live.stop()


def test_restored_entry_is_replaced_by_the_new_autosave_or_a_save(qtbot, tmp_path):
    doc1 = edited_document(units=17)
    rec.RecoveryManager(doc1, pid=dead_pid()).write_now()
    [entry] = rec.pending_recoveries()

    doc2 = Document(entry.load())
    doc2.undo_stack.resetClean()
    mgr2 = rec.RecoveryManager(doc2, interval_ms=20, pid=dead_pid())
    mgr2.adopt(entry)
    qtbot.waitUntil(lambda: mgr2.recovery_path.exists() and not entry.exists(), timeout=3000)
    mgr2.stop()  # session 2 crashes after its autosave
    [new] = rec.pending_recoveries()
    assert new.key == mgr2.key and new.text() == entry_text(doc1)

    # saving removes everything
    doc3 = Document(new.load())
    doc3.undo_stack.resetClean()
    mgr3 = rec.RecoveryManager(doc3, interval_ms=60_000)
    mgr3.adopt(new)
    doc3.save(tmp_path / "rescued.dlsproj")
    assert not new.exists() and not new.sidecar_path.exists()
    assert list((rec.recovery_dir()).glob("*.dlsproj")) == []


def entry_text(doc: Document) -> str:
    return project_to_json(doc.project)


def test_corrupt_recovery_files_are_skipped_with_a_notification(qtbot):
    good = edited_document(units=3)
    rec.RecoveryManager(good, pid=dead_pid()).write_now()
    folder = rec.recovery_dir()
    pid = dead_pid()
    (folder / "badjson.dlsproj").write_text("{ not json", encoding="utf-8")
    (folder / "badjson.json").write_text(json.dumps({"pid": pid, "original_path": None}))
    (folder / "badside.dlsproj").write_text(project_to_json(good.project), encoding="utf-8")
    (folder / "badside.json").write_text("\x00garbage")
    (folder / "notproject.dlsproj").write_text('{"format_version": 1, "graph": 5}')
    (folder / "notproject.json").write_text(json.dumps({"pid": pid}))

    with qtbot.waitSignal(notifications().posted, timeout=2000) as blocker:
        entries = rec.pending_recoveries()
    assert [e.title for e in entries] == ["Untitled (never saved)"]
    n = blocker.args[0]
    assert n.severity == "warning" and "3 damaged" in n.message
    assert "badjson.dlsproj" in n.details and "notproject.dlsproj" in n.details
    damaged = folder / "damaged"
    assert (damaged / "badjson.dlsproj").exists() and (damaged / "badside.json").exists()
    # reported once: the next start is quiet
    count = len(notifications().history)
    assert len(rec.pending_recoveries()) == 1
    assert len(notifications().history) == count


def test_unsaveable_project_keeps_previous_recovery_and_reports(qtbot):
    doc = edited_document(units=4)
    mgr = rec.RecoveryManager(doc, interval_ms=60_000)
    assert mgr.write_now()
    before = mgr.recovery_path.read_text(encoding="utf-8")
    node = doc.graph.nodes[0]
    doc.graph.set_param(node.id, "units", float("nan"))
    failures = []
    mgr.failed.connect(failures.append)
    with qtbot.waitSignal(notifications().posted, timeout=2000) as blocker:
        assert mgr.tick() is False
    assert blocker.args[0].severity == "warning"
    assert "Autosave failed" in blocker.args[0].message
    assert "previous autosave is kept" in blocker.args[0].message
    assert mgr.recovery_path.read_text(encoding="utf-8") == before
    count = len(notifications().history)
    assert mgr.tick() is False  # the same problem is not announced every minute
    assert len(notifications().history) == count and len(failures) == 2


def test_pid_alive():
    assert rec.pid_alive(os.getpid())
    assert not rec.pid_alive(dead_pid())
    assert not rec.pid_alive(None) and not rec.pid_alive(-1) and not rec.pid_alive(True)


# -------------------------------------------------------------- notifications
def test_notify_from_worker_thread_arrives_on_gui_thread(qtbot):
    center = NotificationCenter()
    seen = []
    center.posted.connect(lambda n: seen.append((n, QThread.currentThread() is
                                                 QApplication.instance().thread())))
    worker = threading.Thread(target=center.notify, args=("from worker", "warning", "more"),
                              name="worker-1")
    worker.start()
    worker.join()
    assert seen == []  # queued: delivered by the GUI event loop
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=2000)
    n, on_gui = seen[0]
    assert on_gui
    assert (n.message, n.severity, n.details, n.thread) == ("from worker", "warning", "more",
                                                            "worker-1")
    assert center.history == [n] and center.latest is n
    # from the GUI thread it is delivered at once; unknown severities become info
    center.notify("direct", "bogus")
    assert center.latest.message == "direct" and center.latest.severity == "info"
    center.clear()
    assert center.history == []


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_thread_exception_reaches_the_center(qtbot, monkeypatch):
    previous_calls = []
    monkeypatch.setattr(threading, "excepthook", lambda args: previous_calls.append(args.exc_type))
    install_excepthooks()
    try:
        assert threading.excepthook is notif_mod._thread_hook

        def boom():
            raise RuntimeError("boom in worker")

        with qtbot.waitSignal(notifications().posted, timeout=3000) as blocker:
            t = threading.Thread(target=boom, name="trainer")
            t.start()
            t.join()
        n: Notification = blocker.args[0]
        assert n.severity == "error"
        assert "trainer" in n.message and "boom in worker" in n.message
        assert "Traceback" in n.details and "RuntimeError: boom in worker" in n.details
        assert previous_calls == [RuntimeError]  # still logged by the previous hook
    finally:
        uninstall_excepthooks()
    assert threading.excepthook is not notif_mod._thread_hook


def test_sys_excepthook_forwards_and_chains(qtbot, monkeypatch):
    previous_calls = []
    monkeypatch.setattr(sys, "excepthook", lambda *a: previous_calls.append(a[0]))
    install_excepthooks()
    install_excepthooks()  # idempotent
    try:
        try:
            raise ValueError("bad value")
        except ValueError:
            sys.excepthook(*sys.exc_info())
        n = notifications().latest
        assert n.severity == "error" and "ValueError: bad value" in n.message
        assert "Traceback" in n.details
        assert previous_calls == [ValueError]
    finally:
        uninstall_excepthooks()


def test_notification_area_shows_latest(qtbot):
    center = NotificationCenter()
    center.notify("older message")
    area = NotificationArea(center)
    qtbot.addWidget(area)
    area.show()
    assert area.text() == "older message"
    center.notify("Model compiled", "info")
    assert area.text() == "Model compiled"
    assert area.button.text() == "Model compiled"
    assert not area.button.icon().isNull()
    assert area.unseen_errors == 0 and not area.is_flashing()

    center.notify("Training failed: out of memory\nsecond line", "error", "Traceback ...")
    assert area.latest.severity == "error"
    assert area.button.text() == "Training failed: out of memory"
    assert area.unseen_errors == 1 and area.badge.isVisibleTo(area)
    assert area.is_flashing()
    qtbot.wait(50)
    area.repaint()  # paints the highlight without trouble

    dialog = area.show_all()
    qtbot.addWidget(dialog)
    assert dialog.isVisible()
    assert area.unseen_errors == 0 and not area.badge.isVisibleTo(area)
    assert dialog.tree.topLevelItemCount() == 3
    assert "Traceback ..." in dialog.details.toPlainText()  # newest selected
    center.notify("while open", "error")
    assert dialog.tree.topLevelItemCount() == 4 and area.unseen_errors == 0
    dialog.copy_to_clipboard()
    center.clear()
    assert dialog.tree.topLevelItemCount() == 0 and area.text() == ""


# ---------------------------------------------------------------------- theme
def test_dark_and_light_themes(restore_app_look):
    app = restore_app_look
    assert apply_theme(app, "dark") == "dark"
    assert is_dark(app.palette())
    assert app.palette().color(QPalette.ColorRole.Window).lightness() < 80
    sheet = app.styleSheet()
    assert "QDockWidget::title" in sheet
    app.setStyleSheet("")
    assert app.style().name().lower() == "fusion"
    app.setStyleSheet(sheet)
    assert saved_theme_mode() == "dark"
    assert apply_theme(app) == "dark"  # the saved mode

    assert apply_theme(app, "light") == "light"
    assert not is_dark(app.palette())
    assert app.palette().color(QPalette.ColorRole.Window).lightness() > 200
    assert saved_theme_mode() == "light"
    assert apply_theme(app, "system") in ("light", "dark")
    assert saved_theme_mode() == "system"
    with pytest.raises(ValueError):
        apply_theme(app, "purple")


@pytest.mark.parametrize("palette", [dark_palette(), light_palette()], ids=["dark", "light"])
def test_canvas_colors(palette):
    colors = canvas_colors(palette)
    required = {"background", "grid_minor", "grid_major", "node_body", "node_border", "text",
                "muted_text", "selection", "error", "warning", "edge", "edge_label_background"}
    assert required <= set(colors) and set(colors) == set(CANVAS_KEYS)
    assert all(isinstance(c, QColor) and c.isValid() for c in colors.values())
    bg, text = colors["background"], colors["text"]
    assert abs(bg.lightness() - text.lightness()) > 150  # readable
    assert (bg.lightness() < 100) == is_dark(palette)
    assert colors["grid_minor"] != bg and colors["grid_major"] != colors["grid_minor"]
    assert colors["selection"] == palette.color(QPalette.ColorRole.Highlight)
