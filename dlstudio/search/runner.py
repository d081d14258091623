"""Running a search: ask the study for a trial, build its graph and settings, train it as a normal
run of the project through the training engine, tell the study how it went.

``run_search(project, dataset, ...)`` is one plain function with ``emit`` / ``should_stop``, as
training is: the command line prints its events, the GUI runs it on a worker thread. Every trial
is a run in the project's runs folder tagged ``search: {study, trial, params, state, value}``;
a configuration that cannot be built or trained is a failed trial with its problem; the pruner
gets the objective's validation metric after every epoch. The budget is the study's: with
``trials`` N, the trials of every worker on the same storage count, so several processes (on
several machines, given a database URL) finish N trials between them. Stopping stops the
current trial cleanly (its run is "stopped"; the trial does not count) and a later search
continues the study.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio.search.check import check_space
from dlstudio.search.space import SampleError, SearchSpace
from dlstudio.search.study import (
    HEARTBEAT_SECONDS, MACS, NOT_COUNTED, PARAMS, PROBLEM, RUN_ID, RUN_PATH, SECONDS, TRAIN_SECONDS, TrialRecord,
    best_record, is_counted, open_study, redact, storage_for, storage_of, trial_record,
)

Emit = Callable[[object], None]
#: Keras' global state (its graph caches, layer name counters) is cleared after every this many trials.
CLEAR_EVERY = 10


@dataclass(frozen=True)
class SearchStarted:
    study: str
    storage: str  # without a password
    trials: int | None  # the study's budget
    done: int  # trials the study already holds (a continued search)
    dimensions: tuple[str, ...]


@dataclass(frozen=True)
class TrialStarted:
    number: int
    params: dict[str, Any]


@dataclass(frozen=True)
class TrialEnded:
    record: TrialRecord
    best: TrialRecord | None  # the study's best so far


@dataclass(frozen=True)
class SearchEnded:
    best: TrialRecord | None
    trials: int  # the study's counted trials
    ran: int  # trials this call ran
    stopped: bool
    records: list[TrialRecord] = field(default_factory=list)


def objective_monitor(metric: str) -> str:
    """The per-epoch metric the pruner watches for ``metric`` (``test_x`` -> ``val_x``)."""
    return "val_" + metric[len("test_"):] if metric.startswith("test_") else metric


#: A trial reports to the study (one database write, and the pruner reads the study) at most this
#: many times: every epoch of a short training, every k-th epoch of a long one (the same epochs in
#: every trial of the same length, so the pruner compares like with like).
MAX_REPORTS = 20


def pruning_callback(trial: Any, monitor: str, epochs: int = 1) -> Any:
    """A Keras callback reporting ``monitor`` to the trial after every epoch (every k-th of a long
    training, and the last); stops training when the pruner says so (``.pruned`` is then True)."""
    import keras

    every = max(1, epochs // MAX_REPORTS)

    class Pruning(keras.callbacks.Callback):
        pruned = False
        seconds = 0.0  # spent reporting and asking the pruner (the search's cost inside training)

        def on_epoch_end(self, epoch, logs=None):
            value = (logs or {}).get(monitor)
            if value is None or ((epoch + 1) % every and epoch + 1 < epochs):
                return
            t0 = time.perf_counter()
            trial.report(float(value), epoch)
            if trial.should_prune():
                self.pruned = True
                self.model.stop_training = True
            self.seconds += time.perf_counter() - t0

    return Pruning()


def counted_before(study: Any, number: int) -> int:
    """How many counted trials the study holds with a number below ``number``."""
    return sum(1 for t in study.get_trials(deepcopy=False) if t.number < number and is_counted(t))


def counted(study: Any) -> int:
    return sum(1 for t in study.get_trials(deepcopy=False) if is_counted(t))


def fail_lost_trials(study: Any) -> None:
    """Fail the trials whose worker stopped sending heartbeats (they no longer count)."""
    import optuna

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna marks it experimental
        optuna.storages.fail_stale_trials(study)


@contextmanager
def heartbeat(study: Any, trial: Any, every: float = HEARTBEAT_SECONDS):
    """While the block runs, tell the storage every ``every`` seconds that ``trial`` is alive."""
    storage, trial_id = storage_of(study), getattr(trial, "_trial_id", None)
    if storage is None or trial_id is None or not hasattr(storage, "record_heartbeat"):
        yield
        return
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(every):
            try:
                storage.record_heartbeat(trial_id)
            except Exception:  # noqa: BLE001 - a busy database: the next beat tries again
                pass

    storage.record_heartbeat(trial_id)
    thread = threading.Thread(target=beat, name="dlstudio-search-heartbeat", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(5)


def run_search(project: Any, dataset: Any, *, trials: int | None = None, timeout: float | None = None,
               storage: str | None = None, study_name: str | None = None, runs_dir: Any = None,
               emit: Emit = lambda e: None, should_stop: Callable[[], bool] = lambda: False,
               train_emit: Emit = lambda e: None, run_info: dict[str, Any] | None = None,
               epochs: int | None = None) -> SearchEnded:
    """Search ``project``'s space on ``dataset`` until the study holds ``trials`` counted trials
    (default: the project's budget), ``timeout`` seconds pass (no new trial starts after it) or
    ``should_stop()``. Raises SearchError when the space has problems or the storage cannot be
    opened; a trial's own failure never raises."""
    import optuna

    from dlstudio.runs import store_for

    space = check_space(project)
    settings = project.search
    budget = trials if trials is not None else settings.trials
    limit = timeout if timeout is not None else settings.timeout
    study = open_study(project, space, storage, study_name)
    base = store_for(project, runs_dir).folder
    url = storage_for(project, storage)
    emit(SearchStarted(study.study_name, redact(url), budget, counted(study), tuple(space.names())))
    t0, ran, stopped = time.monotonic(), 0, False
    while True:
        if should_stop():
            stopped = True
            break
        fail_lost_trials(study)
        if (limit is not None and time.monotonic() - t0 >= limit) or (budget is not None and counted(study) >= budget):
            break
        if settings.sampler == "grid" and study.sampler.is_exhausted(study):
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "heartbeat is supposed to be used with optimize": we beat ourselves
            trial = study.ask(optuna_distributions(space))
        if budget is not None and counted_before(study, trial.number) >= budget:  # another worker took the last
            trial.set_user_attr(NOT_COUNTED, "skipped")
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            break
        try:
            with heartbeat(study, trial):
                record = run_trial(project, dataset, space, study, trial, base, url, emit, should_stop,
                                   train_emit, run_info or {}, epochs)
        except BaseException:  # Ctrl+C, a bug: the trial ends uncounted, never "running" forever
            if study.get_trials(deepcopy=False)[trial.number].state.name == "RUNNING":
                trial.set_user_attr(NOT_COUNTED, "stopped")
                trial.set_user_attr(PROBLEM, "the search was interrupted")
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
            raise
        ran += 1
        records = [trial_record(t, space) for t in study.get_trials(deepcopy=False)]
        emit(TrialEnded(record, best_record(records, settings.objective.direction)))
        if record.state == "stopped":
            stopped = True
            break
    records = [trial_record(t, space) for t in study.get_trials(deepcopy=False)
               if t.user_attrs.get(NOT_COUNTED) != "skipped"]  # (a lost trial is listed, not counted)
    result = SearchEnded(best_record(records, settings.objective.direction), counted(study), ran, stopped, records)
    emit(result)
    return result


def optuna_distributions(space: SearchSpace) -> dict[str, Any]:
    """The Optuna distribution of every dimension (choices of lists go as JSON text)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    out: dict[str, Any] = {}
    for d in space.dimensions:
        if d.kind in ("choice", "optional"):
            out[d.name] = CategoricalDistribution([d.encode(c) for c in d.choices])
        elif d.kind in ("int", "repeat"):
            out[d.name] = IntDistribution(int(d.low), int(d.high), log=d.log, step=int(d.step or 1))
        else:
            out[d.name] = FloatDistribution(d.low, d.high, log=d.log, step=d.step)
    return out


def run_trial(project: Any, dataset: Any, space: SearchSpace, study: Any, trial: Any, base: Path, url: str,
              emit: Emit, should_stop: Callable[[], bool], train_emit: Emit, run_info: dict[str, Any],
              epochs: int | None) -> TrialRecord:
    """Train one trial and tell the study its outcome; the trial's record."""
    import keras
    from optuna.trial import TrialState

    from dlstudio.compile import analyze
    from dlstudio.training.engine import TrainingError, train

    values = {d.name: d.decode(trial.params[d.name]) for d in space.dimensions if d.name in trial.params}
    emit(TrialStarted(trial.number, values))
    objective = project.search.objective
    t0 = time.monotonic()

    def fail(problem: str, not_counted: str | None = None) -> TrialRecord:
        trial.set_user_attr(PROBLEM, problem)
        trial.set_user_attr(SECONDS, time.monotonic() - t0)
        if not_counted:
            trial.set_user_attr(NOT_COUNTED, not_counted)
        return trial_record(study.tell(trial, state=TrialState.FAIL), space)

    try:
        sample = space.build(values)
    except SampleError as exc:
        return fail(str(exc))
    if epochs is not None:
        sample.settings = sample.settings.model_copy(update={"epochs": epochs})
    analysis = analyze(sample.graph)
    trial.set_user_attr(PARAMS, int(analysis.total_params))
    trial.set_user_attr(MACS, int(analysis.total_macs))
    tag = {"study": study.study_name, "trial": trial.number, "params": values, "storage": redact(url)}
    info = {"project": str(Path(project.path).resolve()) if project.path else None,
            "dataset_options": dict(project.dataset.options), **run_info, "search": tag}
    pruning = pruning_callback(trial, objective_monitor(objective.metric), int(sample.settings.epochs))
    runs: list[Any] = []

    def watch(event: object) -> None:  # the run's folder, as soon as training starts
        path = getattr(event, "run_path", None)
        if path and not runs:
            runs.append(path)
            trial.set_user_attr(RUN_ID, Path(path).name)
            trial.set_user_attr(RUN_PATH, str(path))
        train_emit(event)

    t_train = time.perf_counter()
    try:
        result = train(sample.graph, dataset, sample.settings, emit=watch, should_stop=should_stop,
                       run_base=base, run_info=info, callbacks=[pruning])
        trial.set_user_attr(TRAIN_SECONDS, time.perf_counter() - t_train - pruning.seconds)
    except TrainingError as exc:
        problem = str(exc) + "".join(f"\n{p}" for p in exc.problems if p != str(exc))
        return fail(problem)
    finally:
        if trial.number % CLEAR_EVERY == CLEAR_EVERY - 1:  # Keras' global state, now and then (0.4 s each)
            keras.backend.clear_session()
    trial.set_user_attr(SECONDS, time.monotonic() - t0)
    run = result.run
    if result.stopped and not pruning.pruned and should_stop():
        tag_run(run, tag, "stopped", None)
        return fail("stopped by the user", "stopped")
    if pruning.pruned:
        tag_run(run, tag, "pruned", None)
        return trial_record(study.tell(trial, state=TrialState.PRUNED), space)
    value = result.metrics.get(objective.metric)
    if not isinstance(value, (int, float)) or value != value:
        tag_run(run, tag, "failed", None)
        return fail(f"the run recorded no {objective.metric} (it recorded {', '.join(sorted(result.metrics))})")
    tag_run(run, tag, "complete", float(value))
    return trial_record(study.tell(trial, float(value)), space)


def tag_run(run: Any, tag: dict[str, Any], state: str, value: float | None) -> None:
    if run is None:
        return
    try:
        run.update(search={**tag, "state": state, "value": value})
    except OSError:  # the run is whole; only its tag's outcome is missing
        pass
