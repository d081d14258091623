"""The gallery: every example file loads, validates without problems, explains
itself (what it shows, then the result to expect) and trains a short budget
through the command line. Parametrised over the files found, so every new
example is covered."""

from __future__ import annotations

import json
import math
import re
import shutil
from pathlib import Path

import pytest

from dlstudio.gallery import (
    CATEGORY_KEYS,
    EXAMPLES_DIR,
    GalleryError,
    by_category,
    infer_category,
    list_examples,
    matches,
    read_entry,
    split_notes,
)

EXAMPLE_FILES = sorted(EXAMPLES_DIR.glob("*.dlsproj"))
IDS = [p.stem for p in EXAMPLE_FILES]
#: The CI budget: one epoch on the first samples of each split (the full budget is in benchmarks/gallery.py).
SHORT_SAMPLES = 256


def _all_graphs(project):
    return [("graph", project.graph)] + [(f"graphs.{k}", g) for k, g in (getattr(project, "graphs", None) or {}).items()]


def test_the_gallery_has_the_lecture_examples():
    stems = set(IDS)
    for stem in ("perceptron_xor", "xor_mlp", "spiral_mlp", "sine_regression", "moons_classification",
                 "deep_sigmoid", "relu_he_batchnorm", "overfitting_mlp", "dropout_early_stopping",
                 "augmentation_digits", "digits_cnn", "small_vgg", "resnet_block", "inception_block",
                 "autoencoder_digits", "adversarial_digits"):
        assert stem in stems


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=IDS)
def test_example_explains_itself(path):
    entry = read_entry(path)
    assert entry.title and len(entry.title) <= 60, "the title is the card's heading: short"
    assert len(entry.description) >= 80, f"{path.name}: the first paragraph of the notes says what it shows"
    assert entry.claim, (f"{path.name}: after the first paragraph the notes give the result to expect after "
                         "the full training budget")
    assert entry.category in CATEGORY_KEYS


@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=IDS)
def test_example_loads_and_validates_without_problems(path):
    from dlstudio.compile import analyze
    from dlstudio.project import load_project

    project = load_project(path)
    assert project.name == read_entry(path).title
    for where, graph in _all_graphs(project):
        analysis = analyze(graph)
        assert not analysis.problems, f"{path.name} {where}: {[str(p) for p in analysis.problems]}"
        assert len(graph) >= 2


@pytest.mark.slow  # 4-18 s per example measured on 2 shared, busy cores (tf.function tracing dominates)
@pytest.mark.parametrize("path", EXAMPLE_FILES, ids=IDS)
def test_example_trains_a_short_budget_from_the_command_line(path, tmp_path, capsys):
    from dlstudio.cli import run_cli

    copy = tmp_path / path.name  # runs go beside the project: keep them out of resources/
    shutil.copy(path, copy)
    code = run_cli(["train", str(copy), "--epochs", "1", "--max-samples", str(SHORT_SAMPLES),
                    "--run-dir", str(tmp_path / "runs"), "--json"])
    out, err = capsys.readouterr()
    assert code == 0, f"{path.name}: exit {code}\n{err[-2000:]}"
    metrics = json.loads(out.strip().splitlines()[-1])
    assert metrics["epochs"] == 1
    numbers = {k: v for k, v in metrics.items() if isinstance(v, float)}
    assert numbers and all(math.isfinite(v) for v in numbers.values()), metrics
    assert list((tmp_path / "runs").iterdir()), "a run folder is recorded"
    if json.loads(path.read_text(encoding="utf-8")).get("gan") is None:  # the GAN loop reports its own way
        started = re.search(r"\((\d+) samples\)", err)  # the engine's Started line
        assert started and int(started.group(1)) <= SHORT_SAMPLES, err[-500:]


# ------------------------------------------------------------------- listing
def test_listing_is_in_lecture_order_and_needs_no_keras():
    import subprocess
    import sys

    code = ("import sys; from dlstudio.gallery import list_examples; e, p = list_examples(); "
            "print(len(e), len(p), 'keras' in sys.modules, 'tensorflow' in sys.modules, 'PySide6' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(len(EXAMPLE_FILES)), "0", "False", "False", "False"]
    entries, problems = list_examples()
    assert not problems
    order = [e.stem for e in entries]
    assert order.index("perceptron_xor") < order.index("xor_mlp") < order.index("deep_sigmoid")
    assert order.index("relu_he_batchnorm") < order.index("digits_cnn") < order.index("autoencoder_digits")
    assert order[-1] == "adversarial_digits" or read_entry(EXAMPLES_DIR / f"{order[-1]}.dlsproj").category == "adversarial"
    groups = by_category(entries)
    assert [k for k, _ in groups] == [k for k in CATEGORY_KEYS if any(e.category == k for e in entries)]
    assert sum(len(items) for _, items in groups) == len(entries)


def test_split_notes_first_paragraph_and_the_rest():
    assert split_notes("What it shows,\nwrapped.\n\nExpected: 90%.\n\nMore.") == (
        "What it shows, wrapped.", "Expected: 90%.\n\nMore.")
    assert split_notes("") == ("", "")
    assert split_notes("Only one.") == ("Only one.", "")


def _write(folder: Path, stem: str, doc: dict) -> Path:
    path = folder / f"{stem}.dlsproj"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def _doc(name: str, types: list[str], dataset: str = "digits", **extra) -> dict:
    nodes = [{"id": f"n{i}", "type": t, "name": f"l{i}", "params": {}} for i, t in enumerate(types)]
    return {"format_version": 1, "name": name, "notes": "Shows.\n\nExpect.", "graph": {"nodes": nodes, "edges": []},
            "dataset": {"name": dataset, "options": {}}, **extra}


def test_unknown_examples_are_placed_by_what_they_hold(tmp_path):
    assert infer_category("x", _doc("a", ["Input", "LSTM", "Dense"], "hello")) == "sequences"
    assert infer_category("x", _doc("a", ["Input", "Dense"], "sine_series")) == "sequences"
    assert infer_category("x", _doc("a", ["Input", "Dense"], gan={"latent_dim": 8})) == "generative"
    assert infer_category("my_autoencoder", _doc("a", ["Input", "Dense"])) == "generative"
    assert infer_category("x", _doc("a", ["Input", "Conv2D", "Dense"])) == "cnn"
    assert infer_category("x", _doc("a", ["Input", "Dense", "Dropout", "Dense"])) == "regularisation"
    assert infer_category("x", _doc("a", ["Input", "Dense"], training={"adversarial": "fgsm"})) == "adversarial"
    assert infer_category("x", _doc("a", ["Input", "Dense"])) == "basics"
    _write(tmp_path, "zz_new_cnn", _doc("A new CNN", ["Input", "Conv2D"]))
    _write(tmp_path, "digits_cnn", _doc("Digits", ["Input", "Conv2D"]))
    _write(tmp_path, "aa_basic", _doc("Basic", ["Input", "Dense"]))
    entries, problems = list_examples(tmp_path)
    assert not problems
    # a known example keeps its lecture place; an unknown one follows the known ones of its category
    assert [(e.stem, e.category) for e in entries] == [
        ("aa_basic", "basics"), ("digits_cnn", "cnn"), ("zz_new_cnn", "cnn")]


def test_a_broken_file_is_reported_by_name_and_the_others_still_listed(tmp_path):
    (tmp_path / "broken.dlsproj").write_text("{ not json", encoding="utf-8")
    (tmp_path / "nameless.dlsproj").write_text("[]", encoding="utf-8")
    _write(tmp_path, "fine", _doc("Fine", ["Input", "Dense"]))
    entries, problems = list_examples(tmp_path)
    assert [e.stem for e in entries] == ["fine"]
    assert len(problems) == 2 and problems[0].startswith("broken.dlsproj: cannot be read")
    assert problems[1] == "nameless.dlsproj: not a project file (no 'name')"
    with pytest.raises(GalleryError, match="broken.dlsproj"):
        read_entry(tmp_path / "broken.dlsproj")


def test_search_matches_every_word_in_title_notes_dataset_and_layers():
    entry = read_entry(EXAMPLES_DIR / "small_vgg.dlsproj")
    assert matches(entry, "vgg")
    assert matches(entry, "Conv2D shapes")
    assert matches(entry, "")
    assert not matches(entry, "vgg lstm")
