"""Feature maps, filters and weight histograms of Keras models."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture(scope="module")
def keras():
    from dlstudio.backend import load_keras

    return load_keras()


@pytest.fixture(scope="module")
def digits_model(keras):
    from dlstudio import RESOURCES
    from dlstudio.compile import build_model
    from dlstudio.project import load_project

    keras.utils.set_random_seed(0)
    return build_model(load_project(RESOURCES / "examples" / "digits_cnn.dlsproj").graph)


def test_probe_equals_a_direct_keras_sub_model(keras, digits_model):
    from dlstudio.insight.activations import ActivationProbe

    probe = ActivationProbe(digits_model)
    names = ["conv1", "pool1", "conv2", "pool2", "flatten", "fc1", "digit"]
    assert probe.layer_names == names
    assert probe.shapes["conv1"] == (8, 8, 16) and probe.kinds["conv1"] == "maps"
    assert probe.kinds["fc1"] == "vector"
    x = np.random.default_rng(0).random((3, 8, 8, 1)).astype(np.float32)
    got = probe.probe(x)
    for name in names:
        sub = keras.Model(digits_model.inputs[0], digits_model.get_layer(name).output)
        expected = np.asarray(sub(x, training=False))
        assert got[name].shape == expected.shape
        assert np.allclose(got[name], expected, atol=1e-5), name
    one = probe(x[1])  # a single sample: no batch axis
    assert one["conv2"].shape == (4, 4, 32) and np.allclose(one["conv2"], got["conv2"][1], atol=1e-6)


def test_probe_checks_its_input_and_layers(digits_model):
    from dlstudio.insight.activations import ActivationProbe, InsightError, probe_for

    probe = probe_for(digits_model)
    assert probe_for(digits_model) is probe  # cached per model
    with pytest.raises(InsightError, match=r"takes samples of shape \(8, 8, 1\)"):
        probe.probe(np.zeros((2, 28, 28, 1)))
    with pytest.raises(InsightError, match="no layer named 'nope'"):
        ActivationProbe(digits_model, layers=["nope"])
    assert ActivationProbe(digits_model, layers=["conv2"]).layer_names == ["conv2"]


def test_channel_grid_one_normalised_tile_per_channel():
    from dlstudio.insight.activations import channel_grid

    rng = np.random.default_rng(1)
    act = rng.normal(size=(5, 6, 4)) * np.array([1, 10, 100, 0])  # channel 3 is dead (all 0)
    tiles = channel_grid(act)
    assert tiles.shape == (4, 5, 6) and tiles.dtype == np.float32
    for c in range(3):
        assert tiles[c].min() == 0 and tiles[c].max() == pytest.approx(1)
        expected = (act[..., c] - act[..., c].min()) / np.ptp(act[..., c])
        assert np.allclose(tiles[c], expected, atol=1e-6)
    assert (tiles[3] == 0).all()
    layer = channel_grid(act, normalize="layer")
    assert layer.min() == 0 and layer.max() == pytest.approx(1)
    assert np.ptp(layer[0]) < np.ptp(layer[2])  # brightness compares across channels
    assert channel_grid(act[None]).shape == (4, 5, 6)
    assert channel_grid(np.arange(7.0)).shape == (7, 1, 1)
    with pytest.raises(ValueError, match="normalize"):
        channel_grid(act, normalize="global")


def test_first_layer_filters_keep_zero_at_half(digits_model):
    from dlstudio.insight.activations import first_layer_filters

    f = first_layer_filters(digits_model)
    kernel = np.asarray(digits_model.get_layer("conv1").kernel)
    assert f.shape == (16, 3, 3, 1)
    assert f.min() >= 0 and f.max() <= 1
    k0 = kernel[..., 0]
    assert np.allclose(f[0], k0 / (2 * np.abs(k0).max()) + 0.5, atol=1e-6)
    assert np.isclose(np.abs(f[0] - 0.5).max(), 0.5)
    assert first_layer_filters(digits_model, "conv2").shape == (32, 3, 3, 16)


def test_no_conv_layer_is_a_clear_error(keras):
    from dlstudio.insight.activations import InsightError, first_layer_filters

    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2)(inp))
    with pytest.raises(InsightError, match="no 2-D convolution"):
        first_layer_filters(model)


def test_weight_histograms(digits_model):
    from dlstudio.insight.activations import weight_histograms

    h = weight_histograms(digits_model, bins=20)
    assert list(h) == ["conv1", "conv2", "fc1", "digit"]
    counts, edges = h["conv1"]["kernel"]
    assert counts.sum() == 3 * 3 * 1 * 16 and len(edges) == 21
    counts, edges = h["fc1"]["bias"]  # all zeros: a unit range around 0
    assert counts.sum() == 64 and edges[0] == -0.5 and edges[-1] == 0.5


def test_colorize_uses_the_lookup_tables():
    from dlstudio.insight.activations import LUTS, colorize

    rgb = colorize(np.array([[0.0, 1.0], [np.nan, 2.0]]), "viridis")
    assert rgb.shape == (2, 2, 3) and rgb.dtype == np.uint8
    assert (rgb[0, 0] == LUTS["viridis"][0]).all() and (rgb[1, 1] == LUTS["viridis"][255]).all()
    assert (rgb[1, 0] == LUTS["viridis"][0]).all()
    with pytest.raises(ValueError, match="colour map"):
        colorize(np.zeros(2), "rainbow")


# ----------------------------------------------------------------- dlstudio featuremaps
@pytest.fixture(scope="module")
def digits_project_with_run(tmp_path_factory, keras):
    """A saved digits CNN project with one run (untrained weights saved as the run's)."""
    from dlstudio import RESOURCES
    from dlstudio.compile import build_model
    from dlstudio.project import load_project, save_project
    from dlstudio.runs import create_run, runs_dir

    project = load_project(RESOURCES / "examples" / "digits_cnn.dlsproj")
    path = save_project(project, tmp_path_factory.mktemp("cli") / "digits.dlsproj")
    run = create_run(runs_dir(path), {"graph": project.graph.to_dict(), "dataset": "digits", "status": "finished",
                                      "settings": {"seed": 0}})
    keras.utils.set_random_seed(3)
    build_model(project.graph).save_weights(run.weights_path)
    return path, run.id


def test_cli_featuremaps_writes_a_png(digits_project_with_run, tmp_path, capsys):
    from PIL import Image

    from dlstudio.cli import run_cli

    project, run_id = digits_project_with_run
    out = tmp_path / "maps.png"
    assert run_cli(["featuremaps", str(project), "--sample", "3", "-o", str(out)]) == 0
    assert "untrained graph, test #3" in capsys.readouterr().out
    with Image.open(out) as im:
        untrained = np.asarray(im.convert("RGB"))
    assert untrained.shape[0] > 200 and untrained.shape[1] > 200
    assert run_cli(["featuremaps", str(project), "--run", run_id[:10], "--sample", "3", "--layer", "conv2",
                    "-o", str(out)]) == 0
    text = capsys.readouterr().out
    assert f"run {run_id}" in text and "1 layer, 32 maps" in text
    with Image.open(out) as im:
        assert im.size[0] > 100


@pytest.mark.parametrize("args, message", [
    (["--sample", "360"], "sample 360 is out of range: the test split of digits has 360 samples"),
    (["--sample", "1", "--layer", "nope"], "no layer named 'nope'"),
    (["--sample", "1", "--run", "zzz"], "has no runs yet"),
])
def test_cli_featuremaps_errors(args, message, tmp_path, capsys):
    from dlstudio import RESOURCES
    from dlstudio.cli import run_cli

    project = tmp_path / "digits.dlsproj"
    project.write_bytes((RESOURCES / "examples" / "digits_cnn.dlsproj").read_bytes())
    assert run_cli(["featuremaps", str(project), *args, "-o", str(tmp_path / "x.png")]) == 1
    assert message in capsys.readouterr().err
    assert not (tmp_path / "x.png").exists()


def test_cli_featuremaps_needs_images_and_a_sample(tmp_path, capsys):
    from dlstudio import RESOURCES
    from dlstudio.cli import run_cli

    spiral = RESOURCES / "examples" / "spiral_mlp.dlsproj"
    assert run_cli(["featuremaps", str(spiral), "--sample", "0", "-o", str(tmp_path / "x.png")]) == 1
    assert "feature maps and saliency need images" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exc:
        run_cli(["featuremaps", str(spiral), "-o", str(tmp_path / "x.png")])  # --sample is required
    assert exc.value.code == 2
