"""What the data panel shows of a loaded dataset, as a mixin of
:class:`~dlstudio.qt.panels.data.data_panel.DataPanel`: in the middle column the samples as
the data's kind calls for (an image grid with labels, a scatter plot of 2-D points, a table,
a text preview, a series plot), on the right the split sizes and the class balance (or the
histogram of the target values). It reads the panel's ``dataset`` and draws; choosing,
loading and applying a dataset stay in the panel.
"""

from __future__ import annotations

import math

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QFont, QFontDatabase, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFrame,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QScrollArea,
    QSizePolicy,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.data.grid import CLASS_COLORS, class_balance, class_color, sample_indices, text_preview
from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.data.data_widgets import SampleGrid, muted_label, section_header, shape_text
from dlstudio.qt.plot_menu import install_plot_menu

SAMPLES = 48  # images in the sample grid
TABLE_ROWS = 50
SCATTER_POINTS = 5000


class DatasetViews:
    """The samples, split sizes and balance of the data panel (a mixin: ``self`` is the panel)."""

    def _build_samples(self, splitter: QWidget) -> QWidget:
        """The middle column: a header and a stack of views, one per kind of data."""
        middle = QWidget(splitter)
        mid = QVBoxLayout(middle)
        mid.setContentsMargins(6, 6, 6, 6)
        mid.setSpacing(4)
        self.samples_header = section_header("Samples", middle)
        mid.addWidget(self.samples_header)
        self.views = QStackedWidget(middle)
        mid.addWidget(self.views, 1)
        self.placeholder = muted_label("", middle)
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.placeholder.setContentsMargins(16, 16, 16, 16)
        self.views.addWidget(self.placeholder)
        self.grid_scroll = QScrollArea(middle)
        self.grid_scroll.setWidgetResizable(True)
        self.grid_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.grid_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.sample_grid = SampleGrid(self.grid_scroll)
        self.sample_grid.selected.connect(self._sample_selected)
        self.grid_scroll.setWidget(self.sample_grid)
        self.views.addWidget(self.grid_scroll)
        self.table = QTableWidget(middle)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setFrameShape(QFrame.Shape.NoFrame)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.views.addWidget(self.table)
        self.text_view = QPlainTextEdit(middle)
        self.text_view.setReadOnly(True)
        self.text_view.setFrameShape(QFrame.Shape.NoFrame)
        self.text_view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        self.text_view.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.views.addWidget(self.text_view)
        self.scatter_plot = None  # pyqtgraph widgets are made on first use
        self.series_plot = None
        return middle

    def _build_balance(self, right: QWidget, rl: QVBoxLayout) -> None:
        """The split sizes and the class balance, at the top of the right column."""
        self.balance_header = section_header("Class balance", right)
        rl.addWidget(self.balance_header)
        self.split_label = QLabel(right)
        self.split_label.setObjectName("split_sizes")
        self.split_label.setWordWrap(True)
        self.split_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rl.addWidget(self.split_label)
        self.balance_plot = None  # made on first use: pyqtgraph stays off the start-up path
        self._balance_slot = (rl, rl.count())

    def _plot_widget(self, parent: QWidget, interactive: bool = True):
        import pyqtgraph as pg

        plot = pg.PlotWidget(parent)
        install_plot_menu(plot, "Dataset")
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getPlotItem().setContentsMargins(2, 4, 6, 2)
        if not interactive:
            plot.setMouseEnabled(x=False, y=False)
        plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        return plot

    def _set_placeholder(self, text: str, error: bool = False) -> None:
        self.placeholder.setText(text)
        if error:
            self.placeholder.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")
        else:
            self.placeholder.setStyleSheet("")
        self.placeholder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse if error
                                                 else Qt.TextInteractionFlag.NoTextInteraction)
        self.views.setCurrentWidget(self.placeholder)

    def _show_dataset(self, d) -> None:
        s = d.sizes
        parts = [f"<b>{s['train']:,}</b> train", f"<b>{s['test']:,}</b> test",
                 f"input {shape_text(d.input_shape)} {d.x_train.dtype}"]
        if d.task == "classification" and d.num_classes:
            parts.append(f"{d.num_classes} classes")
        else:
            parts.append(f"target {shape_text(d.target_shape)}")
        self.split_label.setText(" \u00b7 ".join(parts))
        self.samples_header.title_label.setText(f"SAMPLES \u2014 {d.kind.upper()}")
        if d.kind == "image" and d.x_train.ndim == 4 and len(d.x_train):
            self._show_images(d)
        elif d.kind == "points" and d.x_train.ndim == 2 and d.x_train.shape[1] == 2:
            self._show_points(d)
        elif d.kind == "text" and d.vocabulary:
            self.text_view.setPlainText(text_preview(d, 60, width=90))
            self.views.setCurrentWidget(self.text_view)
        elif d.kind == "series" and d.x_train.ndim >= 2:
            self._show_series(d)
        else:
            self._show_table(d)
        self._show_balance(d)

    def _labels(self, d, idx) -> list[str]:
        y = d.y_train[idx]
        if d.task == "classification" and d.class_names:
            return [d.class_names[int(v)] if 0 <= int(v) < len(d.class_names) else str(int(v)) for v in y]
        names, labels = d.meta.get("class_names"), d.meta.get("labels_train")
        if names and labels is not None:  # the target is the image itself (autoencoders): the class as caption
            return [names[int(v)] if 0 <= int(v) < len(names) else str(int(v)) for v in np.asarray(labels)[idx]]
        return [", ".join(f"{float(t):.3g}" for t in np.ravel(v)[:2]) for v in y]

    def _show_images(self, d) -> None:
        idx = sample_indices(d.y_train, SAMPLES, 0)
        self._sample_idx = idx
        self.sample_grid.set_samples(d.x_train[idx], self._labels(d, idx))
        self.views.setCurrentWidget(self.grid_scroll)

    def _show_points(self, d) -> None:
        import pyqtgraph as pg

        if self.scatter_plot is None:
            self.scatter_plot = self._plot_widget(self)
            self.scatter_plot.setAspectLocked(True)
            self.scatter_plot.showGrid(x=True, y=True, alpha=0.15)
            self.views.addWidget(self.scatter_plot)
            self._restyle()
        plot = self.scatter_plot
        plot.clear()  # also empties the legend
        item = plot.getPlotItem()
        legend = plot.addLegend(offset=(-8, 8))  # made once, then reused
        legend.setLabelTextColor(self.palette().color(QPalette.ColorRole.Text))
        legend.setBrush(self.palette().color(QPalette.ColorRole.Base))
        legend.setPen(self.palette().color(QPalette.ColorRole.Mid))
        x, y = d.x_train, d.y_train
        if len(x) > SCATTER_POINTS:
            keep = np.sort(np.random.default_rng(0).choice(len(x), SCATTER_POINTS, replace=False))
            x, y = x[keep], y[keep]
        ids = y.astype(np.int64) if y.dtype.kind in "iu" else np.zeros(len(y), np.int64)
        for c in np.unique(ids):
            mask = ids == c
            color = QColor(*class_color(int(c)))
            name = d.class_names[c] if 0 <= c < len(d.class_names) else str(c)
            spots = pg.ScatterPlotItem(x[mask, 0].astype(np.float64), x[mask, 1].astype(np.float64), size=6,
                                       pen=pg.mkPen(color.darker(140), width=0.8), brush=pg.mkBrush(color),
                                       name=name)
            plot.addItem(spots)
        names = d.feature_names or ["x1", "x2"]
        item.setLabel("bottom", names[0])
        item.setLabel("left", names[1] if len(names) > 1 else "x2")
        plot.autoRange()
        self.views.setCurrentWidget(plot)

    def _show_series(self, d) -> None:
        import pyqtgraph as pg

        if self.series_plot is None:
            self.series_plot = self._plot_widget(self)
            self.series_plot.showGrid(x=True, y=True, alpha=0.15)
            self.views.addWidget(self.series_plot)
            self._restyle()
        plot = self.series_plot
        plot.clear()
        series = d.meta.get("series")
        values = np.asarray(series if series is not None else d.x_train[0].reshape(-1), np.float64)
        plot.plot(np.arange(len(values), dtype=np.float64), values, pen=pg.mkPen(CLASS_COLORS[0], width=1.4))
        split = d.meta.get("split_index")
        if split is not None:
            line = pg.InfiniteLine(pos=float(split), angle=90,
                                   pen=pg.mkPen(CLASS_COLORS[1], width=1.2, style=Qt.PenStyle.DashLine),
                                   label="test \u2192", labelOpts={"position": 0.92,
                                                                   "color": CLASS_COLORS[1]})
            plot.addItem(line)
        plot.getPlotItem().setLabel("bottom", "step")
        plot.autoRange()
        if len(values) > 600:  # readable waves: a window around the start of the test part
            centre = float(split) if split is not None else len(values) / 2
            plot.setXRange(max(0.0, centre - 300), min(float(len(values)), centre + 150), padding=0.02)
        self.views.setCurrentWidget(plot)

    def _show_table(self, d) -> None:
        x = d.x_train[:TABLE_ROWS].reshape(min(TABLE_ROWS, len(d.x_train)), -1)
        y = d.y_train[:TABLE_ROWS]
        columns = list(d.feature_names) if len(d.feature_names) == x.shape[1] else \
            [f"x{i}" for i in range(x.shape[1])]
        columns = columns[:60]
        target = (d.meta.get("target_names") or ["target"])
        target_cols = ["class"] if d.task == "classification" and d.class_names else \
            (list(target) if y.ndim == 2 and len(target) == y.shape[1] else ["target"])
        self.table.clear()
        self.table.setRowCount(len(x))
        self.table.setColumnCount(len(columns) + len(target_cols))
        self.table.setHorizontalHeaderLabels(columns + target_cols)
        right = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        bold = QFont(self.table.font())
        bold.setBold(True)
        for r in range(len(x)):
            for c in range(len(columns)):
                item = QTableWidgetItem(f"{float(x[r, c]):.4g}")
                item.setTextAlignment(right)
                self.table.setItem(r, c, item)
            if target_cols == ["class"]:
                v = int(y[r])
                item = QTableWidgetItem(d.class_names[v] if 0 <= v < len(d.class_names) else str(v))
                item.setForeground(QColor(*class_color(v)))
                item.setFont(bold)
                self.table.setItem(r, len(columns), item)
            else:
                for k, v in enumerate(np.ravel(y[r])[:len(target_cols)]):
                    item = QTableWidgetItem(f"{float(v):.4g}")
                    item.setTextAlignment(right)
                    item.setFont(bold)
                    self.table.setItem(r, len(columns) + k, item)
        self.views.setCurrentWidget(self.table)

    def _show_balance(self, d) -> None:
        import pyqtgraph as pg

        if self.balance_plot is None:
            layout, index = self._balance_slot
            self.balance_plot = self._plot_widget(layout.parentWidget(), interactive=False)
            self.balance_plot.setMinimumHeight(110)
            self.balance_plot.setMaximumHeight(170)
            layout.insertWidget(index, self.balance_plot)
            self._restyle()
        plot = self.balance_plot
        plot.clear()
        plot.show()
        axis = plot.getPlotItem().getAxis("bottom")
        if d.task == "classification" and d.num_classes:
            self.balance_header.title_label.setText("CLASS BALANCE (TRAIN)")
            counts = class_balance(d.y_train, d.num_classes)
            xs = np.arange(len(counts), dtype=np.float64)
            if len(counts) <= len(CLASS_COLORS):
                brushes = [pg.mkBrush(QColor(*class_color(i))) for i in range(len(counts))]
            else:  # many classes (characters): one colour reads better than a rainbow
                brushes = [pg.mkBrush(CLASS_COLORS[0])] * len(counts)
            bars = pg.BarGraphItem(x=xs, height=counts.astype(np.float64), width=0.72, brushes=brushes,
                                   pen=pg.mkPen(None))
            plot.addItem(bars)
            every = max(1, math.ceil(len(counts) / 12))
            axis.setTicks([[(float(i), d.class_names[i][:8]) for i in range(0, len(counts), every)], []])
            plot.setXRange(-0.6, len(counts) - 0.4, padding=0)
            plot.setYRange(0, max(1, int(counts.max())) * 1.08, padding=0)
        else:
            self.balance_header.title_label.setText("TARGET VALUES (TRAIN)")
            y = np.asarray(d.y_train, np.float64).reshape(-1)
            y = y[np.isfinite(y)]
            if not len(y):
                return
            hist, edges = np.histogram(y, bins=min(30, max(5, int(np.sqrt(len(y))))))
            bars = pg.BarGraphItem(x0=edges[:-1], x1=edges[1:], height=hist.astype(np.float64),
                                   brush=pg.mkBrush(CLASS_COLORS[0]), pen=pg.mkPen(None))
            plot.addItem(bars)
            axis.setTicks(None)
            plot.autoRange()
