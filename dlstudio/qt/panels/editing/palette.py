"""The layer palette: every catalog layer, grouped by category, with search.

Drag a layer onto the canvas (mime type :data:`LAYER_MIME`, the type name as
data) or double-click it (``add_requested``). :func:`fuzzy_score` and
:func:`spec_score` are the one home of search matching; the canvas' quick-add
popup uses them too.
"""

from __future__ import annotations

import html
import re
from typing import Iterable

from PySide6.QtCore import QMimeData, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QDrag, QFont, QKeyEvent, QPainter, QPalette, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QLabel, QLineEdit, QMenu, QProgressBar, QStackedWidget, QTreeWidget,
    QTreeWidgetItem, QVBoxLayout, QWidget,
)

from dlstudio.qt.icons import category_icon, layer_icon, search_icon
from dlstudio.qt.keras_loader import catalog_ready, loader

#: Mime type of a layer dragged from the palette; the data is the type name (UTF-8).
LAYER_MIME = "application/x-dlstudio-layer"

TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


# ------------------------------------------------------------------ matching
def _boundaries(text: str) -> list[bool]:
    """Whether each character starts a word (camel case, digits, separators)."""
    out = []
    for i, ch in enumerate(text):
        if i == 0:
            out.append(True)
            continue
        prev = text[i - 1]
        out.append(
            not prev.isalnum()
            or (ch.isupper() and prev.islower())
            or (ch.isdigit() and not prev.isdigit())
            or (ch.isalpha() and prev.isdigit())
        )
    return out


def fuzzy_score(query: str, text: str) -> float | None:
    """How well ``query`` matches ``text``, case-insensitively; None for no match.

    Higher is better: an exact match beats a prefix, a prefix beats a substring
    at a word start, which beats any substring, which beats a subsequence
    ("gap" in "GlobalAveragePooling2D", "mp2" in "MaxPooling2D"); subsequences
    score higher when they hit word starts and consecutive letters. Spaces in
    the query are ignored; an empty query matches everything with 0.
    """
    q = "".join(query.lower().split())
    if not q:
        return 0.0
    t = text.lower()
    if not t:
        return None
    if t == q:
        return 1000.0
    if t.startswith(q):
        return 900.0 - min(len(t) - len(q), 100)
    starts = _boundaries(text)
    idx = t.find(q)
    if idx >= 0:
        while idx >= 0:
            if starts[idx]:
                return 700.0 - min(idx, 100) - min(len(t) - len(q), 100) * 0.5
            idx = t.find(q, idx + 1)
        return 500.0 - min(t.find(q), 100) - min(len(t) - len(q), 100) * 0.5
    if len(t) > 200 or len(q) > len(t):
        return None
    return _subsequence_score(q, t, starts)


def _subsequence_score(q: str, t: str, starts: list[bool]) -> float | None:
    """Best alignment of ``q`` as a subsequence of ``t`` (small dynamic programme)."""
    neg = float("-inf")
    n, m = len(q), len(t)
    prev = [neg] * m
    for j in range(m):
        if t[j] == q[0]:
            prev[j] = (10.0 if starts[j] else 1.0) + (10.0 if j == 0 else 0.0) - min(j, 20) * 0.3
    for i in range(1, n):
        cur = [neg] * m
        run = neg  # best prev[k] - 0.5 * (gap length) over k <= j - 2
        for j in range(1, m):
            if j >= 2:
                run = max(run, prev[j - 2]) - 0.5
            if t[j] != q[i]:
                continue
            bonus = 10.0 if starts[j] else 1.0
            cur[j] = max(prev[j - 1] + bonus + 6.0, run + bonus)
        prev = cur
    best = max(prev)
    if best == neg:
        return None
    return 100.0 + min(best, 390.0) - (len(t) - len(q)) * 0.2


def _word_prefix(token: str, text: str) -> bool:
    return re.search(r"(?<![a-z0-9])" + re.escape(token), text.lower()) is not None


def spec_score(query: str, spec) -> float | None:
    """How well a layer spec matches a search query; None when it does not.

    Every word of the query must match something: the type name (fuzzily),
    the category, a keyword (substring) or a word of the help text (prefix).
    """
    tokens = query.lower().split()
    if not tokens:
        return 0.0
    total = 0.0
    keywords = [k.lower() for k in getattr(spec, "keywords", ())]
    category = spec.category.lower()
    help_text = spec.help or ""
    for tok in tokens:
        best = fuzzy_score(tok, spec.type)
        if tok in category:
            best = max(best or 0.0, 350.0 if category.startswith(tok) else 300.0)
        for kw in keywords:
            if tok in kw:
                best = max(best or 0.0, 420.0 if _word_prefix(tok, kw) else 320.0)
        if best is None and len(tok) >= 2 and _word_prefix(tok, help_text):
            best = 150.0
        if best is None:
            return None
        total += best
    if len(tokens) > 1:  # "max pool" as one run of letters on the name
        whole = fuzzy_score(query, spec.type)
        if whole is not None:
            total = max(total, whole * len(tokens))
    return total


def rank_specs(query: str, specs: Iterable) -> list[tuple[float, object]]:
    """Matching specs, best first (stable for equal scores)."""
    scored = []
    for i, spec in enumerate(specs):
        s = spec_score(query, spec)
        if s is not None:
            scored.append((s, -i, spec))
    scored.sort(key=lambda x: (x[0], x[1]), reverse=True)
    return [(s, spec) for s, _, spec in scored]


def layer_tooltip(spec) -> str:
    """Rich-text tooltip of a layer type (rich text so that Qt wraps it)."""
    help_text = html.escape(spec.help) if spec.help else "<i>No description.</i>"
    return (f"<p style='white-space:pre'><b>{html.escape(spec.type)}</b> &nbsp;"
            f"<span style='opacity:0.7'>{html.escape(spec.category)}</span></p>"
            f"<p>{help_text}</p>")


def layer_mime_data(type_name: str) -> QMimeData:
    """The mime data of a layer dragged from the palette."""
    mime = QMimeData()
    mime.setData(LAYER_MIME, type_name.encode("utf-8"))
    mime.setText(type_name)
    return mime


# -------------------------------------------------------------------- widgets
class _LayerTree(QTreeWidget):
    """The tree of layers; builds drags with our mime type and a chip pixmap."""

    activated_layer = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setHeaderHidden(True)
        self.setColumnCount(1)
        self.setUniformRowHeights(True)
        self.setIndentation(14)
        self.setIconSize(QSize(20, 20))
        self.setDragEnabled(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setExpandsOnDoubleClick(True)
        self.setAnimated(False)
        self.setMouseTracking(True)
        self.itemDoubleClicked.connect(self._on_double_click)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, items) -> QMimeData:
        for item in items:
            type_name = item.data(0, TYPE_ROLE)
            if type_name:
                return layer_mime_data(type_name)
        return QMimeData()

    def supportedDragActions(self) -> Qt.DropAction:
        return Qt.DropAction.CopyAction

    def startDrag(self, actions) -> None:
        item = self.currentItem()
        type_name = item.data(0, TYPE_ROLE) if item is not None else None
        if not type_name:
            return
        drag = QDrag(self)
        drag.setMimeData(layer_mime_data(type_name))
        pixmap = self._chip(item)
        drag.setPixmap(pixmap)
        drag.setHotSpot(QPoint(pixmap.width() // (2 * max(1, round(pixmap.devicePixelRatio()))), 12))
        drag.exec(Qt.DropAction.CopyAction)

    def _chip(self, item: QTreeWidgetItem) -> QPixmap:
        """A rounded label with the layer's icon and name, shown while dragging."""
        font = QFont(self.font())
        font.setBold(True)
        text = item.text(0)
        from PySide6.QtGui import QFontMetrics

        fm = QFontMetrics(font)
        w, h = fm.horizontalAdvance(text) + 44, 26
        dpr = self.devicePixelRatioF()
        pm = QPixmap(int(w * dpr), int(h * dpr))
        pm.setDevicePixelRatio(dpr)
        pm.fill(Qt.GlobalColor.transparent)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        pal = self.palette()
        bg = QColor(pal.color(QPalette.ColorRole.Base))
        bg.setAlpha(235)
        p.setPen(pal.color(QPalette.ColorRole.Mid))
        p.setBrush(bg)
        p.drawRoundedRect(0.5, 0.5, w - 1, h - 1, 6, 6)
        item.icon(0).paint(p, QRect(5, 3, 20, 20))
        p.setFont(font)
        p.setPen(pal.color(QPalette.ColorRole.Text))
        p.drawText(QRect(32, 0, w - 36, h), Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft, text)
        p.end()
        return pm

    def _on_double_click(self, item: QTreeWidgetItem, _column: int) -> None:
        type_name = item.data(0, TYPE_ROLE)
        if type_name:
            self.activated_layer.emit(type_name)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            item = self.currentItem()
            type_name = item.data(0, TYPE_ROLE) if item is not None else None
            if type_name:
                self.activated_layer.emit(type_name)
                return
        super().keyPressEvent(event)


class _SearchEdit(QLineEdit):
    """The search field: Down moves into the list, Enter adds the best match."""

    move_down = Signal()
    accept_best = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Down:
            self.move_down.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.accept_best.emit()
            return
        if event.key() == Qt.Key.Key_Escape and self.text():
            self.clear()
            return
        super().keyPressEvent(event)


class PalettePanel(QWidget):
    """Every layer type of the catalog, grouped by category, searchable.

    Signals:
        add_requested(str): the user double-clicked a layer (or pressed Enter).
    """

    add_requested = Signal(str)
    block_requested = Signal(str)  # a library block's key (double-click in the Blocks section)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("PalettePanel")
        self._items: dict[str, QTreeWidgetItem] = {}
        self._categories: dict[str, QTreeWidgetItem] = {}
        self._specs: dict[str, object] = {}
        self._populated = False

        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.setSpacing(6)

        self.search = _SearchEdit(self)
        self.search.setPlaceholderText("Search layers")
        self.search.setClearButtonEnabled(True)
        self.search.setToolTip("Filter by name, category, keyword or description; Enter adds the best match")
        self.search.addAction(search_icon(self.palette()), QLineEdit.ActionPosition.LeadingPosition)
        self.search.textChanged.connect(self.set_filter)
        self.search.move_down.connect(self._focus_tree)
        self.search.accept_best.connect(self._add_current)
        layout.addWidget(self.search)

        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack, 3)
        from dlstudio.qt.panels.editing.block_palette import BlockList

        blocks_title = QLabel("<b>Blocks</b>", self)
        blocks_title.setToolTip("Groups of layers you can drop as one: from the lectures, and your own "
                                "(right-click a block on the canvas > Save to Block Library)")
        layout.addWidget(blocks_title)
        self.blocks = BlockList(self)
        self.blocks.add_requested.connect(self.block_requested)
        layout.addWidget(self.blocks, 1)

        self.tree = _LayerTree(self)
        self.tree.activated_layer.connect(self.add_requested)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)

        self._loading = QWidget(self)
        lay = QVBoxLayout(self._loading)
        lay.addStretch(1)
        self._loading_label = QLabel("Loading layers\u2026", self._loading)
        self._loading_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._loading_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._loading_label.setWordWrap(True)
        lay.addWidget(self._loading_label)
        self._busy = QProgressBar(self._loading)
        self._busy.setRange(0, 0)
        self._busy.setTextVisible(False)
        self._busy.setMaximumHeight(6)
        self._busy.setMaximumWidth(160)
        lay.addWidget(self._busy, 0, Qt.AlignmentFlag.AlignHCenter)
        lay.addStretch(2)

        self._no_match = QLabel(self)
        self._no_match.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
        self._no_match.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._no_match.setWordWrap(True)
        self._no_match.setContentsMargins(8, 24, 8, 8)

        self.stack.addWidget(self._loading)
        self.stack.addWidget(self.tree)
        self.stack.addWidget(self._no_match)
        self.search.setEnabled(False)

        ld = loader()
        ld.catalog_loaded.connect(self._on_ready)  # emitted before ready whenever the disk had no catalog
        ld.failed.connect(self._on_failed)
        if catalog_ready():
            self._on_ready()
        elif ld.error:
            self._on_failed(ld.error)
        else:
            self.stack.setCurrentWidget(self._loading)

    # ------------------------------------------------------------ public API
    def is_loading(self) -> bool:
        """True until the catalog is available."""
        return not self._populated

    def type_names(self, visible_only: bool = False) -> list[str]:
        """Layer types listed (in palette order); optionally only those not filtered out."""
        return [t for t, item in self._items.items()
                if not visible_only or not (item.isHidden() or item.parent().isHidden())]

    def item_for(self, type_name: str) -> QTreeWidgetItem | None:
        return self._items.get(type_name)

    def mime_data(self, type_name: str) -> QMimeData:
        """The drag payload for a layer type (mime :data:`LAYER_MIME`)."""
        return layer_mime_data(type_name)

    def filter_text(self) -> str:
        return self.search.text()

    def set_filter(self, text: str) -> None:
        """Show only layers (and blocks) matching ``text``; hide empty categories."""
        self.blocks.set_filter(text)
        if self.search.text() != text:
            self.search.setText(text)  # re-enters through textChanged
            return
        if not self._populated:
            return
        query = text.strip()
        best_item, best_score = None, None
        scores: dict[str, float | None] = {}
        for type_name, item in self._items.items():
            score = scores[type_name] = spec_score(query, self._specs[type_name])
            item.setHidden(score is None)
            if score is not None and query and (best_score is None or score > best_score):
                best_item, best_score = item, score
        self._order(scores if query else None)
        any_visible = False
        for cat_item in self._categories.values():
            visible = any(not cat_item.child(i).isHidden() for i in range(cat_item.childCount()))
            cat_item.setHidden(not visible)
            any_visible |= visible
            if query and visible:
                cat_item.setExpanded(True)
        if not any_visible:
            self._no_match.setText(f"No layer matches \u201c{html.escape(query)}\u201d.")
            self.stack.setCurrentWidget(self._no_match)
            return
        self.stack.setCurrentWidget(self.tree)
        if best_item is not None:
            self.tree.setCurrentItem(best_item)
            self.tree.scrollToItem(best_item)
        elif not query:
            self.tree.clearSelection()
            self.tree.scrollToTop()

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def visible_types(self) -> list[str]:
        """The layer types shown, top to bottom (best matches first while searching)."""
        out = []
        for i in range(self.tree.topLevelItemCount()):
            cat = self.tree.topLevelItem(i)
            if cat.isHidden():
                continue
            out += [cat.child(j).data(0, TYPE_ROLE) for j in range(cat.childCount()) if not cat.child(j).isHidden()]
        return out

    # ------------------------------------------------------------- internals
    def _order(self, scores: dict[str, float | None] | None) -> None:
        """While searching, the best matches first: layers within a category by score, and
        categories by their best layer (an exact or prefix match of a name comes before a
        word of a description); without a query, the catalog's own order."""
        cats = list(self._categories.values())
        if scores is None:
            ranked = cats
            children = {id(c): [self._items[t] for t in self._category_types[id(c)]] for c in cats}
        else:
            def score(type_name: str) -> float:
                value = scores.get(type_name)
                return value if value is not None else float("-inf")

            children = {id(c): sorted((self._items[t] for t in self._category_types[id(c)]),
                                      key=lambda it: -score(it.data(0, TYPE_ROLE))) for c in cats}
            ranked = sorted(cats, key=lambda c: -max((score(t) for t in self._category_types[id(c)]),
                                                     default=float("-inf")))
        current = [self.tree.topLevelItem(i) for i in range(self.tree.topLevelItemCount())]
        if current == ranked and all([c.child(j) for j in range(c.childCount())] == children[id(c)] for c in cats):
            return
        self.tree.setUpdatesEnabled(False)
        try:
            for cat in cats:
                cat.takeChildren()
                cat.addChildren(children[id(cat)])
            while self.tree.topLevelItemCount():
                self.tree.takeTopLevelItem(0)
            self.tree.addTopLevelItems(ranked)
            for cat in ranked:
                cat.setExpanded(True)
        finally:
            self.tree.setUpdatesEnabled(True)

    def _on_ready(self) -> None:
        if self._populated:
            return
        from dlstudio.catalog import categories

        self.tree.clear()
        self._items.clear()
        self._categories.clear()
        self._category_types: dict[int, list[str]] = {}  # the catalog's order, restored after a search
        bold = QFont(self.tree.font())
        bold.setBold(True)
        for category, specs in categories().items():
            cat_item = QTreeWidgetItem(self.tree, [category])
            cat_item.setFont(0, bold)
            cat_item.setIcon(0, category_icon(category))
            cat_item.setFlags(Qt.ItemFlag.ItemIsEnabled)
            cat_item.setToolTip(0, f"{category}: {len(specs)} layer{'s' if len(specs) != 1 else ''}")
            self._categories[category] = cat_item
            self._category_types[id(cat_item)] = [spec.type for spec in specs]
            for spec in specs:
                item = QTreeWidgetItem(cat_item, [spec.type])
                item.setData(0, TYPE_ROLE, spec.type)
                item.setIcon(0, layer_icon(spec.type, spec.category))
                item.setToolTip(0, layer_tooltip(spec))
                item.setStatusTip(0, spec.help)
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                self._items[spec.type] = item
                self._specs[spec.type] = spec
        self.tree.expandAll()
        self.blocks.reload()
        self._populated = True
        self.search.setEnabled(True)
        self.stack.setCurrentWidget(self.tree)
        self.set_filter(self.search.text())

    def _on_failed(self, message: str) -> None:
        if self._populated:
            return
        self._busy.hide()
        self._loading_label.setText(f"The layer catalog could not be loaded.\n\n{message}")
        self.stack.setCurrentWidget(self._loading)

    def _focus_tree(self) -> None:
        self.tree.setFocus(Qt.FocusReason.TabFocusReason)
        item = self.tree.currentItem()
        if item is None or item.isHidden() or not item.data(0, TYPE_ROLE):
            for t in self.type_names(visible_only=True)[:1]:
                self.tree.setCurrentItem(self._items[t])

    def _add_current(self) -> None:
        item = self.tree.currentItem()
        if item is not None and not item.isHidden() and item.data(0, TYPE_ROLE) and self.search.text().strip():
            self.add_requested.emit(item.data(0, TYPE_ROLE))

    def _context_menu(self, pos: QPoint) -> None:
        item = self.tree.itemAt(pos)
        type_name = item.data(0, TYPE_ROLE) if item is not None else None
        if not type_name:
            return
        menu = QMenu(self)
        act = QAction(f"Add {type_name} to the model", menu)
        act.triggered.connect(lambda: self.add_requested.emit(type_name))
        menu.addAction(act)
        menu.exec(self.tree.viewport().mapToGlobal(pos))
