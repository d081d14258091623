"""``dlstudio generate``, ``dlstudio translate`` and ``dlstudio forecast``: what a
trained sequence model does.

    dlstudio generate PROJECT [--run RUN] [--runs-dir DIR] [--prompt TEXT] [--length N] [--temperature T]
                      [--seed S]
    dlstudio translate PROJECT [--run RUN] [--runs-dir DIR] [SOURCE ...] [--test N] [--json]
    dlstudio forecast PROJECT [--run RUN] [--runs-dir DIR] [--steps N] [--json] [-o forecast.csv]

``generate`` continues a prompt with a character or word model (the prompt is
printed first, then what the model wrote); the same seed gives the same text.
``translate`` decodes greedily with a seq2seq model: the sources given, or the
first N test inputs with their truth and the per-character and exact-match
accuracy. ``forecast`` prints the one-step and free-running errors of a
time-series model on its test part (and a naive baseline); ``-o`` writes step,
truth, one-step and free-running columns as CSV.
"""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from dlstudio.cli.common import (
    add_project_argument,
    add_run_arguments,
    human_out,
    load_project,
    positive_int,
    seed_number,
    print_json,
    run_from_args,
)


def temperature(text: str) -> float:
    """An argparse type: a sampling temperature in [0, 10]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not math.isfinite(value) or not 0 <= value <= 10:
        raise argparse.ArgumentTypeError(f"the temperature must lie in [0, 10] (got {text})")
    return value


def _common(p: argparse.ArgumentParser) -> None:
    add_project_argument(p)
    add_run_arguments(p)


def register(sub: Any) -> None:
    """Add ``generate``, ``translate`` and ``forecast`` to the CLI's subparsers."""
    p = sub.add_parser("generate", help="text from a trained character or word model (prompt, temperature)")
    _common(p)
    p.add_argument("--prompt", help="the text to continue (default: the start of the dataset's text)")
    p.add_argument("--length", type=positive_int, default=200, help="tokens to write (default 200)")
    p.add_argument("--temperature", type=temperature, default=0.8,
                   help="0: always the most likely token; 1: the model's probabilities; more: wilder "
                        "(default 0.8)")
    p.add_argument("--seed", type=seed_number, default=0, help="the same seed writes the same text (default 0)")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("translate", help="greedy translations by a trained seq2seq model")
    _common(p)
    p.add_argument("sources", nargs="*", help="inputs to translate (default: the first --test test inputs)")
    p.add_argument("--test", type=positive_int, default=10, help="test inputs to translate (default 10)")
    p.add_argument("--json", action="store_true", help="print the results as one JSON line last")
    p.set_defaults(func=cmd_translate)

    p = sub.add_parser("forecast", help="one-step and free-running forecast errors of a time-series model")
    _common(p)
    p.add_argument("--steps", type=positive_int, help="free-running steps (default: the whole test part)")
    p.add_argument("-o", "--output", metavar="CSV", help="write step, truth and both forecasts as CSV")
    p.add_argument("--json", action="store_true", help="print the errors as one JSON line last")
    p.set_defaults(func=cmd_forecast)


def _loaded(args: argparse.Namespace) -> Any:
    """The command's run, loaded (model with its weights, dataset as it trained)."""
    from dlstudio.runs import load_run

    project = load_project(args.project)
    return load_run(project, run_from_args(project, args), args.weights, check=False)


def cmd_generate(args: argparse.Namespace) -> int:
    from dlstudio.inference.text_generation import generate, text_model_info

    loaded = _loaded(args)
    info = text_model_info(loaded.dataset)
    prompt = args.prompt if args.prompt is not None else info.default_prompt[:max(info.window, 40)]
    text = generate(loaded.model, info, prompt, args.length, args.temperature, args.seed)
    print(f"run {loaded.id} on {loaded.dataset.name}, temperature {args.temperature:g}, seed {args.seed}:",
          file=sys.stderr)
    print(prompt + text)
    return 0


def cmd_translate(args: argparse.Namespace) -> int:
    from dlstudio.inference.text_generation import GenerationError, character_accuracy, text_model_info, translate

    loaded = _loaded(args)
    dataset = loaded.dataset
    info = text_model_info(dataset)
    if not info.is_translation:
        raise GenerationError(f"{dataset.name} is not a translation dataset: use dlstudio generate")
    sources = list(args.sources) or list(info.examples[:args.test])
    outputs = translate(loaded.model, info, sources)
    truths = dict(zip(dataset.meta.get("sources") or (), dataset.meta.get("targets") or ()))
    out = human_out(args.json)
    print(f"run {loaded.id} on {dataset.name} ({dataset.meta.get('task', '')}), greedy decoding:", file=out)
    rows = []
    for s, o in zip(sources, outputs):
        truth = truths.get(s)
        mark = "" if truth is None else ("  ok" if o == truth else f"  (truth {truth})")
        print(f"  {s}  ->  {o}{mark}", file=out)
        rows.append({"source": s, "translation": o, "truth": truth})
    known = [(r["translation"], r["truth"]) for r in rows if r["truth"] is not None]
    result: dict[str, Any] = {"run": loaded.id, "translations": rows}
    if known:
        chars, exact = character_accuracy([k[0] for k in known], [k[1] for k in known])
        result.update(character_accuracy=chars, exact_match=exact)
        print(f"character accuracy {chars:.4f}, exact match {exact:.4f} over {len(known)} test inputs", file=out)
    if args.json:
        print_json(result)
    return 0


def cmd_forecast(args: argparse.Namespace) -> int:
    from dlstudio.inference.forecast import forecast

    loaded = _loaded(args)
    f = forecast(loaded.model, loaded.dataset, free_steps=args.steps)
    out = human_out(args.json)
    result = {"run": loaded.id, "test_steps": len(f.truth), "one_step_mae": f.one_step_mae,
              "free_running_steps": len(f.free), "free_running_mae": f.free_mae, "naive_mae": f.naive_mae}
    print(f"run {loaded.id} on {loaded.dataset.name}: {len(f.truth)} test steps after step {int(f.truth_t[0])}",
          file=out)
    for label, mae in (("one step ahead", f.one_step_mae), (f"free-running ({len(f.free)} steps)", f.free_mae),
                       ("naive (last value)", f.naive_mae)):
        print(f"{label:<28}MAE {mae:.4f}", file=out)
    if args.output:
        write_forecast_csv(f, args.output)
        print(f"wrote {args.output}", file=out)
    if args.json:
        print_json(result)
    return 0


def write_forecast_csv(f: Any, path: str) -> None:
    """Step, truth, one-step and free-running columns of a forecast as CSV."""
    lines = ["step,truth,one_step,free_running"]
    for i, t in enumerate(f.truth_t):
        free = f"{f.free[i]:.6g}" if i < len(f.free) else ""
        lines.append(f"{int(t)},{f.truth[i]:.6g},{f.one_step[i]:.6g},{free}")
    from dlstudio.atomic import atomic_write_text

    atomic_write_text(path, "\n".join(lines) + "\n")  # the one writer: WriteError names the file
