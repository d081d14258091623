"""Does the model fit its data? The checks between a graph and the dataset it trains on.

One home for them: the editor's shape pass (``analyze(graph, data)``), ``dlstudio
validate`` and the training engine's refusal to start all use
:func:`data_problems`. Each problem sits on the node it concerns and, where a
small graph edit resolves it, carries that edit as a :class:`~dlstudio.graph.Fix`:

* the Input's shape (and dtype) against the dataset's samples;
* an Embedding's ``input_dim`` against the token ids of the data;
* the output layer against the classes (one value per class, or one unit for
  two classes), or against the regression targets (an autoencoder's output
  against its input);
* an explicit loss against the labels (binary cross-entropy on ten classes,
  mean squared error on class labels, cross-entropy on numbers).

The compile layer sits below the data layer, so the dataset is read by duck
typing into a small :class:`DataDescription`.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from dlstudio.catalog import UnknownLayerError, check_params
from dlstudio.compile.keras_shapes import Shape
from dlstudio.graph import Fix, Graph, Problem

ONE_HOT_LOSSES = frozenset({"categorical_crossentropy", "categorical_focal_crossentropy",
                            "categorical_hinge", "kl_divergence", "kullback_leibler_divergence"})
SPARSE_LOSSES = frozenset({"sparse_categorical_crossentropy"})
BINARY_LOSSES = frozenset({"binary_crossentropy", "binary_focal_crossentropy", "hinge", "squared_hinge"})
CLASS_LOSSES = ONE_HOT_LOSSES | SPARSE_LOSSES | BINARY_LOSSES
REGRESSION_LOSSES = frozenset({"mse", "mae", "mape", "msle", "huber", "log_cosh", "logcosh",
                               "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
                               "mean_squared_logarithmic_error", "huber_loss"})


def loss_name(loss: Any) -> str:
    """snake_case name of a loss given as a string, a Keras loss object or a function."""
    if isinstance(loss, str):
        return loss.strip().lower()
    name = getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    if any(c.isupper() for c in name):
        name = re.sub(r"(?<!^)(?=[A-Z])", "_", name)
    return name.lower()


@dataclass(frozen=True)
class DataDescription:
    """What the checks need to know about a dataset (a Dataset reduced to its shapes)."""

    name: str
    input_shape: tuple[int, ...]
    task: str = "classification"  # or "regression"
    num_classes: int = 0
    target_shape: tuple[int, ...] = ()  # per sample: () one class id, (steps,) one per step
    input_dtype: str = "float32"  # "int32" for token ids
    token_count: int = 0  # token-id inputs: ids run 0..token_count-1 (0: not token ids)
    reconstructs: bool = False  # the targets are the inputs (an autoencoder)


def describe_data(data: Any) -> DataDescription:
    """A DataDescription of a Dataset (or anything with its attributes); a
    DataDescription is returned as it is."""
    if isinstance(data, DataDescription):
        return data
    import numpy as np

    x, y = np.asarray(data.x_train), np.asarray(data.y_train)
    ids = getattr(data, "kind", "") == "text" and x.dtype.kind in "iu"
    tokens = 0
    if ids:
        x_test = np.asarray(getattr(data, "x_test", x[:0]))
        tokens = max([int(a.max()) + 1 for a in (x, x_test) if a.size] + [len(getattr(data, "vocabulary", ()))])
    inputs, targets = tuple(int(d) for d in x.shape[1:]), tuple(int(d) for d in y.shape[1:])
    classes = len(getattr(data, "class_names", ()) or ())
    head = y[:256]
    if (data.task == "classification" and targets == (classes,) and classes > 1
            and bool(np.isin(head, (0, 1)).all()) and bool((head.sum(axis=1) == 1).all())):
        targets = ()  # one-hot rows: still one label per sample
    same = (data.task == "regression" and inputs == targets and len(x) > 0
            and bool(np.array_equal(x[:64], y[:64])))
    return DataDescription(str(data.name), inputs, str(data.task), classes, targets,
                           "int32" if ids else "float32", tokens, same)


def shape_label(shape: Any) -> str:
    """``(8, 8, 1)``, ``(2)``: one sample's shape for a button or a message."""
    return "(" + ", ".join(str(d) for d in shape) + ")"


def _fmt(shape: Any) -> str:
    from dlstudio.compile.infer import fmt_shape

    return fmt_shape(shape)


def _label(graph: Graph, node_id: str) -> str:
    node = graph.node(node_id)
    return f"{node.type} '{node.name}'"


def _params(graph: Graph, node_id: str) -> dict[str, Any]:
    node = graph.node(node_id)
    try:
        return check_params(node.type, node.params)[0]
    except UnknownLayerError:
        return dict(node.params)


# ------------------------------------------------------------------ the Input
def _single_input(graph: Graph):
    inputs = [n for n in graph.nodes if n.type == "Input"]
    return inputs[0] if len(inputs) == 1 else None


def input_changes(graph: Graph, data: Any) -> dict[str, Any]:
    """Parameters of the single Input node that must change to fit ``data`` (a
    Dataset or DataDescription); empty when it fits or there is not exactly one Input."""
    node = _single_input(graph)
    if node is None:
        return {}
    d = describe_data(data)
    params = _params(graph, node.id)
    changes: dict[str, Any] = {}
    current = params.get("shape")
    if not isinstance(current, (list, tuple)) or list(current) != list(d.input_shape):
        changes["shape"] = list(d.input_shape)
    if params.get("dtype") != d.input_dtype:
        changes["dtype"] = d.input_dtype
    return changes


def input_problem(graph: Graph, data: Any) -> Problem | None:
    """A Problem on the Input node whose shape (or dtype, as a warning) does not fit
    ``data``, with the fix; None when it fits or there is not exactly one Input."""
    node = _single_input(graph)
    if node is None:
        return None
    d = describe_data(data)
    changes = input_changes(graph, d)
    if "shape" in changes:
        current = _params(graph, node.id).get("shape")
        got = _fmt((None, *current)) if isinstance(current, (list, tuple)) else "(batch, ?)"
        label = f"Set shape to {shape_label(d.input_shape)}"
        if "dtype" in changes:
            label += f" and dtype to {changes['dtype']}"
        return Problem(f"Input '{node.name}' has shape {got} but {d.name} gives {_fmt((None, *d.input_shape))}",
                       (node.id,), hint=f"set its shape to {list(d.input_shape)}",
                       fix=Fix.set_params(label, node.id, **changes))
    if "dtype" in changes:
        what = "token ids (int32)" if changes["dtype"] == "int32" else "float32 features"
        return Problem(f"Input '{node.name}' has dtype {_params(graph, node.id).get('dtype')} but "
                       f"{d.name} gives {what}", (node.id,), hint=f"set its dtype to {changes['dtype']}",
                       severity="warning",
                       fix=Fix.set_params(f"Set dtype to {changes['dtype']}", node.id, dtype=changes["dtype"]))
    return None


def _embedding_problems(graph: Graph, input_id: str, d: DataDescription) -> list[Problem]:
    if not d.token_count:
        return []
    out = []
    for nid in sorted(graph.descendants(input_id)):
        node = graph.node(nid)
        if node.type != "Embedding":
            continue
        dim = _params(graph, nid).get("input_dim")
        if isinstance(dim, int) and dim < d.token_count:
            out.append(Problem(
                f"{_label(graph, nid)} has input_dim {dim}, but the token ids of {d.name} run up to "
                f"{d.token_count - 1} ({d.token_count} tokens)", (nid,),
                hint=f"set its input_dim to {d.token_count}",
                fix=Fix.set_params(f"Set input_dim to {d.token_count}", nid, input_dim=d.token_count)))
    return out


# ------------------------------------------------------------------ the output
_KEEPS_LAST_AXIS = {"Activation", "Softmax", "ReLU", "LeakyReLU", "ELU", "PReLU", "Dropout", "GaussianNoise",
                    "GaussianDropout", "AlphaDropout", "BatchNormalization", "LayerNormalization",
                    "ActivityRegularization"}


def units_node(graph: Graph, node_id: str) -> tuple[str, str] | None:
    """``(node id, parameter)`` that sets the size of ``node_id``'s last axis: its own
    ``units``/``filters``, or those of the layer before a trailing Activation,
    Dropout, normalization... None when there is no such parameter."""
    nid = node_id
    for _ in range(16):
        node = graph.node(nid)
        params = _params(graph, nid)
        for key in ("units", "filters"):
            if isinstance(params.get(key), int) and node.type != "Input":
                return nid, key
        preds = graph.predecessors(nid)
        if node.type not in _KEEPS_LAST_AXIS or len(preds) != 1:
            return None
        nid = preds[0]
    return None


def _set_units(graph: Graph, out_id: str, value: int) -> tuple[Fix | None, tuple[str, ...], str]:
    """The fix that gives the output ``value`` values per sample, the node ids it
    concerns and the hint."""
    found = units_node(graph, out_id)
    if found is None:
        return None, (out_id,), f"make it give {value} values per sample"
    nid, key = found
    name = graph.node(nid).name
    if nid == out_id:
        return Fix.set_params(f"Set {key} to {value}", nid, **{key: value}), (out_id,), f"set its {key} to {value}"
    return (Fix.set_params(f"Set {key} of '{name}' to {value}", nid, **{key: value}), (out_id, nid),
            f"set the {key} of '{name}' to {value}")


def _flatten_fix(graph: Graph, analysis: Any, out_id: str) -> Fix | None:
    """Insert Flatten before a Dense output layer that receives more than one axis per sample."""
    preds = [e for e in graph.in_edges(out_id)]
    if graph.node(out_id).type != "Dense" or len(preds) != 1:
        return None
    e = preds[0]
    shape = analysis.shape_at(e.src, e.src_port)
    if shape is None or len(shape) < 3:
        return None
    return Fix.insert(f"Insert Flatten before '{graph.node(out_id).name}'", "Flatten", e.src, out_id,
                      src_port=e.src_port, dst_port=e.dst_port)


def _loss_fix(loss: str) -> Fix:
    return Fix.set_training(f"Set the loss to auto (instead of {loss})", loss="auto")


def _classification_problems(graph: Graph, analysis: Any, out_id: str, out: Shape, d: DataDescription,
                             loss: str, input_fits: bool) -> list[Problem]:
    n, what = d.num_classes, _label(graph, out_id)
    problems: list[Problem] = []
    if loss in REGRESSION_LOSSES:
        problems.append(Problem(
            f"the loss {loss} compares numbers, but {d.name} has class labels ({n} classes)", (out_id,),
            hint="use cross-entropy: set the loss to auto", fix=_loss_fix(loss)))
    elif loss in BINARY_LOSSES and n != 2:
        problems.append(Problem(f"the loss {loss} is for two classes, but {d.name} has {n}", (out_id,),
                                hint="set the loss to auto (sparse categorical cross-entropy)", fix=_loss_fix(loss)))
    sample, tgt = tuple(out[1:]), d.target_shape
    if not sample:
        return problems
    if input_fits and len(sample) != len(tgt) + 1:
        want = _fmt((None, *tgt, n))
        fix = _flatten_fix(graph, analysis, out_id) if not tgt else None
        problems.append(Problem(
            f"the output layer {what} gives {_fmt(out)}, but {d.name} has "
            + ("one label per sample" if not tgt else f"labels of shape {shape_label(tgt)} per sample")
            + f": the output must be {want}", (out_id,),
            hint="insert Flatten (or global pooling) before the output layer" if not tgt else
            f"make the output {want}", fix=fix))
        return problems
    if input_fits and sample[:-1] != tgt and len(sample) == len(tgt) + 1:
        problems.append(Problem(
            f"the output layer {what} gives {_fmt(out)}, but the labels of {d.name} are "
            f"{_fmt((None, *tgt))}: the output must be {_fmt((None, *tgt, n))}", (out_id,),
            hint="give the output as many steps as the labels"))
        return problems
    units = sample[-1]
    if loss in BINARY_LOSSES and n == 2:
        allowed = {1}
    elif loss in ONE_HOT_LOSSES | SPARSE_LOSSES:
        allowed = {n}
    else:
        allowed = {n, 1} if n == 2 else {n}
    if units is None or units in allowed:
        return problems
    want = 1 if allowed == {1} else n
    fix, ids, hint = _set_units(graph, out_id, want)
    if want == 1:
        message = (f"the output layer {what} gives {units} values per sample, but {loss} needs one "
                   f"(the probability of class 1)")
    else:
        message = f"the output layer {what} gives {units} values per sample, but {d.name} has {n} classes"
    problems.append(Problem(message, ids, hint=hint, fix=fix))
    return problems


def _regression_problems(graph: Graph, analysis: Any, out_id: str, out: Shape, d: DataDescription,
                         loss: str, input_fits: bool) -> list[Problem]:
    problems: list[Problem] = []
    if loss in CLASS_LOSSES:
        problems.append(Problem(f"the loss {loss} is for class labels, but {d.name} has numeric targets",
                                (out_id,), hint="set the loss to auto (mean squared error)", fix=_loss_fix(loss)))
    sample, tgt = tuple(out[1:]), d.target_shape
    if sample == tgt or None in sample or not tgt:
        return problems
    what = _label(graph, out_id)
    fix, ids, hint = None, (out_id,), f"make the output {_fmt((None, *tgt))}"
    if len(sample) == len(tgt) and sample[:-1] == tgt[:-1]:
        fix, ids, hint = _set_units(graph, out_id, tgt[-1])
    elif not input_fits:
        return problems  # the shapes follow from an Input that is wrong: reported there
    elif math.prod(sample) == math.prod(tgt):
        name = graph.node(out_id).name
        fix = Fix.insert(f"Add Reshape to {shape_label(tgt)} after '{name}'", "Reshape", out_id,
                         target_shape=list(tgt))
        hint = f"reshape it to {shape_label(tgt)}"
    elif len(tgt) == 1 and len(sample) > 1:
        fix = _flatten_fix(graph, analysis, out_id)
        hint = "insert Flatten (or global pooling) before the output layer"
    if d.reconstructs:
        message = (f"the autoencoder's output {what} gives {_fmt(out)} but must reproduce its input "
                   f"{_fmt((None, *tgt))}")
    else:
        message = f"the output layer {what} gives {_fmt(out)}, but the targets of {d.name} are {_fmt((None, *tgt))}"
    problems.append(Problem(message, ids, hint=hint, fix=fix))
    return problems


# ------------------------------------------------------------------ all of it
def data_problems(graph: Graph, analysis: Any, data: Any, loss: Any = "auto", targets: bool = True) -> list[Problem]:
    """Every way ``graph`` (with its ``analysis``) does not fit ``data`` (a Dataset or
    DataDescription) when trained with ``loss``. ``targets=False`` checks only what
    the model takes (a GAN's discriminator, whose output is real/fake, not the labels)."""
    d = describe_data(data)
    loss = loss_name(loss)
    problems: list[Problem] = []
    inputs, outputs = list(analysis.inputs), list(analysis.outputs)
    if len(inputs) > 1:
        names = ", ".join(f"'{graph.node(i).name}'" for i in inputs)
        problems.append(Problem(f"training on {d.name} needs exactly one Input; the graph has {len(inputs)} "
                                f"({names})", tuple(inputs), hint="delete the Inputs the data does not feed"))
    if targets and len(outputs) > 1:
        names = ", ".join(f"'{graph.node(o).name}'" for o in outputs)
        problems.append(Problem(
            f"training on {d.name} needs exactly one output layer; the graph ends in {len(outputs)} ({names})",
            tuple(outputs), hint="delete the extra branches or join them (Add, Concatenate)"))
    if len(inputs) != 1:
        return problems
    wrong_input = input_problem(graph, d)
    if wrong_input is not None:
        problems.append(wrong_input)
    input_fits = wrong_input is None or not wrong_input.is_error
    problems += _embedding_problems(graph, inputs[0], d)
    if not targets or len(outputs) != 1:
        return problems
    out_id = outputs[0]
    info = analysis.nodes.get(out_id)
    out = info.output_shape if info is not None else None
    if out is None:
        return problems
    if d.task == "classification" and d.num_classes > 0:
        problems += _classification_problems(graph, analysis, out_id, out, d, loss, input_fits)
    elif d.task == "regression":
        problems += _regression_problems(graph, analysis, out_id, out, d, loss, input_fits)
    return problems
