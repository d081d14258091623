"""Context menus and direct manipulation on the canvas, from a user's steps: right-click
the canvas, a layer, a connection or a port and pick an entry; drop a wire on a taken
input; see why a connection was refused beside the cursor; an empty canvas says what to do."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QInputDialog

from canvas_actions import menu_action, right_click
from dlstudio.project import new_project
from dlstudio.qt.document import Document
from dlstudio.qt.editor.scene import GraphScene
from dlstudio.qt.editor.view import GraphView


pytestmark = pytest.mark.usefixtures("isolated_editor")


def nid(doc, name):
    return doc.graph.node_by_name(name).id


def centre(scene, doc, name):
    return scene.node_items[nid(doc, name)].sceneBoundingRect().center()


def edge_point(scene, doc, src, dst):
    edge = next(e for e in doc.graph.edges if e.src == nid(doc, src) and e.dst == nid(doc, dst))
    path = scene.edge_items[edge.id].path()
    return scene.edge_items[edge.id].mapToScene(path.pointAtPercent(0.5))


def chain(doc):
    """The layer names from the Input down, following first outgoing edges."""
    g = doc.graph
    node = g.node_by_name("image")
    names = [node.name]
    while g.out_edges(node.id):
        node = g.node(g.out_edges(node.id)[0].dst)
        names.append(node.name)
    return names


def test_canvas_menu_adds_here_pastes_here_selects_lays_out_and_fits(chain_editor, qtbot):
    doc, scene, view = chain_editor
    empty = QPointF(400, 100)
    menu = right_click(view, empty)
    assert [a.text() for a in menu.actions() if not a.isSeparator()] == [
        "Add Layer Here…", "Paste", "Select All", "Auto Layout", "Fit to View"]
    QGuiApplication.clipboard().clear()
    menu = right_click(view, empty)
    assert not menu_action(menu, "Paste").isEnabled()  # nothing copied yet

    menu_action(menu, "Add Layer Here…").trigger()
    popup = view._popup
    popup.search.setText("dropout")
    popup.accept_current()
    [drop] = [n for n in doc.graph.nodes if n.type == "Dropout"]
    assert scene.node_items[drop.id].sceneBoundingRect().contains(empty)  # where the click was
    doc.undo_stack.undo()
    assert not any(n.type == "Dropout" for n in doc.graph.nodes)

    scene.select_nodes([nid(doc, "conv")], center=False)
    view.copy_selection()
    target = QPointF(600, 500)
    menu_action(right_click(view, target), "Paste").trigger()
    pasted = [n for n in doc.graph.nodes if n.type == "Conv2D" and n.name != "conv"]
    assert len(pasted) == 1 and tuple(pasted[0].pos) == (target.x(), target.y())
    assert scene.selected_node_ids() == [pasted[0].id]

    menu_action(right_click(view, QPointF(-400, -300)), "Select All").trigger()
    assert len(scene.selected_node_ids()) == len(doc.graph.nodes) == 5
    doc.graph.move(nid(doc, "out"), 2000, 2000)
    menu_action(right_click(view, QPointF(-400, -300)), "Auto Layout").trigger()
    assert doc.undo_stack.undoText() == "Auto layout" and doc.graph.node(nid(doc, "out")).pos[1] < 1000
    view.set_zoom(3.0)
    menu_action(right_click(view, view.mapToScene(QPoint(5, 5))), "Fit to View").trigger()
    visible = view.mapToScene(view.viewport().rect()).boundingRect()
    assert all(visible.contains(item.sceneBoundingRect()) for item in scene.node_items.values())


def test_node_menu_renames_duplicates_copies_deletes_and_shows_in_insight(chain_editor, qtbot, monkeypatch):
    doc, scene, view = chain_editor
    conv = nid(doc, "conv")
    menu = right_click(view, centre(scene, doc, "conv"))
    assert scene.selected_node_ids() == [conv]  # a right-click selects the layer
    texts = [a.text() for a in menu.actions() if not a.isSeparator()]
    assert texts == ["Rename…", "Copy", "Duplicate", "Delete", "Insert Layer Before", "Insert Layer After",
                     "Disconnect All", "Group into Block", "Show in Insight"]

    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("features", True))
    menu_action(menu, "Rename…").trigger()
    assert doc.graph.node(conv).name == "features"
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("flat", True))  # taken
    messages = []
    scene.message.connect(messages.append)
    menu_action(right_click(view, centre(scene, doc, "features")), "Rename…").trigger()
    assert doc.graph.node(conv).name == "features" and "already called 'flat'" in messages[-1]
    monkeypatch.setattr(QInputDialog, "getText", lambda *a, **k: ("two words", True))
    menu_action(right_click(view, centre(scene, doc, "features")), "Rename…").trigger()
    assert doc.graph.node(conv).name == "features" and "cannot name a Keras layer" in messages[-1]
    doc.undo_stack.undo()
    assert doc.graph.node(conv).name == "conv"

    menu_action(right_click(view, centre(scene, doc, "conv")), "Duplicate").trigger()
    copies = [n for n in doc.graph.nodes if n.type == "Conv2D"]
    assert len(copies) == 2 and doc.undo_stack.undoText() == "Duplicate"
    doc.undo_stack.undo()

    QGuiApplication.clipboard().clear()
    menu_action(right_click(view, centre(scene, doc, "conv")), "Copy").trigger()
    assert '"Conv2D"' in QGuiApplication.clipboard().text()

    # with two layers selected, Delete removes both in one step
    scene.select_nodes([conv, nid(doc, "flat")], center=False)
    menu = right_click(view, centre(scene, doc, "flat"))
    assert set(scene.selected_node_ids()) == {conv, nid(doc, "flat")}  # the selection stays
    assert menu_action(menu, "Delete 2 Layers") and not menu_action(menu, "Rename…").isEnabled()
    menu_action(menu, "Delete 2 Layers").trigger()
    assert [n.name for n in doc.graph.nodes] == ["image", "out"]
    doc.undo_stack.undo()
    assert chain(doc) == ["image", "conv", "flat", "out"]

    asked = []
    view.insight_requested.connect(asked.append)
    menu_action(right_click(view, centre(scene, doc, "flat")), "Show in Insight").trigger()
    assert asked == [nid(doc, "flat")]


def test_insert_before_and_after_offer_layers_that_fit_with_their_shapes(chain_editor, qtbot):
    doc, scene, view = chain_editor
    menu = right_click(view, centre(scene, doc, "conv"))
    after = menu_action(menu, "Insert Layer After").menu()
    entries = [a.text() for a in after.actions() if not a.isSeparator()]
    # conv gives (batch, 26, 26, 8): image layers, each with the shape it would give
    assert "MaxPooling2D  →  (batch, 13, 13, 8)" in entries and entries[-1] == "Other…"
    assert not any(e.startswith(("Dense", "LSTM")) for e in entries)
    menu_action(after, "MaxPooling2D").trigger()
    assert chain(doc) == ["image", "conv", "max_pooling2d_1", "flat", "out"]
    assert doc.undo_stack.undoText() == "Insert MaxPooling2D"
    assert scene.selected_node_ids() == [nid(doc, "max_pooling2d_1")]
    doc.analyze_now()
    assert doc.graph.annotations[nid(doc, "flat")].output_shape == (None, 13 * 13 * 8)
    doc.undo_stack.undo()
    assert chain(doc) == ["image", "conv", "flat", "out"] and len(doc.graph.edges) == 3

    # before the Dense: a vector layer goes between flat and out
    before = menu_action(right_click(view, centre(scene, doc, "out")), "Insert Layer Before").menu()
    assert not any(a.text().startswith("Conv2D") for a in before.actions())
    menu_action(before, "Dropout").trigger()
    assert chain(doc) == ["image", "conv", "flat", "dropout_1", "out"]
    # an Input has nothing before it
    assert not menu_action(right_click(view, centre(scene, doc, "image")), "Insert Layer Before").isEnabled()
    # after the last layer: a new last layer
    menu_action(right_click(view, centre(scene, doc, "out")), "Insert Layer After", "Dense").trigger()
    assert chain(doc)[-1] == "dense_1" and doc.graph.node(nid(doc, "dense_1")).pos[1] > 450

    # "Other…" opens the searchable list and inserts what is chosen
    other = menu_action(right_click(view, centre(scene, doc, "conv")), "Insert Layer After", "Other…")
    other.trigger()
    view._popup.search.setText("BatchNormalization")
    view._popup.accept_current()
    assert chain(doc)[:3] == ["image", "conv", "batch_normalization_1"]


def test_edge_menu_inserts_on_the_connection_and_deletes_it(chain_editor, qtbot):
    doc, scene, view = chain_editor
    menu = right_click(view, edge_point(scene, doc, "conv", "flat"))
    assert [a.text() for a in menu.actions()] == ["Insert Layer", "Delete Connection"]
    assert len(scene.selected_edge_ids()) == 1  # the connection is selected
    menu_action(menu, "Insert Layer", "BatchNormalization").trigger()
    assert chain(doc) == ["image", "conv", "batch_normalization_1", "flat", "out"]
    doc.undo_stack.undo()
    menu_action(right_click(view, edge_point(scene, doc, "flat", "out")), "Delete Connection").trigger()
    assert doc.graph.out_edges(nid(doc, "flat")) == []
    doc.undo_stack.undo()
    assert chain(doc) == ["image", "conv", "flat", "out"]


def test_port_menus_disconnect_and_disconnect_all(chain_editor, qtbot):
    doc, scene, view = chain_editor
    flat = scene.node_items[nid(doc, "flat")]
    menu = right_click(view, flat.in_ports[0].scenePos())
    assert [a.text() for a in menu.actions()] == ["Disconnect from conv"]
    menu.actions()[0].trigger()
    assert doc.graph.in_edges(nid(doc, "flat")) == []
    doc.undo_stack.undo()
    # a second branch from conv: its output port has two connections
    doc.graph.add_node("GlobalAveragePooling2D", {}, name="gap", pos=(300, 300))
    doc.graph.connect(nid(doc, "conv"), nid(doc, "gap"))
    conv = scene.node_items[nid(doc, "conv")]
    menu = right_click(view, conv.out_ports[0].scenePos())
    assert [a.text() for a in menu.actions()] == ["Disconnect 2 Connections"]
    menu.actions()[0].trigger()
    assert doc.graph.out_edges(nid(doc, "conv")) == []
    menu = right_click(view, conv.out_ports[0].scenePos())
    assert not menu.actions()[0].isEnabled()
    menu_action(right_click(view, centre(scene, doc, "flat")), "Disconnect All").trigger()
    assert doc.graph.out_edges(nid(doc, "flat")) == [] and doc.undo_stack.undoText() == "Disconnect flat"


def drag_wire(qtbot, view, a: QPointF, b: QPointF) -> None:
    vp = view.viewport()
    start, end = view.mapFromScene(a), view.mapFromScene(b)
    QTest.mousePress(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, start)
    QTest.mouseMove(vp, (start + end) / 2)
    QTest.mouseMove(vp, end)
    QTest.mouseRelease(vp, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, end)


def test_dropping_a_wire_on_a_taken_input_replaces_the_edge_in_one_step(chain_editor, qtbot):
    doc, scene, view = chain_editor
    g = doc.graph
    pool = g.add_node("GlobalAveragePooling2D", {}, name="gap", pos=(300, 300))
    g.connect(nid(doc, "conv"), pool.id)
    doc.analyze_now()
    steps = doc.undo_stack.count()
    gap, out = scene.node_items[pool.id], scene.node_items[nid(doc, "out")]
    drag_wire(qtbot, view, gap.out_ports[0].scenePos(), out.in_ports[0].scenePos())
    assert [e.src for e in g.in_edges(nid(doc, "out"))] == [pool.id]  # gap now feeds out, flat not
    assert doc.undo_stack.count() == steps + 1 and doc.undo_stack.undoText() == "Reconnect out"
    doc.undo_stack.undo()
    assert [e.src for e in g.in_edges(nid(doc, "out"))] == [nid(doc, "flat")]


def test_a_refused_connection_says_why_beside_the_cursor(chain_editor, qtbot):
    doc, scene, view = chain_editor
    conv, image = scene.node_items[nid(doc, "conv")], scene.node_items[nid(doc, "image")]
    assert not view.refusal.isVisible()
    drag_wire(qtbot, view, conv.out_ports[0].scenePos(), image.sceneBoundingRect().center())
    assert not view.refusal.isVisible()  # dropped on no port: nothing to refuse
    out = scene.node_items[nid(doc, "out")]
    drag_wire(qtbot, view, out.out_ports[0].scenePos(), conv.in_ports[0].scenePos())
    assert view.refusal.isVisible() and "cycle" in view.refusal.text()
    where = view.mapFromScene(conv.in_ports[0].scenePos())
    assert (view.refusal.geometry().topLeft() - where).manhattanLength() < 60  # beside the cursor
    assert doc.graph.in_edges(nid(doc, "conv"))[0].src == nid(doc, "image")  # nothing changed
    qtbot.waitUntil(lambda: not view.refusal.isVisible(), timeout=8000)  # it goes after a few seconds


def test_an_empty_canvas_says_how_to_start(qtbot):
    doc = Document(new_project("empty"))
    scene = GraphScene(doc)
    view = GraphView(scene)
    qtbot.addWidget(view)
    view.resize(700, 500)
    view.show()

    def ink() -> int:
        image = view.viewport().grab().toImage()
        background = image.pixelColor(5, 5)
        return sum(image.pixelColor(x, y) != background for x in range(150, 550, 3) for y in range(200, 300, 3))

    empty = ink()
    doc.graph.add_node("Dense", {"units": 3}, name="d", pos=(5000, 5000))  # a layer, out of sight
    view.viewport().update()
    assert empty > ink() + 50  # the hint was drawn in the middle, and goes with the first layer
