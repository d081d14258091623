"""Widgets of the data panel: the sample grid, option fields and small helpers."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QImage,
    QPainter,
    QPalette,
    QPen,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QSpinBox,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QToolButton,
    QWidget,
)

from dlstudio.data.grid import (
    as_rgb_uint8,
)

NAME_ROLE = Qt.ItemDataRole.UserRole + 1  # marks dataset rows (not category titles) in the combo


def section_header(title: str, parent: QWidget) -> QWidget:
    """A small upper-case section title with a rule, as in the inspector."""
    w = QWidget(parent)
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 6, 0, 2)
    lay.setSpacing(6)
    label = QLabel(title.upper(), w)
    font = QFont(label.font())
    font.setBold(True)
    font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
    font.setLetterSpacing(QFont.SpacingType.PercentageSpacing, 106)
    label.setFont(font)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    line = QFrame(w)
    line.setFrameShape(QFrame.Shape.HLine)
    line.setFrameShadow(QFrame.Shadow.Sunken)
    line.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
    lay.addWidget(label)
    lay.addWidget(line, 1)
    w.title_label = label  # type: ignore[attr-defined]
    return w


def muted_label(text: str, parent: QWidget, wrap: bool = True) -> QLabel:
    label = QLabel(text, parent)
    label.setWordWrap(wrap)
    label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
    return label


def sample_stepper(parent: QWidget, go_to, edited) -> tuple[QToolButton, QSpinBox, QToolButton]:
    """The ``\u25c0 #N \u25b6`` controls that pick a sample by number: ``go_to(n)`` when a
    button steps to the previous or next sample, ``edited()`` when the number is typed."""
    index = QSpinBox(parent)
    index.setRange(0, 10**7)
    index.setPrefix("#")
    index.setKeyboardTracking(False)
    index.valueChanged.connect(lambda _v: edited())
    buttons = []
    for text, tip, step in (("\u25c0", "Previous sample", -1), ("\u25b6", "Next sample", 1)):
        button = QToolButton(parent)
        button.setText(text)
        button.setToolTip(tip)
        button.clicked.connect(lambda _=False, step=step: go_to(index.value() + step))
        buttons.append(button)
    return buttons[0], index, buttons[1]


def shape_text(shape) -> str:
    """``(8, 8, 1)`` -> ``8×8×1``; ``()`` -> ``scalar``."""
    return "\u00d7".join(str(d) for d in shape) if len(shape) else "scalar"


# ------------------------------------------------------------- sample grid
class SampleGrid(QWidget):
    """Images painted as crisp tiles with optional captions; click selects one.

    ``set_samples(images (N, H, W, C) in [0, 1], captions | None)``. The
    number of columns follows the width unless fixed by ``columns``.
    """

    selected = Signal(int)

    def __init__(self, parent: QWidget | None = None, *, columns: int | None = None,
                 captions: bool = True, selectable: bool = True, target: int = 60,
                 click_to_select: bool = False):
        """``click_to_select``: nothing is selected until clicked, and every click
        reports (also a click on the current tile)."""
        super().__init__(parent)
        self._click_to_select = click_to_select
        self._images: list[QImage] = []
        self._captions: list[str] = []
        self._columns = columns
        self._show_captions = captions
        self._selectable = selectable
        self._target = target
        self._current = -1
        self._tile = QSize(target, target)
        self._gap = 6
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.setMouseTracking(selectable)

    # public
    def set_samples(self, images: np.ndarray, captions: list[str] | None = None) -> None:
        rgb = as_rgb_uint8(images) if len(images) else np.zeros((0, 1, 1, 3), np.uint8)
        self._arrays = [np.ascontiguousarray(a) for a in rgb]  # QImages borrow these buffers
        self._images = [QImage(a.data, a.shape[1], a.shape[0], 3 * a.shape[1], QImage.Format.Format_RGB888)
                        for a in self._arrays]
        self._captions = [str(c) for c in captions] if captions is not None and self._show_captions else []
        if self._images:
            h, w = rgb.shape[1:3]
            k = max(1, round(self._target / max(h, w)))
            side = max(h, w) * k
            if side > 1.6 * self._target:  # large photos: scale down smoothly
                side = int(1.6 * self._target)
            self._tile = QSize(int(round(side * w / max(h, w))), int(round(side * h / max(h, w))))
        self._current = 0 if self._images and self._selectable and not self._click_to_select else -1
        self.updateGeometry()
        self.update()

    def clear(self) -> None:
        self.set_samples(np.zeros((0, 1, 1, 1), np.float32))

    def count(self) -> int:
        return len(self._images)

    def current(self) -> int:
        return self._current

    def set_current(self, index: int) -> None:
        if 0 <= index < len(self._images) and (index != self._current or self._click_to_select):
            self._current = index
            self.update()
            self.selected.emit(index)

    def captions(self) -> list[str]:
        return list(self._captions)

    # layout
    def _caption_height(self) -> int:
        return self.fontMetrics().height() + 4 if self._captions else 0

    def _columns_for(self, width: int) -> int:
        if self._columns:
            return self._columns
        return max(1, (width - self._gap) // (self._tile.width() + self._gap))

    def tile_rect(self, index: int) -> QRect:
        """The image area of tile ``index`` (captions are below it)."""
        cols = self._columns_for(self.width())
        row, col = divmod(index, cols)
        cell_h = self._tile.height() + self._caption_height() + self._gap
        return QRect(self._gap + col * (self._tile.width() + self._gap), self._gap + row * cell_h,
                     self._tile.width(), self._tile.height())

    def index_at(self, pos) -> int:
        for i in range(len(self._images)):
            r = self.tile_rect(i).adjusted(0, 0, 0, self._caption_height())
            if r.contains(pos):
                return i
        return -1

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        if not self._images:
            return 0
        rows = math.ceil(len(self._images) / self._columns_for(width))
        return self._gap + rows * (self._tile.height() + self._caption_height() + self._gap)

    def sizeHint(self) -> QSize:
        cols = self._columns or min(8, max(1, len(self._images)))
        w = self._gap + cols * (self._tile.width() + self._gap)
        return QSize(w, self.heightForWidth(w))

    def minimumSizeHint(self) -> QSize:
        w = self._gap * 2 + self._tile.width() * (self._columns or 1) + self._gap * ((self._columns or 1) - 1)
        return QSize(w, self.heightForWidth(w) if self._columns else self._tile.height() + self._gap * 2)

    # events
    def mousePressEvent(self, event) -> None:
        if self._selectable and event.button() == Qt.MouseButton.LeftButton:
            i = self.index_at(event.position().toPoint())
            if i >= 0:
                self.set_current(i)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        if self._selectable:
            i = self.index_at(event.position().toPoint())
            self.setCursor(Qt.CursorShape.PointingHandCursor if i >= 0 else Qt.CursorShape.ArrowCursor)
            self.setToolTip(self._captions[i] if 0 <= i < len(self._captions) else "")
        super().mouseMoveEvent(event)

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self.heightForWidth(self.width()) != self.height():
            self.updateGeometry()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        pal = self.palette()
        smooth = bool(self._images) and self._images[0].width() > self._tile.width()
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        border = pal.color(QPalette.ColorRole.Mid)
        text = pal.color(QPalette.ColorRole.WindowText)
        cap_h = self._caption_height()
        for i, image in enumerate(self._images):
            r = self.tile_rect(i)
            p.drawImage(r, image)
            p.setPen(QPen(border, 1))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRect(r.adjusted(0, 0, -1, -1))
            if cap_h:
                cr = QRect(r.left() - 2, r.bottom() + 1, r.width() + 4, cap_h)
                p.setPen(text)
                caption = self.fontMetrics().elidedText(self._captions[i], Qt.TextElideMode.ElideRight, cr.width())
                p.drawText(cr, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignVCenter, caption)
            if i == self._current:
                p.setPen(QPen(pal.color(QPalette.ColorRole.Highlight), 2))
                p.drawRect(r.adjusted(-2, -2, 1, 1 + cap_h))
        p.end()


# --------------------------------------------------------------- option form
class _FloatSpin(QDoubleSpinBox):
    """Shows the shortest text for a value (0.1, not 0.100000)."""

    def textFromValue(self, value: float) -> str:
        return f"{value:.6g}"

    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class _IntSpin(QSpinBox):
    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class WheelOnFocusComboBox(QComboBox):
    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class GroupedDelegate(QStyledItemDelegate):
    """Indents the datasets under their category headers in the combo's list."""

    def paint(self, painter, option, index) -> None:
        opt = QStyleOptionViewItem(option)
        if index.data(NAME_ROLE):
            opt.rect = option.rect.adjusted(16, 0, 0, 0)
        super().paint(painter, opt, index)

    def sizeHint(self, option, index) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + (16 if index.data(NAME_ROLE) else 0), size.height() + 4)


class OptionField:
    """The editor of one dataset option; ``value()`` and ``set_value()``."""

    def __init__(self, spec, parent: QWidget, on_change):
        self.spec = spec
        self.label = QLabel(spec.name.replace("_", " "), parent)
        tip = f"<b>{spec.name}</b><br>{spec.help}" if spec.help else spec.name
        if spec.min is not None and spec.max is not None:
            tip += f"<br><span style='opacity:0.75'>{spec.min:g} to {spec.max:g}</span>"
        self.label.setToolTip(tip)
        kind = spec.kind
        if kind == "int":
            w = _IntSpin(parent)
            w.setRange(int(spec.min if spec.min is not None else -10**9),
                       int(spec.max if spec.max is not None else 10**9))
            w.setGroupSeparatorShown(True)
            w.setKeyboardTracking(False)
            w.setAccelerated(True)
            w.valueChanged.connect(on_change)
            self.editor = w
        elif kind == "float":
            w = _FloatSpin(parent)
            lo = spec.min if spec.min is not None else -1e9
            hi = spec.max if spec.max is not None else 1e9
            w.setDecimals(6)
            w.setRange(lo, hi)
            step = 0.05 if hi - lo <= 20 else 1.0
            w.setSingleStep(step)
            w.setKeyboardTracking(False)
            w.valueChanged.connect(on_change)
            self.editor = w
        elif kind == "bool":
            w = QCheckBox(parent)
            w.toggled.connect(on_change)
            self.editor = w
        elif kind == "choice":
            w = WheelOnFocusComboBox(parent)
            for c in spec.choices or ():
                w.addItem(str(c), c)
            w.currentIndexChanged.connect(on_change)
            self.editor = w
        else:  # str, path
            w = QLineEdit(parent)
            w.setClearButtonEnabled(True)
            w.editingFinished.connect(on_change)
            self.editor = w
        for w in (self.editor,):
            w.setToolTip(tip)
            w.setObjectName(f"option_{spec.name}")
            if isinstance(w, (QSpinBox, QDoubleSpinBox, QComboBox)):
                w.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
                w.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.widget: QWidget = self.editor
        self.browse: QToolButton | None = None
        if kind == "path":
            box = QWidget(parent)
            lay = QHBoxLayout(box)
            lay.setContentsMargins(0, 0, 0, 0)
            lay.setSpacing(4)
            lay.addWidget(self.editor, 1)
            self.browse = QToolButton(box)
            self.browse.setText("Browse\u2026")
            self.browse.setToolTip("Choose " + ("a folder" if self.wants_folder else "a file"))
            self.browse.clicked.connect(lambda: self._browse(on_change))
            lay.addWidget(self.browse)
            self.editor.setPlaceholderText("a folder" if self.wants_folder else "a file")
            self.widget = box
        self.set_value(spec.default)

    @property
    def wants_folder(self) -> bool:
        return "folder" in (self.spec.help or "").lower() and "file" not in (self.spec.help or "").lower()

    def _browse(self, on_change) -> None:
        start = self.editor.text() or ""
        if self.wants_folder:
            path = QFileDialog.getExistingDirectory(self.editor, "Choose a folder", start)
        else:
            path, _ = QFileDialog.getOpenFileName(self.editor, "Choose a file", start)
        if path:
            self.editor.setText(path)
            on_change()

    def value(self) -> Any:
        w, kind = self.editor, self.spec.kind
        if kind == "int":
            return int(w.value())
        if kind == "float":
            return float(w.value())
        if kind == "bool":
            return bool(w.isChecked())
        if kind == "choice":
            return w.currentData()
        return w.text()

    def set_value(self, value: Any) -> None:
        w, kind = self.editor, self.spec.kind
        w.blockSignals(True)
        try:
            if kind in ("int", "float") and isinstance(value, (int, float)) and not isinstance(value, bool):
                w.setValue(value)
            elif kind == "bool":
                w.setChecked(bool(value))
            elif kind == "choice":
                i = next((k for k in range(w.count()) if w.itemData(k) == value), -1)
                w.setCurrentIndex(i)
            elif kind in ("str", "path"):
                w.setText("" if value is None else str(value))
        finally:
            w.blockSignals(False)

    def set_invalid(self, color: QColor | None) -> None:
        """Outline the editor in ``color`` (None: normal)."""
        qt_class = next(c.__name__ for c in type(self.editor).__mro__ if c.__name__.startswith("Q"))
        self.editor.setStyleSheet("" if color is None else
                                  f"{qt_class} {{ border: 1px solid {color.name()}; border-radius: 3px; "
                                  f"padding: 2px 3px; }}")


# --------------------------------------------------------------------- panel
