"""``dlstudio data list`` and ``dlstudio data show``: output, pictures, exit codes."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlstudio.cli import run_cli
from dlstudio.cli.data import option_value


def cli(capsys, *args):
    code = run_cli([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_list_shows_every_dataset(capsys):
    code, out, _ = cli(capsys, "data", "list")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["Name", "Category", "Source"]
    rows = {line.split()[0]: line for line in lines[2:] if line.strip() and not line.endswith("describes one")}
    for name in ("digits", "spirals", "iris"):
        assert name in rows and "offline" in rows[name]
    assert "Two spirals" in rows["spirals"] and "toy" in rows["spirals"]
    if "mnist" in rows:
        assert "download" in rows["mnist"]


def test_list_json(capsys):
    code, out, _ = cli(capsys, "data", "list", "--json")
    assert code == 0
    items = {d["name"]: d for d in json.loads(out)}
    assert items["digits"]["category"] == "images" and items["digits"]["offline"] is True
    assert {o["name"] for o in items["digits"]["options"]} >= {"flatten", "size"}


def test_show_describes_a_dataset(capsys):
    code, out, _ = cli(capsys, "data", "show", "digits")
    assert code == 0
    assert out.startswith("digits: ")
    assert "train" in out and "test" in out
    assert "(8, 8, 1)" in out and "10 classes" in out
    assert "class balance (train):" in out
    assert sum(1 for line in out.splitlines() if line.strip().endswith("\u2588")) >= 10  # one bar per class


def test_show_json_and_options(capsys):
    code, out, _ = cli(capsys, "data", "show", "digits", "--option", "flatten=true", "--option", "size=16",
                       "--seed", "3", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["input_shape"] == [256] and info["kind"] == "table"
    assert info["options"]["flatten"] is True and info["options"]["size"] == 16 and info["seed"] == 3
    assert sum(info["class_balance"]["train"]) == info["sizes"]["train"]
    assert len(info["classes"]) == 10


def test_option_values_are_json_when_they_parse():
    assert option_value("3") == 3 and option_value("0.25") == 0.25
    assert option_value("true") is True and option_value("null") is None
    assert option_value("hello world") == "hello world" and option_value("data/x.csv") == "data/x.csv"


def test_show_text_dataset_prints_samples(capsys):
    code, out, _ = cli(capsys, "data", "show", "hello", "--option", "word=hello", "--option", "window=2")
    assert code == 0
    assert "samples (input \u2192 next):" in out and "\u201che\u201d" in out


def test_show_writes_an_image_grid(capsys, tmp_path):
    from PIL import Image

    path = tmp_path / "digits.png"
    code, out, _ = cli(capsys, "data", "show", "digits", "-o", path, "--samples", "20")
    assert code == 0 and "grid of 20 samples" in out
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.ndim == 3 and img.shape[0] > 100 and img.shape[1] > 100
    assert (img == 0).all(axis=-1).any() and (img == 255).all(axis=-1).any()  # black digits on white gutters


def test_show_writes_a_scatter_plot(capsys, tmp_path):
    from PIL import Image

    from dlstudio.data.grid import class_color

    path = tmp_path / "spirals.png"
    code, out, _ = cli(capsys, "data", "show", "spirals", "--option", "samples=200", "-o", path)
    assert code == 0 and "scatter plot" in out
    img = np.asarray(Image.open(path).convert("RGB"))
    for c in (0, 1):
        assert (img == np.array(class_color(c), np.uint8)).all(axis=-1).sum() > 50


def test_show_refuses_a_picture_of_a_table(capsys, tmp_path):
    path = tmp_path / "iris.png"
    code, _, err = cli(capsys, "data", "show", "iris", "-o", path)
    assert code == 1 and "no picture" in err
    assert not path.exists()


@pytest.mark.parametrize("args, message", [
    (("nope",), "unknown dataset 'nope'"),
    (("digits", "--option", "size=9"), "must be one of"),
    (("digits", "--option", "colour=true"), "has no option 'colour'"),
    (("spirals", "--option", "samples=abc"), "must be a whole number"),
    (("digits", "--option", "size"), "KEY=VALUE"),
])
def test_bad_names_and_options_exit_1_with_the_message(capsys, args, message):
    code, out, err = cli(capsys, "data", "show", *args)
    assert code == 1
    assert message in err and err.startswith("error: ")


def test_data_without_subcommand_is_a_usage_error(capsys):
    code, out, _ = cli(capsys, "data")
    assert code == 2 and "list" in out and "show" in out
