"""The training settings form: how the project's model is compiled and fitted.

The editors are the inspector's generated parameter fields
(:mod:`dlstudio.qt.panels.editing.param_form`) built from ParamSpecs that mirror
:class:`~dlstudio.project.schema.TrainingSettings`. Each committed edit is
validated by the pydantic model and pushed as one undoable
``SetTrainingSettingsCommand``; a value either check refuses stays in the
field with the reason under it, and nothing is pushed. Rows that only matter
for some choices (momentum for SGD and RMSprop, the schedule's parameters,
restore-best for early stopping) are shown only then. The form follows the
undo stack, so undo/redo and edits from elsewhere show at once.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import ValidationError
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QLabel,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from dlstudio.catalog import ParamSpec
from dlstudio.catalog.specs import SANITY_LIMIT
from dlstudio.project.schema import OPTIMIZERS, TrainingSettings
from dlstudio.qt.editor.settings_commands import SetTrainingSettingsCommand
from dlstudio.qt.keras_loader import keras_ready, loader
from dlstudio.qt.panels.data.data_widgets import section_header
from dlstudio.qt.panels.editing.param_form import ParamField, make_field, same_value
from dlstudio.training.metric_names import ALIASES, METRIC_CHOICES, METRIC_TEXT
from dlstudio.qt.signals import rebind

LOSSES = ("auto", "sparse_categorical_crossentropy", "categorical_crossentropy", "binary_crossentropy",
          "mse", "mae", "huber")
SCHEDULES = ("constant", "step", "cosine", "plateau")

_D = TrainingSettings()

#: (section, field name, label, spec). The order is the form's order.
FIELDS: tuple[tuple[str, str, str, ParamSpec], ...] = (
    ("Optimizer", "optimizer", "Optimizer", ParamSpec(
        "optimizer", "choice", _D.optimizer, "The gradient-descent variant that updates the weights.",
        choices=OPTIMIZERS)),
    ("Optimizer", "learning_rate", "Learning rate", ParamSpec(
        "learning_rate", "float", _D.learning_rate,
        "The step size of each update (0.001 or 1e-3). Too high: the loss jumps or becomes NaN; "
        "too low: training crawls.", min=0, max=10, exclusive_min=True)),
    ("Optimizer", "momentum", "Momentum", ParamSpec(
        "momentum", "float", _D.momentum, "Keeps a fraction of the previous update (SGD, RMSprop); "
        "0.9 is common.", min=0, max=1)),
    ("Optimizer", "lr_schedule", "Schedule", ParamSpec(
        "lr_schedule", "choice", _D.lr_schedule,
        "How the learning rate changes: constant; step (multiply by the decay every N epochs); "
        "cosine (smoothly down to 0 over the run); plateau (multiply by the decay when the "
        "monitored loss stops improving for 3 epochs).", choices=SCHEDULES)),
    ("Optimizer", "lr_step_epochs", "Decay every", ParamSpec(
        "lr_step_epochs", "int", _D.lr_step_epochs, "Epochs between two learning-rate drops.",
        min=1, max=100_000)),
    ("Optimizer", "lr_decay", "Decay factor", ParamSpec(
        "lr_decay", "float", _D.lr_decay, "The learning rate is multiplied by this at each drop.",
        min=0, max=1, exclusive_min=True, exclusive_max=True)),
    ("Loss", "loss", "Loss", ParamSpec(
        "loss", "choice", _D.loss,
        "What training minimises. auto: cross-entropy for classification (sparse labels; binary "
        "for one sigmoid output), mean squared error for regression.", choices=LOSSES)),
    ("Fitting", "epochs", "Epochs", ParamSpec(
        "epochs", "int", _D.epochs, "Passes over the training samples.", min=1, max=100_000)),
    ("Fitting", "batch_size", "Batch size", ParamSpec(
        "batch_size", "int", _D.batch_size, "Samples per weight update (a mini-batch).",
        min=1, max=1_000_000)),
    ("Fitting", "validation_split", "Validation split", ParamSpec(
        "validation_split", "float", _D.validation_split,
        "Fraction of the training samples held back to measure generalisation each epoch "
        "(0 to 0.9).", min=0, max=0.9)),
    ("Fitting", "seed", "Seed", ParamSpec(
        "seed", "int", _D.seed, "Random seed of the initial weights, shuffling and dropout: the same "
        "seed repeats a run.", min=0, max=SANITY_LIMIT)),
    ("Early stopping", "early_stopping_patience", "Patience", ParamSpec(
        "early_stopping_patience", "int", None,
        "Stop when the validation loss (the loss without validation) has not improved for this many "
        "epochs; off trains all epochs.", min=1, max=100_000, optional=True)),
    ("Early stopping", "restore_best_weights", "Restore best", ParamSpec(
        "restore_best_weights", "bool", _D.restore_best_weights,
        "When early stopping ends the run, go back to the weights of its best epoch.")),
    ("Hardware", "device", "Device", ParamSpec(
        "device", "choice", _D.device, "Where the model trains: auto lets the backend choose.",
        choices=("auto",))),
    ("Hardware", "mixed_precision", "Mixed precision", ParamSpec(
        "mixed_precision", "bool", _D.mixed_precision,
        "Compute in float16 where it is safe (faster on recent GPUs; no gain on CPUs).")),
    ("Adversarial training", "adversarial", "Attack", ParamSpec(
        "adversarial", "choice", _D.adversarial,
        "Mix adversarial examples, made with the current weights, into every batch: the model "
        "learns to resist small worst-case perturbations.", choices=("none", "fgsm", "pgd"))),
    ("Adversarial training", "adversarial_eps", "Epsilon", ParamSpec(
        "adversarial_eps", "float", _D.adversarial_eps,
        "Largest change of any input value (inputs in [0, 1]); 0.1 is a common choice.",
        min=0, max=1, exclusive_min=True)),
    ("Adversarial training", "adversarial_ratio", "Share of batch", ParamSpec(
        "adversarial_ratio", "float", _D.adversarial_ratio,
        "Fraction of each batch replaced by its adversarial versions.", min=0, max=1)),
)

LABELS = {name: label for _s, name, label, _p in FIELDS} | {"metrics": "Metrics"}
MIRRORED = "mirrored"  # TrainingSettings.device: data-parallel over every GPU (dlstudio.training.distributed)

_CHOICE_TEXT = {
    "lr_schedule": {"constant": "constant", "step": "step decay", "cosine": "cosine decay",
                    "plateau": "reduce on plateau"},
    "loss": {"auto": "auto (from the output and labels)", "sparse_categorical_crossentropy":
             "sparse categorical cross-entropy", "categorical_crossentropy": "categorical cross-entropy",
             "binary_crossentropy": "binary cross-entropy", "mse": "mean squared error (mse)",
             "mae": "mean absolute error (mae)", "huber": "Huber"},
    "device": {"auto": "auto", MIRRORED: "all GPUs (mirrored, data-parallel)"},
    "optimizer": {"adam": "Adam", "sgd": "SGD", "rmsprop": "RMSprop", "adamw": "AdamW",
                  "adagrad": "Adagrad", "nadam": "Nadam"},
}


@functools.cache
def available_devices() -> tuple[str, ...]:
    """``("auto", "cpu", "gpu:0", ...)``, and "mirrored" with two GPUs or more; call only
    once Keras is loaded."""
    from dlstudio.backend import list_devices

    devices = list_devices()
    gpus = sum(1 for d in devices if d.startswith("gpu:"))
    return ("auto", *devices, *((MIRRORED,) if gpus > 1 else ()))


@functools.cache
def backend_description() -> str:
    """"Keras 3.x on TensorFlow 2.y" (call only once Keras is loaded)."""
    from dlstudio.backend import load_keras

    keras = load_keras()
    name = keras.backend.backend()
    version = ""
    try:
        import importlib

        version = importlib.import_module({"tensorflow": "tensorflow", "jax": "jax",
                                           "torch": "torch"}.get(name, name)).__version__
    except Exception:
        pass
    pretty = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch", "numpy": "NumPy"}.get(name, name)
    return f"Keras {keras.__version__} on {pretty} {version}".rstrip()


def pydantic_message(exc: ValidationError) -> str:
    err = exc.errors(include_url=False)[0]
    msg = err["msg"].replace("Input should", "should").replace("Value error, ", "")
    return msg[:1].upper() + msg[1:]


class TrainingSettingsForm(QWidget):
    """Edits ``document.project.training``; every edit is one undo step.

    ``field(name)`` / ``editor(name)`` give a setting's ParamField / widget;
    ``row_visible(name)`` says whether its row is shown.
    """

    settings_changed = Signal(object)  # TrainingSettings, after any change (undo included)

    def __init__(self, document=None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("TrainingSettingsForm")
        self.document = None
        self._shown: TrainingSettings | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        lay = QVBoxLayout(body)
        lay.setContentsMargins(10, 4, 10, 10)
        lay.setSpacing(2)

        self.fields: dict[str, ParamField] = {}
        self._sections: dict[QWidget, list[str]] = {}  # section header -> its settings
        # one form for all sections, so that labels and editors line up
        holder = QWidget(body)
        form = self.form = QFormLayout(holder)
        form.setContentsMargins(0, 0, 0, 0)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        form.setHorizontalSpacing(10)
        form.setVerticalSpacing(6)
        lay.addWidget(holder)
        section = None
        for sec, name, label, spec in FIELDS:
            if sec != section:
                section = sec
                header = section_header(sec, holder)
                form.addRow(header)
                self._sections[header] = []
            self._sections[header].append(name)
            f = make_field(spec, holder)
            f.label.setText(label)
            f.editor.setObjectName(f"training_{name}")
            f.committed.connect(lambda v, n=name: self._commit(n, v))
            f.reset_requested.connect(lambda n=name, s=spec: self._commit(n, s.default))
            f.search_requested.connect(lambda s=spec: self.search_over(s))
            form.addRow(f.label, f.container)
            self.fields[name] = f
        self.metrics_chooser = MetricsChooser(holder)
        self.metrics_chooser.changed.connect(lambda names: self._commit("metrics", names))
        loss_row, _role = form.getWidgetPosition(self.fields["loss"].container)
        metrics_label = QLabel("Metrics", holder)
        metrics_label.setToolTip("What training reports besides the loss, every epoch and on the test set.")
        form.insertRow(loss_row + 1, metrics_label, self.metrics_chooser)
        patience = self.fields["early_stopping_patience"].editor
        if isinstance(patience, QSpinBox):
            patience.setSpecialValueText("off")
            patience.setSuffix(" epochs")
        self.fields["lr_step_epochs"].editor.setSuffix(" epochs")

        self.backend_label = QLabel(body)
        self.backend_label.setObjectName("backend_label")
        self.backend_label.setWordWrap(True)
        self.backend_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow("Backend", self.backend_label)
        lay.addStretch(1)

        loader().ready.connect(self._keras_ready)
        if keras_ready():
            self._keras_ready()
        else:
            self.backend_label.setText("loading Keras…")
            self.backend_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.set_document(document)

    # ------------------------------------------------------------ public API
    def set_document(self, document) -> None:
        rebind(self.document, document, ("settings_changed", self._setting_changed))
        self.document = document
        self.setEnabled(document is not None)
        self._shown = None
        self.refresh()

    def field(self, name: str) -> ParamField:
        return self.fields[name]

    def editor(self, name: str) -> QWidget:
        return self.fields[name].editor

    def row_visible(self, name: str) -> bool:
        return not self.fields[name].container.isHidden()

    def settings(self) -> TrainingSettings | None:
        return self.document.project.training if self.document is not None else None

    def refresh(self) -> None:
        """Show the document's settings (values the user is typing are kept)."""
        settings = self.settings() or TrainingSettings()
        values = settings.model_dump()
        for name, f in self.fields.items():
            f.show_value(values.get(name), f.spec.default)
            texts = _CHOICE_TEXT.get(name)
            if texts and isinstance(f.editor, QComboBox):
                for i, v in enumerate(f.choices()):
                    if v in texts:
                        f.editor.setItemText(i, texts[v])
        self.metrics_chooser.set_metrics(settings.metrics)
        self._update_visibility(settings)
        changed = self._shown is None or self._shown != settings
        self._shown = settings.model_copy(deep=True)
        if changed and self.document is not None:
            self.settings_changed.emit(settings)

    # ------------------------------------------------------------- internals
    def _setting_changed(self, name: str) -> None:
        if name in ("training", "dataset", "gan"):  # the dataset and GAN decide which rows apply
            self.refresh()

    def _set_row_visible(self, name: str, visible: bool) -> None:
        self.form.setRowVisible(self.fields[name].container, visible)

    def _update_visibility(self, s: TrainingSettings) -> None:
        """Rows the project's kind trains with (dlstudio.data.purpose), and of those the ones
        the other settings make meaningful."""
        from dlstudio.data.purpose import CLASSIFIER, project_kind, uses_training_setting

        kind = project_kind(self.document.project) if self.document is not None else CLASSIFIER
        depends = {"momentum": s.optimizer in ("sgd", "rmsprop"), "lr_step_epochs": s.lr_schedule == "step",
                   "lr_decay": s.lr_schedule in ("step", "plateau"), "adversarial_eps": s.adversarial != "none",
                   "adversarial_ratio": s.adversarial != "none",
                   "restore_best_weights": s.early_stopping_patience is not None}
        for name in self.fields:
            self._set_row_visible(name, uses_training_setting(kind, name) and depends.get(name, True))
        self.form.setRowVisible(self.metrics_chooser, uses_training_setting(kind, "metrics"))
        for header, names in self._sections.items():  # a section with no row left goes too
            self.form.setRowVisible(header, any(uses_training_setting(kind, n) for n in names))

    def _keras_ready(self) -> None:
        try:
            devices = available_devices()
            text = backend_description()
        except Exception as exc:  # shown, never raised into the event loop
            devices, text = ("auto",), f"unavailable ({type(exc).__name__})"
        f = self.fields["device"]
        import dataclasses

        f.spec = dataclasses.replace(f.spec, choices=devices)
        f._fill(f.editor, None)
        self.backend_label.setText(text)
        self.backend_label.setForegroundRole(QPalette.ColorRole.WindowText)
        if self.document is not None:
            self.refresh()

    def search_over(self, spec: Any) -> None:
        """"Search over…" a training setting (the learning rate, the batch size, ...)."""
        from dlstudio.qt.panels.experiments.search_dialog import search_over_setting

        if self.document is not None:
            search_over_setting(self, self.document, spec)

    def _commit(self, name: str, value: Any) -> None:
        if self.document is None:
            return
        current = getattr(self.document.project.training, name)
        if same_value(current, value) and type(current) is type(value):
            return
        try:
            cmd = SetTrainingSettingsCommand(self.document, {name: value}, f"Set {LABELS[name].lower()}")
        except ValidationError as exc:
            if name in self.fields:  # the metrics check boxes offer only valid lists
                self.fields[name].set_error(pydantic_message(exc))
            return
        if name in self.fields:
            self.fields[name].set_error(None)
        self.document.push(cmd)


class MetricsChooser(QWidget):
    """Check boxes for ``TrainingSettings.metrics``: "auto" alone (the others are then
    off and greyed), or any set of named metrics (none: the loss alone)."""

    changed = Signal(list)  # the new list of metric names, after a click

    _COLUMNS = 2

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("training_metrics")
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setHorizontalSpacing(12)
        grid.setVerticalSpacing(2)
        self.boxes: dict[str, QCheckBox] = {}
        groups = [("auto",), METRIC_CHOICES[1:6], METRIC_CHOICES[6:]]  # auto, classification, regression
        row = 0
        for group in groups:
            for i, name in enumerate(group):
                label, tip = METRIC_TEXT[name]
                box = QCheckBox(label, self)
                box.setObjectName(f"metric_{name}")
                box.setToolTip(tip)
                box.clicked.connect(lambda checked, n=name: self._clicked(n, checked))
                grid.addWidget(box, row + i // self._COLUMNS, i % self._COLUMNS)
                self.boxes[name] = box
            row += -(-len(group) // self._COLUMNS)

    def metrics(self) -> list[str]:
        if self.boxes["auto"].isChecked():
            return ["auto"]
        return [n for n in METRIC_CHOICES[1:] if self.boxes[n].isChecked()]

    def set_metrics(self, names: list[str]) -> None:
        chosen = {ALIASES.get(n.strip().lower(), n.strip().lower()) for n in names}
        auto = "auto" in chosen
        for name, box in self.boxes.items():
            box.setChecked(name in chosen and (name == "auto" or not auto))
            box.setEnabled(name == "auto" or not auto)
        unknown = sorted(chosen - set(METRIC_CHOICES))
        self.setToolTip(f"Not known, ignored when saved again: {', '.join(unknown)}" if unknown else "")

    def _clicked(self, name: str, checked: bool) -> None:
        self.set_metrics(self.metrics())
        self.changed.emit(self.metrics())


def settings_summary(s: TrainingSettings) -> str:
    """One line: ``Adam · lr 0.001 · 20 epochs · batch 32 · 10% validation``."""
    from dlstudio.qt.panels.editing.param_form import format_number

    parts = [_CHOICE_TEXT["optimizer"].get(s.optimizer, s.optimizer), f"lr {format_number(s.learning_rate)}"]
    if s.lr_schedule != "constant":
        parts.append(_CHOICE_TEXT["lr_schedule"][s.lr_schedule])
    parts += [f"{s.epochs} epoch{'s' if s.epochs != 1 else ''}", f"batch {s.batch_size}"]
    if s.validation_split:
        parts.append(f"{s.validation_split * 100:.0f}% validation")
    if s.early_stopping_patience:
        parts.append(f"early stop {s.early_stopping_patience}")
    if s.loss != "auto":
        parts.append(s.loss)
    return " · ".join(parts)
