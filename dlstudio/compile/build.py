"""Graph -> keras.Model with the functional API.

Layer names are the node names; inputs and outputs keep the graph's order
(nodes sorted by position, top to bottom then left to right, so what the user
sees first comes first).
"""

from __future__ import annotations

from typing import Any

from dlstudio.bounded import check_memory
from dlstudio.catalog import check_params, get_spec, instantiate
from dlstudio.compile.infer import Analysis, analyze
from dlstudio.graph import Graph, Problem
from dlstudio.errors import DLStudioError


class CompileError(DLStudioError, ValueError):
    """The graph cannot become a model; ``problems`` says why, node by node."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the graph has {len(problems)} problem(s):\n{lines}")


def _by_position(graph: Graph, ids: list[str]) -> list[str]:
    return sorted(ids, key=lambda nid: (graph.node(nid).pos[1], graph.node(nid).pos[0], nid))


def model_io(graph: Graph, analysis: Analysis) -> tuple[list[str], list[str]]:
    """The input and output node ids, in model order.

    An Input connected to nothing (a warning, not an error) is left out, so the
    model does not ask for data it never uses.
    """
    used = [nid for nid in analysis.inputs if graph.out_edges(nid)]
    return _by_position(graph, used), _by_position(graph, analysis.outputs)


def model_memory(analysis: Analysis, training: bool = False, batch_size: int = 1) -> int:
    """About the bytes a model of ``analysis`` takes: float32 weights (for training also their
    gradients and two optimizer slots) and one batch's activations (twice, for the backward pass)."""
    activations = 0
    for info in analysis.nodes.values():
        for shape in info.output_shapes:
            if isinstance(shape, (tuple, list)):
                n = 1
                for d in shape[1:]:
                    n *= d if isinstance(d, int) and d > 0 else 1
                activations += n
    per_param = 16 if training else 4
    return analysis.total_params * per_param + activations * 4 * max(1, batch_size) * (2 if training else 1)


def check_model_memory(analysis: Analysis, training: bool = False, batch_size: int = 1) -> None:
    """LimitError (a DLStudioError) before a model that cannot fit in the memory still available
    is built: the estimate of :func:`model_memory` against :func:`dlstudio.bounded.check_memory`."""
    need = model_memory(analysis, training, batch_size)
    what = f"the model ({analysis.total_params:,} parameters" + (f", batches of {batch_size}" if training else "") + ")"
    check_memory(need, what, "make it smaller" + (" or lower the batch size" if training else ""))


def build_model(graph: Graph, analysis: Analysis | None = None, name: str = "model") -> Any:
    """Compile the graph into a ``keras.Model``; raises CompileError if invalid, LimitError when
    it would not fit in the memory still available (checked before anything is allocated)."""
    import keras

    analysis = analysis or analyze(graph)
    if analysis.errors:
        raise CompileError(analysis.errors)
    check_model_memory(analysis)
    inputs, outputs = model_io(graph, analysis)
    tensors: dict[tuple[str, int], Any] = {}
    made: dict[str, Any] = {}  # layers by name: a node that shares another's layer calls that one
    for nid in analysis.order:
        node = graph.node(nid)
        spec = get_spec(node.type)
        params, _ = check_params(node.type, node.params)
        if spec.call == "input":
            tensors[(nid, 0)] = keras.Input(shape=tuple(params["shape"]), dtype=params["dtype"], name=node.name)
            continue
        ports = spec.input_ports(params)
        edges = {e.dst_port: e for e in graph.in_edges(nid)}
        args = [tensors[(edges[i].src, edges[i].src_port)] if i in edges else None for i in range(len(ports))]
        owner = params.get("shares") or node.name
        if owner not in made:
            made[owner] = instantiate(node.type, params, name=owner)
        pos, kw = spec.call_arguments(params, args)
        out = made[owner](*pos, **kw)
        outs = out if isinstance(out, (list, tuple)) else [out]
        for i, t in enumerate(outs):
            tensors[(nid, i)] = t
    model_inputs = [tensors[(nid, 0)] for nid in inputs]
    model_outputs = [tensors[(nid, 0)] for nid in outputs]
    return keras.Model(
        inputs=model_inputs[0] if len(model_inputs) == 1 else model_inputs,
        outputs=model_outputs[0] if len(model_outputs) == 1 else model_outputs,
        name=name,
    )
