"""dlstudio.runs: where a project's runs live, finding one by every kind of reference,
moving an unsaved project's runs home, and the errors a user sees."""

from __future__ import annotations

import json
import os

import pytest

from dlstudio.runs import (
    NoRunsYet,
    RunError,
    RunNotFound,
    RunStore,
    adopt_runs,
    create_run,
    list_runs,
    open_run,
    run_label,
    runs_dir,
    scratch_store,
    store_for,
)


def fake_run(folder, status="finished", test_loss=None, weights=True, **info):
    run = create_run(folder, {"status": status, **info})
    if test_loss is not None:
        run.update(metrics={"test_loss": test_loss, "test_accuracy": 1 - test_loss})
    if weights:
        run.weights_path.write_bytes(b"weights")
    return run


@pytest.fixture
def store(tmp_path):
    return RunStore.of_project(tmp_path / "digits.dlsproj")


def test_a_saved_projects_runs_live_beside_it(tmp_path, store):
    assert store.folder == tmp_path / "digits.runs" == runs_dir(tmp_path / "digits.dlsproj")
    assert store.saved and store.name == "digits.dlsproj"
    assert store_for(tmp_path / "digits.dlsproj").folder == store.folder


def test_find_by_id_prefix_last_best_and_folder(store):
    a = fake_run(store.folder, test_loss=0.3)
    b = fake_run(store.folder, test_loss=0.1)
    c = fake_run(store.folder, test_loss=0.2)
    untrained = fake_run(store.folder, status="failed", weights=False)
    assert [r.id for r in store.runs()] == [a.id, b.id, c.id, untrained.id]  # oldest first, same second too
    assert [r.id for r in store.runs(trained=True)] == [a.id, b.id, c.id]
    assert store.find(a.id).id == a.id
    assert store.find("last").id == c.id  # the newest run that has weights
    assert store.latest().id == c.id
    assert store.find("best").id == b.id  # the lowest test loss
    assert store.find(str(b.path)).id == b.id  # a run folder, wherever it is
    unique = next(n for n in range(len(a.id), 0, -1)
                  if sum(r.id.startswith(a.id[:n]) for r in store.runs()) == 1)
    assert store.find(a.id[:unique]).id == a.id


def test_references_that_name_no_single_run_say_so(store, tmp_path):
    with pytest.raises(NoRunsYet, match="digits.dlsproj has no runs yet .*train it first"):
        store.find("last")
    a = fake_run(store.folder)
    fake_run(store.folder)
    with pytest.raises(RunNotFound, match="matches several runs"):
        store.find(a.id[:9])
    with pytest.raises(RunNotFound, match=f"'nope' is not a run of digits.dlsproj .*{a.id}"):
        store.find("nope")
    with pytest.raises(RunNotFound, match="no run folder at"):
        store.find(str(tmp_path / "gone" / "run"))
    with pytest.raises(RunNotFound, match="not a run folder: it has no run.json"):
        store.find(str(tmp_path))
    with pytest.raises(RunNotFound, match="recorded a test loss"):
        store.find("best")


def test_a_damaged_run_json_is_skipped_not_fatal(store):
    good = fake_run(store.folder)
    bad = fake_run(store.folder)
    (bad.path / "run.json").write_text("{not json")
    assert [r.id for r in list_runs(store.folder)] == [good.id]
    with pytest.raises(RunError, match="cannot be read"):
        open_run(bad.path)


def test_gan_runs_are_trained_when_their_generator_is_saved(store):
    gan = create_run(store.folder, {"status": "finished", "kind": "gan"})
    assert not gan.trained
    (gan.path / "generator.weights.h5").write_bytes(b"g")
    assert gan.trained and gan.kind == "gan"
    assert [r.id for r in store.runs(kind="gan")] == [gan.id] and store.runs(kind="model") == []


def test_unsaved_projects_get_scratch_folders_of_their_own(tmp_path):
    one, two = scratch_store(tmp_path, "digits cnn"), scratch_store(tmp_path, "digits cnn")
    assert one.folder != two.folder and not one.saved
    assert one.folder.parent == tmp_path and one.folder.name.startswith("digits_cnn-")
    with pytest.raises(NoRunsYet, match="“digits cnn” has no runs yet: train it first"):
        one.find("last")


def test_the_first_save_moves_every_finished_run_home(tmp_path):
    scratch = scratch_store(tmp_path / "config", "Untitled")
    done = fake_run(scratch.folder, test_loss=0.2)
    running = fake_run(scratch.folder, status="running")
    home = RunStore.of_project(tmp_path / "mine.dlsproj")
    moved = adopt_runs(scratch.folder, home.folder, skip_running=True)
    assert moved == [home.folder / done.id]
    assert json.loads((home.folder / done.id / "run.json").read_text())["id"] == done.id
    assert (home.folder / done.id / "model.weights.h5").read_bytes() == b"weights"
    assert not done.path.exists() and running.path.exists()  # a training still writing stays
    running.update(status="finished")
    assert adopt_runs(scratch.folder, home.folder) == [home.folder / running.id]
    assert not scratch.folder.exists()  # nothing left behind
    assert [r.id for r in home.runs()] == [done.id, running.id]


def test_moving_keeps_a_run_whose_name_is_taken(tmp_path):
    scratch = scratch_store(tmp_path / "config", "x")
    run = fake_run(scratch.folder)
    home = tmp_path / "x.runs"
    (home / run.id).mkdir(parents=True)  # an older run of the same name
    [moved] = adopt_runs(scratch.folder, home)
    assert moved.name.startswith(run.id + "-") and (moved / "run.json").is_file()
    assert (home / run.id).is_dir()


def test_moving_across_file_systems_copies_whole_then_removes(tmp_path, monkeypatch):
    scratch = scratch_store(tmp_path / "config", "x")
    run = fake_run(scratch.folder)
    real_rename = os.rename

    events: list[tuple[str, str]] = []
    real_fsync = os.fsync

    def cross_device(src, dst):
        if str(src) == str(run.path):
            raise OSError(18, "Invalid cross-device link")
        events.append(("rename", str(src)))
        return real_rename(src, dst)

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        return real_fsync(fd)

    monkeypatch.setattr(os, "rename", cross_device)
    monkeypatch.setattr(os, "fsync", fsync)
    [moved] = adopt_runs(scratch.folder, tmp_path / "x.runs")
    assert (moved / "model.weights.h5").read_bytes() == b"weights" and not run.path.exists()
    assert not any(p.name.endswith(".partial") for p in (tmp_path / "x.runs").iterdir())
    # the copy is on the disk before the rename that publishes it, and the rename after it
    publish = next(i for i, e in enumerate(events) if e[0] == "rename" and e[1].endswith(".partial"))
    assert any(e == ("fsync", f"{tmp_path}/x.runs/.{run.id}.partial/model.weights.h5") for e in events[:publish])
    assert ("fsync", str(tmp_path / "x.runs")) in events[publish:]


def test_a_run_is_labelled_the_same_everywhere(store):
    run = fake_run(store.folder, test_loss=0.25)
    run.update(epochs_done=12)
    assert run_label(run) == f"{run.id} \u00b7 finished \u00b7 12 epochs \u00b7 test accuracy 75.0%"
