"""The graph model: ids, signals, order, cycles, connection checks, round trip."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlstudio.graph import Edge, Graph, GraphError, Node, PortRef


def chain(g: Graph, n: int, type_name: str = "Dense") -> list[Node]:
    nodes = [g.add_node(type_name, name=f"n{i}_{type_name.lower()}") for i in range(n)]
    for a, b in zip(nodes, nodes[1:]):
        g.connect(a.id, b.id)
    return nodes


class Recorder:
    """Connects to every signal of a graph and records (signal, args)."""

    SIGNALS = ("node_added", "node_removed", "edge_added", "edge_removed", "params_changed",
               "node_renamed", "node_moved", "annotations_changed")

    def __init__(self, g: Graph):
        self.events: list[tuple] = []
        for name in self.SIGNALS:
            getattr(g, name).connect(self._recorder(name))

    def _recorder(self, name: str):
        def record(*args):
            self.events.append((name, *args))
        return record

    def names(self) -> list[str]:
        return [e[0] for e in self.events]


# ----------------------------------------------------------------------- ids
def test_ids_are_unique_strings():
    g = Graph()
    nodes = [g.add_node("Dense") for _ in range(20)]
    edges = [g.connect(a.id, b.id) for a, b in zip(nodes, nodes[1:])]
    ids = [n.id for n in nodes] + [e.id for e in edges]
    assert all(isinstance(i, str) and i for i in ids)
    assert len(set(ids)) == len(ids)


def test_ids_are_stable_and_never_reused():
    g = Graph()
    a, b, c = (g.add_node("Dense") for _ in range(3))
    e = g.connect(a.id, b.id)
    ids_before = (a.id, b.id, c.id, e.id)
    g.remove_node(b.id)
    d = g.add_node("Dense")
    assert d.id not in ids_before
    # the surviving nodes keep their ids, also through a round trip
    g2 = Graph.from_dict(json.loads(json.dumps(g.to_dict())))
    assert [n.id for n in g2.nodes] == [a.id, c.id, d.id]
    # a graph loaded from a file does not hand out an id it already holds
    fresh = g2.add_node("Dense")
    assert fresh.id not in {a.id, c.id, d.id}
    assert g2.connect(a.id, fresh.id).id not in {a.id, c.id, d.id, fresh.id}


def test_explicit_duplicate_id_is_refused():
    g = Graph()
    g.add_node("Dense", id="x")
    with pytest.raises(GraphError):
        g.add_node("Dense", id="x")
    g.add_node("Dense", id="y")
    g.add_edge("x", 0, "y", 0, id="e")
    with pytest.raises(GraphError):
        g.add_edge("x", 0, "y", 0, id="e")
    with pytest.raises(GraphError):
        g.add_node("Dense", id="e")  # ids are unique across nodes and edges


def test_default_names_are_unique_snake_case():
    g = Graph()
    names = [g.add_node("Conv2DTranspose").name for _ in range(3)]
    assert names == ["conv2d_transpose_1", "conv2d_transpose_2", "conv2d_transpose_3"]
    assert g.add_node("BatchNormalization").name == "batch_normalization_1"


def test_unknown_ids_raise_graph_error():
    g = Graph()
    n = g.add_node("Dense")
    for call in (lambda: g.node("nope"), lambda: g.edge("nope"), lambda: g.remove_node("nope"),
                 lambda: g.remove_edge("nope"), lambda: g.add_edge(n.id, 0, "nope", 0),
                 lambda: g.add_edge("nope", 0, n.id, 0), lambda: g.set_param("nope", "units", 3),
                 lambda: g.rename("nope", "x"), lambda: g.move("nope", 1, 2)):
        with pytest.raises(GraphError):
            call()
    assert len(g) == 1 and not g.edges


# ------------------------------------------------------------------- signals
def test_node_and_edge_signals_carry_the_objects():
    g = Graph()
    rec = Recorder(g)
    a = g.add_node("Dense", {"units": 4}, name="a")
    b = g.add_node("Dense", name="b")
    e = g.connect(a.id, b.id)
    assert rec.events == [("node_added", a), ("node_added", b), ("edge_added", e)]
    assert isinstance(rec.events[2][1], Edge) and rec.events[2][1].source == PortRef(a.id, 0)
    rec.events.clear()
    assert g.remove_edge(e.id) is e
    assert rec.events == [("edge_removed", e)]
    assert not g.has_edge(e.id)


def test_removing_a_node_removes_its_edges_first():
    g = Graph()
    a, b, c = (g.add_node("Dense", name=x) for x in "abc")
    e1 = g.connect(a.id, b.id)
    e2 = g.connect(b.id, c.id)
    e3 = g.connect(a.id, c.id, 1)
    rec = Recorder(g)
    seen_when_removed = []
    g.node_removed.connect(lambda node: seen_when_removed.append((g.has_node(node.id), len(g.edges))))
    removed = g.remove_node(b.id)
    assert removed is b
    assert rec.names() == ["edge_removed", "edge_removed", "node_removed"]
    assert {ev[1] for ev in rec.events[:2]} == {e1, e2}
    assert rec.events[2] == ("node_removed", b)
    assert seen_when_removed == [(False, 1)]  # the node is gone when the signal fires
    assert g.edges == [e3]


def test_params_rename_move_annotation_signals():
    g = Graph()
    n = g.add_node("Dense", {"units": 4})
    g.annotations[n.id] = "stale"
    rec = Recorder(g)
    g.set_param(n.id, "units", 8)
    g.set_params(n.id, {"units": 16, "activation": "relu"})
    g.rename(n.id, "fc1")
    g.move(n.id, 10, 20.5)
    g.set_annotations({n.id: {"shape": (None, 16)}})
    assert rec.events == [
        ("params_changed", n.id),
        ("params_changed", n.id),
        ("node_renamed", n.id, "fc1"),
        ("node_moved", n.id, 10.0, 20.5),
        ("annotations_changed",),
    ]
    assert n.params == {"units": 16, "activation": "relu"}
    assert n.name == "fc1" and n.pos == (10.0, 20.5)
    assert g.annotations == {n.id: {"shape": (None, 16)}}
    # removing a node drops its annotation
    g.remove_node(n.id)
    assert n.id not in g.annotations


def test_set_params_copies_the_dict():
    g = Graph()
    params = {"units": 4}
    n = g.add_node("Dense", params)
    params["units"] = 99
    assert n.params["units"] == 4
    new = {"units": 5}
    g.set_params(n.id, new)
    new["units"] = 6
    assert n.params["units"] == 5


def test_clear_emits_removals():
    g = Graph()
    chain(g, 3)
    rec = Recorder(g)
    g.clear()
    assert len(g) == 0 and not g.edges
    assert rec.names().count("node_removed") == 3 and rec.names().count("edge_removed") == 2


# --------------------------------------------------------------------- order
def test_topological_order_respects_edges():
    g = Graph()
    # added in an order that is not topological
    d = g.add_node("Dense", name="d")
    c = g.add_node("Dense", name="c")
    b = g.add_node("Dense", name="b")
    a = g.add_node("Input", name="a")
    g.connect(a.id, b.id)
    g.connect(b.id, c.id)
    g.connect(c.id, d.id)
    g.connect(a.id, d.id, 1)
    order = g.topological_order()
    assert order == [a.id, b.id, c.id, d.id]


def test_topological_order_is_stable():
    g = Graph()
    root = g.add_node("Input", name="root")
    leaves = [g.add_node("Dense", name=f"leaf{i}") for i in range(6)]
    for leaf in leaves:
        g.connect(root.id, leaf.id)
    first = g.topological_order()
    # independent nodes keep insertion order, and repeated calls agree
    assert first == [root.id] + [n.id for n in leaves]
    assert all(g.topological_order() == first for _ in range(5))
    assert g.copy().topological_order() == first


def test_find_cycle_none_for_dag():
    g = Graph()
    a, b, c, d = (g.add_node("Dense", name=x) for x in "abcd")
    g.connect(a.id, b.id)
    g.connect(a.id, c.id)
    g.connect(b.id, d.id)
    g.connect(c.id, d.id, 1)  # a diamond is not a cycle
    assert g.find_cycle() is None
    assert Graph().find_cycle() is None


def test_find_cycle_returns_the_cycle():
    g = Graph()
    inp, a, b, c, tail = (g.add_node("Dense", name=x) for x in ("inp", "a", "b", "c", "tail"))
    g.connect(inp.id, a.id)
    g.connect(a.id, b.id)
    g.connect(b.id, c.id)
    g.connect(c.id, a.id, 1)
    g.connect(c.id, tail.id)
    cycle = g.find_cycle()
    assert cycle is not None and set(cycle) == {a.id, b.id, c.id}
    # consecutive entries (wrapping round) are joined by edges
    pairs = {(e.src, e.dst) for e in g.edges}
    assert all((cycle[i], cycle[(i + 1) % len(cycle)]) in pairs for i in range(len(cycle)))


def test_self_loop_is_a_cycle():
    g = Graph()
    a = g.add_node("Add", name="loop")
    g.add_edge(a.id, 0, a.id, 1)  # the graph can hold it; connection_error refuses it
    assert g.find_cycle() == [a.id]
    with pytest.raises(GraphError, match="loop"):
        g.topological_order()
    g.remove_node(a.id)
    assert not g.edges


def test_topological_order_raises_naming_the_cycle():
    g = Graph()
    a, b = g.add_node("Dense", name="alpha"), g.add_node("Dense", name="beta")
    g.connect(a.id, b.id)
    g.connect(b.id, a.id)
    with pytest.raises(GraphError) as err:
        g.topological_order()
    assert "cycle" in str(err.value)
    assert "alpha" in str(err.value) and "beta" in str(err.value)


def test_multi_input_multi_output_graph():
    g = Graph()
    x1, x2 = g.add_node("Input", name="x1"), g.add_node("Input", name="x2")
    cat = g.add_node("Concatenate", name="cat")
    g.connect(x1.id, cat.id, 0)
    g.connect(x2.id, cat.id, 1)
    h = g.add_node("Dense", name="h")
    g.connect(cat.id, h.id)
    out1, out2 = g.add_node("Dense", name="out1"), g.add_node("Dense", name="out2")
    g.connect(h.id, out1.id)
    g.connect(h.id, out2.id)
    assert {n.id for n in g.sources()} == {x1.id, x2.id}
    assert {n.id for n in g.sinks()} == {out1.id, out2.id}
    assert [e.src for e in g.in_edges(cat.id)] == [x1.id, x2.id]
    assert g.predecessors(cat.id) == [x1.id, x2.id]
    assert set(g.successors(h.id)) == {out1.id, out2.id}
    assert g.ancestors(out1.id) == {x1.id, x2.id, cat.id, h.id}
    assert g.descendants(x2.id) == {cat.id, h.id, out1.id, out2.id}
    order = g.topological_order()
    pos = {nid: i for i, nid in enumerate(order)}
    assert all(pos[e.src] < pos[e.dst] for e in g.edges)


def test_in_edges_sorted_by_port():
    g = Graph()
    a, b, c = (g.add_node("Input", name=x) for x in "abc")
    add = g.add_node("Add", {"inputs": 3})
    g.connect(c.id, add.id, 2)
    g.connect(a.id, add.id, 0)
    g.connect(b.id, add.id, 1)
    assert [e.dst_port for e in g.in_edges(add.id)] == [0, 1, 2]
    assert g.predecessors(add.id) == [a.id, b.id, c.id]


def test_multiple_output_ports():
    g = Graph()
    enc = g.add_node("LSTM", {"return_state": True}, name="enc")
    dec = g.add_node("LSTM", name="dec")
    g.add_edge(enc.id, 1, dec.id, 1)
    g.add_edge(enc.id, 2, dec.id, 2)
    assert [(e.source, e.target) for e in g.in_edges(dec.id)] == [
        (PortRef(enc.id, 1), PortRef(dec.id, 1)), (PortRef(enc.id, 2), PortRef(dec.id, 2))]
    assert g.successors(enc.id) == [dec.id, dec.id]


# --------------------------------------------------------- connection_error
@pytest.fixture
def abc():
    g = Graph()
    a, b, c = (g.add_node("Dense", name=x) for x in ("first", "second", "third"))
    g.connect(a.id, b.id)
    g.connect(b.id, c.id)
    return g, a, b, c


def test_connection_error_accepts_a_valid_edge(abc):
    g, a, b, c = abc
    d = g.add_node("Dense", name="fourth")
    assert g.connection_error(PortRef(c.id, 0), PortRef(d.id, 0)) is None
    assert g.connection_error(PortRef(a.id, 0), PortRef(c.id, 1)) is None  # a skip is fine


def test_connection_error_self_loop(abc):
    g, a, _, _ = abc
    why = g.connection_error(PortRef(a.id, 0), PortRef(a.id, 1))
    assert why and "itself" in why and "first" in why


def test_connection_error_taken_input(abc):
    g, a, _, c = abc
    why = g.connection_error(PortRef(a.id, 0), PortRef(c.id, 0))
    assert why and "taken" in why
    assert "third" in why and "second" in why  # names the node and the current source
    assert "remove" in why  # says what to do


def test_connection_error_would_be_cycle(abc):
    g, a, _, c = abc
    why = g.connection_error(PortRef(c.id, 0), PortRef(a.id, 1))
    assert why and "cycle" in why and "third" in why and "first" in why


def test_connection_error_unknown_node(abc):
    g, a, _, _ = abc
    assert "ghost" in g.connection_error(PortRef("ghost", 0), PortRef(a.id, 1))
    assert "ghost" in g.connection_error(PortRef(a.id, 0), PortRef("ghost", 0))


def test_connection_error_changes_nothing(abc):
    g, a, _, c = abc
    before = g.to_dict()
    g.connection_error(PortRef(c.id, 0), PortRef(a.id, 1))
    assert g.to_dict() == before


# ---------------------------------------------------------- serialisation
def test_round_trip_through_json():
    g = Graph()
    x = g.add_node("Input", {"shape": [28, 28, 1]}, name="image", pos=(1.5, -2))
    c = g.add_node("Conv2D", {"filters": 8, "kernel_size": [3, 3], "padding": "same"}, name="conv", pos=(0, 100))
    t = g.add_node("TimeDistributed", {"layer": "Dense", "inner": {"units": 3}}, name="td")
    add = g.add_node("Add", {"inputs": 2}, name="add")
    g.connect(x.id, c.id)
    g.connect(c.id, add.id, 0)
    g.connect(x.id, add.id, 1)
    g.add_edge(add.id, 0, t.id, 0)
    data = g.to_dict()
    g2 = Graph.from_dict(json.loads(json.dumps(data)))
    assert g2.to_dict() == data
    assert [n.id for n in g2.nodes] == [n.id for n in g.nodes]
    assert [(e.id, e.src, e.src_port, e.dst, e.dst_port) for e in g2.edges] == \
           [(e.id, e.src, e.src_port, e.dst, e.dst_port) for e in g.edges]
    assert g2.node(x.id).pos == (1.5, -2.0)
    assert g2.node(c.id).params == {"filters": 8, "kernel_size": [3, 3], "padding": "same"}
    assert g2.topological_order() == g.topological_order()


def test_to_dict_is_a_deep_copy():
    g = Graph()
    n = g.add_node("TimeDistributed", {"layer": "Dense", "inner": {"units": 3}})
    data = g.to_dict()
    data["nodes"][0]["params"]["inner"]["units"] = 99
    assert n.params["inner"]["units"] == 3
    copy = g.copy()
    copy.set_param(n.id, "layer", "Conv2D")
    assert g.node(n.id).params["layer"] == "Dense"


def test_from_dict_keeps_invalid_but_representable_states():
    """A file with a cycle or a doubly used port loads; validation reports it."""
    data = {
        "nodes": [{"id": i, "type": "Dense", "name": i, "params": {}} for i in ("a", "b")],
        "edges": [
            {"id": "e1", "src": "a", "src_port": 0, "dst": "b", "dst_port": 0},
            {"id": "e2", "src": "b", "src_port": 0, "dst": "a", "dst_port": 0},
            {"id": "e3", "src": "a", "src_port": 0, "dst": "b", "dst_port": 0},
        ],
    }
    g = Graph.from_dict(data)
    assert len(g.edges) == 3 and g.find_cycle() is not None


def test_from_dict_refuses_edges_to_unknown_nodes():
    data = {"nodes": [{"id": "a", "type": "Dense", "name": "a"}],
            "edges": [{"id": "e", "src": "a", "dst": "zz"}]}
    with pytest.raises(GraphError):
        Graph.from_dict(data)


# ------------------------------------------------------------- properties
@st.composite
def random_dags(draw):
    """(n, edges): edges only go from a lower to a higher index, so it's a DAG."""
    n = draw(st.integers(1, 25))
    pairs = st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)).filter(lambda p: p[0] < p[1])
    edges = draw(st.lists(pairs, max_size=60))
    perm = draw(st.permutations(range(n)))  # the order nodes are added in
    return n, edges, perm


@settings(max_examples=150, deadline=None)
@given(random_dags())
def test_random_dag_topological_order(dag):
    n, edges, perm = dag
    g = Graph()
    ids = {}
    for i in perm:
        ids[i] = g.add_node("Dense", name=f"v{i}").id
    for port, (s, d) in enumerate(edges):
        assert g.connection_error(PortRef(ids[s], 0), PortRef(ids[d], 1000 + port)) is None
        g.connect(ids[s], ids[d], 1000 + port)
    assert g.find_cycle() is None
    order = g.topological_order()
    assert sorted(order) == sorted(ids.values())
    pos = {nid: k for k, nid in enumerate(order)}
    assert all(pos[e.src] < pos[e.dst] for e in g.edges)
    assert g.topological_order() == order  # stable
    # any edge from a node to one of its ancestors would close a cycle, and is refused
    for s, d in set(edges):
        assert ids[s] in g.ancestors(ids[d])
        assert g.connection_error(PortRef(ids[d], 0), PortRef(ids[s], 9999)) is not None


@settings(max_examples=100, deadline=None)
@given(random_dags(), st.data())
def test_random_back_edge_is_found_as_cycle(dag, data):
    n, edges, perm = dag
    if not edges:
        return
    g = Graph()
    ids = {i: g.add_node("Dense", name=f"v{i}").id for i in perm}
    for port, (s, d) in enumerate(edges):
        g.connect(ids[s], ids[d], port)
    s, d = data.draw(st.sampled_from(edges))
    g.connect(ids[d], ids[s], 5000)  # closes a loop
    cycle = g.find_cycle()
    assert cycle
    pairs = {(e.src, e.dst) for e in g.edges}
    assert all((cycle[i], cycle[(i + 1) % len(cycle)]) in pairs for i in range(len(cycle)))
    with pytest.raises(GraphError, match="cycle"):
        g.topological_order()
