"""Automatic layered layout (Sugiyama style), flowing top to bottom.

1. Layers: longest path from the sources (an edge that closes a cycle is ignored).
2. Long edges get one dummy slot per layer they cross, so skip connections run
   in a lane of their own instead of through other nodes.
3. Order within a layer: barycenter sweeps down and up, keeping the order with
   the fewest crossings.
4. Positions: layer index -> y, order -> x, each layer centred.

Deterministic: ties are broken by the graph's node order.

A collapsed block (dlstudio.graph.blocks) takes one slot, as the editor draws it; its
layers are laid out among themselves and centred on that slot.
"""

from __future__ import annotations

from collections import defaultdict

from dlstudio.graph import Graph

Slot = tuple  # ("n", node_id) for a node, ("d", edge_id, layer) for a dummy


def _acyclic_edges(graph: Graph) -> list[tuple[str, str, str]]:
    """(edge id, src, dst) of the edges that do not close a cycle."""
    index = {n.id: i for i, n in enumerate(graph.nodes)}
    succ: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for e in graph.edges:
        succ[e.src].append((e.id, e.dst))
    state: dict[str, int] = {}
    keep: list[tuple[str, str, str]] = []
    for start in sorted(index, key=index.get):
        if start in state:
            continue
        state[start] = 1
        stack = [(start, iter(succ[start]))]
        while stack:
            nid, it = stack[-1]
            nxt = next(it, None)
            if nxt is None:
                state[nid] = 2
                stack.pop()
                continue
            eid, dst = nxt
            if state.get(dst) == 1:
                continue  # back edge
            keep.append((eid, nid, dst))
            if dst not in state:
                state[dst] = 1
                stack.append((dst, iter(succ[dst])))
    return keep


def _preorder(graph: Graph, edges: list[tuple[str, str, str]]) -> dict[str, int]:
    """Depth-first visiting order from the sources: a good first order per layer."""
    succ: dict[str, list[str]] = defaultdict(list)
    has_pred = set()
    for _, src, dst in edges:
        succ[src].append(dst)
        has_pred.add(dst)
    rank: dict[str, int] = {}
    starts = [n.id for n in graph.nodes if n.id not in has_pred] + [n.id for n in graph.nodes]
    for start in starts:
        stack = [start]
        while stack:
            nid = stack.pop()
            if nid in rank:
                continue
            rank[nid] = len(rank)
            stack.extend(reversed(succ[nid]))
    return rank


def _layers(graph: Graph, edges: list[tuple[str, str, str]], align_sinks: bool) -> dict[str, int]:
    preds: dict[str, list[str]] = defaultdict(list)
    succ: dict[str, list[str]] = defaultdict(list)
    indeg = {n.id: 0 for n in graph.nodes}
    for _, src, dst in edges:
        preds[dst].append(src)
        succ[src].append(dst)
        indeg[dst] += 1
    ready = [n.id for n in graph.nodes if indeg[n.id] == 0]
    layer: dict[str, int] = {}
    while ready:
        nid = ready.pop(0)
        layer[nid] = max((layer[p] + 1 for p in preds[nid]), default=0)
        for s in succ[nid]:
            indeg[s] -= 1
            if indeg[s] == 0:
                ready.append(s)
    if align_sinks and layer:
        last = max(layer.values())
        for nid in layer:
            if not succ[nid] and preds[nid]:
                layer[nid] = last
    return layer


def _crossings(order: list[list[Slot]], links: list[tuple[Slot, Slot]], depth: dict[Slot, int]) -> int:
    pos = {s: i for row in order for i, s in enumerate(row)}
    by_layer: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for a, b in links:
        by_layer[depth[a]].append((pos[a], pos[b]))
    total = 0
    for pairs in by_layer.values():
        for i, (a1, b1) in enumerate(pairs):
            for a2, b2 in pairs[i + 1:]:
                if (a1 - a2) * (b1 - b2) < 0:
                    total += 1
    return total


def _sweep(order: list[list[Slot]], nbrs: dict[Slot, list[Slot]], rows: range) -> None:
    for r in rows:
        pos = {s: i - (len(row) - 1) / 2 for row in order for i, s in enumerate(row)}
        row = order[r]
        here = {s: pos[s] for s in row}

        def key(item: tuple[int, Slot]) -> tuple[float, int]:
            i, s = item
            ns = nbrs.get(s, [])
            return (sum(pos[n] for n in ns) / len(ns) if ns else here[s], i)

        order[r] = [s for _, s in sorted(enumerate(row), key=key)]


#: Default spacing between layer columns and rows (a node is about 210 x 84).
DX, DY = 260.0, 150.0


def layered_layout(graph: Graph, dx: float = DX, dy: float = DY, *,
                   align_sinks: bool = False, sweeps: int = 4) -> None:
    """Place every node of ``graph`` (through ``graph.move``) in layers.

    ``align_sinks`` puts every node without successors on the last layer.
    """
    if not len(graph):
        return
    collapsed = [b for b in graph.blocks if b.collapsed]
    if collapsed:
        _layout_with_blocks(graph, collapsed, dx, dy, align_sinks, sweeps)
        return
    _layout(graph, dx, dy, align_sinks, sweeps)


def _layout_with_blocks(graph: Graph, blocks: list, dx: float, dy: float, align_sinks: bool, sweeps: int) -> None:
    """Lay out the graph as the editor shows it (a collapsed block is one slot), then each
    block's layers among themselves, centred on the block's slot."""
    owner = {nid: b.id for b in blocks for nid in b.nodes}
    outline = Graph()
    for n in graph.nodes:
        if n.id not in owner:
            outline.add_node(n.type, name=n.name, id=n.id)
    for b in blocks:
        outline.add_node("Block", name=b.name, id=b.id)
    seen = set()
    for e in graph.edges:
        src, dst = owner.get(e.src, e.src), owner.get(e.dst, e.dst)
        if src != dst and (src, dst) not in seen:
            seen.add((src, dst))
            outline.add_edge(src, 0, dst, 0)
    _layout(outline, dx, dy, align_sinks, sweeps)
    for n in outline.nodes:
        if not graph.has_block(n.id):  # an ordinary node
            graph.move(n.id, *n.pos)
    for b in blocks:
        inner = Graph()
        members = set(b.nodes)
        for nid in b.nodes:
            node = graph.node(nid)
            inner.add_node(node.type, name=node.name, id=nid)
        for e in graph.edges:
            if e.src in members and e.dst in members:
                inner.add_edge(e.src, e.src_port, e.dst, e.dst_port)
        _layout(inner, dx, dy, False, sweeps)
        xs = [n.pos[0] for n in inner.nodes]
        ys = [n.pos[1] for n in inner.nodes]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        slot = outline.node(b.id).pos
        for n in inner.nodes:
            graph.move(n.id, n.pos[0] - cx + slot[0], n.pos[1] - cy + slot[1])


def _layout(graph: Graph, dx: float, dy: float, align_sinks: bool, sweeps: int) -> None:
    edges = _acyclic_edges(graph)
    layer = _layers(graph, edges, align_sinks)
    depth: dict[Slot, int] = {("n", nid): d for nid, d in layer.items()}
    links: list[tuple[Slot, Slot]] = []  # between adjacent layers only
    for eid, src, dst in edges:
        chain: list[Slot] = [("n", src)]
        for d in range(layer[src] + 1, layer[dst]):
            dummy = ("d", eid, d)
            depth[dummy] = d
            chain.append(dummy)
        chain.append(("n", dst))
        links.extend(zip(chain, chain[1:]))
    order: list[list[Slot]] = [[] for _ in range(max(depth.values()) + 1)]
    rank = _preorder(graph, edges)
    edge_rank = {eid: i for i, (eid, _, _) in enumerate(edges)}
    src_of = {eid: src for eid, src, _ in edges}

    def initial(slot: Slot) -> tuple[int, int, int]:
        if slot[0] == "n":
            return (rank[slot[1]], 0, 0)
        return (rank[src_of[slot[1]]], 1, edge_rank[slot[1]])

    for slot in sorted(depth, key=initial):
        order[depth[slot]].append(slot)
    up: dict[Slot, list[Slot]] = defaultdict(list)
    down: dict[Slot, list[Slot]] = defaultdict(list)
    for a, b in links:
        down[a].append(b)
        up[b].append(a)
    best, best_cross = [list(r) for r in order], _crossings(order, links, depth)
    for _ in range(sweeps):
        _sweep(order, up, range(1, len(order)))
        _sweep(order, down, range(len(order) - 2, -1, -1))
        cross = _crossings(order, links, depth)
        if cross < best_cross:
            best, best_cross = [list(r) for r in order], cross
        if best_cross == 0:
            break
    width = max(len(r) for r in best)
    for d, row in enumerate(best):
        offset = (width - len(row)) / 2
        for i, slot in enumerate(row):
            if slot[0] == "n":
                graph.move(slot[1], (i + offset) * dx, d * dy)
