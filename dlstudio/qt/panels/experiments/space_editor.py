"""The search settings and the structural choices of the Experiments panel: the objective (metric,
minimise or maximise), the sampler, the pruner and the time budget, and two buttons that make the
nodes selected on the canvas a chain switched on or off, or a block repeated ``min`` .. ``max``
times. Every change is one undoable :class:`SetSearchCommand`; the widgets follow
``project.search`` (undo, another project) through ``settings_changed``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from dlstudio.project.search_schema import PRUNERS, SAMPLERS, SearchOptional, SearchRepeat
from dlstudio.qt.editor.settings_commands import SetSearchCommand
from dlstudio.qt.panels.experiments.search_dialog import default_search

METRICS = ("val_accuracy", "val_loss", "test_accuracy", "test_loss", "val_mae", "test_mae")


def ordered_chain(graph: Any, ids: list[str]) -> list[str]:
    """The selected node ids in the graph's order (a chain runs from its first to its last)."""
    order = graph.acyclic_order()
    return sorted(ids, key=lambda i: order.index(i) if i in order else len(order))


class SpaceEditor(QWidget):
    """``message(str)``: why a change was refused (shown by the panel)."""

    message = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.document = None
        self.selection: Callable[[], list[str]] = lambda: []
        rows = QVBoxLayout(self)  # two rows: the search's settings, then the structure of a selection
        rows.setContentsMargins(0, 0, 0, 0)
        rows.setSpacing(4)
        row = QHBoxLayout()
        rows.addLayout(row)
        row.addWidget(QLabel("Objective:", self))
        self.metric = QComboBox(self)
        self.metric.setEditable(True)
        self.metric.addItems(METRICS)
        self.metric.setToolTip("any metric the runs record: val_*, test_* or the last epoch's training metric")
        self.direction = QComboBox(self)
        self.direction.addItems(("maximize", "minimize"))
        self.sampler = QComboBox(self)
        self.sampler.addItems(SAMPLERS)
        self.sampler.setToolTip("tpe: Bayesian (Optuna's TPE); random; grid: every combination (choices and steps)")
        self.pruner = QComboBox(self)
        self.pruner.addItems(PRUNERS)
        self.pruner.setToolTip("stop poor trials early on the objective's validation metric, epoch by epoch")
        self.timeout = QSpinBox(self)
        self.timeout.setRange(0, 10_000_000)
        self.timeout.setSuffix(" s")
        self.timeout.setSpecialValueText("no time limit")
        self.timeout.setToolTip("start no new trial after this many seconds")
        for label, w in ((None, self.metric), (None, self.direction), ("Sampler:", self.sampler),
                         ("Pruner:", self.pruner), ("Time:", self.timeout)):
            if label:
                row.addWidget(QLabel(label, self))
            row.addWidget(w)
        self.optional_button = QPushButton("On/off", self)
        self.optional_button.setToolTip("the nodes selected on the canvas (a chain) are switched on or off by the search")
        self.optional_button.clicked.connect(self.make_optional)
        self.repeat_min, self.repeat_max = QSpinBox(self), QSpinBox(self)
        self.repeat_min.setRange(0, 32)
        self.repeat_min.setValue(1)
        self.repeat_max.setRange(1, 32)
        self.repeat_max.setValue(3)
        self.repeat_button = QPushButton("Repeat", self)
        self.repeat_button.setToolTip("the nodes selected on the canvas (a chain) are repeated min..max times")
        self.repeat_button.clicked.connect(self.make_repeat)
        row.addStretch(1)
        row = QHBoxLayout()
        rows.addLayout(row)
        row.addWidget(QLabel("Selected layers:", self))
        for w in (self.optional_button, self.repeat_button, self.repeat_min, QLabel("–", self), self.repeat_max):
            row.addWidget(w)
        row.addStretch(1)
        self.metric.lineEdit().editingFinished.connect(lambda: self.change(objective={
            "metric": self.metric.currentText().strip() or "val_loss", "direction": self.direction.currentText()}))
        self.metric.activated.connect(lambda _i: self.change(objective={
            "metric": self.metric.currentText(), "direction": self.direction.currentText()}))
        self.direction.activated.connect(lambda _i: self.change(objective={
            "metric": self.metric.currentText(), "direction": self.direction.currentText()}))
        self.sampler.activated.connect(lambda _i: self.change(sampler=self.sampler.currentText()))
        self.pruner.activated.connect(lambda _i: self.change(pruner=self.pruner.currentText()))
        self.timeout.editingFinished.connect(lambda: self.change(timeout=float(self.timeout.value()) or None))

    def set_document(self, document) -> None:
        self.document = document
        self.show_search()

    def search(self):
        project = getattr(self.document, "project", None)
        if project is None:
            return None
        return project.search if project.search is not None else default_search(project)

    def show_search(self) -> None:
        search = self.search()
        self.setEnabled(search is not None)
        if search is None:
            return
        for w in (self.metric, self.direction, self.sampler, self.pruner, self.timeout):
            w.blockSignals(True)
        self.metric.setCurrentText(search.objective.metric)
        self.direction.setCurrentText(search.objective.direction)
        self.sampler.setCurrentText(search.sampler)
        self.pruner.setCurrentText(search.pruner)
        self.timeout.setValue(int(search.timeout or 0))
        for w in (self.metric, self.direction, self.sampler, self.pruner, self.timeout):
            w.blockSignals(False)

    def change(self, **changes: Any) -> bool:
        """Apply ``changes`` to the search settings (one undo step); False when nothing changed."""
        from pydantic import ValidationError

        search = self.search()
        if search is None:
            return False
        try:
            new = type(search).model_validate({**search.model_dump(), **changes})
        except ValidationError as exc:
            self.message.emit(f"not changed: {exc.errors()[0]['msg']}")
            self.show_search()
            return False
        if new == self.document.project.search:
            return False
        self.document.push(SetSearchCommand(self.document, new, f"Search: {', '.join(changes)}"))
        return True

    def make_optional(self) -> bool:
        return self._chain(lambda name, ids: ("optional", SearchOptional(name=name, nodes=ids)))

    def make_repeat(self) -> bool:
        lo, hi = self.repeat_min.value(), max(self.repeat_min.value(), self.repeat_max.value(), 1)
        return self._chain(lambda name, ids: ("repeat", SearchRepeat(name=name, nodes=ids, min=lo, max=hi)))

    def _chain(self, make) -> bool:
        from dlstudio.search.space import SampleError, chain_ends

        ids = list(self.selection())
        search = self.search()
        if search is None or not ids:
            self.message.emit("select the nodes of a chain on the canvas first")
            return False
        graph = self.document.graph
        ids = ordered_chain(graph, ids)
        name = graph.node(ids[0]).name if len(ids) == 1 else f"{graph.node(ids[0]).name}–{graph.node(ids[-1]).name}"
        key, chain = make(name, ids)
        try:
            chain_ends(graph, chain)
        except SampleError as exc:
            self.message.emit(str(exc))
            return False
        others = [c for c in getattr(search, key) if c.nodes != ids]
        new = search.model_copy(update={key: [*others, chain]})
        what = "switched on or off" if key == "optional" else f"repeated {chain.min}–{chain.max} times"
        self.document.push(SetSearchCommand(self.document, new, f"Search: {name} {what}"))
        return True
