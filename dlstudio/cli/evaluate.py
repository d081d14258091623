"""``dlstudio evaluate`` and ``dlstudio predict``: a trained run's test metrics,
per-class report and confusion matrix, and its prediction for a file."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from dlstudio.cli.common import (
    add_project_argument,
    add_run_arguments,
    human_out,
    load_project,
    positive_int,
    print_json,
    run_from_args,
    table,
)


def register(sub: Any) -> None:
    p = sub.add_parser("evaluate", help="test metrics, per-class report, confusion matrix, ROC/PR areas and "
                       "calibration of a run")
    add_project_argument(p)
    add_run_arguments(p)
    p.add_argument("--json", action="store_true", help="print one JSON object last")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("predict", help="a trained run's prediction for an image, CSV rows or a text file")
    add_project_argument(p)
    p.add_argument("input", metavar="INPUT_FILE", help="an image, a CSV file of feature rows, a text or a .npy")
    add_run_arguments(p)
    p.add_argument("--top", type=positive_int, default=5, help="classes to show (default 5)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_predict)


def cmd_evaluate(args: argparse.Namespace) -> int:
    from dlstudio.training.evaluate import evaluate_run

    project = load_project(args.project)
    ev = evaluate_run(project, run_from_args(project, args), which=args.weights)
    out = human_out(args.json)
    print(f"run {ev.run_id} ({ev.which} weights) on {ev.dataset_name}: {len(ev.y_true):,} test samples", file=out)
    print("  ".join(f"{k} {v:.4f}" for k, v in ev.metrics.items()), file=out)
    curves = None
    if ev.task == "classification":
        from dlstudio.training.curves import classification_curves

        curves = classification_curves(ev.y_true, ev.probabilities, ev.class_names)
        rows = [("class", "precision", "recall", "f1", "support")]
        rows += [(r.name, f"{r.precision:.3f}", f"{r.recall:.3f}", f"{r.f1:.3f}", str(r.support))
                 for r in ev.per_class]
        print(file=out)
        for line in table(rows):
            print(line, file=out)
        print(f"\nROC AUC (one class vs the rest, macro mean) {curves.macro_roc_auc:.4f}  PR AUC (average "
              f"precision) {curves.macro_pr_auc:.4f}  expected calibration error {curves.ece:.4f}", file=out)
        names = [n[:8] for n in ev.class_names]
        print("\nconfusion matrix (rows: true class, columns: predicted)", file=out)
        for line in table([("", *names)] + [(n, *map(str, row)) for n, row in zip(names, ev.confusion_matrix)]):
            print(line, file=out)
        wrong = ev.misclassified()
        if len(wrong):
            shown = ", ".join(f"#{i} {ev.class_names[ev.y_true[i]]}\u2192{ev.class_names[ev.predicted[i]]} "
                              f"({ev.confidence[i]:.2f})" for i in wrong[:5])
            print(f"\n{len(wrong)} misclassified; most confident: {shown}", file=out)
    if args.json:
        data = ev.to_dict()
        if curves is not None:  # per-class roc_auc and pr_auc beside the report, ece and the reliability bins
            extra = curves.to_dict()
            for row, c in zip(data["per_class"], extra.pop("curves")):
                row.update(roc_auc=c["roc_auc"], pr_auc=c["pr_auc"])
            data.update(extra)
        print_json(data)
    return 0


def cmd_predict(args: argparse.Namespace) -> int:
    from dlstudio.training.evaluate import predict_file

    project = load_project(args.project)
    pred = predict_file(project, run_from_args(project, args), args.input, top=args.top, which=args.weights)
    if args.json:
        print_json(pred.to_dict())
        return 0
    many = len(pred.inputs) > 1
    for i in range(len(pred.inputs)):
        head = f"{Path(args.input).name}" + (f" row {i + 1}" if many else "")
        if pred.task == "classification":
            name, p = pred.top[i][0]
            print(f"{head}: {name} ({p:.1%})")
            width = max(len(n) for n, _ in pred.top[i])
            for n, q in pred.top[i]:
                print(f"  {n.ljust(width)}  {q:7.2%}  " + "\u2588" * round(20 * q))
        else:
            print(f"{head}: " + "  ".join(f"{n} {v:.4g}" for n, v in zip(pred.output_names, pred.values[i])))
    return 0
