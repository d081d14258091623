"""Live views of a training (no threads, no Qt): the decision boundary while a 2-D
classifier learns, the gradient flow per layer, weight snapshots on request."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.data import Dataset, load_dataset
from dlstudio.graph import Graph
from dlstudio.training.engine import train
from dlstudio.training.evaluate import boundary_image, decision_boundary
from dlstudio.training.events import BoundaryFrame, EpochEnd, Finished, WeightsSnapshot
from dlstudio.training.gradient_events import GradientFlow
from dlstudio.training.live import (
    BatchBoundaryProbe,
    BoundaryProbe,
    LiveOptions,
    boundary_applies,
    boundary_ranges,
    live_callbacks,
)


def mlp(depth: int = 2, units: int = 8, activation: str = "tanh", out_units: int = 2,
        out_act: str = "softmax", input_shape=(2,)) -> Graph:
    g = Graph()
    prev = g.add_node("Input", {"shape": list(input_shape)}, name="x")
    layers = [(units, activation)] * depth + [(out_units, out_act)]
    for i, (n, act) in enumerate(layers):
        node = g.add_node("Dense", {"units": n, "activation": act}, name=f"d{i}")
        g.connect(prev.id, node.id)
        prev = node
    return g


@pytest.fixture(scope="module")
def xor_data() -> Dataset:
    return load_dataset("xor", {"samples": 200}, seed=1)


SETTINGS = {"epochs": 4, "batch_size": 16, "learning_rate": 0.05, "validation_split": 0.0}


def test_boundary_applies_to_2d_classification_only(xor_data):
    assert boundary_applies(xor_data)
    assert not boundary_applies(load_dataset("digits", {}, seed=0))


def test_boundary_frames_grow_and_change_while_training(xor_data):
    events = []
    probe = BatchBoundaryProbe(xor_data.x_train, xor_data.y_train, events.append, ("0", "1"), resolution=24,
                               min_interval=0.0)
    result = train(mlp(), xor_data, SETTINGS, emit=events.append, callbacks=[probe])
    frames = [e for e in events if isinstance(e, BoundaryFrame)]
    steps = -(-len(xor_data.x_train) // 16)
    # the hook comes once per compiled call of several steps: the engine keeps its fast path
    k = result.model.steps_per_execution
    assert k > 1
    # one before training, one per call (min_interval 0); the epoch ends add none on the same step
    calls = 4 * -(-steps // k)
    assert len(frames) == 1 + calls == probe.frames
    assert frames[0].step == 0 and frames[-1].step == 4 * steps
    assert all(a.step < b.step for a, b in zip(frames, frames[1:]))
    assert frames[0].image.shape == (24, 24, 3) and frames[0].image.dtype == np.uint8
    assert not np.array_equal(frames[0].image, frames[-1].image)  # the boundary moved
    # a batch's frame comes before the epoch's EpochEnd: they arrive in training order
    kinds = [type(e).__name__ for e in events]
    assert kinds.index("EpochEnd") > kinds.index("BoundaryFrame")
    assert isinstance(events[-1], Finished)
    # the last frame is the trained model's boundary over the same area (as evaluate draws it)
    _xs, _ys, grid = decision_boundary(result.model, frames[-1].x_range, frames[-1].y_range, 24)
    assert np.abs(frames[-1].image.astype(int) - boundary_image(grid)).max() <= 1
    assert frames[-1].x_range == boundary_ranges(xor_data.x_train)[0]
    # the points are the training points with their class ids, shared by every frame
    assert frames[0].points is frames[-1].points
    assert len(frames[0].points) == len(xor_data.x_train)
    assert set(np.unique(frames[0].labels)) == {0, 1}


def test_epoch_frames_without_a_batch_hook(xor_data):
    """The default probe takes frames at epoch ends only: the engine keeps its fast path."""
    from dlstudio.training.engine import _has_batch_hooks

    events = []
    probe = BoundaryProbe(xor_data.x_train, xor_data.y_train, events.append, min_interval=0.0)
    assert not _has_batch_hooks(probe)
    train(mlp(), xor_data, SETTINGS, emit=events.append, callbacks=[probe])
    frames = [e for e in events if isinstance(e, BoundaryFrame)]
    steps = -(-len(xor_data.x_train) // 16)
    assert [f.step for f in frames] == [0, steps, 2 * steps, 3 * steps, 4 * steps]
    assert [f.epoch for f in frames] == [1, 1, 2, 3, 4] and all(f.at_epoch_end for f in frames)


def test_frames_inside_epochs_only_for_long_epochs():
    small = load_dataset("xor", {"samples": 200}, seed=0)
    [probe] = live_callbacks(small, lambda e: None, LiveOptions(), batch_size=16)
    assert type(probe) is BoundaryProbe
    [probe] = live_callbacks(load_dataset("xor", {"samples": 2700}, seed=0), lambda e: None, LiveOptions(),
                             batch_size=2)  # over 1,000 batches an epoch
    assert type(probe) is BatchBoundaryProbe
    [probe] = live_callbacks(small, lambda e: None, LiveOptions(boundary_every_batch=True), batch_size=16)
    assert type(probe) is BatchBoundaryProbe


def test_boundary_frames_are_throttled(xor_data):
    events = []
    probe = BoundaryProbe(xor_data.x_train, xor_data.y_train, events.append, min_interval=3600.0)
    train(mlp(), xor_data, SETTINGS, emit=events.append, callbacks=[probe])
    frames = [e for e in events if isinstance(e, BoundaryFrame)]
    assert len(frames) == 2  # the first and the final one
    assert frames[-1].at_epoch_end and frames[-1].epoch == 4


def test_boundary_subsamples_many_points_and_takes_one_hot_labels():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5000, 2)).astype(np.float32)
    y = np.eye(3, dtype=np.float32)[rng.integers(0, 3, 5000)]
    probe = BoundaryProbe(x, y, lambda e: None, max_points=300)
    assert probe.points.shape == (300, 2) and probe.labels.shape == (300,)
    assert set(np.unique(probe.labels)) == {0, 1, 2}
    with pytest.raises(ValueError, match="2-D points"):
        BoundaryProbe(np.zeros((4, 3)), np.zeros(4), lambda e: None)


def test_live_gradient_flow_gives_one_value_per_layer(xor_data):
    events = []
    callbacks = live_callbacks(xor_data, events.append, LiveOptions(boundary=False, gradient_flow=True,
                                                                    gradient_every=2))
    train(mlp(depth=3), xor_data, {**SETTINGS, "epochs": 2}, emit=events.append, callbacks=callbacks)
    flows = [e for e in events if isinstance(e, GradientFlow)]
    steps = -(-len(xor_data.x_train) // 16)
    assert len(flows) == -(-2 * steps // 2)
    assert flows[0].layers == ("d0", "d1", "d2", "d3")
    assert all(len(f.magnitudes) == 4 and all(np.isfinite(f.magnitudes)) for f in flows)
    assert any(m > 0 for m in flows[-1].magnitudes)


def test_vanishing_gradients_are_visible_in_a_deep_sigmoid_net(xor_data):
    """Deep sigmoid: the first layer's gradients are far smaller than the last one's."""
    events = []
    callbacks = live_callbacks(xor_data, events.append, LiveOptions(boundary=False, gradient_flow=True,
                                                                    gradient_every=1))
    train(mlp(depth=8, units=16, activation="sigmoid"), xor_data, {**SETTINGS, "epochs": 1},
          emit=events.append, callbacks=callbacks)
    first = next(e for e in events if isinstance(e, GradientFlow))
    assert first.magnitudes[0] < first.magnitudes[-1] / 50


def test_weight_snapshots_only_when_wanted(xor_data):
    wanted = {"on": False}
    events = []
    callbacks = live_callbacks(xor_data, events.append,
                               LiveOptions(boundary=False, weights_wanted=lambda: wanted["on"]))

    def emit(ev):
        events.append(ev)
        if isinstance(ev, EpochEnd) and ev.epoch == 2:
            wanted["on"] = True  # someone starts looking after epoch 2

    result = train(mlp(), xor_data, SETTINGS, emit=emit, callbacks=callbacks)
    snaps = [e for e in events if isinstance(e, WeightsSnapshot)]
    assert [s.epoch for s in snaps] == [2, 3, 4]
    final = result.model.get_weights()
    assert len(snaps[-1].weights) == len(final)
    assert all(np.array_equal(a, b) for a, b in zip(snaps[-1].weights, final))
    assert not all(np.array_equal(a, b) for a, b in zip(snaps[0].weights, final))


def test_live_callbacks_skip_what_does_not_apply():
    digits = load_dataset("digits", {}, seed=0)
    assert live_callbacks(digits, lambda e: None, LiveOptions(boundary=True)) == []
    xor = load_dataset("xor", {"samples": 50}, seed=0)
    kinds = [type(c).__name__ for c in live_callbacks(xor, lambda e: None,
                                                      LiveOptions(gradient_flow=True, weights_wanted=lambda: 1))]
    assert kinds == ["BoundaryProbe", "StepGradientFlow", "WeightsProbe"]
