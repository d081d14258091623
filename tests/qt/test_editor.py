"""The node editor canvas: items mirror the graph, gestures become undoable
commands, invalid connections are refused with the reason."""

from __future__ import annotations

import json

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt
from PySide6.QtGui import QDropEvent

from dlstudio.project import new_project
from dlstudio.qt.document import Document
from dlstudio.qt.editor.commands import (
    AddNodeCommand, MoveNodesCommand, PasteCommand, RemoveItemsCommand, RenameCommand,
    SetParamCommand, fragment_of,
)
from dlstudio.qt.editor.scene import GraphScene
from dlstudio.qt.editor.view import LAYER_MIME, GraphView


pytestmark = pytest.mark.usefixtures("isolated_editor")


@pytest.fixture
def editor(qtbot):
    project = new_project("test")
    g = project.graph
    inp = g.add_node("Input", {"shape": [28, 28, 1]}, name="image", pos=(0, 0))
    conv = g.add_node("Conv2D", {"filters": 32, "kernel_size": 3}, name="conv", pos=(0, 150))
    g.connect(inp.id, conv.id)
    doc = Document(project)
    scene = GraphScene(doc)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(800, 600)
    view.show()
    doc.analyze_now()
    return doc, scene, view


def ids(doc, name):
    return doc.graph.node_by_name(name).id


def test_items_mirror_the_graph_and_show_shapes(editor):
    doc, scene, _ = editor
    assert set(scene.node_items) == {n.id for n in doc.graph.nodes}
    assert len(scene.edge_items) == 1
    edge_item = next(iter(scene.edge_items.values()))
    assert edge_item.label == "(batch, 28, 28, 1)"
    assert doc.graph.annotations[ids(doc, "conv")].output_shape == (None, 26, 26, 32)


def test_drop_from_palette_creates_a_node_at_the_drop_point(editor, qtbot):
    doc, scene, view = editor
    data = QMimeData()
    data.setData(LAYER_MIME, b"Flatten")
    point = QPointF(400, 300)
    event = QDropEvent(point, Qt.DropAction.CopyAction, data, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    view.dropEvent(event)
    node = next(n for n in doc.graph.nodes if n.type == "Flatten")
    assert node.id in scene.node_items
    centre = view.mapToScene(point.toPoint())
    item = scene.node_items[node.id]
    assert item.sceneBoundingRect().contains(centre)
    doc.undo_stack.undo()
    assert not any(n.type == "Flatten" for n in doc.graph.nodes)


def test_connect_and_refuse_with_reason(editor, qtbot):
    doc, scene, view = editor
    dense = view.add_layer("Dense", QPointF(0, 300))
    messages = []
    scene.message.connect(messages.append)
    # rank mismatch: Dense expects (batch, features)
    assert not scene.try_connect(ids(doc, "conv"), 0, dense, 0)
    assert "rank mismatch" in messages[-1] and "Flatten" in messages[-1]
    flat = view.add_layer("Flatten", QPointF(0, 250))
    assert scene.try_connect(ids(doc, "conv"), 0, flat, 0)
    assert scene.try_connect(flat, 0, dense, 0)
    doc.analyze_now()
    assert doc.graph.annotations[dense].output_shape == (None, 32)
    # input already taken
    assert not scene.try_connect(ids(doc, "image"), 0, dense, 0)
    assert "already taken" in messages[-1]
    # an Input takes no incoming edge
    loose = view.add_layer("Flatten")
    assert not scene.try_connect(loose, 0, ids(doc, "image"), 0)
    assert "Input 'image' takes no incoming edge" in messages[-1]


def test_cycle_refused(editor):
    doc, scene, view = editor
    add = view.add_layer("Add")
    act = view.add_layer("Activation")
    assert scene.try_connect(ids(doc, "conv"), 0, add, 0)
    assert scene.try_connect(add, 0, act, 0)
    messages = []
    scene.message.connect(messages.append)
    assert not scene.try_connect(act, 0, add, 1)  # the free second input of Add
    assert "cycle" in messages[-1]
    assert not any(e.src == act and e.dst == add for e in doc.graph.edges)


def test_param_edit_updates_downstream_shapes_and_undoes(editor, qtbot):
    doc, scene, _ = editor
    conv = ids(doc, "conv")
    doc.push(SetParamCommand(doc.graph, conv, "filters", 8))
    qtbot.waitUntil(lambda: doc.graph.annotations[conv].output_shape == (None, 26, 26, 8))
    doc.undo_stack.undo()
    qtbot.waitUntil(lambda: doc.graph.annotations[conv].output_shape == (None, 26, 26, 32))
    doc.undo_stack.redo()
    assert doc.graph.node(conv).params["filters"] == 8


@pytest.mark.parametrize("kind", ["add", "remove", "connect", "param", "rename", "move", "paste"])
def test_undo_redo_round_trips_every_edit_kind(editor, kind):
    doc, scene, view = editor
    g = doc.graph
    conv = ids(doc, "conv")
    before = json.dumps(g.to_dict(), sort_keys=True)
    commands = {
        "add": lambda: AddNodeCommand(g, "Dense", {"units": 4}, pos=(10, 10)),
        "remove": lambda: RemoveItemsCommand(g, [conv]),
        "connect": lambda: _connect_cmd(doc, view),
        "param": lambda: SetParamCommand(g, conv, "padding", "same"),
        "rename": lambda: RenameCommand(g, conv, "features"),
        "move": lambda: MoveNodesCommand(g, {conv: ((0.0, 150.0), (50.0, 200.0))}),
        "paste": lambda: PasteCommand(g, fragment_of(g, [n.id for n in g.nodes])),
    }
    cmd = commands[kind]()
    if kind == "connect":
        before = json.dumps(g.to_dict(), sort_keys=True)
    doc.push(cmd)
    after = json.dumps(g.to_dict(), sort_keys=True)
    assert after != before
    doc.undo_stack.undo()
    assert json.dumps(g.to_dict(), sort_keys=True) == before
    assert set(scene.node_items) == {n.id for n in g.nodes}
    assert set(scene.edge_items) == {e.id for e in g.edges}
    doc.undo_stack.redo()
    assert json.dumps(g.to_dict(), sort_keys=True) == after
    assert set(scene.edge_items) == {e.id for e in g.edges}


def _connect_cmd(doc, view):
    from dlstudio.qt.editor.commands import ConnectCommand

    flat = view.add_layer("Flatten")
    return ConnectCommand(doc.graph, doc.graph.node_by_name("conv").id, 0, flat, 0)


def test_paste_keeps_inner_edges_and_makes_names_unique(editor):
    doc, scene, _ = editor
    g = doc.graph
    fragment = json.loads(json.dumps(fragment_of(g, [n.id for n in g.nodes])))
    cmd = PasteCommand(g, fragment)
    doc.push(cmd)
    assert len(g.nodes) == 4 and len(g.edges) == 2
    names = [n.name for n in g.nodes]
    assert len(set(names)) == 4
    new = [g.node(i) for i in cmd.node_ids]
    assert any(e.src == new[0].id and e.dst == new[1].id for e in g.edges)
    assert new[0].pos == (40.0, 40.0)


def test_delete_selection_removes_nodes_and_their_edges(editor):
    doc, scene, _ = editor
    scene.node_items[ids(doc, "image")].setSelected(True)
    scene.delete_selection()
    assert len(doc.graph.nodes) == 1 and not doc.graph.edges and not scene.edge_items
    doc.undo_stack.undo()
    assert len(doc.graph.edges) == 1 and len(scene.edge_items) == 1


def test_dragging_a_node_is_one_undoable_move(editor, qtbot):
    doc, scene, view = editor
    conv = ids(doc, "conv")
    item = scene.node_items[conv]
    start = view.mapFromScene(item.sceneBoundingRect().center())
    end = start + QPointF(120, 40).toPoint()
    qtbot.mousePress(view.viewport(), Qt.MouseButton.LeftButton, pos=start)
    from PySide6.QtGui import QMouseEvent
    from PySide6.QtCore import QEvent
    from PySide6.QtWidgets import QApplication

    for frac in (0.3, 0.6, 1.0):
        p = start + (end - start) * frac
        ev = QMouseEvent(QEvent.Type.MouseMove, QPointF(p), QPointF(view.viewport().mapToGlobal(p)),
                         Qt.MouseButton.NoButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(view.viewport(), ev)
    qtbot.mouseRelease(view.viewport(), Qt.MouseButton.LeftButton, pos=end)
    x, y = doc.graph.node(conv).pos
    assert (x, y) != (0.0, 150.0)
    assert doc.undo_stack.count() == 1
    doc.undo_stack.undo()
    assert doc.graph.node(conv).pos == (0.0, 150.0)
    assert item.pos() == QPointF(0.0, 150.0)


def test_problem_badge_and_tooltip(editor):
    doc, scene, view = editor
    dense = doc.graph.add_node("Dense", {"units": -1}, name="fc1")
    doc.analyze_now()
    tip = scene.node_items[dense.id].toolTip()
    assert "units" in tip and "must be" in tip


def test_zoom_is_clamped_and_fit_all(editor):
    _, _, view = editor
    view.set_zoom(100)
    assert view.zoom() == pytest.approx(4.0)
    view.set_zoom(0.0001)
    assert view.zoom() == pytest.approx(0.1)
    view.fit_all()
    assert 0.1 <= view.zoom() <= 1.2


def test_quick_add_popup_fuzzy_search_adds_and_connects(editor, qtbot):
    doc, scene, view = editor
    scene.node_items[ids(doc, "conv")].setSelected(True)
    popup = view.open_quick_add()
    qtbot.keyClicks(popup.search, "gap2")
    assert popup.list.currentItem().text() == "GlobalAveragePooling2D"
    qtbot.keyClick(popup.search, Qt.Key.Key_Return)
    gap = next(n for n in doc.graph.nodes if n.type == "GlobalAveragePooling2D")
    assert any(e.src == ids(doc, "conv") and e.dst == gap.id for e in doc.graph.edges)
    doc.undo_stack.undo()  # one step removes node and edge
    assert not any(n.type == "GlobalAveragePooling2D" for n in doc.graph.nodes)


def test_export_png_and_svg(editor, tmp_path):
    from PySide6.QtGui import QImage

    from dlstudio.qt.editor.image_export import export_png, export_svg

    doc, scene, _ = editor
    png = export_png(scene, tmp_path / "g.png")
    image = QImage(str(png))
    assert image.width() > 300 and image.height() > 300
    svg = export_svg(scene, tmp_path / "g.svg").read_text()
    assert "<svg" in svg and "conv" in svg


def test_input_that_does_not_fit_the_dataset_is_a_problem_on_the_input(editor):
    from dlstudio.data import load_dataset

    doc, scene, _ = editor
    doc.set_dataset(load_dataset("digits"))
    analysis = doc.analyze_now()
    image = ids(doc, "image")
    problem = next(p for p in analysis.problems if image in p.node_ids)
    assert "digits gives (batch, 8, 8, 1)" in problem.message and "[8, 8, 1]" in problem.hint
    assert problem in doc.graph.annotations[image].problems
    doc.graph.set_param(image, "shape", [8, 8, 1])
    assert not any(image in p.node_ids for p in doc.analyze_now().problems)
