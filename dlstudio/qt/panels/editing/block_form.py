"""The Inspector's page for a block (dlstudio.graph.blocks): its name, what it holds
(layers, parameters, multiply-adds, output shape, problems inside), the parameters it
exposes (each edit sets every layer the parameter drives, one undo step), "Expose a
setting" to add one, and Expand / Ungroup.
"""

from __future__ import annotations

import dataclasses

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget,
)

from dlstudio.compile.infer import fmt_shape


class BlockForm(QWidget):
    collapse_requested = Signal(str, bool)  # block id, collapse (True) or expand
    def __init__(self, document, block_id: str, parent: QWidget | None = None):
        from dlstudio.catalog import get_spec
        from dlstudio.compile.blocks import block_summary
        from dlstudio.qt.panels.editing.param_form import make_field

        super().__init__(parent)
        self.setObjectName("InspectorContent")
        self.document, self.block_id = document, block_id
        graph = document.graph
        block = graph.block(block_id)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 10, 10, 12)
        lay.setSpacing(6)
        title = QLabel(f"<b>Block</b> · {len(block.nodes)} layers"
                       + (f" · from {block.source.partition(':')[2] or block.source}" if block.source else ""), self)
        lay.addWidget(title)
        self.name_edit = QLineEdit(block.name, self)
        self.name_edit.setObjectName("block_name")
        self.name_edit.editingFinished.connect(self._rename)
        lay.addWidget(self.name_edit)
        s = block_summary(graph, block, document.analysis)
        lines = [f"{s.params:,} parameters · {s.macs:,} multiply-adds",
                 "output " + (", ".join(fmt_shape(x) if x else "?" for x in s.output_shapes) or "?")]
        if s.errors or s.warnings:
            lines.append(f"<span style='color:#d64545'>{s.errors} error(s), {s.warnings} warning(s) inside</span>")
        self.stats = QLabel("<br/>".join(lines), self)
        lay.addWidget(self.stats)

        form = QFormLayout()
        self.fields = {}
        for name, targets in block.params.items():
            nid, param = targets[0]
            node = graph.node(nid)
            spec = dataclasses.replace(get_spec(node.type).param(param), name=name)
            field = make_field(spec, self)
            drives = ", ".join(f"{graph.node(n).name}.{p}" for n, p in targets)
            field.label.setToolTip(f"Sets {drives}")
            field.show_value(node.params.get(param, spec.default), spec.default)
            field.committed.connect(lambda v, n=name: self.set_param(n, v))
            form.addRow(field.label, field.container)
            self.fields[name] = field
        if not self.fields:
            form.addRow(QLabel("<i>No settings exposed.</i>", self))
        lay.addLayout(form)

        self.expose = QComboBox(self)
        self.expose.setObjectName("expose")
        self.expose.addItem("Expose a setting…", None)
        for nid in block.nodes:
            node = graph.node(nid)
            for p in get_spec(node.type).params:
                if p.name not in ("shares", "trainable") and p.keras:
                    self.expose.addItem(f"{node.name}.{p.name}", (nid, p.name))
        self.expose.activated.connect(self._expose)
        lay.addWidget(self.expose)
        buttons = QHBoxLayout()
        self.toggle = QPushButton("Collapse" if not block.collapsed else "Expand", self)
        self.toggle.clicked.connect(self._toggle)
        self.ungroup = QPushButton("Ungroup", self)
        self.ungroup.clicked.connect(self._ungroup)
        buttons.addWidget(self.toggle)
        buttons.addWidget(self.ungroup)
        lay.addLayout(buttons)
        lay.addStretch(1)

    def set_param(self, name: str, value) -> None:
        from dlstudio.qt.editor.block_commands import SetBlockParamCommand

        self.document.push(SetBlockParamCommand(self.document.graph, self.block_id, name, value))

    def _rename(self) -> None:
        from dlstudio.qt.editor.block_commands import rename_block_command

        name = self.name_edit.text().strip()
        graph = self.document.graph
        if name and graph.has_block(self.block_id) and name != graph.block(self.block_id).name:
            self.document.push(rename_block_command(graph, self.block_id, name))

    def _expose(self, index: int) -> None:
        from dlstudio.qt.editor.block_commands import expose_command

        target = self.expose.itemData(index)
        if target is not None:
            self.document.push(expose_command(self.document.graph, self.block_id, *target))

    def _toggle(self) -> None:
        # the canvas collapses or expands it (making room for its layers), as a double-click does
        self.collapse_requested.emit(self.block_id, not self.document.graph.block(self.block_id).collapsed)

    def _ungroup(self) -> None:
        from dlstudio.qt.editor.block_commands import ungroup_command

        self.document.push(ungroup_command(self.document.graph, self.block_id))
