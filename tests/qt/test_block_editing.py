"""Blocks on the canvas, from a user's steps: group layers (Ctrl+G), see one node with the
block's totals and ports, expand and collapse it, drag it, ungroup it, undo each step;
drop a built-in block from the palette, set its exposed parameter, save it to the library
and add it again with fresh names."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog

from canvas_actions import menu_action, right_click
from dlstudio.project.block_library import library_blocks
from dlstudio.qt.editor.block_commands import SetBlockParamCommand
from dlstudio.qt.editor.block_items import BlockItem


pytestmark = pytest.mark.usefixtures("isolated_editor")


def nid(doc, name):
    return doc.graph.node_by_name(name).id


def click(view, scene_pos, double=False):
    at = view.mapFromScene(scene_pos)
    if double:
        QTest.mouseDClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)
    else:
        QTest.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, at)


def test_group_collapse_expand_ungroup_and_undo(chain_editor, qtbot):
    doc, scene, view = chain_editor
    g = doc.graph
    conv, flat = nid(doc, "conv"), nid(doc, "flat")
    scene.select_nodes([conv, flat], center=False)
    menu = right_click(view, scene.node_items[conv].sceneBoundingRect().center())
    menu_action(menu, "Group 2 Layers into Block").trigger()
    [block] = g.blocks
    assert block.nodes == [conv, flat] and block.collapsed and block.name == "block_1"
    item = scene.block_items[block.id]
    assert item.isSelected() and not scene.node_items[conv].isVisible() and not scene.node_items[flat].isVisible()
    doc.analyze_now()
    # one node with the totals of its layers and a port each way
    assert item.summary.params == g.annotations[conv].params and item.summary.output_shapes == ((None, 26 * 26 * 8),)
    assert [p.target for p in item.in_ports] == [(conv, 0)] and [p.target for p in item.out_ports] == [(flat, 0)]
    inner = next(e for e in g.edges if e.src == conv)
    assert not scene.edge_items[inner.id].isVisible()  # the edge inside is hidden
    into = next(e for e in g.edges if e.dst == conv)
    assert scene.edge_items[into.id].path().pointAtPercent(1) == item.in_ports[0].scenePos()
    assert scene.selected_node_ids() == [conv, flat]  # the block stands for its layers

    g.move(conv, 0, 150), g.move(flat, 0, 300)  # two layers tall: expanding needs room
    collapsed_at = {n.name: n.pos for n in g.nodes}
    click(view, item.sceneBoundingRect().center(), double=True)  # expand in place
    assert not g.block(block.id).collapsed and block.id in scene.frame_items
    rects = [i.sceneBoundingRect().adjusted(4, 4, -16, -8) for i in scene.node_items.values()]
    assert not any(a.intersects(b) for i, a in enumerate(rects) for b in rects[i + 1:])  # the layers below moved
    assert g.node(nid(doc, "out")).pos[1] > collapsed_at["out"][1]
    assert scene.node_items[conv].isVisible() and scene.edge_items[inner.id].isVisible()
    frame = scene.frame_items[block.id]
    assert frame.rect.contains(scene.node_items[flat].sceneBoundingRect())
    click(view, frame.header_rect().center())  # the header collapses it
    assert g.block(block.id).collapsed and isinstance(scene.block_items[block.id], BlockItem)
    assert {n.name: n.pos for n in g.nodes if n.name in ("image", "out")} == {
        k: v for k, v in collapsed_at.items() if k in ("image", "out")}  # and gives the room back

    view.ungroup(block.id)
    assert g.blocks == [] and scene.node_items[conv].isVisible() and set(scene.selected_node_ids()) == {conv, flat}
    for text in ("Ungroup block_1", "Collapse block_1", "Expand block_1", "Group 2 layers as block_1"):
        assert doc.undo_stack.undoText() == text
        doc.undo_stack.undo()
    assert g.blocks == [] and not scene.block_items and not scene.frame_items
    doc.undo_stack.redo()
    assert [b.nodes for b in g.blocks] == [[conv, flat]]


def test_dragging_a_block_moves_its_layers_and_delete_removes_them(chain_editor, qtbot):
    doc, scene, view = chain_editor
    g = doc.graph
    conv, flat = nid(doc, "conv"), nid(doc, "flat")
    scene.select_nodes([conv, flat], center=False)
    bid = view.group_selection("features")
    item = scene.block_items[bid]
    before = {n: g.node(n).pos for n in (conv, flat)}
    start = view.mapFromScene(item.sceneBoundingRect().center())
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    for step in range(1, 6):
        QTest.mouseMove(view.viewport(), start + QPointF(20 * step, 0).toPoint())
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       start + QPointF(100, 0).toPoint())
    moved = {n: g.node(n).pos for n in (conv, flat)}
    dx = moved[conv][0] - before[conv][0]
    assert dx > 50 and moved[flat][0] - before[flat][0] == dx and doc.undo_stack.undoText() == "Move 2 nodes"
    doc.undo_stack.undo()
    assert {n: g.node(n).pos for n in (conv, flat)} == before and item.pos() == item.home()

    item.setSelected(True)
    copies = view.duplicate_selection()  # a block copied whole comes with its block
    assert len(copies) == 2 and len(g.blocks) == 2 and set(g.blocks[1].nodes) == set(copies)
    assert g.blocks[1].name == "features" and g.blocks[1].id != bid
    doc.undo_stack.undo()
    assert len(g.blocks) == 1
    scene.clearSelection()
    scene.block_items[bid].setSelected(True)
    scene.delete_selection()
    assert [n.name for n in g.nodes] == ["image", "out"] and g.blocks == []
    doc.undo_stack.undo()
    assert [b.name for b in g.blocks] == ["features"] and g.block(bid).nodes == [conv, flat]


def test_a_built_in_block_from_the_palette_wires_exposes_its_settings_and_goes_to_the_library(
        window, qtbot, tmp_path, monkeypatch):
    doc = window.document
    g = doc.graph
    qtbot.waitUntil(lambda: doc.data_description() is not None)  # digits: 8x8x1 images of 10 classes
    inp = window.view.add_layer("Input")
    assert g.node(inp).params["shape"] == [8, 8, 1]
    names = [window.palette_panel.blocks.item(i).text() for i in range(window.palette_panel.blocks.count())]
    assert "Residual block" in names and "Inception module" in names and "Transformer encoder" in names
    window.palette_panel.set_filter("residual")
    visible = [window.palette_panel.blocks.item(i).text() for i in range(window.palette_panel.blocks.count())
               if not window.palette_panel.blocks.item(i).isHidden()]
    assert {"Residual block", "Residual block (projection)"} <= set(visible) and "VGG block" not in visible
    window.palette_panel.set_filter("")
    row = names.index("Residual block")
    window.palette_panel.blocks.itemDoubleClicked.emit(window.palette_panel.blocks.item(row))
    [block] = g.blocks
    assert len(block.nodes) == 8 and block.collapsed and block.source == "builtin:residual_block"
    item = window.scene.block_items[block.id]
    assert len(item.in_ports) == 1 and len(item.out_ports) == 1
    target = item.in_ports[0].target
    assert window.scene.try_connect(inp, 0, target.node, target.port)
    out = item.out_ports[0].target
    gap = window.view.insert_layer("GlobalAveragePooling2D", out.node, out.port)
    head = window.view.insert_layer("Dense", gap)
    doc.push(__import__("dlstudio.qt.editor.commands", fromlist=["x"]).SetParamCommand(g, head, "units", 10))
    doc.push(__import__("dlstudio.qt.editor.commands", fromlist=["x"]).SetParamCommand(
        g, head, "activation", "softmax"))
    # its exposed setting drives both convolutions
    doc.push(SetBlockParamCommand(g, block.id, "filters", 1))
    convs = [g.node(n) for n in block.nodes if g.node(n).type == "Conv2D"]
    assert [c.params["filters"] for c in convs] == [1, 1]
    doc.analyze_now()
    item = window.scene.block_items[block.id]
    assert item.summary.errors == 0 and item.summary.output_shapes == ((None, 8, 8, 1),)
    assert not [p for p in doc.analysis.problems if p.is_error]
    assert "filters 1" in item.params_text()
    doc.undo_stack.undo()
    assert [c.params["filters"] for c in convs] == [64, 64]
    doc.analyze_now()
    assert window.scene.block_items[block.id].summary.output_shapes == ((None, 8, 8, 64),)

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("My residual", True))
    menu = right_click(window.view, window.scene.block_items[block.id].sceneBoundingRect().center())
    assert [a.text() for a in menu.actions() if not a.isSeparator()][:3] == ["Expand", "Rename Block…", "Ungroup"]
    menu_action(menu, "Save to Block Library…").trigger()
    mine = [b for b in library_blocks(tmp_path / "config" / "blocks")[0] if not b.builtin]
    assert [b.name for b in mine] == ["My residual"] and len(mine[0].fragment["nodes"]) == 8
    assert "My residual  (mine)" in [window.palette_panel.blocks.item(i).text()
                                      for i in range(window.palette_panel.blocks.count())]
    second = window.add_block(mine[0].key)
    assert len(g.blocks) == 2 and second != block.id
    assert len({n.name for n in g.nodes}) == len(g.nodes) == 19  # fresh names for the second copy
    doc.undo_stack.undo()
    assert len(g.blocks) == 1 and len(g.nodes) == 11


def test_ctrl_g_and_ctrl_shift_g_in_the_window(window, qtbot):
    doc = window.document
    a = window.view.add_layer("Dense")
    b = window.view.add_layer("Dropout", connect_from=a)
    window.scene.select_nodes([a, b], center=False)
    window.act_group.trigger()
    assert len(doc.graph.blocks) == 1
    window.act_ungroup.trigger()
    assert doc.graph.blocks == [] and window.act_group.shortcut().toString() == "Ctrl+G"
    assert window.act_ungroup.shortcut().toString() == "Ctrl+Shift+G"


def test_the_inspector_edits_a_blocks_exposed_settings(window, qtbot):
    doc = window.document
    g = doc.graph
    a = window.view.add_layer("Dense")
    b = window.view.add_layer("Dense", connect_from=a)
    window.scene.select_nodes([a, b], center=False)
    bid = window.view.group_selection("mlp")
    assert window.inspector.block_id == bid  # selecting the collapsed block shows its page
    form = window.inspector.block_form
    assert form.name_edit.text() == "mlp" and form.fields == {}
    # expose a's units, then b's units under the same name: one setting drives both
    form.expose.activated.emit(form.expose.findText(f"{g.node(a).name}.units"))
    form = window.inspector.block_form
    form.expose.activated.emit(form.expose.findText(f"{g.node(b).name}.units"))
    assert g.block(bid).params == {"units": [(a, "units"), (b, "units")]}
    form = window.inspector.block_form
    assert set(form.fields) == {"units"}
    form.fields["units"].committed.emit(7)
    assert g.node(a).params["units"] == g.node(b).params["units"] == 7
    assert doc.undo_stack.undoText() == "Set mlp.units"
    doc.undo_stack.undo()
    assert g.node(a).params.get("units") != 7
    form = window.inspector.block_form
    form.name_edit.setText("head")
    form.name_edit.editingFinished.emit()
    assert g.block(bid).name == "head"
    window.inspector.block_form.toggle.click()  # Expand, done by the canvas (it makes room)
    assert not g.block(bid).collapsed and bid in window.scene.frame_items
    assert doc.undo_stack.undoText() == "Expand head"
    window.inspector.set_block(bid)
    window.inspector.block_form.ungroup.click()
    assert g.blocks == [] and window.inspector.block_id is None


def test_a_block_fed_twice_by_one_tensor_has_one_input_port(chain_editor, qtbot):
    """A residual unit reads its input on two paths: collapsed, that is one port, and a wire
    dropped on it feeds both paths (one undo step)."""
    doc, scene, view = chain_editor
    g = doc.graph
    conv = nid(doc, "conv")
    skip = g.add_node("Conv2D", {"filters": 8, "kernel_size": 1}, name="skip", pos=(250, 150))
    g.connect(nid(doc, "image"), skip.id)
    add = g.add_node("Add", {}, name="add", pos=(0, 300))
    g.connect(conv, add.id, 0), g.connect(skip.id, add.id, 1)
    g.remove_edge(next(e.id for e in g.edges if e.src == conv and e.dst == nid(doc, "flat")))
    g.connect(add.id, nid(doc, "flat"))
    doc.analyze_now()
    scene.select_nodes([conv, skip.id, add.id], center=False)
    bid = view.group_selection("unit")
    item = scene.block_items[bid]
    assert len(item.in_ports) == 1 and {t.node for t in item.in_ports[0].targets} == {conv, skip.id}
    other = g.add_node("Input", {"shape": [28, 28, 1]}, name="other", pos=(-300, -150))
    doc.analyze_now()
    source = scene.node_items[other.id].out_ports[0].scenePos()
    QTest.mousePress(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                     view.mapFromScene(source))
    QTest.mouseMove(view.viewport(), view.mapFromScene(item.in_ports[0].scenePos()))
    QTest.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier,
                       view.mapFromScene(item.in_ports[0].scenePos()))
    assert {e.src for e in g.in_edges(conv) + g.in_edges(skip.id)} == {other.id}
    assert doc.undo_stack.undoText() == "Connect other to 2 layers"
    doc.undo_stack.undo()
    assert {e.src for e in g.in_edges(conv) + g.in_edges(skip.id)} == {nid(doc, "image")}
