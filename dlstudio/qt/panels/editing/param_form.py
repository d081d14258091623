"""Parameter forms generated from the catalog's ParamSpecs.

One :class:`ParamField` per parameter (spin box, check box, combo or a
validated line edit), parsing of typed text (``3, 3``, ``1e-5``, ``1/255``,
JSON), and inline refusal of values the spec rejects. Used by the inspector.
"""

from __future__ import annotations

import html
import json
import math
import re
from typing import Any

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtGui import QFont, QKeyEvent
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFormLayout, QLabel, QLineEdit, QMenu, QSizePolicy, QSpinBox, QVBoxLayout,
    QWidget,
)

from dlstudio.catalog import ParamError, ParamSpec
from dlstudio.catalog.specs import SANITY_LIMIT
from dlstudio.qt.icons import severity_color

NONE_TEXT = "(none)"


# ------------------------------------------------------- parsing and display
class ParseError(ValueError):
    """Text in a field that is not a value of the parameter's kind."""


def format_number(v: Any) -> str:
    """Shortest text that reads back as the same number (``1e-05``, ``0.5``, ``32``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return f"{v:.1f}"
        return repr(v)
    return str(v)


def format_value(kind: str, value: Any) -> str:
    """The text a line-edit field shows for a value."""
    if value is None:
        return ""
    if kind in ("ints", "floats", "shape", "int", "float"):
        if isinstance(value, (list, tuple)):
            return ", ".join("None" if v is None else format_number(v) for v in value)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return format_number(value)
    if kind == "str" and isinstance(value, str):
        return value
    try:
        return json.dumps(value)
    except (TypeError, ValueError):
        return str(value)


def _items(text: str) -> list[str]:
    text = text.strip()
    if len(text) >= 2 and text[0] + text[-1] in ("()", "[]"):
        text = text[1:-1]
    parts = [p for p in re.split(r"[,\s;]+|(?<=\d)\s*[x\u00d7]\s*(?=\d)", text) if p]
    return parts


def _number(text: str, integer: bool) -> float | int:
    t = text.strip().replace("_", "")
    if "/" in t and not integer:  # 1/255
        a, _, b = t.partition("/")
        try:
            num, den = float(a), float(b)
        except ValueError:
            raise ParseError(f"{text!r} is not a number") from None
        if den == 0:
            raise ParseError("division by zero")
        return num / den
    try:
        if integer:
            v = float(t)
            if not v.is_integer():
                raise ParseError(f"{text!r} is not a whole number")
            return int(v)
        v = float(t)
    except (ValueError, OverflowError):
        raise ParseError(f"{text!r} is not a {'whole number' if integer else 'number'}") from None
    if not math.isfinite(v):
        raise ParseError("the number must be finite")
    return v


def parse_value(spec: ParamSpec, text: str) -> Any:
    """Parse a field's text into a value of ``spec``'s kind (not yet range-checked).

    Raises ParseError with a message for the user.
    """
    kind = spec.kind
    stripped = text.strip()
    if not stripped or stripped.lower() in ("none", "null", NONE_TEXT):
        if spec.optional or kind == "json":
            return None
        if kind == "str":
            return ""
        raise ParseError("a value is required")
    if kind == "str":
        return text
    if kind in ("int", "float"):
        return _number(stripped, kind == "int")
    if kind in ("ints", "floats"):
        parts = _items(stripped)
        if not parts:
            raise ParseError("a value is required")
        values = [_number(p, kind == "ints") for p in parts]
        return values[0] if len(values) == 1 else values
    if kind == "shape":
        out: list[Any] = []
        for p in _items(stripped):
            if p.lower() in ("none", "null", "?"):
                out.append(None)
            else:
                out.append(_number(p, True))
        return out
    if kind in ("json", "inner"):
        try:
            return json.loads(stripped)
        except ValueError as exc:
            raise ParseError(f"not valid JSON ({exc.msg} at character {exc.pos + 1})") from None
    raise ParseError(f"cannot edit a {kind!r} parameter here")


def same_value(a: Any, b: Any) -> bool:
    """Equality that treats ``3`` and ``[3, 3]`` (and ints and floats) as equal."""
    if isinstance(a, (list, tuple)) and not isinstance(b, (list, tuple)) and b is not None:
        return len(a) > 0 and all(same_value(x, b) for x in a)
    if isinstance(b, (list, tuple)) and not isinstance(a, (list, tuple)) and a is not None:
        return same_value(b, a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b))
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b


_PLACEHOLDERS = {
    "ints": "3  or  3, 3",
    "floats": "0.1  or  -0.1, 0.2",
    "shape": "28, 28, 1",
    "json": "JSON, e.g. [1, 2]",
    "float": "e.g. 0.001 or 1e-5",
}


def _param_tooltip(spec: ParamSpec) -> str:
    parts = [f"<b>{html.escape(spec.name)}</b>"]
    if spec.help:
        parts.append(html.escape(spec.help))
    extra = []
    if spec.default is not None or spec.optional:
        extra.append(f"Default: {html.escape(format_value(spec.kind, spec.default) or 'none')}")
    if spec.min is not None or spec.max is not None:
        le = "\u2264"
        lo = "" if spec.min is None else f"{format_number(spec.min)} {'<' if spec.exclusive_min else le} "
        hi = "" if spec.max is None else f" {'<' if spec.exclusive_max else le} {format_number(spec.max)}"
        extra.append(f"Range: {lo}value{hi}")
    if extra:
        parts.append("<span style='opacity:0.75'>" + " &nbsp;\u00b7&nbsp; ".join(extra) + "</span>")
    return "<p>" + "</p><p>".join(parts) + "</p>"


# -------------------------------------------------------------------- fields
class _SpinBox(QSpinBox):
    """Ignores the wheel unless focused: scrolling the form must not change values."""

    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()  # goes on to the scroll area


class _ComboBox(QComboBox):
    def wheelEvent(self, event) -> None:
        if self.hasFocus():
            super().wheelEvent(event)
        else:
            event.ignore()


class LineEdit(QLineEdit):
    escape_pressed = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escape_pressed.emit()
            return
        super().keyPressEvent(event)


class ParamField(QObject):
    """One parameter's label, editor and inline error.

    ``committed(object)`` carries a value already checked by the spec; the
    form decides whether it differs from the node's value and pushes it.
    """

    committed = Signal(object)
    reset_requested = Signal()
    search_requested = Signal()  # "Search over…" (dlstudio.qt.panels.experiments.search_dialog)

    def __init__(self, spec: ParamSpec, parent: QWidget):
        super().__init__(parent)
        self.spec = spec
        self.label = QLabel(spec.name, parent)
        self.label.setToolTip(_param_tooltip(spec))
        self.label.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.label.customContextMenuRequested.connect(self._label_menu)
        self.container = QWidget(parent)
        box = QVBoxLayout(self.container)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(2)
        self.editor = self._make_editor(self.container)
        self.editor.setToolTip(_param_tooltip(spec))
        self.editor.setObjectName(f"param_{spec.name}")
        if isinstance(self.editor, (QSpinBox, QComboBox)):
            self.editor.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        box.addWidget(self.editor)
        self.error_label = QLabel(self.container)
        self.error_label.setWordWrap(True)
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        small = QFont(self.error_label.font())
        small.setPointSizeF(max(7.0, small.pointSizeF() * 0.92))
        self.error_label.setFont(small)
        self.error_label.hide()
        box.addWidget(self.error_label)
        self.label.setBuddy(self.editor)
        self.label.setMinimumHeight(self.editor.sizeHint().height())
        self.label.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter)
        self._value: Any = None
        self._modified = False
        self._error: str | None = None

    # subclasses
    def _make_editor(self, parent: QWidget) -> QWidget:
        raise NotImplementedError

    def _display(self, value: Any) -> None:
        raise NotImplementedError

    def is_editing(self) -> bool:
        """The user is in the middle of typing into this field."""
        return False

    # shared
    @property
    def value(self) -> Any:
        """The node's value this field last showed."""
        return self._value

    @property
    def error(self) -> str | None:
        return self._error

    def show_value(self, value: Any, default: Any) -> None:
        """Show the node's value (unless the user is typing here) and mark it
        bold when it differs from ``default``."""
        self._value = value
        self.set_modified(not same_value(value, default))
        if self.is_editing():
            return
        self.editor.blockSignals(True)
        try:
            self._display(value)
        finally:
            self.editor.blockSignals(False)
        try:
            self.spec.check(value)
        except ParamError as e:
            self.set_error(e.message)
        else:
            self.set_error(None)

    def set_modified(self, modified: bool) -> None:
        self._modified = modified
        font = QFont(self.label.font())
        font.setBold(modified)
        self.label.setFont(font)
        self.label.setStatusTip("changed from the default" if modified else "")

    def is_modified(self) -> bool:
        return self._modified

    def set_error(self, message: str | None) -> None:
        self._error = message
        if message:
            color = severity_color("error", self.container.palette()).name()
            self.error_label.setText(message[0].upper() + message[1:] if message else "")
            self.error_label.setStyleSheet(f"color: {color};")
            self.error_label.show()
            self._style_invalid(color)
        else:
            self.error_label.hide()
            self.error_label.clear()
            self._style_invalid(None)

    def _style_invalid(self, color: str | None) -> None:
        target = self.editor
        if color is None:
            target.setStyleSheet("")
            target.setProperty("invalid", False)
        else:
            base = ("QLineEdit" if isinstance(target, QLineEdit) else "QSpinBox" if isinstance(target, QSpinBox)
                    else "QComboBox" if isinstance(target, QComboBox) else "QWidget")
            target.setStyleSheet(f"{base} {{ border: 1px solid {color}; border-radius: 3px; padding: 2px 3px; }}")
            target.setProperty("invalid", True)

    def commit(self, value: Any) -> bool:
        """Check ``value``; refuse it inline or emit ``committed``. True if accepted."""
        try:
            checked = self.spec.check(value)
        except ParamError as e:
            self.set_error(e.message)
            return False
        self.set_error(None)
        self.committed.emit(checked)
        return True

    def label_menu(self) -> QMenu:
        """The parameter's context menu: Reset to default, Search over…"""
        menu = QMenu(self.label)
        act = menu.addAction("Reset to default")
        act.setEnabled(self._modified)
        act.triggered.connect(self.reset_requested)
        search = menu.addAction("Search over…")
        search.setToolTip("the values an experiment (Experiments panel) tries for this parameter")
        search.triggered.connect(self.search_requested)
        return menu

    def _label_menu(self, pos) -> None:
        self.label_menu().exec(self.label.mapToGlobal(pos))


class _IntField(ParamField):
    def _make_editor(self, parent: QWidget) -> QWidget:
        s = self.spec
        spin = _SpinBox(parent)
        lo = -SANITY_LIMIT if s.min is None else int(math.ceil(s.min)) + (1 if s.exclusive_min and float(s.min).is_integer() else 0)
        hi = SANITY_LIMIT if s.max is None else int(math.floor(s.max)) - (1 if s.exclusive_max and float(s.max).is_integer() else 0)
        if s.optional:
            lo -= 1
            spin.setSpecialValueText(NONE_TEXT)
        spin.setRange(lo, hi)
        self._lo, self._hi = lo, hi
        spin.setKeyboardTracking(False)
        spin.setAccelerated(True)
        spin.setAlignment(Qt.AlignmentFlag.AlignRight)
        spin.valueChanged.connect(self._changed)
        spin.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        return spin

    def _changed(self, v: int) -> None:
        if self.spec.optional and v == self.editor.minimum():
            self.commit(None)
        else:
            self.commit(v)

    def is_editing(self) -> bool:
        spin: QSpinBox = self.editor
        return spin.hasFocus() and spin.text() != spin.textFromValue(spin.value()) and spin.text() != NONE_TEXT

    def _display(self, value: Any) -> None:
        spin: QSpinBox = self.editor
        if value is None:
            spin.setValue(spin.minimum())
            return
        if isinstance(value, (int, float)) and not isinstance(value, bool) and float(value).is_integer():
            v = int(value)
            # a stored value out of range is shown as it is (with its error), not clamped
            spin.setRange(min(self._lo, v), max(self._hi, v))
            spin.setValue(v)


class _BoolField(ParamField):
    def _make_editor(self, parent: QWidget) -> QWidget:
        box = QCheckBox(parent)
        box.toggled.connect(self.commit)
        return box

    def _display(self, value: Any) -> None:
        self.editor.setChecked(bool(value))


class _ChoiceField(ParamField):
    def _make_editor(self, parent: QWidget) -> QWidget:
        combo = _ComboBox(parent)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(8)
        combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._values: list[Any] = []
        self._fill(combo, None)
        combo.currentIndexChanged.connect(self._changed)
        return combo

    def _fill(self, combo: QComboBox, extra: Any) -> None:
        combo.clear()
        self._values = []
        if self.spec.optional:
            combo.addItem(NONE_TEXT)
            self._values.append(None)
        for c in self.spec.choices or ():
            combo.addItem(str(c))
            self._values.append(c)
        if extra is not None:
            if isinstance(extra, dict):
                text = f"{extra.get('class_name', 'custom')} (custom settings)"
            else:
                text = f"{extra} (not available)"
            combo.addItem(text)
            combo.setItemData(combo.count() - 1, json.dumps(extra, default=str), Qt.ItemDataRole.ToolTipRole)
            self._values.append(extra)

    def _changed(self, index: int) -> None:
        if 0 <= index < len(self._values):
            self.commit(self._values[index])

    def choices(self) -> list[Any]:
        """The values behind the combo's entries."""
        return list(self._values)

    def _display(self, value: Any) -> None:
        combo: QComboBox = self.editor
        known = value is None and self.spec.optional or value in (self.spec.choices or ())
        if not known or len(self._values) != len(self.spec.choices or ()) + (1 if self.spec.optional else 0):
            self._fill(combo, None if known else value)
        for i, v in enumerate(self._values):
            if v == value and type(v) is type(value):
                combo.setCurrentIndex(i)
                return
        combo.setCurrentIndex(-1)


class _TextField(ParamField):
    """ints, floats, shape, json, str and float parameters: a validated line edit."""

    def _make_editor(self, parent: QWidget) -> QWidget:
        edit = LineEdit(parent)
        placeholder = _PLACEHOLDERS.get(self.spec.kind, "")
        if self.spec.optional:
            placeholder = f"{NONE_TEXT}  \u2014  {placeholder}" if placeholder else NONE_TEXT
        edit.setPlaceholderText(placeholder)
        edit.setClearButtonEnabled(False)
        self._dirty = False
        self._shown = ""
        edit.textEdited.connect(self._edited)
        edit.editingFinished.connect(self._finished)
        edit.escape_pressed.connect(self._revert)
        return edit

    def _edited(self, _text: str) -> None:
        self._dirty = True

    def is_editing(self) -> bool:
        # typing, and not yet refused: a refused text gives way to a change from elsewhere
        return self._dirty and self.editor.hasFocus() and not self._error

    def _display(self, value: Any) -> None:
        self._shown = format_value(self.spec.kind, value)
        self.editor.setText(self._shown)
        self.editor.setCursorPosition(0)
        self._dirty = False

    def _revert(self) -> None:
        self._dirty = False
        self._display(self._value)
        try:
            self.spec.check(self._value)
            self.set_error(None)
        except ParamError as e:
            self.set_error(e.message)

    def _finished(self) -> None:
        text = self.editor.text()
        if text == self._shown:  # nothing typed, or typed back to the shown text
            if self._dirty or self._error:
                self._revert()
            return
        try:
            value = parse_value(self.spec, text)
        except ParseError as e:
            self.set_error(str(e))
            return
        self._dirty = False  # so that the refresh after the push shows the canonical text
        if not self.commit(value):
            self._dirty = True


def make_field(spec: ParamSpec, parent: QWidget) -> ParamField:
    if spec.kind == "int":
        return _IntField(spec, parent)
    if spec.kind == "bool":
        return _BoolField(spec, parent)
    if spec.kind in ("choice", "layer"):
        return _ChoiceField(spec, parent)
    return _TextField(spec, parent)


class ParamForm(QWidget):
    """A form for a list of ParamSpecs. ``edited(name, value)`` carries checked values."""

    edited = Signal(str, object)
    search_requested = Signal(str)  # a parameter's name: its "Search over…"

    def __init__(self, specs: tuple[ParamSpec, ...], parent: QWidget | None = None):
        super().__init__(parent)
        self.form = QFormLayout(self)
        self.form.setContentsMargins(0, 0, 0, 0)
        self.form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.DontWrapRows)
        self.form.setLabelAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setFormAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.form.setHorizontalSpacing(10)
        self.form.setVerticalSpacing(6)
        self.fields: dict[str, ParamField] = {}
        for spec in specs:
            f = make_field(spec, self)
            f.committed.connect(lambda v, n=spec.name: self.edited.emit(n, v))
            f.reset_requested.connect(lambda s=spec: self.edited.emit(s.name, s.default))
            f.search_requested.connect(lambda n=spec.name: self.search_requested.emit(n))
            self.form.addRow(f.label, f.container)
            self.fields[spec.name] = f

    def show_values(self, values: dict[str, Any]) -> None:
        for name, f in self.fields.items():
            f.show_value(values.get(name, f.spec.default), f.spec.default)
