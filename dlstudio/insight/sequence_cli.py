"""``dlstudio generate``, ``dlstudio translate`` and ``dlstudio forecast``: what a
trained sequence model does.

    dlstudio generate PROJECT [--run RUN] [--prompt TEXT] [--length N] [--temperature T] [--seed S]
    dlstudio translate PROJECT [--run RUN] [SOURCE ...] [--test N] [--json]
    dlstudio forecast PROJECT [--run RUN] [--steps N] [--json] [-o forecast.csv]

``generate`` continues a prompt with a character or word model (the prompt is
printed first, then what the model wrote); the same seed gives the same text.
``translate`` decodes greedily with a seq2seq model: the sources given, or the
first N test inputs with their truth and the per-character and exact-match
accuracy. ``forecast`` prints the one-step and free-running errors of a
time-series model on its test part (and a naive baseline); ``-o`` writes step,
truth, one-step and free-running columns as CSV. Exit codes as every command:
0 success, 1 bad input, 2 usage.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from typing import Any

from dlstudio.cli import _positive_int  # one home for CLI number checks


def _temperature(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"the temperature must lie in [0, 10] (got {text})")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("project", help="a .dlsproj file")
    p.add_argument("--run", default="last", help="run id, unique id prefix or 'last' (default)")
    p.add_argument("--weights", choices=("last", "best"), default="last",
                   help="the weights at the end of training (default) or of the best epoch")


def register(sub: Any) -> None:
    """Add ``generate``, ``translate`` and ``forecast`` to the CLI's subparsers."""
    p = sub.add_parser("generate", help="text from a trained character or word model (prompt, temperature)")
    _common(p)
    p.add_argument("--prompt", help="the text to continue (default: the start of the dataset's text)")
    p.add_argument("--length", type=_positive_int, default=200, help="tokens to write (default 200)")
    p.add_argument("--temperature", type=_temperature, default=0.8,
                   help="0: always the most likely token; 1: the model's probabilities; more: wilder "
                        "(default 0.8)")
    p.add_argument("--seed", type=int, default=0, help="the same seed writes the same text (default 0)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("translate", help="greedy translations by a trained seq2seq model")
    _common(p)
    p.add_argument("sources", nargs="*", help="inputs to translate (default: the first --test test inputs)")
    p.add_argument("--test", type=_positive_int, default=10, help="test inputs to translate (default 10)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line last")
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser("forecast", help="one-step and free-running forecast errors of a time-series model")
    _common(p)
    p.add_argument("--steps", type=_positive_int, help="free-running steps (default: the whole test part)")
    p.add_argument("-o", "--output", metavar="CSV", help="write step, truth and both forecasts as CSV")
    p.add_argument("--json", action="store_true", help="print the errors as one JSON line last")
    p.set_defaults(func=cmd_forecast)


def _setup(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    """(run, model, dataset) of the command's project and run; UserError when they cannot load."""
    from dlstudio.cli import UserError, _evaluation_errors, _load, _run_of
    from dlstudio.runs import dataset_for_run, load_run_model

    project = _load(args.project)
    if project.path is None:
        raise UserError("the project has not been saved, so it has no runs")
    run = _run_of(project, args.run)
    try:
        return run, load_run_model(run, args.weights), dataset_for_run(project, run)
    except _evaluation_errors() as exc:
        raise UserError(str(exc)) from None


def cmd_generate(args: argparse.Namespace) -> int:
    from dlstudio.cli import UserError
    from dlstudio.insight.text_generation import (
        GenerationError,
        generate,
        text_model_info,
    )

    run, model, dataset = _setup(args)
    try:
        info = text_model_info(dataset)
        prompt = args.prompt if args.prompt is not None else info.default_prompt[:max(info.window, 40)]
        text = generate(model, info, prompt, args.length, args.temperature, args.seed)
    except GenerationError as exc:
        raise UserError(str(exc)) from None
    print(f"run {run.id} on {dataset.name}, temperature {args.temperature:g}, seed {args.seed}:", file=sys.stderr)
    print(prompt + text)
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from dlstudio.cli import UserError
    from dlstudio.insight.text_generation import (
        GenerationError,
        character_accuracy,
        text_model_info,
        translate,
    )

    run, model, dataset = _setup(args)
    try:
        info = text_model_info(dataset)
        if not info.is_translation:
            raise GenerationError(f"{dataset.name} is not a translation dataset: use dlstudio generate")
        sources = list(args.sources) or list(info.examples[:args.test])
        outputs = translate(model, info, sources)
    except GenerationError as exc:
        raise UserError(str(exc)) from None
    truths = dict(zip(dataset.meta.get("sources") or (), dataset.meta.get("targets") or ()))
    out = sys.stderr if args.json else sys.stdout
    print(f"run {run.id} on {dataset.name} ({dataset.meta.get('task', '')}), greedy decoding:", file=out)
    rows = []
    for s, o in zip(sources, outputs):
        truth = truths.get(s)
        mark = "" if truth is None else ("  ok" if o == truth else f"  (truth {truth})")
        print(f"  {s}  ->  {o}{mark}", file=out)
        rows.append({"source": s, "translation": o, "truth": truth})
    known = [(r["translation"], r["truth"]) for r in rows if r["truth"] is not None]
    result: dict[str, Any] = {"run": run.id, "translations": rows}
    if known:
        chars, exact = character_accuracy([k[0] for k in known], [k[1] for k in known])
        result.update(character_accuracy=chars, exact_match=exact)
        print(f"character accuracy {chars:.4f}, exact match {exact:.4f} over {len(known)} test inputs", file=out)
    if args.json:
        print(json.dumps(result))
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from dlstudio.cli import UserError
    from dlstudio.insight.forecast import ForecastError, forecast

    run, model, dataset = _setup(args)
    try:
        f = forecast(model, dataset, free_steps=args.steps)
    except ForecastError as exc:
        raise UserError(str(exc)) from None
    out = sys.stderr if args.json else sys.stdout
    result = {"run": run.id, "test_steps": len(f.truth), "one_step_mae": f.one_step_mae,
              "free_running_steps": len(f.free), "free_running_mae": f.free_mae, "naive_mae": f.naive_mae}
    print(f"run {run.id} on {dataset.name}: {len(f.truth)} test steps after step {int(f.truth_t[0])}", file=out)
    for label, mae in (("one step ahead", f.one_step_mae), (f"free-running ({len(f.free)} steps)", f.free_mae),
                       ("naive (last value)", f.naive_mae)):
        print(f"{label:<28}MAE {mae:.4f}", file=out)
    if args.output:
        _write_csv(f, args.output)
        print(f"wrote {args.output}", file=out)
    if args.json:
        print(json.dumps(result))
    return 0


def _write_csv(f: Any, path: str) -> None:
    from dlstudio.cli import UserError

    lines = ["step,truth,one_step,free_running"]
    for i, t in enumerate(f.truth_t):
        free = f"{f.free[i]:.6g}" if i < len(f.free) else ""
        lines.append(f"{int(t)},{f.truth[i]:.6g},{f.one_step[i]:.6g},{free}")
    try:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    except OSError as exc:
        raise UserError(f"cannot write {path}: {exc}") from None
