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

Two mixins of the panel hold its other ideas: :class:`DatasetViews`
(dataset_views.py) draws a loaded dataset, :class:`AugmentationPreview`
(augmentation_preview.py) previews the graph's augmentation layers.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np
from PySide6.QtCore import QEvent, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QPalette, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)
from shiboken6 import isValid

from dlstudio.data import DatasetError, get_dataset_spec, list_datasets
from dlstudio.qt.icons import severity_color
from dlstudio.qt.panels.data.augmentation_preview import AugmentationPreview
from dlstudio.qt.panels.data.data_widgets import (
    NAME_ROLE,
    GroupedDelegate,
    OptionField,
    WheelOnFocusComboBox,
    muted_label,
    section_header,
    shape_text,
)
from dlstudio.qt.panels.data.dataset_views import DatasetViews
from dlstudio.qt.signals import rebind

CATEGORY_TITLES = {
    "images": "Images", "toy": "2-D toy sets", "regression": "Regression", "tabular": "Tables",
    "sequences": "Sequences", "text": "Text", "downloads": "Downloads", "files": "Your files",
}


class DataPanel(DatasetViews, AugmentationPreview, QWidget):
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

        self._build_samples(self.splitter)  # the middle column (dataset_views.py)

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
        self._build_balance(right, rl)  # dataset_views.py
        self._build_augmentation(right, rl)  # augmentation_preview.py
        rl.addStretch(1)

        for i, stretch in enumerate((0, 1, 0)):
            self.splitter.setStretchFactor(i, stretch)
        left_column.setMinimumWidth(230)
        right_scroll.setMinimumWidth(240)
        self.splitter.setSizes([290, 700, 320])
        self._set_placeholder("Choose a dataset and press Preview.")
        self._update_augmentation()
        self._restyle()

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

        from dlstudio.data.paths import base_folder

        base = base_folder(self.document.project) if self.document is not None else None  # relative paths
        worker = create_worker(load_dataset, key[0], dict(key[1]), key[2], base)
        worker.returned.connect(lambda d, r=request, k=key: self._loaded(r, k, d))
        worker.errored.connect(lambda e, r=request: self._load_failed(r, e))
        self._worker = worker
        worker.start()

    def apply(self) -> None:
        """Load (if needed) and make the dataset the project's: one undo step."""
        self.load(apply=True)

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
