"""The convolution playground: slide a hand-set kernel over an image and see the numbers.

Left, the kernel: preset buttons (blur, sharpen, edge detect, Sobel, ...), an
editable 3x3 or 5x5 grid and the padding and stride; right, the input (the
lecture's 6x6 image as an editable pixel grid, the sample shown in the insight
panel, or an image file) and the result, as numbers while it is small and as a
picture otherwise. "Use in Conv2D…" writes the kernel into the selected Conv2D
node as one undoable :class:`SetConvKernelCommand` (Graph API only).

All arithmetic is :func:`dlstudio.insight.convolution.convolve`; this file only shows it.
"""

from __future__ import annotations

import numpy as np
from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QImage, QPixmap, QUndoCommand
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from dlstudio.insight.activations import colorize
from dlstudio.insight.convolution import (
    PRESET_HELP,
    PRESET_TITLES,
    PRESETS,
    can_freeze,
    conv_kernel_params,
    convolve,
    lecture_image,
    preset,
    preset_name,
)
from dlstudio.qt.panels.data.data_widgets import muted_label, section_header

NUMBERS_UP_TO = 12  # results up to 12x12 are shown as numbers
CELL = 34  # pixel size of a number cell


class SetConvKernelCommand(QUndoCommand):
    """Write a kernel into a Conv2D node's parameters (kernel size, Constant initializer,
    no bias, filters); undo restores the node's previous parameters."""

    def __init__(self, graph, node_id: str, kernel, filters: int | None = 1, title: str = "kernel"):
        node = graph.node(node_id)
        super().__init__(f"Set {node.name} to the {title} kernel")
        self.graph, self.node_id = graph, node_id
        self.old = dict(node.params)
        self.new = conv_kernel_params(self.old, np.asarray(kernel, np.float64), filters=filters)

    def redo(self) -> None:
        self.graph.set_params(self.node_id, dict(self.new))

    def undo(self) -> None:
        self.graph.set_params(self.node_id, dict(self.old))


def number_text(v: float) -> str:
    """20.0 -> "20", 0.1111 -> "0.111", -0.0 -> "0"."""
    v = float(v)
    if abs(v - round(v)) < 1e-9:
        return str(int(round(v))) if abs(v) < 1e15 else f"{v:.3g}"
    return f"{v:.3g}"


def rgb_pixmap(rgb: np.ndarray, side: int) -> QPixmap:
    a = np.ascontiguousarray(rgb)
    img = QImage(a.data, a.shape[1], a.shape[0], 3 * a.shape[1], QImage.Format.Format_RGB888).copy()
    scale = max(1, side // max(a.shape[:2]))
    return QPixmap.fromImage(img).scaled(a.shape[1] * scale, a.shape[0] * scale, Qt.AspectRatioMode.KeepAspectRatio,
                                         Qt.TransformationMode.FastTransformation)


def _picture(values: np.ndarray) -> np.ndarray:
    """Grey (min to max) for non-negative values, coolwarm around zero for signed ones."""
    v = np.asarray(values, np.float64)
    if v.size == 0:
        return np.zeros((1, 1, 3), np.uint8)
    if v.min() >= 0:
        top = v.max()
        return colorize(v / top if top > 0 else v, "gray")
    peak = np.abs(v).max()
    return colorize(v / (2 * peak) + 0.5, "coolwarm")


class _NumberGrid(QTableWidget):
    """A compact grid of numbers (editable or not) with value-coloured cells."""

    edited = Signal()

    def __init__(self, rows: int, cols: int, editable: bool, parent: QWidget | None = None):
        super().__init__(rows, cols, parent)
        self._editable = editable
        self._values = np.zeros((rows, cols))
        self.horizontalHeader().hide()
        self.verticalHeader().hide()
        for h in (self.horizontalHeader(), self.verticalHeader()):
            h.setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
            h.setDefaultSectionSize(CELL)
            h.setMinimumSectionSize(12)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
        self.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers if editable
                             else QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection if editable
                              else QAbstractItemView.SelectionMode.NoSelection)
        self.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        self.itemChanged.connect(self._item_changed)

    def values(self) -> np.ndarray:
        return self._values.copy()

    def set_values(self, values: np.ndarray) -> None:
        v = np.asarray(values, np.float64)
        self.blockSignals(True)
        self.setRowCount(v.shape[0])
        self.setColumnCount(v.shape[1])
        self._values = v.copy()
        for r in range(v.shape[0]):
            for c in range(v.shape[1]):
                item = QTableWidgetItem(number_text(v[r, c]))
                item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
                if not self._editable:
                    item.setFlags(Qt.ItemFlag.ItemIsEnabled)
                self.setItem(r, c, item)
        self.blockSignals(False)
        self._recolor()
        self._fit()

    def texts(self) -> list[list[str]]:
        return [[self.item(r, c).text() for c in range(self.columnCount())] for r in range(self.rowCount())]

    def _fit(self) -> None:
        cell = CELL if self.columnCount() <= 8 else 28
        for h in (self.horizontalHeader(), self.verticalHeader()):
            h.setDefaultSectionSize(cell)
        frame = 2 * self.frameWidth()
        self.setFixedSize(cell * self.columnCount() + frame, cell * self.rowCount() + frame)
        self.updateGeometry()

    def sizeHint(self) -> QSize:
        return self.maximumSize()  # the fixed size (a stacked layout asks for hints, not limits)

    def minimumSizeHint(self) -> QSize:
        return self.maximumSize()

    def _item_changed(self, item: QTableWidgetItem) -> None:
        r, c = item.row(), item.column()
        try:
            v = float(item.text().strip().replace("\u2212", "-"))
            if not np.isfinite(v):
                raise ValueError
        except ValueError:
            self.blockSignals(True)
            item.setText(number_text(self._values[r, c]))  # not a number: keep the old value
            self.blockSignals(False)
            return
        self._values[r, c] = v
        self._recolor()
        self.edited.emit()

    def _recolor(self) -> None:
        rgb = _picture(self._values)
        self.blockSignals(True)
        for r in range(self.rowCount()):
            for c in range(self.columnCount()):
                item = self.item(r, c)
                if item is None:
                    continue
                color = QColor(*[int(x) for x in rgb[r, c]])
                item.setBackground(QBrush(color))
                item.setForeground(QBrush(QColor("#111") if color.lightnessF() > 0.55 else QColor("#fff")))
        self.blockSignals(False)


class ConvPlayground(QWidget):
    """Convolve an image with a hand-set kernel; write the kernel into a Conv2D node."""

    changed = Signal()  # the result was recomputed

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ConvPlayground")
        self.document = None
        self.target_node: str | None = None
        self._sample: np.ndarray | None = None
        self._file_image: np.ndarray | None = None
        self._result = np.zeros((0, 0))
        self._build()
        self.apply_preset("sobel_vertical")
        self.set_document(document)

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 2, 6, 6)
        outer.setSpacing(4)
        outer.addWidget(section_header("Kernel", self))
        presets = QGridLayout()
        presets.setSpacing(3)
        self.preset_buttons: dict[str, QPushButton] = {}
        for i, name in enumerate(PRESETS):
            b = QPushButton(PRESET_TITLES[name], self)
            b.setToolTip(f"{PRESET_HELP[name]}\n{PRESETS[name].astype(int).tolist()}")
            b.setCheckable(True)
            b.clicked.connect(lambda _c=False, n=name: self.apply_preset(n))
            presets.addWidget(b, i // 3, i % 3)
            self.preset_buttons[name] = b
        outer.addLayout(presets)
        row = QHBoxLayout()
        self.size_combo = QComboBox(self)
        self.size_combo.addItems(["3\u00d73", "5\u00d75"])
        self.size_combo.currentIndexChanged.connect(self._size_changed)
        self.normalized = QCheckBox("Normalised", self)
        self.normalized.setToolTip("Divide kernels whose weights sum to more than 1 by that sum "
                                   "(the blur becomes the mean of its 9 pixels)")
        self.normalized.toggled.connect(self._normalized_toggled)
        self.padding = QComboBox(self)
        self.padding.addItems(["valid", "same"])
        self.padding.setToolTip("valid: no padding, the result shrinks; same: zeros around, it keeps its size")
        self.stride = QSpinBox(self)
        self.stride.setRange(1, 4)
        self.stride.setPrefix("stride ")
        for w in (self.size_combo, self.normalized, self.padding, self.stride):
            row.addWidget(w)
        row.addStretch(1)
        outer.addLayout(row)
        self.kernel_grid = _NumberGrid(3, 3, True, self)
        self.kernel_grid.edited.connect(self._kernel_edited)
        self.padding.currentIndexChanged.connect(self.recompute)
        self.stride.valueChanged.connect(self.recompute)

        self.use_button = QPushButton("Use in Conv2D\u2026", self)
        self.use_button.setToolTip("Write this kernel into the selected Conv2D layer, so the network starts "
                                   "from it (undoable)")
        self.use_button.clicked.connect(lambda: self.use_in_conv2d())
        self.target_label = muted_label("", self)
        krow = QHBoxLayout()
        krow.addWidget(self.kernel_grid, 0, Qt.AlignmentFlag.AlignTop)
        kcol = QVBoxLayout()
        kcol.addWidget(self.use_button)
        kcol.addWidget(self.target_label)
        kcol.addStretch(1)
        krow.addLayout(kcol, 1)
        outer.addLayout(krow)

        outer.addWidget(section_header("Input", self))
        irow = QHBoxLayout()
        self.source = QComboBox(self)
        self.source.addItems(["Pixel grid (editable)", "Current sample", "Image file\u2026"])
        self.source.currentIndexChanged.connect(self._source_changed)
        self.grid_size = QSpinBox(self)
        self.grid_size.setRange(3, NUMBERS_UP_TO)
        self.grid_size.setValue(6)
        self.grid_size.setSuffix(" px")
        self.grid_size.setToolTip("Size of the pixel grid")
        self.grid_size.valueChanged.connect(self._grid_size_changed)
        self.reset_button = QPushButton("Lecture image", self)
        self.reset_button.setToolTip("Left half 5, right half 0: a vertical edge")
        self.reset_button.clicked.connect(self.reset_image)
        for w in (self.source, self.grid_size, self.reset_button):
            irow.addWidget(w)
        irow.addStretch(1)
        outer.addLayout(irow)
        self.input_stack = QStackedWidget(self)
        self.pixel_grid = _NumberGrid(6, 6, True, self)
        self.pixel_grid.edited.connect(self.recompute)
        self.input_image = QLabel(self)
        self.input_image.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.input_stack.addWidget(self.pixel_grid)
        self.input_stack.addWidget(self.input_image)
        self.input_stack.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        outer.addWidget(self.input_stack, 0, Qt.AlignmentFlag.AlignLeft)

        self.result_header = section_header("Result", self)
        outer.addWidget(self.result_header)
        self.result_stack = QStackedWidget(self)
        self.result_grid = _NumberGrid(4, 4, False, self)
        self.result_image = QLabel(self)
        self.result_stack.addWidget(self.result_grid)
        self.result_stack.addWidget(self.result_image)
        self.result_stack.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Maximum)
        outer.addWidget(self.result_stack, 0, Qt.AlignmentFlag.AlignLeft)
        self.result_note = muted_label("", self)
        outer.addWidget(self.result_note)
        outer.addStretch(1)
        self.pixel_grid.set_values(lecture_image())

    # ------------------------------------------------------------------ public API
    def set_document(self, document) -> None:
        self.document = document
        self.set_target_node(None)

    def set_target_node(self, node_id: str | None) -> None:
        """The node "Use in Conv2D…" writes into (the canvas selection)."""
        graph = self.document.graph if self.document is not None else None
        ok = graph is not None and node_id is not None and graph.has_node(node_id)
        self.target_node = node_id if ok else None
        node = graph.node(node_id) if ok else None
        is_conv = node is not None and node.type == "Conv2D"
        self.use_button.setEnabled(is_conv)
        if is_conv:
            self.target_label.setText(f"Into <b>{node.name}</b>")
        elif node is not None:
            self.target_label.setText(f"{node.name} is a {node.type}; select a Conv2D layer.")
        else:
            self.target_label.setText("Select a Conv2D layer on the canvas.")

    def set_sample(self, sample: np.ndarray | None) -> None:
        """The sample the insight panel shows (for the "Current sample" input)."""
        self._sample = None if sample is None else np.asarray(sample, np.float64)
        if self.source.currentIndex() == 1:
            self.recompute()

    def kernel(self) -> np.ndarray:
        return self.kernel_grid.values()

    def set_kernel(self, kernel: np.ndarray) -> None:
        k = np.asarray(kernel, np.float64)
        self.size_combo.blockSignals(True)
        self.size_combo.setCurrentIndex(1 if k.shape[0] >= 5 else 0)
        self.size_combo.blockSignals(False)
        self.kernel_grid.set_values(k)
        self._mark_preset(preset_name(k))
        self.recompute()

    def apply_preset(self, name: str) -> None:
        k = preset(name, self.normalized.isChecked())
        if self.size_combo.currentIndex() == 1:  # a 3x3 preset in the middle of a 5x5 kernel
            k = np.pad(k, 1)
        self.kernel_grid.set_values(k)
        self._mark_preset(name)
        self.recompute()

    def image(self) -> np.ndarray:
        """The grey input image (2-D) the kernel slides over."""
        i = self.source.currentIndex()
        if i == 1 and self._sample is not None:
            return _grey(self._sample)
        if i == 2 and self._file_image is not None:
            return self._file_image
        return self.pixel_grid.values()

    def reset_image(self) -> None:
        self.source.setCurrentIndex(0)
        self.grid_size.blockSignals(True)
        self.grid_size.setValue(6)
        self.grid_size.blockSignals(False)
        self.pixel_grid.set_values(lecture_image())
        self.recompute()

    def result(self) -> np.ndarray:
        return self._result.copy()

    def result_texts(self) -> list[list[str]]:
        """The result as the number grid shows it (empty when shown as a picture)."""
        return self.result_grid.texts() if self.result_stack.currentWidget() is self.result_grid else []

    def load_image_file(self, path: str) -> bool:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as im:
                im = im.convert("L")
                im.thumbnail((256, 256))
                self._file_image = np.asarray(im, np.float64) / 255.0
        except (OSError, ValueError, UnidentifiedImageError) as exc:
            self.result_note.setText(f"Cannot read {path}: {exc}")
            return False
        self.source.blockSignals(True)
        self.source.setCurrentIndex(2)
        self.source.blockSignals(False)
        self._source_changed(2, ask=False)
        return True

    def use_in_conv2d(self, confirm: bool = True, keep_filters: bool = False) -> bool:
        """Write the kernel into the selected Conv2D node (one undo step)."""
        if self.document is None or self.target_node is None:
            return False
        graph = self.document.graph
        node = graph.node(self.target_node)
        if node.type != "Conv2D":
            return False
        k = self.kernel()
        name = preset_name(k)
        title = PRESET_TITLES[name].lower() if name else "hand-set"
        if confirm:
            frozen = ("It is frozen (trainable off)." if can_freeze() else
                      "Training will still adjust it: the layer catalog has no \u201ctrainable\u201d setting yet.")
            text = (f"Write the {k.shape[0]}\u00d7{k.shape[1]} {title} kernel into {node.name}?\n\n"
                    f"Its kernel size becomes {k.shape[0]}\u00d7{k.shape[1]}, "
                    f"{'its filters stay' if keep_filters else 'filters becomes 1'} and the bias is turned off; "
                    f"every weight starts as this matrix (a Constant kernel initializer). {frozen}")
            answer = QMessageBox.question(self, "Use kernel in Conv2D", text,
                                          QMessageBox.StandardButton.Ok | QMessageBox.StandardButton.Cancel)
            if answer != QMessageBox.StandardButton.Ok:
                return False
        self.document.push(SetConvKernelCommand(graph, self.target_node, k, None if keep_filters else 1, title))
        self.target_label.setText(f"\u2713 {node.name} starts as the {title} kernel.")
        return True

    # ------------------------------------------------------------------ internals
    def _current_preset(self) -> str | None:
        return next((n for n, b in self.preset_buttons.items() if b.isChecked()), None)

    def _mark_preset(self, name: str | None) -> None:
        for n, b in self.preset_buttons.items():
            b.setChecked(n == name)

    def _normalized_toggled(self, _on: bool) -> None:
        name = self._current_preset()
        if name is not None:
            self.apply_preset(name)

    def _kernel_edited(self) -> None:
        self._mark_preset(preset_name(self.kernel()))
        self.recompute()

    def _size_changed(self, index: int) -> None:
        k = self.kernel()
        k = np.pad(k, 1) if index == 1 and k.shape[0] == 3 else (k[1:4, 1:4] if index == 0 and k.shape[0] == 5 else k)
        self.kernel_grid.set_values(k)
        self._mark_preset(preset_name(k))
        self.recompute()

    def _grid_size_changed(self, n: int) -> None:
        old = self.pixel_grid.values()
        new = np.zeros((n, n))
        m = min(n, old.shape[0])
        new[:m, :m] = old[:m, :m]
        self.pixel_grid.set_values(new)
        self.recompute()

    def _source_changed(self, index: int, ask: bool = True) -> None:
        if index == 2 and ask:
            path, _ = QFileDialog.getOpenFileName(self, "Open an image", "",
                                                  "Images (*.png *.jpg *.jpeg *.bmp *.gif *.tif *.tiff *.webp)")
            if not path or not self.load_image_file(path):
                self.source.blockSignals(True)
                self.source.setCurrentIndex(0)
                self.source.blockSignals(False)
                index = 0
        self.grid_size.setVisible(index == 0)
        self.reset_button.setVisible(index == 0)
        self.recompute()

    def recompute(self) -> None:
        img = self.image()
        small = self.source.currentIndex() == 0 or max(img.shape) <= NUMBERS_UP_TO
        if self.source.currentIndex() == 0:
            self.input_stack.setCurrentWidget(self.pixel_grid)
        else:
            self.input_image.setPixmap(rgb_pixmap(_picture(img), 150))
            self.input_stack.setCurrentWidget(self.input_image)
        if self.source.currentIndex() == 1 and self._sample is None:
            self.result_note.setText("No sample yet: pick one in the Feature maps tab.")
        try:
            out = convolve(img, self.kernel(), self.padding.currentText(), self.stride.value())
        except ValueError as exc:
            self._result = np.zeros((0, 0))
            self.result_grid.set_values(np.zeros((0, 0)))
            self.result_note.setText(str(exc)[0].upper() + str(exc)[1:])
            self.changed.emit()
            return
        self._result = out
        h, w = out.shape
        self.result_header.title_label.setText(f"RESULT \u2014 {h}\u00d7{w}")
        if small and max(h, w) <= NUMBERS_UP_TO:
            self.result_grid.set_values(out)
            self.result_stack.setCurrentWidget(self.result_grid)
        else:
            self.result_image.setPixmap(rgb_pixmap(_picture(out), 150))
            self.result_stack.setCurrentWidget(self.result_image)
        lo, hi = (float(out.min()), float(out.max())) if out.size else (0.0, 0.0)
        self.result_note.setText(f"{img.shape[0]}\u00d7{img.shape[1]} input, {self.padding.currentText()} padding, "
                                 f"stride {self.stride.value()}: values from {number_text(lo)} to {number_text(hi)}."
                                 + (" Blue is negative, red positive." if lo < 0 else ""))
        self.changed.emit()


def _grey(sample: np.ndarray) -> np.ndarray:
    """A sample as one grey 2-D image (channels averaged)."""
    a = np.asarray(sample, np.float64)
    if a.ndim == 3:
        a = a.mean(axis=-1)
    if a.ndim != 2:
        side = int(round(np.sqrt(a.size)))
        a = a.reshape(side, side) if side * side == a.size else a.reshape(1, -1)
    return a

