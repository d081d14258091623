"""The layered auto-layout: edges point down, nodes never overlap, same input same result."""

from __future__ import annotations

import random

import pytest

from dlstudio.compile.layout import DX, DY, layered_layout
from dlstudio.graph import Graph


def _chain_with_skips() -> Graph:
    g = Graph()
    ids = [g.add_node("Dense", id=f"n{i}").id for i in range(6)]
    for a, b in zip(ids, ids[1:]):
        g.connect(a, b)
    g.connect(ids[0], ids[3], dst_port=1)
    g.connect(ids[2], ids[5], dst_port=1)
    return g


def _random_dag(seed: int, n: int = 25) -> Graph:
    rnd = random.Random(seed)
    g = Graph()
    ids = [g.add_node("Dense", id=f"v{i}").id for i in range(n)]
    rnd.shuffle(ids)  # node order is not topological
    for j in range(1, n):
        for i in rnd.sample(range(j), k=min(j, rnd.randint(1, 3))):
            g.connect(ids[i], ids[j], dst_port=i)
    return g


def _inception() -> Graph:
    g = Graph()
    g.add_node("Input", id="in")
    for b in "abcd":
        g.add_node("Conv2D", id=f"{b}1")
        g.connect("in", f"{b}1")
    g.add_node("Conv2D", id="b2")
    g.add_node("Conv2D", id="c2")
    g.connect("b1", "b2")
    g.connect("c1", "c2")
    g.add_node("Concatenate", {"inputs": 4}, id="cat")
    for i, src in enumerate(["a1", "b2", "c2", "d1"]):
        g.connect(src, "cat", dst_port=i)
    return g


def _check(g: Graph, dx: float = DX, dy: float = DY) -> None:
    pos = {n.id: n.pos for n in g.nodes}
    for e in g.edges:
        assert pos[e.dst][1] > pos[e.src][1], f"edge {e.src}->{e.dst} does not go down"
    spots = list(pos.values())
    for i, (x1, y1) in enumerate(spots):
        for x2, y2 in spots[i + 1:]:
            assert abs(x1 - x2) >= dx - 1e-9 or abs(y1 - y2) >= dy - 1e-9, "nodes overlap"
    assert min(x for x, _ in spots) >= 0 and min(y for _, y in spots) == 0


@pytest.mark.parametrize("make", [_chain_with_skips, _inception] + [
    (lambda s=s: _random_dag(s)) for s in range(5)])
def test_edges_go_down_and_nodes_do_not_overlap(make):
    g = make()
    layered_layout(g)
    _check(g)


def test_layering_is_longest_path():
    g = _chain_with_skips()
    layered_layout(g, dx=100, dy=50)
    assert [g.node(f"n{i}").pos[1] for i in range(6)] == [0, 50, 100, 150, 200, 250]


def test_deterministic():
    a, b = _random_dag(7), _random_dag(7)
    layered_layout(a)
    layered_layout(b)
    assert [n.pos for n in a.nodes] == [n.pos for n in b.nodes]


def test_barycenter_ordering_removes_avoidable_crossings():
    g = Graph()
    for nid in ("a", "b", "x", "y"):
        g.add_node("Dense", id=nid)
    g.connect("a", "y")  # added so the first order crosses
    g.connect("b", "x")
    g.move("a", 0, 0)
    layered_layout(g)
    p = {n.id: n.pos for n in g.nodes}
    assert (p["a"][0] - p["b"][0]) * (p["y"][0] - p["x"][0]) > 0


def test_inception_branches_are_side_by_side():
    g = _inception()
    layered_layout(g)
    ys = {g.node(f"{b}1").pos[1] for b in "abcd"}
    assert len(ys) == 1
    assert g.node("cat").pos[1] == 3 * DY


def test_align_sinks_and_cycles_and_empty():
    g = Graph()
    layered_layout(g)  # nothing to do
    g.add_node("Input", id="i")
    g.add_node("Dense", id="short")
    g.add_node("Dense", id="d1")
    g.add_node("Dense", id="d2")
    g.connect("i", "short")
    g.connect("i", "d1")
    g.connect("d1", "d2")
    layered_layout(g, align_sinks=True)
    assert g.node("short").pos[1] == g.node("d2").pos[1]
    g.connect("d2", "d1", dst_port=1)  # a cycle: laid out anyway, without error
    layered_layout(g)
    assert len({n.pos for n in g.nodes}) == 4
