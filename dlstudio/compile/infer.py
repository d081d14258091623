"""Shape inference and validation: every node's output shape, parameter and
multiply-accumulate counts, and the problems of the graph as data.

:class:`ShapeInference` keeps a cache keyed by (layer type, parameters, input
shapes), so re-analysing a graph after one edit only asks Keras about the
nodes whose inputs or parameters really changed.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from dlstudio.catalog import UnknownLayerError, check_params, get_spec
from dlstudio.compile.keras_shapes import LayerResult, Shape, layer_output, multiply_accumulates
from dlstudio.compile.sharing import apply_sharing
from dlstudio.graph import Edge, Fix, Graph, Node, Problem
from dlstudio.graph.model import layer_name_problem, suggested_layer_name


@dataclass(frozen=True)
class NodeInfo:
    """What the shape pass knows about one node."""

    output_shapes: tuple[Shape | None, ...] = ()
    params: int = 0
    trainable_params: int = 0
    macs: int = 0
    weights: tuple[tuple[str, tuple[int, ...], bool], ...] = ()
    problems: tuple[Problem, ...] = ()
    #: Not known yet: Keras has not loaded and the shape store has no answer for this layer
    #: (or for one before it). Not a problem; the analysis after Keras loads fills it in.
    pending: bool = False

    @property
    def output_shape(self) -> Shape | None:
        return self.output_shapes[0] if self.output_shapes else None

    def shape_of(self, port: int) -> Shape | None:
        """The shape on output ``port`` (None: unknown, or no such port)."""
        return self.output_shapes[port] if 0 <= port < len(self.output_shapes) else None

    @property
    def ok(self) -> bool:
        return not any(p.is_error for p in self.problems)


@dataclass
class Analysis:
    nodes: dict[str, NodeInfo] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    order: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def pending(self) -> bool:
        """Some shapes wait for Keras (see NodeInfo.pending): problems may be missing."""
        return any(info.pending for info in self.nodes.values())

    def shape_at(self, node_id: str, port: int = 0) -> Shape | None:
        """The shape found on output ``port`` of ``node_id`` (None: unknown)."""
        info = self.nodes.get(node_id)
        return info.shape_of(port) if info is not None else None

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def total_params(self) -> int:
        return sum(i.params for i in self.nodes.values())

    @property
    def trainable_params(self) -> int:
        return sum(i.trainable_params for i in self.nodes.values())

    @property
    def total_macs(self) -> int:
        return sum(i.macs for i in self.nodes.values())


def label(node: Node) -> str:
    return f"{node.type} '{node.name}'"


def fmt_shape(shape: Shape | None) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("batch" if i == 0 and d is None else ("None" if d is None else str(d))
                           for i, d in enumerate(shape)) + ")"


def _window_problem(node: Node, params: dict[str, Any], shape: Shape) -> Problem | None:
    """A convolution or pooling window that does not fit its input."""
    size_key = "kernel_size" if "kernel_size" in params else "pool_size" if "pool_size" in params else None
    if size_key is None or params.get("padding", "valid") != "valid" or node.type.endswith("Transpose"):
        return None
    spatial = shape[1:-1]
    size = params[size_key]
    sizes = [size] * len(spatial) if isinstance(size, int) else list(size)
    dil = params.get("dilation_rate", 1)
    dils = [dil] * len(spatial) if isinstance(dil, int) else list(dil)
    if len(sizes) != len(spatial) or len(dils) != len(spatial):
        return None
    eff = [(k - 1) * d + 1 for k, d in zip(sizes, dils)]
    if all(s is None or e <= s for e, s in zip(eff, spatial)):
        return None
    k_txt = "x".join(map(str, eff))
    in_txt = "x".join("?" if s is None else str(s) for s in spatial)
    same = Fix.set_params("Set padding to same", node.id, padding="same")
    if size_key == "pool_size":
        return Problem(
            f"{label(node)}: its {k_txt} pool is larger than its {in_txt} input and shrinks it to zero",
            (node.id,), hint="remove this pooling, pool less earlier, or use padding='same'", fix=same,
        )
    return Problem(
        f"{label(node)}: its {k_txt} kernel is larger than its {in_txt} input",
        (node.id,), hint="use a smaller kernel_size, padding='same', or less pooling before it", fix=same,
    )


def _merge_problem(node: Node, params: dict[str, Any], shapes: list[Shape], srcs: list[Node]) -> Problem | None:
    spec = get_spec(node.type)
    if spec.call != "list" or node.type == "Dot":
        return None
    listing = " and ".join(f"{fmt_shape(s)} from '{n.name}'" for s, n in zip(shapes, srcs))
    if node.type == "Concatenate":
        axis = params.get("axis", -1)
        ranks = {len(s) for s in shapes}
        if len(ranks) > 1:
            return Problem(f"{label(node)} needs inputs of one rank but receives {listing}",
                           (node.id, *[n.id for n in srcs]), hint="reshape the inputs to the same rank")
        rank = ranks.pop()
        ax = axis % rank if -rank <= axis < rank else None
        if ax is None:
            return Problem(f"{label(node)}: axis {axis} does not exist for inputs of rank {rank}",
                           (node.id,), hint="use axis -1 to join along the channels")
        rest = {tuple(d for i, d in enumerate(s) if i != ax) for s in shapes}
        if len(rest) > 1:
            return Problem(
                f"{label(node)} joins along axis {axis}, so all other dimensions must match, but it receives {listing}",
                (node.id, *[n.id for n in srcs]),
                hint="give every branch the same spatial size (padding='same', equal strides) or resize them",
            )
        return None
    if not _broadcastable(shapes):
        hint = "make the shapes equal"
        if all(len(s) == len(shapes[0]) for s in shapes) and all(
            s[:-1] == shapes[0][:-1] for s in shapes
        ):
            hint = "make the channel counts equal (for a shortcut, a 1x1 Conv2D or a Dense projection)"
        return Problem(f"{label(node)} needs inputs of one shape but receives {listing}",
                       (node.id, *[n.id for n in srcs]), hint=hint)
    return None


def _broadcastable(shapes: list[Shape]) -> bool:
    """Element-wise merges take equal shapes, or a size 1 that Keras broadcasts
    (a squeeze-and-excitation Multiply of (h, w, c) by (1, 1, c))."""
    if len({len(s) for s in shapes}) > 1:
        return False
    for dims in zip(*(s[1:] for s in shapes)):
        if len({d for d in dims if d is not None and d != 1}) > 1:
            return False
    return True


def _keras_message(exc: BaseException) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))  # Keras bolds the reason with ANSI codes
    text = text.split("Arguments received by")[0]
    # "Exception encountered when calling X.call().\n\n<the reason>": keep the reason
    paragraphs = [p for p in text.split("\n\n")
                  if p.strip() and not p.strip().startswith("Exception encountered when calling")]
    text = paragraphs[0] if paragraphs else type(exc).__name__
    text = " ".join(text.split())
    return text if len(text) <= 240 else text[:237] + "..."


class ShapesPending(Exception):
    """Raised inside an analysis without Keras for a layer the shape store does not know."""


#: Exceptions that are Keras' answer about a layer (kept in the shape store); others (a failed
#: import, memory) are not remembered beyond this process.
REFUSALS = (ValueError, TypeError, IndexError, KeyError, NotImplementedError, AttributeError)


class ShapeInference:
    """Analyses graphs; keeps a cache so repeated analysis after an edit is cheap.

    ``store``: a :class:`~dlstudio.compile.shape_store.ShapeStore` shared with other processes
    over time (the editor's); with one, an analysis with ``keras=False`` answers every layer the
    store knows and leaves the rest pending, without importing Keras.
    """

    def __init__(self, cache_size: int = 4096, store: Any = None) -> None:
        self._cache: OrderedDict[tuple, LayerResult | Exception] = OrderedDict()
        self._cache_size = cache_size
        self.store = store
        self.keras_calls = 0  # how many times Keras was asked (for tests and benchmarks)

    def _layer(self, type_name: str, params: dict[str, Any], shapes: list[Shape | None],
               keras: bool = True) -> LayerResult:
        key = (type_name, json.dumps(params, sort_keys=True, default=str), tuple(shapes))
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
        else:
            hit = self._ask(key, params, keras)
            self._cache[key] = hit
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        if isinstance(hit, Exception):
            raise hit
        return hit

    def _ask(self, key: tuple, params: dict[str, Any], keras: bool) -> LayerResult | Exception:
        """The shape store's answer, else Keras' (kept in the store); without ``keras``,
        ShapesPending is raised for what the store does not know."""
        stored_key = None
        if self.store is not None:
            from dlstudio.compile.shape_store import entry_key

            stored_key = entry_key(*key)
            hit = self.store.get(stored_key)
            if hit is not None:
                return hit
        if not keras and get_spec(key[0]).call != "input":  # an Input's shape is its own setting
            raise ShapesPending(key[0])
        self.keras_calls += 1
        type_name, _, shapes = key
        try:
            hit = layer_output(type_name, params, list(shapes))
        except Exception as exc:  # Keras rejects the combination
            hit = exc
        if stored_key is not None:
            from dlstudio.compile.shape_store import KerasRefused

            if isinstance(hit, LayerResult):
                self.store.put(stored_key, hit)
            elif isinstance(hit, REFUSALS):
                self.store.put(stored_key, KerasRefused(_keras_message(hit)))
        return hit

    def analyze(self, graph: Graph, data: Any = None, *, loss: Any = "auto", targets: bool = True,
                keras: bool = True) -> Analysis:
        """Shapes, counts and problems of ``graph``. With ``data`` (a Dataset or a
        :class:`~dlstudio.compile.data_fit.DataDescription`) the problems include where
        the model does not fit it when trained with ``loss`` (see ``data_fit.data_problems``;
        ``targets=False``: only the input side, for a model whose output is not the labels).
        ``keras=False``: Keras is not asked (it may not have loaded yet); layers the shape store
        does not know are pending, and so is what follows them (see ``Analysis.pending``)."""
        result = Analysis()
        nodes = {n.id: n for n in graph.nodes}
        problems: dict[str, list[Problem]] = {nid: [] for nid in nodes}
        graph_problems: list[Problem] = []

        names: dict[str, list[str]] = {}
        for n in nodes.values():
            names.setdefault(n.name, []).append(n.id)
            bad_name = layer_name_problem(n.name)
            if bad_name:
                problems[n.id].append(Problem(bad_name, (n.id,), hint=f"rename it '{suggested_layer_name(n.name)}'"))
        for name, ids in names.items():
            if len(ids) > 1:
                graph_problems.append(Problem(
                    f"{len(ids)} layers are named '{name}'", tuple(ids),
                    hint="give every layer a unique name"))

        cycle = graph.find_cycle()
        if cycle:
            path = " -> ".join(nodes[c].name for c in cycle + cycle[:1])
            graph_problems.append(Problem(f"the graph has a cycle: {path}", tuple(cycle),
                                          hint="remove one of the edges in the loop"))
        order = graph.acyclic_order()
        result.order = order

        inputs = [n.id for n in nodes.values() if n.type == "Input"]
        result.inputs = inputs
        if not inputs:
            graph_problems.append(Problem("the model has no Input node",
                                          hint="add an Input from the palette and connect it to the first layer"))

        in_edges: dict[str, list[Edge]] = {nid: [] for nid in nodes}  # one pass, not O(E) per node
        for e in graph.edges:
            in_edges[e.dst].append(e)
        for nid in order:
            node = nodes[nid]
            edges = sorted(in_edges[nid], key=lambda e: e.dst_port)
            info = self._analyze_node(graph, node, nodes, result.nodes, edges, keras)
            result.nodes[nid] = info
        for nid in nodes:
            if nid not in result.nodes:  # on or after a cycle
                result.nodes[nid] = NodeInfo(output_shapes=(None,))
        apply_sharing(nodes, result.nodes)  # shared layers: weights counted once, settings checked

        outputs = [n.id for n in graph.sinks() if n.type != "Input"]
        result.outputs = outputs
        if inputs and not outputs and not cycle:  # a loop has no end: reported above
            graph_problems.append(Problem("the model has no output layer",
                                          tuple(inputs), hint="connect a layer to the Input; its last layer becomes the output"))
        for nid in inputs:
            if not graph.out_edges(nid):
                problems[nid].append(Problem(f"Input '{nodes[nid].name}' is not connected to any layer",
                                             (nid,), hint="connect it or delete it", severity="warning"))

        if data is not None and not result.pending:  # checked against the data once every shape is known
            from dlstudio.compile.data_fit import data_problems

            for p in data_problems(graph, result, data, loss, targets):
                (problems[p.node_ids[0]] if p.node_ids else graph_problems).append(p)
        for nid, info in result.nodes.items():
            extra = problems.get(nid, [])
            if extra:
                result.nodes[nid] = NodeInfo(info.output_shapes, info.params, info.trainable_params,
                                             info.macs, info.weights, info.problems + tuple(extra), info.pending)
        result.problems = graph_problems + [p for nid in nodes for p in result.nodes[nid].problems]
        return result

    def _analyze_node(self, graph: Graph, node: Node, nodes: dict[str, Node],
                      done: dict[str, NodeInfo], in_edges: list[Edge] | None = None,
                      keras: bool = True) -> NodeInfo:
        def fail(message: str, hint: str = "", ids: tuple[str, ...] = (), port: int | None = None,
                 severity: str = "error") -> NodeInfo:
            prob = Problem(message, ids or (node.id,), port=port, hint=hint, severity=severity)
            return NodeInfo(output_shapes=(None,), problems=(prob,))

        try:
            spec = get_spec(node.type)
        except UnknownLayerError:
            return fail(f"'{node.name}' has the unknown layer type {node.type!r}",
                        hint="replace it with a layer from the palette")
        params, errors = check_params(node.type, node.params)
        if errors:
            probs = tuple(Problem(f"{label(node)}: {e.message}" if f"'{e.param}'" in e.message
                                  or e.message.startswith(e.param)
                                  else f"{label(node)}: {e.param} {e.message}", (node.id,),
                                  hint="change the value in the inspector") for e in errors)
            return NodeInfo(output_shapes=(None,), problems=probs)

        ports = spec.input_ports(params)
        if in_edges is None:
            in_edges = graph.in_edges(node.id)
        by_port: dict[int, list] = {}
        for e in in_edges:
            by_port.setdefault(e.dst_port, []).append(e)
        for port_idx, edges in by_port.items():
            if port_idx < 0 or port_idx >= len(ports):
                return fail(f"{label(node)} has no input {port_idx + 1}, but '{nodes[edges[0].src].name}' is connected to it",
                            hint="reconnect the edge to an existing input", port=port_idx)
            if len(edges) > 1:
                srcs = ", ".join(f"'{nodes[e.src].name}'" for e in edges)
                return fail(f"input '{ports[port_idx].name}' of {label(node)} has {len(edges)} edges ({srcs}); an input takes one",
                            hint="remove all but one, or merge them first with Add or Concatenate",
                            port=port_idx, ids=(node.id, *[e.src for e in edges]))

        shapes: list[Shape | None] = []
        srcs: list[Node] = []
        warnings: list[Problem] = []
        for port_idx, port in enumerate(ports):
            edges = by_port.get(port_idx)
            if not edges:
                if not port.optional:
                    return fail(f"input '{port.name}' of {label(node)} is not connected",
                                hint="drag an edge from the output of the previous layer to it", port=port_idx)
                shapes.append(None)
                continue
            e = edges[0]
            src_info = done.get(e.src)
            if src_info is None:
                return NodeInfo(output_shapes=(None,))
            if src_info.pending:
                return NodeInfo(output_shapes=(None,), pending=True)
            if e.src_port >= len(src_info.output_shapes):
                return fail(f"'{nodes[e.src].name}' has no output {e.src_port + 1}",
                            hint="reconnect the edge to an existing output", port=port_idx)
            shape = src_info.output_shapes[e.src_port]
            if shape is None:  # upstream problem, reported there
                return NodeInfo(output_shapes=(None,))
            pointwise = len(shape) in port.warn_ranks and bool(graph.out_edges(node.id))
            if port.ranks is not None and len(shape) not in port.ranks:
                flatten = None
                if port.fix.startswith("insert Flatten") and len(shape) > max(port.ranks):
                    flatten = Fix.insert(f"Insert Flatten before '{node.name}'", "Flatten", e.src, node.id,
                                         src_port=e.src_port, dst_port=e.dst_port)
                said = (f"{label(node)} is applied at every position of {fmt_shape(shape)} from "
                        f"'{nodes[e.src].name}' (as a 1x1 convolution)") if pointwise else (
                    f"{label(node)} expects {port.expects or f'rank {port.ranks}'} but receives "
                    f"{fmt_shape(shape)} from '{nodes[e.src].name}'")
                prob = Problem(
                    said,
                    (node.id, e.src), port=port_idx, hint=port.fix, fix=flatten,
                    severity="warning" if pointwise else "error")
                if not pointwise:
                    return NodeInfo(output_shapes=(None,), problems=(prob,))
                warnings.append(prob)  # applied at every position: Keras takes it
            shapes.append(shape)
            srcs.append(nodes[e.src])

        if spec.call == "input":
            shape = params["shape"]
            if not shape and shape != []:
                return fail(f"Input '{node.name}' needs a shape", hint="set the shape of one sample")
        window = _window_problem(node, params, shapes[0]) if shapes and shapes[0] is not None else None
        if window:
            return NodeInfo(output_shapes=(None,), problems=(window,))
        merge = _merge_problem(node, params, [s for s in shapes if s is not None], srcs)
        if merge:
            return NodeInfo(output_shapes=(None,), problems=(merge,))
        if spec.call == "rnn" and isinstance(params.get("units"), int):
            # Keras' symbolic call accepts any state size; the first real batch would fail
            units = params["units"]
            for port_idx in range(1, len(ports)):
                state = shapes[port_idx] if port_idx < len(shapes) else None
                if state is not None and state[-1] != units:
                    src = nodes[by_port[port_idx][0].src]
                    return fail(
                        f"{label(node)} has {units} units, so its {ports[port_idx].name} must be "
                        f"(batch, {units}), but it receives {fmt_shape(state)} from '{src.name}'",
                        hint=f"give '{src.name}' and '{node.name}' the same number of units",
                        port=port_idx, ids=(node.id, src.id))

        try:
            res = self._layer(node.type, params, shapes, keras)
        except ShapesPending:
            return NodeInfo(output_shapes=(None,), pending=True)
        except Exception as exc:
            return fail(f"{label(node)} cannot take input {', '.join(fmt_shape(s) for s in shapes if s)}: "
                        f"{_keras_message(exc)}", hint="check its parameters and the layers before it")
        for shape in res.output_shapes:
            if any(d is not None and d <= 0 for d in shape[1:]):
                return fail(f"{label(node)} shrinks a dimension to zero: output {fmt_shape(shape)}",
                            hint="use padding='same', a smaller window, or less downsampling before it")
        macs = multiply_accumulates(node.type, res, shapes)
        return NodeInfo(res.output_shapes, res.params, res.trainable_params, macs, res.weights, tuple(warnings))


_default = ShapeInference()


def analyze(graph: Graph, data: Any = None, *, loss: Any = "auto", targets: bool = True) -> Analysis:
    """Analyse a graph with the process-wide cache (``data``: see :meth:`ShapeInference.analyze`)."""
    return _default.analyze(graph, data, loss=loss, targets=targets)


def layer_result(type_name: str, params: dict[str, Any], shapes: list[Shape | None]) -> LayerResult:
    """One layer's output and weight shapes on inputs of these shapes, through the
    process-wide cache (raises what Keras raises for a combination it refuses)."""
    return _default._layer(type_name, params, shapes)


def connection_problem(graph: Graph, analysis: Analysis, src: str, src_port: int,
                       dst: str, dst_port: int, *, replace: bool = False) -> str | None:
    """Why an editor should refuse this new edge, or None: structural faults
    (taken input unless ``replace``, cycle) and an input rank the target port cannot take."""
    from dlstudio.graph import PortRef

    why = graph.connection_error(PortRef(src, src_port), PortRef(dst, dst_port), replace=replace)
    if why:
        return why
    node = graph.node(dst)
    try:
        spec = get_spec(node.type)
    except UnknownLayerError:
        return f"'{node.name}' has an unknown layer type"
    if spec.call == "input":
        return f"Input '{node.name}' takes no incoming edge"
    params, _ = check_params(node.type, node.params)
    ports = spec.input_ports(params)
    if dst_port >= len(ports):
        return f"{label(node)} has no input {dst_port + 1}"
    shape = analysis.shape_at(src, src_port)
    port = ports[dst_port]
    if shape is not None and port.ranks is not None and len(shape) not in port.ranks:
        return (f"rank mismatch: {label(node)} expects {port.expects} but '{graph.node(src).name}' "
                f"gives {fmt_shape(shape)}; {port.fix}")
    return None
