"""Dock panels: palette, inspector, problems, summary (offscreen)."""

from __future__ import annotations

import pytest

pytest.importorskip("PySide6")
pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtGui import QColor, QPalette  # noqa: E402
from PySide6.QtWidgets import QApplication, QCheckBox, QComboBox, QLineEdit, QSpinBox  # noqa: E402

from dlstudio.project import new_project  # noqa: E402
from dlstudio.qt import keras_loader  # noqa: E402
from dlstudio.qt.editor.commands import SetParamCommand  # noqa: E402


@pytest.fixture(scope="module")
def keras_loaded():
    assert keras_loader.loader().wait(60), keras_loader.loader().error
    return True


@pytest.fixture
def doc(qtbot, keras_loaded):
    from dlstudio.qt.document import Document

    project = new_project("panels")
    g = project.graph
    g.add_node("Input", {"shape": [8, 8, 1]}, name="image", id="inp")
    g.add_node("Conv2D", {"filters": 4, "kernel_size": 3}, name="conv", id="conv")
    g.add_node("Flatten", {}, name="flat", id="flat")
    g.add_node("Dense", {"units": 10, "activation": "softmax"}, name="head", id="dense")
    g.connect("inp", "conv")
    g.connect("conv", "flat")
    g.connect("flat", "dense")
    document = Document(project)
    document.analyze_now()
    yield document
    document.undo_stack.setClean()  # a Document destroyed with a dirty stack emits into a dead object


def _visible_types(panel):
    return set(panel.type_names(visible_only=True))


# ------------------------------------------------------------------- palette
def test_fuzzy_score_orders_matches():
    from dlstudio.qt.panels.editing.palette import fuzzy_score

    assert fuzzy_score("", "Dense") == 0.0
    assert fuzzy_score("dense", "Dense") > fuzzy_score("den", "Dense") > fuzzy_score("ense", "Dense")
    assert fuzzy_score("ense", "Dense") > fuzzy_score("dns", "Dense")
    assert fuzzy_score("gap", "GlobalAveragePooling2D") is not None
    assert fuzzy_score("mp2", "MaxPooling2D") > fuzzy_score("mp2", "GlobalMaxPooling2D")
    assert fuzzy_score("CONV", "conv2d") is not None
    assert fuzzy_score("xyz", "Dense") is None
    assert fuzzy_score("densee", "Dense") is None


def test_palette_lists_every_catalog_type(qtbot, keras_loaded):
    from dlstudio.catalog import catalog, categories
    from dlstudio.qt.panels.editing.palette import PalettePanel

    panel = PalettePanel()
    qtbot.addWidget(panel)
    assert not panel.is_loading()
    assert panel.type_names() == list(catalog())
    assert _visible_types(panel) == set(catalog())
    tree = panel.tree
    assert [tree.topLevelItem(i).text(0) for i in range(tree.topLevelItemCount())] == list(categories())
    assert all(tree.topLevelItem(i).isExpanded() for i in range(tree.topLevelItemCount()))
    dense = panel.item_for("Dense")
    assert "densely-connected" in dense.toolTip(0)
    assert not dense.icon(0).isNull()


def test_palette_search_filters(qtbot, keras_loaded):
    from dlstudio.qt.panels.editing.palette import PalettePanel

    panel = PalettePanel()
    qtbot.addWidget(panel)
    qtbot.keyClicks(panel.search, "conv")
    visible = _visible_types(panel)
    assert "Conv2D" in visible and "Conv1DTranspose" in visible
    assert "Dense" not in visible
    assert panel.item_for("Dense").parent().isHidden()  # the Core category is empty: hidden

    panel.set_filter("RESID")  # a keyword of Add, case-insensitive
    assert "Add" in _visible_types(panel)
    assert "Conv2D" not in _visible_types(panel)

    panel.set_filter("gap")  # fuzzy subsequence on the name
    assert "GlobalAveragePooling2D" in _visible_types(panel)
    assert panel.tree.currentItem().text(0) == "GlobalAveragePooling2D"

    panel.set_filter("batchnorm")  # keyword
    assert _visible_types(panel) == {"BatchNormalization"}

    panel.set_filter("qqqqq")
    assert _visible_types(panel) == set()
    assert panel.stack.currentWidget() is not panel.tree

    panel.search.clear()
    assert "Dense" in _visible_types(panel) and "Conv2D" in _visible_types(panel)


def test_palette_drag_mime_data(qtbot, keras_loaded):
    from dlstudio.qt.panels.editing.palette import LAYER_MIME, PalettePanel

    assert LAYER_MIME == "application/x-dlstudio-layer"
    panel = PalettePanel()
    qtbot.addWidget(panel)
    mime = panel.mime_data("Conv2D")
    assert mime.hasFormat(LAYER_MIME)
    assert bytes(mime.data(LAYER_MIME)).decode() == "Conv2D"
    # the tree builds the same payload for a dragged item; categories give nothing
    mime = panel.tree.mimeData([panel.item_for("Dense")])
    assert bytes(mime.data(LAYER_MIME)).decode() == "Dense"
    assert not panel.tree.mimeData([panel.item_for("Dense").parent()]).hasFormat(LAYER_MIME)
    assert panel.item_for("Dense").flags() & Qt.ItemFlag.ItemIsDragEnabled


def test_palette_double_click_emits_add_requested(qtbot, keras_loaded):
    from dlstudio.qt.panels.editing.palette import PalettePanel

    panel = PalettePanel()
    qtbot.addWidget(panel)
    panel.resize(300, 600)
    panel.show()
    qtbot.waitExposed(panel)
    item = panel.item_for("Dense")
    panel.tree.scrollToItem(item)
    rect = panel.tree.visualItemRect(item)
    with qtbot.waitSignal(panel.add_requested, timeout=2000) as blocker:
        # a real double-click is press, release, double-click press, release
        qtbot.mouseClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
        qtbot.mouseDClick(panel.tree.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == ["Dense"]

    # Enter in the search field adds the best match
    panel.search.setFocus()
    panel.set_filter("lstm")
    with qtbot.waitSignal(panel.add_requested, timeout=2000) as blocker:
        qtbot.keyClick(panel.search, Qt.Key.Key_Return)
    assert blocker.args == ["LSTM"]


def test_palette_loading_state(qtbot, keras_loaded, monkeypatch):
    from dlstudio.qt.panels.editing import palette as palette_mod

    monkeypatch.setattr(palette_mod, "catalog_ready", lambda: False)  # no disk cache: it comes with Keras
    panel = palette_mod.PalettePanel()
    qtbot.addWidget(panel)
    assert panel.is_loading()
    assert panel.stack.currentWidget() is not panel.tree
    assert "Loading layers" in panel._loading_label.text()
    assert not panel.search.isEnabled()
    panel._on_ready()  # what loader().catalog_loaded triggers
    assert not panel.is_loading() and panel.search.isEnabled()
    assert "Dense" in panel.type_names()


def test_icons_and_colours(qtbot):
    from dlstudio.qt.icons import category_color, glyph_for, layer_icon, severity_icon

    assert category_color("Convolution") != category_color("Core")
    assert isinstance(category_color("Something new"), QColor)
    assert layer_icon("Conv2D", "Convolution") is layer_icon("Conv2D", "Convolution")  # cached
    assert not layer_icon("Conv2D", "Convolution").pixmap(24, 24).isNull()
    assert glyph_for("Conv2D") == "C2" and glyph_for("SomeNewLayer")
    assert not severity_icon("warning").isNull()


# ----------------------------------------------------------------- inspector
@pytest.fixture
def inspector(qtbot, doc):
    from dlstudio.qt.panels.editing.inspector import InspectorPanel

    panel = InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(320, 700)
    panel.show()
    qtbot.waitExposed(panel)
    return panel


def _type_into(qtbot, edit: QLineEdit, text: str) -> None:
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, text)
    qtbot.keyClick(edit, Qt.Key.Key_Return)


def test_inspector_shows_node(inspector, doc):
    inspector.set_node("dense")
    assert inspector.type_label.text() == "Dense"
    assert "densely-connected" in inspector.help_label.text()
    assert inspector.name_edit.text() == "head"
    assert isinstance(inspector.editor("units"), QSpinBox)
    assert isinstance(inspector.editor("use_bias"), QCheckBox)
    assert isinstance(inspector.editor("activation"), QComboBox)
    assert inspector.editor("units").value() == 10
    assert inspector.field("units").is_modified()  # 10 differs from the default 32
    assert inspector.field("units").label.font().bold()
    assert not inspector.field("use_bias").label.font().bold()
    assert "dimensionality" in inspector.editor("units").toolTip()
    assert inspector._stat_values["shape"].text() == "(batch, 10)"
    assert inspector._stat_values["params"].text() == f"{doc.analysis.nodes['dense'].params:,}"
    inspector.set_node(None)
    assert inspector.stack.currentWidget() is not inspector.scroll


def test_inspector_units_edit_undo(qtbot, inspector, doc):
    inspector.set_node("dense")
    spin = inspector.editor("units")
    stack = doc.undo_stack
    before = stack.count()
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "64")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    assert stack.count() == before + 1
    assert isinstance(stack.command(stack.count() - 1), SetParamCommand)
    assert doc.graph.node("dense").params["units"] == 64
    stack.undo()
    assert doc.graph.node("dense").params["units"] == 10
    assert spin.value() == 10
    stack.redo()
    assert spin.value() == 64


def test_inspector_float_accepts_scientific_and_refuses_invalid(qtbot, inspector, doc):
    node = doc.graph.add_node("Dropout", {}, name="drop", id="drop")
    inspector.set_node(node.id)
    edit = inspector.editor("rate")
    assert isinstance(edit, QLineEdit) and edit.text() == "0.5"
    stack = doc.undo_stack
    n = stack.count()

    _type_into(qtbot, edit, "1.5")  # out of range: refused with the reason
    field = inspector.field("rate")
    assert stack.count() == n
    assert "rate" not in node.params
    assert field.error and "< 1" in field.error
    assert field.error_label.isVisible() and "< 1" in field.error_label.text()
    assert edit.styleSheet()  # red border

    _type_into(qtbot, edit, "abc")  # unparsable
    assert stack.count() == n and "number" in field.error

    _type_into(qtbot, edit, "1e-5")  # tiny values are enterable
    assert stack.count() == n + 1
    assert node.params["rate"] == pytest.approx(1e-5)
    assert field.error is None and not field.error_label.isVisible()
    assert edit.text() == "1e-05"


def test_inspector_ints_and_shape_fields(qtbot, inspector, doc):
    inspector.set_node("conv")
    edit = inspector.editor("kernel_size")
    _type_into(qtbot, edit, "5, 5")
    assert doc.graph.node("conv").params["kernel_size"] == [5, 5]
    assert edit.text() == "5, 5"
    _type_into(qtbot, edit, "0")
    assert doc.graph.node("conv").params["kernel_size"] == [5, 5]
    assert ">= 1" in inspector.field("kernel_size").error

    inspector.set_node("inp")
    shape = inspector.editor("shape")
    assert shape.text() == "8, 8, 1"
    _type_into(qtbot, shape, "(28, 28, 1)")
    assert doc.graph.node("inp").params["shape"] == [28, 28, 1]


def test_inspector_choice_combo(qtbot, inspector, doc):
    inspector.set_node("dense")
    combo = inspector.editor("activation")
    assert combo.currentText() == "softmax"
    stack = doc.undo_stack
    n = stack.count()
    combo.setCurrentIndex(combo.findText("relu"))
    assert stack.count() == n + 1
    assert doc.graph.node("dense").params["activation"] == "relu"
    stack.undo()
    assert combo.currentText() == "softmax"
    # optional choices offer "(none)"
    reg = inspector.editor("kernel_regularizer")
    assert reg.itemText(0) == "(none)" and reg.currentIndex() == 0
    reg.setCurrentIndex(reg.findText("l2"))
    assert doc.graph.node("dense").params["kernel_regularizer"] == "l2"
    reg.setCurrentIndex(0)
    assert doc.graph.node("dense").params["kernel_regularizer"] is None


def test_inspector_shares_offers_the_layers_it_can_share(qtbot, inspector, doc):
    """``shares`` is a choice of the other layers of the same type with weights of their own."""
    g = doc.graph
    g.add_node("Dense", {"units": 10, "activation": "softmax"}, name="second", id="second")
    g.add_node("Dense", {"units": 10, "shares": "head"}, name="third", id="third")
    inspector.set_node("second")
    combo = inspector.editor("shares")
    assert [combo.itemText(i) for i in range(combo.count())] == ["(none)", "head"]  # not third: it shares
    combo.setCurrentIndex(combo.findText("head"))
    assert g.node("second").params["shares"] == "head"
    doc.undo_stack.undo()
    assert not g.node("second").params.get("shares")


def test_inspector_checkbox(qtbot, inspector, doc):
    inspector.set_node("dense")
    box = inspector.editor("use_bias")
    box.setChecked(False)
    assert doc.graph.node("dense").params["use_bias"] is False
    assert inspector.field("use_bias").label.font().bold()
    doc.undo_stack.undo()
    assert box.isChecked()


def test_inspector_rename(qtbot, inspector, doc):
    inspector.set_node("dense")
    stack = doc.undo_stack
    n = stack.count()
    _type_into(qtbot, inspector.name_edit, "classifier")
    assert doc.graph.node("dense").name == "classifier"
    assert stack.count() == n + 1
    _type_into(qtbot, inspector.name_edit, "conv")  # taken
    assert doc.graph.node("dense").name == "classifier"
    assert "already" in inspector.name_error.text() and inspector.name_error.isVisible()
    _type_into(qtbot, inspector.name_edit, "   ")  # empty
    assert "name" in inspector.name_error.text()
    _type_into(qtbot, inspector.name_edit, "my head")  # TensorFlow refuses it as a layer name
    assert "a space" in inspector.name_error.text() and doc.graph.node("dense").name == "classifier"
    assert stack.count() == n + 1
    stack.undo()
    assert inspector.name_edit.text() == "head"
    assert not inspector.name_error.isVisible()


def test_inspector_follows_external_edits_and_removal(qtbot, inspector, doc):
    inspector.set_node("dense")
    doc.push(SetParamCommand(doc.graph, "dense", "units", 7))
    assert inspector.editor("units").value() == 7
    doc.graph.remove_node("dense")
    assert inspector.node_id is None


def test_inspector_wrapper_inner_form(qtbot, inspector, doc):
    node = doc.graph.add_node("Bidirectional", {}, name="bi", id="bi")
    inspector.set_node(node.id)
    layer = inspector.editor("layer")
    assert layer.currentText() == "LSTM"
    units = inspector.editor("inner.units")
    assert isinstance(units, QSpinBox)
    units.setFocus()
    units.selectAll()
    qtbot.keyClicks(units, "12")
    qtbot.keyClick(units, Qt.Key.Key_Return)
    assert node.params["inner"] == {"units": 12}
    layer.setCurrentIndex(layer.findText("GRU"))
    assert node.params["layer"] == "GRU"
    assert inspector._inner_box.title() == "Wrapped GRU"
    assert inspector.editor("inner.units").value() == 12  # kept: GRU has units too
    doc.undo_stack.undo()
    assert inspector._inner_box.title() == "Wrapped LSTM"


# ------------------------------------------------------------------ problems
def test_problems_panel_dense_after_conv(qtbot, doc):
    from dlstudio.qt.panels.editing.problems import ProblemsPanel

    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(500, 300)
    panel.show()
    qtbot.waitExposed(panel)
    assert panel.placeholder_text() == "No problems"
    # a Dense straight after the Conv2D, without Flatten
    doc.graph.add_node("Dense", {}, name="dense_2", id="d2")
    doc.graph.connect("conv", "d2")
    with qtbot.waitSignal(panel.count_changed, timeout=3000):
        doc.analyze_now()
    problems = panel.problems()
    mine = [p for p in problems if "d2" in p.node_ids]
    assert mine and "Flatten" in mine[0].hint
    item = panel.item_for(mine[0])
    rect = panel.list.visualItemRect(item)
    activated = []
    panel.problem_activated.connect(activated.append)
    with qtbot.waitSignal(doc.selection_requested, timeout=2000) as blocker:
        qtbot.mouseClick(panel.list.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [list(mine[0].node_ids)]
    assert "d2" in blocker.args[0]
    assert activated == [list(mine[0].node_ids)]


def test_problems_panel_clean_and_count(qtbot, doc):
    from dlstudio.qt.panels.editing.problems import ProblemsPanel

    panel = ProblemsPanel(doc)
    qtbot.addWidget(panel)
    assert panel.count() == 0
    assert panel.placeholder_text() == "No problems"
    with qtbot.waitSignal(panel.count_changed, timeout=3000) as blocker:
        doc.graph.add_node("Dense", {}, name="stray", id="stray")
        doc.analyze_now()
    assert blocker.args == [panel.count()] and panel.count() >= 1
    assert panel.stack.currentWidget() is panel.list


# ------------------------------------------------------------------- summary
def test_summary_totals_and_selection(qtbot, doc):
    from dlstudio.qt.panels.editing.summary import SummaryPanel, format_count

    panel = SummaryPanel(doc)
    qtbot.addWidget(panel)
    panel.resize(600, 300)
    panel.show()
    qtbot.waitExposed(panel)
    analysis = doc.analysis
    assert panel.node_ids() == analysis.order
    assert panel.total_text("total").startswith(format_count(analysis.total_params))
    assert panel.total_text("trainable") == format_count(analysis.trainable_params)
    row = panel.row_of("conv")
    assert row.text(0) == "conv" and row.text(1) == "Conv2D"
    assert row.text(2) == "(batch, 6, 6, 4)"
    assert row.text(3) == format_count(analysis.nodes["conv"].params)
    rows_sum = sum(int(panel.row_of(n).text(3).replace(",", "")) for n in panel.node_ids())
    assert rows_sum == analysis.total_params

    rect = panel.table.visualItemRect(row)
    with qtbot.waitSignal(doc.selection_requested, timeout=2000) as blocker:
        qtbot.mouseClick(panel.table.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    assert blocker.args == [["conv"]]

    doc.push(SetParamCommand(doc.graph, "conv", "filters", 8))
    doc.analyze_now()
    assert panel.total_text("total").startswith(format_count(doc.analysis.total_params))
    assert panel.row_of("conv").text(2) == "(batch, 6, 6, 8)"


def test_number_formats():
    from dlstudio.qt.panels.editing.summary import format_bytes, format_count, format_si

    assert format_count(1234567) == "1,234,567"
    assert format_si(1234567) == "1.23 M"
    assert format_si(999) == "999"
    assert format_bytes(2048) == "2.0 KiB"


def test_panels_in_dark_palette(qtbot, doc):
    """Text colours come from palette roles, so a dark palette needs no special code."""
    from dlstudio.qt.panels.editing.inspector import InspectorPanel
    from dlstudio.qt.panels.editing.summary import SummaryPanel

    dark = QPalette()
    for role, color in ((QPalette.ColorRole.Window, "#2b2b2b"), (QPalette.ColorRole.WindowText, "#e8e8e8"),
                        (QPalette.ColorRole.Base, "#1e1e1e"), (QPalette.ColorRole.Text, "#e8e8e8"),
                        (QPalette.ColorRole.PlaceholderText, "#9a9a9a")):
        dark.setColor(role, QColor(color))
    old = QApplication.palette()
    QApplication.setPalette(dark)
    try:
        insp = InspectorPanel(doc)
        qtbot.addWidget(insp)
        insp.set_node("dense")
        assert insp.help_label.foregroundRole() == QPalette.ColorRole.PlaceholderText
        _type_into(qtbot, insp.name_edit, "conv")  # taken: the error uses the dark-palette red
        assert QColor("#ff6b6b").name() in insp.name_error.styleSheet()
        summ = SummaryPanel(doc)
        qtbot.addWidget(summ)
        assert summ.node_ids()
    finally:
        QApplication.setPalette(old)


def test_parse_values():
    from dlstudio.catalog import ParamSpec
    from dlstudio.qt.panels.editing.param_form import ParseError, format_value, parse_value, same_value

    ints = ParamSpec("k", "ints", default=3, min=1)
    assert parse_value(ints, "3") == 3
    assert parse_value(ints, " (3,3) ") == [3, 3]
    assert parse_value(ints, "3x3") == [3, 3]
    with pytest.raises(ParseError):
        parse_value(ints, "3.5")
    with pytest.raises(ParseError):
        parse_value(ints, "")
    flt = ParamSpec("lr", "float", default=0.001)
    assert parse_value(flt, "1e-5") == pytest.approx(1e-5)
    assert parse_value(flt, "1/255") == pytest.approx(1 / 255)
    assert format_value("float", 1e-5) == "1e-05"
    opt = ParamSpec("w", "floats", optional=True)
    assert parse_value(opt, "") is None and parse_value(opt, "-0.1, 0.2") == [-0.1, 0.2]
    shape = ParamSpec("shape", "shape", optional=True)
    assert parse_value(shape, "None, 16") == [None, 16]
    assert format_value("shape", [None, 16]) == "None, 16"
    js = ParamSpec("axes", "json", default=-1)
    assert parse_value(js, "[1, 2]") == [1, 2]
    with pytest.raises(ParseError, match="JSON"):
        parse_value(js, "[1, 2")
    assert same_value(3, [3, 3]) and not same_value(3, [3, 5]) and not same_value(True, 1)


def test_inspector_keeps_text_being_typed(qtbot, inspector, doc):
    inspector.set_node("conv")
    edit = inspector.editor("kernel_size")
    edit.setFocus()
    edit.selectAll()
    qtbot.keyClicks(edit, "7, 7")  # no Enter yet
    doc.push(SetParamCommand(doc.graph, "conv", "filters", 9))  # an edit from elsewhere
    assert inspector.editor("filters").value() == 9
    assert edit.text() == "7, 7" and edit.hasFocus()
    qtbot.keyClick(edit, Qt.Key.Key_Escape)  # Escape reverts
    assert edit.text() == "3"


def test_inspector_reset_json_and_optional_int(qtbot, inspector, doc):
    stack = doc.undo_stack
    inspector.set_node("dense")
    inspector.field("units").reset_requested.emit()
    assert doc.graph.node("dense").params["units"] == 32
    assert not inspector.field("units").is_modified()

    dot = doc.graph.add_node("Dot", {}, name="dot", id="dot")
    inspector.set_node(dot.id)
    axes = inspector.editor("axes")
    assert axes.text() == "-1"
    _type_into(qtbot, axes, "[1, 1]")
    assert dot.params["axes"] == [1, 1]
    n = stack.count()
    _type_into(qtbot, axes, "[1,")
    assert stack.count() == n and "JSON" in inspector.field("axes").error

    mha = doc.graph.add_node("MultiHeadAttention", {}, name="mha", id="mha")
    inspector.set_node(mha.id)
    value_dim = inspector.editor("value_dim")
    assert value_dim.text() == "(none)"
    value_dim.setValue(8)
    assert mha.params["value_dim"] == 8
    value_dim.setValue(value_dim.minimum())
    assert mha.params["value_dim"] is None


def test_inspector_loading_state(qtbot, doc, monkeypatch):
    from dlstudio.qt.panels.editing import inspector as inspector_mod

    monkeypatch.setattr(inspector_mod, "catalog_ready", lambda: False)
    panel = inspector_mod.InspectorPanel(doc)
    qtbot.addWidget(panel)
    panel.set_node("dense")
    assert "Loading layers" in panel._message.text()
    monkeypatch.setattr(inspector_mod, "catalog_ready", lambda: True)
    panel._on_ready()
    assert panel.type_label.text() == "Dense"


def test_deleted_panels_ignore_later_changes(qtbot, doc):
    from PySide6.QtCore import QCoreApplication, QEvent

    from dlstudio.qt.panels.editing.inspector import InspectorPanel
    from dlstudio.qt.panels.editing.problems import ProblemsPanel
    from dlstudio.qt.panels.editing.summary import SummaryPanel

    panels = [InspectorPanel(doc), ProblemsPanel(doc), SummaryPanel(doc)]
    panels[0].set_node("dense")
    for p in panels:
        p.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    doc.push(SetParamCommand(doc.graph, "dense", "units", 5))
    doc.graph.rename("dense", "renamed")
    doc.analyze_now()
    doc.graph.remove_node("dense")
    doc.analyze_now()


def test_palette_search_ranks_name_matches_first_and_restores_the_order(qtbot, keras_loaded):
    """Typing "add": Add (the name itself) comes first, before layers that only mention
    "add" in their description; clearing the search brings back the catalog's order."""
    from dlstudio.qt.panels.editing.palette import PalettePanel

    panel = PalettePanel()
    qtbot.addWidget(panel)
    before = panel.visible_types()
    panel.set_filter("add")
    shown = panel.visible_types()
    assert shown[0] == "Add" and panel.tree.currentItem().text(0) == "Add"
    panel.set_filter("dense")
    assert panel.visible_types()[0] == "Dense"
    panel.set_filter("conv2d")
    assert panel.visible_types()[0] == "Conv2D"
    panel.search.clear()
    assert panel.visible_types() == before


def test_the_palette_does_not_wait_for_keras(tmp_path, keras_loaded):
    """The palette is built without importing Keras (a fresh process: Keras is loaded here): on
    the very first launch it says it is loading and reads the blocks once the catalog comes with
    Keras; on any later launch the catalog's disk cache fills layers and blocks at once."""
    import os
    import subprocess
    import sys

    from dlstudio.catalog import catalog, disk

    code = ("import sys\nfrom PySide6.QtWidgets import QApplication\napp = QApplication([])\n"
            "from dlstudio.qt.panels.editing.palette import PalettePanel\np = PalettePanel()\n"
            "print('keras' in sys.modules, 'tensorflow' in sys.modules, p.is_loading(), p.blocks.item(0).text())")

    def launch(cache):
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen", "DLSTUDIO_CONFIG_DIR": str(tmp_path),
                                   "DLSTUDIO_CACHE_DIR": str(cache)})
        return done.stdout.split("\n")[-2] if done.stdout else done.stderr[-1000:]

    assert launch(tmp_path / "first") == "False False True Loading blocks…"
    assert disk.catalog_file().is_file() or disk.save(catalog())
    assert launch(disk.catalog_file().parent) == "False False False Inception module"
