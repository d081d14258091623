"""What a block looks like from outside (dlstudio.graph.blocks): its ports, totals and
problems, and finding blocks in an imported model.

A collapsed block shows one input port per inner input that is fed from outside the
block or not fed at all (a required port), and one output port per inner output that
feeds a layer outside the block or nothing at all (the block's last layers). Edges that
cross the border are drawn to these ports; wiring to one connects the inner layer.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dlstudio.catalog import UnknownLayerError, check_params, get_spec
from dlstudio.compile.infer import Analysis, Shape
from dlstudio.graph import Block, Graph, PortRef


@dataclass(frozen=True)
class BlockSummary:
    inputs: tuple[PortRef, ...]
    outputs: tuple[PortRef, ...]
    params: int
    macs: int
    input_shapes: tuple[Shape | None, ...]
    output_shapes: tuple[Shape | None, ...]
    errors: int
    warnings: int


def _input_count(graph: Graph, node_id: str, catalog: bool = True) -> tuple[int, tuple[bool, ...]]:
    node = graph.node(node_id)
    try:
        if not catalog:  # the catalog (Keras) is not loaded yet: the ports that have edges
            raise UnknownLayerError(node.type)
        spec = get_spec(node.type)
    except UnknownLayerError:
        n = len(graph.in_edges(node_id))
        return n, (False,) * n
    params, _ = check_params(node.type, node.params)
    ports = spec.input_ports(params)
    return len(ports), tuple(p.optional for p in ports)


def _order(graph: Graph, block: Block) -> list[str]:
    """The block's layers in data-flow order (those on a cycle last, as grouped)."""
    members = set(block.nodes)
    ordered = [n for n in graph.acyclic_order() if n in members]
    placed = set(ordered)
    return ordered + [n for n in block.nodes if n not in placed]


def block_ports(graph: Graph, block: Block, catalog: bool = True) -> tuple[list[PortRef], list[PortRef]]:
    """The block's (input ports, output ports), each an inner (node id, port), in graph order
    (``catalog=False``: without asking the layer catalog, from the edges alone)."""
    members = set(block.nodes)
    inputs: list[PortRef] = []
    outputs: list[PortRef] = []
    for nid in _order(graph, block):
        count, optional = _input_count(graph, nid, catalog)
        fed = {e.dst_port: e for e in graph.in_edges(nid)}
        for port in range(count):
            edge = fed.get(port)
            if (edge is None and not optional[port]) or (edge is not None and edge.src not in members):
                inputs.append(PortRef(nid, port))
        out = graph.out_edges(nid)
        ports = sorted({e.src_port for e in out if e.dst not in members})
        if not out:
            ports = [0]
        outputs += [PortRef(nid, p) for p in ports]
    return inputs, outputs


def block_summary(graph: Graph, block: Block, analysis: Analysis | None, catalog: bool = True) -> BlockSummary:
    """Ports, parameter and MAC totals, border shapes and problem counts of a block."""
    inputs, outputs = block_ports(graph, block, catalog)
    nodes = analysis.nodes if analysis is not None else {}
    params = sum(nodes[n].params for n in block.nodes if n in nodes)
    macs = sum(nodes[n].macs for n in block.nodes if n in nodes)
    problems = [p for n in block.nodes if n in nodes for p in nodes[n].problems]

    def fed_shape(ref: PortRef) -> Shape | None:
        edge = graph.edge_into(ref.node, ref.port)
        return analysis.shape_at(edge.src, edge.src_port) if edge is not None and analysis is not None else None

    def out_shape(ref: PortRef) -> Shape | None:
        return analysis.shape_at(ref.node, ref.port) if analysis is not None else None

    return BlockSummary(tuple(inputs), tuple(outputs), params, macs, tuple(fed_shape(r) for r in inputs),
                        tuple(out_shape(r) for r in outputs), sum(p.is_error for p in problems),
                        sum(not p.is_error for p in problems))


def block_fragment(graph: Graph, block: Block) -> dict:
    """The block's layers, the edges among them and its exposed parameters, as plain data
    (what a block file holds; see dlstudio.project.block_library)."""
    ids = set(block.nodes)
    return {
        "name": block.name,
        "nodes": [graph.node(n).to_dict() for n in block.nodes],
        "edges": [e.to_dict() for e in graph.edges if e.src in ids and e.dst in ids],
        "params": {k: [[n, p] for n, p in v] for k, v in block.params.items()},
    }


#: Layer names of Keras' applications that mark a repeated unit: ``conv2_block1_1_conv``
#: (ResNet), ``block2a_expand_conv`` (EfficientNet), ``block_3_expand`` (MobileNetV2),
#: ``block1_conv1`` (VGG), ``expanded_conv_2_...`` (MobileNetV3).
_UNIT = re.compile(r"^((?:conv\d+_)?block_?\d+[a-z]?|expanded_conv(?:_\d+)?)_")


def blocks_by_name(graph: Graph, min_size: int = 3) -> list[tuple[str, list[str]]]:
    """Groups of layers whose names share a unit prefix, as Keras' applications name them
    (``conv2_block1_...`` -> block ``conv2_block1``): (block name, node ids), in graph order.
    Only units of at least ``min_size`` layers, and only when the graph has two or more."""
    units: dict[str, list[str]] = {}
    for nid in graph.acyclic_order():
        m = _UNIT.match(graph.node(nid).name)
        if m:
            units.setdefault(m.group(1), []).append(nid)
    found = [(name, ids) for name, ids in units.items() if len(ids) >= min_size]
    return found if len(found) >= 2 else []
