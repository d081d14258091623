"""The Experiments panel's plots, each drawn from the study's trial records: the best objective so
far, Optuna's parameter importances, parallel coordinates (one line per trial, coloured by its
objective) and the Pareto front of the objective against the parameter count or the MACs (every
trial a point; a click on one asks to open its run)."""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from dlstudio.qt.panels.training.training_plots import style_axes
from dlstudio.search.study import TrialRecord, best_so_far, pareto_front
from dlstudio.qt.plot_menu import install_plot_menu

FRONT_COLOR, POINT_COLOR, FAILED_COLOR = "#e8710a", "#1f6feb", "#8b949e"


def plot_widget(parent: QWidget, bottom: str, left: str) -> pg.PlotWidget:
    plot = pg.PlotWidget(parent)
    install_plot_menu(plot, "Experiment")
    plot.setLabel("bottom", bottom)
    plot.setLabel("left", left)
    plot.showGrid(x=True, y=True, alpha=0.2)
    style_axes(plot, parent.palette())
    return plot


def done(records: list[TrialRecord]) -> list[TrialRecord]:
    return [r for r in records if r.value is not None and r.state in ("complete", "pruned")]


class BestSoFarView(QWidget):
    """Every trial's objective (pruned ones hollow) and the best so far as a step line."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = plot_widget(self, "trial", "objective")
        layout.addWidget(self.plot)
        self.points = pg.ScatterPlotItem(size=7, pen=pg.mkPen(POINT_COLOR), brush=pg.mkBrush(POINT_COLOR))
        self.best = pg.PlotDataItem(pen=pg.mkPen(FRONT_COLOR, width=2), stepMode=None)
        self.plot.addItem(self.points)
        self.plot.addItem(self.best)

    def show_records(self, records: list[TrialRecord], direction: str, metric: str) -> None:
        self.plot.setLabel("left", metric)
        spots = [{"pos": (r.number, r.value), "brush": pg.mkBrush(POINT_COLOR if r.state == "complete" else None),
                  "pen": pg.mkPen(POINT_COLOR)} for r in done(records)]
        self.points.setData(spots)
        curve = best_so_far(records, direction)
        xs, ys = [], []
        for i, (n, v) in enumerate(curve):  # a step: the best holds until the next improvement
            if i:
                xs.append(float(n))
                ys.append(ys[-1])
            xs.append(float(n))
            ys.append(v)
        self.best.setData(xs, ys)

    def best_curve(self) -> tuple[list[float], list[float]]:
        x, y = self.best.getData()
        return ([] if x is None else list(x)), ([] if y is None else list(y))


class ImportanceView(QWidget):
    """Optuna's parameter importances as horizontal bars (largest on top)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.note = QLabel("Importances need at least two complete trials with different values.", self)
        self.note.setWordWrap(True)
        layout.addWidget(self.note)
        self.plot = plot_widget(self, "importance", "")
        layout.addWidget(self.plot)
        self.bars: pg.BarGraphItem | None = None
        self.values: dict[str, float] = {}

    def show_importances(self, values: dict[str, float]) -> None:
        self.values = dict(values)
        if self.bars is not None:
            self.plot.removeItem(self.bars)
            self.bars = None
        self.note.setVisible(not values)
        if not values:
            return
        names = sorted(values, key=values.get)
        self.bars = pg.BarGraphItem(x0=0, y=list(range(len(names))), height=0.6,
                                    width=[values[n] for n in names], brush=POINT_COLOR)
        self.plot.addItem(self.bars)
        self.plot.getAxis("left").setTicks([list(enumerate(names))])


class ParallelView(QWidget):
    """Parallel coordinates: one axis per searched value and one for the objective; one line per
    trial, coloured from poor (grey) to good (orange). Values are scaled to each axis' range;
    choices are placed evenly in their list order."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.plot = plot_widget(self, "", "scaled value")
        self.plot.showGrid(x=True, y=False)
        layout.addWidget(self.plot)
        self.lines: list[Any] = []

    def show_records(self, records: list[TrialRecord], direction: str, metric: str) -> None:
        for line in self.lines:
            self.plot.removeItem(line)
        self.lines = []
        rows = done(records)
        if not rows:
            return
        names = sorted({k for r in rows for k in r.params}, key=lambda k: list(rows[0].params).index(k)
                       if k in rows[0].params else 99)
        axes = [*names, metric]
        columns = [[scalar(r.params.get(n)) for r in rows] for n in names] + [[r.value for r in rows]]
        scaled = [scale(col) for col in columns]
        values = [r.value for r in rows]
        lo, hi = min(values), max(values)
        for i, r in enumerate(rows):
            good = 0.5 if hi == lo else (r.value - lo) / (hi - lo)
            if direction == "minimize":
                good = 1 - good
            colour = QColor(FAILED_COLOR) if good < 0.5 else QColor(FRONT_COLOR)
            colour.setAlphaF(0.35 + 0.65 * good)
            line = pg.PlotDataItem(list(range(len(axes))), [col[i] for col in scaled], pen=pg.mkPen(colour, width=1.5))
            self.plot.addItem(line)
            self.lines.append(line)
        self.plot.getAxis("bottom").setTicks([list(enumerate(axes))])


def scalar(value: Any) -> Any:
    return str(value) if isinstance(value, (list, tuple, dict)) else value


def scale(column: list[Any]) -> list[float]:
    """Numbers scaled to 0..1 (log when they span two decades and more); others by rank of first use."""
    if all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in column):
        lo, hi = min(column), max(column)
        if lo > 0 and hi / lo >= 100:
            column, lo, hi = [math.log10(v) for v in column], math.log10(lo), math.log10(hi)
        return [0.5 if hi == lo else (v - lo) / (hi - lo) for v in column]
    order = list(dict.fromkeys(map(repr, column)))
    n = max(1, len(order) - 1)
    return [order.index(repr(v)) / n if len(order) > 1 else 0.5 for v in column]


class ParetoView(QWidget):
    """Every trial as a point of (cost, objective), cost the parameter count or the MACs (log axis);
    the Pareto-optimal ones in orange, joined. ``run_clicked(run id)`` on a click on a point."""

    run_clicked = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        row.addWidget(QLabel("Cost:", self))
        self.cost = QComboBox(self)
        self.cost.addItem("parameters", "n_params")
        self.cost.addItem("multiply-adds (MACs)", "macs")
        self.cost.currentIndexChanged.connect(lambda _i: self.redraw())
        row.addWidget(self.cost)
        row.addStretch(1)
        layout.addLayout(row)
        self.plot = plot_widget(self, "parameters", "objective")
        self.plot.setLogMode(x=True, y=False)
        layout.addWidget(self.plot)
        self.points = pg.ScatterPlotItem(size=9, hoverable=True)
        self.points.sigClicked.connect(self._clicked)
        self.front_line = pg.PlotDataItem(pen=pg.mkPen(FRONT_COLOR, width=1.5, style=pg.QtCore.Qt.PenStyle.DashLine))
        self.plot.addItem(self.front_line)
        self.plot.addItem(self.points)
        self.records: list[TrialRecord] = []
        self.direction, self.metric = "minimize", "objective"
        self.front: list[TrialRecord] = []

    def show_records(self, records: list[TrialRecord], direction: str, metric: str) -> None:
        self.records, self.direction, self.metric = records, direction, metric
        self.redraw()

    def set_cost(self, key: str) -> None:
        self.cost.setCurrentIndex(self.cost.findData(key))

    def redraw(self) -> None:
        key = self.cost.currentData()
        self.plot.setLabel("bottom", self.cost.currentText())
        self.plot.setLabel("left", self.metric)
        rows = [r for r in done(self.records) if getattr(r, key)]
        points = [(float(getattr(r, key)), r.value) for r in rows]
        front = set(pareto_front(points, self.direction == "maximize"))
        self.front = sorted((rows[i] for i in front), key=lambda r: getattr(r, key))
        self.points.setData([{"pos": (math.log10(c), v), "data": r.run_id or "",
                              "brush": pg.mkBrush(FRONT_COLOR if i in front else POINT_COLOR),
                              "pen": pg.mkPen("w" if i in front else POINT_COLOR),
                              "symbol": "o" if r.state == "complete" else "t"}
                             for i, ((c, v), r) in enumerate(zip(points, rows))])
        self.front_line.setData([math.log10(getattr(r, key)) for r in self.front], [r.value for r in self.front])

    def _clicked(self, _item, spots, _event=None) -> None:
        for spot in spots[:1]:
            if spot.data():
                self.run_clicked.emit(str(spot.data()))
