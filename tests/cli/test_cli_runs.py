"""What ``--run`` and ``--runs-dir`` mean on the command line: the same in every command
that reads a run (an id, a unique prefix, ``last``, ``best`` or a run folder's path),
resolved once through dlstudio.runs; ``train --runs-dir`` (alias ``--run-dir``) names
where runs go, and the reading commands find them there. Errors print as they are."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

import dlstudio
from dlstudio import RESOURCES
from dlstudio.cli import run_cli
from dlstudio.cli.common import resolve_run
from dlstudio.errors import DLStudioError
from dlstudio.project import load_project
from dlstudio.runs import NoRunsYet, RunNotFound

XOR = RESOURCES / "examples" / "xor_mlp.dlsproj"
RING = RESOURCES / "examples" / "mlp_gan_ring.dlsproj"


def cli(capsys, *args):
    code = run_cli([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def unique_prefix(run_id: str, ids) -> str:
    """The shortest start of ``run_id`` that no other id shares."""
    return next(run_id[:n] for n in range(1, len(run_id) + 1) if sum(i.startswith(run_id[:n]) for i in ids) == 1)


def last_json(out: str) -> dict:
    return json.loads(out.strip().splitlines()[-1])


# ------------------------------------------------------------ defect 6: the user's steps
@pytest.fixture(scope="module")
def xor_runs(tmp_path_factory):
    """xor_mlp trained twice into a runs folder of the user's choice (once with the
    ``--run-dir`` alias), the project's own NAME.runs left empty."""
    folder = tmp_path_factory.mktemp("runs_dir")
    project = folder / "xor.dlsproj"
    shutil.copy(XOR, project)
    runs = folder / "elsewhere"
    assert run_cli(["train", str(project), "--epochs", "1", "--runs-dir", str(runs)]) == 0
    assert run_cli(["train", str(project), "--epochs", "3", "--run-dir", str(runs)]) == 0
    return project, runs


def newest_of(runs):
    """The run created last in a runs folder (two runs started in one second share the
    stamp of their ids: their run.json's created_ns orders them)."""
    infos = {p.name: json.loads((p / "run.json").read_text()) for p in runs.iterdir()}
    return max(infos, key=lambda i: (i[:15], infos[i].get("created_ns", 0)))


def test_train_runs_dir_then_evaluate_finds_the_runs_there(xor_runs, capsys):
    project, runs = xor_runs
    ids = sorted(p.name for p in runs.iterdir())
    assert len(ids) == 2 and not (project.parent / "xor.runs").exists()  # both flags wrote to DIR/<id>/
    code, out, err = cli(capsys, "evaluate", project, "--runs-dir", runs, "--json")
    assert code == 0, err
    assert last_json(out)["run"] == newest_of(runs)  # 'last' is the newest run in that folder


def test_evaluate_and_predict_take_the_path_of_a_run_folder(xor_runs, capsys, tmp_path):
    project, runs = xor_runs
    first = sorted(runs.iterdir())[0]
    code, out, err = cli(capsys, "evaluate", project, "--run", first, "--json")
    assert code == 0, err
    assert last_json(out)["run"] == first.name
    rows = tmp_path / "points.csv"
    rows.write_text("x1,x2\n1,-1\n")
    code, out, err = cli(capsys, "predict", project, rows, "--run", first, "--json")
    assert code == 0, err
    assert last_json(out)["run"] == first.name


def test_run_prefix_last_and_best_in_a_runs_dir(xor_runs, capsys):
    project, runs = xor_runs
    infos = {p.name: json.loads((p / "run.json").read_text()) for p in runs.iterdir()}
    best = min(infos, key=lambda i: infos[i]["metrics"]["test_loss"])
    newest = newest_of(runs)
    for ref, want in (("last", newest), ("best", best), (unique_prefix(newest, infos), newest), (newest, newest)):
        code, out, err = cli(capsys, "evaluate", project, "--runs-dir", runs, "--run", ref, "--json")
        assert code == 0, (ref, err)
        assert last_json(out)["run"] == want, ref
    code, _, err = cli(capsys, "evaluate", project, "--runs-dir", runs, "--run", "2")  # both ids start with 2
    assert code == 1 and "matches several runs" in err and err.startswith("error: ")


def test_sample_a_gan_run_from_its_folder_path(capsys, tmp_path):
    project = tmp_path / "ring.dlsproj"
    shutil.copy(RING, project)
    runs = tmp_path / "gan-runs"
    code, out, err = cli(capsys, "train", project, "--epochs", "1", "--max-samples", "256", "--runs-dir", runs,
                         "--json")
    assert code == 0, err
    run = Path(last_json(out)["run"])
    assert run.parent == runs
    for how in (["--run", run], ["--runs-dir", runs], ["--runs-dir", runs, "--run", run.name[:-2]]):
        png = tmp_path / "grid.png"
        code, out, err = cli(capsys, "sample", project, *how, "-n", "16", "-o", png, "--json")
        assert code == 0, (how, err)
        assert last_json(out)["run"] == run.name and png.is_file()
        png.unlink()


# ------------------------------------------------------------ messages
def test_no_runs_yet_names_the_folder_and_the_command_to_run(xor_runs, capsys, tmp_path):
    project, _ = xor_runs
    empty = tmp_path / "empty"
    code, _, err = cli(capsys, "evaluate", project, "--runs-dir", empty)
    assert code == 1
    assert err.startswith(f"error: xor.dlsproj has no runs yet in {empty}")
    assert f"(dlstudio train xor.dlsproj --runs-dir {empty})" in err
    code, _, err = cli(capsys, "featuremaps", project, "--runs-dir", empty, "--sample", "0", "-o", tmp_path / "x.png")
    assert code == 1 and "no runs yet" in err and "leave out --run to look at the untrained graph" in err


def test_a_folder_that_is_not_a_run(xor_runs, capsys, tmp_path):
    project, _ = xor_runs
    (tmp_path / "notarun").mkdir()
    code, _, err = cli(capsys, "evaluate", project, "--run", tmp_path / "notarun")
    assert code == 1 and "is not a run folder: it has no run.json" in err


def _fake_runs(folder: Path) -> list:
    """Three runs with weights and test losses, and a newer one without weights (one a minute)."""
    runs = []
    for i, (loss, status) in enumerate(((0.5, "finished"), (0.2, "finished"), (0.9, "stopped"), (None, "running"))):
        run = open_run_folder(folder / f"20260101-12{i:02d}00-ab{i:02d}",
                              {"status": status, "metrics": {"test_loss": loss} if loss else {}})
        if loss:
            (run.path / "model.weights.h5").write_bytes(b"")
        runs.append(run)
    return runs


def open_run_folder(path: Path, info: dict):
    from dlstudio.runs import open_run

    path.mkdir(parents=True)
    (path / "run.json").write_text(json.dumps({"id": path.name, **info}))
    return open_run(path)


def test_resolve_run_is_one_meaning_of_run(tmp_path):
    project = load_project(XOR)
    folder = tmp_path / "runs"
    runs = _fake_runs(folder)
    ids = [r.id for r in runs]
    assert resolve_run(project, "last", str(folder)).id == ids[2]  # the newest with weights
    assert resolve_run(project, None, str(folder)).id == ids[2]
    assert resolve_run(project, "best", str(folder)).id == ids[1]  # the lowest test loss
    assert resolve_run(project, ids[0], str(folder)).id == ids[0]
    assert resolve_run(project, str(runs[0].path)).id == ids[0]  # a path needs no --runs-dir
    assert resolve_run(project, unique_prefix(ids[0], ids), str(folder)).id == ids[0]
    with pytest.raises(RunNotFound, match="'nope' is not a run of xor_mlp.dlsproj"):
        resolve_run(project, "nope", str(folder))
    with pytest.raises(NoRunsYet, match=r"\(dlstudio train xor_mlp.dlsproj --runs-dir "):
        resolve_run(project, "last", str(tmp_path / "none"))


# ------------------------------------------------------------ errors print as they are
class _OurError(DLStudioError):
    pass


@pytest.mark.parametrize("exc, expected", [
    (_OurError("the message, as it is"), "error: the message, as it is\n"),
    (FileNotFoundError(2, "No such file or directory", "x.csv"), "error: [Errno 2] No such file or directory: 'x.csv'\n"),
])
def test_our_errors_and_file_errors_print_as_they_are(monkeypatch, capsys, exc, expected):
    import dlstudio.cli.project as project_cli

    def fail(_args):
        raise exc

    monkeypatch.setattr(project_cli, "cmd_validate", fail)
    assert cli(capsys, "validate", XOR) == (1, "", expected)


def test_unexpected_errors_say_it_is_a_bug(monkeypatch, capsys):
    import dlstudio.cli.project as project_cli

    def fail(_args):
        raise KeyError("boom")

    monkeypatch.setattr(project_cli, "cmd_validate", fail)
    code, _, err = cli(capsys, "validate", XOR)
    assert code == 1 and err.startswith("error: unexpected KeyError: 'boom'") and "DLSTUDIO_DEBUG=1" in err


# ------------------------------------------------------------ the package's shape
CLI = Path(dlstudio.__file__).parent / "cli"


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module:
            yield node.module, [a.name for a in node.names]
        elif isinstance(node, ast.Import):
            yield from ((a.name, []) for a in node.names)


def test_no_command_module_imports_a_private_name():
    bad = [(p.name, module, name) for p in CLI.glob("*.py") for module, names in _imports(p)
           for name in names if name.startswith("_") and not name.endswith("__") and module.startswith("dlstudio")]
    assert not bad


def test_no_core_module_imports_the_cli():
    root = CLI.parent
    bad = [str(p.relative_to(root)) for p in root.rglob("*.py")
           if not p.is_relative_to(CLI) and not p.is_relative_to(root / "qt") and p.name != "__main__.py"
           and any(m == "dlstudio.cli" or m.startswith("dlstudio.cli.") for m, _ in _imports(p))]
    assert not bad


def test_every_reading_command_takes_run_and_runs_dir():
    from dlstudio.cli import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command")
    reading = ("evaluate", "predict", "featuremaps", "saliency", "attack", "sample", "export", "generate",
               "translate", "forecast", "explain", "embed")
    for name in reading:
        flags = {f for action in sub.choices[name]._actions for f in action.option_strings}
        assert {"--run", "--runs-dir", "--run-dir"} <= flags, name
    train = {f for action in sub.choices["train"]._actions for f in action.option_strings}
    assert {"--runs-dir", "--run-dir"} <= train
