"""A trained run, loaded: its record, the graph it trained, the built model with the
chosen weights, its dataset split as it was, and the range its inputs live in.

This is the one way every command and panel gets a run's model and data: the model
is rebuilt from the run's own graph snapshot (``run.json`` ``"graph"``), so a run
stays usable after the project's graph changed; the dataset is the project's with
the options and seed the run trained with, so the test split is the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.bounded import LimitError, check_hdf5
from dlstudio.runs.errors import RunIncompatible
from dlstudio.runs.store import BEST_WEIGHTS_FILE, WEIGHTS_FILE, Run, RunStore

WHICH = ("last", "best")
WEIGHT_FILES = {"last": WEIGHTS_FILE, "best": BEST_WEIGHTS_FILE}


def as_project(project: Any) -> Any:
    """A Project from a Project or the path of a .dlsproj (ProjectError when unreadable)."""
    if isinstance(project, (str, os.PathLike)):
        from dlstudio.project import load_project

        return load_project(project)
    return project


def store_for(project: Any, runs_folder: str | os.PathLike | RunStore | None = None) -> RunStore:
    """The RunStore of ``project`` (a Project or a path), or of ``runs_folder`` when given.
    A project without a file and no folder given has no runs (NoRunsYet on find)."""
    if isinstance(runs_folder, RunStore):
        return runs_folder
    path = project if isinstance(project, (str, os.PathLike)) else getattr(project, "path", None)
    name = Path(path).name if path is not None else f"“{getattr(project, 'name', 'Untitled')}”"
    if runs_folder is not None:
        return RunStore(Path(runs_folder), name, path is not None)
    if path is None:
        return RunStore(Path(os.devnull) / "no-runs", name, saved=False)
    return RunStore.of_project(path)


def find_run(project: Any, ref: Any = "last", runs_folder: Any = None) -> Run:
    """The run ``ref`` (a Run, a run folder, an id, a unique prefix, ``last``, ``best``)
    of ``project``'s runs (or of ``runs_folder``)."""
    return store_for(project, runs_folder).find(ref)


def run_graph(run: Run) -> Any:
    """The graph the run was trained with (its snapshot in run.json)."""
    from dlstudio.graph import Graph

    data = run.info.get("graph")
    if not isinstance(data, dict) or not data.get("nodes"):
        raise RunIncompatible(f"run {run.id} has no graph snapshot in its run.json, so its model cannot be "
                              "rebuilt")
    try:
        return Graph.from_dict(data)
    except Exception as exc:  # noqa: BLE001 - a hand-edited or damaged run.json
        raise RunIncompatible(f"run {run.id}: the graph snapshot in run.json is damaged ({exc})") from None


def weights_file(run: Run, which: str = "last") -> Path:
    if which not in WHICH:
        raise RunIncompatible(f"unknown weights {which!r}; choose one of {', '.join(WHICH)}")
    path = run.path / WEIGHT_FILES[which]
    if not path.is_file():
        hint = " (it records the best epoch only when it trained at least one epoch)" if which == "best" else ""
        raise RunIncompatible(f"run {run.id} has no {which} weights: {path.name} is missing{hint} "
                              f"(status: {run.status})")
    return path


def load_run_model(run: Run, which: str = "last") -> Any:
    """The run's keras.Model, rebuilt from its graph snapshot, with its ``which`` weights
    ("last": the end of training, or the best epoch when early stopping restored it;
    "best": the epoch with the lowest monitored loss)."""
    from dlstudio.backend import load_keras
    from dlstudio.compile import CompileError, build_model

    load_keras()
    graph = run_graph(run)
    path = weights_file(run, which)
    try:
        model = build_model(graph)
    except CompileError as exc:
        raise RunIncompatible(f"run {run.id}: its graph no longer compiles ({exc})") from None
    try:
        check_hdf5(path, "weights file")  # read once in a child process first: a damaged file cannot hang us
    except LimitError as exc:
        raise RunIncompatible(f"run {run.id}: cannot load {path.name} ({str(exc).split(': ', 1)[-1]})") from None
    try:
        model.load_weights(path)
    except Exception as exc:  # noqa: BLE001 - h5py/keras raise many kinds
        raise RunIncompatible(f"run {run.id}: cannot load {path.name} ({type(exc).__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else ''})") from None
    return model


def dataset_for_run(project: Any, run: Run) -> Any:
    """The project's dataset, with the options (when the run recorded them) and
    the seed the run was trained with, so the test split is the same."""
    from dlstudio.data import load_dataset
    from dlstudio.data.paths import base_folder

    project = as_project(project)
    settings = run.info.get("settings") or {}
    seed = int(settings.get("seed", getattr(project.training, "seed", 0)))
    options = run.info.get("dataset_options", project.dataset.options)
    dataset = load_dataset(project.dataset.name, options, seed=seed, base=base_folder(project))
    trained_on = run.info.get("dataset")
    if trained_on and trained_on != dataset.name:
        raise RunIncompatible(f"run {run.id} was trained on {trained_on!r} but the project now uses "
                              f"{dataset.name!r}: switch the project back to use this run")
    return dataset


def check_fits(model: Any, dataset: Any, run: Run) -> None:
    """RunIncompatible unless the model takes the dataset's samples."""
    want = tuple(model.inputs[0].shape[1:])
    got = tuple(dataset.input_shape)
    if len(want) != len(got) or any(w is not None and w != g for w, g in zip(want, got)):
        raise RunIncompatible(f"run {run.id}'s model takes samples of shape {want} but {dataset.name} now gives "
                              f"{got}: the dataset options changed since the run was trained")


def valid_range(x: np.ndarray) -> tuple[float, float]:
    """The range inputs live in: (0, 1) for data inside it, else the data's own range."""
    x = np.asarray(x)
    if x.size == 0:
        return (0.0, 1.0)
    lo, hi = float(np.min(x)), float(np.max(x))
    return (0.0, 1.0) if lo >= 0.0 and hi <= 1.0 else (lo, hi)


@dataclass
class LoadedRun:
    """A trained run ready to look at: everything a panel or command needs."""

    run: Run
    graph: Any
    model: Any
    dataset: Any
    which: str = "last"

    @property
    def id(self) -> str:
        return self.run.id

    @property
    def label(self) -> str:
        return f"run {self.run.id} ({self.which} weights)"

    @property
    def input_range(self) -> tuple[float, float]:
        return valid_range(self.dataset.x_train) if np.issubdtype(self.dataset.x_train.dtype, np.floating) \
            else (float(np.min(self.dataset.x_train)), float(np.max(self.dataset.x_train)))

    def split(self, name: str = "test") -> tuple[np.ndarray, np.ndarray]:
        return (self.dataset.x_test, self.dataset.y_test) if name == "test" else \
            (self.dataset.x_train, self.dataset.y_train)


def load_run(project: Any, ref: Any = "last", which: str = "last", *, runs_folder: Any = None,
             dataset: Any = None, check: bool = True) -> LoadedRun:
    """Find ``ref`` among ``project``'s runs (or ``runs_folder``'s) and load it: graph snapshot,
    model with its ``which`` weights, the dataset as it trained (``dataset``: one already
    loaded for it). ``check``: refuse a model that does not take the dataset's samples.
    Raises NoRunsYet / RunNotFound / RunIncompatible / DatasetError / ProjectError."""
    project = as_project(project)
    run = find_run(project, ref, runs_folder)
    data = dataset if dataset is not None else dataset_for_run(project, run)
    model = load_run_model(run, which)
    if check:
        check_fits(model, data, run)
    return LoadedRun(run, run_graph(run), model, data, which)
