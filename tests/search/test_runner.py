"""Searching: every trial a run of the project tagged with its study, number and values; invalid
configurations are failed trials with their problem; stopping and continuing a study; pruning."""

from __future__ import annotations

from types import SimpleNamespace

from dlstudio.data import load_dataset
from dlstudio.project import load_project
from dlstudio.runs import RunStore
from dlstudio.search.runner import SearchEnded, TrialEnded, TrialStarted, pruning_callback, run_search
from dlstudio.search.study import default_storage, importances, load_study, trial_records
from tests.search.conftest import write_project


def dataset_of(project):
    return load_dataset(project.dataset.name, project.dataset.options, seed=0)


def test_trials_are_runs_and_a_stopped_search_continues(tmp_path):
    project = load_project(write_project(tmp_path))
    data = dataset_of(project)
    events, stop = [], []

    def emit(event):
        events.append(event)
        if isinstance(event, TrialStarted) and event.number == 1:
            stop.append(True)  # stop while the second trial trains

    result = run_search(project, data, emit=emit, should_stop=lambda: bool(stop))
    assert result.stopped and result.trials == 1 and result.ran == 2
    assert [e.record.state for e in events if isinstance(e, TrialEnded)] == ["complete", "stopped"]
    assert (tmp_path / "tiny.optuna.db").is_file() and default_storage(project.path).endswith("tiny.optuna.db")

    result = run_search(project, data, trials=2)  # continue the study: one more trial
    assert not result.stopped and result.trials == 2 and result.ran == 1
    records = trial_records(load_study(project))
    assert [r.state for r in records] == ["complete", "stopped", "complete"]
    runs = {r.id: r for r in RunStore.of_project(project.path).runs()}
    assert len(runs) == 3 and runs[records[1].run_id].status == "stopped"
    for record in records:
        run = runs[record.run_id]
        tag = run.info["search"]
        assert (tag["study"], tag["trial"], tag["params"]) == ("tiny", record.number, record.params)
        assert tag["state"] == record.state
        hidden = [n for n in run.info["graph"]["nodes"] if n["name"].startswith("hidden")]
        assert len(hidden) == record.params["depth"]
        assert {n["params"]["units"] for n in hidden} == {record.params["hidden.units"]}
        assert any(n["type"] == "Dropout" for n in run.info["graph"]["nodes"]) == record.params["dropout"]
        assert run.info["settings"]["learning_rate"] == record.params["learning_rate"]
        assert record.n_params > 0 and record.macs > 0 and record.seconds > 0
    best = result.best
    assert best.value == max(r.value for r in records if r.state == "complete")
    assert isinstance(importances(load_study(project)), dict)


def test_an_invalid_combination_is_a_failed_trial_with_its_problem(tmp_path):
    # each value alone is fine; 6 units reshaped to (4, -1) is not: the grid meets it as one trial
    path = write_project(tmp_path, params=[
        {"node": "n2", "param": "units", "kind": "choice", "choices": [4, 6]},
        {"node": "n4", "param": "target_shape", "kind": "choice", "choices": [[-1], [4, -1]]}],
        optional=[], repeat=[], sampler="grid", trials=4)
    project = load_project(path)
    ended = []
    result = run_search(project, dataset_of(project), emit=lambda e: ended.append(e) if isinstance(e, SearchEnded) else None)
    states = {(tuple(r.params["fold.target_shape"]), r.params["hidden.units"]): r for r in result.records}
    assert len(states) == 4 and result.trials == 4
    bad = states[((4, -1), 6)] if ((4, -1), 6) in states else states[([4, -1], 6)]
    assert bad.state == "failed" and "Reshape 'fold' cannot take input" in bad.problem and bad.run_id is None
    assert sum(r.state == "complete" for r in result.records) == 3
    assert len(RunStore.of_project(path).runs()) == 3 and ended and ended[0].best is not None


def test_the_pruning_callback_reports_each_epoch_and_stops_a_pruned_trial():
    reported = []
    trial = SimpleNamespace(report=lambda v, step: reported.append((step, v)), should_prune=lambda: len(reported) >= 2)
    callback = pruning_callback(trial, "val_loss")
    model = SimpleNamespace(stop_training=False)
    callback.set_model(model)
    callback.on_epoch_end(0, {"val_loss": 0.9, "loss": 1.0})
    assert not model.stop_training and not callback.pruned
    callback.on_epoch_end(1, {"loss": 0.8})  # no validation metric: nothing to report
    callback.on_epoch_end(2, {"val_loss": 0.7})
    assert reported == [(0, 0.9), (2, 0.7)] and model.stop_training and callback.pruned


def test_an_interrupted_search_leaves_its_trial_uncounted(tmp_path):
    import pytest

    project = load_project(write_project(tmp_path))

    def emit(event):
        if isinstance(event, TrialStarted):
            raise KeyboardInterrupt  # Ctrl+C while the trial starts

    with pytest.raises(KeyboardInterrupt):
        run_search(project, dataset_of(project), emit=emit)
    records = trial_records(load_study(project))
    assert [(r.state, r.counted, r.problem) for r in records] == [("stopped", False, "the search was interrupted")]


def test_a_long_training_reports_every_kth_epoch_and_its_last():
    reported = []
    trial = SimpleNamespace(report=lambda v, step: reported.append(step), should_prune=lambda: False)
    callback = pruning_callback(trial, "val_loss", epochs=45)  # 45 // 20: every 2nd epoch
    callback.set_model(SimpleNamespace(stop_training=False))
    for epoch in range(45):
        callback.on_epoch_end(epoch, {"val_loss": 1.0})
    assert reported == [*range(1, 44, 2), 44]


def test_a_trial_whose_worker_was_killed_is_failed_and_no_longer_counts(tmp_path, monkeypatch):
    import time
    import warnings

    from dlstudio.search import study as study_module
    from dlstudio.search.check import check_space
    from dlstudio.search.runner import optuna_distributions
    from dlstudio.search.study import LOST, open_study

    monkeypatch.setattr(study_module, "GRACE_SECONDS", 1)
    monkeypatch.setattr(study_module, "HEARTBEAT_SECONDS", 1)
    project = load_project(write_project(tmp_path))
    space = check_space(project)
    dead = open_study(project, space)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna's "heartbeat is for optimize()"
        trial = dead.ask(optuna_distributions(space))  # a worker takes a trial, then is killed: no heartbeats
    study_module.storage_of(dead).record_heartbeat(trial._trial_id)
    time.sleep(2.5)
    result = run_search(project, dataset_of(project), trials=1)
    assert result.trials == 1 and result.ran == 1
    assert [(r.state, r.counted) for r in result.records] == [("failed", False), ("complete", True)]
    assert result.records[0].problem == LOST


def test_workers_opening_a_new_storage_at_once_all_get_it(tmp_path):
    """Workers started together on a new SQLite file race to create its tables; the loser
    sees the winner's rows and must open the storage, not fail (seen in a full test run)."""
    import threading

    from dlstudio.search.study import open_storage

    for round_ in range(3):
        url = f"sqlite:///{tmp_path / f'race{round_}.db'}"
        errors: list[BaseException] = []
        start = threading.Barrier(6)

        def open_it() -> None:
            start.wait()
            try:
                open_storage(url)
            except BaseException as exc:  # noqa: BLE001 - collected for the assertion
                errors.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == []
