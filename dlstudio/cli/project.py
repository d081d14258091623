"""``dlstudio validate``, ``dlstudio summary`` and ``dlstudio import``: a project's graph
checked, described, or made from a Keras model file."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from dlstudio.cli.common import UserError, add_project_argument, fmt_int, load_project


def register(sub: Any) -> None:
    p = sub.add_parser("validate", help="check a project's graph against its dataset; one problem per line, "
                                        "each with its fix")
    add_project_argument(p)
    p.add_argument("--no-data", action="store_true", help="check the graph alone, without loading the dataset")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("summary", help="layers, output shapes, parameter and MAC counts")
    add_project_argument(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_summary)

    p = sub.add_parser("import", help="turn a .keras or .h5 model into a project (safe mode)")
    p.add_argument("model", help="a .keras or .h5 file")
    p.add_argument("-o", "--output", required=True, help="the .dlsproj file to write")
    p.add_argument("--force", action="store_true", help="replace an existing project file")
    p.set_defaults(func=cmd_import)


def cmd_validate(args: argparse.Namespace) -> int:
    from dlstudio.compile import analyze
    from dlstudio.gan.project import analyze_graph, extra_problems  # other graphs, a GAN's pair checks

    project = load_project(args.project)
    data = None if args.no_data else _validation_data(project)
    analysis = analyze_graph(project, data=data)  # the model against its data too
    problems = analysis.problems + extra_problems(project, data)
    for p in problems:
        out = sys.stderr if p.is_error else sys.stdout
        print(f"{p.severity}: {p}", file=out)
        if p.fix is not None:
            print(f"  fix: {p.fix.label}", file=out)
    too_big = _too_big(analysis)
    if too_big:
        print(f"error: {too_big}", file=sys.stderr)
    searched = search_problems(project)  # the search space too, as a search would check it before starting
    for problem in searched:
        print(f"error: search: {problem}", file=sys.stderr)
    if any(p.is_error for p in problems) or too_big or searched:
        return 1
    print(f"{Path(args.project).name}: valid ({len(project.graph)} layers, "
          f"{fmt_int(analysis.total_params)} parameters)")
    for name, graph in project.graphs.items():  # a GAN's discriminator, ...
        print(f"  graph '{name}': valid ({len(graph)} layers, {fmt_int(analyze(graph).total_params)} parameters)")
    if project.search is not None and not project.search.is_empty():
        from dlstudio.search import search_space

        names = search_space(project).names()
        print(f"  search: valid ({len(names)} searched: {', '.join(names)})")
    return 0


def search_problems(project: Any) -> list[str]:
    """The problems of the project's search section ([] when it has none)."""
    if project.search is None or project.search.is_empty():
        return []
    from dlstudio.search.check import space_problems

    return space_problems(project)


def _too_big(analysis: Any) -> str:
    """Why the model cannot be built on this machine at all (its weights alone need more than
    its memory), or ""."""
    from dlstudio.bounded import fmt_bytes, total_memory
    from dlstudio.compile.build import model_memory

    need, have = model_memory(analysis), total_memory()
    if need <= have:
        return ""
    return (f"the model has {fmt_int(analysis.total_params)} parameters, which take about {fmt_bytes(need)} of "
            f"memory; this machine has {fmt_bytes(have)}: make it smaller")


def _validation_data(project: Any) -> Any:
    """The project's dataset for validation, or None (with a note) when it cannot be had
    without a download or a missing file."""
    from dlstudio.data import DatasetError, get_dataset_spec, load_dataset

    ref = project.dataset
    try:
        if not get_dataset_spec(ref.name).offline:
            print(f"note: {ref.name} is downloaded on first use; the model was not checked against it")
            return None
        from dlstudio.data.paths import base_folder

        return load_dataset(ref.name, dict(ref.options), project.training.seed, base=base_folder(project))
    except DatasetError as exc:
        print(f"warning: the model was not checked against its dataset: {exc}")
        return None


def cmd_summary(args: argparse.Namespace) -> int:
    project = load_project(args.project)
    extra = project.graphs  # a GAN's discriminator, ...
    if args.json:
        summary = graph_summary(project.graph)
        if extra:
            summary["graphs"] = {name: graph_summary(graph) for name, graph in extra.items()}
        print(json.dumps(summary))
        return 0
    for i, (name, graph) in enumerate([(None, project.graph), *extra.items()]):
        if extra:
            title = f"graph '{name}'" if name else "main graph" + (" (generator)" if project.gan else "")
            print(("\n" if i else "") + title)
        print_graph_summary(graph)
    return 0


def graph_summary(graph: Any) -> dict:
    """Layers (in order) with shapes, parameters, MACs and problems, and the totals."""
    from dlstudio.compile import analyze

    analysis = analyze(graph)
    layers = []
    for nid in analysis.order + [n.id for n in graph.nodes if n.id not in analysis.order]:
        node, info = graph.node(nid), analysis.nodes[nid]
        shape = info.output_shape
        layers.append({
            "id": nid, "name": node.name, "type": node.type,
            "output_shape": list(shape) if shape is not None else None,
            "params": info.params, "trainable_params": info.trainable_params, "macs": info.macs,
            "problems": [str(p) for p in info.problems],
        })
    return {"total_params": analysis.total_params, "trainable_params": analysis.trainable_params,
            "total_macs": analysis.total_macs, "valid": analysis.ok, "layers": layers,
            "problems": [f"{p.severity}: {p}" for p in analysis.problems]}


def print_graph_summary(graph: Any) -> None:
    from dlstudio.compile import fmt_shape

    summary = graph_summary(graph)
    rows = [("Layer", "Type", "Output shape", "Params", "MACs")]
    for layer in summary["layers"]:
        shape = tuple(layer["output_shape"]) if layer["output_shape"] is not None else None
        rows.append((layer["name"] + (" !" if layer["problems"] else ""), layer["type"], fmt_shape(shape),
                     fmt_int(layer["params"]), fmt_int(layer["macs"])))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for i, r in enumerate(rows):
        print("  ".join(c.ljust(w) if j < 3 else c.rjust(w) for j, (c, w) in enumerate(zip(r, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    total, trainable = summary["total_params"], summary["trainable_params"]
    print(f"Total params: {fmt_int(total)} (trainable {fmt_int(trainable)}, "
          f"non-trainable {fmt_int(total - trainable)})")
    print(f"Multiply-accumulates per sample: {fmt_int(summary['total_macs'])}")
    for line in summary["problems"]:
        print(line)


def cmd_import(args: argparse.Namespace) -> int:
    from dlstudio.compile.import_process import import_model_isolated
    from dlstudio.project import new_project, save_project

    out = Path(args.output)
    if out.suffix != ".dlsproj":
        raise UserError(f"{out}: the output must be a .dlsproj file")
    if out.exists() and not args.force:
        raise UserError(f"{out} already exists; use --force to replace it")
    # in a child process with time and memory limits; ModelImportError names the file and the layer
    graph, weights = import_model_isolated(args.model)
    project = new_project(out.stem)
    project.graph = graph
    project.notes = f"Imported from {Path(args.model).name}."
    save_project(project, out)
    saved = save_imported_weights(out, graph, weights, args.model)
    print(f"imported {len(graph)} layers from {args.model} into {out}"
          + (f"; weights in run {saved}" if saved else ""))
    return 0


def save_imported_weights(project_path: Path, graph: Any, weights: Any, source: str) -> str | None:
    """Keep the imported model's weights as a run of the new project; returns its id."""
    if not any(len(w) for w in weights.values()):
        return None
    from dlstudio.compile import build_model
    from dlstudio.compile.importer import apply_weights
    from dlstudio.runs import RunStore

    model = build_model(graph)
    apply_weights(model, graph, weights)
    from dlstudio.atomic import write_file

    run = RunStore.of_project(project_path).create({"status": "importing", "source": str(source),
                                                    "graph": graph.to_dict()})
    write_file(run.weights_path, model.save_weights)
    run.update(status="imported")  # only once the weights it claims are complete
    return run.id
