"""``dlstudio search``: its last line with --json, its errors, and two worker processes sharing one
study storage finishing N trials between them with no trial run twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter

import pytest

from dlstudio.cli import run_cli
from dlstudio.project import load_project
from dlstudio.runs import RunStore
from dlstudio.search.study import load_study, trial_records
from tests.search.conftest import write_project


def cli(capsys, *args):
    code = run_cli([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_search_prints_the_best_trial_as_its_last_json_line(tmp_path, capsys):
    path = write_project(tmp_path)
    code, out, err = cli(capsys, "search", path, "--trials", "2", "--json", "--study", "quick")
    assert code == 0, err
    last = json.loads(out.strip().splitlines()[-1])
    assert last["trials"] == 2 and last["ran"] == 2 and last["metric"] == "val_accuracy"
    best = last["best"]
    assert best["run"] and set(best["params"]) == {"hidden.units", "learning_rate", "dropout", "depth"}
    assert "test_accuracy" in best["metrics"] and best["params_count"] > 0
    assert "study quick in sqlite:///" in err and "trial 1 complete: val_accuracy" in err
    # the study is complete: a second call runs nothing and reports the same best
    code, out, _ = cli(capsys, "search", path, "--trials", "2", "--json", "--study", "quick")
    again = json.loads(out.strip().splitlines()[-1])
    assert code == 0 and again["ran"] == 0 and again["best"]["run"] == best["run"]
    code, out, _ = cli(capsys, "search", path, "--study", "quick", "--show")
    lines = out.strip().splitlines()
    assert code == 0 and lines[0].split()[:3] == ["trial", "state", "val_accuracy"] and len(lines) == 3
    assert f"{last['best']['trial']} *" in out and best["run"] in out
    code, out, _ = cli(capsys, "search", path, "--study", "quick", "--show", "--json")
    shown = json.loads(out.strip().splitlines()[-1])
    assert [t["state"] for t in shown["trials"]] == ["complete", "complete"] and shown["best"] == last["best"]["trial"]
    code, _, err = cli(capsys, "search", path, "--study", "nothing here", "--show")
    assert code == 1 and "no study named 'nothing here'" in err


def test_search_refuses_a_project_without_a_space_and_a_broken_space(tmp_path, capsys):
    from dlstudio import RESOURCES

    code, _, err = cli(capsys, "search", RESOURCES / "examples" / "xor_mlp.dlsproj")
    assert code == 1 and "has no search section" in err
    path = write_project(tmp_path, objective={"metric": "val_f1", "direction": "maximize"})
    code, _, err = cli(capsys, "search", path)
    assert code == 1 and "the search cannot start" in err and "will not record 'val_f1'" in err
    assert not (tmp_path / "tiny.runs").exists()


@pytest.mark.slow
def test_two_workers_on_one_storage_finish_n_trials_between_them(tmp_path):
    path = write_project(tmp_path, trials=5)
    storage = f"sqlite:///{tmp_path / 'shared.db'}"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
    command = [sys.executable, "-m", "dlstudio", "search", str(path), "--storage", storage, "--study", "shared",
               "--json"]
    workers = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for _ in range(2)]
    outputs = [w.communicate(timeout=600) for w in workers]
    for w, (out, err) in zip(workers, outputs):
        assert w.returncode == 0, err[-2000:]
    lasts = [json.loads(out.strip().splitlines()[-1]) for out, _ in outputs]
    assert sum(last["ran"] for last in lasts) >= 5 and all(last["trials"] == 5 for last in lasts)
    study = load_study(load_project(path), storage, "shared")
    records = trial_records(study)
    assert sum(r.counted for r in records) == 5 and all(r.state == "complete" for r in records)
    runs = RunStore.of_project(path).runs()
    numbers = Counter(r.info["search"]["trial"] for r in runs)
    assert sorted(numbers) == [r.number for r in records] and set(numbers.values()) == {1}  # none run twice
    assert {r.info["search"]["study"] for r in runs} == {"shared"}


def test_validate_checks_the_search_space_too(tmp_path, capsys):
    from dlstudio import RESOURCES

    code, out, _ = cli(capsys, "validate", RESOURCES / "examples" / "spiral_mlp.dlsproj")
    assert code == 0 and "search: valid (3 searched: units, learning_rate, depth)" in out
    path = write_project(tmp_path, repeat=[{"name": "depth", "nodes": ["n9"], "min": 1, "max": 2}])
    code, _, err = cli(capsys, "validate", path, "--no-data")
    assert code == 1 and "error: search: depth: the graph has no node 'n9'" in err
