"""Projects with a run on disk (graph snapshot + weights), made without training where
the weights do not matter, so the export tests stay fast."""

from __future__ import annotations

import pytest

from dlstudio.graph import Graph
from dlstudio.project import load_project, new_project, save_project
from dlstudio.runs import create_run, runs_dir


def chain(*layers: tuple[str, dict], names: tuple[str, ...] = ()) -> Graph:
    g = Graph()
    prev = None
    for i, (kind, params) in enumerate(layers):
        node = g.add_node(kind, params, name=names[i] if i < len(names) else f"{kind.lower()}{i}",
                          pos=(0.0, 150.0 * i))
        if prev is not None:
            g.connect(prev.id, node.id)
        prev = node
    return g


def project_with_run(folder, name: str, graph: Graph, dataset: str, options: dict | None = None,
                     **settings):
    """A saved project and one run of it whose weights are the freshly initialised model's
    (seeded, not zeros), written as training writes them."""
    import keras

    from dlstudio.backend import load_keras
    from dlstudio.compile import build_model

    load_keras()
    project = new_project(name)
    project.graph = graph
    project.dataset.name, project.dataset.options = dataset, dict(options or {})
    for k, v in settings.items():
        setattr(project.training, k, v)
    path = folder / f"{name}.dlsproj"
    save_project(project, path)
    project = load_project(path)
    keras.utils.set_random_seed(7)
    model = build_model(graph)
    run = create_run(runs_dir(path), {"status": "finished", "dataset": dataset,
                                      "settings": project.training.model_dump(), "graph": graph.to_dict(),
                                      "dataset_options": dict(options or {})})
    model.save_weights(run.weights_path)
    return project, run


@pytest.fixture(scope="session")
def digits_run(tmp_path_factory):
    """The digits CNN with augmentation and dropout (left out of the serving formats)."""
    graph = chain(("Input", {"shape": [8, 8, 1]}), ("RandomFlip", {"mode": "horizontal"}),
                  ("Conv2D", {"filters": 6, "kernel_size": 3, "padding": "same", "activation": "relu"}),
                  ("MaxPooling2D", {"pool_size": 2}), ("Flatten", {}), ("Dropout", {"rate": 0.3}),
                  ("Dense", {"units": 10, "activation": "softmax"}),
                  names=("image", "flip", "conv", "pool", "flatten", "drop", "digit"))
    return project_with_run(tmp_path_factory.mktemp("digits"), "digits", graph, "digits", epochs=3,
                            batch_size=64, learning_rate=0.002, early_stopping_patience=2,
                            lr_schedule="step", lr_step_epochs=2)
