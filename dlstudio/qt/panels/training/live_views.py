"""Live views beside the training curves: the decision boundary of a 2-D
classifier (as in TensorFlow Playground) and the gradient flow per layer.

:class:`BoundaryView` draws a boundary image (class probabilities as colours)
behind the data points; the evaluation panel uses it too, for a finished run.
:class:`LiveViews` takes the training's live events (``BoundaryFrame``,
``GradientFlow``), keeps only the latest boundary frame, and redraws at most
20 times a second; it shows a tab only for what the training sends.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, QSize, Qt, QTimer
from PySide6.QtWidgets import (
    QMenu,
    QSizePolicy,
    QSplitter,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.panels.data.data_widgets import muted_label
from dlstudio.qt.panels.training.training_plots import import_pyqtgraph, style_axes
from dlstudio.training.events import BoundaryFrame
from dlstudio.training.gradient_events import GradientFlow
from dlstudio.qt.plot_menu import install_plot_menu

REDRAW_MS = 50


def class_colors(n: int) -> np.ndarray:
    """(n, 3) uint8 class colours, the ones the boundary images are painted with."""
    from dlstudio.training.evaluate import PALETTE

    return PALETTE[np.arange(n) % len(PALETTE)].astype(np.uint8)


class BoundaryView(QWidget):
    """A probability image behind points coloured by class (white-edged discs).

    ``set_frame(image, x_range, y_range, points, labels, class_names)``; the
    image is RGB uint8 with y pointing up (row 0 at the top), as
    ``evaluate.boundary_image`` makes it."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        pg = import_pyqtgraph()
        self.setObjectName("BoundaryView")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(2)
        self.caption = muted_label("", self, wrap=False)
        # a new caption must not re-lay out the panel (that would repaint the curves beside it)
        self.caption.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self.caption.setFixedHeight(self.caption.fontMetrics().height() + 4)
        self.caption.setToolTip("The colour of a region is the class the model predicts there, paler where "
                                "it is less sure; the dots are the data points in their true class's colour")
        lay.addWidget(self.caption)
        self.view = pg.GraphicsLayoutWidget(self)
        install_plot_menu(self.view, "Decision boundary")
        lay.addWidget(self.view, 1)
        self.plot = self.view.addPlot()
        self.plot.setAspectLocked(True)
        self.plot.setMenuEnabled(False)
        self.plot.hideButtons()
        self.image_item = pg.ImageItem(axisOrder="row-major")
        self.plot.addItem(self.image_item)
        self.scatter = pg.ScatterPlotItem(size=6, pxMode=True)
        self.plot.addItem(self.scatter)
        self.image: np.ndarray | None = None
        self.frames = 0
        self._points_key: tuple | None = None
        self._range: tuple | None = None
        self._style()

    def sizeHint(self) -> QSize:
        return QSize(300, 300)

    def clear(self, text: str = "") -> None:
        self.image_item.clear()
        self.scatter.clear()
        self.image, self._points_key, self._range = None, None, None
        self.caption.setText(text)

    def set_frame(self, image: np.ndarray, x_range: tuple[float, float], y_range: tuple[float, float],
                  points: np.ndarray | None, labels: np.ndarray | None, class_names=(), caption: str = "") -> None:
        from PySide6.QtCore import QRectF

        pg = import_pyqtgraph()
        img = np.asarray(image)
        self.image_item.setImage(img[::-1], autoLevels=False, levels=(0, 255))  # row 0 is the lowest y
        rect = QRectF(x_range[0], y_range[0], x_range[1] - x_range[0], y_range[1] - y_range[0])
        self.image_item.setRect(rect)
        self.image = img
        self.frames += 1
        key = (id(points), len(points) if points is not None else 0)
        if key != self._points_key:  # the same points in every frame of a training: set them once
            self._points_key = key
            if points is not None and len(points):
                ids = np.asarray(labels, np.int64).reshape(-1)
                colors = class_colors(int(ids.max()) + 1 if len(ids) else 1)
                brushes = [pg.mkBrush(*colors[c]) for c in range(len(colors))]
                pen = pg.mkPen(255, 255, 255, 220, width=1)
                self.scatter.setData(pos=np.asarray(points, np.float64), brush=[brushes[c] for c in ids], pen=pen)
            else:
                self.scatter.clear()
        if self._range != (tuple(x_range), tuple(y_range)):
            self._range = (tuple(x_range), tuple(y_range))
            self.plot.setRange(rect, padding=0)
        self.caption.setText(caption)

    def _style(self) -> None:
        self.view.setBackground(style_axes(self.plot, self.palette())["background"])

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange) \
                and hasattr(self, "plot"):
            self._style()


class LiveViews(QTabWidget):
    """The live tabs beside the training curves: "Boundary" and "Gradient flow",
    each added when its first event arrives. ``add(event)`` takes any event and
    returns whether it was one of these."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("LiveViews")
        self.setDocumentMode(True)
        self.boundary: BoundaryView | None = None
        self.gradients = None  # GradientFlowView
        self._frame: BoundaryFrame | None = None  # the latest, not drawn yet
        self.frames_received = 0
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw)

    def sizeHint(self) -> QSize:
        return QSize(340, 300)

    def has_views(self) -> bool:
        return self.count() > 0

    def clear(self) -> None:
        """A new training: the tabs go until their events come again."""
        self._frame = None
        self.frames_received = 0
        while self.count():
            self.removeTab(0)
        if self.boundary is not None:
            self.boundary.clear()
        if self.gradients is not None:
            self.gradients.clear()

    def prepare_boundary(self) -> None:
        """Make the boundary tab before its first frame (when a training starts: its
        layout then costs nothing while the training runs)."""
        if self.boundary is None:
            self.boundary = BoundaryView(self)
        if self.indexOf(self.boundary) < 0:
            self.insertTab(0, self.boundary, "Boundary")
            self.setCurrentWidget(self.boundary)
            self.boundary.caption.setText("Waiting for the first frame\u2026")

    def add(self, event: Any) -> bool:
        if isinstance(event, BoundaryFrame):
            self.frames_received += 1
            self._frame = event
            self.prepare_boundary()
            if not self._timer.isActive():
                self._timer.start()
            return True
        if isinstance(event, GradientFlow):
            if self.gradients is None:
                from dlstudio.qt.panels.training.gradient_flow_view import GradientFlowView

                self.gradients = GradientFlowView(self)
            if self.indexOf(self.gradients) < 0:
                self.addTab(self.gradients, "Gradient flow")
            self.gradients.add(event)
            return True
        return False

    def flush(self) -> None:
        """Draw what is pending now (the training ended)."""
        self._redraw()
        if self.gradients is not None:
            self.gradients._redraw()

    def _redraw(self) -> None:
        frame, self._frame = self._frame, None
        if frame is None:
            self._timer.stop()
            return
        when = "end" if frame.at_epoch_end else "during"
        caption = f"Epoch {frame.epoch} ({when}) · step {frame.step:,}" if frame.step else "Before training"
        self.boundary.set_frame(frame.image, frame.x_range, frame.y_range, frame.points, frame.labels,
                                frame.class_names, caption)


class LivePlotsPage(QSplitter):
    """The training curves (``plots``) with the live views (``views``) beside them,
    shown only while there is something in them; the training panel's plot page."""

    def __init__(self, plots: QWidget, parent: QWidget | None = None):
        super().__init__(Qt.Orientation.Horizontal, parent)
        self.setChildrenCollapsible(False)
        self.plots = plots
        self.views = LiveViews(self)
        self.views.hide()
        self.addWidget(plots)
        self.addWidget(self.views)
        self.setStretchFactor(0, 3)
        self.setStretchFactor(1, 1)
        self._wide = False

    def start(self, expect_boundary: bool, expect_gradients: bool = False) -> None:
        """A training starts: empty views; the boundary tab laid out now (at the click,
        not while training) when frames are expected."""
        self.views.clear()
        self.views.hide()
        self._wide = expect_gradients  # two gradient plots want more room
        if expect_boundary:
            self.views.prepare_boundary()
            self._open()

    def add(self, event: Any) -> bool:
        """A live event to its view (the views open with the first one); False if not one of theirs."""
        taken = self.views.add(event)
        if taken and self.views.isHidden():
            self._open()
        return taken

    def finish(self) -> None:
        """The training ended: draw what is pending; no boundary tab stays empty."""
        views = self.views
        views.flush()
        if views.frames_received == 0 and views.boundary is not None and views.indexOf(views.boundary) >= 0:
            views.removeTab(views.indexOf(views.boundary))
            if not views.has_views():
                views.hide()

    def _open(self) -> None:
        self.views.show()
        width = self.width()
        wide = self._wide or self.views.gradients is not None  # two gradient plots want more room
        side = width // 2 if wide else min(max(260, self.height()), width // 3)  # a boundary: about square
        self.setSizes([width - side, side])


def graph_takes_points(graph: Any) -> bool:
    """Whether a graph's single Input takes 2 features (a boundary can be drawn)."""
    inputs = [n for n in graph.nodes if n.type == "Input"] if graph is not None else []
    return len(inputs) == 1 and list(inputs[0].params.get("shape") or []) == [2]


class LiveViewsButton(QToolButton):
    """"Live views ▾": the decision boundary (on by default) and the gradient flow
    (off by default: it measures every 10 batches, which costs training time)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setText("Live views")
        self.setObjectName("live_views_button")
        self.setAutoRaise(True)
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setToolTip("What to watch beside the curves while training (from the next training on)")
        menu = QMenu(self)
        self.boundary = menu.addAction("Decision boundary (2-D point data)")
        self.boundary.setCheckable(True)
        self.boundary.setChecked(True)
        self.boundary.setToolTip("The class regions behind the data points, redrawn as the model learns")
        self.gradients = menu.addAction("Gradient flow per layer")
        self.gradients.setCheckable(True)
        self.gradients.setToolTip("The mean gradient magnitude of every layer, every 10 batches: the gradients "
                                  "each training step applies, recorded inside the step (it costs almost nothing)")
        menu.setToolTipsVisible(True)
        self.setMenu(menu)

    def options(self, weights_wanted=None):
        """The ``training.live.LiveOptions`` of the next training."""
        from dlstudio.training.live import LiveOptions

        return LiveOptions(boundary=self.boundary.isChecked(), gradient_flow=self.gradients.isChecked(),
                           weights_wanted=weights_wanted)
