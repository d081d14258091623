"""The training panel's plots and progress line, and the helpers they share
with the runs panel.

``TrainingPlots`` holds one pyqtgraph ``GraphicsLayoutWidget`` with the loss per
batch (raw and smoothed), the loss per epoch, one plot per metric (train and
validation) and the learning rate. Curves are made once and fed with
``setData``; every plot downsamples (peak) and clips to the view. pyqtgraph is
imported with the first plots, not at start-up.
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QSizePolicy, QVBoxLayout, QWidget

from dlstudio.qt.plot_menu import install_plot_menu

SYMBOLS_UP_TO = 60  # epoch curves show their points while they have at most this many
SPARE = "_metric"  # the name of the metric plot before the first metric arrives
FIRST_VIEW_EPOCHS = 5.0  # the x axes show this many epochs at first (or the whole run, if shorter)
X_GROWTH = 1.5  # then widen by half again whenever the curves near the right edge

pg: Any = None  # pyqtgraph, imported with the first plots (not at start-up: it takes ~0.5 s)


def import_pyqtgraph() -> Any:
    global pg
    if pg is None:
        import pyqtgraph

        pg = pyqtgraph
    return pg


# ------------------------------------------------------------------ buffers
class Series:
    """Append-only x/y float64 buffers that grow by doubling; ``x``/``y`` are views."""

    def __init__(self, capacity: int = 256):
        self._x = np.empty(capacity, dtype=np.float64)
        self._y = np.empty(capacity, dtype=np.float64)
        self._n = 0

    def __len__(self) -> int:
        return self._n

    def append(self, x: float, y: float) -> None:
        if self._n == len(self._x):
            self._grow(self._n * 2)
        self._x[self._n] = x
        self._y[self._n] = y
        self._n += 1

    def extend(self, xs, ys) -> None:
        xs, ys = np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)
        need = self._n + len(xs)
        if need > len(self._x):
            self._grow(max(need, self._n * 2))
        self._x[self._n:need] = xs
        self._y[self._n:need] = ys
        self._n = need

    def _grow(self, capacity: int) -> None:
        for name in ("_x", "_y"):
            old = getattr(self, name)
            new = np.empty(max(capacity, 16), dtype=np.float64)
            new[: self._n] = old[: self._n]
            setattr(self, name, new)

    def clear(self) -> None:
        self._n = 0

    @property
    def x(self) -> np.ndarray:
        return self._x[: self._n]

    @property
    def y(self) -> np.ndarray:
        return self._y[: self._n]

    def last(self) -> float | None:
        return float(self._y[self._n - 1]) if self._n else None


# ---------------------------------------------------------------- helpers
def format_duration(seconds: float) -> str:
    if not math.isfinite(seconds) or seconds < 0:
        return "–"
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, s = divmod(rem, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


def format_metric(name: str, value: float) -> str:
    if not isinstance(value, (int, float)) or not math.isfinite(value):
        return str(value)
    if "acc" in name and 0 <= value <= 1:
        return f"{value * 100:.2f}%"
    if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
        return f"{value:.3e}"
    return f"{value:.4f}"


def metric_title(name: str) -> str:
    return {"loss": "loss", "accuracy": "accuracy", "mae": "mean abs. error", "mse": "mean sq. error",
            "learning_rate": "learning rate"}.get(name, name.replace("_", " "))


def _mix(a: QColor, b: QColor, t: float) -> QColor:
    return QColor.fromRgbF(a.redF() + (b.redF() - a.redF()) * t, a.greenF() + (b.greenF() - a.greenF()) * t,
                           a.blueF() + (b.blueF() - a.blueF()) * t)


def plot_colors(palette: QPalette) -> dict[str, QColor]:
    from dlstudio.qt.theme import is_dark

    dark = is_dark(palette)
    base = palette.color(QPalette.ColorRole.Base)
    text = palette.color(QPalette.ColorRole.Text)
    return {
        "background": QColor(base),
        "axis": _mix(base, text, 0.55),
        "text": _mix(base, text, 0.85),
        "grid": _mix(base, text, 0.5),
        "train": QColor("#5b9cf6" if dark else "#1f6feb"),
        "val": QColor("#ffa657" if dark else "#e8710a"),
        "raw": QColor("#5b9cf6" if dark else "#1f6feb"),
        "lr": QColor("#c297ff" if dark else "#8250df"),
    }


def style_axes(plot: Any, palette: QPalette) -> dict[str, QColor]:
    """A pyqtgraph plot's left and bottom axes (lines and tick labels) in the palette's plot
    colours, values in their own units (no scale factor in the label); call it again when
    the theme changes. Returns the colours (``plot_colors``)."""
    pg = import_pyqtgraph()
    c = plot_colors(palette)
    item = plot.getPlotItem() if hasattr(plot, "getPlotItem") else plot
    for side in ("left", "bottom"):
        axis = item.getAxis(side)
        axis.setPen(pg.mkPen(c["axis"]))
        axis.setTextPen(pg.mkPen(c["text"]))
        axis.enableAutoSIPrefix(False)  # a loss of 0.3 reads 0.3, never 300 with "(x0.001)"
    return c


# ------------------------------------------------------------------- plots
class TrainingPlots(QWidget):
    """The live plots: batch loss, epoch loss, one plot per metric, learning rate,
    in one pyqtgraph ``GraphicsLayoutWidget`` (``view``), as many side by side as fit.

    ``plot(name)`` and ``curve(name)`` give the PlotItem / PlotDataItem.
    Plot names: ``batch``, ``loss``, ``lr`` and each metric's base name;
    curve names: ``batch_raw``, ``batch_smooth``, ``lr``, and ``NAME`` /
    ``val_NAME`` for every per-epoch metric (``loss`` included).
    """

    MIN_PLOT_WIDTH = 260

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        import_pyqtgraph()
        self.setObjectName("TrainingPlots")
        self.setMinimumHeight(150)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.view = pg.GraphicsLayoutWidget(self)
        install_plot_menu(self.view, "Training curves")
        self.view.installEventFilter(self)  # re-flow the plots before the view fits its layout
        lay.addWidget(self.view)
        self.ci = self.view.ci
        self.ci.setContentsMargins(4, 4, 4, 4)
        self.ci.setSpacing(6)
        self.plots: dict[str, pg.PlotItem] = {}
        self.curves: dict[str, pg.PlotDataItem] = {}
        self._order: list[str] = []
        self._columns = 0
        self._x_max = 1.0  # the epoch budget
        self._x_view = 1.0  # the epochs the x axes show: the data so far, with headroom
        self._colors = plot_colors(self.palette())
        self._add_plot("batch", "loss per batch")
        self._add_curve("batch", "batch_raw", "raw", "raw", width=1, alpha=0.35)
        self._add_curve("batch", "batch_smooth", "smoothed", "train", width=2)
        self._add_plot("loss", "loss per epoch")
        self._add_curve("loss", "loss", "train", "train", width=2, antialias=True)
        self._add_curve("loss", "val_loss", "validation", "val", width=2, antialias=True)
        self._add_spare()
        self._add_plot("lr", "learning rate")
        self._add_curve("lr", "lr", None, "lr", width=2, antialias=True)
        self._relayout()

    # --------------------------------------------------------------- build
    def _add_plot(self, name: str, title: str, index: int | None = None) -> pg.PlotItem:
        plot = pg.PlotItem()
        plot.setDownsampling(auto=True, mode="peak")
        plot.setClipToView(True)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.setLabel("bottom", "epoch")
        plot.getAxis("left").setWidth(46)
        plot.setProperty("title_text", title)
        plot.setProperty("legend", [])  # (label, curve name): drawn in the title, never over the data
        plot.vb.setLimits(xMin=0)
        # The x range grows in steps (follow_x), not with every point: a growing curve then
        # changes no x axis, and with the axes linked one plot's update does not repaint the others.
        plot.enableAutoRange(x=False)
        plot.setXRange(0, self._x_view, padding=0.02)
        if name in ("lr", "batch"):  # y ranges set by the panel (see TrainingPanel._fit_batch_y)
            plot.enableAutoRange(y=False)
        if self.plots:
            plot.setXLink(self.plots["batch"])
        self.plots[name] = plot
        if index is not None:
            self._order.insert(index, name)
        elif name == "lr":
            self._order.append(name)
        else:  # metrics go before the learning rate
            self._order.insert(self._order.index("lr") if "lr" in self._order else len(self._order), name)
        self._style_plot(plot)
        return plot

    def _add_curve(self, plot: str, name: str, label: str | None, color: str, width: float = 2,
                   alpha: float = 1.0, antialias: bool = False, dashed: bool = False) -> pg.PlotDataItem:
        item = self.plots[plot]
        curve = item.plot([], [], antialias=antialias)
        curve.setProperty("color_key", color)
        curve.setProperty("pen_spec", (width, alpha, dashed))
        self.curves[name] = curve
        self._style_curve(curve)
        if plot != "batch":  # per-epoch curves start with their points shown (made now, not mid-run)
            self.show_symbols(curve, True)
        if label:
            item.setProperty("legend", [*item.property("legend"), (label, name)])
            self._style_plot(item)
        return curve

    def ensure_metric(self, base: str) -> None:
        """A plot (train and validation curves) for a per-epoch metric, once."""
        if base in self.curves:
            return
        if base not in self.plots and SPARE in self.plots:  # take over the spare plot and curves
            plot = self.plots.pop(SPARE)
            self.plots[base] = plot
            self._order[self._order.index(SPARE)] = base
            self.curves[base] = self.curves.pop(SPARE)
            self.curves[f"val_{base}"] = self.curves.pop(f"val_{SPARE}")
            plot.setProperty("title_text", metric_title(base))
            plot.setProperty("legend", [("train", base), ("validation", f"val_{base}")])
            self._style_plot(plot)
            return
        if base not in self.plots:
            self._add_plot(base, metric_title(base))
            self._relayout(force=True)
        self._add_curve(base, base, "train", "train", antialias=True)
        self._add_curve(base, f"val_{base}", "validation", "val", antialias=True)

    def _add_spare(self) -> None:
        """The metric plot (and its curves) made before the first metric arrives, so
        that the first epoch's end re-lays out nothing."""
        self._add_plot(SPARE, "metric", index=self._order.index("lr") if "lr" in self._order else None)
        self._add_curve(SPARE, SPARE, "train", "train", antialias=True)
        self._add_curve(SPARE, f"val_{SPARE}", "validation", "val", antialias=True)

    def set_epochs(self, epochs: float) -> None:
        """A run of ``epochs`` epochs starts: the x axes (linked) show its first few epochs
        and grow with the data (``follow_x``), never past the budget."""
        self._x_max = max(1.0, float(epochs))
        self._x_view = min(self._x_max, FIRST_VIEW_EPOCHS)
        self.plots["batch"].setXRange(0, self._x_view, padding=0.02)

    def follow_x(self, x: float) -> None:
        """The curves reached epoch ``x``: once they near the right edge, the x axes widen by
        half again (up to the budget), so the data fill the plots instead of their left end."""
        if x > 0.95 * self._x_view and self._x_view < self._x_max:
            self._x_view = min(self._x_max, max(x, self._x_view) * X_GROWTH)
            self.plots["batch"].setXRange(0, self._x_view, padding=0.02)

    def x_view(self) -> float:
        """The last epoch the x axes show."""
        return self._x_view

    def plot(self, name: str) -> pg.PlotItem:
        return self.plots[name]

    def curve(self, name: str) -> pg.PlotDataItem:
        return self.curves[name]

    def metric_names(self) -> list[str]:
        return [n for n in self._order if n not in ("batch", "lr", SPARE)]

    def reset(self) -> None:
        """Back to the plots of a new run: batch, loss, one (spare) metric plot, lr; all empty."""
        extra = False
        for name in [n for n in self.metric_names() if n != "loss"]:
            plot = self.plots.pop(name)
            curves = [self.curves.pop(c, None) for c in (name, f"val_{name}")]
            if SPARE not in self.plots:  # the first metric plot becomes the spare again
                self.plots[SPARE] = plot
                self._order[self._order.index(name)] = SPARE
                self.curves[SPARE], self.curves[f"val_{SPARE}"] = curves
                plot.setProperty("title_text", "metric")
                plot.setProperty("legend", [("train", SPARE), ("validation", f"val_{SPARE}")])
                self._style_plot(plot)
            else:
                self._order.remove(name)
                self.ci.removeItem(plot)
                extra = True
        for c in self.curves.values():
            c.setData([], [])
        for plot in self.plots.values():  # the last run's axes go with it
            plot.enableAutoRange()
        if extra:
            self._relayout(force=True)

    # -------------------------------------------------------------- layout
    def _relayout(self, force: bool = False, width: int | None = None) -> None:
        n = len(self._order)
        width = self.width() if width is None else width
        columns = max(1, min(n, width // self.MIN_PLOT_WIDTH if width > 0 else 2))
        if columns == self._columns and not force:
            return
        self._columns = columns
        for name in self._order:
            if self.plots[name].scene() is not None:
                self.ci.removeItem(self.plots[name])
        for i, name in enumerate(self._order):
            self.ci.addItem(self.plots[name], row=i // columns, col=i % columns)
        self.ci.setGeometry(self.view.range)  # refit: a geometry refused under more rows is allowed now

    def eventFilter(self, obj, event) -> bool:
        if obj is self.view and event.type() == QEvent.Type.Resize and hasattr(self, "_order"):
            # columns first: the layout's minimum height follows its rows
            self._relayout(width=event.size().width())
        return False

    def setBackground(self, color) -> None:
        self.view.setBackground(color)

    def backgroundBrush(self):
        return self.view.backgroundBrush()

    def sizeHint(self) -> QSize:
        return QSize(900, 260)

    # -------------------------------------------------------------- colours
    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) \
                and hasattr(self, "view"):
            self.apply_palette(self.palette())

    def apply_palette(self, palette: QPalette) -> None:
        self._colors = plot_colors(palette)
        self.setBackground(self._colors["background"])
        for plot in self.plots.values():
            self._style_plot(plot)
        for curve in self.curves.values():
            self._style_curve(curve)

    def _style_plot(self, plot: pg.PlotItem) -> None:
        c = self._colors
        self.setBackground(c["background"])
        title = html.escape(plot.property("title_text"))
        for label, cname in plot.property("legend") or ():
            curve = self.curves.get(cname)
            if curve is None:
                continue
            width, alpha, _dashed = curve.property("pen_spec")
            color = QColor(c[curve.property("color_key")])
            color.setAlphaF(max(alpha, 0.5))
            mark = "\u2501" if width >= 2 else "\u2500"
            title += (f"&nbsp;&nbsp; <span style='color:{color.name(QColor.NameFormat.HexArgb)}'>{mark}</span>"
                      f"&nbsp;<span style='font-size:8pt'>{html.escape(label)}</span>")
        plot.setTitle(title, color=c["text"].name(), size="9pt")
        for side in ("left", "bottom"):
            axis = plot.getAxis(side)
            axis.setPen(pg.mkPen(c["axis"]))
            axis.setTextPen(pg.mkPen(c["text"]))
            axis.setTickPen(pg.mkPen(c["axis"]))
            font = QFont(self.font())
            font.setPointSizeF(max(7.0, font.pointSizeF() * 0.85))
            axis.setStyle(tickFont=font)
            axis.label.setFont(font)
        plot.getAxis("bottom").setLabel("epoch", color=c["text"].name())

    def _style_curve(self, curve: pg.PlotDataItem) -> None:
        width, alpha, dashed = curve.property("pen_spec")
        color = QColor(self._colors[curve.property("color_key")])
        color.setAlphaF(alpha)
        pen = pg.mkPen(color, width=width, style=Qt.PenStyle.DashLine if dashed else Qt.PenStyle.SolidLine)
        curve.setPen(pen)
        if curve.opts.get("symbol"):
            curve.setSymbolPen(pg.mkPen(color))
            curve.setSymbolBrush(pg.mkBrush(color))

    def show_symbols(self, curve: pg.PlotDataItem, on: bool) -> None:
        if bool(curve.opts.get("symbol")) == on:
            return
        if on:
            color = QColor(self._colors[curve.property("color_key")])
            curve.setSymbol("o")
            curve.setSymbolSize(5)
            curve.setSymbolPen(pg.mkPen(color))
            curve.setSymbolBrush(pg.mkBrush(color))
        else:
            curve.setSymbol(None)


# ----------------------------------------------------------- progress line
class ProgressLine(QWidget):
    """A slim progress bar (0..1000). Unlike QProgressBar, whose setValue repaints
    synchronously (a whole-window flush per call), it only schedules an update."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self._value = 0
        self.setFixedHeight(8)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def value(self) -> int:
        return self._value

    def setValue(self, value: int) -> None:
        value = max(0, min(1000, int(value)))
        if value != self._value:
            self._value = value
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, 8)

    def paintEvent(self, _event) -> None:
        from PySide6.QtGui import QPainter

        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        r = self.rect().adjusted(0, 1, 0, -1)
        radius = r.height() / 2
        pal = self.palette()
        p.setBrush(pal.color(QPalette.ColorRole.Mid if not _dark(pal) else QPalette.ColorRole.Base))
        p.drawRoundedRect(r, radius, radius)
        if self._value:
            done = r.adjusted(0, 0, -int(r.width() * (1 - self._value / 1000)), 0)
            p.setBrush(pal.color(QPalette.ColorRole.Highlight if self.isEnabled() else QPalette.ColorRole.Mid))
            p.drawRoundedRect(done, radius, radius)
        p.end()


def metric_items(values: dict[str, float]) -> str:
    """``accuracy <b>97.50%</b> · loss <b>0.0812</b>`` (accuracy first, then loss, then the rest)."""
    order = sorted(values, key=lambda k: (k != "accuracy", k != "loss", k))
    return " · ".join(f"{html.escape(metric_title(k))} <b>{format_metric(k, values[k])}</b>" for k in order)


def _dark(palette: QPalette) -> bool:
    from dlstudio.qt.theme import is_dark

    return is_dark(palette)
