"""The data panel: choose the project's dataset, set its options, look at it.

Left, the dataset (a combo grouped by category, with descriptions) and a form
generated from its OptionSpecs; in the middle, samples as the data's kind
calls for (an image grid with labels, a scatter plot, a table, a text
preview, a series plot); right, the class balance, the split sizes and an
augmentation preview (the graph's augmentation layers applied, as in
training, to the selected image).

Loading runs on a worker thread; errors appear inline under the form. Apply
pushes one ``SetDatasetCommand`` (the dataset and, to fit it, the Input
node's shape, undone together). The panel follows ``project.dataset`` through
undo and redo and when another document is opened.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QFontDatabase,
    QPalette,
    QStandardItem,
    QStandardItemModel,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from dlstudio.data import DatasetError, get_dataset_spec, list_datasets
from dlstudio.data.grid import (
    CLASS_COLORS,
    class_balance,
    class_color,
    sample_indices,
    text_preview,
)
from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.data.data_widgets import (
    NAME_ROLE,
    GroupedDelegate,
    OptionField,
    SampleGrid,
    WheelOnFocusComboBox,
    muted_label,
    section_header,
    shape_text,
)
from dlstudio.qt.signals import rebind

CATEGORY_TITLES = {
    "images": "Images", "toy": "2-D toy sets", "regression": "Regression", "tabular": "Tables",
    "sequences": "Sequences", "text": "Text", "downloads": "Downloads", "files": "Your files",
}
SAMPLES = 48  # images in the sample grid
TABLE_ROWS = 50
SCATTER_POINTS = 5000


class DataPanel(QWidget):
    """Pick, configure, preview and apply the project's dataset.

    Signals:
        loaded(object): a Dataset finished loading (and is shown).
        failed(str): loading failed; the message is shown in the panel.
        applied(): the dataset became the project's (one undo command pushed).
    """

    loaded = Signal(object)
    failed = Signal(str)
    applied = Signal()

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("DataPanel")
        self.document = None
        self.dataset = None  # the Dataset shown
        self._shown_key: tuple | None = None  # (name, options, seed) of self.dataset
        self._fields: dict[str, OptionField] = {}
        self._request = 0
        self._loading_key: tuple | None = None
        self._apply_after_load = False
        self._stale = True
        self._aug_request = 0
        self._aug_seed = 0
        self._graph = None
        self._sample_idx = np.zeros(0, np.int64)
        self._known_ref: tuple | None = None
        self._build()
        self._fill_combo()
        self.set_document(document)

    # ------------------------------------------------------------ building
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.splitter = QSplitter(Qt.Orientation.Horizontal, self)
        self.splitter.setChildrenCollapsible(False)
        outer.addWidget(self.splitter)

        # left: choice and options (scrolling), the actions pinned below them
        left_column = QWidget(self.splitter)
        column = QVBoxLayout(left_column)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(0)
        left_scroll = QScrollArea(left_column)
        left_scroll.setWidgetResizable(True)
        left_scroll.setFrameShape(QFrame.Shape.NoFrame)
        left_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        column.addWidget(left_scroll, 1)
        left = QWidget(left_scroll)
        left_scroll.setWidget(left)
        lay = QVBoxLayout(left)
        lay.setContentsMargins(10, 6, 10, 4)
        lay.setSpacing(6)
        lay.addWidget(section_header("Dataset", left))
        self.combo = WheelOnFocusComboBox(left)
        self.combo.setObjectName("dataset_combo")
        self.combo.setMaxVisibleItems(24)
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(18)
        self.combo.setItemDelegate(GroupedDelegate(self.combo))
        self.combo.currentIndexChanged.connect(self._combo_changed)
        lay.addWidget(self.combo)
        self.description = muted_label("", left)
        self.description.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.description)
        self.options_header = section_header("Options", left)
        lay.addWidget(self.options_header)
        self.form_host = QWidget(left)
        self.form = QFormLayout(self.form_host)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self.form.setHorizontalSpacing(10)
        self.form.setVerticalSpacing(5)
        lay.addWidget(self.form_host)
        lay.addStretch(1)

        footer = QWidget(left_column)
        foot = QVBoxLayout(footer)
        foot.setContentsMargins(10, 4, 10, 8)
        foot.setSpacing(4)
        self.error_label = QLabel(footer)
        self.error_label.setObjectName("data_error")
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        foot.addWidget(self.error_label)
        self.status_label = muted_label("", footer)
        self.status_label.setObjectName("data_status")
        foot.addWidget(self.status_label)
        buttons = QHBoxLayout()
        buttons.setSpacing(6)
        self.preview_button = QPushButton("Preview", footer)
        self.preview_button.setToolTip("Load the dataset with these options and show it (the project is not changed)")
        self.preview_button.clicked.connect(lambda: self.load())
        self.apply_button = QPushButton("Apply", footer)
        self.apply_button.setDefault(True)
        self.apply_button.setToolTip("Train this project on the dataset; the Input layer's shape follows it "
                                     "(one undo step)")
        self.apply_button.clicked.connect(self.apply)
        buttons.addWidget(self.preview_button)
        buttons.addStretch(1)
        buttons.addWidget(self.apply_button)
        foot.addLayout(buttons)
        column.addWidget(footer)

        # middle: samples
        middle = QWidget(self.splitter)
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

        # right: balance, split, augmentation
        right_scroll = QScrollArea(self.splitter)
        right_scroll.setWidgetResizable(True)
        right_scroll.setFrameShape(QFrame.Shape.NoFrame)
        right_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        right = QWidget(right_scroll)
        right_scroll.setWidget(right)
        rl = QVBoxLayout(right)
        rl.setContentsMargins(6, 6, 10, 8)
        rl.setSpacing(4)
        self.balance_header = section_header("Class balance", right)
        rl.addWidget(self.balance_header)
        self.split_label = QLabel(right)
        self.split_label.setObjectName("split_sizes")
        self.split_label.setWordWrap(True)
        self.split_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        rl.addWidget(self.split_label)
        self.balance_plot = None  # made on first use: pyqtgraph stays off the start-up path
        self._balance_slot = (rl, rl.count())
        rl.addWidget(section_header("Augmentation preview", right))
        self.aug_info = muted_label("", right)
        rl.addWidget(self.aug_info)
        aug_buttons = QHBoxLayout()
        self.augment_button = QPushButton("Preview augmentation", right)
        self.augment_button.setToolTip("Apply the graph's augmentation layers in training mode, 16 times, "
                                       "to the selected sample")
        self.augment_button.clicked.connect(lambda: self.preview_augmentation())
        self.reshuffle_button = QToolButton(right)
        self.reshuffle_button.setText("Again")
        self.reshuffle_button.setToolTip("Sixteen more random versions")
        self.reshuffle_button.clicked.connect(lambda: self.preview_augmentation(self._aug_seed + 1))
        aug_buttons.addWidget(self.augment_button)
        aug_buttons.addWidget(self.reshuffle_button)
        aug_buttons.addStretch(1)
        rl.addLayout(aug_buttons)
        self.augment_grid = SampleGrid(right, columns=4, captions=False, selectable=False, target=40)
        rl.addWidget(self.augment_grid)
        self.aug_error = QLabel(right)
        self.aug_error.setWordWrap(True)
        self.aug_error.hide()
        rl.addWidget(self.aug_error)
        rl.addStretch(1)

        for i, stretch in enumerate((0, 1, 0)):
            self.splitter.setStretchFactor(i, stretch)
        left_column.setMinimumWidth(230)
        right_scroll.setMinimumWidth(240)
        self.splitter.setSizes([290, 700, 320])
        self._set_placeholder("Choose a dataset and press Preview.")
        self._update_augmentation()
        self._restyle()

    def _plot_widget(self, parent: QWidget, interactive: bool = True):
        import pyqtgraph as pg

        plot = pg.PlotWidget(parent)
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.getPlotItem().setContentsMargins(2, 4, 6, 2)
        if not interactive:
            plot.setMouseEnabled(x=False, y=False)
        plot.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        return plot

    def _restyle(self) -> None:
        """Plot colours from the palette (called again when the theme changes)."""
        pal = self.palette()
        base = pal.color(QPalette.ColorRole.Base)
        text = pal.color(QPalette.ColorRole.Text)
        muted = pal.color(QPalette.ColorRole.PlaceholderText)
        for plot in (self.balance_plot, self.scatter_plot, self.series_plot):
            if plot is None:
                continue
            plot.setBackground(base)
            for name in ("left", "bottom"):
                axis = plot.getPlotItem().getAxis(name)
                axis.setPen(muted)
                axis.setTextPen(text)
        err = severity_color("error", pal).name()
        self.error_label.setStyleSheet(f"color: {err};")
        self.aug_error.setStyleSheet(f"color: {err};")
        self._mark_invalid_option(self.error_label.text() if self.error_label.isVisible() else "")

    def changeEvent(self, event) -> None:
        if event.type() in (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange):
            self._restyle()
            if self.dataset is not None:
                self._show_balance(self.dataset)
        super().changeEvent(event)

    def _fill_combo(self) -> None:
        model = QStandardItemModel(self.combo)
        groups: dict[str, list] = {}
        for spec in list_datasets():
            groups.setdefault(spec.category, []).append(spec)
        bold = QFont(self.combo.font())
        bold.setBold(True)
        for category, specs in groups.items():
            head = QStandardItem(CATEGORY_TITLES.get(category, category.title()))
            head.setFlags(Qt.ItemFlag.NoItemFlags)
            head.setFont(bold)
            model.appendRow(head)
            for spec in specs:
                item = QStandardItem(spec.title)
                item.setData(spec.name, NAME_ROLE)
                tip = spec.description + ("" if spec.offline else "\n\nDownloaded on first use.")
                item.setToolTip(tip)
                model.appendRow(item)
        self.combo.blockSignals(True)
        self.combo.setModel(model)
        self.combo.setCurrentIndex(-1)
        self.combo.blockSignals(False)

    # ------------------------------------------------------------ public API
    def set_document(self, document) -> None:
        """Follow another document and show the dataset its project uses."""
        rebind(self.document, document, ("settings_changed", self._setting_changed))
        graph_edits = ("node_added", "node_removed", "params_changed", "edge_added", "edge_removed")
        rebind(self._graph, document.graph if document is not None else None,
               *((name, self._graph_changed) for name in graph_edits))
        self.document = document
        self._graph = document.graph if document is not None else None
        self.augment_grid.clear()
        self._show_project_dataset(force=True)
        self._update_augmentation()

    def dataset_names(self) -> list[str]:
        """The selectable dataset names, in combo order."""
        m = self.combo.model()
        return [m.index(i, 0).data(NAME_ROLE) for i in range(m.rowCount()) if m.index(i, 0).data(NAME_ROLE)]

    def current_name(self) -> str | None:
        return self.combo.currentData(NAME_ROLE)

    def select_dataset(self, name: str, options: dict[str, Any] | None = None) -> None:
        """Choose ``name`` in the combo and show ``options`` (defaults for the rest)."""
        i = self._combo_index(name)
        if i < 0:
            raise KeyError(name)
        self.combo.blockSignals(True)
        self.combo.setCurrentIndex(i)
        self.combo.blockSignals(False)
        self._build_form(name, options or {})
        self._dataset_switched()

    def option_field(self, name: str) -> OptionField:
        return self._fields[name]

    def options(self) -> dict[str, Any]:
        """The options as the form shows them."""
        return {name: f.value() for name, f in self._fields.items()}

    def set_option(self, name: str, value: Any) -> None:
        self._fields[name].set_value(value)
        self._options_changed()

    def error_text(self) -> str:
        return self.error_label.text() if not self.error_label.isHidden() else ""

    def is_loading(self) -> bool:
        return self._loading_key is not None

    def view_kind(self) -> str:
        """What the samples area shows: placeholder, images, points, table, text or series."""
        w = self.views.currentWidget()
        return {self.placeholder: "placeholder", self.grid_scroll: "images", self.table: "table",
                self.text_view: "text"}.get(w) or ("points" if w is self.scatter_plot else "series")

    def load(self, apply: bool = False) -> None:
        """Load the chosen dataset with the form's options on a worker thread."""
        name = self.current_name()
        if name is None:
            return
        key = self._key()
        self._apply_after_load = apply
        if key == self._shown_key and self.dataset is not None:
            if apply:
                self._push(self.dataset)
            return
        self._request += 1
        request = self._request
        self._loading_key = key
        self._set_error(None)
        self._set_busy(True)
        self.status_label.setText(f"Loading {name}\u2026")
        from dlstudio.qt.background import create_worker

        from dlstudio.data import load_dataset

        worker = create_worker(load_dataset, key[0], dict(key[1]), key[2])
        worker.returned.connect(lambda d, r=request, k=key: self._loaded(r, k, d))
        worker.errored.connect(lambda e, r=request: self._load_failed(r, e))
        self._worker = worker
        worker.start()

    def apply(self) -> None:
        """Load (if needed) and make the dataset the project's: one undo step."""
        self.load(apply=True)

    def preview_augmentation(self, seed: int | None = None) -> None:
        """Show 16 augmented versions of the selected sample (on a worker thread)."""
        from dlstudio.qt.keras_loader import keras_ready

        if seed is not None:
            self._aug_seed = seed
        sample = self._selected_sample()
        if sample is None or self.document is None:
            return
        if not keras_ready():
            self._set_aug_error("Keras is still loading; try again in a moment.")
            return
        from dlstudio.qt.background import create_worker

        from dlstudio.data.augment import augmentation_nodes, preview

        layers = [(n.type, n.name, dict(n.params)) for n in augmentation_nodes(self.document.graph)]
        if not layers:
            return
        self._aug_request += 1
        request = self._aug_request
        self.augment_button.setEnabled(False)
        self._set_aug_error(None)
        worker = create_worker(preview, layers, sample, 16, self._aug_seed)
        worker.returned.connect(lambda a, r=request: self._augmented(r, a))
        worker.errored.connect(lambda e, r=request: self._augment_failed(r, e))
        self._aug_worker = worker
        worker.start()

    # ------------------------------------------------------------- internals
    def _combo_index(self, name: str) -> int:
        m = self.combo.model()
        return next((i for i in range(m.rowCount()) if m.index(i, 0).data(NAME_ROLE) == name), -1)

    def _seed(self) -> int:
        try:
            return int(self.document.project.training.seed)
        except (AttributeError, TypeError, ValueError):
            return 0

    def _key(self) -> tuple:
        opts = self.options()
        return (self.current_name(), tuple(sorted(opts.items(), key=lambda kv: kv[0])), self._seed())

    def _build_form(self, name: str, options: dict[str, Any]) -> None:
        while self.form.rowCount():
            self.form.removeRow(0)
        self._fields.clear()
        try:
            spec = get_dataset_spec(name)
        except DatasetError as exc:
            self.description.setText("")
            self._set_error(str(exc))
            return
        self.description.setText(spec.description + ("" if spec.offline else
                                                     "  Downloaded on first use, then cached."))
        for o in spec.options:
            f = OptionField(o, self.form_host, self._options_changed)
            if o.name in options:
                f.set_value(options[o.name])
            self.form.addRow(f.label, f.widget)
            self._fields[o.name] = f
        self.options_header.setVisible(bool(spec.options))

    def _combo_changed(self, _index: int) -> None:
        name = self.current_name()
        if name is None:
            return
        project = self.document.project.dataset if self.document is not None else None
        self._build_form(name, dict(project.options) if project is not None and project.name == name else {})
        self._dataset_switched()

    def _dataset_switched(self) -> None:
        self._set_error(None)
        self._update_status()
        self._stale = True
        if self._auto_loadable():
            self._load_if_visible()
        else:
            spec = get_dataset_spec(self.current_name())
            self._clear_views("Press Preview to download and show it." if not spec.offline
                              else "Choose the file, then press Preview.")

    def _auto_loadable(self) -> bool:
        name = self.current_name()
        if name is None:
            return False
        spec = get_dataset_spec(name)
        paths = [f for f in self._fields.values() if f.spec.kind == "path"]
        return spec.offline and all(f.value() for f in paths)

    def _load_if_visible(self) -> None:
        if self.isVisible():
            self._stale = False
            self.load()

    def showEvent(self, event) -> None:
        super().showEvent(event)
        if self._stale and self._auto_loadable() and self._loading_key is None:
            QTimer.singleShot(0, self._load_if_visible)

    def _options_changed(self, *_args) -> None:
        self._set_error(None)
        self._update_status()
        if self.dataset is not None and self._key() != self._shown_key:
            self.status_label.setText(self.status_label.text() + "  Options changed: Preview to see them.")

    def _project_ref(self) -> tuple | None:
        if self.document is None:
            return None
        ref = self.document.project.dataset
        return ref.name, repr(sorted(ref.options.items()))

    def _show_project_dataset(self, force: bool = False) -> None:
        """Show the project's dataset choice (after opening, undo or redo).

        Without ``force`` the panel follows only a change of the project's
        dataset: other edits leave a dataset the user is looking at alone."""
        if self.document is None:
            self._update_status()
            return
        ref = self.document.project.dataset
        known, self._known_ref = self._known_ref, self._project_ref()
        if not force and (known == self._known_ref or
                          (ref.name == self.current_name() and self._same_options(ref))):
            self._update_status()
            return
        if self._combo_index(ref.name) < 0:
            self.combo.blockSignals(True)
            self.combo.setCurrentIndex(-1)
            self.combo.blockSignals(False)
            self._build_form(ref.name, {})
            self._clear_views("The project's dataset is not available.")
            self._set_error(f"The project uses the dataset {ref.name!r}, which DL Studio does not know; "
                            f"choose another one.")
            self._update_status()
            return
        self.select_dataset(ref.name, dict(ref.options))

    def _same_options(self, ref) -> bool:
        try:
            spec = get_dataset_spec(ref.name)
            return spec.check_options(dict(ref.options)) == spec.check_options(self.options())
        except DatasetError:
            return False

    def _setting_changed(self, name: str) -> None:
        if name == "dataset":
            self._show_project_dataset()

    def _graph_changed(self, *_args) -> None:
        self._update_augmentation()
        if self.dataset is not None:
            self._update_status()

    def _update_status(self) -> None:
        if self.document is None or self.current_name() is None:
            self.status_label.setText("")
            return
        ref = self.document.project.dataset
        if ref.name == self.current_name() and self._same_options(ref):
            text = "\u2713 The project trains on this dataset."
            problem = self._input_problem()
            if problem:
                text += f"\n{problem} Apply sets it."
        else:
            text = f"The project trains on {ref.name!r}. Apply to switch."
        self.status_label.setText(text)

    def _input_problem(self) -> str:
        if self.dataset is None or self._shown_key != self._key() or self.document is None:
            return ""
        try:
            from dlstudio.data.prepare import input_changes
        except ImportError:
            return ""
        changes = input_changes(self.document.graph, self.dataset)
        if "shape" in changes:
            return f"The Input layer's shape does not fit ({shape_text(self.dataset.input_shape)} needed)."
        if "dtype" in changes:
            return f"The Input layer should take {changes['dtype']} values."
        return ""

    def _set_busy(self, busy: bool) -> None:
        self.preview_button.setEnabled(not busy)
        self.apply_button.setEnabled(not busy)
        self.combo.setEnabled(not busy)
        self.form_host.setEnabled(not busy)

    def _loaded(self, request: int, key: tuple, dataset) -> None:
        if not isValid(self) or request != self._request:
            return
        self._loading_key = None
        self._set_busy(False)
        self.dataset = dataset
        self._shown_key = key
        self._show_dataset(dataset)
        self._update_status()
        self._update_augmentation()
        self.loaded.emit(dataset)
        ref = self.document.project.dataset if self.document is not None else None
        if ref is not None and ref.name == self.current_name() and self._same_options(ref):
            self.document.set_dataset(dataset)  # the shape pass checks the Input against it
        if self._apply_after_load:
            self._apply_after_load = False
            if key == self._key():
                self._push(dataset)

    def _load_failed(self, request: int, exc: BaseException) -> None:
        if not isValid(self) or request != self._request:
            return
        self._loading_key = None
        self._apply_after_load = False
        self._set_busy(False)
        message = str(exc) if isinstance(exc, DatasetError) else f"Unexpected {type(exc).__name__}: {exc}"
        self._set_error(message)
        self._clear_views(f"Could not load {get_dataset_spec(self.current_name()).title}:\n\n"
                          f"{message[0].upper() + message[1:]}", error=True)
        self._update_status()
        self.failed.emit(message)

    def _push(self, dataset) -> None:
        from dlstudio.qt.editor.settings_commands import SetDatasetCommand

        if self.document is None:
            return
        name = self.current_name()
        spec = get_dataset_spec(name)
        options = spec.check_options(self.options())
        ref = self.document.project.dataset
        cmd = SetDatasetCommand(self.document, name, options, dataset=dataset,
                                text=f"Use dataset {spec.title}")
        same = ref.name == name and self._same_options(ref)
        if same and not cmd.changes_input:
            self.status_label.setText("\u2713 The project already trains on this dataset.")
            return
        self.document.push(cmd)
        self.document.set_dataset(dataset)
        text = f"\u2713 The project trains on {spec.title}."
        if cmd.changes_input:
            text += f"\nInput shape set to {shape_text(dataset.input_shape)}."
        self.status_label.setText(text)
        self.applied.emit()

    # errors
    def _set_error(self, message: str | None) -> None:
        if message:
            text = message[0].upper() + message[1:]
            self.error_label.setText(text)
            self.error_label.show()
            self._mark_invalid_option(text)
        else:
            self.error_label.clear()
            self.error_label.hide()
            self._mark_invalid_option("")

    def _mark_invalid_option(self, message: str) -> None:
        m = re.search(r"option '(\w+)'", message or "")
        color = severity_color("error", self.palette())
        for name, f in self._fields.items():
            f.set_invalid(color if m and m.group(1) == name else None)

    # views
    def _set_placeholder(self, text: str, error: bool = False) -> None:
        self.placeholder.setText(text)
        if error:
            self.placeholder.setStyleSheet(f"color: {severity_color('error', self.palette()).name()};")
        else:
            self.placeholder.setStyleSheet("")
        self.placeholder.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse if error
                                                 else Qt.TextInteractionFlag.NoTextInteraction)
        self.views.setCurrentWidget(self.placeholder)

    def _clear_views(self, text: str, error: bool = False) -> None:
        self.dataset = None
        self._shown_key = None
        self.sample_grid.clear()
        self.split_label.setText("")
        if self.balance_plot is not None:
            self.balance_plot.clear()
            self.balance_plot.hide()
        self.samples_header.title_label.setText("SAMPLES")
        self._set_placeholder(text, error)
        self._update_augmentation()

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

    # samples and augmentation
    def _sample_selected(self, _index: int) -> None:
        self._update_augmentation()

    def _selected_sample(self) -> np.ndarray | None:
        d = self.dataset
        if d is None or d.kind != "image" or d.x_train.ndim != 4 or not self.sample_grid.count():
            return None
        i = max(0, self.sample_grid.current())
        return d.x_train[int(self._sample_idx[i])]

    def _update_augmentation(self) -> None:
        from dlstudio.data.augment import augmentation_nodes

        nodes = augmentation_nodes(self.document.graph) if self.document is not None else []
        image = self.dataset is not None and self.dataset.kind == "image" and self.dataset.x_train.ndim == 4
        if not nodes:
            text = ("Add augmentation layers (RandomFlip, RandomRotation, RandomZoom, \u2026) or GaussianNoise "
                    "to the graph to see here what training makes of a sample.")
        elif not image:
            text = (" \u2192 ".join(n.name for n in nodes) + "\nThe preview works on image datasets.")
        else:
            text = (" \u2192 ".join(n.name for n in nodes)
                    + "\nActive only in training. Click a sample to preview it.")
        self.aug_info.setText(text)
        ok = bool(nodes) and image
        self.augment_button.setEnabled(ok)
        self.reshuffle_button.setEnabled(ok and self.augment_grid.count() > 0)
        if not ok:
            self.augment_grid.clear()
            self.augment_grid.hide()
        self._set_aug_error(None)

    def _augmented(self, request: int, images: np.ndarray) -> None:
        if not isValid(self) or request != self._aug_request:
            return
        self.augment_grid.set_samples(np.clip(images, 0.0, 1.0))
        self.augment_grid.show()
        self.augment_button.setEnabled(True)
        self.reshuffle_button.setEnabled(True)

    def _augment_failed(self, request: int, exc: BaseException) -> None:
        if not isValid(self) or request != self._aug_request:
            return
        self.augment_button.setEnabled(True)
        self._set_aug_error(str(exc) or type(exc).__name__)

    def _set_aug_error(self, message: str | None) -> None:
        self.aug_error.setText(message or "")
        self.aug_error.setVisible(bool(message))
