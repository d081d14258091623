"""The shape store: what Keras said about a layer, kept on disk, answers the same as Keras,
lets an analysis run before Keras has loaded (the rest pending), and survives damage."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from dlstudio import RESOURCES
from dlstudio.compile.infer import ShapeInference
from dlstudio.compile.shape_store import ShapeStore, entry_key
from dlstudio.project import load_project

EXAMPLES = RESOURCES / "examples"


def _graph(name: str = "digits_cnn"):
    return load_project(EXAMPLES / f"{name}.dlsproj").graph


def _same(a, b) -> None:
    assert a.nodes == b.nodes
    assert [str(p) for p in a.problems] == [str(p) for p in b.problems]
    assert (a.total_params, a.total_macs) == (b.total_params, b.total_macs)


@pytest.mark.parametrize("example", ["digits_cnn", "bilstm_classifier", "resnet_block", "seq2seq_dates"])
def test_answers_from_the_store_equal_keras_answers_and_need_no_keras(tmp_path, example):
    graph = _graph(example)
    keras_only = ShapeInference().analyze(graph)
    store = ShapeStore(tmp_path / "shapes.json")
    _same(ShapeInference(store=store).analyze(graph), keras_only)
    assert store.flush() and (tmp_path / "shapes.json").is_file()

    again = ShapeInference(store=ShapeStore(tmp_path / "shapes.json"))  # a later start of the app
    offline = again.analyze(graph, keras=False)
    assert again.keras_calls == 0 and not offline.pending
    _same(offline, keras_only)


def test_a_refusal_is_kept_with_its_reason(tmp_path):
    graph = _graph()
    conv = next(n for n in graph.nodes if n.type == "Conv2D")
    graph.set_params(conv.id, {**conv.params, "kernel_size": [40, 40], "padding": "valid"})
    keras_only = ShapeInference().analyze(graph)
    assert any(conv.id in p.node_ids for p in keras_only.errors)
    store = ShapeStore(tmp_path / "shapes.json")
    ShapeInference(store=store).analyze(graph)
    store.flush()
    _same(ShapeInference(store=ShapeStore(tmp_path / "shapes.json")).analyze(graph, keras=False), keras_only)


def test_without_keras_an_unknown_layer_and_what_follows_are_pending_not_problems(tmp_path):
    from dlstudio.compile.data_fit import DataDescription

    graph = _graph()
    store = ShapeStore(tmp_path / "shapes.json")
    ShapeInference(store=store).analyze(graph)
    order = ShapeInference().analyze(graph).order
    dense = [nid for nid in order if graph.node(nid).type == "Dense"]
    graph.set_params(dense[0], {**graph.node(dense[0]).params, "units": 77})  # never asked before
    data = DataDescription("digits", input_shape=(8, 8, 1), num_classes=3)  # would not fit the 10 outputs
    offline = ShapeInference(store=store).analyze(graph, data, keras=False)
    assert offline.pending
    after = order[order.index(dense[0]):]
    assert all(offline.nodes[nid].pending and offline.nodes[nid].output_shape is None for nid in after)
    assert all(not offline.nodes[nid].pending and offline.nodes[nid].output_shape for nid in order[:order.index(dense[0])])
    assert offline.problems == []  # nothing claimed while shapes are missing, the data check waits too
    full = ShapeInference(store=store).analyze(graph, data)
    assert not full.pending and full.nodes[dense[0]].output_shape == (None, 77)
    assert full.errors  # now the output is checked against the data's 3 classes


@pytest.mark.parametrize("damage", [b"", b"{", b"[1, 2]", b'{"format": 1, "entries": [["k", ["ok", "x"]]]}',
                                    b'{"format": 1, "entries": 5}', b'{"format": 7, "entries": []}'])
def test_a_damaged_store_is_ignored(tmp_path, damage):
    path = tmp_path / "shapes.json"
    path.write_bytes(damage)
    graph = _graph()
    store = ShapeStore(path)
    _same(ShapeInference(store=store).analyze(graph), ShapeInference().analyze(graph))
    assert store.flush()
    assert json.loads(path.read_text())["format"] == 1


def test_the_store_keeps_the_most_recently_used_entries(tmp_path):
    from dlstudio.compile.keras_shapes import LayerResult

    store = ShapeStore(tmp_path / "shapes.json", limit=3)
    keys = [entry_key("Dense", json.dumps({"units": u}), ((None, 4),)) for u in range(5)]
    for k in keys[:3]:
        store.put(k, LayerResult(((None, 1),), ()))
    assert store.get(keys[0]) is not None  # used again: kept
    store.put(keys[3], LayerResult(((None, 1),), ()))
    store.put(keys[4], LayerResult(((None, 1),), ()))
    assert len(store) == 3
    assert store.get(keys[0]) is not None and store.get(keys[1]) is None and store.get(keys[2]) is None


def test_a_new_process_analyses_from_the_disk_caches_without_importing_keras(tmp_path):
    code = ("import sys\n"
            "from dlstudio.compile.infer import ShapeInference\n"
            "from dlstudio.compile.shape_store import shape_store\n"
            "from dlstudio.project import load_project\n"
            f"graph = load_project({str(EXAMPLES / 'small_vgg.dlsproj')!r}).graph\n"
            "keras = len(sys.argv) > 1\n"
            "a = ShapeInference(store=shape_store()).analyze(graph, keras=keras)\n"
            "shape_store().flush()\n"
            "print(a.pending, a.total_params, 'keras' in sys.modules, 'tensorflow' in sys.modules)\n")
    env = {**__import__("os").environ, "DLSTUDIO_CACHE_DIR": str(tmp_path)}

    def run(*args):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        return out.stdout.split()

    first = run("with-keras")
    assert first[0] == "False" and first[2] == "True"
    second = run()
    assert second == ["False", first[1], "False", "False"]  # every shape, no Keras, no TensorFlow
