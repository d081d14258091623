"""Per-class ROC and PR curves, the reliability diagram and ECE; `dlstudio evaluate --json` carries them."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from dlstudio.training.curves import classification_curves, reliability


def _softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_areas_match_scikit_learn_and_perfect_ranking_is_one():
    from sklearn.metrics import average_precision_score, roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 300)
    p = _softmax(rng.normal(size=(300, 3)) + 2.0 * np.eye(3)[y])
    curves = classification_curves(y, p, ["a", "b", "c"])
    for k, c in enumerate(curves.classes):
        assert c.roc_auc == pytest.approx(roc_auc_score(y == k, p[:, k]))
        assert c.pr_auc == pytest.approx(average_precision_score(y == k, p[:, k]))
        assert c.fpr[0] == 0 and c.tpr[-1] == 1 and c.support == int((y == k).sum())
    assert 0.7 < curves.macro_roc_auc < 1.0
    perfect = classification_curves(y, np.eye(3)[y] * 0.9 + 0.1 / 3)
    assert perfect.macro_roc_auc == 1.0 and perfect.macro_pr_auc == 1.0
    d = curves.to_dict(points=True)
    assert [c["name"] for c in d["curves"]] == ["a", "b", "c"] and len(d["curves"][0]["fpr"]) > 2
    json.dumps(d)


def test_ece_is_small_when_calibrated_and_large_when_overconfident():
    rng = np.random.default_rng(1)
    n = 20000
    conf = rng.uniform(0.5, 1.0, n)
    right = rng.uniform(size=n) < conf  # correct exactly as often as it claims
    y = np.where(right, 1, 0)
    p = np.stack([1 - conf, conf], axis=1)
    calibrated = reliability(y, p)
    assert calibrated.ece < 0.02 and calibrated.counts.sum() == n
    assert np.allclose(calibrated.accuracy, calibrated.confidence, atol=0.03)
    over = np.stack([np.full(n, 0.01), np.full(n, 0.99)], axis=1)  # 99% sure, right 75% of the time
    y2 = (rng.uniform(size=n) < 0.75).astype(int)
    assert reliability(y2, over).ece == pytest.approx(0.24, abs=0.02)


def test_a_class_without_test_samples_has_no_area():
    y = np.array([0, 0, 1, 1])
    p = np.array([[0.8, 0.1, 0.1], [0.6, 0.3, 0.1], [0.2, 0.7, 0.1], [0.3, 0.6, 0.1]])
    curves = classification_curves(y, p)
    assert np.isnan(curves.classes[2].roc_auc)
    assert curves.to_dict()["curves"][2]["roc_auc"] is None
    assert curves.macro_roc_auc == 1.0  # NaN areas are left out of the mean
    assert reliability(y, p).ece == pytest.approx(np.mean([0.2, 0.4, 0.3, 0.4]), abs=1e-9)


def test_cli_evaluate_json_has_roc_pr_and_ece(tmp_path, capsys):
    from dlstudio import RESOURCES
    from dlstudio.cli import run_cli

    project = tmp_path / "xor.dlsproj"
    shutil.copy(RESOURCES / "examples" / "xor_mlp.dlsproj", project)
    assert run_cli(["train", str(project), "--epochs", "3"]) == 0
    capsys.readouterr()
    assert run_cli(["evaluate", str(project), "--json"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out.strip().splitlines()[-1])
    assert all(0.0 <= c["roc_auc"] <= 1.0 and 0.0 <= c["pr_auc"] <= 1.0 for c in data["per_class"])
    assert 0.0 <= data["ece"] <= 1.0 and sum(data["reliability"]["counts"]) == data["samples"]
    assert "expected calibration error" in err
