"""The ``.dlsproj`` schema: pydantic models of one project file.

The models check the *shape* of a file (keys, types, ranges); checks that need
the whole document or the layer catalog (duplicate ids, dangling edges, layer
types, parameter values) live in :mod:`dlstudio.project.io`.

Every model forbids unknown keys; files are validated strictly: ``"20"`` is
not an epoch count and ``true`` is not a number.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from dlstudio.catalog import UnknownLayerError, check_params, get_spec
from dlstudio.project.search_schema import SearchSettings

#: The format this version of DL Studio writes and the newest it reads.
FORMAT_VERSION = 1

MAX_NODES = 10_000
MAX_EDGES = 100_000
MAX_PORT = 64
MAX_COORD = 1e7
MAX_NOTES = 1_000_000
MAX_DEPTH = 64

OPTIMIZERS = ("adam", "sgd", "rmsprop", "adamw", "adagrad", "nadam")

Id = Annotated[str, Field(min_length=1, max_length=100)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
Coord = Annotated[float, Field(ge=-MAX_COORD, le=MAX_COORD, allow_inf_nan=False)]
Port = Annotated[int, Field(ge=0, le=MAX_PORT)]


class _Model(BaseModel):
    # Lax for code (``settings.epochs = "5"`` from a command line works); files
    # are validated with ``strict=True`` (see :func:`validate_document`).
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class JsonValueError(ValueError):
    """A value that is not plain JSON; ``loc`` is where inside the value."""

    def __init__(self, loc: tuple[Any, ...], message: str):
        super().__init__(message)
        self.loc = loc


def check_json_value(value: Any, max_depth: int = 32) -> Any:
    """Raise JsonValueError unless ``value`` is plain JSON with finite numbers."""
    todo: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while todo:
        v, loc = todo.pop()
        if len(loc) > max_depth:
            raise JsonValueError(loc, "value nested too deeply")
        if v is None or isinstance(v, (bool, str, int)):
            continue
        if isinstance(v, float):
            if not math.isfinite(v):
                raise JsonValueError(loc, f"expected a finite number, got {v!r}")
        elif isinstance(v, (list, tuple)):
            todo.extend((x, loc + (i,)) for i, x in enumerate(v))
        elif isinstance(v, dict):
            for k, x in v.items():
                if not isinstance(k, str):
                    raise JsonValueError(loc, "keys must be text")
                todo.append((x, loc + (k,)))
        else:
            raise JsonValueError(loc, f"unsupported value {v!r}")
    return value


class NodeModel(_Model):
    id: Id
    type: Annotated[str, Field(min_length=1, max_length=100)]
    name: Name
    params: dict[str, Any] = Field(default_factory=dict)
    pos: Annotated[list[Coord], Field(min_length=2, max_length=2)] = Field(
        default_factory=lambda: [0.0, 0.0]
    )


class EdgeModel(_Model):
    id: Id
    src: Id
    src_port: Port = 0
    dst: Id
    dst_port: Port = 0


class BlockModel(_Model):
    """A named group of layers the editor shows as one node (dlstudio.graph.blocks)."""

    id: Id
    name: Name
    nodes: Annotated[list[Id], Field(min_length=1, max_length=MAX_NODES)]
    collapsed: bool = True
    params: dict[Name, Annotated[list[Annotated[list[Id], Field(min_length=2, max_length=2)]],
                                 Field(min_length=1, max_length=MAX_NODES)]] = Field(default_factory=dict)
    source: Annotated[str, Field(max_length=200)] = ""


class GraphModel(_Model):
    nodes: Annotated[list[NodeModel], Field(max_length=MAX_NODES)] = Field(default_factory=list)
    edges: Annotated[list[EdgeModel], Field(max_length=MAX_EDGES)] = Field(default_factory=list)
    blocks: Annotated[list[BlockModel], Field(max_length=MAX_NODES)] = Field(default_factory=list)


class DatasetRef(_Model):
    """Which dataset a project trains on: a registry name and its options."""

    name: Annotated[str, Field(min_length=1, max_length=200)] = "digits"
    options: dict[str, Any] = Field(default_factory=dict)

    @field_validator("options")
    @classmethod
    def _plain_json(cls, v: dict[str, Any]) -> dict[str, Any]:
        return check_json_value(v)


class TrainingSettings(_Model):
    """How a project's model is compiled and fitted."""

    epochs: Annotated[int, Field(ge=1, le=100_000)] = 20
    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 32
    optimizer: Literal["adam", "sgd", "rmsprop", "adamw", "adagrad", "nadam"] = "adam"
    learning_rate: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] = 0.001
    momentum: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.0
    loss: Annotated[str, Field(min_length=1, max_length=100)] = "auto"
    metrics: Annotated[
        list[Annotated[str, Field(min_length=1, max_length=100)]], Field(max_length=50)
    ] = Field(default_factory=lambda: ["auto"])  # auto: accuracy (classification) or mae (regression)
    validation_split: Annotated[float, Field(ge=0, le=0.9, allow_inf_nan=False)] = 0.1
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    early_stopping_patience: Annotated[int, Field(ge=1, le=100_000)] | None = None
    restore_best_weights: bool = True
    lr_schedule: Literal["constant", "step", "cosine", "plateau"] = "constant"
    lr_step_epochs: Annotated[int, Field(ge=1, le=100_000)] = 10  # step: decay every N epochs
    lr_decay: Annotated[float, Field(gt=0, lt=1, allow_inf_nan=False)] = 0.5  # step and plateau factor
    mixed_precision: bool = False
    device: Annotated[str, Field(min_length=1, max_length=100)] = "auto"  # auto, cpu, gpu:0, ...
    # adversarial training: a share of every batch replaced by FGSM / PGD examples (dlstudio.training.adversarial)
    adversarial: Literal["none", "fgsm", "pgd"] = "none"
    adversarial_eps: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.1
    adversarial_ratio: Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)] = 0.5


#: The name by which ``gan.generator`` / ``gan.discriminator`` refer to the project's main ``graph``.
MAIN_GRAPH = "main"
GraphName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_ .-]*$")]


class GanSettings(_Model):
    """A GAN project (dlstudio.gan): which graphs compete and how they are trained.

    ``generator`` and ``discriminator`` name graphs: ``"main"`` is the project's
    ``graph``, any other name a key of ``graphs``. Epochs, batch size and the
    data seed come from ``training``.
    """

    generator: GraphName = MAIN_GRAPH
    discriminator: GraphName = "discriminator"
    latent_dim: Annotated[int, Field(ge=1, le=4096)] = 64
    latent_distribution: Literal["normal", "uniform"] = "normal"
    loss: Literal["non_saturating", "minimax"] = "non_saturating"
    g_optimizer: Literal["adam", "sgd", "rmsprop", "adamw", "adagrad", "nadam"] = "adam"
    g_learning_rate: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] = 0.0002
    d_optimizer: Literal["adam", "sgd", "rmsprop", "adamw", "adagrad", "nadam"] = "adam"
    d_learning_rate: Annotated[float, Field(gt=0, le=10, allow_inf_nan=False)] = 0.0002
    beta_1: Annotated[float, Field(ge=0, lt=1, allow_inf_nan=False)] = 0.5  # Adam's momentum (DCGAN: 0.5)
    d_steps: Annotated[int, Field(ge=1, le=100)] = 1  # discriminator updates per generator update
    label_smoothing: Annotated[float, Field(ge=0, lt=0.5, allow_inf_nan=False)] = 0.0  # one-sided: real -> 1 - s
    sample_every: Annotated[int, Field(ge=1, le=1_000_000)] = 100  # steps between sample grids
    grid_size: Annotated[int, Field(ge=1, le=16)] = 8  # the fixed-noise grid is grid_size x grid_size
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0  # of the fixed noise


class ProjectModel(_Model):
    """A whole project file (current format)."""

    format_version: Annotated[int, Field(ge=FORMAT_VERSION, le=FORMAT_VERSION)]
    name: Name
    notes: Annotated[str, Field(max_length=MAX_NOTES)] = ""
    graph: GraphModel
    dataset: DatasetRef = Field(default_factory=DatasetRef)
    training: TrainingSettings = Field(default_factory=TrainingSettings)
    graphs: Annotated[dict[GraphName, GraphModel], Field(max_length=16)] = Field(default_factory=dict)  # more graphs
    gan: GanSettings | None = None  # set: a GAN project (dlstudio.gan)
    search: SearchSettings | None = None  # set: the project's search space (dlstudio.search)


# ------------------------------------------------------- checking a document
_SURROGATE = re.compile("[\ud800-\udfff]")


def validate_document(data: dict[str, Any]) -> tuple[ProjectModel | None, list[str]]:
    """Validate a current-format document: the model (None when invalid) and
    every problem found, each prefixed with where it is."""
    problems: list[str] = []
    model = None
    try:
        model = ProjectModel.model_validate(data, strict=True)
    except ValidationError as e:
        problems += [_pydantic_problem(err, data) for err in e.errors(include_url=False)]
    problems += _semantic_problems(data)
    problems += _extra_graph_problems(data)
    return model, problems


def _extra_graph_problems(data: dict[str, Any]) -> list[str]:
    """The checks of ``graph`` for every graph in ``graphs``, and the graphs ``gan`` names."""
    graphs = data.get("graphs") if isinstance(data.get("graphs"), dict) else {}
    problems: list[str] = []
    for name, sub in graphs.items():
        problems += [f"graphs.{name}{p[len('graph'):]}" for p in _semantic_problems({"graph": sub})]
    gan = data.get("gan")
    if isinstance(gan, dict):
        known = [MAIN_GRAPH, *graphs]
        for role in ("generator", "discriminator"):
            ref = gan.get(role, GanSettings.model_fields[role].default)
            if isinstance(ref, str) and ref not in known:
                problems.append(f"gan.{role}: no graph named {_short(ref, 40)} "
                                f"(the project's graphs: {', '.join(known)})")
        if gan.get("generator", MAIN_GRAPH) == gan.get("discriminator", "discriminator"):
            problems.append("gan.discriminator: the generator and the discriminator must be two different graphs")
    return problems


def plain_json_problems(data: dict[str, Any]) -> list[str]:
    """Depth, key types and unencodable text anywhere in the document."""
    problems: list[str] = []
    todo: list[tuple[Any, tuple[Any, ...]]] = [(data, ())]
    while todo:
        value, loc = todo.pop()
        if len(loc) > MAX_DEPTH:  # one report is enough
            return problems + [f"{_where(loc[:MAX_DEPTH], data)}: nested too deeply "
                               f"(more than {MAX_DEPTH} levels)"]
        if isinstance(value, str):
            if _SURROGATE.search(value):
                problems.append(f"{_where(loc, data)}: text holds an invalid character (a lone surrogate)")
        elif isinstance(value, dict):
            for k, v in value.items():
                if not isinstance(k, str) or _SURROGATE.search(k):
                    problems.append(f"{_where(loc, data)}: invalid key {k!r}")
                    continue
                todo.append((v, loc + (k,)))
        elif isinstance(value, (list, tuple)):
            todo.extend((v, loc + (i,)) for i, v in enumerate(value))
        elif not (value is None or isinstance(value, (bool, int, float))):
            problems.append(f"{_where(loc, data)}: unsupported value of type {type(value).__name__}")
    return problems


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _label(item: Any, kind: str) -> str:
    if not isinstance(item, dict):
        return ""
    parts = []
    if isinstance(item.get("id"), str):
        parts.append(f"id {_short(item['id'], 40)}")
    if kind == "nodes" and isinstance(item.get("name"), str):
        parts.append(_short(item["name"], 40))
    return f" ({', '.join(parts)})" if parts else ""


def _where(loc: tuple[Any, ...], data: Any) -> str:
    """``('graph', 'nodes', 3, 'params')`` -> ``graph.nodes[3] (id 'n4', 'fc1').params``."""
    out = ""
    cur = data
    for depth, key in enumerate(loc):
        if isinstance(key, int):
            out += f"[{key}]"
            cur = cur[key] if isinstance(cur, list) and 0 <= key < len(cur) else None
        else:
            out += f".{key}" if out else str(key)
            cur = cur.get(key) if isinstance(cur, dict) else None
        if depth == 2 and loc[0] == "graph" and loc[1] in ("nodes", "edges"):
            out += _label(cur, loc[1])
    return out or "(top level)"


def _pydantic_problem(err: dict[str, Any], data: Any) -> str:
    kind, msg, loc = err["type"], err["msg"], tuple(err["loc"])
    cause = err.get("ctx", {}).get("error")
    if isinstance(cause, JsonValueError):
        return f"{_where(loc + cause.loc, data)}: {cause}"
    where = _where(loc, data)
    if kind == "missing":
        return f"{where}: missing (required)"
    if kind == "extra_forbidden":
        return f"{where}: unknown key (not part of the project format)"
    if msg.startswith("Value error, "):
        return f"{where}: {msg[len('Value error, '):]}"
    msg = msg.replace("Input should", "should").replace(" after validation", "")
    msg = msg[:1].lower() + msg[1:]
    if kind in ("too_long", "too_short"):
        return f"{where}: {msg}"
    return f"{where}: {msg}, got {_short(err.get('input'))}"


def _semantic_problems(data: dict[str, Any]) -> list[str]:
    """Duplicate ids, dangling edges, unknown layer types and fatal parameter
    errors, found defensively in the raw (migrated) document."""
    graph = data.get("graph")
    if not isinstance(graph, dict):
        return []
    nodes, edges = graph.get("nodes"), graph.get("edges")
    nodes = nodes if isinstance(nodes, list) and len(nodes) <= MAX_NODES else []
    edges = edges if isinstance(edges, list) and len(edges) <= MAX_EDGES else []
    problems: list[str] = []
    seen: dict[str, str] = {}  # id -> where it was first used
    for kind, items in (("nodes", nodes), ("edges", edges)):
        for i, item in enumerate(items):
            nid = item.get("id") if isinstance(item, dict) else None
            if not isinstance(nid, str):
                continue
            here = f"graph.{kind}[{i}]"
            if nid in seen:
                problems.append(f"{_where(('graph', kind, i), data)}.id: duplicate id "
                                f"{_short(nid, 40)} (already used by {seen[nid]})")
            else:
                seen[nid] = here
    node_ids = {n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)}
    for i, node in enumerate(nodes):
        if isinstance(node, dict):
            problems += _node_problems(node, _where(("graph", "nodes", i), data))
    for i, edge in enumerate(edges):
        if not isinstance(edge, dict):
            continue
        for end in ("src", "dst"):
            ref = edge.get(end)
            if isinstance(ref, str) and ref and ref not in node_ids:
                problems.append(f"{_where(('graph', 'edges', i), data)}.{end}: "
                                f"no node with id {_short(ref, 40)}")
    return problems + _block_problems(graph.get("blocks"), node_ids, seen)


def _block_problems(blocks: Any, node_ids: set[str], seen: dict[str, str]) -> list[str]:
    """Blocks that name unknown layers, share a layer with another block or reuse an id."""
    if not isinstance(blocks, list) or len(blocks) > MAX_NODES:
        return []  # the schema reports it
    problems: list[str] = []
    owner: dict[str, str] = {}
    for i, block in enumerate(blocks):
        if not isinstance(block, dict):
            continue
        here = f"graph.blocks[{i}]"
        bid = block.get("id")
        if isinstance(bid, str):
            if bid in seen:
                problems.append(f"{here}.id: duplicate id {_short(bid, 40)} (already used by {seen[bid]})")
            seen.setdefault(bid, here)
        members = block.get("nodes") if isinstance(block.get("nodes"), list) else []
        for ref in members:
            if not isinstance(ref, str):
                continue
            if ref not in node_ids:
                problems.append(f"{here}.nodes: no node with id {_short(ref, 40)}")
            elif ref in owner:
                problems.append(f"{here}.nodes: node {_short(ref, 40)} is already in {owner[ref]}")
            else:
                owner[ref] = here
        params = block.get("params") if isinstance(block.get("params"), dict) else {}
        for name, targets in params.items():
            for target in targets if isinstance(targets, list) else []:
                if isinstance(target, list) and target and target[0] not in members:
                    problems.append(f"{here}.params.{_short(str(name), 40)}: node {_short(str(target[0]), 40)} "
                                    "is not in the block")
    return problems


def _node_problems(node: dict[str, Any], where: str) -> list[str]:
    type_name = node.get("type")
    if not isinstance(type_name, str) or not type_name:
        return []  # the schema reports it
    try:
        get_spec(type_name)
    except UnknownLayerError:
        return [f"{where}.type: unknown layer type {_short(type_name, 40)}"]
    params = node.get("params", {})
    if not isinstance(params, dict):
        return []
    try:
        _, errors = check_params(type_name, params)
    except Exception as e:  # check_params should only report, never raise
        return [f"{where}.params: cannot be checked ({type(e).__name__}: {e})"]
    return [f"{where}.params.{e.param}: {e.message}" for e in errors if e.fatal]


