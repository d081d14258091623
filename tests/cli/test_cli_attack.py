"""`dlstudio attack`: exit codes, text and JSON output, galleries."""

from __future__ import annotations

import json

import pytest

from dlstudio import RESOURCES
from dlstudio.cli import run_cli


def cli(capsys, *args):
    code = run_cli([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def _small_digits(path):
    """The adversarial digits example at 8x8 (fast), two epochs."""
    data = json.loads((RESOURCES / "examples" / "adversarial_digits.dlsproj").read_text())
    data["graph"]["nodes"][0]["params"]["shape"] = [8, 8, 1]
    data["dataset"]["options"] = {"size": 8}
    data["training"]["epochs"] = 2
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def digits_project(tmp_path_factory):
    project = _small_digits(tmp_path_factory.mktemp("cli_attack") / "digits.dlsproj")
    assert run_cli(["train", str(project)]) == 0
    return project


def test_attack_prints_clean_and_adversarial_accuracy(capsys, digits_project):
    code, out, err = cli(capsys, "attack", digits_project, "--run", "last", "--method", "fgsm", "--eps", "0.2")
    assert code == 0, err
    assert "clean accuracy" in out and "adversarial accuracy" in out and "(eps 0.2)" in out
    assert "360 test samples, FGSM" in out


def test_attack_json_is_the_last_line(capsys, digits_project):
    code, out, err = cli(capsys, "attack", digits_project, "--method", "pgd", "--eps", "0.2", "--steps", "3",
                         "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    assert len(out.strip().splitlines()) == 1  # the text goes to stderr with --json
    assert "clean accuracy" in err
    assert data["method"] == "pgd" and data["eps"] == 0.2 and data["steps"] == 3 and data["n"] == 360
    assert data["adversarial_training"] == "none"
    assert 0.5 <= data["clean_accuracy"] <= 1 and data["adversarial_accuracy"] < data["clean_accuracy"]


def test_attack_with_several_eps_samples_and_a_gallery(capsys, digits_project, tmp_path):
    png = tmp_path / "gallery.png"
    code, out, err = cli(capsys, "attack", digits_project, "--eps", "0.05,0.3", "--samples", "50",
                         "--gallery", png, "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    assert data["eps"] == [0.05, 0.3] and data["n"] == 50
    low, high = data["adversarial_accuracy"]
    assert high <= low <= data["clean_accuracy"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and "gallery of" in err


def test_attack_deepfool_and_bim_run(capsys, digits_project):
    for method in ("deepfool", "bim"):
        code, out, err = cli(capsys, "attack", digits_project, "--method", method, "--samples", "20",
                             "--eps", "0.3", "--steps", "2", "--json")
        assert code == 0, err
        assert json.loads(out.strip().splitlines()[-1])["method"] == method


def test_attack_bad_input_exits_1_with_a_message(capsys, digits_project, tmp_path):
    code, _out, err = cli(capsys, "attack", digits_project, "--run", "nope")
    assert code == 1 and "'nope' is not a run" in err and "Traceback" not in err
    code, _out, err = cli(capsys, "attack", tmp_path / "missing.dlsproj")
    assert code == 1 and "error:" in err
    fresh = _small_digits(tmp_path / "fresh.dlsproj")
    code, _out, err = cli(capsys, "attack", fresh)
    assert code == 1 and "fresh.dlsproj has no runs yet" in err


def test_attack_usage_errors_exit_2(capsys, digits_project):
    for args in (["--eps", "-0.1"], ["--eps", "abc"], ["--eps", "2"], ["--method", "cw"], ["--steps", "0"]):
        with pytest.raises(SystemExit) as exc:
            run_cli(["attack", str(digits_project), *args])
        assert exc.value.code == 2
    capsys.readouterr()


def test_attack_refuses_a_regression_run(capsys, tmp_path):
    from dlstudio.graph import Graph
    from dlstudio.project import DatasetRef, new_project, save_project

    project = new_project("sine")
    g = Graph()
    x = g.add_node("Input", {"shape": [1]}, name="x")
    y = g.add_node("Dense", {"units": 1}, name="y")
    g.connect(x.id, y.id)
    project.graph = g
    project.dataset = DatasetRef(name="sine")
    project.training.epochs = 1
    path = save_project(project, tmp_path / "sine.dlsproj") or tmp_path / "sine.dlsproj"
    assert run_cli(["train", str(path)]) == 0
    code, _out, err = cli(capsys, "attack", path)
    assert code == 1 and "need a classifier" in err
