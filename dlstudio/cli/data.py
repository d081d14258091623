"""``dlstudio data list`` and ``dlstudio data show``: the datasets, one described, or
its samples drawn."""

from __future__ import annotations

import argparse
import json
from typing import Any, Sequence

from dlstudio.cli.common import UserError, positive_int, seed_number, write_png


def register(sub: Any) -> None:
    data = sub.add_parser("data", help="list the datasets, describe one or draw its samples")
    data_sub = data.add_subparsers(dest="data_command", metavar="SUBCOMMAND")
    p = data_sub.add_parser("list", help="every dataset: name, category, offline or download, title")
    p.add_argument("--json", action="store_true", help="print one JSON list")
    p.set_defaults(func=cmd_data_list, needs_keras=False)
    p = data_sub.add_parser("show", help="sizes, shapes, classes and class balance; -o draws samples")
    p.add_argument("name", help="a dataset name (see `dlstudio data list`)")
    p.add_argument("--option", action="append", metavar="KEY=VALUE",
                   help="a dataset option (repeatable); values are read as JSON when they parse "
                        "(numbers, true/false), else as text")
    p.add_argument("--seed", type=seed_number, default=0, help="seed of the split and of generated data (default 0)")
    p.add_argument("-o", "--output", metavar="PNG",
                   help="write a grid of labelled samples (images) or a scatter plot (2-D points)")
    p.add_argument("--samples", type=positive_int, default=32, help="images in the grid (default 32)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_data_show)
    data.set_defaults(func=lambda _args: data.print_help() or 2)


def option_value(text: str):
    """A ``--option`` value: JSON when it parses (numbers, true/false, null, lists), else the text."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def data_options(pairs: Sequence[str] | None) -> dict:
    options = {}
    for pair in pairs or ():
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UserError(f"--option needs KEY=VALUE (got {pair!r})")
        options[key.strip()] = option_value(value)
    return options


def cmd_data_list(args: argparse.Namespace) -> int:
    from dlstudio.data import list_datasets

    specs = list_datasets()
    if args.json:
        print(json.dumps([{
            "name": s.name, "title": s.title, "category": s.category, "offline": s.offline,
            "description": s.description,
            "options": [{"name": o.name, "kind": o.kind, "default": o.default, "help": o.help,
                         "min": o.min, "max": o.max, "choices": list(o.choices) if o.choices else None}
                        for o in s.options],
        } for s in specs], default=str))
        return 0
    rows = [("Name", "Category", "Source", "Options", "Title")]
    for s in specs:
        rows.append((s.name, s.category, "offline" if s.offline else "download",
                     ", ".join(o.name for o in s.options) or "\u2014", s.title))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4])
        if i == 0:
            print("  ".join("-" * w for w in widths) + "  " + "-" * max(len(r[4]) for r in rows))
    print(f"{len(specs)} datasets; `dlstudio data show NAME` describes one")
    return 0


def data_picture(dataset: Any, path: str, samples: int, seed: int) -> str:
    """Write a picture of ``dataset`` to ``path``; returns what was drawn."""
    import numpy as np

    from dlstudio.data.grid import image_grid, points_plot, sample_indices

    if dataset.kind == "image" and dataset.x_train.ndim == 4:
        idx = sample_indices(dataset.y_train, samples, seed)
        y = dataset.y_train[idx]
        if dataset.task == "classification" and dataset.class_names:
            labels = [dataset.class_names[int(v)] for v in y]
        else:
            labels = [", ".join(f"{float(t):.3g}" for t in np.ravel(v)[:2]) for v in y]
        picture, what = image_grid(dataset.x_train[idx], labels), f"a grid of {len(idx)} samples"
    elif dataset.kind == "points" and dataset.x_train.ndim == 2 and dataset.x_train.shape[1] == 2:
        picture = points_plot(dataset.x_train, dataset.y_train, dataset.class_names,
                              feature_names=dataset.feature_names or ("x1", "x2"))
        what = f"a scatter plot of {len(dataset.x_train):,} training points"
    else:
        raise UserError(f"dataset {dataset.name!r} holds {dataset.kind} data: there is no picture to draw "
                        "(-o works for images and 2-D point sets); leave out -o to describe it")
    write_png(picture, path)
    return what


def cmd_data_show(args: argparse.Namespace) -> int:
    import numpy as np

    from dlstudio.data import get_dataset_spec, load_dataset
    from dlstudio.data.grid import class_balance, text_preview

    options = data_options(args.option)
    spec = get_dataset_spec(args.name)  # DatasetError: unknown name, bad option
    dataset = load_dataset(args.name, options, seed=args.seed)
    classification = dataset.task == "classification" and dataset.num_classes > 0
    balance = {split: class_balance(y, dataset.num_classes).tolist() if classification else []
               for split, y in (("train", dataset.y_train), ("test", dataset.y_test))}
    picture = data_picture(dataset, args.output, args.samples, args.seed) if args.output else None
    if args.json:
        print(json.dumps({
            "name": spec.name, "title": spec.title, "category": spec.category, "offline": spec.offline,
            "description": dataset.description or spec.description, "kind": dataset.kind, "task": dataset.task,
            "sizes": dataset.sizes, "input_shape": list(dataset.input_shape),
            "input_dtype": str(dataset.x_train.dtype), "target_shape": list(dataset.target_shape),
            "target_dtype": str(dataset.y_train.dtype), "classes": list(dataset.class_names),
            "class_balance": balance, "feature_names": list(dataset.feature_names),
            "options": spec.check_options(options), "seed": args.seed,
            "output": str(args.output) if args.output else None,
        }, default=str))
        return 0
    sizes = dataset.sizes
    print(f"{spec.name}: {spec.title}")
    print(f"  {dataset.description or spec.description}")
    rows = [
        ("kind", f"{dataset.kind}, {dataset.task}"),
        ("samples", f"{sizes['train']:,} train, {sizes['test']:,} test"),
        ("input", f"{dataset.input_shape} {dataset.x_train.dtype} per sample"),
        ("target", f"{dataset.target_shape} {dataset.y_train.dtype} per sample"
                   + (f", {dataset.num_classes} classes" if classification else "")),
    ]
    if dataset.feature_names:
        rows.append(("features", ", ".join(dataset.feature_names)))
    for key, value in rows:
        print(f"{key:<10}{value}")
    if classification:
        counts = np.asarray(balance["train"])
        total = max(1, int(counts.sum()))
        print("class balance (train):")
        order = list(range(len(counts)))
        if len(order) > 24:  # many classes (characters): the most frequent ones
            order = sorted(order, key=lambda i: -counts[i])[:20]
        width = max(len(dataset.class_names[i]) for i in order)
        top = max(1, int(counts.max()))
        for i in order:
            bar = "\u2588" * max(1 if counts[i] else 0, int(round(24 * counts[i] / top)))
            print(f"  {dataset.class_names[i]:<{width}}  {counts[i]:>7,}  {100 * counts[i] / total:5.1f}%  {bar}")
        if len(order) < len(counts):
            print(f"  \u2026 and {len(counts) - len(order)} rarer classes")
    elif dataset.y_train.size and dataset.y_train.dtype.kind == "f":
        y = dataset.y_train
        print(f"values    mean {float(y.mean()):.4g}, std {float(y.std()):.4g}, "
              f"range {float(y.min()):.4g} to {float(y.max()):.4g} (train)")
    if dataset.kind == "text" and dataset.vocabulary:
        print("samples (input \u2192 next):")
        for line in text_preview(dataset, 5).splitlines():
            print(f"  {line}")
    if picture:
        print(f"wrote {picture} to {args.output}")
    return 0


