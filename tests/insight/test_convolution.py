"""Convolution by hand: the lecture's Sobel example, Keras Conv2D agreement, kernels in Conv2D nodes."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.insight.convolution import (
    PRESETS,
    conv_kernel_params,
    convolve,
    kernel_initializer,
    kernel_of,
    lecture_image,
    output_size,
    preset,
    preset_name,
    set_conv_kernel,
)


def test_lecture_sobel_case_exactly():
    img = lecture_image()
    assert img.shape == (6, 6)
    assert (img[:, :3] == 5).all() and (img[:, 3:] == 0).all()
    out = convolve(img, PRESETS["sobel_vertical"], padding="valid", stride=1)
    assert out.shape == (4, 4)
    for row in out:
        assert row.tolist() == [0, 20, 20, 0]


def test_presets_are_the_lecture_matrices():
    assert PRESETS["blur"].tolist() == [[1, 1, 1], [1, 1, 1], [1, 1, 1]]
    assert np.allclose(preset("blur", normalized=True), np.full((3, 3), 1 / 9))
    assert PRESETS["sharpen"].tolist() == [[0, -1, 0], [-1, 5, -1], [0, -1, 0]]
    assert PRESETS["edge_detect"].tolist() == [[0, 1, 0], [1, -4, 1], [0, 1, 0]]
    assert PRESETS["sobel_vertical"].tolist() == [[1, 0, -1], [2, 0, -2], [1, 0, -1]]
    assert (PRESETS["sobel_horizontal"] == PRESETS["sobel_vertical"].T).all()
    assert preset("sharpen", normalized=True).tolist() == PRESETS["sharpen"].tolist()  # sums to 1 already
    assert preset_name(np.full((3, 3), 1 / 9)) == "blur" and preset_name(np.ones((2, 2))) is None
    with pytest.raises(ValueError, match="unknown kernel preset"):
        preset("nope")


def test_identity_keeps_the_image_and_shapes_follow_keras():
    rng = np.random.default_rng(0)
    img = rng.random((7, 9))
    assert np.allclose(convolve(img, PRESETS["identity"], padding="same"), img)
    for padding in ("valid", "same"):
        for stride in (1, 2, 3):
            out = convolve(img, PRESETS["blur"], padding=padding, stride=stride)
            assert out.shape == (output_size(7, 3, padding, stride), output_size(9, 3, padding, stride))


@pytest.fixture(scope="module")
def keras():
    from dlstudio.backend import load_keras

    return load_keras()


@pytest.mark.parametrize("padding", ["valid", "same"])
@pytest.mark.parametrize("stride", [1, 2])
@pytest.mark.parametrize("kernel_shape", [(3, 3), (5, 5), (4, 2)])
def test_convolve_matches_keras_conv2d(keras, padding, stride, kernel_shape):
    rng = np.random.default_rng(sum(kernel_shape) + stride)
    img = rng.normal(size=(9, 8, 3)).astype(np.float32)
    kernel = rng.normal(size=kernel_shape + (3, 4)).astype(np.float32)
    layer = keras.layers.Conv2D(4, kernel_shape, strides=stride, padding=padding, use_bias=False)
    layer.build((None, 9, 8, 3))
    layer.set_weights([kernel])
    expected = np.asarray(layer(img[None]))[0]
    assert np.allclose(convolve(img, kernel, padding, stride), expected, atol=1e-4)
    # a 2-D kernel on a grey image is Conv2D with a (kh, kw, 1, 1) kernel
    grey = img[..., :1]
    k2 = kernel[:, :, 0, 0]
    one = keras.layers.Conv2D(1, kernel_shape, strides=stride, padding=padding, use_bias=False)
    one.build((None, 9, 8, 1))
    one.set_weights([k2[:, :, None, None]])
    assert np.allclose(convolve(grey[..., 0], k2, padding, stride), np.asarray(one(grey[None]))[0, ..., 0],
                       atol=1e-4)
    # (kh, kw, C): summed over the channels; (kh, kw) on a colour image: per channel
    assert np.allclose(convolve(img, kernel[..., 0], padding, stride), expected[..., 0], atol=1e-4)
    per = convolve(img, k2, padding, stride)
    assert per.shape[-1] == 3 and np.allclose(per[..., 1], convolve(img[..., 1], k2, padding, stride))


def test_convolve_rejects_bad_input():
    with pytest.raises(ValueError, match="padding"):
        convolve(np.zeros((4, 4)), np.ones((3, 3)), padding="full")
    with pytest.raises(ValueError, match="does not fit"):
        convolve(np.zeros((2, 2)), np.ones((3, 3)))
    with pytest.raises(ValueError, match="input channels"):
        convolve(np.zeros((4, 4, 3)), np.ones((3, 3, 1)))
    with pytest.raises(ValueError, match="stride"):
        convolve(np.zeros((4, 4)), np.ones((3, 3)), stride=0)


def test_a_preset_in_a_conv2d_node_builds_an_edge_detector(keras):
    from dlstudio.compile import analyze, build_model
    from dlstudio.graph import Graph
    from dlstudio.project import new_project, project_from_json, project_to_json

    project = new_project("edges")
    g = project.graph
    g.add_node("Input", {"shape": [6, 6, 1]}, name="image", id="in")
    g.add_node("Conv2D", {"filters": 8, "kernel_size": 5, "activation": "linear"}, name="edges", id="c")
    g.connect("in", "c")
    old = set_conv_kernel(g, "c", "sobel_vertical")
    assert old["filters"] == 8
    params = g.node("c").params
    assert params["kernel_size"] == [3, 3] and params["filters"] == 1 and params["use_bias"] is False
    assert kernel_of(params).tolist() == PRESETS["sobel_vertical"].tolist()
    assert not analyze(g).errors
    # it survives a save and load, and the model computes the lecture result
    g2 = project_from_json(project_to_json(project)).graph
    model = build_model(g2)
    out = np.asarray(model(lecture_image()[None, :, :, None].astype(np.float32)))[0, :, :, 0]
    assert out.tolist() == [[0, 20, 20, 0]] * 4
    # several filters and colour inputs: the kernel is broadcast
    g3 = Graph()
    g3.add_node("Input", {"shape": [6, 6, 3]}, name="image", id="in")
    g3.add_node("Conv2D", conv_kernel_params({}, PRESETS["edge_detect"], filters=None), name="c", id="c")
    g3.connect("in", "c")
    kernel = np.asarray(build_model(g3).get_layer("c").kernel)
    assert kernel.shape == (3, 3, 3, 32) and (kernel == PRESETS["edge_detect"][:, :, None, None]).all()


def test_set_conv_kernel_only_for_conv2d():
    from dlstudio.graph import Graph

    g = Graph()
    g.add_node("Dense", {"units": 3}, name="d", id="d")
    with pytest.raises(ValueError, match="Conv2D"):
        set_conv_kernel(g, "d", "blur")
    assert kernel_initializer(np.eye(2))["config"]["value"] == [[[[1.0]], [[0.0]]], [[[0.0]], [[1.0]]]]
    assert kernel_of({"kernel_initializer": "he_normal"}) is None
