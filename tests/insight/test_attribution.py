"""Attribution methods, each held to its own paper's check: IG's completeness, the model
randomisation test (Adebayo et al. 2018) for IG, SmoothGrad and saliency on a trained
digits CNN, occlusion of the most-attributed patch; analytic checks on linear models;
per-token text and per-feature rows."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest


@pytest.fixture(scope="module")
def keras():
    from dlstudio.backend import load_keras

    return load_keras()


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory, keras):
    """The digits CNN trained 6 epochs (about 96% test accuracy): (model, dataset, project path)."""
    from dlstudio import RESOURCES
    from dlstudio.data import load_dataset
    from dlstudio.project import load_project, save_project
    from dlstudio.runs import load_run, runs_dir
    from dlstudio.training.engine import train

    project = load_project(RESOURCES / "examples" / "digits_cnn.dlsproj")
    project.training.epochs, project.training.batch_size = 6, 32
    path = save_project(project, tmp_path_factory.mktemp("attr") / "digits.dlsproj")
    dataset = load_dataset("digits", {}, seed=project.training.seed)
    result = train(project.graph, dataset, project.training, run_base=runs_dir(path))
    loaded = load_run(path, result.run.id)
    return loaded.model, loaded.dataset, path


def test_linear_model_ig_smoothgrad_and_occlusion_by_hand(keras):
    from dlstudio.insight.attribution import attribute

    keras.utils.set_random_seed(5)
    inp = keras.Input((6,))
    model = keras.Model(inp, keras.layers.Dense(3, name="linear")(inp))
    w = np.asarray(model.get_layer("linear").kernel)
    x = np.random.default_rng(0).normal(size=(4, 6)).astype(np.float32)
    ig = attribute(model, x, "ig", class_index=1, steps=4)
    assert ig.unit == "feature" and ig.values.shape == (4, 6)
    assert np.allclose(ig.values, x * w[:, 1], atol=1e-5)  # (x - 0) * the constant gradient
    assert np.allclose(ig.completeness_error, 0.0, atol=1e-4)
    baseline = np.ones(6, np.float32)
    ig_b = attribute(model, x, "ig", class_index=1, baseline=baseline)
    assert np.allclose(ig_b.values, (x - 1) * w[:, 1], atol=1e-5)
    sg = attribute(model, x, "smoothgrad", class_index=2, samples=5)
    assert np.allclose(sg.values, w[:, 2], atol=1e-5) and np.allclose(sg.heat, np.abs(w[:, 2]), atol=1e-5)
    occ = attribute(model, x, "occlusion", class_index=0)  # one feature set to 0: the drop is w_i x_i
    assert np.allclose(occ.heat, x * w[:, 0], atol=1e-5)
    one = attribute(model, x[0], "ig", class_index=1)
    assert one.values.shape == (6,) and np.ndim(one.classes) == 0


def test_one_sigmoid_unit_explains_both_classes(keras):
    from dlstudio.insight.attribution import attribute

    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid", name="p")(inp))
    x = np.array([[1.0, -2.0, 0.5]], np.float32)
    a1 = attribute(model, x, "ig", class_index=1)
    a0 = attribute(model, x, "ig", class_index=0)
    assert np.allclose(a1.values, -a0.values, atol=1e-6)  # f_0 = 1 - p
    assert a1.completeness_error < 0.02 and a0.completeness_error < 0.02
    assert a1.probabilities.shape == (1, 2)


def test_unknown_method_and_class_out_of_range(keras):
    from dlstudio.insight.activations import InsightError
    from dlstudio.insight.attribution import attribute

    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax")(inp))
    with pytest.raises(InsightError, match="unknown attribution method"):
        attribute(model, np.zeros(3), "lime")
    with pytest.raises(InsightError, match="class 5 is out of range"):
        attribute(model, np.zeros(3), "ig", class_index=5)
    with pytest.raises(InsightError, match="Grad-CAM"):
        attribute(model, np.zeros(3), "gradcam")


def test_ig_completeness_on_the_trained_digits_cnn(digits_run):
    from dlstudio.insight.attribution import DEFAULT_STEPS, attribute

    model, dataset, _ = digits_run
    x = dataset.x_test[:24]
    a = attribute(model, x, "ig")  # the predicted class, the all-zero baseline, the default steps
    assert a.options["steps"] == DEFAULT_STEPS and a.score == "probability"
    delta = a.target - a.baseline_score
    assert np.all(np.abs(a.total - delta) <= 0.02 * np.abs(delta)), a.completeness_error
    assert np.array_equal(a.classes, model.predict(x, verbose=0).argmax(-1))
    assert a.heat.shape == (24, 8, 8) and a.values.shape == (24, 8, 8, 1)


@pytest.mark.parametrize("method", ["ig", "smoothgrad", "saliency"])
def test_randomised_model_gives_different_maps(digits_run, method):
    from dlstudio.insight.sanity import randomization_check

    model, dataset, _ = digits_run
    before = [w.copy() for w in model.get_weights()]
    check = randomization_check(model, dataset.x_test[:16], method)
    assert check.layers == ["trained", "digit", "fc1", "conv2", "conv1"]
    assert check.correlations[0] == 1.0 and len(check.correlations) == 5
    assert check.final < 0.5 and check.passed, check.to_dict()
    assert "passes" in check.verdict
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))  # the model is untouched
    if method == "ig":  # honest about magnitudes: |IG| follows the bright pixels of the input
        assert check.abs_correlations[-1] >= 0.5 and "magnitudes alone" in check.verdict


def test_a_method_that_fails_the_check_says_so():
    from dlstudio.insight.sanity import RandomizationCheck

    check = RandomizationCheck("gradcam", ["trained", "out"], [1.0, 0.8], [0.0, 0.1], [1.0, 0.8], 4)
    assert not check.passed and "FAILS" in check.verdict and check.to_dict()["passed"] is False


def test_occluding_the_most_attributed_patch_hurts_more(digits_run):
    from dlstudio.insight.attribution import attribute, patch_drop

    model, dataset, _ = digits_run
    x = dataset.x_test[:20]
    rng = np.random.default_rng(0)
    for method in ("occlusion", "ig", "saliency"):
        a = attribute(model, x, method)
        drops = np.array([patch_drop(model, x[i], a.heat[i], patch=2, rng=rng) for i in range(len(x))])
        assert drops[:, 0].mean() > drops[:, 1].mean() + 0.05, (method, drops.mean(axis=0))
    occ = attribute(model, x[0], "occlusion")
    assert occ.heat.shape == (8, 8) and occ.options == {"patch": 2, "stride": 1, "fill": 0.0}


def test_text_is_attributed_per_token(keras):
    from dlstudio.insight.attribution import attribute

    keras.utils.set_random_seed(6)
    inp = keras.Input((7,), dtype="int32")
    e = keras.layers.Embedding(20, 4, name="emb")(inp)
    pooled = keras.layers.GlobalAveragePooling1D()(e)
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="out")(pooled))
    x = np.array([[1, 5, 7, 0, 0, 2, 3]], np.int64)
    for method in ("ig", "smoothgrad", "saliency", "occlusion"):
        a = attribute(model, x, method)
        assert a.unit == "token" and a.heat.shape == (1, 7), method
    ig = attribute(model, x, "ig")
    assert ig.values.shape == (1, 7, 4) and ig.completeness_error[0] < 0.02
    occ = attribute(model, x, "occlusion")
    assert occ.options["fill"] == "padding token 0"
    assert occ.heat[0, 3] == pytest.approx(0.0, abs=1e-6)  # a padding token occluded by padding changes nothing


def test_randomisation_runs_on_a_small_cnn_and_leaves_it_alone(keras):
    from dlstudio.insight.sanity import randomization_check, weighted_layers

    keras.utils.set_random_seed(7)
    inp = keras.Input((6, 6, 1))
    x = keras.layers.Conv2D(3, 3, activation="relu", name="conv")(inp)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.Flatten()(x)
    model = keras.Model(inp, keras.layers.Dense(2, activation="softmax", name="out")(x))
    before = [w.copy() for w in model.get_weights()]
    assert [layer.name for layer in weighted_layers(model)] == ["out", "bn", "conv"]
    data = np.random.default_rng(1).uniform(size=(3, 6, 6, 1)).astype(np.float32)
    for method in ("saliency", "gradcam", "occlusion"):
        check = randomization_check(model, data, method)
        assert check.layers == ["trained", "out", "bn", "conv"] and len(check.abs_correlations) == 4
        assert all(-1.0 <= r <= 1.0 for r in check.correlations)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))


def test_projection_of_an_autoencoders_codes_and_nearest_tokens(keras):
    from dlstudio import RESOURCES
    from dlstudio.data import load_dataset
    from dlstudio.insight.models import untrained_model
    from dlstudio.insight.projector import nearest_tokens, project_layer
    from dlstudio.project import load_project

    project = load_project(RESOURCES / "examples" / "autoencoder_digits.dlsproj")
    dataset = load_dataset(project.dataset.name, project.dataset.options, seed=0)
    p = project_layer(untrained_model(project.graph, seed=0), dataset, method="pca", graph=project.graph,
                      max_points=120)
    assert p.layer == "code" and p.points.shape == (120, 2) and p.labels is not None and p.predicted is None
    assert p.features == 2 and not p.wrong.any()
    square = [(-1e9, -1e9), (1e9, -1e9), (1e9, 1e9), (-1e9, 1e9)]
    assert len(p.inside(square)) == 120 and len(p.inside(square[:2])) == 0
    inp = keras.Input((4,), dtype="int32")
    e = keras.layers.Embedding(5, 3, name="emb")(inp)
    model = keras.Model(inp, keras.layers.Dense(2)(keras.layers.Flatten()(e)))
    model.get_layer("emb").embeddings.assign(np.array([[0, 0, 1], [1, 0, 0], [0.9, 0.1, 0], [0, 1, 0],
                                                       [-1, 0, 0]], np.float32))
    near = nearest_tokens(model, 1, k=4, vocabulary=["<pad>", "cat", "cats", "dog", "tac"])
    assert near[0][1] == "cats" and near[0][2] > 0.99 and near[-1][1] == "tac" and len(near) == 4


@pytest.mark.slow
def test_checks_pass_on_jax(tmp_path):
    """The gradient code differs per backend: the analytic checks run again on JAX."""
    env = dict(os.environ, KERAS_BACKEND="jax", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", os.path.abspath(__file__), "-q", "-p", "no:cacheprovider",
         "-k", "by_hand or sigmoid_unit or per_token or small_cnn", "-o", "addopts="],
        capture_output=True, text=True, timeout=600, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert re.search(r"\b4 passed", proc.stdout), proc.stdout[-1000:]
