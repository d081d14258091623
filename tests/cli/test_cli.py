"""The command line: exit codes, output formats, no tracebacks for bad input."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dlstudio import RESOURCES
from dlstudio.cli import run_cli

EXAMPLES = sorted((RESOURCES / "examples").glob("*.dlsproj"))
DIGITS = RESOURCES / "examples" / "digits_cnn.dlsproj"


def cli(capsys, *args):
    code = run_cli([str(a) for a in args])
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_help_is_fast_and_imports_no_tensorflow():
    code = ("import sys; from dlstudio.__main__ import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n"
            "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'heavy import'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "validate" in proc.stdout and "train" in proc.stdout


def test_python_dash_m_and_usage_errors_exit_2():
    proc = subprocess.run([sys.executable, "-m", "dlstudio", "summary"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "usage" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "dlstudio", "train", str(DIGITS), "--epochs", "0"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and "at least 1" in proc.stderr


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_example_validates(capsys, path):
    code, out, err = cli(capsys, "validate", path)
    assert code == 0, err
    assert "valid" in out
    assert "not checked" not in out  # checked against its dataset, which fits


def _edited(tmp_path, source, name, **params):
    """A copy of example ``source`` with node ``name``'s parameters changed."""
    data = json.loads(source.read_text())
    next(n for n in data["graph"]["nodes"] if n["name"] == name)["params"].update(params)
    path = tmp_path / source.name
    path.write_text(json.dumps(data))
    return path


def test_validate_names_the_node_and_the_fix_when_the_model_does_not_fit_its_data(capsys, tmp_path):
    wrong_input = _edited(tmp_path, DIGITS, "image", shape=[2])
    code, out, err = cli(capsys, "validate", wrong_input)
    assert code == 1
    lines = err.splitlines()
    i = lines.index("error: Input 'image' has shape (batch, 2) but digits gives (batch, 8, 8, 1): "
                    "set its shape to [8, 8, 1]")
    assert lines[i + 1] == "  fix: Set shape to (8, 8, 1)"
    code, out, err = cli(capsys, "validate", wrong_input, "--no-data")  # the graph alone
    assert "digits" not in err and "Conv2D 'conv1'" in err

    spirals = _edited(tmp_path, RESOURCES / "examples" / "spiral_mlp.dlsproj", "output", units=5,
                      activation="softmax")
    code, out, err = cli(capsys, "validate", spirals)
    assert code == 1
    assert ("error: the output layer Dense 'output' gives 5 values per sample, but spirals has 2 classes: "
            "set its units to 2\n  fix: Set units to 2") in err


def test_validate_says_when_the_dataset_could_not_be_checked(capsys, tmp_path):
    data = json.loads(DIGITS.read_text())
    data["dataset"] = {"name": "csv", "options": {"path": str(tmp_path / "missing.csv")}}
    path = tmp_path / "csv.dlsproj"
    path.write_text(json.dumps(data))
    code, out, err = cli(capsys, "validate", path)
    assert code == 0 and "warning: the model was not checked against its dataset" in out


def test_validate_reports_one_problem_per_line_naming_the_node(capsys, tmp_path):
    data = json.loads(DIGITS.read_text())
    nodes = {n["name"]: n["id"] for n in data["graph"]["nodes"]}
    # bypass Flatten: fc1 now receives the 4-D pooling output
    data["graph"]["edges"] = [e for e in data["graph"]["edges"]
                              if e["dst"] not in (nodes["flatten"], nodes["fc1"])]
    data["graph"]["edges"].append({"id": "bypass", "src": nodes["pool2"], "src_port": 0,
                                   "dst": nodes["fc1"], "dst_port": 0})
    for n in data["graph"]["nodes"]:
        if n["name"] == "conv1":
            n["params"]["filters"] = -2
    bad = tmp_path / "bad.dlsproj"
    bad.write_text(json.dumps(data))
    code, out, err = cli(capsys, "validate", bad)
    assert code == 1
    lines = [line for line in err.splitlines() if line.startswith("error:")]
    assert any("'conv1'" in line and "filters" in line for line in lines)
    assert any("'flatten'" in line for line in lines + out.splitlines())  # Flatten's input is now unconnected


def test_summary_json(capsys):
    code, out, _ = cli(capsys, "summary", DIGITS, "--json")
    assert code == 0
    data = json.loads(out.strip().splitlines()[-1])
    assert set(data) >= {"total_params", "layers"}
    layer = data["layers"][0]
    assert set(layer) >= {"id", "type", "output_shape", "params"}
    assert layer["type"] == "Input" and layer["output_shape"] == [None, 8, 8, 1]
    assert data["total_params"] == sum(x["params"] for x in data["layers"]) > 0
    conv = next(x for x in data["layers"] if x["name"] == "conv1")
    assert conv["params"] == 3 * 3 * 1 * 16 + 16
    assert conv["macs"] == 3 * 3 * 1 * 16 * 8 * 8


def test_summary_text_has_shapes_and_totals(capsys):
    code, out, _ = cli(capsys, "summary", DIGITS)
    assert code == 0
    assert "(batch, 8, 8, 16)" in out and "Total params:" in out and "Multiply-accumulates" in out


@pytest.mark.parametrize("content", ["{not json", '{"format_version": 1}', ""])
def test_bad_project_file_is_a_message_not_a_traceback(capsys, tmp_path, content):
    bad = tmp_path / "broken.dlsproj"
    bad.write_text(content)
    before = bad.read_bytes()
    for command in ("validate", "summary", "train"):
        code, out, err = cli(capsys, command, bad)
        assert code == 1
        assert "broken.dlsproj" in err
    assert bad.read_bytes() == before


def test_missing_project_file(capsys, tmp_path):
    code, _, err = cli(capsys, "validate", tmp_path / "nope.dlsproj")
    assert code == 1 and "nope.dlsproj" in err


def test_import_keras_model_then_validate_and_summary(capsys, tmp_path):
    import keras

    inp = keras.Input((4,), name="features")
    out = keras.layers.Dense(3, activation="softmax", name="probs")(
        keras.layers.Dense(8, activation="relu", name="hidden")(inp))
    model = keras.Model(inp, out)
    model.save(tmp_path / "m.keras")
    project = tmp_path / "imported.dlsproj"
    code, out_text, err = cli(capsys, "import", tmp_path / "m.keras", "-o", project)
    assert code == 0, err
    code, out_text, _ = cli(capsys, "summary", project, "--json")
    data = json.loads(out_text)
    assert data["total_params"] == model.count_params()
    assert [x["name"] for x in data["layers"]] == ["features", "hidden", "probs"]
    # importing again over an existing project needs --force
    code, _, err = cli(capsys, "import", tmp_path / "m.keras", "-o", project)
    assert code == 1 and "--force" in err


def test_import_refuses_lambda_and_garbage(capsys, tmp_path):
    import keras

    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Lambda(lambda t: t * 2, name="doubler")(inp))
    model.save(tmp_path / "lam.keras")
    code, _, err = cli(capsys, "import", tmp_path / "lam.keras", "-o", tmp_path / "x.dlsproj")
    assert code == 1 and "doubler" in err and "Lambda" in err
    assert not (tmp_path / "x.dlsproj").exists()
    (tmp_path / "junk.keras").write_bytes(b"\x00garbage")
    code, _, err = cli(capsys, "import", tmp_path / "junk.keras", "-o", tmp_path / "y.dlsproj")
    assert code == 1 and "junk.keras" in err


def test_train_json_last_line_and_run_dir(capsys, tmp_path):
    project = RESOURCES / "examples" / "xor_mlp.dlsproj"
    code, out, err = cli(capsys, "train", project, "--epochs", "2", "--batch-size", "64",
                         "--run-dir", tmp_path, "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["epochs"] == 2 and 0.0 <= result["test_accuracy"] <= 1.0
    runs = list(tmp_path.iterdir())
    assert len(runs) == 1 and (runs[0] / "run.json").is_file()
    assert "epoch 2/2" in err


def test_digits_cnn_reaches_95_percent_in_20_epochs(capsys, tmp_path):
    code, out, err = cli(capsys, "train", DIGITS, "--epochs", "20", "--run-dir", tmp_path, "--json")
    assert code == 0, err
    result = json.loads(out.strip().splitlines()[-1])
    assert result["test_accuracy"] >= 0.95
