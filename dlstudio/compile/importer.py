"""keras.Model -> Graph, and safe loading of ``.keras`` / ``.h5`` model files.

Functional and Sequential models become one node per layer call: a layer called
several times becomes a node per call, all but the first naming the first in
``shares`` (one set of weights). Models nested as layers are flattened with
their layer names kept (prefixed only on a clash) and kept as a collapsed block each
(dlstudio.graph.blocks); a flat model named like Keras' applications gets a block per
repeated unit. ``keras.ops`` calls that
catalog nodes compute become those nodes (:mod:`dlstudio.compile.import_ops`);
others are refused by name. A file is read in two steps: first its JSON config is
checked against the catalog without Keras (:mod:`dlstudio.compile.model_file`:
no Lambda, no custom class, so no code from the file can run), then Keras
loads it with ``safe_mode=True``.
"""

from __future__ import annotations

import inspect
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dlstudio.catalog import check_params, get_spec
from dlstudio.catalog.from_keras import (
    NotInCatalogError, dropped_settings, node_type_of, params_from_config,
)
from dlstudio.compile.import_ops import Step, steps_for
from dlstudio.compile.layout import layered_layout
from dlstudio.compile.model_file import (
    ModelImportError, check_model_config, check_model_storage, read_model_config,
)
from dlstudio.graph import Graph

__all__ = [
    "ModelImportError", "apply_weights", "check_model_config", "graph_from_model",
    "import_model_file", "load_model_file", "read_model_config",
]


#: Call arguments Keras fills in by itself (masks propagate again when rebuilt; an explicit
#: mask other than the propagated one is refused in ``_Walker.walk``).
_AUTO_ARGS = {"mask", "training", "query_mask", "value_mask", "key_mask"}
_MASKS = {"mask": (), "query_mask": ("query",), "value_mask": ("value",), "key_mask": ("key", "value")}


@dataclass(eq=False)
class _Port:
    """A marker that flows through Keras' graph in place of a tensor."""

    node: str
    port: int


@dataclass(eq=False)
class _Unsupported:
    """The output of a non-layer operation (a ``keras.ops`` call)."""

    op: Any


def _functional(model: Any) -> Any:
    import keras
    from keras.src.models.functional import Functional

    if isinstance(model, keras.Sequential):
        if model._functional is None:
            raise ModelImportError(
                f"the Sequential model '{model.name}' has no input shape yet; "
                "start it with keras.Input(shape=...) or call build() first")
        return model._functional
    if isinstance(model, Functional):
        return model
    raise ModelImportError(
        f"model '{getattr(model, 'name', '?')}' is a subclassed {type(model).__name__}: its structure "
        "is Python code; only functional and Sequential models can be imported")


class _Walker:
    def __init__(self) -> None:
        self.graph = Graph()
        self.weights: dict[str, list[Any]] = {}
        self.owners: dict[int, str] = {}  # id of a layer -> the node of its first call
        self.calls: dict[int, int] = {}  # id of a shared layer -> how many calls so far
        self.nested: list[tuple[str, list[str]]] = []  # (model name, node ids) of each nested model call

    def add_input(self, tensor: Any) -> _Port:
        layer = tensor._keras_history.operation
        config = layer.get_config()
        extra = dropped_settings("Input", config)
        if extra:
            raise ModelImportError(f"input '{layer.name}' is {', '.join(extra)}, which DL Studio cannot represent")
        params = params_from_config("Input", config)
        _refuse_bad_params(layer.name, "Input", params)
        node = self.graph.add_node("Input", params, name=self._name(layer.name, ""))
        return _Port(node.id, 0)

    def walk(self, fn: Any, inputs: list[Any], prefix: str) -> list[Any]:
        """Add the layers of functional ``fn`` fed by ``inputs``; return its output markers."""
        values = {id(x): p for x, p in zip(fn.inputs, inputs)}
        for depth in sorted(fn._nodes_by_depth, reverse=True):
            for knode in fn._nodes_by_depth[depth]:
                if knode.operation is None or knode.is_input:
                    continue
                missing = [x for x in knode.input_tensors if id(x) not in values]
                if missing:
                    raise ModelImportError(f"layer '{knode.operation.name}' has an input that is not connected")
                _refuse_explicit_masks(knode)
                args, kwargs = knode.arguments.fill_in(values)
                ranks = tuple(len(x.shape) for x in knode.input_tensors)
                outs = self.call(knode.operation, args, kwargs, len(knode.outputs), prefix, ranks)
                for x, p in zip(knode.outputs, outs):
                    values[id(x)] = p
        return [values[id(x)] for x in fn.outputs]

    def call(self, op: Any, args: tuple, kwargs: dict, n_out: int, prefix: str,
             ranks: tuple[int, ...] = ()) -> list[Any]:
        import keras
        from keras import tree

        steps = steps_for(op, args, kwargs, lambda v: isinstance(v, (_Port, _Unsupported)), ranks)
        if steps is not None and n_out == 1:
            return [self._steps(op, steps, prefix)]
        if not isinstance(op, keras.layers.Layer):
            return [_Unsupported(op)] * n_out
        if isinstance(op, keras.Model):  # a nested model: flatten it (called again: its layers are shared)
            inner = _functional(op)
            bound = _bind(op, args, kwargs)
            first = next(iter(bound))
            _refuse_extra_tensors(op, bound, {first})
            flat = tree.flatten(bound[first])
            before = {n.id for n in self.graph.nodes}
            outs = self.walk(inner, [_port_of(op, v) for v in flat], f"{prefix}{op.name}_")
            self.nested.append((op.name, [n.id for n in self.graph.nodes if n.id not in before]))
            return outs
        try:
            type_name = node_type_of(op)
        except NotInCatalogError as e:
            raise ModelImportError(str(e)) from None
        spec = get_spec(type_name)
        if getattr(op, "layer", None) is not None and "inner" in spec.param_names():
            try:
                node_type_of(op.layer)  # the wrapped layer must be a catalog layer too
            except NotInCatalogError as e:
                raise ModelImportError(f"{e} (inside '{op.name}')") from None
        bound = _bind(op, args, kwargs)
        ports = self._ports(op, spec, bound)
        try:
            config = op.get_config()
        except Exception as e:  # noqa: BLE001 - e.g. an unserialisable activation
            raise ModelImportError(f"layer '{op.name}' cannot describe itself: {e}") from None
        extra = dropped_settings(type_name, config)
        if extra:
            listing = ", ".join(f"{k}={v!r}" for k, v in extra.items())
            raise ModelImportError(f"layer '{op.name}' ({type_name}) uses {listing}, which DL Studio cannot represent")
        params = params_from_config(type_name, config)
        if spec.variadic and "inputs" in params:
            params["inputs"] = len(ports)
        for p in spec.params:  # settings of the call (use_causal_mask, training=True, ...)
            value = bound.get(p.name)
            if p.call and value is not None and not (value is False and p.default is None):
                params[p.name] = value
        if bound.get("training") is True and "training" not in params:
            raise ModelImportError(f"layer '{op.name}' ({type_name}) is called with training=True, which DL "
                                   "Studio can keep only for Dropout, noise and BatchNormalization layers")
        owner = self.owners.get(id(op))
        name = self._name(op.name, prefix)
        if owner is not None:  # called again: a node of its own that shares the first call's layer
            params["shares"] = self.graph.node(owner).name
            self.calls[id(op)] = self.calls.get(id(op), 1) + 1
            name = self._name(f"{params['shares']}_call{self.calls[id(op)]}", "")
        _refuse_bad_params(op.name, type_name, params)
        n_ports = len(spec.output_ports(params))
        if n_out != n_ports:
            raise ModelImportError(f"layer '{op.name}' returns {n_out} tensors; its DL Studio node has {n_ports}")
        node = self.graph.add_node(type_name, params, name=name)
        for i, p in enumerate(ports):
            if p is not None:
                self.graph.connect(p.node, node.id, dst_port=i, src_port=p.port)
        if owner is None:
            self.owners[id(op)] = node.id
            self.weights[node.id] = op.get_weights()
        return [_Port(node.id, i) for i in range(n_out)]

    def _steps(self, op: Any, steps: list[Step], prefix: str) -> _Port:
        """Add the nodes that stand for ``op`` (a keras.ops call, an application's own layer)."""
        made: list[str] = []
        for step in steps:
            params = dict(step.params)
            _refuse_bad_params(op.name, step.type, params)
            node = self.graph.add_node(step.type, check_params(step.type, params)[0],
                                       name=self._name(f"{op.name}{step.suffix}", prefix))
            for i, v in enumerate(step.inputs):
                src = _Port(made[v], 0) if isinstance(v, int) else _port_of(op, v)
                self.graph.connect(src.node, node.id, dst_port=i, src_port=src.port)
            if step.weights:
                self.weights[node.id] = list(step.weights)
            made.append(node.id)
        return _Port(made[-1], 0)

    def _ports(self, op: Any, spec: Any, bound: dict[str, Any]) -> list[_Port | None]:
        names = list(bound)
        first = names[0]
        if spec.call == "attention":
            used = {"query", "value", "key"}
            ports = [bound.get("query"), bound.get("value"), bound.get("key")]
        elif spec.call == "rnn":
            used = {first, "initial_state"}
            states = bound.get("initial_state") or []
            ports = [bound[first], *(states if isinstance(states, (list, tuple)) else [states])]
        elif spec.call == "list":
            used = {first}
            ports = list(bound[first]) if isinstance(bound[first], (list, tuple)) else [bound[first]]
        else:
            used = {first}
            ports = [bound[first]]
        _refuse_extra_tensors(op, bound, used | {p.name for p in spec.params if p.call})
        while ports and ports[-1] is None:
            ports.pop()
        return [None if v is None else _port_of(op, v) for v in ports]

    def _name(self, base: str, prefix: str) -> str:
        taken = {n.name for n in self.graph.nodes}
        name = base if base not in taken else f"{prefix}{base}"
        i = 2
        while name in taken:
            name, i = f"{prefix}{base}_{i}", i + 1
        return name


def _bind(op: Any, args: tuple, kwargs: dict) -> dict[str, Any]:
    try:
        return dict(inspect.signature(op.call).bind(*args, **kwargs).arguments)
    except TypeError as e:
        raise ModelImportError(f"layer '{op.name}' was called in a way DL Studio cannot follow: {e}") from None


def _refuse_explicit_masks(knode: Any) -> None:
    """A mask passed by hand that is not the one Keras propagates (from an Embedding with
    mask_zero=True) would be lost: refuse it."""
    from keras import tree

    arguments = knode.arguments
    if not any(arguments.kwargs.get(k) is not None for k in _MASKS):
        return
    try:
        bound = dict(inspect.signature(knode.operation.call).bind(*arguments.args, **arguments.kwargs).arguments)
    except TypeError:
        return  # reported when the call is bound again
    first = next(iter(bound))
    for key, names in _MASKS.items():
        given = bound.get(key)
        if given is None:
            continue
        sources = [bound.get(n) for n in names] if names else [bound[first]]
        auto = [getattr(t, "_keras_mask", None) for t in tree.flatten(sources) if t is not None]
        if any(m is not None and not any(_same_mask(m, a) for a in auto) for m in tree.flatten(given)):
            raise ModelImportError(
                f"layer '{knode.operation.name}' is called with a {key} of its own; DL Studio takes masks "
                "only as Keras propagates them (from an Embedding with mask_zero=True)")


def _same_mask(given: Any, auto: Any) -> bool:
    """Whether mask ``given`` is the propagated ``auto``: the same tensor, or (in a model loaded
    from a file, where Keras computes the masks again) made by the same operation from the same
    tensors (``not_equal(ids, 0)`` of an Embedding with mask_zero=True)."""
    if auto is None:
        return False
    if given is auto:
        return True
    a, b = getattr(given, "_keras_history", None), getattr(auto, "_keras_history", None)
    if a is None or b is None or type(a.operation) is not type(b.operation):
        return False
    try:
        x = a.operation._inbound_nodes[a.node_index].arguments
        y = b.operation._inbound_nodes[b.node_index].arguments
    except (AttributeError, IndexError):
        return False
    if len(x.args) != len(y.args) or set(x.kwargs) != set(y.kwargs):
        return False
    pairs = list(zip(x.args, y.args)) + [(x.kwargs[k], y.kwargs[k]) for k in x.kwargs]
    return all(u is v or (not hasattr(u, "_keras_history") and not _differs(u, v)) for u, v in pairs)


def _port_of(op: Any, value: Any) -> _Port:
    if isinstance(value, _Port):
        return value
    if isinstance(value, _Unsupported):
        raise ModelImportError(
            f"layer '{op.name}' takes the result of the operation '{value.op.name}' "
            f"({type(value.op).__name__}), a keras.ops call rather than a layer; "
            "rebuild it with catalog layers (Add, Multiply, Reshape, ...)")
    raise ModelImportError(f"layer '{op.name}' takes a constant instead of a tensor, which DL Studio cannot represent")


def _refuse_extra_tensors(op: Any, bound: dict[str, Any], used: set[str]) -> None:
    from keras import tree

    defaults = {k: p.default for k, p in inspect.signature(op.call).parameters.items()}
    for key, value in bound.items():
        if key in used or key in _AUTO_ARGS:
            continue
        if any(isinstance(v, (_Port, _Unsupported)) for v in tree.flatten(value)):
            raise ModelImportError(f"layer '{op.name}' receives a tensor as '{key}', which DL Studio cannot represent")
        default = defaults.get(key, inspect.Parameter.empty)
        if default is not inspect.Parameter.empty and _differs(value, default):
            raise ModelImportError(f"layer '{op.name}' is called with {key}={value!r}, which DL Studio cannot represent")


def _differs(a: Any, b: Any) -> bool:
    try:
        return bool(a != b)
    except Exception:  # noqa: BLE001 - arrays and other odd values
        return True


def _refuse_bad_params(layer_name: str, type_name: str, params: dict[str, Any]) -> None:
    errors = check_params(type_name, params)[1]
    if errors:
        listing = "; ".join(str(e) for e in errors)
        raise ModelImportError(f"layer '{layer_name}' ({type_name}) has settings DL Studio cannot use: {listing}")


def graph_from_model(model: Any) -> tuple[Graph, dict[str, list[Any]]]:
    """A graph with one node per layer of ``model`` and the weights per node id."""
    fn = _functional(model)
    walker = _Walker()
    inputs = [walker.add_input(t) for t in fn.inputs]
    outputs = walker.walk(fn, inputs, "")
    graph = walker.graph
    for i, p in enumerate(outputs):
        if not isinstance(p, _Port):
            raise ModelImportError(f"output {i + 1} of the model is a keras.ops result; only layers can be outputs")
    out_ids = _output_nodes(graph, outputs)
    _add_blocks(graph, walker.nested)
    layered_layout(graph, align_sinks=len(out_ids) > 1)
    _keep_order(graph, [p.node for p in inputs])
    _keep_order(graph, out_ids)
    return graph, walker.weights


def _add_blocks(graph: Graph, nested: list[tuple[str, list[str]]]) -> None:
    """Each nested model becomes a collapsed block (the outermost, where models nest); a
    model without nested models but named like Keras' applications (``conv2_block1_...``)
    gets a block per repeated unit, so that ResNet50 reads like the paper's figure."""
    from dlstudio.compile.blocks import blocks_by_name

    taken: set[str] = set()
    for name, ids in reversed(nested):  # outer models finish walking after their inner ones
        ids = [i for i in ids if graph.has_node(i) and i not in taken]
        if ids:
            graph.add_block(name, ids, source="nested model")
            taken.update(ids)
    if not graph.blocks:
        for name, ids in blocks_by_name(graph):
            graph.add_block(name, ids, source="layer names")


def _output_nodes(graph: Graph, outputs: list[_Port]) -> list[str]:
    """The node of each model output. DL Studio's outputs are the first outputs of layers that
    feed no other layer; any other output (a layer that also feeds others, a second output such
    as an LSTM's state or attention scores, an Input, one tensor twice) gets an identity node
    of its own (Activation 'linear') that becomes the output."""
    direct: list[bool] = []
    seen: set[str] = set()
    for p in outputs:
        node = graph.node(p.node)
        direct.append(p.port == 0 and node.type != "Input" and not graph.out_edges(node.id) and node.id not in seen)
        seen.add(node.id)
    tapped = {p.node for p, ok in zip(outputs, direct) if not ok}  # these get an edge to an identity node
    out_ids: list[str] = []
    for p, ok in zip(outputs, direct):
        if ok and p.node not in tapped:
            out_ids.append(p.node)
            continue
        node = graph.node(p.node)
        ports = get_spec(node.type).output_ports(node.params) if node.type != "Input" else ("output",)
        base = f"{node.name}_{ports[p.port] if p.port < len(ports) else p.port}"
        taken = {n.name for n in graph.nodes}
        name, k = base, 2
        while name in taken:
            name, k = f"{base}_{k}", k + 1
        identity = graph.add_node("Activation", check_params("Activation", {"activation": "linear"})[0], name=name)
        graph.connect(node.id, identity.id, dst_port=0, src_port=p.port)
        out_ids.append(identity.id)
    return out_ids


def _keep_order(graph: Graph, ids: list[str]) -> None:
    """Give ``ids`` the slots they hold sorted by (y, x), so that the compiler,
    which orders inputs and outputs by position, keeps the model's order."""
    spots = sorted(graph.node(nid).pos[::-1] for nid in ids)
    for nid, (y, x) in zip(ids, spots):
        graph.move(nid, x, y)


def apply_weights(model: Any, graph: Graph, weights: dict[str, list[Any]]) -> None:
    """Set the weights of ``model``'s layers by node name."""
    for node in graph.nodes:
        values = weights.get(node.id)
        if not values:
            continue
        try:
            model.get_layer(node.name).set_weights(values)
        except Exception as e:  # noqa: BLE001 - shape mismatch or missing layer
            raise ModelImportError(f"the weights of '{node.name}' do not fit the model: {e}") from None


def load_model_file(path: str | Path) -> Any:
    """Load a ``.keras`` or ``.h5`` model after checking its config (no code runs)."""
    path = Path(path)
    kind, config = read_model_config(path)
    check_model_config(config, path.name)
    import keras

    with tempfile.TemporaryDirectory(prefix="dlstudio-import-") as tmp:
        copy = Path(tmp) / f"model.{kind}"  # the checked bytes, with the suffix Keras expects
        shutil.copyfile(path, copy)
        if read_model_config(copy)[1] != config:
            raise ModelImportError(f"'{path.name}' changed while it was being read")
        check_model_storage(copy, kind, path.name)  # no weights read from other files
        try:
            return keras.saving.load_model(str(copy), safe_mode=True, compile=False)
        except Exception as e:  # noqa: BLE001 - corrupt weights, unknown objects, ...
            raise ModelImportError(f"could not load '{path.name}': {e}") from None


def import_model_file(path: str | Path) -> tuple[Graph, dict[str, list[Any]]]:
    """Graph and weights of the model in a ``.keras`` or ``.h5`` file."""
    return graph_from_model(load_model_file(path))
