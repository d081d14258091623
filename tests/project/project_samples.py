"""Sample projects shared by the project-file tests."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from dlstudio.project import Project, new_project, project_to_dict  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((REPO / "resources" / "examples").glob("*.dlsproj"))


def cnn_project() -> Project:
    """A small CNN for 8x8 digits: Input -> Conv2D -> MaxPooling2D -> Flatten -> Dense."""
    p = new_project("Digits CNN")
    p.notes = "A small CNN.\nSecond line, ünïcode ✓."
    g = p.graph
    inp = g.add_node("Input", {"shape": [8, 8, 1]}, name="image", pos=(0, 0))
    conv = g.add_node("Conv2D", {"filters": 8, "kernel_size": 3, "activation": "relu"},
                      name="conv1", pos=(200, 0))
    pool = g.add_node("MaxPooling2D", {"pool_size": 2}, name="pool1", pos=(400, 0))
    flat = g.add_node("Flatten", {}, name="flatten", pos=(600, 0))
    out = g.add_node("Dense", {"units": 10, "activation": "softmax"}, name="fc1", pos=(800, 12.5))
    for a, b in [(inp, conv), (conv, pool), (pool, flat), (flat, out)]:
        g.connect(a.id, b.id)
    p.dataset.name = "digits"
    p.dataset.options = {"test_split": 0.2}
    p.training.epochs = 5
    p.training.early_stopping_patience = 3
    return p


def cnn_dict() -> dict:
    return project_to_dict(cnn_project())
