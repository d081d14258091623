""""Search over…" a parameter: a dialog that defines the values a search tries for one node
parameter (a choice list, an integer range or a float range, linear or log), and the undoable
edit of the project's search space it makes (:class:`SetSearchCommand`). Invalid values are
refused in the dialog with the layer's own message, before anything changes."""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout,
    QWidget,
)

from dlstudio.project.search_schema import SearchObjective, SearchParam, SearchSettings
from dlstudio.qt.editor.settings_commands import SetSearchCommand

KINDS = (("choice", "a list of values"), ("int", "whole numbers from low to high"),
         ("float", "numbers from low to high"))


def parse_choices(text: str) -> list[Any]:
    """``16, 32, 64`` -> [16, 32, 64]; ``relu, tanh`` -> ["relu", "tanh"]; ``[3, 3], [5, 5]`` -> lists."""
    text = text.strip()
    if not text:
        return []
    try:
        value = json.loads(f"[{text}]")
        return value
    except ValueError:
        return [part.strip() for part in text.split(",") if part.strip()]


def default_search(project: Any) -> SearchSettings:
    """A new search section: the validation accuracy (maximised) of a project that records it,
    else the validation loss (minimised); the test metric when there is no validation split."""
    prefix = "val_" if project.training.validation_split else "test_"
    if "accuracy" in project.training.metrics:
        objective = SearchObjective(metric=prefix + "accuracy", direction="maximize")
    else:
        objective = SearchObjective(metric=prefix + "loss", direction="minimize")
    return SearchSettings(objective=objective)


def suggested(spec: Any, value: Any) -> dict[str, Any]:
    """What the dialog proposes for a parameter now at ``value``."""
    if spec.kind == "choice" and spec.choices:
        return {"kind": "choice", "choices": [c for c in spec.choices if c is not None][:6]}
    if spec.kind == "bool":
        return {"kind": "choice", "choices": [True, False]}
    if spec.kind == "int" and isinstance(value, int) and value > 0:
        return {"kind": "int", "low": max(1, value // 4), "high": value * 2, "log": True}
    if spec.kind == "float" and isinstance(value, (int, float)):
        if 0 < value < 1:
            return {"kind": "float", "low": round(value / 2, 6), "high": min(0.9, round(value * 2, 6)) if value < 0.45
                    else round((1 + value) / 2, 6)}
        return {"kind": "float", "low": value / 10 or 1e-4, "high": value * 10 or 1.0, "log": value > 0}
    return {"kind": "choice", "choices": [value]}


class SearchOverDialog(QDialog):
    """Define (or remove) the search of one node parameter. ``result_param`` after OK; ``removed``
    when "Do not search" was chosen."""

    def __init__(self, node: Any, spec: Any, current: SearchParam | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle(f"Search over {node.name}.{spec.name}" if node.id is not None else
                            f"Search over the training setting {spec.name}")
        self.node, self.spec = node, spec
        self.result_param: SearchParam | None = None
        self.removed = False
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"The values a search tries for <b>{spec.name}</b> of {node.type} "
                                f"'{node.name}' (now {node.params.get(spec.name, spec.default)!r}).", self))
        form = QFormLayout()
        default_name = f"{node.name}.{spec.name}" if node.id is not None else spec.name
        self.name_edit = QLineEdit(current.name if current and current.name else default_name, self)
        self.name_edit.setToolTip("searched values with the same name share one value (e.g. the units of several layers)")
        form.addRow("Name", self.name_edit)
        self.kind = QComboBox(self)
        for key, text in KINDS:
            self.kind.addItem(text, key)
        form.addRow("Try", self.kind)
        self.choices = QLineEdit(self)
        self.choices.setPlaceholderText("16, 32, 64")
        form.addRow("Values", self.choices)
        self.low, self.high, self.step = QLineEdit(self), QLineEdit(self), QLineEdit(self)
        self.step.setPlaceholderText("(none)")
        form.addRow("Low", self.low)
        form.addRow("High", self.high)
        form.addRow("Step", self.step)
        self.log = QCheckBox("log scale (each decade alike)", self)
        form.addRow("", self.log)
        layout.addLayout(form)
        self.error = QLabel("", self)
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #cf222e")
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel, self)
        self.remove_button = QPushButton("Do not search", self)
        self.remove_button.setEnabled(current is not None)
        buttons.addButton(self.remove_button, QDialogButtonBox.ButtonRole.DestructiveRole)
        self.remove_button.clicked.connect(self._remove)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.kind.currentIndexChanged.connect(self._kind_changed)
        start = current.model_dump() if current else suggested(spec, node.params.get(spec.name, spec.default))
        self.fill(start)

    def fill(self, values: dict[str, Any]) -> None:
        self.kind.setCurrentIndex(self.kind.findData(values.get("kind", "choice")))
        self.choices.setText(", ".join(json.dumps(c) if not isinstance(c, str) else c
                                       for c in values.get("choices") or []))
        for edit, key in ((self.low, "low"), (self.high, "high"), (self.step, "step")):
            v = values.get(key)
            edit.setText("" if v is None else (str(int(v)) if float(v).is_integer() and values.get("kind") == "int"
                                                else f"{v:g}"))
        self.log.setChecked(bool(values.get("log")))
        self._kind_changed()

    def _kind_changed(self, *_args) -> None:
        choice = self.kind.currentData() == "choice"
        self.choices.setEnabled(choice)
        for w in (self.low, self.high, self.step, self.log):
            w.setEnabled(not choice)

    def searched(self) -> SearchParam:
        """The SearchParam the dialog describes; ValueError naming what is wrong."""
        from pydantic import ValidationError

        kind = self.kind.currentData()
        data: dict[str, Any] = {"name": self.name_edit.text().strip() or None, "node": self.node.id,
                                "param": self.spec.name, "kind": kind}
        if kind == "choice":
            data["choices"] = parse_choices(self.choices.text())
            candidates = data["choices"]
        else:
            try:
                for key, edit in (("low", self.low), ("high", self.high), ("step", self.step)):
                    if edit.text().strip():
                        data[key] = float(edit.text())
            except ValueError:
                raise ValueError("low, high and step must be numbers") from None
            data["log"] = self.log.isChecked()
            candidates = [data.get("low"), data.get("high")]
            if kind == "int":
                candidates = [int(c) for c in candidates if c is not None]
        try:
            searched = SearchParam.model_validate(data)
        except ValidationError as exc:
            raise ValueError("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors())) from None
        from dlstudio.catalog import ParamError

        for value in candidates:
            try:
                self.spec.check(value)
            except ParamError as exc:
                raise ValueError(f"{value!r}: {exc}") from None
        return searched

    def accept(self) -> None:
        try:
            self.result_param = self.searched()
        except ValueError as exc:
            self.error.setText(str(exc))
            return
        super().accept()

    def _remove(self) -> None:
        self.removed = True
        super().accept()


def apply_search_dialog(document: Any, dialog: SearchOverDialog) -> bool:
    """Push the dialog's outcome onto the document's undo stack (False: nothing changed)."""
    project = document.project
    node, spec = dialog.node, dialog.spec
    if dialog.removed:
        if project.search is None or project.search.param_for(node.id, spec.name) is None:
            return False
        document.push(SetSearchCommand(document, project.search.without_param(node.id, spec.name),
                                       f"Do not search {node.name}.{spec.name}"))
        return True
    if dialog.result_param is None:
        return False
    base = project.search if project.search is not None else default_search(project)
    document.push(SetSearchCommand(document, base.with_param(dialog.result_param),
                                   f"Search over {node.name}.{spec.name}"))
    return True


def search_over_setting(parent: QWidget, document: Any, spec: Any) -> SearchOverDialog:
    """"Search over…" the training setting ``spec`` (modal); apply what it gives."""
    from types import SimpleNamespace

    training = document.project.training
    target = SimpleNamespace(id=None, name="training", type="the training settings",
                             params={spec.name: getattr(training, spec.name, spec.default)})
    current = document.project.search.param_for(None, spec.name) if document.project.search else None
    dialog = SearchOverDialog(target, spec, current, parent)
    if dialog.exec():
        apply_search_dialog(document, dialog)
    return dialog


def search_over(parent: QWidget, document: Any, node_id: str, spec: Any) -> SearchOverDialog:
    """Open the dialog for ``node_id``'s parameter ``spec`` (modal); apply what it gives."""
    node = document.graph.node(node_id)
    current = document.project.search.param_for(node_id, spec.name) if document.project.search else None
    dialog = SearchOverDialog(node, spec, current, parent)
    if dialog.exec():
        apply_search_dialog(document, dialog)
    return dialog
