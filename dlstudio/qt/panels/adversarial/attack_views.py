"""The widgets of the adversarial panel's Sample tab, and the page both its tabs scroll:
the image views (square, nearest neighbour) and the before / after probability bars."""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, QTimer
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget
from shiboken6 import isValid

from dlstudio.qt.icons import severity_color

IMAGE_SIDE = 112


class FittedPage(QWidget):
    """A scrolled page as tall as its contents need at its width (wrapped labels, the gallery):
    a scroll area otherwise squeezes it to the viewport and the layout overlaps its children."""

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        need = self.layout().heightForWidth(self.width()) if self.layout() is not None else -1
        if need > 0 and need != self.minimumHeight():
            QTimer.singleShot(0, lambda: isValid(self) and self.setMinimumHeight(
                self.layout().heightForWidth(self.width())))


class ImageView(QWidget):
    """An image scaled to the width it gets (square cells, nearest neighbour: pixels stay crisp)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumSize(48, 48)

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.image = None
        else:
            a = np.ascontiguousarray(rgb)
            self.image = QImage(a.data, a.shape[1], a.shape[0], 3 * a.shape[1], QImage.Format.Format_RGB888).copy()
        self.update()

    def hasHeightForWidth(self) -> bool:
        return True

    def heightForWidth(self, width: int) -> int:
        return min(width, IMAGE_SIDE * 2)

    def sizeHint(self) -> QSize:
        return QSize(IMAGE_SIDE, IMAGE_SIDE)

    def paintEvent(self, _event) -> None:
        if self.image is None:
            return
        side = min(self.width(), self.height())
        w = side * self.image.width() // max(self.image.width(), self.image.height())
        h = side * self.image.height() // max(self.image.width(), self.image.height())
        p = QPainter(self)
        p.drawImage(QRectF((self.width() - w) / 2, (self.height() - h) / 2, w, h), self.image)
        p.setPen(self.palette().color(QPalette.ColorRole.Mid))
        p.drawRect(QRectF((self.width() - w) / 2, (self.height() - h) / 2, w - 1, h - 1))
        p.end()


class ProbabilityPairs(QWidget):
    """The top classes, each with a bar before (muted) and after the attack (highlight)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.rows: list[tuple[str, float, float, bool]] = []  # name, before, after, is the true class
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def set_probabilities(self, before: np.ndarray, after: np.ndarray, names: list[str], label: int,
                          k: int = 3, target: int | None = None) -> None:
        """The top ``k`` classes before and after (and the target), most probable first."""
        top = list(dict.fromkeys([*np.argsort(-after)[:k], *np.argsort(-before)[:k]]))
        top.sort(key=lambda c: -max(after[c], before[c]))
        if target is not None and target not in top[:2 * k]:
            top.insert(0, target)
        name = (lambda c: (names[c] if c < len(names) else str(c)) + (" \u25ce" if c == target else ""))
        self.rows = [(name(c), float(before[c]), float(after[c]), bool(c == label)) for c in top[:2 * k]]
        self.setFixedHeight(8 + 26 * len(self.rows))
        self.update()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        pal = self.palette()
        fm = self.fontMetrics()
        name_w = max([fm.horizontalAdvance("class 00")] + [fm.horizontalAdvance(r[0]) + 8 for r in self.rows])
        pct_w = fm.horizontalAdvance("100.0%") + 6
        bar_w = max(10, self.width() - name_w - pct_w - 8)
        before_c, after_c = pal.color(QPalette.ColorRole.PlaceholderText), pal.color(QPalette.ColorRole.Highlight)
        wrong_c = severity_color("error", pal)
        for i, (name, b, a, true) in enumerate(self.rows):
            top = 4 + 26 * i
            p.setPen(pal.color(QPalette.ColorRole.WindowText))
            font = p.font()
            font.setBold(true)
            p.setFont(font)
            p.drawText(QRectF(0, top, name_w, 22), Qt.AlignmentFlag.AlignVCenter, name)
            font.setBold(False)
            p.setFont(font)
            for j, (value, color) in enumerate(((b, before_c), (a, after_c if true or a < 0.5 else wrong_c))):
                y = top + 1 + 11 * j
                p.fillRect(QRectF(name_w, y, bar_w, 9), pal.color(QPalette.ColorRole.AlternateBase))
                p.fillRect(QRectF(name_w, y, max(1.0, bar_w * value), 9), color)
                p.setPen(pal.color(QPalette.ColorRole.WindowText) if j else before_c)
                p.drawText(QRectF(name_w + bar_w + 4, y - 3, pct_w, 15), Qt.AlignmentFlag.AlignVCenter,
                           f"{value:.1%}")
        p.end()
