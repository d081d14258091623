"""The editor does not wait for TensorFlow: with the layer catalog and the shapes of the example
in the disk caches (any launch after the first), the palette, the opened example with its shapes,
parameter counts and problems, and the inspector work while Keras is still loading; a layer never
seen before waits for Keras ("…"), and is filled in when Keras is ready."""

from __future__ import annotations

import pytest
from PySide6.QtCore import Qt

from dlstudio import RESOURCES
from dlstudio.compile.infer import ShapeInference, fmt_shape
from dlstudio.project import load_project

EXAMPLE = RESOURCES / "examples" / "digits_cnn.dlsproj"


@pytest.fixture
def keras_still_loading(monkeypatch, tmp_path):
    """A launch whose Keras import has not finished (it never does until the test says so), with
    the catalog on disk and a shape store that knows digits_cnn (it was opened before)."""
    from dlstudio.compile import shape_store
    from dlstudio.qt import keras_loader

    assert keras_loader.loader().wait(120)  # the test process itself: Keras fills the store below
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("DLSTUDIO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(shape_store, "_store", None)
    store = shape_store.shape_store()
    ShapeInference(store=store).analyze(load_project(EXAMPLE).graph)  # an earlier session
    from dlstudio.catalog import catalog, disk

    disk.save(catalog())
    slow = keras_loader.KerasLoader()
    slow._started = True  # "importing TensorFlow": not ready until finish() below
    monkeypatch.setattr(keras_loader, "_loader", slow)

    def finish():
        slow._done.set()
        slow.ready.emit()

    slow.finish = finish
    return slow


def test_the_editor_works_while_tensorflow_loads(qtbot, keras_still_loading):
    from dlstudio.qt.keras_loader import keras_ready
    from dlstudio.qt.main_window import MainWindow

    w = MainWindow(EXAMPLE, as_copy=True)  # what a launch without arguments opens
    qtbot.addWidget(w)
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(w.editor_is_ready, timeout=20_000)
    assert not keras_ready()
    assert w.loading.isVisible()  # "Loading TensorFlow…" still says what is going on
    assert "Dense" in w.palette_panel.type_names()
    doc = w.document
    assert len(doc.graph.nodes) == len(load_project(EXAMPLE).graph.nodes)
    keras_answer = ShapeInference().analyze(doc.graph)
    assert w.summary.total_text("total").startswith(f"{keras_answer.total_params:,}")
    assert w.problems.placeholder_text() == "No problems"
    dense = [n for n in doc.graph.nodes if n.type == "Dense"][-1]
    into = next(i for i in w.scene.edge_items.values() if i.edge().dst == dense.id)
    assert into.label == fmt_shape(keras_answer.shape_at(into.edge().src, into.edge().src_port))
    assert into.label.startswith("(batch, ")

    # the inspector edits a layer: a number of units never seen waits for Keras, and says so
    doc.selection_requested.emit([dense.id])
    w.inspector.set_node(dense.id)
    spin = w.inspector.editor("units")
    spin.setFocus()
    spin.selectAll()
    qtbot.keyClicks(spin, "7")
    qtbot.keyClick(spin, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: doc.analysis is not None and doc.analysis.pending, timeout=5000)
    assert doc.graph.node(dense.id).params["units"] == 7
    row = w.summary.row_of(dense.id)
    assert row.text(2) == "\u2026"
    assert into.label != "\u2026"  # what comes before it is known
    assert w.summary.total_text("total") == "\u2026"
    assert w.problems.placeholder_text().startswith("Checking")

    keras_still_loading.finish()  # TensorFlow has loaded
    qtbot.waitUntil(lambda: not doc.analysis.pending, timeout=30_000)
    assert doc.analysis.nodes[dense.id].output_shape == (None, 7)
    assert w.summary.row_of(dense.id).text(2) == "(batch, 7)"
    assert not w.loading.isVisible()
    doc.undo_stack.setClean()


def test_a_first_launch_says_the_example_is_opening(qtbot, keras_still_loading, monkeypatch):
    """No catalog on disk yet (the first launch): the empty canvas says which project is on its
    way instead of inviting to drag a first layer; it opens once the catalog comes with Keras."""
    from dlstudio.qt import keras_loader
    from dlstudio.qt.main_window import MainWindow

    monkeypatch.setattr(keras_still_loading, "_catalog_cached", False)
    monkeypatch.setattr(keras_loader, "catalog_ready", lambda: False)
    import dlstudio.qt.main_window as main_window

    monkeypatch.setattr(main_window, "catalog_ready", lambda: keras_still_loading.is_ready())
    w = MainWindow(EXAMPLE, as_copy=True)
    qtbot.addWidget(w)
    w.show()
    qtbot.wait(200)
    assert not w.document.graph.nodes
    assert w.view.empty_text.startswith("Opening digits_cnn")
    keras_still_loading.finish()
    qtbot.waitUntil(lambda: bool(w.document.graph.nodes), timeout=20_000)
    assert "Drag a layer" in w.view.empty_text
    w.document.undo_stack.setClean()
