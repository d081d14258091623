"""The GAN commands: train (dispatch), sample, validate."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from gan_samples import DCGAN, RING

from dlstudio.cli import run_cli
from dlstudio.data.grid import grid_geometry


def cli(capsys, *args):
    code = run_cli([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


@pytest.fixture(scope="module")
def trained_dcgan(tmp_path_factory):
    """The DCGAN template copied and trained for one epoch through the CLI."""
    folder = tmp_path_factory.mktemp("dcgan")
    project = folder / "dcgan.dlsproj"
    shutil.copy(DCGAN, project)
    assert run_cli(["train", str(project), "--epochs", "1", "--batch-size", "128"]) == 0
    return project


def test_train_runs_a_gan_and_prints_json(trained_dcgan, capsys, tmp_path):
    code, out, err = cli(capsys, "train", trained_dcgan, "--epochs", "1", "--run-dir", tmp_path, "--json")
    assert code == 0, err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["epochs"] == 1 and summary["steps"] == 1437 // 64  # digits' training split, batch 64
    assert {"d_loss", "g_loss", "d_real", "d_fake"} <= set(summary)
    assert "epoch 1/1" in err and "d_loss" in err
    code, out, err = cli(capsys, "train", trained_dcgan, "--epochs", "1", "--max-samples", "256",
                         "--run-dir", tmp_path, "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["steps"] == 256 // 64


def test_sample_writes_a_grid_of_the_right_size(trained_dcgan, capsys, tmp_path):
    png = tmp_path / "grid.png"
    code, out, err = cli(capsys, "sample", trained_dcgan, "--run", "last", "-n", "64", "-o", png)
    assert code == 0, err
    from PIL import Image

    image = np.asarray(Image.open(png))
    geo = grid_geometry(64, 8, 8, columns=8, scale=7)  # 8x8 digits at about 56 pixels a tile
    assert image.shape[:2] == (geo.height, geo.width)
    assert "wrote 64 samples" in out
    again = tmp_path / "again.png"
    assert run_cli(["sample", str(trained_dcgan), "-n", "64", "-o", str(again)]) == 0
    assert png.read_bytes() == again.read_bytes()  # the fixed noise: the same grid every time
    other = tmp_path / "other.png"
    assert run_cli(["sample", str(trained_dcgan), "-n", "64", "-o", str(other), "--seed", "7"]) == 0
    assert other.read_bytes() != png.read_bytes()


def test_sample_interpolation_is_one_row(trained_dcgan, capsys, tmp_path):
    png = tmp_path / "row.png"
    code, out, err = cli(capsys, "sample", trained_dcgan, "-o", png, "--interpolate", "9", "--json")
    assert code == 0, err
    info = json.loads(out.strip().splitlines()[-1])
    geo = grid_geometry(9, 8, 8, columns=9, scale=7)
    assert (info["height"], info["width"]) == (geo.height, geo.width) and info["samples"] == 9


def test_sample_refuses_what_it_cannot_do(capsys, tmp_path):
    xor = tmp_path / "xor.dlsproj"
    shutil.copy(DCGAN.parent / "xor_mlp.dlsproj", xor)
    code, _, err = cli(capsys, "sample", xor, "-o", tmp_path / "x.png")
    assert code == 1 and "not a GAN project" in err
    ring = tmp_path / "ring.dlsproj"
    shutil.copy(RING, ring)
    code, _, err = cli(capsys, "sample", ring, "-o", tmp_path / "x.png")
    assert code == 1 and "no runs yet" in err


def test_validate_reports_the_cross_graph_problem(capsys, tmp_path):
    data = json.loads(DCGAN.read_text())
    d_input = data["graphs"]["discriminator"]["nodes"][0]
    d_input["params"]["shape"] = [16, 16, 1]
    bad = tmp_path / "bad.dlsproj"
    bad.write_text(json.dumps(data))
    code, out, err = cli(capsys, "validate", bad)
    assert code == 1
    line = next(line for line in err.splitlines() if "expects" in line)
    assert line.startswith("error: generator output Conv2D 'image'") and "discriminator input Input 'image'" in line
    code, out, err = cli(capsys, "validate", DCGAN)
    assert code == 0 and "valid" in out


def test_summary_shows_both_networks(capsys):
    code, out, _ = cli(capsys, "summary", RING)
    assert code == 0
    assert "main graph (generator)" in out and "graph 'discriminator'" in out
    assert out.count("Total params:") == 2 and "real_or_fake" in out
    code, out, _ = cli(capsys, "summary", RING, "--json")
    summary = json.loads(out)
    d = summary["graphs"]["discriminator"]
    assert summary["layers"][0]["type"] == "Input" and d["layers"][-1]["name"] == "real_or_fake"
    assert d["total_params"] == sum(layer["params"] for layer in d["layers"]) > 0
