"""The evaluation panel (offscreen): a run's test metrics, the confusion matrix
click-through (exactly the cell's samples, most confident first), the per-class
report, the boundary of a 2-D classifier and a regression's scatter."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from dlstudio import RESOURCES
from dlstudio.data import load_dataset
from dlstudio.graph import Graph
from dlstudio.project import load_project, new_project, save_project
from dlstudio.runs import runs_dir
from dlstudio.qt.keras_loader import loader
from dlstudio.training.engine import train
from dlstudio.training.evaluate import evaluate_run

TIMEOUT = 60_000


@pytest.fixture(scope="module")
def keras_loaded():
    assert loader().wait(120), loader().error
    return True


def chain(*layers: tuple[str, dict]) -> Graph:
    g = Graph()
    prev = None
    for i, (kind, params) in enumerate(layers):
        node = g.add_node(kind, params, name=f"{kind.lower()}{i}")
        if prev is not None:
            g.connect(prev.id, node.id)
        prev = node
    return g


def trained_project(folder, name, graph, dataset_name, options, settings, runs: int = 1):
    """A saved project with ``runs`` finished runs (as `dlstudio train` makes them)."""
    project = new_project(name)
    project.graph = graph
    project.dataset.name, project.dataset.options = dataset_name, options
    for k, v in settings.items():
        setattr(project.training, k, v)
    path = folder / f"{name}.dlsproj"
    save_project(project, path)
    project = load_project(path)
    dataset = load_dataset(dataset_name, options, seed=project.training.seed)
    results = [train(project.graph, dataset, project.training, run_base=runs_dir(path)) for _ in range(runs)]
    return project, dataset, results


@pytest.fixture(scope="module")
def digits(tmp_path_factory, keras_loaded):
    example = load_project(RESOURCES / "examples" / "digits_cnn.dlsproj")
    return trained_project(tmp_path_factory.mktemp("digits"), "digits", example.graph, "digits", {},
                           {"epochs": 1, "batch_size": 64, "validation_split": 0.1}, runs=2)


def make_panel(qtbot, project):
    from dlstudio.qt.document import Document
    from dlstudio.qt.panels.evaluation.evaluation_panel import EvaluationPanel

    doc = Document(project)
    panel = EvaluationPanel(None)
    qtbot.addWidget(panel)
    panel.resize(1000, 460)
    panel.show()
    panel.set_document(doc)
    return panel, doc


def wait_evaluated(qtbot, panel):
    qtbot.waitUntil(lambda: panel.evaluation is not None and not panel.is_busy(), timeout=TIMEOUT)
    return panel.evaluation


def test_newest_run_is_evaluated_and_cells_click_through(qtbot, digits):
    project, dataset, results = digits
    panel, _doc = make_panel(qtbot, project)
    newest, older = results[1].run, results[0].run
    assert panel.run_ids() == [newest.id, older.id]  # newest first, and picked
    ev = wait_evaluated(qtbot, panel)
    assert ev.run_id == newest.id
    direct = evaluate_run(project, newest, dataset=dataset)
    assert np.array_equal(ev.confusion_matrix, direct.confusion_matrix)
    assert f"{direct.metrics['accuracy']:.2%}" in panel.status.text()
    assert panel.stack.currentWidget() is panel.classes_page
    # the per-class table: one row per class and the macro average
    assert panel.right_tabs.indexOf(panel.report) >= 0 and panel.report.rowCount() == 10 + 1
    assert panel.report.item(3, 0).text() == direct.per_class[3].name
    assert panel.report.item(3, 2).text() == f"{direct.per_class[3].recall:.1%}"
    # a click on the diagonal cell of class 3 shows exactly its samples, most confident first
    rect = panel.matrix.cell_rect(3, 3)
    qtbot.mouseClick(panel.matrix, Qt.MouseButton.LeftButton, pos=rect.center().toPoint())
    want = direct.samples_in_cell(3, 3)
    assert panel.matrix.selected == (3, 3)
    assert np.array_equal(panel.samples.indices, want)
    assert panel.samples.grid.count() == len(want) == ev.confusion_matrix[3, 3]
    captions = panel.samples.grid.captions()
    conf = direct.confidence[want]
    assert np.all(np.diff(conf) <= 0)  # decreasing confidence
    assert captions == [f"{c:.0%}" for c in conf]
    assert panel.right_tabs.currentWidget() is panel.samples
    # an off-diagonal cell: its mistakes only
    cm = ev.confusion_matrix.copy()
    np.fill_diagonal(cm, 0)
    t, p = np.unravel_index(int(cm.argmax()), cm.shape)
    shown = panel.click_cell(int(t), int(p))
    assert np.array_equal(shown, direct.samples_in_cell(int(t), int(p)))
    assert all(ev.y_true[i] == t and ev.predicted[i] == p for i in shown)


def test_another_run_and_weights_and_a_cached_return(qtbot, digits):
    project, _dataset, results = digits
    panel, _doc = make_panel(qtbot, project)
    first = wait_evaluated(qtbot, panel)
    panel.set_run(results[0].run.id)
    qtbot.waitUntil(lambda: panel.evaluation is not first and not panel.is_busy(), timeout=TIMEOUT)
    assert panel.evaluation.run_id == results[0].run.id
    panel.set_run(results[1].run.id)  # back: from the cache, at once
    qtbot.waitUntil(lambda: panel.evaluation is first, timeout=5000)


def test_points_show_the_boundary_and_rows(qtbot, tmp_path, keras_loaded):
    graph = chain(("Input", {"shape": [2]}), ("Dense", {"units": 8, "activation": "tanh"}),
                  ("Dense", {"units": 2, "activation": "softmax"}))
    project, _dataset, _results = trained_project(tmp_path, "xor", graph, "xor", {"samples": 200},
                                                 {"epochs": 2, "batch_size": 16, "learning_rate": 0.05})
    panel, _doc = make_panel(qtbot, project)
    ev = wait_evaluated(qtbot, panel)
    assert panel.boundary_view is not None and panel.right_tabs.indexOf(panel.boundary_view) >= 0
    img = panel.boundary_view.image
    assert img.shape == (150, 150, 3) and len(panel.boundary_view.scatter.data) == len(ev.x)
    idx = panel.click_cell(0, 0)
    rows = panel.samples.rows
    assert panel.samples.stack.currentWidget() is rows and rows.rowCount() == len(idx)
    if len(idx) > 1:
        first, last = (float(rows.item(r, 1).data(Qt.ItemDataRole.UserRole)) for r in (0, len(idx) - 1))
        assert first >= last
        assert rows.item(0, 0).text() == str(idx[0]) and rows.item(0, 3).text() == ev.class_names[0]


def test_regression_shows_predicted_against_true(qtbot, tmp_path, keras_loaded):
    graph = chain(("Input", {"shape": [1]}), ("Dense", {"units": 16, "activation": "tanh"}), ("Dense", {"units": 1}))
    project, dataset, _results = trained_project(tmp_path, "sine", graph, "sine", {"samples": 200},
                                                 {"epochs": 2, "batch_size": 32, "learning_rate": 0.02})
    panel, _doc = make_panel(qtbot, project)
    ev = wait_evaluated(qtbot, panel)
    assert ev.task == "regression" and panel.stack.currentWidget() is panel.regression_page
    x, y = panel.scatter.scatter.getData()
    assert np.allclose(x, dataset.y_test.ravel()) and np.allclose(y, ev.predicted.ravel())
    ix, iy = panel.scatter.identity.getData()
    assert list(ix) == list(iy)  # the identity line
    (x0, x1), (y0, y1) = panel.scatter.plot.getViewBox().viewRange()  # the view fits the points
    assert x0 <= x.min() and x.max() <= x1 and y0 <= y.min() and y.max() <= y1
    assert "R²" in panel.status.text()


def test_no_runs_says_so_and_a_damaged_run_is_reported(qtbot, tmp_path, keras_loaded):
    project = load_project(RESOURCES / "examples" / "xor_mlp.dlsproj")
    save_project(project, tmp_path / "p.dlsproj")
    project = load_project(tmp_path / "p.dlsproj")
    panel, _doc = make_panel(qtbot, project)
    assert panel.stack.currentWidget() is panel.hint and "No trained run" in panel.hint.text()
    # a run whose weights file is garbage: a clear message, no traceback
    from dlstudio.runs import create_run

    run = create_run(runs_dir(tmp_path / "p.dlsproj"), {"graph": project.graph.to_dict(), "status": "finished",
                                                         "dataset": "xor"})
    run.update(status="finished")
    run.weights_path.write_bytes(b"not an h5 file")
    messages = []
    panel.failed.connect(messages.append)
    panel.refresh_runs()
    qtbot.waitUntil(lambda: bool(messages), timeout=TIMEOUT)
    assert "cannot load model.weights.h5" in messages[0] and run.id in messages[0]
    assert run.id in panel.status.text()


def test_the_window_evaluates_a_finished_training_and_shows_it(qtbot, tmp_path, keras_loaded, monkeypatch):
    """F5 on the Training tab: when the run ends, the Evaluation tab comes forward with that run."""
    from dlstudio.runs import list_runs
    from dlstudio.qt.main_window import MainWindow

    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))
    project = load_project(RESOURCES / "examples" / "xor_mlp.dlsproj")
    project.dataset.options = {"samples": 200, "noise": 0.15}
    project.training = project.training.model_copy(update={"epochs": 2, "batch_size": 16})
    save_project(project, tmp_path / "xor.dlsproj")
    w = MainWindow()
    qtbot.addWidget(w)
    w.resize(1280, 800)
    w.show()
    qtbot.waitUntil(lambda: not w.loading.isVisible(), timeout=TIMEOUT)
    assert w.open_path(tmp_path / "xor.dlsproj")
    with qtbot.waitSignal(w.training_panel.training_finished, timeout=TIMEOUT):
        w.act_train.trigger()
    qtbot.waitUntil(lambda: not w.training_panel.is_running(), timeout=TIMEOUT)
    run = list_runs(runs_dir(tmp_path / "xor.dlsproj"))[-1]
    qtbot.waitUntil(lambda: w.evaluation_panel.evaluation is not None, timeout=TIMEOUT)
    assert w.evaluation_panel.evaluation.run_id == run.id
    assert not w.evaluation_dock.visibleRegion().isEmpty()  # in front now
    assert w.predict_panel.run_ids()[0] == run.id  # the predict panel lists it too
    w.document.undo_stack.setClean()
