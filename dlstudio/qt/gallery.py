"""The Gallery window: every lecture example as a card with a picture of its
graph and a short explanation, grouped by lecture (basics, regularisation,
CNNs, sequences, generative, adversarial), searchable. Selecting a card shows
the whole explanation and the result to expect; double-click, Enter or Open
opens the example as an untitled copy, as File > New from Example does.

The listing is :func:`dlstudio.gallery.list_examples` (JSON only, fast); the
pictures come from :mod:`dlstudio.qt.gallery_thumbnails` after the window is
shown (cached on disk), so the window appears at once.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QImage, QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from dlstudio.gallery import (
    CATEGORIES,
    GalleryEntry,
    by_category,
    list_examples,
    matches,
)
from dlstudio.qt.gallery_thumbnails import THUMB_SIZE, ThumbnailCache

CARD_WIDTH = THUMB_SIZE.width() + 16
SHORT_TEXT = 150  # characters of the description shown on a card
DETAILS_ZOOM = 1.4  # the selected example's picture, relative to a card's


ARROWS = (Qt.Key.Key_Left, Qt.Key.Key_Right, Qt.Key.Key_Up, Qt.Key.Key_Down)


def short_text(text: str, limit: int = SHORT_TEXT) -> str:
    """``text`` cut at a word boundary to at most ``limit`` characters, with an ellipsis."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:.")
    return cut + "\u2026"


class GalleryCard(QFrame):
    """One example: picture, title, the start of its explanation."""

    selected = Signal(object)  # GalleryEntry
    activated = Signal(object)  # GalleryEntry (double-click, Enter)
    navigate = Signal(object, int)  # GalleryEntry, the arrow key pressed on it

    def __init__(self, entry: GalleryEntry, parent: QWidget | None = None):
        super().__init__(parent)
        self.entry = entry
        self.setObjectName("galleryCard")
        self.setFixedWidth(CARD_WIDTH)
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setToolTip(entry.notes)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 10)
        layout.setSpacing(6)
        self.picture = QLabel(self)
        self.picture.setFixedSize(THUMB_SIZE)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setObjectName("galleryPicture")
        self.picture.setText("drawing\u2026")
        self.title = QLabel(entry.title, self)
        self.title.setObjectName("galleryTitle")
        self.title.setWordWrap(True)
        self.text = QLabel(short_text(entry.description), self)
        self.text.setObjectName("galleryText")
        self.text.setWordWrap(True)
        self.text.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.text.setMinimumHeight(self.text.fontMetrics().lineSpacing() * 4)
        layout.addWidget(self.picture)
        layout.addWidget(self.title)
        layout.addWidget(self.text, 1)
        self.set_selected(False)

    def set_picture(self, image: QImage) -> None:
        self.picture.setPixmap(QPixmap.fromImage(image))

    def set_failed(self, message: str) -> None:
        self.picture.setText(f"no picture:\n{short_text(message, 90)}")
        self.picture.setWordWrap(True)

    def set_selected(self, on: bool) -> None:
        self.setProperty("selectedCard", on)
        self.style().unpolish(self)
        self.style().polish(self)

    def mousePressEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.setFocus()
            self.selected.emit(self.entry)
        super().mousePressEvent(event)

    def mouseDoubleClickEvent(self, event) -> None:
        if event.button() == Qt.MouseButton.LeftButton:
            self.activated.emit(self.entry)

    def focusInEvent(self, event) -> None:
        self.selected.emit(self.entry)
        super().focusInEvent(event)

    def keyPressEvent(self, event) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter, Qt.Key.Key_Space):
            self.activated.emit(self.entry)
            return
        if event.key() in ARROWS:
            self.navigate.emit(self.entry, event.key())
            return
        super().keyPressEvent(event)


class GalleryDetails(QWidget):
    """The selected example: a larger picture, the whole explanation, the result to expect."""

    open_clicked = Signal()
    guide_clicked = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setMinimumWidth(320)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 4, 12, 12)
        layout.setSpacing(8)
        self.picture = QLabel(self)
        self.picture.setObjectName("galleryPicture")
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.picture.setMinimumHeight(THUMB_SIZE.height())
        self.title = QLabel(self)
        self.title.setObjectName("galleryDetailsTitle")
        self.title.setWordWrap(True)
        self.category = QLabel(self)
        self.category.setObjectName("galleryCategory")
        self.description = QLabel(self)
        self.description.setWordWrap(True)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_heading = QLabel("Result to expect", self)
        self.result_heading.setObjectName("galleryHeading")
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts = QLabel(self)
        self.facts.setObjectName("galleryFacts")
        self.facts.setWordWrap(True)
        self.open_button = QPushButton("Open example", self)
        self.open_button.setDefault(True)
        self.open_button.setToolTip("Open it as a new, untitled project (the example itself stays unchanged)")
        self.open_button.clicked.connect(self.open_clicked)
        self.guide_button = QPushButton("In the guide", self)
        self.guide_button.setToolTip("The user guide, at this example among the lectures")
        self.guide_button.clicked.connect(self.guide_clicked)
        for w in (self.picture, self.title, self.category, self.description, self.result_heading, self.result,
                  self.facts):
            layout.addWidget(w)
        layout.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(self.guide_button)
        row.addStretch(1)
        row.addWidget(self.open_button)
        layout.addLayout(row)
        self.show_entry(None)

    def show_entry(self, entry: GalleryEntry | None, image: QImage | None = None) -> None:
        self.entry = entry
        self.open_button.setEnabled(entry is not None)
        self.guide_button.setEnabled(entry is not None)
        if entry is None:
            self.title.setText("Choose an example")
            self.category.clear()
            self.description.setText("Each card is a working project from the lectures. Select one to read "
                                     "what it shows and the result it reaches; double-click it to open it.")
            for w in (self.result_heading, self.result, self.facts):
                w.setVisible(False)
            self.picture.clear()
            return
        self.title.setText(entry.title)
        self.category.setText(entry.category_title)
        self.description.setText(entry.description)
        self.result.setText(entry.claim or "(no result given)")
        facts = [f"dataset: {entry.dataset}" if entry.dataset else "",
                 f"{entry.layers} layers", f"{entry.epochs} epochs" if entry.epochs else "",
                 f"file: {entry.path.name}"]
        self.facts.setText("  \u00b7  ".join(f for f in facts if f))
        for w in (self.result_heading, self.result, self.facts):
            w.setVisible(True)
        self.set_picture(image)

    def set_picture(self, image: QImage | None) -> None:
        if image is None:
            self.picture.setText("drawing\u2026")
            return
        pixmap = QPixmap.fromImage(image)
        ratio = pixmap.devicePixelRatio() or 1.0
        width = min(self.width() - 24, int(pixmap.width() / ratio * DETAILS_ZOOM))
        if width > pixmap.width() / ratio:  # larger than a card's, as wide as the pane allows
            pixmap = pixmap.scaledToWidth(int(width * ratio), Qt.TransformationMode.SmoothTransformation)
            pixmap.setDevicePixelRatio(ratio)
        self.picture.setPixmap(pixmap)


STYLE = """
#galleryCard { background: palette(base); border: 1px solid palette(mid); border-radius: 8px; }
#galleryCard:hover { border: 1px solid palette(highlight); }
#galleryCard[selectedCard="true"] { border: 2px solid palette(highlight); }
#galleryCard:focus { outline: none; }
#galleryTitle { font-weight: 600; font-size: 11pt; }
#galleryText, #galleryFacts, #galleryCategory { color: palette(placeholder-text); }
#galleryDetailsTitle { font-weight: 600; font-size: 14pt; }
#galleryHeading { font-weight: 600; margin-top: 6px; }
#gallerySection { font-weight: 600; font-size: 13pt; margin-top: 10px; }
#gallerySectionNote { color: palette(placeholder-text); margin-bottom: 2px; }
#galleryPicture { border-radius: 6px; color: palette(placeholder-text); }
"""


class GalleryWindow(QWidget):
    """The gallery: search, cards by lecture, details of the selected one."""

    open_requested = Signal(object)  # Path of the example to open

    def __init__(self, parent: QWidget | None = None, folder: str | Path | None = None):
        super().__init__(parent, Qt.WindowType.Window)
        from dlstudio.qt.theme import is_dark

        self.setWindowTitle("Gallery \u2014 DL Studio")
        self.setObjectName("galleryWindow")
        self.setStyleSheet(STYLE)
        self.resize(1240, 780)
        entries, self.problems = list_examples(folder) if folder is not None else list_examples()
        self.entries = entries
        self.cards: dict[Path, GalleryCard] = {}
        self.current: GalleryEntry | None = None
        self.thumbnails = ThumbnailCache(is_dark(self.palette()), self)
        self.thumbnails.ready.connect(self._picture_ready)
        self.thumbnails.failed.connect(self._picture_failed)
        self._columns = 0
        self.pictures_requested = False  # True once the shown window asked for its pictures

        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search examples (title, idea, dataset, layer type)\u2026")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._filter)
        self.count = QLabel(self)
        self.count.setObjectName("galleryFacts")
        top = QHBoxLayout()
        top.addWidget(self.search, 1)
        top.addWidget(self.count)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.content = QWidget()
        self.sections = QVBoxLayout(self.content)
        self.sections.setContentsMargins(4, 0, 12, 12)
        self.sections.setSpacing(6)
        self._section_widgets: list[tuple[QLabel, QLabel, QWidget, QGridLayout, list[GalleryCard]]] = []
        notes = {key: note for key, _, note in CATEGORIES}
        for key, items in by_category(entries):
            header = QLabel(items[0].category_title, self.content)
            header.setObjectName("gallerySection")
            note = QLabel(notes.get(key, ""), self.content)
            note.setObjectName("gallerySectionNote")
            holder = QWidget(self.content)
            grid = QGridLayout(holder)
            grid.setContentsMargins(0, 0, 0, 0)
            grid.setSpacing(12)
            grid.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
            cards = []
            for entry in items:
                card = GalleryCard(entry, holder)
                card.selected.connect(self.select)
                card.activated.connect(self.open_entry)
                card.navigate.connect(self._navigate)
                self.cards[entry.path] = card
                cards.append(card)
            for w in (header, note, holder):
                self.sections.addWidget(w)
            self._section_widgets.append((header, note, holder, grid, cards))
        if self.problems:
            broken = QLabel("Not shown (broken files):\n" + "\n".join(self.problems), self.content)
            broken.setObjectName("gallerySectionNote")
            broken.setWordWrap(True)
            self.sections.addWidget(broken)
        self.sections.addStretch(1)
        self.scroll.setWidget(self.content)

        self.details = GalleryDetails(self)
        self.details.open_clicked.connect(lambda: self.current and self.open_entry(self.current))
        splitter = QSplitter(Qt.Orientation.Horizontal, self)
        left = QWidget(splitter)
        ll = QVBoxLayout(left)
        ll.setContentsMargins(12, 12, 0, 0)
        ll.addLayout(top)
        ll.addWidget(self.scroll, 1)
        splitter.addWidget(left)
        splitter.addWidget(self.details)
        splitter.setStretchFactor(0, 1)
        splitter.setStretchFactor(1, 0)
        splitter.setSizes([880, 360])
        splitter.setChildrenCollapsible(False)
        self.details.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(splitter)
        QShortcut(QKeySequence.StandardKey.Find, self, self.search.setFocus)
        QShortcut(QKeySequence(Qt.Key.Key_Escape), self, self.close)
        self._filter("")

    # ------------------------------------------------------------ layout
    def _visible_cards(self, cards: list[GalleryCard]) -> list[GalleryCard]:
        return [c for c in cards if not c.isHidden()]

    def _relayout(self, force: bool = False) -> None:
        width = self.scroll.viewport().width() - 16
        columns = max(1, (width + 12) // (CARD_WIDTH + 12))
        if columns == self._columns and not force:
            return
        self._columns = columns
        for header, note, holder, grid, cards in self._section_widgets:
            for card in cards:
                grid.removeWidget(card)
            shown = self._visible_cards(cards)
            for i, card in enumerate(shown):
                grid.addWidget(card, i // columns, i % columns)
            for w in (header, note, holder):
                w.setVisible(bool(shown))

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._relayout()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self._relayout(force=True)
        QTimer.singleShot(0, self._request_pictures)  # the window first, then the pictures

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange and hasattr(self, "thumbnails"):
            from dlstudio.qt.theme import is_dark

            if self.thumbnails.set_dark(is_dark(self.palette())) and self.isVisible():
                self._request_pictures()

    def _request_pictures(self) -> None:
        self.pictures_requested = True
        for path, card in self.cards.items():  # from the cache now, or drawn one by one
            image = self.thumbnails.get(path)
            if image is not None:
                card.set_picture(image)

    # ------------------------------------------------------------ actions
    def _filter(self, text: str) -> None:
        shown = 0
        for card in self.cards.values():
            hit = matches(card.entry, text)
            card.setHidden(not hit)
            shown += hit
        total = len(self.cards)
        self.count.setText(f"{total} examples" if shown == total else f"{shown} of {total} examples")
        self._relayout(force=True)
        self._follow_filter()

    def _follow_filter(self) -> None:
        """The details show an example the filter shows: the selected one while it matches,
        else the first one shown (none: "Choose an example")."""
        if self.current is not None and not self.cards[self.current.path].isHidden():
            return
        if self.current is None and not self.search.text().strip():
            return  # nothing chosen yet and nothing searched: "Choose an example"
        first = next((card for *_rest, cards in self._section_widgets for card in cards if not card.isHidden()),
                     None)
        if first is not None:
            self.select(first.entry)
            return
        if self.current is not None and self.current.path in self.cards:
            self.cards[self.current.path].set_selected(False)
        self.current = None
        self.details.show_entry(None)

    def select(self, entry: GalleryEntry) -> None:
        if self.current is not None and self.current.path in self.cards:
            self.cards[self.current.path].set_selected(False)
        self.current = entry
        self.cards[entry.path].set_selected(True)
        self.details.show_entry(entry, self.thumbnails.get(entry.path))

    def _navigate(self, entry: GalleryEntry, key: int) -> None:
        """Arrow keys move between the shown cards: left/right in reading order, up/down by grid rows."""
        rows = []  # (card, section, row, column) of every shown card, in reading order
        for section, (_h, _n, _holder, _grid, cards) in enumerate(self._section_widgets):
            for i, card in enumerate(self._visible_cards(cards)):
                rows.append((card, section, i // max(1, self._columns), i % max(1, self._columns)))
        here = next((k for k, r in enumerate(rows) if r[0].entry.path == entry.path), None)
        if here is None:
            return
        target = here
        if key in (Qt.Key.Key_Left, Qt.Key.Key_Right):
            target = here + (1 if key == Qt.Key.Key_Right else -1)
        else:
            _, section, row, column = rows[here]
            line = [(s, r) for _c, s, r, _col in rows]
            step = 1 if key == Qt.Key.Key_Down else -1
            lines = sorted(set(line), reverse=step < 0)
            following = [ln for ln in lines if (ln > (section, row) if step > 0 else ln < (section, row))]
            if following:
                candidates = [k for k, r in enumerate(rows) if (r[1], r[2]) == following[0]]
                target = min(candidates, key=lambda k: abs(rows[k][3] - column))
        if 0 <= target < len(rows) and target != here:
            card = rows[target][0]
            card.setFocus()
            self.scroll.ensureWidgetVisible(card, 0, 24)

    def select_path(self, path: str | Path) -> None:
        self.select(self.cards[Path(path)].entry)

    def open_entry(self, entry: GalleryEntry) -> None:
        self.open_requested.emit(entry.path)

    def _picture_ready(self, path: Path, image: QImage) -> None:
        card = self.cards.get(Path(path))
        if card is not None:
            card.set_picture(image)
        if self.current is not None and self.current.path == Path(path):
            self.details.set_picture(image)

    def _picture_failed(self, path: Path, message: str) -> None:
        card = self.cards.get(Path(path))
        if card is not None:
            card.set_failed(message)

    def sizeHint(self) -> QSize:
        return QSize(1240, 780)


def show_gallery(window: QWidget) -> GalleryWindow:
    """Show (or raise) ``window``'s gallery; opening an example calls ``window.open_example(path)``."""
    gallery = getattr(window, "_gallery_window", None)
    if gallery is None:
        gallery = GalleryWindow(window)
        gallery.open_requested.connect(lambda path: _open(window, gallery, path))
        gallery.details.guide_clicked.connect(
            lambda: gallery.current is not None and window.show_guide(gallery.current.title))
        window._gallery_window = gallery
    gallery.show()
    gallery.raise_()
    gallery.activateWindow()
    return gallery


def _open(window: QWidget, gallery: GalleryWindow, path: Path) -> None:
    gallery.hide()  # the example comes to the front in the main window
    window.open_example(Path(path))
