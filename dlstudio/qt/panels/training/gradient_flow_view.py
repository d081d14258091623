"""The gradient-flow view: how large the gradients are, layer by layer, while training.

Left, one bar per layer (input side first) for the latest measurement; right,
one line per layer over the training steps. Both on a log scale, so a deep
sigmoid net's first layers, orders of magnitude below its last, stand out:
the vanishing-gradient problem, made visible.

Events (:class:`dlstudio.training.gradient_events.GradientFlow`) are only
appended; a 50 ms timer redraws what changed (at most 20 times a second).
pyqtgraph is imported when the view is made (never at start-up).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, QTimer
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QVBoxLayout, QWidget

from dlstudio.qt.panels.data.data_widgets import muted_label
from dlstudio.qt.panels.training.training_plots import Series, import_pyqtgraph, plot_colors, style_axes
from dlstudio.qt.plot_menu import install_plot_menu

REDRAW_MS = 50
FLOOR = 1e-12  # magnitudes below this are drawn at it (log scale)


def _layer_color(i: int, n: int) -> QColor:
    """Input-side layers blue, output-side ones red, the rest in between."""
    t = i / max(1, n - 1)
    return QColor.fromHsvF(0.62 - 0.62 * t, 0.75, 0.85)


class GradientFlowView(QWidget):
    """Bars of the latest mean |gradient| per layer and lines over time, log scale.

    ``add(event)`` appends; ``layers``, ``series[layer]`` (x: step, y: magnitude)
    and ``latest`` hold the data; ``clear()`` starts over."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg = import_pyqtgraph()
        self.setObjectName("GradientFlowView")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.caption = muted_label("", self, wrap=True)
        lay.addWidget(self.caption)
        self.view = pg.GraphicsLayoutWidget(self)
        install_plot_menu(self.view, "Gradient flow")
        lay.addWidget(self.view, 1)
        self.bars_plot = self.view.addPlot(row=0, col=0)
        self.lines_plot = self.view.addPlot(row=0, col=1)
        self.view.ci.layout.setColumnStretchFactor(0, 2)
        self.view.ci.layout.setColumnStretchFactor(1, 3)
        for plot in (self.bars_plot, self.lines_plot):
            plot.setLogMode(x=False, y=True)
            plot.showGrid(x=False, y=True, alpha=0.25)
            plot.getAxis("left").setStyle(maxTextLevel=0)  # labels on powers of ten only
            plot.setMenuEnabled(False)
            plot.hideButtons()
        self.lines_plot.setClipToView(True)
        self.lines_plot.setDownsampling(mode="peak")
        self.bars_plot.getViewBox().setMouseEnabled(x=False, y=False)
        self._bars = pg.BarGraphItem(x=[], height=[], width=0.7)
        self.bars_plot.addItem(self._bars)
        self.layers: tuple[str, ...] = ()
        self.series: dict[str, Series] = {}
        self.latest: tuple[float, ...] = ()
        self.events = 0
        self._curves: dict[str, Any] = {}
        self._dirty = False
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)
        self._style()
        self.clear()

    def sizeHint(self) -> QSize:
        return QSize(520, 260)

    # ------------------------------------------------------------------ data
    def clear(self) -> None:
        self.layers, self.latest, self.events = (), (), 0
        self.series.clear()
        for curve in self._curves.values():
            self.lines_plot.removeItem(curve)
        self._curves.clear()
        self._bars.setOpts(x=[], height=[], y0=[])
        self.caption.setText("Mean |gradient| of each layer's kernel, measured every few batches on a fixed "
                             "batch. Turn it on before training (Live views ▾).")
        self._dirty = False

    def add(self, event: Any) -> None:
        """Append one ``GradientFlow`` event (redrawn by the timer)."""
        if tuple(event.layers) != self.layers:
            self.clear()
            self.layers = tuple(event.layers)
            self.series = {name: Series() for name in self.layers}
            self._make_curves()
        for name, m in zip(self.layers, event.magnitudes):
            self.series[name].append(float(event.step), max(float(m), FLOOR) if math.isfinite(m) else math.nan)
        self.latest = tuple(float(m) for m in event.magnitudes)
        self.events += 1
        self._dirty = True
        if not self._timer.isActive():
            self._timer.start()

    # ------------------------------------------------------------------ drawing
    def _make_curves(self) -> None:
        pg = import_pyqtgraph()
        n = len(self.layers)
        for i, name in enumerate(self.layers):
            curve = pg.PlotDataItem(pen=pg.mkPen(_layer_color(i, n), width=1.5), name=name)
            self.lines_plot.addItem(curve)
            self._curves[name] = curve
        axis = self.bars_plot.getAxis("bottom")
        step = max(1, math.ceil(n / 12))  # at most ~12 names under the bars
        axis.setTicks([[(i, self.layers[i]) for i in range(0, n, step)], []])

    def _redraw(self) -> None:
        if not self._dirty:
            self._timer.stop()
            return
        self._dirty = False
        pg = import_pyqtgraph()
        for name, curve in self._curves.items():
            s = self.series[name]
            curve.setData(s.x, s.y)
        values = np.array([max(v, FLOOR) if math.isfinite(v) else FLOOR for v in self.latest], np.float64)
        if len(values):
            logs = np.log10(values)
            base = math.floor(float(logs.min()) - 0.05)  # whole decades: the log axis labels its powers of ten
            n = len(values)
            brushes = [pg.mkBrush(_layer_color(i, n)) for i in range(n)]
            self._bars.setOpts(x=np.arange(n), y0=np.full(n, base), y1=logs, height=None, brushes=brushes,
                               pens=[pg.mkPen(None)] * n)
            self.bars_plot.setXRange(-0.6, n - 0.4, padding=0)
            self.bars_plot.setYRange(base, max(math.ceil(float(logs.max()) + 0.05), base + 1), padding=0)
            ratio = values[-1] / values[0] if values[0] > 0 else math.inf
            self.caption.setText(
                f"Step {int(self.series[self.layers[0]].x[-1]) if self.layers else 0}: the last layer's gradients "
                f"are {ratio:,.3g}× the first layer's" + (" — they vanish on the way back." if ratio > 100 else "."))

    def _style(self) -> None:
        c = plot_colors(self.palette())
        self.view.setBackground(c["background"])
        for plot, title in ((self.bars_plot, "latest, per layer (input → output)"),
                            (self.lines_plot, "over training steps")):
            plot.setTitle(title, color=c["text"].name(), size="9pt")
            style_axes(plot, self.palette())
        self.lines_plot.getAxis("bottom").setLabel("step", color=c["text"].name())

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) \
                and hasattr(self, "lines_plot"):
            self._style()
