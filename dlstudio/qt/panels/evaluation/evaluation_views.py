"""The views of the evaluation panel: the confusion matrix (a clickable heat
map with counts), the per-class report, the samples behind a cell (an image
grid, or rows for tables and texts), and the predicted-vs-true scatter of a
regression. Nothing here computes: :mod:`dlstudio.training.evaluate` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.panels.data.data_widgets import SampleGrid, muted_label
from dlstudio.qt.panels.insight.insight_views import scroll_area
from dlstudio.qt.plot_menu import install_plot_menu

MAX_SAMPLES_SHOWN = 200  # a cell's samples beyond this are counted, not drawn


def _short(name: str, n: int = 10) -> str:
    return name if len(name) <= n else name[: n - 1] + "\u2026"


# ------------------------------------------------------------------ confusion matrix
class ConfusionMatrixView(QWidget):
    """Rows: true classes; columns: predicted ones. Each cell shows its count on a
    colour that grows with the share of its row (the recall view: a perfect model
    has a dark diagonal whatever the class sizes). Click a cell: ``cell_clicked(true, pred)``."""

    cell_clicked = Signal(int, int)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.matrix = np.zeros((0, 0), np.int64)
        self.class_names: list[str] = []
        self.selected: tuple[int, int] | None = None
        self._hover: tuple[int, int] | None = None
        self.setMouseTracking(True)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(160, 140)

    def set_matrix(self, matrix: np.ndarray, class_names: Sequence[str]) -> None:
        self.matrix = np.asarray(matrix, np.int64)
        self.class_names = [str(c) for c in class_names]
        self.selected = None
        self.update()

    def sizeHint(self) -> QSize:
        return QSize(360, 320)

    # geometry: a label margin left and top, then square cells
    def _margins(self) -> tuple[float, float]:
        fm = self.fontMetrics()
        longest = max((fm.horizontalAdvance(_short(n)) for n in self.class_names), default=20)
        return float(longest + 24), float(fm.height() * 2 + 10)

    def _cell(self) -> float:
        n = max(1, len(self.matrix))
        left, top = self._margins()
        return max(4.0, min((self.width() - left - 6) / n, (self.height() - top - 6) / n))

    def cell_rect(self, true: int, pred: int) -> QRectF:
        left, top = self._margins()
        c = self._cell()
        return QRectF(left + pred * c, top + true * c, c, c)

    def cell_at(self, pos) -> tuple[int, int] | None:
        n = len(self.matrix)
        left, top = self._margins()
        c = self._cell()
        col, row = math.floor((pos.x() - left) / c), math.floor((pos.y() - top) / c)
        return (row, col) if 0 <= row < n and 0 <= col < n else None

    def mousePressEvent(self, event) -> None:
        hit = self.cell_at(event.position())
        if hit is not None and event.button() == Qt.MouseButton.LeftButton:
            self.selected = hit
            self.update()
            self.cell_clicked.emit(*hit)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event) -> None:
        hit = self.cell_at(event.position())
        if hit != self._hover:
            self._hover = hit
            if hit is not None:
                t, p = hit
                row = int(self.matrix[t].sum())
                share = f" ({self.matrix[t, p] / row:.1%} of them)" if row else ""
                self.setToolTip(f"{self.matrix[t, p]:,} samples of class {self.class_names[t]!r} predicted as "
                                f"{self.class_names[p]!r}{share}. Click to see them.")
            else:
                self.setToolTip("")
            self.update()
        super().mouseMoveEvent(event)

    def leaveEvent(self, event) -> None:
        self._hover = None
        self.update()
        super().leaveEvent(event)

    def paintEvent(self, _event) -> None:
        n = len(self.matrix)
        if not n:
            return
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        pal = self.palette()
        base, text = pal.color(QPalette.ColorRole.Base), pal.color(QPalette.ColorRole.Text)
        good, bad = QColor("#1f6feb"), QColor("#cf222e")
        rows = self.matrix.sum(axis=1, keepdims=True).astype(np.float64)
        share = np.divide(self.matrix, rows, out=np.zeros(self.matrix.shape), where=rows > 0)
        c = self._cell()
        left, top = self._margins()
        font = QFont(self.font())
        small = QFont(font)
        small.setPointSizeF(max(6.5, min(font.pointSizeF(), c / 3.2)))
        for t in range(n):
            for q in range(n):
                r = self.cell_rect(t, q)
                tint = good if t == q else bad
                a = float(share[t, q]) ** 0.7 if self.matrix[t, q] else 0.0
                color = QColor.fromRgbF(base.redF() + (tint.redF() - base.redF()) * a,
                                        base.greenF() + (tint.greenF() - base.greenF()) * a,
                                        base.blueF() + (tint.blueF() - base.blueF()) * a)
                p.fillRect(r.adjusted(0.5, 0.5, -0.5, -0.5), color)
                if c >= 18:
                    p.setFont(small)
                    p.setPen(QColor("white") if a > 0.55 else text)
                    p.drawText(r, Qt.AlignmentFlag.AlignCenter, f"{self.matrix[t, q]:,}")
        for cell, width, color in ((self._hover, 1.5, pal.color(QPalette.ColorRole.Mid)),
                                   (self.selected, 2.5, pal.color(QPalette.ColorRole.Highlight))):
            if cell is not None:
                p.setPen(QPen(color, width))
                p.drawRect(self.cell_rect(*cell).adjusted(1, 1, -1, -1))
        p.setFont(font)
        p.setPen(pal.color(QPalette.ColorRole.WindowText))
        fm = self.fontMetrics()
        for i, name in enumerate(self.class_names[:n]):
            r = self.cell_rect(i, 0)
            p.drawText(QRectF(0, r.top(), left - 6, c), Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                       _short(name))
            r = self.cell_rect(0, i)
            p.drawText(QRectF(r.left() - 10, top - fm.height() - 4, c + 20, fm.height()),
                       Qt.AlignmentFlag.AlignCenter, _short(name, max(3, int(c / 7))))
        p.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
        p.drawText(QRectF(left, 0, n * c, fm.height() + 2), Qt.AlignmentFlag.AlignCenter, "predicted \u2192")
        p.save()
        p.translate(10, top + n * c / 2)
        p.rotate(-90)
        p.drawText(QRectF(-n * c / 2, -fm.height() / 2 - 2, n * c, fm.height() + 4), Qt.AlignmentFlag.AlignCenter,
                   "\u2190 true")
        p.restore()
        p.end()


# ------------------------------------------------------------------ per-class report
def _table(parent: QWidget, headers: list[str]) -> QTableWidget:
    return _style_table(QTableWidget(0, len(headers), parent), headers)


def _style_table(table: QTableWidget, headers: list[str]) -> QTableWidget:
    """Read-only rows, compact, the columns sized to their contents."""
    table.setHorizontalHeaderLabels(headers)
    table.verticalHeader().hide()
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setAlternatingRowColors(True)
    table.setShowGrid(False)
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 6)
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setStretchLastSection(True)
    table.horizontalHeader().setDefaultAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
    return table


def _number_item(text: str, value: float) -> QTableWidgetItem:
    item = QTableWidgetItem(text)
    item.setData(Qt.ItemDataRole.UserRole, float(value))
    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
    return item


class ClassReportTable(QTableWidget):
    """Precision, recall, F1 and support per class, and their macro averages."""

    HEADERS = ("class", "precision", "recall", "F1", "support")

    def __init__(self, parent: QWidget | None = None):
        super().__init__(0, len(self.HEADERS), parent)
        _style_table(self, list(self.HEADERS))
        self.horizontalHeader().setStretchLastSection(False)
        self.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)

    def set_report(self, report: Sequence[Any]) -> None:
        rows = list(report)
        self.setRowCount(len(rows) + (1 if rows else 0))
        for i, r in enumerate(rows):
            self._row(i, r.name, r.precision, r.recall, r.f1, r.support)
        if rows:
            mean = [float(np.mean([getattr(r, k) for r in rows])) for k in ("precision", "recall", "f1")]
            self._row(len(rows), "macro average", *mean, sum(r.support for r in rows), bold=True)

    def _row(self, i: int, name: str, precision: float, recall: float, f1: float, support: int,
             bold: bool = False) -> None:
        items = [QTableWidgetItem(name), _number_item(f"{precision:.1%}", precision),
                 _number_item(f"{recall:.1%}", recall), _number_item(f"{f1:.3f}", f1),
                 _number_item(f"{support:,}", support)]
        for col, item in enumerate(items):
            if bold:
                f = item.font()
                f.setBold(True)
                item.setFont(f)
            self.setItem(i, col, item)


# ------------------------------------------------------------------ samples
def images_of(x: np.ndarray, kind: str) -> np.ndarray | None:
    """Samples as (N, H, W, C) images when they are images (flat square ones reshaped), else None."""
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] in (1, 3):
        return x
    if kind == "image" and x.ndim == 2:
        side = math.isqrt(x.shape[1])
        if side * side == x.shape[1]:
            return x.reshape(len(x), side, side, 1)
    return None


def sample_text(x_row: np.ndarray, dataset: Any) -> str:
    """One sample as a line of text: decoded tokens for texts, ``name=value`` for rows."""
    x_row = np.asarray(x_row)
    vocab = list(getattr(dataset, "vocabulary", None) or [])
    if vocab and getattr(dataset, "kind", "") == "text":
        from dlstudio.data.text import decode

        ids = x_row.argmax(axis=-1) if x_row.ndim == 2 else x_row
        try:
            return decode(ids, vocab, (dataset.meta or {}).get("separator", "")).replace("\n", "\u21b5")
        except (IndexError, ValueError):
            pass
    flat = x_row.ravel()
    names = list(getattr(dataset, "feature_names", None) or [])
    if len(names) == len(flat):
        return ", ".join(f"{n}={v:.3g}" for n, v in zip(names, flat[:12])) + (" \u2026" if len(flat) > 12 else "")
    return ", ".join(f"{v:.3g}" for v in flat[:12]) + (" \u2026" if len(flat) > 12 else "")


class SamplesView(QWidget):
    """The samples of one confusion-matrix cell, most confident first: an image
    grid (captions: sample number and confidence) or rows (tables, texts)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        self.title = muted_label("Click a cell of the confusion matrix to see its samples, most confident first.",
                            self)
        self.title.setTextFormat(Qt.TextFormat.RichText)
        lay.addWidget(self.title)
        self.stack = QStackedWidget(self)
        self.grid = SampleGrid(self, target=56, click_to_select=True)
        self.grid_scroll = scroll_area(self.grid, self)
        self.rows = _table(self, ["#", "confidence", "predicted", "true", "sample"])
        self.stack.addWidget(self.grid_scroll)
        self.stack.addWidget(self.rows)
        lay.addWidget(self.stack, 1)
        self.indices = np.zeros(0, np.int64)

    def clear(self, text: str = "") -> None:
        self.indices = np.zeros(0, np.int64)
        self.grid.clear()
        self.rows.setRowCount(0)
        if text:
            self.title.setText(text)

    def show_cell(self, evaluation: Any, dataset: Any, true: int, pred: int) -> np.ndarray:
        """Show the test samples of class ``true`` predicted as ``pred``; returns their indices."""
        import html

        idx = evaluation.samples_in_cell(true, pred)
        self.indices = idx
        names = evaluation.class_names
        conf = evaluation.confidence
        what = "correctly classified" if true == pred else f"predicted as <b>{html.escape(names[pred])}</b>"
        more = f" (the first {MAX_SAMPLES_SHOWN} shown)" if len(idx) > MAX_SAMPLES_SHOWN else ""
        self.title.setText(f"<b>{len(idx):,}</b> test sample{'s' * (len(idx) != 1)} of class "
                           f"<b>{html.escape(names[true])}</b> {what}, most confident first{more}")
        shown = idx[:MAX_SAMPLES_SHOWN]
        images = images_of(evaluation.x[shown], evaluation.kind) if len(shown) else None
        if images is not None or (len(shown) == 0 and images_of(evaluation.x[:1], evaluation.kind) is not None):
            imgs = images if images is not None else np.zeros((0, 1, 1, 1), np.float32)
            self.grid.set_samples(imgs, [f"{conf[i]:.0%}" for i in shown])
            self.grid.setToolTip(f"true: {names[true]} · predicted: {names[pred]} · the caption is the "
                                 "model's confidence in its prediction")
            self.stack.setCurrentWidget(self.grid_scroll)
        else:
            self.rows.setRowCount(len(shown))
            for r, i in enumerate(shown):
                cells = [_number_item(f"{i}", i), _number_item(f"{conf[i]:.1%}", conf[i]),
                         QTableWidgetItem(names[int(evaluation.predicted[i])]),
                         QTableWidgetItem(names[int(evaluation.y_true[i])]),
                         QTableWidgetItem(sample_text(evaluation.x[i], dataset))]
                for col, item in enumerate(cells):
                    self.rows.setItem(r, col, item)
            self.stack.setCurrentWidget(self.rows)
        return idx


# ------------------------------------------------------------------ regression
class RegressionScatter(QWidget):
    """Predicted against true values of the test samples, with the identity line
    (where a perfect model's points would lie). pyqtgraph loads when it is made."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from dlstudio.qt.panels.training.training_plots import import_pyqtgraph, plot_colors

        pg = import_pyqtgraph()
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget(self)
        install_plot_menu(self.view, "Evaluation plot")
        lay.addWidget(self.view)
        c = plot_colors(self.palette())
        self.view.setBackground(c["background"])
        self.plot = self.view.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.showGrid(x=True, y=True, alpha=0.2)
        self.plot.setLabel("bottom", "true value", color=c["text"].name())
        self.plot.setLabel("left", "predicted", color=c["text"].name())
        self.identity = self.plot.plot(pen=pg.mkPen(c["val"], width=1.5, style=Qt.PenStyle.DashLine))
        self.scatter = pg.ScatterPlotItem(size=5, pen=None, brush=pg.mkBrush(QColor(c["train"]).lighter(110)))
        self.plot.addItem(self.scatter)

    def set_values(self, y_true: np.ndarray, y_pred: np.ndarray) -> None:
        t = np.asarray(y_true, np.float64).reshape(len(y_true), -1)[:, 0]
        p = np.asarray(y_pred, np.float64).reshape(len(y_pred), -1)[:, 0]
        self.scatter.setData(t, p)
        finite = np.concatenate([t, p])
        finite = finite[np.isfinite(finite)]
        lo, hi = (float(finite.min()), float(finite.max())) if len(finite) else (0.0, 1.0)
        self.identity.setData([lo, hi], [lo, hi])
        self.plot.setRange(xRange=(lo, hi), yRange=(lo, hi))
