"""Help: the bundled user guide (searchable, linked with the Gallery) and the list of
every keyboard shortcut, read from the window's actions."""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

from dlstudio import RESOURCES
from dlstudio.gallery import list_examples


def test_f1_opens_the_guide_with_every_example_linked(window, qtbot):
    assert window.act_guide.shortcut() == QKeySequence(QKeySequence.StandardKey.HelpContents)
    window.act_guide.trigger()
    guide = window.help_window
    assert guide.isVisible()
    text = guide.browser.toPlainText()
    for heading in ("Problems and one-click fixes", "Runs", "The command line", "Keyboard shortcuts"):
        assert heading in text
    entries, _ = list_examples()
    assert entries and all(e.title in text for e in entries)  # the examples, read from the gallery itself

    guide.search.setText("Latest run")
    assert guide.browser.textCursor().selectedText() == "Latest run" and guide.found.text() == ""
    guide.search.setText("no such words anywhere")
    assert guide.found.text() == "not found"

    opened = []
    guide.open_example = opened.append
    from PySide6.QtCore import QUrl

    guide.browser.anchorClicked.emit(QUrl("example:digits_cnn"))
    assert opened == [RESOURCES / "examples" / "digits_cnn.dlsproj"]


def test_the_gallery_shows_its_example_in_the_guide(window, qtbot):
    gallery = window.show_gallery()
    entry = gallery.entries[0]
    gallery.select(entry)
    qtbot.waitUntil(lambda: gallery.details.guide_button.isEnabled())
    gallery.details.guide_button.click()
    guide = window.help_window
    assert guide.isVisible() and guide.browser.textCursor().selectedText() == entry.title


def test_the_shortcut_list_has_every_actions_shortcut(window):
    dialog = window.show_shortcuts()
    listed = dialog.shortcuts()
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if keys:
            name = action.text().replace("&", "").rstrip("\u2026").strip()
            assert name in listed and all(k in listed[name] for k in keys), (name, keys)
    assert "F5" in listed["Train"] and "Ctrl+Y" in listed["Redo"]
    dialog.close()
