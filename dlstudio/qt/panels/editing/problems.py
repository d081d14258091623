"""The problems list: every error and warning of the current analysis.

Each row shows a severity icon, the message and, below it, the hint. Clicking
(or pressing Enter on) a problem asks the editor to select its layers. A
problem that carries a fix shows a "Fix: ..." button instead of its hint (also
in the row's context menu); it applies the fix as one undoable step.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QModelIndex, QPoint, QRect, QSize, Qt, Signal
from PySide6.QtGui import QFont, QFontMetrics, QKeyEvent, QPainter, QPalette, QTextOption
from PySide6.QtWidgets import (
    QAbstractItemView, QApplication, QFrame, QLabel, QListWidget, QListWidgetItem, QMenu, QStackedWidget,
    QStyle, QStyledItemDelegate, QStyleOptionButton, QStyleOptionViewItem, QVBoxLayout, QWidget,
)
from shiboken6 import isValid

from dlstudio.compile.infer import Analysis
from dlstudio.graph import Problem
from dlstudio.qt.icons import severity_icon
from dlstudio.qt.keras_loader import catalog_ready, loader
from dlstudio.qt.signals import rebind

PROBLEM_ROLE = Qt.ItemDataRole.UserRole + 1
HINT_ROLE = Qt.ItemDataRole.UserRole + 2
FIX_ROLE = Qt.ItemDataRole.UserRole + 3  # the text of the row's fix button ("" without a fix)

_PAD = 6
_ICON = 16


def fix_text(problem: Problem) -> str:
    """The label of a problem's fix action ("Fix: Set units to 2"); "" without a fix."""
    return f"Fix: {problem.fix.label}" if problem.fix is not None else ""


class _ProblemDelegate(QStyledItemDelegate):
    """Two wrapped lines per problem: the message, then the hint in a softer colour;
    a problem with a fix has its button below them."""

    fix_clicked = Signal(QModelIndex)

    def _layout(self, option: QStyleOptionViewItem, index: QModelIndex, width: int):
        message = index.data(Qt.ItemDataRole.DisplayRole) or ""
        hint = index.data(HINT_ROLE) or ""
        text_w = max(40, width - _ICON - 3 * _PAD)
        fm = QFontMetrics(option.font)
        flags = int(Qt.TextFlag.TextWordWrap)
        msg_rect = fm.boundingRect(QRect(0, 0, text_w, 10_000), flags, message)
        hint_font = QFont(option.font)
        hint_rect = QRect()
        if hint:
            hint_rect = QFontMetrics(hint_font).boundingRect(QRect(0, 0, text_w, 10_000), flags, hint)
        return message, hint, hint_font, text_w, msg_rect.height(), hint_rect.height()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex) -> QSize:
        view = self.parent()
        width = view.viewport().width() if isinstance(view, QAbstractItemView) else option.rect.width()
        _, hint, _, _, mh, hh = self._layout(option, index, width)
        h = _PAD + mh + (2 + hh if hint else 0) + _PAD
        if index.data(FIX_ROLE):
            h += _button_height(option) + _PAD
        return QSize(width, max(h, _ICON + 2 * _PAD))

    def fix_rect(self, option: QStyleOptionViewItem, index: QModelIndex) -> QRect:
        """Where the fix button of the row at ``option.rect`` is (empty: no fix)."""
        text = index.data(FIX_ROLE)
        if not text:
            return QRect()
        rect = option.rect
        _, hint, _, text_w, mh, hh = self._layout(option, index, rect.width())
        x = rect.left() + _ICON + 2 * _PAD
        y = rect.top() + _PAD + mh + (2 + hh if hint else 0) + _PAD
        w = min(QFontMetrics(option.font).horizontalAdvance(text) + 24, text_w)
        return QRect(x, y, w, _button_height(option))

    def editorEvent(self, event, model, option: QStyleOptionViewItem, index: QModelIndex) -> bool:
        if (event.type() == QEvent.Type.MouseButtonRelease and event.button() == Qt.MouseButton.LeftButton
                and self.fix_rect(option, index).contains(event.position().toPoint())):
            self.fix_clicked.emit(QModelIndex(index))
            return True
        return super().editorEvent(event, model, option, index)

    def paint(self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex) -> None:
        opt = QStyleOptionViewItem(option)
        self.initStyleOption(opt, index)
        style = opt.widget.style() if opt.widget is not None else QApplication.style()
        text_opt = QStyleOptionViewItem(opt)
        text_opt.text = ""
        text_opt.icon = type(opt.icon)()
        text_opt.features &= ~QStyleOptionViewItem.ViewItemFeature.HasDecoration
        style.drawControl(QStyle.ControlElement.CE_ItemViewItem, text_opt, painter, opt.widget)

        rect = opt.rect
        message, hint, hint_font, text_w, mh, hh = self._layout(opt, index, rect.width())
        selected = bool(opt.state & QStyle.StateFlag.State_Selected)
        group = (QPalette.ColorGroup.Normal if opt.state & QStyle.StateFlag.State_Active
                 else QPalette.ColorGroup.Inactive)
        main = opt.palette.color(group, QPalette.ColorRole.HighlightedText if selected else QPalette.ColorRole.Text)
        soft = main if selected else opt.palette.color(group, QPalette.ColorRole.PlaceholderText)

        painter.save()
        icon = index.data(Qt.ItemDataRole.DecorationRole)
        if icon is not None:
            icon.paint(painter, QRect(rect.left() + _PAD, rect.top() + _PAD + 1, _ICON, _ICON))
        x = rect.left() + _ICON + 2 * _PAD
        topt = QTextOption()
        topt.setWrapMode(QTextOption.WrapMode.WordWrap)
        painter.setFont(opt.font)
        painter.setPen(main)
        painter.drawText(QRect(x, rect.top() + _PAD, text_w, mh), int(Qt.TextFlag.TextWordWrap), message)
        if hint:
            painter.setFont(hint_font)
            painter.setPen(soft)
            painter.drawText(QRect(x, rect.top() + _PAD + mh + 2, text_w, hh), int(Qt.TextFlag.TextWordWrap), hint)
        fix = index.data(FIX_ROLE)
        if fix:
            button = QStyleOptionButton()
            button.rect = self.fix_rect(opt, index)
            button.text = fix
            button.palette = opt.palette
            button.fontMetrics = opt.fontMetrics
            button.state = QStyle.StateFlag.State_Enabled | QStyle.StateFlag.State_Raised
            painter.setFont(opt.font)
            style.drawControl(QStyle.ControlElement.CE_PushButton, button, painter, opt.widget)
        painter.restore()


def _button_height(option: QStyleOptionViewItem) -> int:
    return QFontMetrics(option.font).height() + 10


class _ProblemList(QListWidget):
    enter_pressed = Signal(QListWidgetItem)

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.currentItem() is not None:
            self.enter_pressed.emit(self.currentItem())
            return
        super().keyPressEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self.scheduleDelayedItemsLayout()  # wrapped rows change height with the width


class ProblemsPanel(QWidget):
    """The current analysis' problems, errors first.

    Signals:
        problem_activated(list): node ids of a clicked problem (the panel also
            emits ``document.selection_requested`` with them when there are any).
        count_changed(int): the number of problems, after every analysis.
    """

    problem_activated = Signal(list)
    count_changed = Signal(int)
    fix_applied = Signal(object)  # the Problem whose fix was applied

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ProblemsPanel")
        self.document = None
        self._problems: list[Problem] = []

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        self.stack = QStackedWidget(self)
        layout.addWidget(self.stack)

        self.list = _ProblemList(self)
        self.delegate = _ProblemDelegate(self.list)
        self.delegate.fix_clicked.connect(lambda index: self.apply_fix(index.data(PROBLEM_ROLE)))
        self.list.setItemDelegate(self.delegate)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._context_menu)
        self.list.setFrameShape(QFrame.Shape.NoFrame)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setVerticalScrollMode(QAbstractItemView.ScrollMode.ScrollPerPixel)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setResizeMode(QListWidget.ResizeMode.Adjust)
        self.list.setWordWrap(True)
        self.list.setMouseTracking(True)
        self.list.itemClicked.connect(self._activate)
        self.list.enter_pressed.connect(self._activate)

        self._empty = QWidget(self)
        empty_layout = QVBoxLayout(self._empty)
        empty_layout.addStretch(1)
        self._empty_icon = QLabel(self._empty)
        self._empty_icon.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_label = QLabel(self._empty)
        self._empty_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._empty_label.setWordWrap(True)
        self._empty_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        empty_layout.addWidget(self._empty_icon)
        empty_layout.addWidget(self._empty_label)
        empty_layout.addStretch(2)

        self.stack.addWidget(self._empty)
        self.stack.addWidget(self.list)
        loader().catalog_loaded.connect(self._on_ready)
        self.set_document(document)

    # ------------------------------------------------------------ public API
    def set_document(self, document) -> None:
        rebind(self.document, None, ("analysis_changed", self.set_analysis))
        self.document = document
        self._show_placeholder()
        if document is None:
            return
        document.analysis_changed.connect(self.set_analysis)
        document.project_data.follow()  # the problems of the model against its data need the data
        if document.analysis is not None:
            self.set_analysis(document.analysis)

    def problems(self) -> list[Problem]:
        """The problems shown, in list order."""
        return list(self._problems)

    def count(self) -> int:
        return len(self._problems)

    def error_count(self) -> int:
        return sum(1 for p in self._problems if p.is_error)

    def item_for(self, problem: Problem) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            if self.list.item(i).data(PROBLEM_ROLE) == problem:
                return self.list.item(i)
        return None

    def fix_button_rect(self, problem: Problem) -> QRect:
        """The fix button of ``problem``'s row in viewport coordinates (empty: none)."""
        item = self.item_for(problem)
        if item is None:
            return QRect()
        option = QStyleOptionViewItem()
        option.initFrom(self.list)
        option.font = self.list.font()
        option.rect = self.list.visualItemRect(item)
        return self.delegate.fix_rect(option, self.list.indexFromItem(item))

    def apply_fix(self, problem: Problem | None) -> bool:
        """Apply ``problem``'s fix to the document as one undoable step."""
        if problem is None or problem.fix is None or self.document is None:
            return False
        self.document.apply_fix(problem.fix)
        self.fix_applied.emit(problem)
        return True

    def context_menu(self, problem: Problem) -> QMenu:
        """The actions on one problem: its fix, and showing its layers."""
        menu = QMenu(self)
        if problem.fix is not None:
            menu.addAction(fix_text(problem), lambda: self.apply_fix(problem))
        if problem.node_ids and self.document is not None:
            many = len(problem.node_ids) > 1
            menu.addAction("Show the layers" if many else "Show the layer",
                           lambda: self.document.selection_requested.emit(list(problem.node_ids)))
        return menu

    def placeholder_text(self) -> str:
        """The text shown instead of the list ("No problems", "Loading layers…")."""
        return self._empty_label.text() if self.stack.currentWidget() is self._empty else ""

    def set_analysis(self, analysis: Analysis | None) -> None:
        if not isValid(self):
            return
        if analysis is None:
            self._problems = []
            self._show_placeholder()
            self.count_changed.emit(0)
            return
        # errors first, otherwise in the analysis' order
        problems = sorted(analysis.problems, key=lambda p: 0 if p.is_error else 1)
        current = self.list.currentItem().data(PROBLEM_ROLE) if self.list.currentItem() else None
        self._problems = problems
        self.list.clear()
        for p in problems:
            item = QListWidgetItem(severity_icon(p.severity), sentence(p.message))
            item.setData(PROBLEM_ROLE, p)
            item.setData(HINT_ROLE, sentence(p.hint) if p.hint and p.fix is None else "")  # the button says it
            item.setData(FIX_ROLE, fix_text(p))
            tip = f"{p.severity.capitalize()}: {sentence(p.message)}"
            if p.hint:
                tip += f"\nTo do: {sentence(p.hint)}"
            if p.fix is not None:
                tip += f"\n\nThe {fix_text(p)} button does it for you (Edit > Undo takes it back)."
            if p.node_ids:
                tip += "\n\nClick to select the layer" + ("s" if len(p.node_ids) > 1 else "") + " involved."
            item.setToolTip(tip)
            self.list.addItem(item)
            if p == current:
                self.list.setCurrentItem(item)
        if problems:
            self.stack.setCurrentWidget(self.list)
        elif analysis.pending:
            self._show_placeholder(pending=True)
        else:
            self._show_placeholder(clean=True)
        self.count_changed.emit(len(problems))

    # ------------------------------------------------------------- internals
    def _show_placeholder(self, clean: bool = False, pending: bool = False) -> None:
        if pending:
            self._empty_icon.clear()
            self._empty_label.setText("Checking\u2026 (layers not seen before wait for TensorFlow to load)")
        elif clean:
            self._empty_icon.setPixmap(severity_icon("ok").pixmap(QSize(24, 24), self.devicePixelRatioF()))
            self._empty_label.setText("No problems")
        else:
            self._empty_icon.clear()
            self._empty_label.setText("Loading layers\u2026" if not catalog_ready() else "Not analysed yet")
        self.stack.setCurrentWidget(self._empty)

    def _on_ready(self) -> None:
        if isValid(self) and self.document is not None and self.document.analysis is None:
            self._show_placeholder()

    def _context_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        problem = item.data(PROBLEM_ROLE) if item is not None else None
        if problem is None:
            return
        menu = self.context_menu(problem)
        if not menu.isEmpty():
            menu.exec(self.list.viewport().mapToGlobal(pos))
        menu.deleteLater()

    def _activate(self, item: QListWidgetItem) -> None:
        problem = item.data(PROBLEM_ROLE)
        if problem is None:
            return
        ids = list(problem.node_ids)
        if ids and self.document is not None:
            self.document.selection_requested.emit(ids)
        self.problem_activated.emit(ids)


def sentence(text: str) -> str:
    """Capitalise the first letter and end with a full stop, for display."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."
