"""Live views while a training runs (offscreen, tiny XOR data): the decision
boundary beside the curves, the gradient-flow plot, and the insight panel's
"refresh while training"."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pytestqt")

from dlstudio import RESOURCES
from dlstudio.project import load_project, save_project
from dlstudio.qt.keras_loader import loader

XOR = RESOURCES / "examples" / "xor_mlp.dlsproj"
TIMEOUT = 60_000


@pytest.fixture(scope="module")
def keras_loaded():
    assert loader().wait(120), loader().error
    return True


@pytest.fixture(autouse=True)
def config_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("DLSTUDIO_CONFIG_DIR", str(tmp_path / "config"))


@pytest.fixture
def doc(tmp_path, keras_loaded):
    from dlstudio.qt.document import Document

    project = load_project(XOR)
    project.dataset.options = {"samples": 200, "noise": 0.15}
    project.training = project.training.model_copy(update={"epochs": 3, "batch_size": 8,
                                                           "validation_split": 0.2})
    save_project(project, tmp_path / "xor.dlsproj")
    d = Document(project)
    d.analyze_now()
    yield d
    d.undo_stack.setClean()


@pytest.fixture
def panel(qtbot, keras_loaded):
    from dlstudio.qt.panels.training import training_panel as tp

    p = tp.TrainingPanel(None)
    qtbot.addWidget(p)
    p.resize(1100, 420)
    p.show()
    yield p
    assert p.stop_and_wait(TIMEOUT)
    qtbot.waitUntil(lambda: not p.is_running(), timeout=TIMEOUT)


def _train(qtbot, panel):
    with qtbot.waitSignal(panel.training_finished, timeout=TIMEOUT):
        assert panel.train()
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)


def test_boundary_updates_live_beside_the_curves(qtbot, panel, doc, monkeypatch):
    from dlstudio.training import live
    from dlstudio.training.events import BoundaryFrame

    panel.set_document(doc)
    received, images = [], []
    panel.live_event.connect(lambda ev: isinstance(ev, BoundaryFrame) and received.append(ev))
    original = panel.plots  # made now; the live views beside them
    views = panel.live_views
    draw = views._redraw

    def redraw():
        draw()
        if views.boundary is not None and views.boundary.image is not None:
            images.append(views.boundary.image)

    monkeypatch.setattr(views, "_redraw", redraw)
    monkeypatch.setattr(panel, "live_options",
                        lambda: live.LiveOptions(boundary=True, boundary_interval=0.0, boundary_every_batch=True))
    from dlstudio.training import batch_losses

    monkeypatch.setattr(batch_losses, "MAX_STEPS", 1)  # one step per call: a frame at every batch
    with qtbot.waitSignal(panel.training_finished, timeout=TIMEOUT):
        assert panel.train()
        qtbot.waitUntil(lambda: len(received) >= 3, timeout=TIMEOUT)
        assert views.isVisible() and views.currentWidget() is views.boundary  # shown while training
        count_during = len(received)
    qtbot.waitUntil(lambda: not panel.is_running(), timeout=TIMEOUT)
    assert len(received) > count_during  # the count grows while it trains
    assert views.frames_received == len(received)
    assert original is panel.plots
    # throttled: far fewer redraws than frames, and the drawn image changed as it learned
    assert 2 <= len(images) < len(received)
    assert not np.array_equal(images[0], images[-1])
    assert np.array_equal(views.boundary.image, received[-1].image)  # the last frame is shown at the end
    assert len(views.boundary.scatter.data) == len(received[-1].points)


def test_gradient_flow_plot_receives_per_layer_values(qtbot, panel, doc):
    panel.set_document(doc)
    panel.act_boundary.setChecked(False)
    panel.act_gradients.setChecked(True)
    _train(qtbot, panel)
    views = panel.live_views
    flow = views.gradients
    assert flow is not None and views.indexOf(flow) >= 0 and views.boundary is None
    layers = [n.name for n in doc.graph.nodes if n.type == "Dense"]
    assert list(flow.layers) == layers
    assert flow.events == 5  # every 10 batches over 3 epochs of 15 batches
    for name in layers:  # one line per layer, drawn with every measurement, on a log scale
        x, y = flow._curves[name].getData()
        assert len(x) == flow.events and list(x) == list(range(0, 45, 10))
        assert np.allclose(10 ** y, flow.series[name].y) and np.all(flow.series[name].y > 0)
    assert len(flow.latest) == len(layers)
    bars = flow._bars.opts
    assert np.allclose(bars["y1"], np.log10(flow.latest))  # log scale, latest values


def test_nothing_live_for_images_when_only_the_boundary_is_on(qtbot, panel, tmp_path, keras_loaded):
    """Digits are not 2-D points: no boundary tab, the curves keep the whole width."""
    from dlstudio.qt.document import Document

    project = load_project(RESOURCES / "examples" / "digits_cnn.dlsproj")
    project.training = project.training.model_copy(update={"epochs": 1, "batch_size": 64})
    save_project(project, tmp_path / "digits.dlsproj")
    d = Document(project)
    d.analyze_now()
    panel.set_document(d)
    _train(qtbot, panel)
    assert not panel.live_views.has_views() and panel.live_views.isHidden()
    d.undo_stack.setClean()


def test_insight_refreshes_while_training(qtbot, panel, doc):
    """With "refresh while training" on, each epoch's weights reach the insight panel,
    which recomputes the current input's activations and histograms with them."""
    from dlstudio.qt.panels.insight.insight_panel import InsightPanel
    from dlstudio.training.events import WeightsSnapshot

    insight = InsightPanel(None)
    qtbot.addWidget(insight)
    insight.resize(420, 600)
    insight.show()
    insight.set_document(doc)
    insight.set_model(None)  # the untrained graph first
    qtbot.waitUntil(lambda: insight.insight is not None and not insight.is_busy(), timeout=TIMEOUT)
    before = {k: np.array(v) for k, v in insight.insight.maps.items()}
    # wired as the main window wires them
    panel.live_event.connect(insight.on_live_event)
    panel.running_changed.connect(lambda on: insight.set_training(panel.worker.graph if on else None))
    insight.live_refresh_changed.connect(panel.set_weights_wanted)
    insight.live_check.setChecked(True)
    panel.act_boundary.setChecked(False)
    panel.set_document(doc)
    snapshots, shown = [], []
    panel.live_event.connect(lambda ev: isinstance(ev, WeightsSnapshot) and snapshots.append(ev))
    insight.computed.connect(lambda ins: shown.append((insight.status.text(), ins)))
    _train(qtbot, panel)
    assert [s.epoch for s in snapshots] == [1, 2, 3]  # one per epoch, asked for by the panel
    qtbot.waitUntil(lambda: any("epoch 3" in text for text, _ in shown), timeout=TIMEOUT)
    live = [ins for text, ins in shown if "Training in progress" in text]
    assert live, [t for t, _ in shown]
    last = next(ins for text, ins in reversed(shown) if "epoch 3" in text)
    # the maps are those of the model with epoch 3's weights: the trained model's own activations
    from dlstudio.insight.models import look_inside

    model = panel.result.model
    direct = look_inside(model, insight.sample)
    for name, value in last.maps.items():
        assert np.allclose(value, direct.maps[name], atol=1e-5), name
    assert any(not np.allclose(before[k], last.maps[k]) for k in before)  # the maps changed
    # the training ended: the panel goes back to the chosen model
    qtbot.waitUntil(lambda: "Training in progress" not in insight.status.text() and not insight.is_busy(),
                    timeout=TIMEOUT)
    # switched off: no more snapshots are asked for
    insight.live_check.setChecked(False)
    assert not panel._weights_wanted.is_set()
