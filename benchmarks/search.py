"""A search on the spirals example, against its own result and against training by hand.

Run from the repository root::

    .venv/bin/python benchmarks/search.py [--project resources/examples/spiral_mlp.dlsproj]
                                          [--trials 20] [--epochs N] [--by-hand K]

Copies the project into a temporary folder and runs ``run_search`` on it as ``dlstudio search``
does (its own space, sampler and pruner; SQLite storage beside the copy). Then trains the
example as it is (its own test accuracy); the first ``--by-hand`` complete trials are trained
again by hand (``engine.train`` on the very graph and settings of the trial, no Optuna), each
right after its trial so that both see the same load on the machine, and it prints
each of them side by side: the seconds inside the search, the seconds by hand, the difference;
and, robust to a busy machine, the search's own cost measured inside every trial (its seconds
less the seconds in the training engine: asking, building, analysing, reports, telling).
Target (the issue's): the best of 20 trials reaches at least the example's own test accuracy.
Prints plain ``name: value`` lines; asserts nothing.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from statistics import median

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PROJECT = ROOT / "resources" / "examples" / "spiral_mlp.dlsproj"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--project", default=str(DEFAULT_PROJECT))
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--epochs", type=int, help="train every trial (and the example) this many epochs")
    parser.add_argument("--by-hand", type=int, default=5, help="complete trials trained again by hand")
    args = parser.parse_args()

    from dlstudio.data import load_dataset
    from dlstudio.project import load_project
    from dlstudio.search.check import check_space
    from dlstudio.search.runner import TrialEnded, run_search
    from dlstudio.training.engine import train

    folder = Path(tempfile.mkdtemp(prefix="dlstudio-search-bench-"))
    try:
        path = folder / Path(args.project).name
        shutil.copy(args.project, path)
        project = load_project(path)
        data = load_dataset(project.dataset.name, project.dataset.options, seed=project.training.seed)
        print(f"project: {Path(args.project).name}")
        print(f"space: {', '.join(check_space(project).names())}; sampler {project.search.sampler}, "
              f"pruner {project.search.pruner}, objective {project.search.objective.metric} "
              f"({project.search.objective.direction})")

        space = check_space(project)
        pairs: list[tuple[int, float, float]] = []  # (trial, seconds in the search, seconds by hand)
        by_hand_seconds = 0.0

        def by_hand(r) -> float:
            sample = space.build(r.params)
            if args.epochs:
                sample.settings = sample.settings.model_copy(update={"epochs": args.epochs})
            t0 = time.perf_counter()
            train(sample.graph, data, sample.settings, run_base=folder / "by-hand")
            return time.perf_counter() - t0

        def emit(event):
            nonlocal by_hand_seconds
            if isinstance(event, TrialEnded):
                r = event.record
                value = f"{r.value:.4f}" if r.value is not None else "-"
                print(f"trial {r.number}: {r.state} {value} {r.params} {r.seconds:.1f} s", flush=True)
                if r.state == "complete" and len(pairs) < args.by_hand:  # its twin by hand, right after it
                    hand = by_hand(r)
                    by_hand_seconds += hand
                    pairs.append((r.number, r.seconds, hand))

        t0 = time.perf_counter()
        result = run_search(project, data, trials=args.trials, epochs=args.epochs, emit=emit)
        total = time.perf_counter() - t0 - by_hand_seconds
        print(f"search: {result.trials} trials in {total:.1f} s ({total / max(1, result.ran):.1f} s a trial)")
        states = [r.state for r in result.records]
        print(f"states: " + ", ".join(f"{s} {states.count(s)}" for s in sorted(set(states))))

        settings = project.training.model_copy(update={"epochs": args.epochs} if args.epochs else {})
        t0 = time.perf_counter()
        own = train(project.graph, data, settings, run_base=folder / "by-hand").metrics
        print(f"example as it is: test accuracy {own['test_accuracy']:.4f} ({time.perf_counter() - t0:.1f} s)")
        best = result.best
        if best is not None:
            from dlstudio.runs import open_run

            best_test = open_run(best.run_path).metrics.get("test_accuracy", float("nan"))
            print(f"best trial: {best.number} {best.params}, {project.search.objective.metric} {best.value:.4f}, "
                  f"test accuracy {best_test:.4f}")
            print(f"reaches the example's own test accuracy: {best_test >= own['test_accuracy']}")

        # the search's own cost, measured inside each trial: its seconds less those in the engine
        from dlstudio.search.study import SECONDS, TRAIN_SECONDS, load_study

        frozen = {t.number: t.user_attrs for t in load_study(project).get_trials(deepcopy=False)}
        own = [a[SECONDS] - a[TRAIN_SECONDS] for a in frozen.values() if TRAIN_SECONDS in a and SECONDS in a]
        if own:
            print(f"search overhead per trial (trial seconds less engine seconds): median {median(own):.2f} s, "
                  f"max {max(own):.2f} s over {len(own)} trials")

        # side by side: the same configurations trained by hand, each right after its search twin
        print("trial  search s  by hand s  difference s  (wall clock: noisy on a shared machine)")
        for number, searched, hand in pairs:
            print(f"{number:5d}  {searched:8.2f}  {hand:9.2f}  {searched - hand:12.2f}")
        if pairs:
            print(f"wall-clock difference per trial: median {median(s - h for _, s, h in pairs):.2f} s "
                  f"(of {len(pairs)})")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
