"""The autoencoder insight: code layer, reconstructions, 2-D codes, class separation."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio import RESOURCES
from dlstudio.graph import Graph
from dlstudio.insight.autoencoder import (
    AutoencoderError,
    autoencoder_view,
    code_layer,
    knn_accuracy,
    project_2d,
    run_view,
)
from dlstudio.project import load_project

EXAMPLE = RESOURCES / "examples" / "autoencoder_digits.dlsproj"


def _chain(*layers):
    g = Graph()
    prev = None
    for t, name, params in layers:
        n = g.add_node(t, params, name=name)
        if prev:
            g.connect(prev, n.id)
        prev = n.id
    return g


def test_code_layer_of_the_example_is_the_named_two_unit_layer():
    assert code_layer(load_project(EXAMPLE).graph) == "code"


def test_code_layer_without_a_name_is_the_narrowest_layer():
    g = _chain(("Input", "x", {"shape": [10]}), ("Dense", "a", {"units": 6}), ("Dense", "b", {"units": 3}),
               ("Dense", "c", {"units": 6}), ("Dense", "out", {"units": 10}))
    assert code_layer(g) == "b"


def test_a_classifier_is_not_an_autoencoder_and_the_message_says_why():
    g = _chain(("Input", "x", {"shape": [10]}), ("Dense", "hidden", {"units": 4}),
               ("Dense", "class", {"units": 3, "activation": "softmax"}))
    with pytest.raises(AutoencoderError, match=r"output 'class' gives \(batch, 3\).*Input takes \(batch, 10\)"):
        code_layer(g)


def test_no_bottleneck_is_refused():
    g = _chain(("Input", "x", {"shape": [4]}), ("Dense", "wide", {"units": 16}), ("Dense", "out", {"units": 4}))
    with pytest.raises(AutoencoderError, match="no layer .* narrower than the input"):
        code_layer(g)


def test_project_2d_keeps_two_pads_one_and_projects_wider_codes_onto_principal_axes():
    rng = np.random.default_rng(0)
    two = rng.normal(size=(50, 2))
    assert np.allclose(project_2d(two)[0], two, atol=1e-6) and not project_2d(two)[1]
    one, _, _ = project_2d(two[:, :1])
    assert one.shape == (50, 2) and np.all(one[:, 1] == 0)
    # a 5-D code that really lives on a plane: the projection shows all of its variance
    plane = two @ rng.normal(size=(2, 5))
    points, projected, explained = project_2d(plane)
    assert projected and points.shape == (50, 2) and explained == pytest.approx(1.0, abs=1e-6)
    # distances are preserved by a projection onto the plane the points span
    d = lambda p: np.linalg.norm(p[:, None] - p[None], axis=-1)
    assert np.allclose(d(points), d(plane), atol=1e-4)


def test_knn_accuracy_is_high_for_separated_clusters_and_near_chance_for_noise():
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(4), 50)
    centres = np.array([[0, 0], [10, 0], [0, 10], [10, 10]])
    assert knn_accuracy(centres[labels] + rng.normal(size=(200, 2)), labels) == 1.0
    noise = knn_accuracy(rng.normal(size=(200, 2)), labels)
    assert noise < 0.45


def test_view_of_a_briefly_trained_example(tmp_path):
    from dlstudio.cli import run_cli
    from dlstudio.project import save_project

    project = load_project(EXAMPLE)
    path = save_project(project, tmp_path / "ae.dlsproj")
    assert run_cli(["train", str(path), "--epochs", "3"]) == 0
    view = run_view(load_project(path), n_images=6)
    assert view.code_layer == "code" and view.code_size == 2 and not view.projected
    assert view.inputs.shape == view.outputs.shape == (6, 8, 8, 1)
    assert np.all((view.outputs >= 0) & (view.outputs <= 1))  # sigmoid pixels
    assert view.codes.shape == (360, 2) and view.labels.shape == (360,)
    assert view.class_names == [str(i) for i in range(10)]
    # the reported error is the mean squared error of the reconstructions
    assert 0.0 < view.mse < 0.2
    assert 0.0 <= view.knn_accuracy <= 1.0


def test_view_of_an_untrained_model_matches_a_direct_computation():
    from dlstudio.data import load_dataset
    from dlstudio.insight.models import untrained_model

    project = load_project(EXAMPLE)
    model = untrained_model(project.graph)
    data = load_dataset("digits", {"target": "image"}, seed=0)
    view = autoencoder_view(model, project.graph, data, n_images=4, max_points=100)
    out = np.asarray(model.predict(data.x_test, verbose=0))
    assert np.allclose(view.outputs, out[:4], atol=1e-5)
    assert view.mse == pytest.approx(float(np.mean((out - data.x_test) ** 2)), rel=1e-4)
    assert view.codes.shape == (100, 2)
    assert np.array_equal(view.labels, data.meta["labels_test"][:100])
