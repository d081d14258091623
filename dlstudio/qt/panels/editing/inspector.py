"""The inspector: the selected layer's name, parameters, shape and problems.

The parameter form is generated from the catalog's ParamSpecs
(:mod:`dlstudio.qt.panels.editing.param_form`). Every committed edit pushes one
``SetParamCommand``; a value the spec refuses (or text that does not parse)
is refused inline, with the reason under the field, and nothing is pushed.
The form follows the Graph's signals (undo, redo, edits from elsewhere) by
updating values in place, never rebuilding under the user.
"""

from __future__ import annotations

import html
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QFont, QPalette
from PySide6.QtWidgets import (
    QFormLayout, QFrame, QGridLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QScrollArea, QStackedWidget,
    QVBoxLayout, QWidget,
)
from shiboken6 import isValid

from dlstudio.graph.model import layer_name_problem
from dlstudio.qt.editor.commands import RenameCommand, SetParamCommand
from dlstudio.qt.icons import layer_icon, severity_color, severity_icon
from dlstudio.qt.keras_loader import catalog_ready, loader
from dlstudio.qt.panels.data.data_widgets import section_header
from dlstudio.qt.panels.editing.param_form import LineEdit, ParamField, ParamForm, same_value
from dlstudio.qt.panels.editing.problems import fix_text, sentence
from dlstudio.qt.panels.editing.summary import format_count, format_macs, output_shapes_text


# -------------------------------------------------------------------- panel


class InspectorPanel(QWidget):
    """Shows and edits one node of ``document.graph``.

    ``set_node(node_id | None)`` chooses the node (the main window connects
    the canvas selection to it). Edits go through ``document.push``.
    """

    block_collapse_requested = Signal(str, bool)  # a block's Expand/Collapse button: the canvas does it

    def __init__(self, document, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("InspectorPanel")
        self.document = None
        self._node_id: str | None = None
        self._block_id: str | None = None
        self.block_form = None
        self._graph = None
        self.form: ParamForm | None = None
        self.inner_form: ParamForm | None = None
        self._inner_type: str | None = None
        self._inner_box: QGroupBox | None = None
        self._content: QWidget | None = None

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        self.stack = QStackedWidget(self)
        outer.addWidget(self.stack)

        self._message = QLabel(self)
        self._message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self._message.setWordWrap(True)
        self._message.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self._message.setContentsMargins(16, 16, 16, 16)
        self.stack.addWidget(self._message)

        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.stack.addWidget(self.scroll)

        loader().catalog_loaded.connect(self._on_ready)
        self.set_document(document)

    # ------------------------------------------------------------ public API
    @property
    def node_id(self) -> str | None:
        return self._node_id

    def set_document(self, document) -> None:
        """Follow another document; clears the selection."""
        self._disconnect()
        self.document = document
        self._node_id = None
        if document is not None:
            g = document.graph
            self._graph = g
            g.params_changed.connect(self._on_params_changed)
            g.node_renamed.connect(self._on_renamed)
            g.node_removed.connect(self._on_node_removed)
            g.blocks_changed.connect(self._on_blocks_changed)
            document.analysis_changed.connect(self._on_analysis)
        self._block_id = None
        self._show_message()

    def set_block(self, block_id: str | None) -> None:
        """Show a block: its name, totals and exposed parameters (None: nothing)."""
        from dlstudio.qt.panels.editing.block_form import BlockForm

        self._node_id = None
        self._block_id = block_id
        if block_id is None or self.document is None or not self.document.graph.has_block(block_id) \
                or not catalog_ready():
            self._block_id = None
            self._show_message()
            return
        self._clear_content()
        self.block_form = BlockForm(self.document, block_id)
        self.block_form.collapse_requested.connect(self.block_collapse_requested)
        self._content = self.block_form
        self.scroll.setWidget(self.block_form)
        self.stack.setCurrentWidget(self.scroll)

    @property
    def block_id(self) -> str | None:
        return self._block_id

    def _on_blocks_changed(self) -> None:
        if isValid(self) and self._block_id is not None:
            self.set_block(self._block_id)

    def set_node(self, node_id: str | None) -> None:
        """Show ``node_id`` (None: nothing selected)."""
        self._block_id = None
        if node_id is not None and (self.document is None or not self.document.graph.has_node(node_id)):
            node_id = None
        if node_id == self._node_id and self._content is not None and node_id is not None:
            self.refresh()
            return
        self._node_id = node_id
        if node_id is None or not catalog_ready():
            self._show_message()
            return
        self._build()

    def field(self, name: str) -> ParamField:
        """The field of a parameter (``inner.units`` for a wrapped layer's)."""
        if name.startswith("inner.") and self.inner_form is not None:
            return self.inner_form.fields[name[len("inner."):]]
        if self.form is None:
            raise KeyError(name)
        return self.form.fields[name]

    def editor(self, name: str) -> QWidget:
        """The editing widget of a parameter (``inner.units`` for a wrapped layer's)."""
        return self.field(name).editor

    def refresh(self) -> None:
        """Show the node's current values (after changes from elsewhere)."""
        if self._node_id is None or self.form is None or not self._graph.has_node(self._node_id):
            return
        node = self._graph.node(self._node_id)
        self.form.show_values(node.params)
        if self._inner_box is not None:
            layer = node.params.get("layer", self.form.fields["layer"].spec.default) if "layer" in self.form.fields else None
            if layer != self._inner_type:
                self._build_inner(node)
            elif self.inner_form is not None:
                inner = node.params.get("inner") if isinstance(node.params.get("inner"), dict) else {}
                self.inner_form.show_values(inner)
        if not self._typing_name():
            self.name_edit.setText(node.name)
            self.name_edit.setModified(False)
            self._set_name_error(None)
        self._update_stats()

    # ------------------------------------------------------------- internals
    def _disconnect(self) -> None:
        if self._graph is not None:
            for sig, slot in ((self._graph.params_changed, self._on_params_changed),
                              (self._graph.node_renamed, self._on_renamed),
                              (self._graph.node_removed, self._on_node_removed),
                              (self._graph.blocks_changed, self._on_blocks_changed)):
                try:
                    sig.disconnect(slot)
                except (ValueError, RuntimeError):
                    pass
        if self.document is not None:
            try:
                self.document.analysis_changed.disconnect(self._on_analysis)
            except (RuntimeError, TypeError):
                pass
        self._graph = None

    def _show_message(self) -> None:
        if not catalog_ready():
            self._message.setText("Loading layers\u2026")
        elif self.document is None:
            self._message.setText("No project open.")
        else:
            self._message.setText("No layer selected.\n\nSelect a layer on the canvas to see and edit its settings.")
        self._clear_content()
        self.stack.setCurrentWidget(self._message)

    def _clear_content(self) -> None:
        self.block_form = None
        self.form = None
        self.inner_form = None
        self._inner_box = None
        self._inner_type = None
        if self._content is not None:
            old = self.scroll.takeWidget()
            if old is not None:
                old.hide()
                old.deleteLater()
            self._content = None

    def _build(self) -> None:
        from dlstudio.catalog import UnknownLayerError, get_spec

        self._clear_content()
        node = self._graph.node(self._node_id)
        try:
            spec = get_spec(node.type)
        except UnknownLayerError:
            spec = None

        content = QWidget()
        content.setObjectName("InspectorContent")
        lay = QVBoxLayout(content)
        lay.setContentsMargins(10, 10, 10, 12)
        lay.setSpacing(6)

        # header: icon, type, category
        head = QHBoxLayout()
        head.setSpacing(10)
        icon = QLabel(content)
        if spec is not None:
            icon.setPixmap(layer_icon(spec.type, spec.category).pixmap(QSize(32, 32), self.devicePixelRatioF()))
        else:
            icon.setPixmap(severity_icon("error").pixmap(QSize(32, 32), self.devicePixelRatioF()))
        icon.setFixedSize(34, 34)
        head.addWidget(icon, 0, Qt.AlignmentFlag.AlignTop)
        titles = QVBoxLayout()
        titles.setSpacing(0)
        self.type_label = QLabel(node.type, content)
        f = QFont(self.type_label.font())
        f.setBold(True)
        f.setPointSizeF(f.pointSizeF() * 1.25)
        self.type_label.setFont(f)
        self.type_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        titles.addWidget(self.type_label)
        cat = QLabel(spec.category if spec is not None else "Unknown layer type", content)
        cat.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        titles.addWidget(cat)
        head.addLayout(titles, 1)
        lay.addLayout(head)

        self.help_label = QLabel(content)
        self.help_label.setWordWrap(True)
        self.help_label.setTextFormat(Qt.TextFormat.PlainText)
        self.help_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.help_label.setForegroundRole(QPalette.ColorRole.PlaceholderText)
        self.help_label.setText(spec.help if spec is not None and spec.help else
                                "" if spec is not None else
                                f"'{node.type}' is not in the layer catalog; replace this node.")
        self.help_label.setVisible(bool(self.help_label.text()))
        lay.addWidget(self.help_label)

        # name
        name_row = QFormLayout()
        name_row.setContentsMargins(0, 6, 0, 0)
        name_row.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        name_row.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        name_box = QWidget(content)
        nb = QVBoxLayout(name_box)
        nb.setContentsMargins(0, 0, 0, 0)
        nb.setSpacing(2)
        self.name_edit = LineEdit(name_box)
        self.name_edit.setText(node.name)
        self.name_edit.setToolTip("The layer's name in the model (unique)")
        self.name_edit.editingFinished.connect(self._rename)
        self.name_edit.escape_pressed.connect(self._revert_name)
        self.name_error = QLabel(name_box)
        self.name_error.setWordWrap(True)
        self.name_error.hide()
        nb.addWidget(self.name_edit)
        nb.addWidget(self.name_error)
        name_label = QLabel("Name", content)
        name_label.setBuddy(self.name_edit)
        name_label.setMinimumHeight(self.name_edit.sizeHint().height())
        name_row.addRow(name_label, name_box)
        lay.addLayout(name_row)

        # output, counts, problems
        lay.addWidget(section_header("Output", content))
        stats = QGridLayout()
        stats.setContentsMargins(0, 0, 0, 0)
        stats.setHorizontalSpacing(12)
        stats.setVerticalSpacing(3)
        self._stat_values: dict[str, QLabel] = {}
        for row, (key, text) in enumerate((("shape", "Shape"), ("params", "Parameters"), ("macs", "MACs"))):
            k = QLabel(text, content)
            k.setForegroundRole(QPalette.ColorRole.PlaceholderText)
            v = QLabel("\u2014", content)
            v.setWordWrap(True)
            v.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            stats.addWidget(k, row, 0, Qt.AlignmentFlag.AlignTop)
            stats.addWidget(v, row, 1)
            self._stat_values[key] = v
        stats.setColumnStretch(1, 1)
        lay.addLayout(stats)
        self._problem_box = QVBoxLayout()
        self._problem_box.setContentsMargins(0, 4, 0, 0)
        self._problem_box.setSpacing(4)
        lay.addLayout(self._problem_box)

        # parameters
        if spec is not None:
            outer_specs = tuple(self._shares_choice(p, node) if p.name == "shares" else p
                                for p in spec.params if p.kind != "inner")
            if outer_specs:
                lay.addWidget(section_header("Parameters", content))
                self.form = ParamForm(outer_specs, content)
                self.form.edited.connect(self._param_edited)
                self.form.search_requested.connect(self.search_over)
                lay.addWidget(self.form)
            if any(p.kind == "inner" for p in spec.params):
                self._inner_box = QGroupBox(content)
                QVBoxLayout(self._inner_box).setContentsMargins(8, 6, 8, 8)
                lay.addWidget(self._inner_box)
        lay.addStretch(1)

        self._content = content
        self.scroll.setWidget(content)
        self.stack.setCurrentWidget(self.scroll)
        if self.form is not None:
            self.form.show_values(node.params)
        if self._inner_box is not None:
            self._build_inner(node)
        self._update_stats()

    def _build_inner(self, node) -> None:
        from dlstudio.catalog import UnknownLayerError, get_spec

        box = self._inner_box
        lay = box.layout()
        if self.inner_form is not None:
            lay.removeWidget(self.inner_form)
            self.inner_form.hide()
            self.inner_form.deleteLater()
            self.inner_form = None
        layer_spec = self.form.fields["layer"].spec if self.form and "layer" in self.form.fields else None
        layer = node.params.get("layer", layer_spec.default if layer_spec else None)
        self._inner_type = layer
        try:
            inner_spec = get_spec(layer)
        except (UnknownLayerError, TypeError):
            box.setTitle("Wrapped layer")
            return
        box.setTitle(f"Wrapped {inner_spec.type}")
        box.setToolTip(inner_spec.help)
        self.inner_form = ParamForm(inner_spec.params, box)
        self.inner_form.edited.connect(self._inner_edited)
        lay.addWidget(self.inner_form)
        inner = node.params.get("inner") if isinstance(node.params.get("inner"), dict) else {}
        self.inner_form.show_values(inner)

    def _shares_choice(self, p: Any, node: Any) -> Any:
        """``shares`` as a choice of the layers whose weights this one can use: the other
        layers of its type that have weights of their own."""
        import dataclasses

        owners = sorted(n.name for n in self._graph.nodes
                        if n.type == node.type and n.id != node.id and not n.params.get("shares"))
        return dataclasses.replace(p, kind="choice", choices=tuple(owners))

    def _param_edited(self, name: str, value: Any) -> None:
        self._push_param(name, value)

    def _inner_edited(self, name: str, value: Any) -> None:
        node = self._current_node()
        if node is None or self.inner_form is None:
            return
        inner = dict(node.params.get("inner") or {}) if isinstance(node.params.get("inner"), dict) else {}
        spec = self.inner_form.fields[name].spec
        if same_value(inner.get(name, spec.default), value) and type(inner.get(name, spec.default)) is type(value):
            self.inner_form.fields[name].show_value(inner.get(name, spec.default), spec.default)
            return
        inner[name] = value
        self._push_param("inner", inner)

    def search_over(self, name: str) -> None:
        """"Search over…" the selected node's parameter ``name`` (a dialog; an undoable edit)."""
        from dlstudio.qt.panels.experiments.search_dialog import search_over

        node = self._current_node()
        if node is not None and self.form is not None and name in self.form.fields:
            search_over(self, self.document, node.id, self.form.fields[name].spec)

    def _current_node(self):
        if self._node_id is None or self._graph is None or not self._graph.has_node(self._node_id):
            return None
        return self._graph.node(self._node_id)

    def _push_param(self, name: str, value: Any) -> None:
        node = self._current_node()
        if node is None or self.form is None:
            return
        field = self.form.fields.get(name)
        default = field.spec.default if field is not None else None
        current = node.params.get(name, default)
        if current == value and type(current) is type(value):
            if field is not None:  # show the canonical text of the unchanged value
                field.show_value(current, default)
            return
        self.document.push(SetParamCommand(self._graph, node.id, name, value))

    def _name_problem(self, name: str) -> str | None:
        problem = layer_name_problem(name)
        if problem:
            return problem[0].upper() + problem[1:] + "."
        other = self._graph.node_by_name(name)
        if other is not None and other.id != self._node_id:
            return f"'{name}' is already the name of another layer."
        return None

    def _set_name_error(self, message: str | None) -> None:
        if message:
            color = severity_color("error", self.palette()).name()
            self.name_error.setText(message)
            self.name_error.setStyleSheet(f"color: {color};")
            self.name_error.show()
            self.name_edit.setStyleSheet(f"QLineEdit {{ border: 1px solid {color}; border-radius: 3px; padding: 2px 3px; }}")
        else:
            self.name_error.hide()
            self.name_edit.setStyleSheet("")

    def _rename(self) -> None:
        node = self._current_node()
        if node is None:
            return
        name = self.name_edit.text().strip()
        if name == node.name:
            self._set_name_error(None)
            self.name_edit.setText(name)
            self.name_edit.setModified(False)
            return
        problem = self._name_problem(name)
        if problem:
            self._set_name_error(problem)
            return
        self._set_name_error(None)
        self.name_edit.setModified(False)
        self.document.push(RenameCommand(self._graph, node.id, name))

    def _revert_name(self) -> None:
        node = self._current_node()
        if node is not None:
            self.name_edit.setText(node.name)
            self.name_edit.setModified(False)
            self._set_name_error(None)

    def _update_stats(self) -> None:
        if self._content is None or self._node_id is None:
            return
        analysis = self.document.analysis if self.document is not None else None
        info = analysis.nodes.get(self._node_id) if analysis is not None else None
        if info is None:
            for v in self._stat_values.values():
                v.setText("\u2014")
        else:
            known = any(sh is not None for sh in info.output_shapes)
            self._stat_values["shape"].setText(output_shapes_text(info.output_shapes) if known else "unknown")
            self._stat_values["shape"].setToolTip(
                "" if known else "Known once this layer and the layers before it have no problems")
            frozen = info.params - info.trainable_params
            params = format_count(info.params)
            if info.params and frozen:
                params += f"  ({format_count(info.trainable_params)} trainable)"
            self._stat_values["params"].setText(params)
            self._stat_values["macs"].setText(
                format_count(info.macs) + (f"  ({format_macs(info.macs)})" if info.macs >= 10_000 else ""))
        # problems: the node's own and the graph's that involve it
        while self._problem_box.count():
            item = self._problem_box.takeAt(0)
            w = item.widget()
            if w is not None:
                w.hide()
                w.deleteLater()
        if analysis is None:
            return
        for p in [p for p in analysis.problems if self._node_id in p.node_ids]:
            row = QWidget(self._content)
            rl = QHBoxLayout(row)
            rl.setContentsMargins(0, 0, 0, 0)
            rl.setSpacing(6)
            ic = QLabel(row)
            ic.setPixmap(severity_icon(p.severity).pixmap(QSize(16, 16), self.devicePixelRatioF()))
            ic.setFixedWidth(18)
            rl.addWidget(ic, 0, Qt.AlignmentFlag.AlignTop)
            text = QLabel(row)
            text.setWordWrap(True)
            text.setTextFormat(Qt.TextFormat.RichText)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            msg = html.escape(sentence(p.message))
            hint = html.escape(sentence(p.hint)) if p.hint else ""
            soft = self.palette().color(QPalette.ColorRole.PlaceholderText).name()
            text.setText(msg + (f"<br><span style='color:{soft}'>{hint}</span>" if hint and p.fix is None else ""))
            rl.addWidget(text, 1)
            self._problem_box.addWidget(row)
            if p.fix is not None:  # the same one-click fix as in the Problems panel
                button = QPushButton(fix_text(p), self._content)
                button.setObjectName("inspector_fix")
                button.setToolTip("Apply this change to the graph (Edit > Undo takes it back)")
                button.clicked.connect(lambda _=False, fix=p.fix: self.document.apply_fix(fix))
                self._problem_box.addWidget(button, 0, Qt.AlignmentFlag.AlignLeft)

    # graph and document signals (psygnal calls these synchronously)
    def _on_params_changed(self, node_id: str) -> None:
        if isValid(self) and node_id == self._node_id:
            self.refresh()
        elif isValid(self) and self._block_id is not None and self._graph.has_block(self._block_id) \
                and node_id in self._graph.block(self._block_id).nodes:
            self.set_block(self._block_id)

    def _typing_name(self) -> bool:
        """The user is typing a name (focused, changed, not yet refused)."""
        return self.name_edit.hasFocus() and self.name_edit.isModified() and not self.name_error.isVisibleTo(self)

    def _on_renamed(self, node_id: str, name: str) -> None:
        if not isValid(self) or node_id != self._node_id or self._content is None:
            return
        if not self._typing_name():
            self.name_edit.setText(name)
            self.name_edit.setModified(False)
            self._set_name_error(None)

    def _on_node_removed(self, node) -> None:
        if isValid(self) and node.id == self._node_id:
            self.set_node(None)

    def _on_analysis(self, _analysis) -> None:
        if isValid(self) and self._block_id is not None:
            if not self.block_form.name_edit.hasFocus():
                self.set_block(self._block_id)  # its totals and problem counts
        elif isValid(self) and self._content is not None:
            self._update_stats()

    def _on_ready(self) -> None:
        if not isValid(self):
            return
        if self._node_id is not None and self._content is None:
            self._build()
        elif self._node_id is None:
            self._show_message()
