"""Help: the bundled user guide and the list of keyboard shortcuts.

The guide is ``resources/guide/user_guide.md`` rendered in the app, followed by the
gallery's examples by lecture, read from the examples themselves (their title and
the first paragraph of their notes), so that list never drifts from the Gallery; an
example's link opens it. A search field finds text in the guide (Enter: the next
match). The shortcuts dialog reads the window's own actions.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QKeySequence, QTextDocument
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from dlstudio import RESOURCES

GUIDE = RESOURCES / "guide" / "user_guide.md"
EXAMPLE_SCHEME = "example"  # example:STEM links open that example


def guide_markdown() -> str:
    """The guide's Markdown, with the examples by lecture appended."""
    from dlstudio.gallery import by_category, category_title, list_examples

    try:
        text = GUIDE.read_text(encoding="utf-8")
    except OSError as exc:
        text = f"# DL Studio user guide\n\nThe guide could not be read ({exc})."
    entries, _problems = list_examples()
    parts = [text.rstrip(), "", "## The examples, by lecture", "",
             "Each opens as an untitled copy (click its name); the Gallery shows them as cards with a "
             "picture of their graph.", ""]
    for key, group in by_category(entries):
        parts += [f"### {category_title(key)}", ""]
        for entry in group:
            what = " ".join(entry.description.split())
            parts.append(f"- [{entry.title}]({EXAMPLE_SCHEME}:{entry.path.stem}) — {what}")
        parts.append("")
    return "\n".join(parts)


class HelpWindow(QDialog):
    """The user guide. ``open_example(path)`` is called for an example's link."""

    def __init__(self, open_example: Callable[[Path], None] | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("DL Studio User Guide")
        self.setObjectName("HelpWindow")
        self.resize(820, 760)
        self.open_example = open_example
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Find in the guide (Enter: next)")
        self.search.setClearButtonEnabled(True)
        self.search.returnPressed.connect(self.find_next)
        self.search.textChanged.connect(lambda _t: self.find_next(from_start=True))
        self.found = QLabel(self)
        self.browser = QTextBrowser(self)
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._link)
        self.browser.setMarkdown(guide_markdown())
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.found)
        lay = QVBoxLayout(self)
        lay.addLayout(top)
        lay.addWidget(self.browser, 1)

    def find_next(self, from_start: bool = False) -> bool:
        """Select the next occurrence of the search text (wrapping); False when there is none."""
        text = self.search.text().strip()
        if not text:
            self.found.setText("")
            return False
        if from_start:
            cursor = self.browser.textCursor()
            cursor.movePosition(cursor.MoveOperation.Start)
            self.browser.setTextCursor(cursor)
        hit = self.browser.find(text)
        if not hit:  # wrap around
            cursor = self.browser.textCursor()
            cursor.movePosition(cursor.MoveOperation.Start)
            self.browser.setTextCursor(cursor)
            hit = self.browser.find(text)
        self.found.setText("" if hit else "not found")
        return hit

    def show_section(self, title: str) -> bool:
        """Scroll to the first heading or line that contains ``title``."""
        cursor = self.browser.document().find(title, 0, QTextDocument.FindFlag.FindCaseSensitively)
        if cursor.isNull():
            return False
        self.browser.setTextCursor(cursor)
        bar = self.browser.verticalScrollBar()  # the section at the top, not just in view
        bar.setValue(bar.value() + self.browser.cursorRect(cursor).top() - 6)
        return True

    def _link(self, url: QUrl) -> None:
        if url.scheme() == EXAMPLE_SCHEME and self.open_example is not None:
            self.open_example(RESOURCES / "examples" / f"{url.path()}.dlsproj")
        elif url.scheme() in ("http", "https", "file"):
            from PySide6.QtGui import QDesktopServices

            QDesktopServices.openUrl(url)


def shortcut_rows(window: QWidget) -> list[tuple[str, str, str]]:
    """(action, shortcut(s), what it does) for every action of ``window`` that has a shortcut,
    read from the actions themselves; sorted by action."""
    rows = {}
    for action in window.findChildren(QAction):
        keys = [k.toString(QKeySequence.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if not keys:
            continue
        name = action.text().replace("&", "").rstrip("…").strip() or action.objectName()
        rows[name] = (name, ", ".join(keys), action.toolTip() if action.toolTip() != action.text() else "")
    return sorted(rows.values(), key=lambda r: r[0].lower())


class ShortcutsDialog(QDialog):
    """Every keyboard shortcut of the window, from its actions."""

    def __init__(self, window: QWidget):
        super().__init__(window)
        self.setWindowTitle("Keyboard Shortcuts")
        self.resize(560, 560)
        rows = shortcut_rows(window)
        rows.append(("Add a layer by name (on the canvas)", "Tab, Space", "Type a few letters, Enter adds it"))
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Action", "Shortcut", "What it does"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        for i, (name, keys, tip) in enumerate(rows):
            for j, text in enumerate((name, keys, tip)):
                item = QTableWidgetItem(text)
                item.setToolTip(html.escape(text))
                self.table.setItem(i, j, item)
        self.table.resizeColumnsToContents()
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.table, 1)
        lay.addWidget(buttons)

    def shortcuts(self) -> dict[str, str]:
        return {self.table.item(i, 0).text(): self.table.item(i, 1).text() for i in range(self.table.rowCount())}
