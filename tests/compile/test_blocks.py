"""Blocks in the core: a project holding a library block trains, exports to every format
with outputs that match Keras, and round-trips through .keras; block files are checked
like projects; imported models keep nested models as blocks, and ResNet50 opens as its
residual units."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlstudio.cli import run_cli
from dlstudio.compile.blocks import block_ports, blocks_by_name
from dlstudio.graph import Graph
from dlstudio.project import load_project, new_project, save_project
from dlstudio.project.block_library import (
    BlockFileError, find_block, import_block_file, library_blocks, read_block_file, save_to_library,
)


def digits_with_a_vgg_block() -> Graph:
    """Input 8x8x1 -> [VGG block: conv, conv, pool] -> Flatten -> Dense 10, the block from
    the library with fresh ids, as the palette puts it."""
    block = find_block("builtin:vgg_block")
    g = Graph()
    inp = g.add_node("Input", {"shape": [8, 8, 1]}, name="image", pos=(0, 0))
    ids = {}
    for n in block.fragment["nodes"]:
        ids[n["id"]] = g.add_node(n["type"], dict(n["params"], filters=4) if n["type"] == "Conv2D" else n["params"],
                                  name=n["name"], pos=(n["pos"][0], n["pos"][1] + 150)).id
    for e in block.fragment["edges"]:
        g.add_edge(ids[e["src"]], e["src_port"], ids[e["dst"]], e["dst_port"])
    b = g.add_block("vgg", list(ids.values()),
                    params={k: [(ids[n], p) for n, p in v] for k, v in block.fragment["params"].items()})
    [entry], [exit_] = block_ports(g, b)
    g.connect(inp.id, entry.node, entry.port)
    flat = g.add_node("Flatten", {}, name="flat", pos=(0, 600))
    out = g.add_node("Dense", {"units": 10, "activation": "softmax"}, name="digit", pos=(0, 750))
    g.connect(exit_.node, flat.id, 0, exit_.port)
    g.connect(flat.id, out.id)
    return g


@pytest.mark.slow  # trains one epoch and writes four formats
def test_a_project_with_a_block_trains_exports_and_round_trips(tmp_path, capsys):
    project = new_project("blocky")
    project.graph = digits_with_a_vgg_block()
    project.training.epochs = 1
    path = tmp_path / "blocky.dlsproj"
    save_project(project, path)
    saved = json.loads(path.read_text())
    assert saved["graph"]["blocks"][0]["name"] == "vgg" and len(saved["graph"]["blocks"][0]["nodes"]) == 3
    assert load_project(path).graph.to_dict() == project.graph.to_dict()  # blocks come back as saved

    assert run_cli(["train", str(path)]) == 0
    for suffix in ("keras", "onnx", "tflite", "py"):
        out = tmp_path / f"blocky.{suffix}"
        assert run_cli(["export", str(path), "-o", str(out), "--json"]) == 0, capsys.readouterr().err
        result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert out.exists() and (result.get("max_difference") or 0.0) < 1e-4
        if suffix != "py":
            assert result["samples_checked"] > 0  # outputs compared with Keras
    # the .keras file imports back with the same layer names and gives the same outputs
    assert run_cli(["import", str(tmp_path / "blocky.keras"), "-o", str(tmp_path / "back.dlsproj")]) == 0
    back = load_project(tmp_path / "back.dlsproj")
    assert {n.name for n in back.graph.nodes} >= {"conv1", "conv2", "pool", "flat", "digit"}
    import keras

    from dlstudio.compile import build_model
    from dlstudio.runs import RunStore

    run = RunStore.of_project(path).latest()
    original = build_model(project.graph)
    original.load_weights(run.weights_path)
    reloaded = keras.saving.load_model(tmp_path / "blocky.keras", safe_mode=True)
    x = np.random.default_rng(0).random((5, 8, 8, 1), dtype=np.float32)
    np.testing.assert_allclose(original.predict(x, verbose=0), reloaded.predict(x, verbose=0), atol=1e-6)


def test_block_files_are_checked_like_projects(tmp_path):
    built_in, problems = library_blocks(None)
    assert problems == [] and {b.name for b in built_in} >= {
        "VGG block", "Residual block", "Residual block (projection)", "Inception module",
        "Squeeze-and-excitation", "Transformer encoder", "LSTM encoder"}
    g = digits_with_a_vgg_block()
    from dlstudio.compile.blocks import block_fragment

    saved = save_to_library(tmp_path / "mine", "My VGG", block_fragment(g, g.blocks[0]))
    again = save_to_library(tmp_path / "mine", "My VGG", block_fragment(g, g.blocks[0]))
    assert saved.name == "my_vgg.dlsblock" and again.name == "my_vgg_2.dlsblock"  # never overwritten
    assert read_block_file(saved).fragment["params"] == {"filters": [[n, "filters"] for n in g.blocks[0].nodes[:2]]}
    bad = tmp_path / "bad.dlsblock"
    cases = {
        "not json": "{",
        "no format": json.dumps({"name": "x", "nodes": []}),
        "unknown type": json.dumps({"format": "dlstudio-block", "version": 1, "name": "x",
                                    "nodes": [{"id": "a", "type": "Evil", "name": "a"}], "edges": []}),
        "dangling": json.dumps({"format": "dlstudio-block", "version": 1, "name": "x",
                                "nodes": [{"id": "a", "type": "Dense", "name": "a", "params": {"units": 2}}],
                                "edges": [{"id": "e", "src": "a", "dst": "zz"}]}),
        "param outside": json.dumps({"format": "dlstudio-block", "version": 1, "name": "x",
                                     "nodes": [{"id": "a", "type": "Dense", "name": "a", "params": {"units": 2}}],
                                     "edges": [], "params": {"units": [["zz", "units"]]}}),
    }
    for what, text in cases.items():
        bad.write_text(text)
        with pytest.raises(BlockFileError) as info:
            import_block_file(tmp_path / "mine", bad)
        assert "bad.dlsblock" in str(info.value), what
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["my_vgg.dlsblock", "my_vgg_2.dlsblock"]
    with pytest.raises(BlockFileError):
        find_block("user:../../etc/passwd", tmp_path / "mine")


def test_nested_models_and_resnet50_import_as_collapsed_blocks():
    import keras

    from dlstudio.compile.importer import graph_from_model

    inner = keras.Sequential([keras.Input((8,)), keras.layers.Dense(4, name="a"), keras.layers.Dense(3, name="b")],
                             name="head")
    x = keras.Input((8,))
    g, _ = graph_from_model(keras.Model(x, keras.layers.Dense(2, name="out")(inner(x))))
    [block] = g.blocks
    assert block.name == "head" and [g.node(n).name for n in block.nodes] == ["a", "b"] and block.collapsed

    resnet = keras.applications.ResNet50(weights=None, input_shape=(64, 64, 3), classes=10)
    g, _ = graph_from_model(resnet)
    names = [b.name for b in g.blocks]
    assert len(names) == 16 and names[:3] == ["conv2_block1", "conv2_block2", "conv2_block3"]
    assert all(b.collapsed for b in g.blocks) and names[-1] == "conv5_block3"
    # laid out as shown: a block takes one slot, nothing else sits on it
    outside = [n for n in g.nodes if g.block_of(n.id) is None]
    assert len(outside) == 177 - sum(len(b.nodes) for b in g.blocks)
    centres = []
    for b in g.blocks:
        xs = [g.node(n).pos[0] for n in b.nodes]
        ys = [g.node(n).pos[1] for n in b.nodes]
        centres.append(((min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2))
    assert all(abs(c[1] - n.pos[1]) > 60 or abs(c[0] - n.pos[0]) > 200 for c in centres for n in outside)
    assert sorted(c[1] for c in centres) == [c[1] for c in centres]  # top to bottom, in order
    assert blocks_by_name(Graph()) == []
