"""The hostile-input campaign of issue 15 as tests: each case generates its hostile input in
``tmp_path``, runs ``dlstudio`` as a child process under 60 s and 2 GB (hostile_cli.py), and asserts
exit 1 with a message that names the input and the limit, no traceback, nothing written outside
``tmp_path`` and the project and its runs as they were.

Each case starts a process that imports TensorFlow (several seconds), so they are marked slow.
"""

from __future__ import annotations

import json
import os
import sys

import pytest
from hostile_cli import assert_refused, snapshot
from hostile_files import (
    big_array_npy,
    flip_bits,
    keras_with_assets,
    lying_npz,
    nested_json,
    png_header_only,
    project,
    project_json,
    run_of,
    uint8_images,
)

pytestmark = pytest.mark.slow


# ------------------------------------------------------------------ data files and paths


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/urandom"])
def test_a_dataset_path_to_a_device_is_refused_unread(hostile, device):
    run, root = hostile
    proj = project(root / "work", dataset="text_file", options={"path": device})
    before = snapshot(root / "work")
    assert_refused(run(["train", proj]), device, "not a regular")
    assert snapshot(root / "work") == before


def test_text_windows_that_would_exhaust_memory_are_refused_before_allocating(hostile):
    run, root = hostile
    (root / "work" / "story.txt").write_text("the quick brown fox jumps over the lazy dog. " * 2700)  # ~120 KB
    proj = project(root / "work", dataset="text_file",
                   options={"path": "story.txt", "window": 10_000, "step": 1, "max_chars": 0})
    assert_refused(run(["train", proj]), "story.txt", "windows of 10000", "memory")


def test_an_npz_whose_header_declares_gigabytes_is_refused_before_loading(hostile):
    run, root = hostile
    lying_npz(root / "work" / "arrays.npz")
    proj = project(root / "work", dataset="numpy", options={"path": "arrays.npz"})
    assert_refused(run(["train", proj]), "arrays.npz", "arrays 'x', 'y'", "240.0 GB", "memory")


def test_an_npy_whose_header_declares_gigabytes_is_refused_before_loading(hostile):
    run, root = hostile
    big_array_npy(root / "work" / "x.npy", 2_000_000, 20_000)
    big_array_npy(root / "work" / "y.npy", 2_000_000, 1)
    proj = project(root / "work", dataset="numpy", options={"path": "x.npy", "labels": "y.npy"})
    assert_refused(run(["train", proj]), "x.npy", "memory")


def test_images_of_huge_dimensions_are_refused_from_their_header(hostile):
    run, root = hostile
    for cls in ("a", "b"):
        uint8_images(root / "work" / "imgs" / cls)
    for i in range(3):
        png_header_only(root / "work" / "imgs" / "a" / f"bomb{i}.png", 13_000, 13_000)
    proj = project(root / "work", dataset="image_folder", options={"path": "imgs", "size": 8})
    assert_refused(run(["train", proj]), "bomb0.png", "13000x13000", "megapixels")


def test_a_class_folder_linked_out_of_the_data_folder_is_refused(hostile):
    run, root = hostile
    uint8_images(root / "work" / "imgs" / "cats")
    uint8_images(root / "outside" / "system_images")
    os.symlink(root / "outside" / "system_images", root / "work" / "imgs" / "dogs")
    proj = project(root / "work", dataset="image_folder", options={"path": "imgs", "size": 8})
    assert_refused(run(["train", proj]), "dogs", "outside the data folder")


def test_an_image_linked_to_a_file_outside_is_refused(hostile):
    run, root = hostile
    for cls in ("cats", "dogs"):
        uint8_images(root / "work" / "imgs" / cls)
    os.symlink(root / "outside" / "secret.txt", root / "work" / "imgs" / "cats" / "passwd.png")
    proj = project(root / "work", dataset="image_folder", options={"path": "imgs", "size": 8})
    assert_refused(run(["train", proj]), "cats/passwd.png", "outside the data folder")


def test_a_data_file_linked_out_of_its_folder_is_refused(hostile):
    """The single file a csv/numpy/text dataset names may be a link within its own folder (as
    in a data folder), never to a file elsewhere such as /etc/passwd or a key."""
    run, root = hostile
    (root / "outside" / "rows.csv").write_text("a,b,label\n" + "".join(f"{i},{i % 3},{i % 2}\n" for i in range(40)))
    os.symlink(root / "outside" / "rows.csv", root / "work" / "data.csv")
    proj = project(root / "work", dataset="csv", options={"path": "data.csv"})
    assert_refused(run(["train", proj]), "data.csv", "outside the data folder")
    (root / "work" / "real.csv").write_text((root / "outside" / "rows.csv").read_text())
    os.symlink("real.csv", root / "work" / "alias.csv")  # a link that stays beside it is fine
    proj = project(root / "work", dataset="csv", options={"path": "alias.csv"})
    outcome = run(["validate", proj])
    assert outcome.code == 0 and "not checked" not in outcome.text, outcome.text


def test_relative_data_paths_are_read_from_the_projects_folder_wherever_it_starts(hostile):
    run, root = hostile
    folder = root / "work" / "proj"
    folder.mkdir()
    (folder / "data.csv").write_text("a,b,label\n" + "".join(f"{i % 7},{i % 3},{i % 2}\n" for i in range(60)))
    (root / "work" / "data.csv").write_text("this is not the file the project means\n")
    proj = project(folder, dataset="csv", options={"path": "data.csv"})
    outcome = run(["validate", proj], cwd=root / "work")  # started one folder above the project
    assert outcome.code == 0 and "not checked" not in outcome.text, outcome.text


def test_a_text_codec_that_is_not_a_text_encoding_is_refused(hostile):
    run, root = hostile
    (root / "work" / "story.txt").write_text("hello world " * 200)
    proj = project(root / "work", dataset="text_file", options={"path": "story.txt", "encoding": "rot13"})
    assert_refused(run(["train", proj]), "story.txt", "'rot13' is not a text encoding")


# ------------------------------------------------------------------ projects and models


def test_a_model_of_1e14_parameters_is_refused_by_validate_and_train(hostile):
    run, root = hostile
    proj = project(root / "work", graph="huge")
    assert_refused(run(["validate", proj, "--no-data"]), "100,000,760,000,010 parameters", "400.0 TB")
    assert_refused(run(["train", proj, "--max-samples", "64"]), "parameters", "memory")
    assert not (root / "work" / "p.runs").exists() or not any((root / "work" / "p.runs").iterdir())


def test_a_project_of_many_small_containers_is_refused_before_parsing(hostile):
    run, root = hostile
    path = root / "work" / "big.dlsproj"
    with path.open("w") as fh:  # ~45 MB: under the file-size limit, millions of empty lists
        fh.write('{"format_version": 1, "name": "x", "junk": [')
        fh.write("[]," * 15_000_000)
        fh.write("[]]}")
    assert_refused(run(["validate", path]), "big.dlsproj", "lists and objects")


def test_an_initializer_far_out_of_range_is_refused_when_the_project_opens(hostile):
    run, root = hostile
    proj = project_json(project(root / "work"), lambda d: d["graph"]["nodes"][1]["params"].update(
        kernel_initializer={"class_name": "Constant", "config": {"value": 1e308}}))
    assert_refused(run(["validate", proj]), "kernel_initializer", "absurdly large")


def test_import_of_a_device_is_refused_unread(hostile):
    run, root = hostile
    assert_refused(run(["import", "/dev/zero", "-o", root / "work" / "z.dlsproj"]), "/dev/zero", "not a regular")
    assert not (root / "work" / "z.dlsproj").exists()


@pytest.fixture(scope="module")
def small_models(tmp_path_factory):
    import keras

    folder = tmp_path_factory.mktemp("models")
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="relu"), keras.layers.Dense(2)])
    model.save(folder / "m.keras")
    model.save(folder / "m.h5")
    return folder


@pytest.mark.parametrize("seed", [1])
def test_a_damaged_h5_ends_with_a_message_in_time(hostile, small_models, seed):
    run, root = hostile
    bad = flip_bits(small_models / "m.h5", root / "work" / "bad.h5", 4, seed)
    outcome = run(["import", bad, "-o", root / "work" / "bad.dlsproj"])
    if outcome.code == 0:  # the flipped bits hit nothing that matters: a project, as it should
        assert (root / "work" / "bad.dlsproj").is_file()
    else:
        assert_refused(outcome, "bad.h5")
        assert not (root / "work" / "bad.dlsproj").exists()


def test_a_keras_archive_with_huge_assets_is_refused_before_unpacking(hostile, small_models):
    run, root = hostile
    bad = keras_with_assets(small_models / "m.keras", root / "work" / "assets.keras", 300 << 20)
    assert_refused(run(["import", bad, "-o", root / "work" / "a.dlsproj"]), "assets.keras", "assets")


def test_an_output_that_cannot_be_written_is_a_message(hostile, small_models):
    run, root = hostile
    assert_refused(run(["import", small_models / "m.keras", "-o", "/proc/x.dlsproj"]), "/proc/x.dlsproj")


def test_a_runs_dir_that_is_a_file_is_a_message(hostile):
    run, root = hostile
    proj = project(root / "work")
    (root / "work" / "runs").write_text("a file")
    assert_refused(run(["train", proj, "--runs-dir", root / "work" / "runs"]), "runs", "is a file")


# ------------------------------------------------------------------ runs


def test_a_damaged_run_record_is_named_and_never_hides_the_good_runs(hostile):
    run, root = hostile
    proj = project(root / "work")
    good = run_of(proj).path
    runs = root / "work" / "p.runs"
    for name, record in (("nested", nested_json(100_000)),
                         ("textseed", json.dumps({"status": "finished", "settings": {"seed": "abc"}})),
                         ("badsettings", json.dumps({"status": "finished", "settings": [1, 2]}))):
        (runs / name).mkdir()
        (runs / name / "run.json").write_text(record)
    before = snapshot(root / "work")
    ok = run(["evaluate", proj, "--run", good.name])
    assert ok.code == 0, ok.text
    assert_refused(run(["evaluate", proj, "--run", "textseed"]), "textseed/run.json", "settings.seed")
    assert_refused(run(["evaluate", proj, "--run", "nested"]), "nested/run.json", "nested")
    # (a settings list and other fields: tests/hostile/test_safety_units.py, in process)
    assert snapshot(root / "work") == before


def test_the_python_export_of_a_hostile_name_runs_no_code(hostile):
    run, root = hostile
    payload = 'X"""\nimport os; os.system("touch PWNED")\nr"""'
    proj = project_json(project(root / "work"), lambda d: d.update(name=payload, notes=payload))
    run_of(proj)
    outcome = run(["export", proj, "-o", root / "work" / "model.py"])
    assert outcome.code == 0, outcome.text
    import subprocess

    from hostile_cli import environment

    done = subprocess.run([sys.executable, root / "work" / "model.py", "--help"], cwd=root / "work",
                          env=environment(root), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert not (root / "work" / "PWNED").exists()


def test_a_full_disk_during_training_is_a_message_and_leaves_no_running_run(hostile):
    run, root = hostile
    proj = project(root / "work")
    outcome = run(["train", proj, "--epochs", "3", "--checkpoint-every", "0"], hook="enospc:4")
    assert_refused(outcome, "disk is full")
    from dlstudio.runs import RunStore

    (record,) = RunStore.of_project(proj).runs()
    assert record.status in ("failed", "interrupted")


def test_a_full_disk_during_import_is_a_message_and_writes_no_project(hostile, small_models):
    run, root = hostile
    outcome = run(["import", small_models / "m.keras", "-o", root / "work" / "m.dlsproj"], hook="enospc:1")
    assert_refused(outcome, "m.dlsproj", "disk is full")
    assert not (root / "work" / "m.dlsproj").exists()


def test_running_out_of_memory_outside_fit_is_a_message(hostile):
    run, root = hostile
    proj = project(root / "work", graph="huge")
    outcome = run(["train", proj, "--max-samples", "64"], hook="no-memory-check")
    assert_refused(outcome, "memory")


def test_seeds_out_of_range_are_usage_errors(hostile):
    run, root = hostile
    for seed in ("-1", str(2 ** 32)):
        outcome = run(["data", "show", "digits", "--seed", seed])
        assert outcome.code == 2 and "--seed" in outcome.err and "Traceback" not in outcome.err
