"""Saliency and Grad-CAM: analytic checks on linear models, shapes on a CNN."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def keras():
    from dlstudio.backend import load_keras

    return load_keras()


@pytest.fixture(scope="module")
def cnn(keras):
    keras.utils.set_random_seed(1)
    inp = keras.Input((12, 12, 3))
    x = keras.layers.Conv2D(6, 3, activation="relu", name="c1")(inp)
    x = keras.layers.MaxPooling2D(name="p1")(x)
    x = keras.layers.Conv2D(8, 3, activation="relu", name="c2")(x)
    x = keras.layers.Flatten(name="flat")(x)
    out = keras.layers.Dense(4, activation="softmax", name="probs")(x)
    return keras.Model(inp, out)


def test_saliency_of_a_linear_model_is_its_weights(keras):
    from dlstudio.insight.saliency import saliency, scorer

    keras.utils.set_random_seed(2)
    inp = keras.Input((6,))
    model = keras.Model(inp, keras.layers.Dense(3, name="linear")(inp))
    w = np.asarray(model.get_layer("linear").kernel)
    x = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
    for c in range(3):
        s = saliency(model, x, class_index=c)
        assert s.shape == (5, 6)
        assert np.allclose(s, np.abs(w[:, c])[None], atol=1e-6)
    assert "outputs of linear" in scorer(model).description
    # the predicted class by default, one class per sample
    pred = (x @ w + np.asarray(model.get_layer("linear").bias)).argmax(-1)
    assert np.allclose(saliency(model, x), np.abs(w[:, pred].T), atol=1e-6)
    assert np.allclose(saliency(model, x[0], class_index=1), np.abs(w[:, 1]), atol=1e-6)


def test_softmax_saliency_uses_the_logits(keras):
    from dlstudio.insight.saliency import class_scores, saliency, scorer

    keras.utils.set_random_seed(3)
    inp = keras.Input((6,))
    model = keras.Model(inp, keras.layers.Dense(3, activation="softmax", name="probs")(inp))
    w = np.asarray(model.get_layer("probs").kernel)
    b = np.asarray(model.get_layer("probs").bias)
    x = np.random.default_rng(1).normal(size=(4, 6)).astype(np.float32)
    assert np.allclose(class_scores(model, x), x @ w + b, atol=1e-5)
    assert np.allclose(saliency(model, x, class_index=2), np.abs(w[:, 2])[None], atol=1e-6)
    assert "without its softmax" in scorer(model).description
    probs = saliency(model, x, class_index=2, logits=False)  # the probability's gradient differs
    assert not np.allclose(probs, np.abs(w[:, 2])[None], atol=1e-3)
    # a final Activation layer is skipped the same way
    inp = keras.Input((6,))
    z = keras.layers.Dense(3, name="z")(inp)
    model2 = keras.Model(inp, keras.layers.Activation("softmax", name="soft")(z))
    w2 = np.asarray(model2.get_layer("z").kernel)
    assert np.allclose(saliency(model2, x, class_index=0), np.abs(w2[:, 0])[None], atol=1e-6)
    assert "input of soft" in scorer(model2).description


def test_one_sigmoid_unit_gives_two_classes(keras):
    from dlstudio.insight.saliency import class_scores, saliency

    inp = keras.Input((3,))
    model = keras.Model(inp, keras.layers.Dense(1, activation="sigmoid", name="p")(inp))
    w = np.asarray(model.get_layer("p").kernel)[:, 0]
    x = np.ones((2, 3), np.float32)
    s = class_scores(model, x)
    assert s.shape == (2, 2) and np.allclose(s[:, 0], -s[:, 1])
    assert np.allclose(saliency(model, x, 0), np.abs(w)[None], atol=1e-6)


def test_saliency_of_images_and_class_errors(cnn):
    from dlstudio.insight.activations import InsightError
    from dlstudio.insight.saliency import saliency

    x = np.random.default_rng(2).random((2, 12, 12, 3)).astype(np.float32)
    s = saliency(cnn, x)
    assert s.shape == (2, 12, 12) and (s >= 0).all() and s.max() > 0
    full = saliency(cnn, x, reduce_channels=False)
    assert full.shape == x.shape and np.allclose(full.max(-1), s)
    with pytest.raises(InsightError, match="class 7 is out of range"):
        saliency(cnn, x, class_index=7)


def test_grad_cam_has_the_conv_layers_spatial_size(cnn):
    from dlstudio.insight.saliency import explain, grad_cam, gradcam_layer

    x = np.random.default_rng(3).random((3, 12, 12, 3)).astype(np.float32)
    assert gradcam_layer(cnn) == "c2"
    cam = grad_cam(cnn, x)
    assert cam.shape == (3, 3, 3)  # c2: 12 -> 10 -> pool 5 -> 3
    assert cam.min() >= 0 and cam.max() <= 1
    assert grad_cam(cnn, x, layer_name="c1").shape == (3, 10, 10)
    assert grad_cam(cnn, x[0], class_index=1).shape == (3, 3)
    e = explain(cnn, x[0])
    assert e.layer == "c2" and e.saliency.shape == (12, 12) and e.cam.shape == (3, 3)
    assert int(e.classes) == int(np.argmax(e.scores))


def test_grad_cam_by_hand(cnn, keras):
    """Weights = spatial mean of d score / d A, ReLU of the weighted sum, divided by the maximum.
    After c2 come Flatten and Dense, so d logit_c / d A is the Dense kernel's column c, reshaped."""
    from dlstudio.insight.saliency import grad_cam

    x = np.random.default_rng(4).random((1, 12, 12, 3)).astype(np.float32)
    a = np.asarray(keras.Model(cnn.inputs[0], cnn.get_layer("c2").output)(x))
    g = np.asarray(cnn.get_layer("probs").kernel)[:, 2].reshape(a.shape[1:])
    cam = np.maximum((a[0] * g.mean(axis=(0, 1))).sum(-1), 0)
    expected = cam / cam.max() if cam.max() > 0 else cam
    assert np.allclose(grad_cam(cnn, x, class_index=2)[0], expected, atol=1e-5)


def test_no_conv_layer_and_skip_connections(keras):
    from dlstudio.insight.activations import InsightError
    from dlstudio.insight.saliency import grad_cam

    inp = keras.Input((4,))
    dense = keras.Model(inp, keras.layers.Dense(2)(inp))
    with pytest.raises(InsightError, match="no convolution layer"):
        grad_cam(dense, np.zeros((1, 4), np.float32))
    inp = keras.Input((6, 6, 2))
    c = keras.layers.Conv2D(2, 3, padding="same", name="conv")(inp)
    added = keras.layers.Add(name="add")([c, inp])
    out = keras.layers.Dense(3, name="out")(keras.layers.Flatten()(added))
    res = keras.Model(inp, out)
    x = np.ones((1, 6, 6, 2), np.float32)
    with pytest.raises(InsightError, match="goes around it"):
        grad_cam(res, x, layer_name="conv")
    assert grad_cam(res, x).shape == (1, 6, 6)  # falls back to the merge


def test_overlay_and_display_image():
    from dlstudio.insight.saliency import display_image, normalized, overlay

    img = np.zeros((8, 8, 1), np.float32)
    heat = np.zeros((2, 2), np.float32)
    heat[0, 0] = 1
    out = overlay(img, heat, alpha=0.5)
    assert out.shape == (8, 8, 3) and out.dtype == np.float32
    assert out[0, 0].sum() > out[7, 7].sum()
    assert np.allclose(overlay(img, heat, alpha=0.0), 0)
    std = display_image(np.array([[-2.0, 0.0], [1.0, 2.0]]))
    assert std.shape == (2, 2, 3) and std.min() == 0 and std.max() == 1
    assert normalized(np.array([-2.0, 1.0])).tolist() == [1.0, 0.5]
    with pytest.raises(ValueError, match="alpha"):
        overlay(img, heat, alpha=2)


# ----------------------------------------------------------------- dlstudio saliency
@pytest.fixture(scope="module")
def digits_run(tmp_path_factory, keras):
    from dlstudio import RESOURCES
    from dlstudio.compile import build_model
    from dlstudio.project import load_project, save_project
    from dlstudio.runs import create_run, runs_dir

    project = load_project(RESOURCES / "examples" / "digits_cnn.dlsproj")
    path = save_project(project, tmp_path_factory.mktemp("cli") / "digits.dlsproj")
    run = create_run(runs_dir(path), {"graph": project.graph.to_dict(), "dataset": "digits", "status": "finished",
                                      "settings": {"seed": 0}})
    keras.utils.set_random_seed(4)
    build_model(project.graph).save_weights(run.weights_path)
    return path, run.id


def test_cli_saliency_writes_three_pictures_side_by_side(digits_run, tmp_path, capsys):
    from PIL import Image

    from dlstudio.cli import run_cli

    project, run_id = digits_run
    out = tmp_path / "saliency.png"
    assert run_cli(["saliency", str(project), "--run", run_id, "--sample", "5", "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert "explained class" in text and "Grad-CAM at conv2 (4x4)" in text and "logits" in text
    with Image.open(out) as im:
        w, h = im.size
    assert w > 3 * h * 0.8  # three tiles in a row (plus captions below)
    assert run_cli(["saliency", str(project), "--sample", "5", "--class", "3", "-o", str(out)]) == 0
    assert "explained class 3" in capsys.readouterr().out  # --run defaults to the last run
    assert run_cli(["saliency", str(project), "--sample", "5", "--class", "12", "-o", str(out)]) == 1
    assert "class 12 is out of range" in capsys.readouterr().err


def test_cli_saliency_needs_a_conv_layer(tmp_path, capsys, keras):
    from dlstudio.cli import run_cli
    from dlstudio.compile import build_model
    from dlstudio.graph import Graph
    from dlstudio.project import new_project, save_project
    from dlstudio.runs import create_run, runs_dir

    project = new_project("mlp")
    g: Graph = project.graph
    g.add_node("Input", {"shape": [8, 8, 1]}, name="image", id="in")
    g.add_node("Flatten", {}, name="flat", id="f")
    g.add_node("Dense", {"units": 10, "activation": "softmax"}, name="out", id="d")
    g.connect("in", "f")
    g.connect("f", "d")
    path = save_project(project, tmp_path / "mlp.dlsproj")
    run = create_run(runs_dir(path), {"graph": g.to_dict(), "dataset": "digits", "status": "finished"})
    build_model(g).save_weights(run.weights_path)
    assert run_cli(["saliency", str(path), "--sample", "0", "-o", str(tmp_path / "s.png")]) == 1
    assert "no convolution layer" in capsys.readouterr().err
