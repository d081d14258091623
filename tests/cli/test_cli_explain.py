"""`dlstudio explain` (maps, --npy, --check, --json) and `dlstudio embed` (PNG, CSV) on a trained digits CNN."""

from __future__ import annotations

import csv
import importlib.util
import json
import shutil

import numpy as np
import pytest

from dlstudio import RESOURCES
from dlstudio.cli import run_cli


def cli(capsys, *args):
    code = run_cli([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    project = tmp_path_factory.mktemp("explain") / "digits.dlsproj"
    shutil.copy(RESOURCES / "examples" / "digits_cnn.dlsproj", project)
    assert run_cli(["train", str(project), "--epochs", "6", "--batch-size", "32"]) == 0
    return project


def test_explain_ig_writes_map_array_and_check(capsys, digits, tmp_path):
    from PIL import Image

    png, npy = tmp_path / "map.png", tmp_path / "map.npy"
    code, out, err = cli(capsys, "explain", digits, "--method", "ig", "--sample", "2", "-o", png, "--npy", npy,
                         "--check", "--check-samples", "6", "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    assert data["method"] == "ig" and data["completeness_error"] < 0.02 and data["options"]["steps"] == 64
    assert np.load(npy).shape == (8, 8, 1)
    assert abs(np.load(npy).sum() - (data["f_x"] - data["f_baseline"])) < 0.02 * abs(data["f_x"] - data["f_baseline"])
    check = data["check"]
    assert check["layers"] == ["trained", "digit", "fc1", "conv2", "conv1"] and check["samples"] == 6
    assert check["passed"] and check["final"] < 0.5
    assert "completeness" in err and "model randomisation check" in err and "conv1" in err
    with Image.open(png) as im:
        assert im.size[0] > 2.5 * im.size[1]  # sample | map | overlay


def test_explain_other_methods_and_classes(capsys, digits, tmp_path):
    for method in ("saliency", "gradcam", "smoothgrad", "occlusion"):
        code, out, err = cli(capsys, "explain", digits, "--method", method, "--sample", "0", "--class", "true",
                             "-o", tmp_path / f"{method}.png", "--npy", tmp_path / f"{method}.npy")
        assert code == 0, err
        assert (tmp_path / f"{method}.png").stat().st_size > 0
    assert np.load(tmp_path / "gradcam.npy").shape == (4, 4)  # the last convolution's map
    code, out, err = cli(capsys, "explain", digits, "--method", "saliency", "--sample", "0", "--class", "12",
                         "-o", tmp_path / "x.png")
    assert code == 1 and "class 12 is out of range" in err
    code, out, err = cli(capsys, "explain", digits, "--method", "ig", "--sample", "0", "--baseline", "grey",
                         "-o", tmp_path / "x.png")
    assert code == 1 and "--baseline" in err


def test_embed_writes_points_and_csv(capsys, digits, tmp_path):
    png, table = tmp_path / "points.png", tmp_path / "points.csv"
    code, out, err = cli(capsys, "embed", digits, "--method", "pca", "-o", png, "--csv", table, "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    assert data["layer"] == "fc1" and data["points"] == 360 and data["knn_accuracy"] > 0.5
    with open(table, newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["index", "x", "y", "true", "predicted", "correct"] and len(rows) == 361
    assert sum(int(r[5]) == 0 for r in rows[1:]) == data["misclassified"]
    code, out, err = cli(capsys, "embed", digits, "--layer", "conv2", "--max-points", "150", "-o", png)
    assert code == 0, err  # (t-SNE: the projector's test)
    assert "conv2: PCA of 150 test samples" in err + out
    code, out, err = cli(capsys, "embed", digits, "--layer", "nope", "-o", png)
    assert code == 1 and "no layer named 'nope'" in err
    if importlib.util.find_spec("umap") is None:
        code, out, err = cli(capsys, "embed", digits, "--method", "umap", "-o", png)
        assert code == 1 and "umap-learn" in err


def test_explain_and_embed_a_text_classifier_per_token(capsys, tmp_path):
    """The BiLSTM review classifier (weights as built, seeded): attribution per token, the
    projection of its penultimate layer, and the nearest tokens of a word."""
    from dlstudio.backend import load_keras
    from dlstudio.compile import build_model
    from dlstudio.project import load_project, save_project
    from dlstudio.runs import create_run, runs_dir

    project = load_project(RESOURCES / "examples" / "bilstm_classifier.dlsproj")
    project.dataset.options = {**project.dataset.options, "samples": 600}
    path = save_project(project, tmp_path / "reviews.dlsproj")
    run = create_run(runs_dir(path), {"graph": project.graph.to_dict(), "dataset": project.dataset.name,
                                      "status": "finished", "settings": {"seed": 0}})
    load_keras().utils.set_random_seed(3)
    build_model(project.graph).save_weights(run.weights_path)
    npy = tmp_path / "tokens.npy"
    code, out, err = cli(capsys, "explain", path, "--method", "ig", "--sample", "1", "-o", tmp_path / "t.png",
                         "--npy", npy, "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    assert data["unit"] == "token" and np.load(npy).shape == (24,) and data["completeness_error"] < 0.02
    code, out, err = cli(capsys, "embed", path, "--max-points", "100", "-o", tmp_path / "p.png", "--nearest",
                         "good", "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    assert data["points"] == 100 and len(data["nearest"]) == 10 and "nearest to 'good'" in err
    code, out, err = cli(capsys, "embed", path, "-o", tmp_path / "p.png", "--nearest", "zzzqqq")
    assert code == 1 and "not in the vocabulary" in err
