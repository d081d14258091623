"""``dlstudio export``: formats from the suffix, clear errors, JSON output, and the graph
as PNG/SVG drawn by the canvas' own code in a Qt child process."""

from __future__ import annotations

import json

import pytest

from dlstudio.cli import run_cli
from dlstudio.project import new_project, save_project
from tests.export.conftest import chain


def test_format_from_the_suffix_and_json_output(digits_run, tmp_path, capsys):
    project, run = digits_run
    out = tmp_path / "digits.tflite"
    assert run_cli(["export", str(project.path), "--run", run.id[:10], "-o", str(out), "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out.strip().splitlines()[-1])
    assert result["format"] == "tflite" and result["path"] == str(out) and result["run"] == run.id
    assert result["samples_checked"] == 8 and result["max_difference"] < 1e-5
    assert "left out flip, drop" in captured.err and "outputs match Keras" in captured.err
    assert out.stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["-o", "model.bin"], "model.bin: cannot tell the format from the name; give --format"),
    (["-o", "m.onnx", "--run", "zzz"], "'zzz' is not a run of digits.dlsproj"),
    (["-o", "m.keras", "--weights", "best"], "has no best weights: best.weights.h5 is missing"),
    (["-o", "exists.onnx"], "exists.onnx already exists; use --force to replace it"),
])
def test_bad_requests_are_one_clear_line(digits_run, tmp_path, monkeypatch, capsys, argv, message):
    project, _ = digits_run
    monkeypatch.chdir(tmp_path)
    (tmp_path / "exists.onnx").write_text("x")
    assert run_cli(["export", str(project.path), *argv]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["exists.onnx"]


def test_a_project_without_runs(tmp_path, capsys):
    project = new_project("fresh")
    project.graph = chain(("Input", {"shape": [2]}), ("Dense", {"units": 1}))
    save_project(project, tmp_path / "fresh.dlsproj")
    assert run_cli(["export", str(tmp_path / "fresh.dlsproj"), "-o", str(tmp_path / "m.onnx")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: fresh.dlsproj has no runs yet") and "(dlstudio train fresh.dlsproj)" in err


@pytest.mark.slow  # a Qt child process that loads Keras for the shapes on the wires
def test_the_graph_as_png_and_svg(digits_run, tmp_path, capsys):
    project, _run = digits_run
    png, svg = tmp_path / "graph.png", tmp_path / "graph.svg"
    assert run_cli(["export", str(project.path), "-o", str(png)]) == 0  # the project's graph
    assert run_cli(["export", str(project.path), "--run", "last", "-o", str(svg)]) == 0  # the run's graph
    from PIL import Image

    with Image.open(png) as im:
        assert im.format == "PNG" and im.width > 200 and im.height > 400  # a tall chain of 7 nodes
        colours = im.convert("RGB").getcolors(1 << 20)
        assert colours is not None and len(colours) > 50  # drawn, not blank
    text = svg.read_text(encoding="utf-8")
    assert text.lstrip().startswith("<?xml") and "<svg" in text
    for name in ("image", "conv", "digit"):
        assert f">{name}<" in text or f"{name}</text>" in text or name in text
    assert sorted(p.name for p in tmp_path.iterdir()) == ["graph.png", "graph.svg"]
