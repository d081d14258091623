"""The three result views of the insight panel, each fed one ``Insight``:

- :class:`FeatureMapsView`: the input, an enlarged map, and per layer a grid of
  colour-mapped tiles (conv/pool) or bars (dense); ``show_layer`` scrolls to one.
- :class:`WeightsView`: the first convolution's kernels and weight histograms.
- :class:`SaliencyView`: input, saliency, Grad-CAM overlay and the top classes.

They only draw; the panel computes (:mod:`insight_panel`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QPoint, QRectF, Qt, Signal
from PySide6.QtGui import QFont, QPainter, QPalette, QPen
from PySide6.QtWidgets import (
    QComboBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from dlstudio.data.grid import CLASS_COLORS
from dlstudio.insight.activations import InsightError, channel_grid, colorize
from dlstudio.insight.saliency import display_image, normalized, overlay
from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.insight.conv_playground import rgb_pixmap
from dlstudio.qt.panels.data.data_widgets import SampleGrid, muted_label, section_header, shape_text
from dlstudio.qt.plot_menu import install_plot_menu

#: Vector layers not worth bars of their own (they repeat the layer before them).
HIDDEN_VECTORS = ("Flatten", "Reshape", "Dropout", "GaussianNoise", "RepeatVector", "InputLayer")
INPUT_SIDE = 112
ENLARGED_SIDE = 112


def _maps_rgb(tiles: np.ndarray) -> np.ndarray:
    return colorize(tiles, "viridis").astype(np.float32) / 255.0


def _image_or_none(x: np.ndarray) -> np.ndarray | None:
    try:
        return display_image(x)
    except InsightError:
        return None


def _rgb8(img: np.ndarray) -> np.ndarray:
    return np.rint(np.clip(img, 0, 1) * 255).astype(np.uint8)


class TileGrid(SampleGrid):
    """Feature-map tiles: no captions, nothing selected until clicked."""

    def __init__(self, parent: QWidget | None = None, target: int = 40):
        super().__init__(parent, captions=False, selectable=True, target=target, click_to_select=True)
        self._gap = 3

    def clear_current(self) -> None:
        self._current = -1
        self.update()


class BarsWidget(QWidget):
    """A vector as bars around zero (Dense activations, class probabilities)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.values = np.zeros(0)
        self.labels: list[str] = []
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(60)
        self.setMouseTracking(True)

    def set_values(self, values: np.ndarray, labels: list[str] | None = None) -> None:
        self.values = np.asarray(values, np.float64).ravel()
        self.labels = list(labels or [])
        self.setFixedHeight(78 if self.labels else 60)
        self.update()

    def _slot(self) -> float:
        return (self.width() - 8) / max(1, len(self.values))

    def mouseMoveEvent(self, event) -> None:
        i = int((event.position().x() - 4) // max(1e-6, self._slot()))
        if 0 <= i < len(self.values):
            name = self.labels[i] if i < len(self.labels) else f"unit {i}"
            self.setToolTip(f"{name}: {self.values[i]:.4g}")
        super().mouseMoveEvent(event)

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        pal = self.palette()
        v = self.values
        if v.size:
            lo, hi = min(0.0, float(v.min())), max(0.0, float(v.max()))
            span = (hi - lo) or 1.0
            top, height = 4.0, self.height() - (24.0 if self.labels else 8.0)
            zero = top + height * hi / span
            slot = self._slot()
            best = int(np.argmax(v))
            highlight = pal.color(QPalette.ColorRole.Highlight)
            muted = pal.color(QPalette.ColorRole.PlaceholderText)
            negative = severity_color("error", pal)
            for i, value in enumerate(v):
                x = 4 + i * slot
                y = top + height * (hi - max(value, 0.0)) / span
                color = negative if value < 0 else (muted if self.labels and i != best else highlight)
                gap = 1.0 if slot > 3 else 0.0
                p.fillRect(QRectF(x + gap / 2, y, max(slot - gap, 0.5), max(height * abs(value) / span, 0.5)), color)
                if i < len(self.labels):
                    p.setPen(pal.color(QPalette.ColorRole.WindowText))
                    p.drawText(QRectF(x - 6, top + height + 4, slot + 12, 16), Qt.AlignmentFlag.AlignCenter,
                               self.labels[i][:6])
            p.setPen(QPen(pal.color(QPalette.ColorRole.Mid), 1))
            p.drawLine(4, int(zero), self.width() - 4, int(zero))
        p.end()


def _layer_header(name: str, parent: QWidget) -> QWidget:
    w = QWidget(parent)
    lay = QHBoxLayout(w)
    lay.setContentsMargins(2, 8, 0, 0)
    lay.setSpacing(8)
    title = QLabel(name, w)
    font = QFont(title.font())
    font.setBold(True)
    title.setFont(font)
    detail = muted_label("", w, wrap=False)
    lay.addWidget(title)
    lay.addWidget(detail)
    lay.addStretch(1)
    w.title_label, w.detail_label = title, detail  # type: ignore[attr-defined]
    return w


def scroll_area(inner: QWidget, parent: QWidget) -> QScrollArea:
    area = QScrollArea(parent)
    area.setWidgetResizable(True)
    area.setFrameShape(QFrame.Shape.NoFrame)
    area.setWidget(inner)
    return area


class FeatureMapsView(QWidget):
    """Every conv/pool layer's maps as tiles and every dense layer's activations as bars."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.insight = None
        self.class_names: list[str] = []
        self._headers: dict[str, QWidget] = {}
        self._views: dict[str, QWidget] = {}
        self._signature: tuple = ()
        self.selected_layer: str | None = None
        self._scroll_target: tuple | None = None
        self.enlarged: tuple[str, int] | None = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(2)
        row = QHBoxLayout()
        self.input_label = QLabel(self)
        self.input_label.setToolTip("The input")
        self.input_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.enlarged_label = QLabel(self)
        self.enlarged_label.setToolTip("The map you clicked, enlarged")
        self.enlarged_label.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.input_caption = muted_label("", self)
        self.enlarged_caption = muted_label("Click a map to enlarge it here.", self)
        col = QVBoxLayout()
        col.addWidget(self.input_caption)
        col.addWidget(self.enlarged_caption)
        col.addStretch(1)
        self.normalize_combo = QComboBox(self)
        self.normalize_combo.addItem("Own range per map", "per_channel")
        self.normalize_combo.addItem("One range per layer", "layer")
        self.normalize_combo.setToolTip("Stretch every map to its own minimum and maximum (default), or show the "
                                        "maps of a layer on one scale, so they compare")
        self.normalize_combo.currentIndexChanged.connect(lambda _i: self.show_insight(self.insight))
        row.addWidget(self.input_label, 0, Qt.AlignmentFlag.AlignTop)
        row.addWidget(self.enlarged_label, 0, Qt.AlignmentFlag.AlignTop)
        row.addLayout(col, 1)
        lay.addLayout(row)
        norm = QHBoxLayout()
        norm.addWidget(muted_label("Colours:", self, wrap=False))
        norm.addWidget(self.normalize_combo)
        norm.addStretch(1)
        lay.addLayout(norm)
        self.empty = muted_label("", self)
        lay.addWidget(self.empty)
        self.host = QWidget(self)
        self.host_layout = QVBoxLayout(self.host)
        self.host_layout.setContentsMargins(0, 0, 0, 0)
        self.host_layout.setSpacing(2)
        lay.addWidget(self.host)
        lay.addStretch(1)

    # public
    def layer_names(self) -> list[str]:
        """The layers shown, top to bottom."""
        return list(self._headers)

    def grid(self, name: str) -> TileGrid | None:
        w = self._views.get(name)
        return w if isinstance(w, TileGrid) else None

    def header(self, name: str) -> QWidget | None:
        return self._headers.get(name)

    def set_input(self, x: np.ndarray | None, caption: str) -> None:
        img = None if x is None else _image_or_none(x)
        if img is None:
            self.input_label.clear()
            self.input_label.hide()
            detail = ""
            if x is not None:
                v = np.asarray(x).ravel()
                detail = (f"<br>values {', '.join(f'{float(t):.3g}' for t in v)}" if v.size <= 8
                          else f" (shape {shape_text(np.shape(x))})")
            self.input_caption.setText(f"<b>Input</b> {caption}{detail}")
        else:
            self.input_label.show()
            self.input_label.setPixmap(rgb_pixmap(_rgb8(img), INPUT_SIDE))
            self.input_caption.setText(f"<b>Input</b> {caption}")

    def show_insight(self, insight: Any, class_names: list[str] | None = None) -> None:
        if class_names is not None:
            self.class_names = list(class_names)
        self.insight = insight
        if insight is None:
            self._rebuild([])
            return
        names = [n for n in insight.maps
                 if insight.kinds[n] == "maps" or (insight.kinds[n] == "vector" and insight.types[n] not in
                                                   HIDDEN_VECTORS)]
        signature = tuple((n, insight.shapes[n]) for n in names)
        if signature != self._signature:
            self._rebuild(names)
            self._signature = signature
        norm = self.normalize_combo.currentData()
        last = names[-1] if names else None
        for name in names:
            act, shape = insight.maps[name], insight.shapes[name]
            head = self._headers[name]
            view = self._views[name]
            if isinstance(view, TileGrid):
                view.set_samples(_maps_rgb(channel_grid(act, norm)))
                head.detail_label.setText(f"{shape_text(shape)} \u00b7 {insight.types[name]}")
            else:
                values = np.asarray(act, np.float64).ravel()
                labels = self.class_names if name == last and len(self.class_names) == len(values) else None
                view.set_values(values, labels)
                head.detail_label.setText(f"{len(values)} units \u00b7 {insight.types[name]}")
        self.empty.setVisible(not names)
        self.empty.setText("This model has no layers to show." if not names else "")
        if self.enlarged and self.enlarged[0] in self._views and self.grid(self.enlarged[0]):
            self.enlarge(*self.enlarged)
        else:
            self.enlarged = None
            self.enlarged_label.clear()
            self.enlarged_label.hide()
            self.enlarged_caption.setText("Click a map to enlarge it here.")
        self._mark_selected()

    def enlarge(self, layer: str, index: int) -> None:
        grid = self.grid(layer)
        if grid is None or self.insight is None or not 0 <= index < grid.count():
            return
        tiles = channel_grid(self.insight.maps[layer], self.normalize_combo.currentData())
        act = np.asarray(self.insight.maps[layer])
        raw = act[..., index] if act.ndim == 3 else act
        self.enlarged = (layer, index)
        self.enlarged_label.show()
        self.enlarged_label.setPixmap(rgb_pixmap(colorize(tiles[index], "viridis"), ENLARGED_SIDE))
        self.enlarged_caption.setText(f"<b>{layer}</b> map {index + 1} of {len(tiles)}<br>"
                                      f"values {float(raw.min()):.3g} to {float(raw.max()):.3g}")
        for name in self._views:
            g = self.grid(name)
            if g is not None and name != layer:
                g.clear_current()

    def show_layer(self, name: str, scroll: QScrollArea | None = None) -> bool:
        """Mark layer ``name`` and scroll ``scroll`` so its header is at the top."""
        self.selected_layer = name
        self._mark_selected()
        head = self._headers.get(name)
        self._scroll_target = None
        if head is None or scroll is None:
            return head is not None
        self._scroll_target = (name, scroll)
        self._apply_scroll()
        return True

    def _apply_scroll(self) -> None:
        """Scroll to the target layer; keep trying on resizes until the scroll range allows it
        (a layer shown while the view is still laid out)."""
        name, scroll = self._scroll_target or (None, None)
        head = self._headers.get(name) if name else None
        if head is None:
            self._scroll_target = None
            return
        y = max(0, head.mapTo(scroll.widget(), QPoint(0, 0)).y() - 4)
        bar = scroll.verticalScrollBar()
        bar.setValue(y)
        if bar.value() == y:
            self._scroll_target = None

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        if self._scroll_target is not None:
            self._apply_scroll()

    # internals
    def _rebuild(self, names: list[str]) -> None:
        for w in list(self._headers.values()) + list(self._views.values()):
            w.setParent(None)
            w.deleteLater()
        self._headers.clear()
        self._views.clear()
        self._signature = ()
        for name in names:
            head = _layer_header(name, self.host)
            if self.insight.kinds[name] == "maps":
                view = TileGrid(self.host, target=40 if self.insight.shapes[name][0] <= 16 else 48)
                view.selected.connect(lambda i, n=name: self.enlarge(n, i))
            else:
                view = BarsWidget(self.host)
            self.host_layout.addWidget(head)
            self.host_layout.addWidget(view)
            self._headers[name], self._views[name] = head, view

    def _mark_selected(self) -> None:
        pal = self.palette()
        for name, head in self._headers.items():
            on = name == self.selected_layer
            color = pal.color(QPalette.ColorRole.Highlight).name() if on else ""
            head.title_label.setStyleSheet(f"color: {color};" if on else "")
            head.title_label.setText(("\u25b8 " if on else "") + name)


class WeightsView(QWidget):
    """The first convolution's kernels as images and one layer's weight histograms."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.insight = None
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        self.filters_header = section_header("First-layer filters", self)
        lay.addWidget(self.filters_header)
        self.filters_note = muted_label("", self)
        lay.addWidget(self.filters_note)
        self.filters_grid = TileGrid(self, target=44)
        lay.addWidget(self.filters_grid)
        lay.addWidget(section_header("Weights", self))
        self.layer_combo = QComboBox(self)
        self.layer_combo.currentIndexChanged.connect(lambda _i: self._show_histogram())
        lay.addWidget(self.layer_combo)
        self.plot = self.legend = None  # made on first use: pyqtgraph stays off the start-up path
        self._plot_slot = (lay, lay.count())
        self.note = muted_label("", self)
        lay.addWidget(self.note)
        lay.addStretch(1)

    def _make_plot(self) -> None:
        import pyqtgraph as pg

        layout, index = self._plot_slot
        self.plot = pg.PlotWidget(self)
        install_plot_menu(self.plot, "Layer outputs")
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.plot.setMouseEnabled(x=False, y=False)
        self.plot.setMinimumHeight(190)
        self.legend = self.plot.addLegend(offset=(-6, 6))
        self.plot.getPlotItem().setLabel("left", "count")
        layout.insertWidget(index, self.plot)
        self.restyle()

    def restyle(self) -> None:
        if self.plot is None:
            return
        pal = self.palette()
        self.plot.setBackground(pal.color(QPalette.ColorRole.Base))
        for name in ("left", "bottom"):
            axis = self.plot.getPlotItem().getAxis(name)
            axis.setPen(pal.color(QPalette.ColorRole.PlaceholderText))
            axis.setTextPen(pal.color(QPalette.ColorRole.Text))
        self.legend.setLabelTextColor(pal.color(QPalette.ColorRole.Text))
        self._show_histogram()

    def show_insight(self, insight: Any) -> None:
        self.insight = insight
        f = None if insight is None else insight.filters
        if f is None:
            self.filters_grid.clear()
            self.filters_note.setText("No 2-D convolution: no filters to show." if insight is not None else "")
        else:
            n, kh, kw, cin = f.shape
            if cin == 3:
                images = f
                how = "RGB: each colour is one input channel's weights"
            else:
                images = colorize(f.mean(axis=-1), "coolwarm").astype(np.float32) / 255.0
                how = ("blue negative, red positive, grey zero" if cin == 1 else
                       f"averaged over its {cin} input channels; blue negative, red positive")
            self.filters_grid.set_samples(images)
            self.filters_header.title_label.setText(f"FIRST-LAYER FILTERS \u2014 {insight.filters_layer.upper()}")
            self.filters_note.setText(f"{n} kernels of {kh}\u00d7{kw}\u00d7{cin}, each scaled to its largest "
                                      f"weight; {how}.")
        keep = self.layer_combo.currentText()
        self.layer_combo.blockSignals(True)
        self.layer_combo.clear()
        for name in (insight.histograms if insight is not None else {}):
            self.layer_combo.addItem(name)
        i = self.layer_combo.findText(keep)
        self.layer_combo.setCurrentIndex(i if i >= 0 else 0)
        self.layer_combo.blockSignals(False)
        self._show_histogram()

    def select_layer(self, name: str) -> bool:
        i = self.layer_combo.findText(name)
        if i >= 0:
            self.layer_combo.setCurrentIndex(i)
        return i >= 0

    def _show_histogram(self) -> None:
        name = self.layer_combo.currentText()
        if self.plot is None:
            if not name:
                return  # nothing to draw: pyqtgraph is not imported yet (start-up)
            self._make_plot()
        import pyqtgraph as pg
        self.plot.clear()
        self.legend.clear()
        per = (self.insight.histograms.get(name) if self.insight is not None else None) or {}
        lines = []
        for i, (wname, (counts, edges)) in enumerate(per.items()):
            color = CLASS_COLORS[i % len(CLASS_COLORS)]
            item = pg.PlotDataItem(edges, counts, stepMode="center", fillLevel=0, name=wname,
                                   pen=pg.mkPen(color, width=1.5), brush=pg.mkColor(color + "55"))
            self.plot.addItem(item)
            total = int(counts.sum())
            lines.append(f"{wname}: {total:,} values, {edges[0]:.3g} to {edges[-1]:.3g}")
        self.note.setText("\n".join(lines) if lines else ("This layer has no weights." if name else ""))


class SaliencyView(QWidget):
    """Input | saliency | Grad-CAM overlay, the explained class and the top probabilities."""

    class_changed = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.insight = None
        self.x: np.ndarray | None = None
        self.class_names: list[str] = []
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        row.addWidget(QLabel("Explain", self))
        self.class_combo = QComboBox(self)
        self.class_combo.addItem("the predicted class", None)
        self.class_combo.currentIndexChanged.connect(lambda _i: self.class_changed.emit())
        row.addWidget(self.class_combo, 1)
        lay.addLayout(row)
        pics = QGridLayout()
        pics.setHorizontalSpacing(6)
        self.images: list[QLabel] = []
        self.captions: list[QLabel] = []
        for col, title in enumerate(("Input", "Saliency", "Grad-CAM")):
            image = QLabel(self)
            image.setAlignment(Qt.AlignmentFlag.AlignCenter)
            caption = muted_label(title, self)
            caption.setAlignment(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop)
            pics.addWidget(image, 0, col)
            pics.addWidget(caption, 1, col)
            self.images.append(image)
            self.captions.append(caption)
        lay.addLayout(pics)
        arow = QHBoxLayout()
        self.alpha_label = muted_label("Overlay strength", self, wrap=False)
        arow.addWidget(self.alpha_label)
        self.alpha = QSlider(Qt.Orientation.Horizontal, self)
        self.alpha.setRange(0, 100)
        self.alpha.setValue(45)
        self.alpha.valueChanged.connect(lambda _v: self._draw())
        arow.addWidget(self.alpha, 1)
        lay.addLayout(arow)
        self.note = muted_label("", self)
        lay.addWidget(self.note)
        lay.addWidget(section_header("Prediction", self))
        self.probs = BarsWidget(self)
        lay.addWidget(self.probs)
        self.top = muted_label("", self)
        lay.addWidget(self.top)
        lay.addStretch(1)

    def class_index(self) -> int | None:
        return self.class_combo.currentData()

    def set_classes(self, names: list[str]) -> None:
        if list(names) == self.class_names:
            return
        self.class_names = list(names)
        self.class_combo.blockSignals(True)
        self.class_combo.clear()
        self.class_combo.addItem("the predicted class", None)
        for i, n in enumerate(names):
            self.class_combo.addItem(f"class {n}" if n != str(i) else f"class {i}", i)
        self.class_combo.blockSignals(False)

    def show_insight(self, insight: Any, x: np.ndarray | None) -> None:
        self.insight, self.x = insight, x
        self._draw()

    def _name(self, i: int) -> str:
        return self.class_names[i] if 0 <= i < len(self.class_names) else str(i)

    def _draw(self) -> None:
        e = None if self.insight is None else self.insight.explanation
        img = None if self.x is None else _image_or_none(self.x)
        for label in self.images:
            label.clear()
        for caption in self.captions:
            caption.setVisible(img is not None and e is not None)
        has_cam = img is not None and e is not None and e.cam is not None
        self.alpha.setVisible(has_cam)
        self.alpha_label.setVisible(has_cam)
        if self.insight is None or e is None:
            self.note.setText("" if self.insight is None else (self.insight.explain_error or "Nothing to explain."))
            self.probs.set_values(np.zeros(0))
            self.top.setText("")
            return
        c = int(e.classes)
        p = np.asarray(e.probabilities, np.float64)
        sal = None if e.saliency is None else np.asarray(e.saliency)
        if img is not None:
            self.images[0].setPixmap(rgb_pixmap(_rgb8(img), 120))
            if sal is not None and sal.ndim == 2:
                self.images[1].setPixmap(rgb_pixmap(colorize(normalized(sal), "inferno"), 120))
            if e.cam is not None:
                self.images[2].setPixmap(rgb_pixmap(_rgb8(overlay(self.x, e.cam, self.alpha.value() / 100)), 120))
        self.captions[1].setText(f"Saliency for {self._name(c)}")
        self.captions[2].setText(f"Grad-CAM at {e.layer}" if e.cam is not None else "No Grad-CAM")
        parts = [f"For class <b>{self._name(c)}</b> ({p[c]:.1%}). Score: {e.score}."]
        if e.cam is not None:
            parts.append(f"Grad-CAM: {shape_text(np.shape(e.cam))} at {e.layer}, upsampled.")
        elif e.cam_error:
            parts.append(f"No Grad-CAM: {e.cam_error}.")
        if img is None and sal is not None:
            flat = sal.ravel()
            order = np.argsort(-flat)[:6]
            parts.append("|d score / d input| is largest at: " +
                         ", ".join(f"input {int(i)} ({flat[i]:.3g})" for i in order) + ".")
        self.note.setText(" ".join(parts))
        predicted = int(np.argmax(p))
        labels = [self._name(i) for i in range(len(p))]
        self.probs.set_values(p, labels if len(p) <= 20 else None)
        order = np.argsort(-p)[:5]
        self.top.setText("Predicted <b>" + self._name(predicted) + "</b> \u2014 " +
                         ", ".join(f"{self._name(int(i))} {p[i]:.1%}" for i in order))
