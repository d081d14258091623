"""Small searchable projects: a tiny MLP on 200 two-spiral points (trials train in a second or two)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest


def tiny_document(**search) -> dict:
    """point -> hidden (Dense) -> drop (Dropout) -> fold (Reshape) -> flat -> output, on 200 spiral points."""
    nodes = [("n1", "Input", "point", {"shape": [2]}), ("n2", "Dense", "hidden", {"units": 4, "activation": "relu"}),
             ("n3", "Dropout", "drop", {"rate": 0.2}), ("n4", "Reshape", "fold", {"target_shape": [-1]}),
             ("n5", "Flatten", "flat", {}), ("n6", "Dense", "output", {"units": 1, "activation": "sigmoid"})]
    space = {"params": [{"node": "n2", "param": "units", "kind": "int", "low": 4, "high": 16, "log": True},
                        {"param": "learning_rate", "kind": "float", "low": 1e-3, "high": 3e-2, "log": True}],
             "optional": [{"name": "dropout", "nodes": ["n3"]}],
             "repeat": [{"name": "depth", "nodes": ["n2"], "min": 1, "max": 2}],
             "objective": {"metric": "val_accuracy", "direction": "maximize"},
             "trials": 3, "sampler": "random", "pruner": "none", "seed": 1}
    space.update(search)
    return {
        "format_version": 1, "name": "tiny search",
        "graph": {"nodes": [{"id": i, "type": t, "name": n, "params": p, "pos": [0.0, 100.0 * k]}
                            for k, (i, t, n, p) in enumerate(nodes)],
                  "edges": [{"id": f"e{k}", "src": nodes[k][0], "dst": nodes[k + 1][0]} for k in range(len(nodes) - 1)]},
        "dataset": {"name": "spirals", "options": {"samples": 200}},
        "training": {"epochs": 1, "batch_size": 32, "learning_rate": 0.01, "validation_split": 0.2,
                     "metrics": ["accuracy"]},
        "search": space,
    }


def write_project(folder: Path, name: str = "tiny", **search) -> Path:
    path = folder / f"{name}.dlsproj"
    path.write_text(json.dumps(tiny_document(**search)))
    return path


@pytest.fixture
def tiny_project(tmp_path) -> Path:
    return write_project(tmp_path)
