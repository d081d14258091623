"""The Evaluation dock's "Curves" tab: per-class ROC and precision-recall curves with
their areas, and the reliability diagram with the expected calibration error.

The numbers are :func:`dlstudio.training.curves.classification_curves` (scikit-learn's
metrics), the same ``dlstudio evaluate --json`` prints. A class chooser shows every
class at once (one colour each, as in the confusion matrix) or one class with the
chance line (ROC: the diagonal; PR: the class's share of the test set). pyqtgraph
loads when the view is made.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from dlstudio.qt.panels.data.data_widgets import muted_label
from dlstudio.qt.plot_menu import install_plot_menu


class CurvesView(QWidget):
    """ROC | PR | reliability for the Evaluation shown (``set_curves(curves)``)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        from dlstudio.qt.panels.training.training_plots import import_pyqtgraph, plot_colors, style_axes

        pg = import_pyqtgraph()
        self.curves = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 0)
        lay.setSpacing(2)
        bar = QHBoxLayout()
        self.class_combo = QComboBox(self)
        self.class_combo.setToolTip("Every class against the rest, or one")
        self.class_combo.currentIndexChanged.connect(lambda _i: self._draw())
        bar.addWidget(QLabel("Class", self))
        bar.addWidget(self.class_combo)
        self.summary = muted_label("", self, wrap=True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.summary, 1)
        lay.addLayout(bar)
        plots = QHBoxLayout()
        plots.setSpacing(2)
        lay.addLayout(plots, 1)
        c = plot_colors(self.palette())
        self.widgets = []
        for title in ("ROC", "Precision\u2013recall", "Reliability"):
            w = pg.PlotWidget(self, title=title)
            install_plot_menu(w, title)
            w.setBackground(c["background"])
            plots.addWidget(w, 1)  # three plots of one width
            self.widgets.append(w)
        self.roc, self.pr, self.reliability = (w.getPlotItem() for w in self.widgets)
        for plot, (x, y) in ((self.roc, ("false positive rate", "true positive rate")),
                             (self.pr, ("recall", "precision")),
                             (self.reliability, ("confidence", "accuracy"))):
            style_axes(plot, self.palette())
            plot.setLabel("bottom", x, color=c["text"].name())
            plot.setLabel("left", y, color=c["text"].name())
            plot.showGrid(x=True, y=True, alpha=0.2)
            plot.setRange(xRange=(0, 1), yRange=(0, 1.02), padding=0.02)
            plot.disableAutoRange()
            plot.setMouseEnabled(False, False)
        self._pen_chance = pg.mkPen(c["axis"], width=1, style=Qt.PenStyle.DashLine)
        self._items: list[Any] = []

    def set_curves(self, curves: Any) -> None:
        """Show a :class:`dlstudio.training.curves.Curves` (None: empty)."""
        self.curves = curves
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        if curves is not None:
            self.class_combo.addItem("all classes", -1)
            for k, c in enumerate(curves.classes):
                self.class_combo.addItem(c.name, k)
        self.class_combo.blockSignals(False)
        self._draw()

    def choose_class(self, k: int) -> None:
        """Show class ``k`` only (-1: all)."""
        self.class_combo.setCurrentIndex(max(0, self.class_combo.findData(int(k))))

    def _clear(self) -> None:
        for plot, item in self._items:
            plot.removeItem(item)
        self._items = []

    def _add(self, plot: Any, item: Any) -> Any:
        plot.addItem(item)
        self._items.append((plot, item))
        return item

    def _draw(self) -> None:
        from dlstudio.data.grid import class_color
        from dlstudio.qt.panels.training.training_plots import import_pyqtgraph

        pg = import_pyqtgraph()
        self._clear()
        cv = self.curves
        if cv is None:
            self.summary.setText("")
            return
        chosen = self.class_combo.currentData()
        chosen = -1 if chosen is None else int(chosen)
        shown = range(len(cv.classes)) if chosen < 0 else [chosen]
        self._add(self.roc, pg.PlotDataItem([0, 1], [0, 1], pen=self._pen_chance))
        for k in shown:
            c = cv.classes[k]
            if not len(c.fpr):
                continue
            pen = pg.mkPen(QColor(*class_color(k)), width=2 if chosen >= 0 else 1.4)
            roc = self._add(self.roc, pg.PlotDataItem(c.fpr, c.tpr, pen=pen))
            roc.setToolTip(f"{c.name}: ROC AUC {c.roc_auc:.3f}")
            self._add(self.pr, pg.PlotDataItem(c.recall, c.precision, pen=pen, stepMode=None))
            if chosen >= 0:
                share = c.support / max(1, cv.samples)
                self._add(self.pr, pg.PlotDataItem([0, 1], [share, share], pen=self._pen_chance))
        r = cv.reliability
        self._add(self.reliability, pg.PlotDataItem([0, 1], [0, 1], pen=self._pen_chance))
        if len(r.confidence):
            width = float(r.edges[1] - r.edges[0])
            centers = (np.floor(r.confidence / width) + 0.5) * width
            bars = pg.BarGraphItem(x=np.minimum(centers, 1 - width / 2), height=r.accuracy, width=width * 0.9,
                                   brush=pg.mkBrush(QColor(*class_color(0)).lighter(115)), pen=pg.mkPen(None))
            self._add(self.reliability, bars)
            self._add(self.reliability, pg.ScatterPlotItem(r.confidence, r.accuracy, size=6,
                                                           brush=pg.mkBrush(QColor(*class_color(3)))))
        if chosen >= 0:
            c = cv.classes[chosen]
            areas = (f"<b>{c.name}</b>: ROC AUC {_fmt(c.roc_auc)} \u00b7 PR AUC {_fmt(c.pr_auc)} "
                     f"(chance {c.support / max(1, cv.samples):.2f}) \u00b7 {c.support} test samples")
        else:
            areas = f"mean over classes: ROC AUC {_fmt(cv.macro_roc_auc)} \u00b7 PR AUC {_fmt(cv.macro_pr_auc)}"
        self.summary.setText(f"{areas} \u00b7 expected calibration error <b>{_fmt(r.ece)}</b> "
                             f"(0 = confidence matches accuracy; bars below the diagonal: over-confident)")


def _fmt(v: float) -> str:
    return "n/a" if v is None or not np.isfinite(v) else f"{v:.3f}"
