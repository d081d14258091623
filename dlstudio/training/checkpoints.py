"""A run's weights and optimizer state on disk, and loading them into a model.

Continue (``train(start_from=RUN)``) starts a new run from an old run's last
weights *and* its optimizer state: Adam's moment estimates, the step counter
(bias correction, decaying schedules). Keras keeps the optimizer variables
inside ``model.weights.h5`` only positionally (and only loads them into an
optimizer that is already built with the same number of variables), so the
run also keeps them by name in ``optimizer.npz``; Continue restores every slot
whose name and shape match and takes the learning rate from the new settings.

Before any weights are loaded the model is compared, layer by layer, with the
one the run was trained with: a graph changed since the run gets a message
naming the layers that differ instead of Keras' positional load error.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.bounded import load_weights, npz_headers
from dlstudio.atomic import write_file
from dlstudio.training.objectives import TrainingError

OPTIMIZER_FILE = "optimizer.npz"
_CLASS_KEY = "__class__"
_NOT_RESTORED = ("learning_rate",)  # the new settings decide it


#: Optimizer variables whose names start with this are DL Studio's records made during a training
#: (step_gradients.StepGradientFlow's ring), not the optimizer's state: never saved or restored.
RECORDER_PREFIX = "dlstudio_record_"


def optimizer_state(optimizer: Any) -> list[tuple[str, Any]]:
    """(name, variable) of the optimizer's state, the name without the optimizer's own (numbered)
    prefix: ``iteration``, ``learning_rate``, ``fc_kernel_momentum``, ..."""
    named = [(v.path.split("/", 1)[-1], v) for v in optimizer.variables]
    return [(n, v) for n, v in named if not n.startswith(RECORDER_PREFIX)]


def save_optimizer_state(optimizer: Any, folder: Path) -> None:
    """Write the optimizer's variables by name to ``folder/optimizer.npz`` (atomically).
    A state holding NaN or infinity (a diverged step) is not written: the last good one stays."""
    arrays = {name: np.asarray(v) for name, v in optimizer_state(optimizer)}
    if not all(np.isfinite(a).all() for a in arrays.values() if a.dtype.kind == "f"):
        return
    arrays[_CLASS_KEY] = np.array(_optimizer_class(optimizer))
    write_file(Path(folder) / OPTIMIZER_FILE, lambda tmp: np.savez(tmp, **arrays))


def restore_optimizer_state(model: Any, folder: Path) -> str:
    """Build the compiled model's optimizer and load the slots saved in ``folder``.
    Returns what happened, in words (it goes into the new run's run.json)."""
    optimizer = model.optimizer
    optimizer.build(model.trainable_variables)
    path = Path(folder) / OPTIMIZER_FILE
    if not path.is_file():
        return "not restored: the run saved no optimizer state (it was made before DL Studio kept it)"
    try:  # the headers first: shapes and dtypes are checked before any array is read
        headers = npz_headers(path, str(path))
    except (OSError, ValueError) as exc:
        return f"not restored: {exc}"
    state = optimizer_state(optimizer)
    mismatched = [n for n, v in state
                  if n not in _NOT_RESTORED and (n not in headers or headers[n].shape != tuple(v.shape))]
    if _CLASS_KEY not in headers or headers[_CLASS_KEY].nbytes > 4096:
        return "not restored: the run's optimizer state does not name its optimizer"
    with np.load(path, allow_pickle=False) as saved:
        saved_class = str(saved[_CLASS_KEY])
        if saved_class != _optimizer_class(optimizer):
            return f"not restored: the run used {saved_class}, this training uses {_optimizer_class(optimizer)}"
        if mismatched:
            return f"not restored: {len(mismatched)} optimizer variable(s) differ, e.g. {mismatched[0]}"
        for name, var in state:
            if name not in _NOT_RESTORED:
                var.assign(saved[name])
    return "restored"


def _optimizer_class(optimizer: Any) -> str:
    inner = getattr(optimizer, "inner_optimizer", None)  # mixed precision's LossScaleOptimizer
    return type(inner or optimizer).__name__


# --------------------------------------------------------------------------- comparing models


def layer_weight_shapes(model: Any) -> dict[str, tuple[str, list[tuple[str, tuple[int, ...]]]]]:
    """``{layer name: (layer class, [(weight name, shape)])}`` for every layer with weights."""
    return {layer.name: (type(layer).__name__, [(w.name, tuple(w.shape)) for w in layer.weights])
            for layer in model.layers if layer.weights}


def _h5_layout(path: Path) -> dict[str, tuple[int, ...]]:
    import h5py

    layout: dict[str, tuple[int, ...]] = {}
    with h5py.File(path, "r") as fh:
        if "layers" in fh:
            fh["layers"].visititems(
                lambda name, obj: layout.__setitem__(name, obj.shape) if isinstance(obj, h5py.Dataset) else None)
    return layout


def _model_layout(model: Any) -> dict[str, tuple[int, ...]]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "layout.weights.h5"
        model.save_weights(path)
        return _h5_layout(path)


def graph_changes(model: Any, run: Any, weights: Path) -> list[str]:
    """How ``model`` differs from the model whose weights are in ``weights`` (a file of
    ``run``): one line per layer that differs; empty when the weights fit."""
    try:
        saved = _h5_layout(weights)
    except OSError as exc:
        raise TrainingError(f"run {run.id}: its weights file {weights.name} cannot be read ({exc})") from None
    if saved == _model_layout(model):
        return []
    then = _run_layers(run)
    if then is None:
        return ["the weights file holds a different set of layers (the run keeps no graph to name them)"]
    now = layer_weight_shapes(model)
    changes = []
    for name, (cls, shapes) in then.items():
        if name not in now:
            changes.append(f"'{name}' ({cls}) is no longer in the graph")
        elif now[name] != (cls, shapes):
            changes.append(f"'{name}' was {_describe(cls, shapes)}, is now {_describe(*now[name])}")
    changes += [f"'{name}' ({cls}) is new" for name, (cls, _s) in now.items() if name not in then]
    return changes or ["the layers with weights are the same but in a different order"]


def _describe(cls: str, weights: list[tuple[str, tuple[int, ...]]]) -> str:
    """``Dense: kernel 2x8, bias 8``"""
    return f"{cls}: " + ", ".join(f"{name} {'x'.join(map(str, shape)) or 'scalar'}" for name, shape in weights)


def _run_layers(run: Any) -> dict[str, tuple[str, list[tuple[str, tuple[int, ...]]]]] | None:
    from dlstudio.compile import build_model
    from dlstudio.graph import Graph

    data = run.info.get("graph")
    if not isinstance(data, dict) or not data.get("nodes"):
        return None
    try:
        return layer_weight_shapes(build_model(Graph.from_dict(data)))
    except Exception:  # noqa: BLE001 - a damaged snapshot: fall back to the generic message
        return None


def check_weights_fit(model: Any, run: Any, weights: Path, action: str) -> None:
    """Raise a TrainingError naming the changed layers when ``weights`` do not fit ``model``."""
    changes = graph_changes(model, run, weights)
    if changes:
        raise TrainingError(
            f"cannot {action} run {run.id}: the graph has changed since that run, so its weights do not fit "
            f"({'; '.join(changes)}). Start a new run (Train) to train the changed graph, or undo the "
            "changes to go on with this run.", changes)


def load_run_weights(model: Any, run: Any) -> None:
    """Load ``run``'s last layer weights into ``model`` (checked to fit, optimizer left alone)."""
    if not run.weights_path.is_file():
        raise TrainingError(f"cannot continue run {run.id}: it has no weights yet (status: {run.status}; it "
                            "ended before its first checkpoint); start a new training instead")
    check_weights_fit(model, run, run.weights_path, "continue")
    load_weights(model, run.weights_path)
