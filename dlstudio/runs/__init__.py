"""Runs: the one home of trained runs (no Qt).

Where a project's runs live (saved or not yet), listing them, finding one by
id, unique prefix, ``last``, ``best`` or folder path, loading a trained run as
one object, labelling it, and moving an unsaved project's runs home on its
first save. Errors: :class:`RunError` and its kinds, all DLStudioErrors.
"""

from dlstudio.runs.errors import NoRunsYet, RunError, RunIncompatible, RunNotFound
from dlstudio.runs.label import run_label
from dlstudio.runs.loaded import (
    WHICH,
    LoadedRun,
    as_project,
    check_fits,
    dataset_for_run,
    find_run,
    load_run,
    load_run_model,
    run_graph,
    store_for,
    valid_range,
    weights_file,
)
from dlstudio.runs.store import (
    BEST,
    HISTORY_FILE,
    LAST,
    RUN_FILE,
    WEIGHTS_FILE,
    Run,
    RunStore,
    adopt_runs,
    best_of,
    create_run,
    is_run_folder,
    list_runs,
    open_run,
    runs_dir,
    scratch_store,
)

__all__ = [
    "BEST", "HISTORY_FILE", "LAST", "RUN_FILE", "WEIGHTS_FILE", "WHICH", "LoadedRun", "NoRunsYet", "Run",
    "RunError", "RunIncompatible", "RunNotFound", "RunStore", "adopt_runs", "as_project", "best_of",
    "check_fits", "create_run", "dataset_for_run", "find_run", "is_run_folder", "list_runs", "load_run",
    "load_run_model", "open_run", "run_graph", "run_label", "runs_dir", "scratch_store", "store_for",
    "valid_range", "weights_file",
]
