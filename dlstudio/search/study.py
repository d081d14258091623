"""The Optuna side of a search: where a study is stored, its sampler and pruner, and its trials
read back as plain records.

A project's studies live by default in ``NAME.optuna.db`` (SQLite) beside ``NAME.dlsproj``;
any Optuna RDB URL (``postgresql://...``, ``mysql://...``) lets processes on several machines
work on one study. The study's name defaults to the project file's stem. Samplers and pruners
are not stored: every worker makes its own from the project's ``search`` section.
"""

from __future__ import annotations

import math
import os
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dlstudio.search.space import SearchError, SearchSpace

STORAGE_SUFFIX = ".optuna.db"
#: A running trial tells the storage it is alive this often (seconds); one silent for GRACE_SECONDS
#: (its worker was killed, its machine lost) is failed by the next worker and no longer counts.
HEARTBEAT_SECONDS, GRACE_SECONDS = 30, 180
#: What a trial failed for lack of heartbeats reads as.
LOST = "its worker stopped while it ran (killed, or its machine lost)"
#: Trial user attributes this package writes.
RUN_ID, RUN_PATH, PROBLEM, PARAMS, MACS, SECONDS, NOT_COUNTED = (
    "run_id", "run_path", "problem", "params", "macs", "seconds", "not_counted")
#: The seconds of a trial spent in the training engine itself (its reports to the study left out).
TRAIN_SECONDS = "train_seconds"


def default_storage(project_path: str | os.PathLike) -> str:
    """``sqlite:////abs/folder/NAME.optuna.db`` for ``folder/NAME.dlsproj``."""
    path = Path(project_path).resolve()
    return "sqlite:///" + str(path.with_name(path.stem + STORAGE_SUFFIX))


def default_study_name(project: Any) -> str:
    path = getattr(project, "path", None)
    return Path(path).stem if path is not None else (getattr(project, "name", "") or "study")


def storage_for(project: Any, storage: str | None = None) -> str:
    """The storage URL a search of ``project`` uses (a path is taken as an SQLite file)."""
    if storage:
        return storage if "://" in storage else "sqlite:///" + str(Path(storage).resolve())
    path = getattr(project, "path", None)
    if path is None:
        raise SearchError("the project has no file yet: save it (its studies are kept beside it) or give a "
                          "storage URL")
    return default_storage(path)


def quiet_optuna() -> Any:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


SCHEMA_RETRIES = 5


def open_storage(url: str) -> Any:
    """Optuna's RDB storage for ``url`` (SQLite waits for a busy database instead of failing)."""
    optuna = quiet_optuna()
    kwargs: dict[str, Any] = {"heartbeat_interval": HEARTBEAT_SECONDS, "grace_period": GRACE_SECONDS}
    if url.startswith("sqlite"):
        kwargs["engine_kwargs"] = {"connect_args": {"timeout": 60}}
    for attempt in range(SCHEMA_RETRIES + 1):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # Optuna marks the heartbeat experimental
                return optuna.storages.RDBStorage(url, **kwargs)
        except Exception as exc:  # noqa: BLE001 - a bad URL, a missing driver, a refused connection
            # Two workers starting on a new database both create its tables: the one that
            # loses the race sees the other's rows (IntegrityError) or tables (OperationalError)
            # and finds the schema complete when it tries again.
            if type(exc).__name__ in ("IntegrityError", "OperationalError") and attempt < SCHEMA_RETRIES:
                time.sleep(0.2 * (attempt + 1))
                continue
            raise SearchError(f"cannot open the study storage {redact(url)}: {type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''}") from None


def storage_of(study: Any) -> Any:
    """The storage a study is kept in (Optuna keeps it as ``_storage``)."""
    return getattr(study, "_storage", None)


def is_counted(frozen: Any) -> bool:
    """Whether a trial counts against the study's budget: not skipped or stopped by the user, and
    not lost (failed by a worker's missing heartbeat: a failure of ours always names its problem)."""
    if frozen.user_attrs.get(NOT_COUNTED):
        return False
    return not (frozen.state.name == "FAIL" and PROBLEM not in frozen.user_attrs)


def redact(url: str) -> str:
    """The URL without its password (``postgresql://user:***@host/db``)."""
    if "@" in url and "://" in url:
        scheme, rest = url.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return url


def make_sampler(settings: Any, space: SearchSpace, offset: int = 0) -> Any:
    optuna = quiet_optuna()
    seed = None if settings.seed is None else int(settings.seed) + offset
    if settings.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if settings.sampler == "grid":
        class Grid(optuna.samplers.GridSampler):
            """Optuna's grid, told trial by trial: the search loop ends when it is exhausted
            (the base class calls ``study.stop()``, which only ``study.optimize`` allows)."""

            def after_trial(self, study, trial, state, values):
                pass

        return Grid(space.grid(), seed=seed)
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, max(3, (settings.trials or 20) // 4)))


def make_pruner(settings: Any) -> Any:
    optuna = quiet_optuna()
    if settings.pruner == "median":
        return optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=2)
    if settings.pruner == "hyperband":
        return optuna.pruners.HyperbandPruner()
    return optuna.pruners.NopPruner()


def open_study(project: Any, space: SearchSpace, storage: str | None = None, study_name: str | None = None) -> Any:
    """The project's study (created when new) with the sampler and pruner its search names."""
    optuna = quiet_optuna()
    settings = project.search
    url = storage_for(project, storage)
    name = study_name or default_study_name(project)
    rdb = open_storage(url)
    existing = {s.study_name: s for s in optuna.get_all_study_summaries(rdb)} if url else {}
    if name in existing and existing[name].direction.name.lower() != settings.objective.direction:
        raise SearchError(f"study {name!r} in {redact(url)} {existing[name].direction.name.lower()}s its "
                          f"objective, but the project asks to {settings.objective.direction} it: give "
                          "another --study name")
    offset = existing[name].n_trials if name in existing else 0  # a joining worker samples its own points
    try:
        return optuna.create_study(storage=rdb, study_name=name, load_if_exists=True,
                                   direction=settings.objective.direction,
                                   sampler=make_sampler(settings, space, offset), pruner=make_pruner(settings))
    except SearchError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise SearchError(f"cannot open study {name!r} in {redact(url)}: {exc}") from None


def load_study(project: Any, storage: str | None = None, study_name: str | None = None) -> Any:
    """An existing study, to read (SearchError when there is none)."""
    optuna = quiet_optuna()
    url = storage_for(project, storage)
    name = study_name or default_study_name(project)
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).is_file():
        raise SearchError(f"no search has run yet: {url[len('sqlite:///'):]} does not exist")
    try:
        return optuna.load_study(study_name=name, storage=open_storage(url))
    except KeyError:
        raise SearchError(f"no study named {name!r} in {redact(url)}") from None


# ------------------------------------------------------------------ reading trials back
@dataclass
class TrialRecord:
    """One trial as the table shows it. ``state``: complete, pruned, failed, running or stopped."""

    number: int
    state: str
    value: float | None
    params: dict[str, Any]
    run_id: str | None = None
    run_path: str | None = None
    n_params: int | None = None
    macs: int | None = None
    seconds: float | None = None
    problem: str | None = None
    intermediate: dict[int, float] = field(default_factory=dict)
    counted: bool = True

    def as_dict(self) -> dict[str, Any]:
        return {"number": self.number, "state": self.state, "value": self.value, "params": self.params,
                "run": self.run_id, "run_path": self.run_path, "params_count": self.n_params,
                "macs": self.macs, "seconds": self.seconds, "problem": self.problem}


def trial_record(frozen: Any, space: SearchSpace | None = None) -> TrialRecord:
    attrs = frozen.user_attrs
    state = frozen.state.name.lower()
    if state == "fail":
        state = "stopped" if attrs.get(NOT_COUNTED) == "stopped" else "failed"
    dims = {d.name: d for d in space.dimensions} if space else {}
    params = {k: (dims[k].decode(v) if k in dims else v) for k, v in frozen.params.items()}
    value = frozen.value if frozen.values else None
    if state == "pruned" and value is None and frozen.intermediate_values:
        value = frozen.intermediate_values[max(frozen.intermediate_values)]
    if value is not None and not math.isfinite(value):
        value = None
    problem = attrs.get(PROBLEM)
    if state == "failed" and problem is None:
        problem = LOST
    seconds = attrs.get(SECONDS)
    if seconds is None and frozen.datetime_start and frozen.datetime_complete:
        seconds = (frozen.datetime_complete - frozen.datetime_start).total_seconds()
    return TrialRecord(frozen.number, state, value, params, attrs.get(RUN_ID), attrs.get(RUN_PATH),
                       attrs.get(PARAMS), attrs.get(MACS), seconds, problem,
                       dict(frozen.intermediate_values), is_counted(frozen))


def trial_records(study: Any, space: SearchSpace | None = None) -> list[TrialRecord]:
    """The study's trials, by number (skipped ones, over a shared budget, left out)."""
    return [trial_record(t, space) for t in study.get_trials(deepcopy=False)
            if t.user_attrs.get(NOT_COUNTED) != "skipped"]


def best_record(records: list[TrialRecord], direction: str) -> TrialRecord | None:
    done = [r for r in records if r.state == "complete" and r.value is not None]
    if not done:
        return None
    return (max if direction == "maximize" else min)(done, key=lambda r: r.value)


def best_so_far(records: list[TrialRecord], direction: str) -> list[tuple[int, float]]:
    """(trial number, best objective up to it) over the complete trials, in order."""
    out: list[tuple[int, float]] = []
    best = None
    for r in sorted(records, key=lambda r: r.number):
        if r.state != "complete" or r.value is None:
            continue
        if best is None or (r.value > best if direction == "maximize" else r.value < best):
            best = r.value
        out.append((r.number, best))
    return out


def importances(study: Any) -> dict[str, float]:
    """Optuna's parameter importances (fANOVA) of the complete trials; {} with too few of them."""
    optuna = quiet_optuna()
    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    if len(complete) < 2 or len({tuple(sorted(t.params.items(), key=str)) for t in complete}) < 2:
        return {}
    try:
        return dict(optuna.importance.get_param_importances(study))
    except (RuntimeError, ValueError, ZeroDivisionError):
        return {}


def pareto_front(points: list[tuple[float, float]], maximize: bool) -> list[int]:
    """The indices of the Pareto-optimal points of (cost, objective): no other point costs no
    more and scores at least as well, being strictly better in one of the two."""
    front = []
    for i, (ci, vi) in enumerate(points):
        dominated = False
        for j, (cj, vj) in enumerate(points):
            if i == j:
                continue
            better = vj >= vi if maximize else vj <= vi
            strictly = cj < ci or (vj > vi if maximize else vj < vi)
            if cj <= ci and better and strictly:
                dominated = True
                break
        if not dominated:
            front.append(i)
    return front
