"""The Autoencoder panel: for a trained run of an autoencoder project, the
reconstruction grid (inputs in the top row, their reconstructions below) and
the 2-D codes of the test samples, coloured by class.

The numbers come from :func:`dlstudio.insight.autoencoder.run_view`, computed
on a pool thread (``dlstudio.qt.background``) when the panel is shown or
another run is chosen, and cached per run; the scatter plot (pyqtgraph) is
made on first use, off the start-up path.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRect, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.runs.run_panel import RunPanel
from dlstudio.qt.panels.training.training_plots import style_axes
from dlstudio.qt.plot_menu import install_plot_menu

IMAGES = 10  # reconstructions shown


def _compute(project: Any, run: Any) -> Any:
    from dlstudio.insight.autoencoder import run_view

    return run_view(project, run, n_images=IMAGES)


def reconstruction_grid(inputs: np.ndarray, outputs: np.ndarray) -> np.ndarray:
    """Inputs over their reconstructions, as one uint8 RGB picture (two rows of tiles)."""
    from dlstudio.data.grid import image_grid

    n = len(inputs)
    return image_grid(np.concatenate([inputs, outputs]), columns=n, scale=1, gutter=1,
                      background=(128, 128, 128))


class _PixelView(QWidget):
    """An RGB array drawn as large as fits, pixels kept square and sharp."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.image: QImage | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.setMinimumHeight(60)

    def set_rgb(self, rgb: np.ndarray | None) -> None:
        if rgb is None:
            self.image = None
        else:
            rgb = np.ascontiguousarray(rgb)
            h, w = rgb.shape[:2]
            self.image = QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()
        self.updateGeometry()
        self.update()

    def hasHeightForWidth(self) -> bool:
        return self.image is not None

    def heightForWidth(self, width: int) -> int:
        if self.image is None:
            return 60
        return max(40, int(width * self.image.height() / self.image.width()))

    def sizeHint(self) -> QSize:
        return QSize(400, self.heightForWidth(400))

    def paintEvent(self, _event) -> None:
        if self.image is None:
            return
        img = self.image
        zoom = min(self.width() / img.width(), self.height() / img.height())
        w, h = int(img.width() * zoom), int(img.height() * zoom)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
        p.drawImage(QRect((self.width() - w) // 2, 0, w, h), img)
        p.end()


class AutoencoderPanel(RunPanel):
    """Reconstructions and 2-D codes of a run. ``computed(view)`` when shown; ``failed(message)``."""

    computed = Signal(object)
    open_in_projector = Signal(str)  # a run id: its codes in the Projector (hover, click, lasso)
    no_run_text = "No trained runs yet: train the project, then its reconstructions and codes appear here."

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent, cache_size=4)
        self.view = None  # the AutoencoderView shown
        self.plot = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        top = QHBoxLayout()
        top.addWidget(QLabel("Run", self))
        self.run_combo = self.make_run_choice("The trained run whose reconstructions and codes are shown")
        top.addWidget(self.run_combo, 1)
        layout.addLayout(top)
        self.status = QLabel(self)
        self.status.setWordWrap(True)
        layout.addWidget(self.status)
        self.grid_title = QLabel("Reconstructions: test inputs (top) and outputs (bottom)", self)
        self.grid_title.setObjectName("sectionTitle")
        layout.addWidget(self.grid_title)
        self.grid = _PixelView(self)
        layout.addWidget(self.grid)
        self.scatter_title = QLabel("Codes of the test samples, coloured by class", self)
        title_row = QHBoxLayout()
        title_row.addWidget(self.scatter_title, 1)
        self.projector_button = QPushButton("Explore in the Projector", self)
        self.projector_button.setToolTip("The same codes in the Projector: hover a point to see its digit, lasso a "
                                         "group, or project any other layer")
        self.projector_button.clicked.connect(
            lambda: self._shown_run is not None and self.open_in_projector.emit(self._shown_run))
        title_row.addWidget(self.projector_button)
        layout.addLayout(title_row)
        self.plot_holder = QVBoxLayout()
        layout.addLayout(self.plot_holder, 1)
        self.summary = QLabel(self)
        self.summary.setWordWrap(True)
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary)
        self._show_parts(False)
        if document is not None:
            self.set_document(document)
        else:
            self.show_status("Open an autoencoder project (Gallery: 'Autoencoder with a 2-D code') and train it.")

    def sizeHint(self) -> QSize:
        return QSize(420, 560)

    # ------------------------------------------------------------------ computing
    def compute(self, run: Any) -> None:
        """Compute the run's view (on a worker thread, cached; the latest request wins)."""
        if self.view is not None and self._shown_run == run.id:
            return
        if self.job.request((run.id, str(run.path)), _compute, self.document.project, run):
            self.show_status("Computing the reconstructions and codes\u2026")

    _shown_run: str | None = None

    def show_error(self, message: str) -> None:
        self._show_parts(False)
        self.status.setText(message)
        self.status.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")
        self.status.setVisible(True)

    def show_status(self, text: str) -> None:
        self.status.setStyleSheet("")
        self.status.setText(text)
        self.status.setVisible(bool(text))

    def clear_view(self, text: str) -> None:
        self.view = None
        self._shown_run = None
        self._show_parts(False)
        self.show_status(text)

    def _show_parts(self, on: bool) -> None:
        for w in (self.grid_title, self.grid, self.scatter_title, self.summary, self.projector_button):
            w.setVisible(on)
        if self.plot is not None:
            self.plot.setVisible(on)

    # ------------------------------------------------------------------ showing
    def show_result(self, key: tuple, view: Any) -> None:
        self.view, self._shown_run = view, key[0]
        self.show_status("")
        self._show_parts(True)
        images = view.inputs.ndim == 4 and view.inputs.shape[-1] in (1, 3)
        self.grid_title.setVisible(images)
        self.grid.setVisible(images)
        self.grid.set_rgb(reconstruction_grid(view.inputs, view.outputs) if images else None)
        self._draw_scatter(view)
        axes = "the two principal axes of the code" if view.projected else "the two code values"
        self.scatter_title.setText(f"Codes of {len(view.codes):,} test samples ({axes})"
                                   + (", coloured by class" if view.labels is not None else ""))
        numbers = f"{view.code_size} number{'s' * (view.code_size != 1)} per sample"
        parts = [f"code layer '{view.code_layer}' ({numbers})", f"test reconstruction MSE {view.mse:.4f}"]
        if view.projected:
            parts.append(f"the plane shows {view.explained:.0%} of the code's variance")
        if view.knn_accuracy is not None and view.class_names:
            parts.append(f"{view.k}-nearest-neighbour class accuracy in this plane {view.knn_accuracy:.0%} "
                         f"(chance {1 / len(view.class_names):.0%})")
        self.summary.setText(" \u00b7 ".join(parts))
        self.computed.emit(view)

    def _make_plot(self) -> None:
        import pyqtgraph as pg

        self.plot = pg.PlotWidget(self)
        install_plot_menu(self.plot, "Autoencoder codes")
        self.plot.setMinimumHeight(220)
        self.plot.setMenuEnabled(False)
        self.plot.getPlotItem().setAspectLocked(False)
        self.legend = self.plot.addLegend(offset=(-4, 4), labelTextSize="8pt")
        self.plot_holder.addWidget(self.plot)
        self._restyle()

    def _restyle(self) -> None:
        if self.plot is None:
            return
        colors = style_axes(self.plot, self.palette())
        self.plot.setBackground(colors["background"])
        self.legend.setLabelTextColor(colors["text"])

    def changeEvent(self, event) -> None:
        super().changeEvent(event)
        if event.type() == event.Type.PaletteChange:
            self._restyle()

    def _draw_scatter(self, view: Any) -> None:
        """The codes as the Projector draws points (the same colour per class in both)."""
        import pyqtgraph as pg

        from dlstudio.qt.panels.projector.class_points import class_brushes, fill_legend

        if self.plot is None:
            self._make_plot()
        self.plot.clear()
        labels = view.labels if view.labels is not None else np.zeros(len(view.codes), dtype=np.int64)
        names = view.class_names if view.labels is not None else ["samples"]
        self.plot.addItem(pg.ScatterPlotItem(pos=view.codes[:, :2].astype(np.float64), size=6, pen=None,
                                             brush=class_brushes(pg, labels)))
        fill_legend(pg, self.legend, labels, lambda c: names[c] if 0 <= c < len(names) else str(c))
        axis = ("principal axis 1", "principal axis 2") if view.projected else ("code 1", "code 2")
        self.plot.setLabel("bottom", axis[0])
        self.plot.setLabel("left", axis[1])
        self.plot.autoRange()


def build_autoencoder_dock(window: Any) -> None:
    """The Autoencoder dock, a tab beside Adversarial; new runs appear in it."""
    dock = window._dock("Autoencoder", "autoencoder", Qt.DockWidgetArea.RightDockWidgetArea)
    panel = AutoencoderPanel(None)
    dock.setWidget(panel)
    window.tabifyDockWidget(window.adversarial_dock, dock)
    window.autoencoder_dock, window.autoencoder_panel = dock, panel
    window.training_panel.run_saved.connect(lambda _path: panel.refresh_runs())
    window.inspector_dock.raise_()
