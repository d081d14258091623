"""The pieces behind the hostile-input campaign, in process and fast: the one writer (atomic
replace, permissions kept, a full disk), the bounded readers, the data-path resolver, the run
record's schema and the interrupted status (issue 15)."""

from __future__ import annotations

import errno
import json
import os
import stat
import subprocess
import sys

import numpy as np
import pytest
from hostile_files import lying_npz, nested_json, png_header_only

from dlstudio import bounded
from dlstudio.bounded import LimitError
from dlstudio.data import DatasetError
from dlstudio.data.file_common import decode_text
from dlstudio.data.paths import confined, resolve_data_path
from dlstudio import atomic
from dlstudio.atomic import WriteError, atomic_write_json, atomic_write_text, write_file
from dlstudio.runs import RunStore, create_run, list_runs, open_run
from dlstudio.runs.record import RunDamaged


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# ----------------------------------------------------------------------------- the writer


def test_a_replaced_file_keeps_its_permissions_and_a_new_one_follows_the_umask(tmp_path):
    shared = tmp_path / "shared.json"
    atomic_write_json(shared, {"a": 1})
    assert mode(shared) == atomic.new_file_mode()  # not mkstemp's 0600
    os.chmod(shared, 0o660)
    atomic_write_json(shared, {"a": 2})
    write_file(shared, lambda tmp: tmp.write_text("{}"))
    assert mode(shared) == 0o660 and json.loads(shared.read_text()) == {}
    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / "new.txt", "x")
    finally:
        os.umask(old)
    assert mode(tmp_path / "new.txt") == 0o640


def test_project_and_run_files_keep_a_shared_groups_access(tmp_path):
    from hostile_files import project

    from dlstudio.project import load_project, save_project

    path = project(tmp_path)
    os.chmod(path, 0o664)
    save_project(load_project(path))
    assert mode(path) == 0o664
    run = create_run(tmp_path / "runs", {"status": "running"})
    run.write_history({"loss": [1.0]})
    for name in ("run.json", "history.json"):
        os.chmod(run.path / name, 0o664)
    run.update(status="finished")
    run.write_history({"loss": [1.0, 0.5]})
    assert mode(run.path / "run.json") == mode(run.path / "history.json") == 0o664


@pytest.mark.parametrize("call", ["fsync", "replace"])
def test_a_full_disk_keeps_the_old_file_and_says_so(tmp_path, monkeypatch, call):
    target = tmp_path / "model.weights.h5"
    target.write_bytes(b"the last good weights")

    def full(*_a, **_k):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atomic.os, call, full)
    with pytest.raises(WriteError, match=r"cannot write .*model.weights.h5: the disk is full") as info:
        write_file(target, lambda tmp: tmp.write_bytes(b"half of the new weigh"))
    assert isinstance(info.value, OSError) and info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    assert target.read_bytes() == b"the last good weights"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.weights.h5"]


def test_a_writer_that_fails_leaves_nothing(tmp_path):
    def boom(tmp):
        tmp.write_bytes(b"partial")
        raise RuntimeError("the writer broke")

    with pytest.raises(RuntimeError):
        write_file(tmp_path / "x.npz", boom)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_place_is_a_write_error_naming_it(tmp_path):
    with pytest.raises(WriteError, match=r"cannot write /proc/x\.dlsproj"):
        atomic_write_text("/proc/x.dlsproj", "{}")
    (tmp_path / "file").write_text("")
    with pytest.raises(WriteError, match="cannot keep runs in .*file: it is a file"):
        create_run(tmp_path / "file", {})


# ----------------------------------------------------------------------------- bounded readers


def test_only_regular_files_are_read(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    for path, kind in (("/dev/zero", "character device"), (fifo, "named pipe"), (tmp_path, "folder")):
        with pytest.raises(LimitError, match=kind):
            bounded.read_limited(path, 100)
    (tmp_path / "f").write_bytes(b"x" * 101)
    with pytest.raises(LimitError, match="101 bytes.*at most 100 bytes"):
        bounded.read_limited(tmp_path / "f", 100)
    assert bounded.read_limited(tmp_path / "f", 101) == b"x" * 101


def test_json_is_checked_for_depth_and_containers_before_it_is_used(monkeypatch):
    with pytest.raises(LimitError, match="nested more than 100 levels"):
        bounded.parse_json(nested_json(101), "x.json")
    assert bounded.parse_json(nested_json(99), "x.json") is not None
    with pytest.raises(LimitError, match="nested"):
        bounded.parse_json(nested_json(200_000), "x.json")  # deeper than Python's own recursion limit
    monkeypatch.setattr(bounded, "LIMITS", bounded.Limits(json_containers=10))
    with pytest.raises(LimitError, match="11 lists and objects"):
        bounded.parse_json("[" + ",".join(["[]"] * 10) + "]", "x.json")


def test_array_headers_and_image_headers_are_read_without_the_data(tmp_path):
    header = bounded.npz_headers(lying_npz(tmp_path / "a.npz"), "a.npz")
    assert header["x"].shape == (1_000_000, 10_000) and header["x"].nbytes == 8 * 10 ** 10
    with pytest.raises(LimitError, match="needs about 80.0 GB"):
        bounded.check_array(header["x"], "a.npz")
    np.save(tmp_path / "o.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with (tmp_path / "o.npy").open("rb") as fh, pytest.raises(LimitError, match="Python objects"):
        bounded.npy_header(fh, "o.npy")
    bomb = png_header_only(tmp_path / "bomb.png", 13_000, 13_000)
    with pytest.raises(LimitError, match="13000x13000 pixels .*at most 50 megapixels"):
        bounded.image_size(bomb, "bomb.png")


def test_memory_checks_name_what_and_how_much(monkeypatch):
    monkeypatch.setattr(bounded, "available_memory", lambda: 1000 ** 3)
    bounded.check_memory(700 * 1000 ** 2, "small")
    with pytest.raises(LimitError, match=r"big needs about 2.0 GB of memory, but only 800.0 MB can be used now"):
        bounded.check_memory(2 * 1000 ** 3, "big")


def test_a_model_too_large_for_the_memory_is_refused_before_keras_allocates(monkeypatch):
    from dlstudio.compile import build_model
    from dlstudio.graph import Graph

    g = Graph()
    x = g.add_node("Input", {"shape": [1000]}, name="x")
    d = g.add_node("Dense", {"units": 1000}, name="d")
    g.connect(x.id, d.id)
    monkeypatch.setattr(bounded, "available_memory", lambda: 1000 ** 2)
    with pytest.raises(LimitError, match=r"the model \(1,001,000 parameters\) needs about 4.0 MB"):
        build_model(g)


def test_text_codecs_that_are_not_text_encodings_are_refused():
    with pytest.raises(DatasetError, match="'rot13' is not a text encoding"):
        decode_text(b"hello", "rot13", "story.txt")
    with pytest.raises(DatasetError, match="unknown encoding 'klingon'"):
        decode_text(b"hello", "klingon", "story.txt")
    assert decode_text(b"h\xe9", "latin-1", "story.txt") == "hé"


# ----------------------------------------------------------------------------- data paths


def test_relative_paths_start_at_the_projects_folder(tmp_path, monkeypatch):
    monkeypatch.chdir("/")
    assert resolve_data_path("data/x.csv", tmp_path) == tmp_path / "data" / "x.csv"
    assert resolve_data_path("../x.csv", tmp_path / "p") == tmp_path / "x.csv"
    assert resolve_data_path("/abs/x.csv", tmp_path) == resolve_data_path("/abs/x.csv")
    assert resolve_data_path("x.csv") == resolve_data_path("/x.csv")  # no project: the current folder


def test_links_out_of_a_data_folder_are_refused(tmp_path):
    root, outside = tmp_path / "imgs", tmp_path / "outside"
    (root / "cats").mkdir(parents=True)
    outside.mkdir()
    (outside / "passwd").write_text("secret")
    (root / "cats" / "inside.png").write_text("")
    os.symlink(root / "cats" / "inside.png", root / "cats" / "alias.png")
    os.symlink(outside / "passwd", root / "cats" / "out.png")
    os.symlink(outside, root / "dogs")
    assert confined(root / "cats" / "alias.png", root, "imgs") == (root / "cats" / "inside.png").resolve()
    for link in (root / "cats" / "out.png", root / "dogs"):
        with pytest.raises(DatasetError, match="outside the data folder"):
            confined(link, root, "imgs")


# ----------------------------------------------------------------------------- run records


def test_a_damaged_run_record_names_the_field_and_never_hides_the_others(tmp_path):
    good = create_run(tmp_path, {"status": "finished", "settings": {"seed": 3}})
    cases = {"textseed": {"status": "finished", "settings": {"seed": "abc"}},
             "bigseed": {"status": "finished", "settings": {"seed": 2 ** 40}},
             "list": [1, 2], "settings": {"settings": [1]}, "metrics": {"metrics": {"loss": "low"}}}
    for name, record in cases.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "run.json").write_text(json.dumps(record))
    (tmp_path / "nested").mkdir()
    (tmp_path / "nested" / "run.json").write_text(nested_json(50_000))
    assert [r.id for r in list_runs(tmp_path)] == [good.id]
    store = RunStore(tmp_path, "p.dlsproj")
    assert store.find(good.id).info["settings"]["seed"] == 3
    expected = {"textseed": "settings.seed: Input should be a valid integer",
                "bigseed": "settings.seed: Input should be less than or equal to 4294967295",
                "list": "not a run record", "settings": "settings: Input should be a valid dictionary",
                "metrics": "metrics.loss", "nested": "nested more than 100 levels"}
    for name, text in expected.items():
        with pytest.raises(RunDamaged, match=rf"{name}/run.json: .*{__import__('re').escape(text)}"):
            store.find(name)
    assert open_run(good.path).status == "finished"


def test_a_running_record_whose_process_is_gone_reads_interrupted(tmp_path):
    run = create_run(tmp_path, {"status": "running"})
    assert run.status == "running" and run.info["pid"] == os.getpid()
    child = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = int(child.stdout)
    run.update(pid=dead, pid_start=None)
    assert open_run(run.path).status == "interrupted"
    run.update(pid=os.getpid(), pid_start=12345)  # our pid, started at another time: a reused pid
    assert open_run(run.path).status == "running"  # our own process is always taken at its word
    run.update(status="finished")
    assert open_run(run.path).status == "finished"


# ----------------------------------------------------------------------------- model files


def test_model_files_are_checked_before_any_hdf5_is_read(tmp_path):
    from dlstudio.compile.import_process import import_model_isolated, precheck
    from dlstudio.compile.model_file import ModelImportError

    with pytest.raises(ModelImportError, match="/dev/zero: is a character device"):
        precheck(__import__("pathlib").Path("/dev/zero"))
    import zipfile

    with zipfile.ZipFile(tmp_path / "big.keras", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("config.json", "{}")
        with z.open("assets/blob", "w", force_zip64=True) as member:
            for _ in range(300):
                member.write(b"\0" * (1 << 20))
    with pytest.raises(ModelImportError, match="holds 314.6 MB of assets"):
        import_model_isolated(tmp_path / "big.keras")


def test_a_reader_that_does_not_finish_is_stopped_with_a_message(tmp_path):
    import keras

    from dlstudio.compile.import_process import import_model_isolated
    from dlstudio.compile.model_file import ModelImportError

    keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]).save(tmp_path / "m.keras")
    with pytest.raises(ModelImportError, match=r"took more than 0 s and was stopped: the file is damaged"):
        import_model_isolated(tmp_path / "m.keras", timeout=0.2)  # as a looping HDF5 reader would be


def test_weights_files_are_read_in_a_child_first(tmp_path, monkeypatch):
    """A run's weights (HDF5, which can loop for ever on flipped bits) are read through once in
    a child process with a time limit before the app reads them; a file that hangs or is not
    HDF5 is a message naming it; a file checked once is not read again until it changes."""
    import subprocess

    import h5py
    import numpy as np

    from dlstudio import bounded

    good = tmp_path / "model.weights.h5"
    with h5py.File(good, "w") as f:
        f.create_dataset("layers/dense/vars/0", data=np.ones((3, 2), np.float32))
        f.attrs["note"] = "fine"
    calls = []
    real_run = subprocess.run
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: calls.append(a) or real_run(*a, **k))
    bounded.check_hdf5(good)
    bounded.check_hdf5(good)
    assert len(calls) == 1  # once per file version
    os.utime(good, ns=(1, 1))  # changed since: checked again
    bounded.check_hdf5(good)
    assert len(calls) == 2

    garbage = tmp_path / "garbage.weights.h5"
    garbage.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(bounded.LimitError, match="garbage.weights.h5: this weights file cannot be read"):
        bounded.check_hdf5(garbage)

    monkeypatch.setattr(bounded, "_HDF5_WALK", "import time; time.sleep(60)")  # an HDF5 loop, as seen
    monkeypatch.setattr(bounded, "HDF5_SECONDS", 1.0)
    hangs = tmp_path / "hangs.weights.h5"
    hangs.write_bytes(b"x" * 10)
    with pytest.raises(bounded.LimitError, match=r"hangs.weights.h5: reading this weights file did not finish in 1 s"):
        bounded.check_hdf5(hangs)
    with pytest.raises(FileNotFoundError):
        bounded.check_hdf5(tmp_path / "missing.weights.h5")
