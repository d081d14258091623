"""``dlstudio search``: search a project's space on Optuna (every trial a run of the project);
``dlstudio diff``: what differs between two runs (layers, parameters, settings, metrics)."""

from __future__ import annotations

import argparse
from typing import Any

from dlstudio.cli.common import (
    RUNS_DIR_HELP,
    UserError,
    add_project_argument,
    add_runs_dir_argument,
    human_out,
    load_project,
    positive_int,
    print_json,
    resolve_run,
)

RUN_REF_HELP = "a run: its id, a unique id prefix, 'last', 'best' or the path of a run folder"


def register(sub: Any) -> None:
    p = sub.add_parser("search", help="search a project's hyper-parameters and architecture (Optuna); every "
                                      "trial is a run of the project")
    add_project_argument(p, help="a .dlsproj file with a search section (its space, objective and budget)")
    p.add_argument("--trials", type=positive_int, metavar="N",
                   help="the study's number of trials in all, those already in it and those of other workers "
                        "on the same storage included (default: the project's)")
    p.add_argument("--timeout", type=float, metavar="SECONDS", help="start no new trial after this many seconds")
    p.add_argument("--storage", metavar="URL",
                   help="the study's storage: an Optuna database URL (postgresql://..., mysql://..., "
                        "sqlite:///FILE) shared by every worker, or an SQLite file (default: NAME.optuna.db "
                        "beside the project)")
    p.add_argument("--study", metavar="NAME", help="the study's name (default: the project file's name)")
    p.add_argument("--epochs", type=positive_int, help="train every trial this many epochs (default: the "
                                                       "project's, or the searched value)")
    p.add_argument("--max-samples", type=positive_int, metavar="N",
                   help="train and test on the first N samples of each split only (a quick check)")
    add_runs_dir_argument(p, help="the folder the trials' runs go in (default: NAME.runs beside the project)")
    p.add_argument("--json", action="store_true",
                   help="print the best trial, its run and the number of trials as one JSON line last")
    p.add_argument("--show", action="store_true",
                   help="run nothing: list the study's trials (with --json: one JSON line of them)")
    p.set_defaults(func=cmd_search)

    d = sub.add_parser("diff", help="what differs between two runs of a project: layers added, removed and "
                                    "changed (old -> new), settings and metrics")
    add_project_argument(d)
    d.add_argument("run_a", metavar="RUN_A", help=RUN_REF_HELP)
    d.add_argument("run_b", metavar="RUN_B", help=RUN_REF_HELP)
    add_runs_dir_argument(d, help=RUNS_DIR_HELP)
    d.add_argument("--json", action="store_true", help="print the difference as one JSON object")
    d.set_defaults(func=cmd_diff)


def fmt_value(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def fmt_params(params: dict[str, Any]) -> str:
    return " ".join(f"{k}={fmt_value(v)}" for k, v in params.items())


def cmd_search(args: argparse.Namespace) -> int:
    from dlstudio.data import load_dataset
    from dlstudio.data.paths import base_folder
    from dlstudio.search.runner import SearchEnded, SearchStarted, TrialEnded, TrialStarted, run_search

    project = load_project(args.project)
    if project.search is None:
        raise UserError(f"{project.path.name} has no search section: define a search space first (in the app: "
                        "right-click a parameter, Search over…)")
    if args.show:
        return show_study(project, args)
    if args.timeout is not None and args.timeout <= 0:
        raise UserError(f"--timeout must be above 0, got {args.timeout:g}")
    dataset = load_dataset(project.dataset.name, project.dataset.options, seed=project.training.seed,
                           base=base_folder(project))
    if args.max_samples:
        from dlstudio.cli.train import first_samples

        dataset = first_samples(dataset, args.max_samples)
    out = human_out(args.json)
    metric = project.search.objective.metric

    def emit(event: object) -> None:
        if isinstance(event, SearchStarted):
            budget = f"{event.trials} trials" if event.trials else "no trial limit"
            print(f"study {event.study} in {event.storage}: {budget}, {event.done} done; searching "
                  f"{', '.join(event.dimensions)}", file=out, flush=True)
        elif isinstance(event, TrialStarted):
            print(f"trial {event.number}: {fmt_params(event.params)}", file=out, flush=True)
        elif isinstance(event, TrialEnded):
            r = event.record
            what = f"{metric} {r.value:.4f}" if r.value is not None else (r.problem or "").splitlines()[0]
            took = f", {r.seconds:.1f} s" if r.seconds is not None else ""
            run = f", run {r.run_id}" if r.run_id else ""
            best = f"; best so far: trial {event.best.number} ({event.best.value:.4f})" if event.best else ""
            print(f"trial {r.number} {r.state}: {what}{took}{run}{best}", file=out, flush=True)
        elif isinstance(event, SearchEnded) and event.stopped:
            print("stopped", file=out, flush=True)

    result = run_search(project, dataset, trials=args.trials, timeout=args.timeout, storage=args.storage,
                        study_name=args.study, runs_dir=args.runs_dir, emit=emit, epochs=args.epochs)
    best = result.best
    if best is None:
        print(f"no trial completed ({result.trials} trials in the study)", file=out)
    else:
        print(f"best: trial {best.number}, {metric} {best.value:.4f} ({fmt_params(best.params)}), "
              f"run {best.run_id}; {result.trials} trials in the study", file=out)
    if args.json:
        print_json({"best": best_json(best), "trials": result.trials, "ran": result.ran,
                    "stopped": result.stopped, "metric": metric,
                    "direction": project.search.objective.direction})
    return 0 if best is not None else 1


def show_study(project: Any, args: argparse.Namespace) -> int:
    """``--show``: the study's trials as a table (or JSON), best marked."""
    from dlstudio.cli.common import table
    from dlstudio.search.check import search_space
    from dlstudio.search.study import best_record, load_study, trial_records

    records = trial_records(load_study(project, args.storage, args.study), search_space(project))
    objective = project.search.objective
    best = best_record(records, objective.direction)
    if args.json:
        print_json({"trials": [r.as_dict() for r in records], "best": best.number if best else None,
                    "metric": objective.metric, "direction": objective.direction})
        return 0
    rows = [("trial", "state", objective.metric, "values", "params", "seconds", "run")]
    for r in records:
        rows.append((f"{r.number}{' *' if best is not None and r.number == best.number else ''}", r.state,
                     "" if r.value is None else f"{r.value:.4f}", fmt_params(r.params),
                     "" if r.n_params is None else f"{r.n_params:,}",
                     "" if r.seconds is None else f"{r.seconds:.1f}", r.run_id or (r.problem or "").splitlines()[0]))
    for line in table(rows, right_from=99):
        print(line)
    return 0


def best_json(best: Any) -> dict[str, Any] | None:
    """The best trial with its run's test metrics (read from its run.json)."""
    if best is None:
        return None
    out = {"trial": best.number, "value": best.value, "params": best.params, "run": best.run_id,
           "run_path": best.run_path, "params_count": best.n_params, "macs": best.macs, "metrics": {}}
    if best.run_path:
        from dlstudio.runs import RunError, open_run

        try:
            out["metrics"] = open_run(best.run_path).metrics
        except (RunError, OSError):
            pass
    return out


def cmd_diff(args: argparse.Namespace) -> int:
    from dlstudio.search.diff import diff_runs, diff_lines

    project = load_project(args.project)
    a = resolve_run(project, args.run_a, args.runs_dir)
    b = resolve_run(project, args.run_b, args.runs_dir)
    diff = diff_runs(a, b)
    if args.json:
        print_json(diff.as_dict())
    else:
        for line in diff_lines(diff):
            print(line)
    return 0
