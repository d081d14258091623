"""The GAN panel's parts: live curves, the sample picture, the settings form
and its undo command.

``GanCurves`` makes its pyqtgraph plots on first use (not at start-up),
creates its curves once and feeds them with ``setData`` (peak downsampling,
clip to view), like :mod:`dlstudio.qt.panels.training.training_plots`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QImage, QPainter, QPalette
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QSizePolicy,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dlstudio.qt.panels.training.training_plots import Series, import_pyqtgraph, plot_colors
from dlstudio.qt.plot_menu import install_plot_menu

SMOOTH = 0.9  # exponential smoothing of the per-step curves (debiased)
CURVES = {  # name: (plot, label, colour key)
    "d_loss": ("loss", "D loss", "train"),
    "g_loss": ("loss", "G loss", "val"),
    "d_real": ("prob", "D(real)", "real"),
    "d_fake": ("prob", "D(fake)", "fake"),
}


# ------------------------------------------------------------------ curves
class GanCurves(QWidget):
    """D and G losses, and D(real) / D(fake) against the step (raw faint, smoothed bold)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.series = {name: Series() for name in CURVES}
        self._smooth = {name: Series() for name in CURVES}
        self._ema = dict.fromkeys(CURVES, 0.0)
        self._count = 0
        self.widget = None
        self.curves: dict[str, Any] = {}
        self.plots: dict[str, Any] = {}
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.setMinimumSize(260, 200)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(380, 300)

    def ensure_plots(self) -> None:
        if self.widget is not None:
            return
        pg = import_pyqtgraph()
        colors = plot_colors(self.palette())
        colors.update(real="#2da44e", fake="#cf222e")
        self.widget = pg.GraphicsLayoutWidget(self)
        install_plot_menu(self.widget, "GAN")
        self.widget.setBackground(colors["background"])
        self.layout().addWidget(self.widget)
        for row, (key, title) in enumerate((("loss", "Losses"), ("prob", "D(x), the belief 'real'"))):
            plot = self.widget.addPlot(row=row, col=0)
            plot.showGrid(x=True, y=True, alpha=0.15)
            plot.setClipToView(True)
            plot.setDownsampling(mode="peak")
            legend = "".join(
                f"&nbsp;&nbsp;<span style='color:{pg.mkColor(colors[ck]).name()}'>\u2501</span>&nbsp;{label}"
                for _n, (pk, label, ck) in CURVES.items() if pk == key)
            plot.setTitle(f"{title}{legend}", color=pg.mkColor(colors["text"]).name(), size="9pt")
            for side in ("left", "bottom"):
                plot.getAxis(side).setTextPen(pg.mkPen(colors["text"]))
                plot.getAxis(side).setPen(pg.mkPen(colors["axis"]))
            self.plots[key] = plot
        self.plots["prob"].getAxis("bottom").setLabel("step", color=pg.mkColor(colors["text"]).name())
        self.plots["prob"].setYRange(0, 1, padding=0.02)
        self.plots["prob"].addItem(pg.InfiniteLine(0.5, angle=0, pen=pg.mkPen(colors["axis"], style=Qt.PenStyle.DashLine)))
        for name, (plot, label, ckey) in CURVES.items():
            color = pg.mkColor(colors[ckey])
            faint = pg.mkColor(color)
            faint.setAlphaF(0.22)
            raw = self.plots[plot].plot([], [], pen=pg.mkPen(faint, width=1))
            smooth = self.plots[plot].plot([], [], pen=pg.mkPen(color, width=2))
            self.curves[name] = (raw, smooth)
        self.redraw()

    def clear(self) -> None:
        for s in (*self.series.values(), *self._smooth.values()):
            s.clear()
        self._ema = dict.fromkeys(CURVES, 0.0)
        self._count = 0
        self.redraw()

    def append(self, step: int, values: dict[str, float]) -> None:
        self._count += 1
        debias = 1.0 - SMOOTH ** self._count
        for name in CURVES:
            v = float(values[name])
            self.series[name].append(step, v)
            self._ema[name] = SMOOTH * self._ema[name] + (1 - SMOOTH) * v
            self._smooth[name].append(step, self._ema[name] / debias)

    def load_history(self, history: dict[str, list[float]], steps_per_epoch: int) -> None:
        """Per-epoch means of an earlier run, drawn at the step each epoch ended."""
        self.clear()
        n = min((len(history.get(k, [])) for k in CURVES), default=0)
        for i in range(n):
            self.append((i + 1) * steps_per_epoch, {k: history[k][i] for k in CURVES})

    def redraw(self) -> None:
        if self.widget is None:
            return
        for name, (raw, smooth) in self.curves.items():
            raw.setData(self.series[name].x, self.series[name].y)
            smooth.setData(self._smooth[name].x, self._smooth[name].y)


# ---------------------------------------------------------------- pictures
class PictureView(QWidget):
    """An RGB picture scaled to fit (whole-number zoom when it fits, crisp pixels)."""

    def __init__(self, parent: QWidget | None = None, minimum: int = 160):
        super().__init__(parent)
        self._image: QImage | None = None
        self._array: np.ndarray | None = None
        self.placeholder = ""
        self.setMinimumSize(minimum, minimum)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)

    def sizeHint(self) -> QSize:
        return QSize(320, 320)

    def set_picture(self, picture: np.ndarray | None) -> None:
        if picture is None:
            self._image = self._array = None
        else:
            a = np.ascontiguousarray(np.asarray(picture, np.uint8)[..., :3])
            self._array = a  # the QImage borrows its memory
            self._image = QImage(a.data, a.shape[1], a.shape[0], a.strides[0], QImage.Format.Format_RGB888)
        self.update()

    def set_path(self, path: str) -> None:
        image = QImage(str(path))
        self._array = None
        self._image = None if image.isNull() else image
        self.update()

    def has_picture(self) -> bool:
        return self._image is not None

    def picture_size(self) -> QSize:
        return self._image.size() if self._image is not None else QSize()

    def paintEvent(self, _event) -> None:
        p = QPainter(self)
        if self._image is None:
            p.setPen(self.palette().color(QPalette.ColorRole.PlaceholderText))
            p.drawText(self.rect().adjusted(8, 8, -8, -8), Qt.AlignmentFlag.AlignCenter | Qt.TextFlag.TextWordWrap,
                       self.placeholder)
            return
        w, h = self._image.width(), self._image.height()
        scale = min(self.width() / w, self.height() / h)
        if scale >= 1:
            scale = float(int(scale))
        tw, th = w * scale, h * scale
        target = QRectF((self.width() - tw) / 2, (self.height() - th) / 2, tw, th)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, scale < 1)
        p.drawImage(target, self._image)


# ---------------------------------------------------------------- settings
def _spin(lo: int, hi: int, tip: str) -> QSpinBox:
    s = QSpinBox()
    s.setRange(lo, hi)
    s.setToolTip(tip)
    s.setKeyboardTracking(False)
    return s


def _fspin(lo: float, hi: float, step: float, decimals: int, tip: str) -> QDoubleSpinBox:
    s = QDoubleSpinBox()
    s.setRange(lo, hi)
    s.setDecimals(decimals)
    s.setSingleStep(step)
    s.setToolTip(tip)
    s.setKeyboardTracking(False)
    return s


class GanSettingsForm(QWidget):
    """The GAN's knobs in two compact columns; every edit is one undo step."""

    changed = Signal()

    FIELDS = (  # name, where ("gan" or "training"), label
        ("latent_dim", "gan", "Latent size"), ("loss", "gan", "G loss"),
        ("g_learning_rate", "gan", "G learning rate"), ("d_learning_rate", "gan", "D learning rate"),
        ("label_smoothing", "gan", "Label smoothing"), ("d_steps", "gan", "D steps per G step"),
        ("epochs", "training", "Epochs"), ("batch_size", "training", "Batch size"),
        ("sample_every", "gan", "Samples every"),
    )

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = None
        self._loading = False
        self.editors: dict[str, QWidget] = {
            "latent_dim": _spin(1, 4096, "values in the noise vector z the generator starts from"),
            "loss": QComboBox(),
            "g_learning_rate": _fspin(1e-5, 1.0, 1e-4, 5, "the generator's optimizer step size"),
            "d_learning_rate": _fspin(1e-5, 1.0, 1e-4, 5, "the discriminator's optimizer step size"),
            "label_smoothing": _fspin(0.0, 0.45, 0.05, 2, "one-sided: D learns 'real' as 1 - this, fakes stay 0 "
                                                           "(keeps D from becoming over-confident)"),
            "d_steps": _spin(1, 100, "discriminator updates before each generator update"),
            "epochs": _spin(1, 100_000, "passes over the real data"),
            "batch_size": _spin(1, 100_000, "real samples (and fakes) per step"),
            "sample_every": _spin(1, 1_000_000, "steps between two sample grids"),
        }
        combo = self.editors["loss"]
        combo.addItem("non-saturating", "non_saturating")
        combo.addItem("minimax", "minimax")
        combo.setItemData(0, "−log D(G(z)): the usual choice", Qt.ItemDataRole.ToolTipRole)
        combo.setItemData(1, "log(1 − D(G(z))): the original game", Qt.ItemDataRole.ToolTipRole)
        combo.setToolTip("non-saturating: strong gradients while D wins (the usual choice); "
                         "minimax: the original game, whose gradients vanish early on")
        form = QFormLayout(self)
        form.setContentsMargins(0, 0, 6, 0)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignRight)
        form.setVerticalSpacing(3)
        for name, _where, label in self.FIELDS:
            editor = self.editors[name]
            editor.setMaximumWidth(120 if name != "loss" else 150)
            form.addRow(label, editor)
        for name, editor in self.editors.items():
            if isinstance(editor, QComboBox):
                editor.currentIndexChanged.connect(lambda _i, n=name: self._edited(n))
            else:
                editor.valueChanged.connect(lambda _v, n=name: self._edited(n))

    def set_document(self, document) -> None:
        self.document = document
        self.load()

    def load(self) -> None:
        project = getattr(self.document, "project", None)
        if project is None or project.gan is None:
            return
        self._loading = True
        try:
            for name, where, _label in self.FIELDS:
                value = getattr(project.gan if where == "gan" else project.training, name)
                editor = self.editors[name]
                if isinstance(editor, QComboBox):
                    editor.setCurrentIndex(max(0, editor.findData(value)))
                else:
                    editor.setValue(value)
        finally:
            self._loading = False

    def value(self, name: str) -> Any:
        editor = self.editors[name]
        return editor.currentData() if isinstance(editor, QComboBox) else editor.value()

    def _edited(self, name: str) -> None:
        if self._loading or self.document is None or self.document.project.gan is None:
            return
        from pydantic import ValidationError

        from dlstudio.qt.editor.settings_commands import SetGanSettingsCommand, SetTrainingSettingsCommand

        where = next(w for n, w, _ in self.FIELDS if n == name)
        current = getattr(self.document.project.gan if where == "gan" else self.document.project.training, name)
        value = self.value(name)
        if value == current:
            return
        try:
            cmd = (SetGanSettingsCommand if where == "gan" else SetTrainingSettingsCommand)(
                self.document, {name: value})
        except ValidationError:
            self.load()
            return
        self.document.push(cmd)
        self.changed.emit()
