"""Pictures of datasets (grid.py) and the augmentation preview (augment.py)."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.data import load_dataset
from dlstudio.data.grid import (
    class_balance, class_color, grid_geometry, image_grid, points_plot, sample_indices, save_png, text_preview,
)
from dlstudio.graph import Graph

BG = (10, 20, 30)


# ------------------------------------------------------------------- image grid
def test_known_image_lands_in_its_tile():
    images = np.zeros((5, 4, 3, 1), np.float32)
    images[3] = 1.0  # the only white image
    out = image_grid(images, columns=2, scale=2, gutter=2, background=BG)
    geo = grid_geometry(5, 4, 3, columns=2, scale=2, gutter=2)
    assert out.dtype == np.uint8 and out.shape == (geo.height, geo.width, 3)
    assert (geo.rows, geo.columns) == (3, 2)
    assert geo.height == 2 + 3 * (8 + 2) and geo.width == 2 + 2 * (6 + 2)
    top, left = geo.origin(3)
    assert (top, left) == (2 + 10, 2 + 8)  # second row, second column
    assert (out[top:top + 8, left:left + 6] == 255).all()
    for i in (0, 1, 2, 4):
        t, l = geo.origin(i)
        assert (out[t:t + 8, l:l + 6] == 0).all()
    # gutters and the empty sixth cell keep the background
    assert tuple(out[0, 0]) == BG and tuple(out[top - 1, left]) == BG
    t, l = geo.origin(5)
    assert (out[t:t + 8, l:l + 6] == np.array(BG, np.uint8)).all()
    assert geo.index_at(top + 3, left + 2) == 3 and geo.index_at(0, 0) is None and geo.index_at(t + 1, l + 1) is None


def test_rgb_grey_and_clipping():
    rgb = np.zeros((2, 2, 2, 3), np.float32)
    rgb[0, ..., 0] = 1.0  # red
    rgb[1] = 2.0  # clipped to white
    out = image_grid(rgb, columns=2, scale=1, gutter=1)
    geo = grid_geometry(2, 2, 2, columns=2, scale=1, gutter=1)
    t, l = geo.origin(0)
    assert tuple(out[t, l]) == (255, 0, 0)
    t, l = geo.origin(1)
    assert tuple(out[t, l]) == (255, 255, 255)
    grey = image_grid(np.full((1, 3, 3), 0.5), scale=1, gutter=0)  # (N, H, W) without channels
    assert grey.shape == (3, 3, 3) and (grey == 128).all()
    with pytest.raises(ValueError):
        image_grid(np.zeros((2, 3, 3, 2)))


def test_labels_are_drawn_under_the_tiles():
    images = np.zeros((4, 8, 8, 1), np.float32)
    plain = image_grid(images, scale=4, gutter=2)
    labelled = image_grid(images, labels=["zero", "one", "two", "three"], scale=4, gutter=2)
    assert labelled.shape[0] > plain.shape[0] and labelled.shape[1] == plain.shape[1]
    caption = labelled[2 + 32:2 + 32 + 10, 2:2 + 32]  # under the first tile
    assert (caption < 200).any(), "no caption text drawn"
    with pytest.raises(ValueError):
        image_grid(images, labels=["too", "few"])


def test_auto_scale_makes_small_images_readable():
    out = image_grid(np.zeros((1, 8, 8, 1)), gutter=0)
    assert out.shape[:2] == (56, 56)


def test_save_png_round_trip(tmp_path):
    from PIL import Image

    a = image_grid(np.random.default_rng(0).uniform(size=(6, 5, 5, 3)), scale=2)
    path = save_png(a, tmp_path / "grid.png")
    back = np.asarray(Image.open(path).convert("RGB"))
    assert back.shape == a.shape and (back == a).all()


# ---------------------------------------------------------------------- scatter
def test_points_plot_puts_classes_where_they_are():
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.normal(-1, 0.1, (100, 2)), rng.normal(1, 0.1, (100, 2))])
    y = np.repeat([0, 1], 100)
    img = points_plot(x, y, ["low", "high"], size=300)
    assert img.dtype == np.uint8 and img.shape == (300, 300, 3)

    def centre(c):
        ys, xs = np.nonzero((img == np.array(class_color(c), np.uint8)).all(axis=-1))
        assert len(xs) > 50, f"class {c} not drawn"
        return xs.mean(), ys.mean()

    (x0, y0), (x1, y1) = centre(0), centre(1)
    assert x0 < 150 < x1  # class 0 on the left, class 1 on the right
    assert y0 > y1  # and lower (image rows grow downwards)
    assert class_color(0) != class_color(1)


def test_points_plot_checks_its_input():
    with pytest.raises(ValueError):
        points_plot(np.zeros((3, 3)), np.zeros(3, int))
    img = points_plot(np.zeros((0, 2)), np.zeros(0, int), size=(200, 120))
    assert img.shape == (120, 200, 3)


# ---------------------------------------------------------------- text, helpers
def test_text_preview_decodes_characters():
    d = load_dataset("hello", {"window": 3})
    text = text_preview(d, 3)
    lines = text.splitlines()
    assert len(lines) == 3
    assert all("\u2192" in line for line in lines)
    assert any("\u201chel\u201d" in line and line.endswith("l") for line in lines)


def test_sample_indices_show_every_class_first():
    y = np.array([0] * 50 + [1] * 5 + [2] * 20)
    idx = sample_indices(y, 6, seed=1)
    assert sorted(y[idx[:3]].tolist()) == [0, 1, 2]
    assert len(set(idx.tolist())) == 6
    assert (sample_indices(y, 6, seed=1) == idx).all()
    assert len(sample_indices(np.linspace(0, 1, 30), 10)) == 10  # regression targets
    assert len(sample_indices(y, 500)) == len(y)


def test_class_balance():
    assert class_balance(np.array([0, 2, 2, 1, 2]), 4).tolist() == [1, 1, 3, 0]
    assert class_balance(np.array([0.5, 1.5]), 2).tolist() == []


# ------------------------------------------------------------------ augmentation
AUGMENTED = ("RandomFlip", "RandomRotation", "RandomZoom", "RandomTranslation", "RandomContrast", "GaussianNoise")


def _augmented_graph(shape=(8, 8, 1)) -> Graph:
    """Input -> every augmentation layer -> Flatten -> Dense, added out of order."""
    g = Graph()
    g.add_node("Input", {"shape": list(shape)}, name="image", id="in")
    g.add_node("GaussianNoise", {"stddev": 0.2}, name="noise", id="noise")  # added first, applied last
    g.add_node("RandomFlip", {"mode": "horizontal_and_vertical"}, name="flip", id="flip")
    g.add_node("RandomRotation", {"factor": 0.25}, name="rotate", id="rotate")
    g.add_node("RandomZoom", {"height_factor": 0.2}, name="zoom", id="zoom")
    g.add_node("RandomTranslation", {"height_factor": 0.2, "width_factor": 0.2}, name="shift", id="shift")
    g.add_node("RandomContrast", {"factor": 0.5}, name="contrast", id="contrast")
    g.add_node("Flatten", {}, name="flat", id="flat")
    chain = ["in", "flip", "rotate", "zoom", "shift", "contrast", "noise", "flat"]
    for a, b in zip(chain, chain[1:]):
        g.connect(a, b)
    return g


def test_augmentation_nodes_in_topological_order():
    from dlstudio.data.augment import augmentation_nodes

    g = _augmented_graph()
    assert [n.name for n in augmentation_nodes(g)] == ["flip", "rotate", "zoom", "shift", "contrast", "noise"]
    plain = Graph()
    plain.add_node("Input", {"shape": [4]}, id="i")
    assert augmentation_nodes(plain) == []


@pytest.fixture(scope="module")
def sample():
    d = load_dataset("digits", {"size": 16})
    return d.x_train[0]


def test_preview_is_deterministic_for_a_seed(sample):
    from dlstudio.data.augment import preview

    g = _augmented_graph(sample.shape)
    a = preview(g, sample, n=16, seed=0)
    b = preview(g, sample, n=16, seed=0)
    c = preview(g, sample, n=16, seed=1)
    assert a.shape == (16, *sample.shape) and a.dtype == np.float32
    assert np.array_equal(a, b)
    assert not np.allclose(a, c)
    assert not np.allclose(a[0], a[1]), "the 16 versions should differ from each other"
    assert not np.allclose(a[0], sample)


def test_preview_accepts_layer_lists_and_crops(sample):
    from dlstudio.data.augment import AugmentationError, preview

    out = preview([("RandomCrop", {"height": 10, "width": 12})], sample, n=3, seed=5)
    assert out.shape == (3, 10, 12, 1)
    same = preview([{"type": "RandomFlip", "params": {"mode": "horizontal"}}], sample, n=4, seed=2)
    assert np.array_equal(same, preview([("RandomFlip", {"mode": "horizontal"})], sample, n=4, seed=2))
    assert np.array_equal(preview([], sample, n=2), np.stack([sample, sample]))
    with pytest.raises(AugmentationError, match="Dense"):
        preview([("Dense", {"units": 3})], sample)
    with pytest.raises(AugmentationError, match="rate|factor|stddev"):
        preview([("GaussianNoise", {"stddev": -1.0})], sample)


def test_augmentation_is_a_no_op_at_inference(sample):
    """The compiled model changes nothing in inference mode; in training mode it does."""
    from dlstudio.compile import build_model

    g = _augmented_graph(sample.shape)
    model = build_model(g)
    x = np.stack([sample, sample[::-1]]).astype(np.float32)
    out = np.asarray(model(x, training=False))
    assert np.allclose(out, x.reshape(2, -1), atol=1e-6)
    trained = np.asarray(model(x, training=True))
    assert not np.allclose(trained, x.reshape(2, -1))
