"""`dlstudio evaluate` and `dlstudio predict`: exit codes, text and JSON output;
the training progress bar of `dlstudio train`."""

from __future__ import annotations

import io
import json
import shutil
import sys

import pytest

from dlstudio import RESOURCES
from dlstudio.cli import run_cli
from dlstudio.cli.train import printer


def cli(capsys, *args):
    code = run_cli([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def xor_project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cli_eval")
    project = folder / "xor.dlsproj"
    shutil.copy(RESOURCES / "examples" / "xor_mlp.dlsproj", project)
    assert run_cli(["train", str(project), "--epochs", "3"]) == 0
    return project


def test_evaluate_text_and_json(capsys, xor_project):
    code, out, err = cli(capsys, "evaluate", xor_project)
    assert code == 0, err
    assert "test_accuracy" in out and "precision" in out and "confusion matrix" in out
    code, out, err = cli(capsys, "evaluate", xor_project, "--run", "last", "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    assert data["task"] == "classification" and data["dataset"] == "xor"
    assert sum(map(sum, data["confusion_matrix"])) == data["samples"] == 100
    assert {"test_loss", "test_accuracy"} <= set(data["metrics"])
    assert [c["name"] for c in data["per_class"]] == ["0", "1"]
    assert "confusion matrix" in err  # the human-readable part goes to stderr with --json
    code, out, err = cli(capsys, "evaluate", xor_project, "--weights", "best", "--json")
    assert code == 0 and json.loads(out.strip().splitlines()[-1])["weights"] == "best"


def test_predict_csv_text_and_json(capsys, xor_project, tmp_path):
    rows = tmp_path / "points.csv"
    rows.write_text("x1,x2\n1,-1\n-1,-1\n")
    code, out, err = cli(capsys, "predict", xor_project, rows, "--top", "1")
    assert code == 0, err
    assert "points.csv row 1:" in out and "points.csv row 2:" in out
    code, out, err = cli(capsys, "predict", xor_project, "--run", "last", rows, "--json")
    assert code == 0, err
    data = json.loads(out.strip().splitlines()[-1])
    assert data["task"] == "classification" and len(data["predictions"]) == 2
    top = data["predictions"][0]["top"]
    assert [t["class"] for t in top] and top[0]["probability"] >= top[-1]["probability"]


@pytest.mark.parametrize("args, message", [
    (["evaluate", "{p}", "--run", "nope"], "is not a run"),
    (["predict", "{p}", "{tmp}/missing.csv"], "missing.csv: no such file"),
    (["predict", "{p}", "{tmp}/bad.csv"], "bad.csv, line 1"),
])
def test_bad_input_is_exit_1_with_a_message(capsys, xor_project, tmp_path, args, message):
    (tmp_path / "bad.csv").write_text("1,2,3\n")
    argv = [a.format(p=xor_project, tmp=tmp_path) for a in args]
    code, _, err = cli(capsys, *argv)
    assert code == 1 and message in err and "Traceback" not in err


def test_project_without_runs(capsys, tmp_path):
    project = tmp_path / "fresh.dlsproj"
    shutil.copy(RESOURCES / "examples" / "xor_mlp.dlsproj", project)
    code, _, err = cli(capsys, "evaluate", project)
    assert code == 1 and "no runs yet" in err


def test_usage_errors_exit_2(capsys, xor_project):
    with pytest.raises(SystemExit) as exc:
        run_cli(["predict", str(xor_project)])  # no input file
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        run_cli(["evaluate", str(xor_project), "--weights", "middle"])
    assert exc.value.code == 2


def _events():
    from dlstudio.training.events import BatchEnd, EpochEnd, Finished, Started

    yield Started(2, 3, 90, "tensorflow")
    step = 0
    for epoch in (1, 2):
        for b in range(3):
            yield BatchEnd(epoch, b, step, 0.5)
            step += 1
        yield EpochEnd(epoch, 2, {"loss": 0.5}, 0.1, 900.0, 0.001)
    yield Finished({"test_loss": 0.5}, 2, False)


def test_train_progress_bar_only_on_a_terminal(capsys, monkeypatch):
    monkeypatch.setattr("sys.stdout", io.StringIO())  # not a terminal: plain epoch lines
    emit = printer(False)
    for e in _events():
        emit(e)
    plain = sys.stdout.getvalue()
    assert "\r" not in plain and plain.count("epoch ") == 2

    class Terminal(io.StringIO):
        def isatty(self):
            return True

    monkeypatch.setattr("sys.stdout", Terminal())
    emit = printer(False)
    for e in _events():
        emit(e)
    shown = sys.stdout.getvalue()
    assert "\r\x1b[K" in shown and "ETA" in shown and "samples/s" in shown and "3/3" in shown
    final = [line for line in shown.split("\n") if line]
    assert final[-1].endswith("\x1b[K") or "epoch 2/2  loss" in final[-1]  # the bar is cleared at the end
    assert shown.count("epoch 2/2  loss 0.5000") == 1

    monkeypatch.setattr("sys.stdout", Terminal())
    emit = printer(True)  # --json: never a bar (stdout must end with the JSON line)
    for e in _events():
        emit(e)
    assert "\r" not in sys.stdout.getvalue()
