"""Shape-inference and compile timings on a 200-node graph.

Run from the repository root::

    .venv/bin/python benchmarks/infer_200.py

The graph is a ResNet-like chain: Input, a stem (Conv2D, BatchNormalization,
Activation), residual units of two Conv2D/BatchNormalization/Activation blocks
joined by an Add with a 1x1 projection of the unit's input, then MaxPooling2D,
Flatten and a Dense head. Prints plain ``name: value (target ...)`` lines; asserts nothing.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dlstudio.compile import ShapeInference, build_model  # noqa: E402
from dlstudio.graph import Graph  # noqa: E402

N_NODES = 200
WIDTH = 16


def build_graph(n_nodes: int = N_NODES) -> tuple[Graph, list[str]]:
    """The benchmark graph and the ids of the first conv of every residual unit.

    Every unit has its own width (16, 17, 18, ...), so no two layers share a
    cache entry and the cold analysis really asks Keras about every node.
    """
    g = Graph()
    y = 0.0

    def add(type_name: str, params: dict, *srcs: str) -> str:
        nonlocal y
        y += 60.0
        node = g.add_node(type_name, params, pos=(0.0, y))
        for port, src in enumerate(srcs):
            g.connect(src, node.id, port)
        return node.id

    def block(src: str, width: int, kernel: int = 3) -> tuple[str, str]:
        conv = add("Conv2D", {"filters": width, "kernel_size": kernel, "padding": "same"}, src)
        bn = add("BatchNormalization", {}, conv)
        return conv, add("Activation", {"activation": "relu"}, bn)

    head = 7
    x = add("Input", {"shape": [32, 32, 3]})
    _, x = block(x, WIDTH)
    unit_convs = []
    width = WIDTH
    while len(g) + 8 + head <= n_nodes:
        width += 1
        conv, h = block(x, width)
        _, h = block(h, width)
        shortcut = add("Conv2D", {"filters": width, "kernel_size": 1}, x)  # 1x1 projection
        unit_convs.append(conv)
        x = add("Add", {}, shortcut, h)
    rate = 0.0
    while len(g) + head < n_nodes:  # pad to exactly n_nodes
        rate += 0.05
        x = add("Dropout", {"rate": rate}, x)
    x = add("MaxPooling2D", {"pool_size": 4}, x)
    x = add("Flatten", {}, x)
    x = add("Dense", {"units": 64}, x)
    x = add("BatchNormalization", {}, x)
    x = add("Activation", {"activation": "relu"}, x)
    x = add("Dropout", {"rate": 0.2}, x)
    add("Dense", {"units": 10, "activation": "softmax"}, x)
    assert len(g) == n_nodes, len(g)
    return g, unit_convs


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def main() -> None:
    import keras  # noqa: F401  (import cost is not part of any figure)
    from dlstudio.catalog import catalog

    catalog()  # building the catalog is a one-off cost of the process, not of analysis

    g, unit_convs = build_graph()
    si = ShapeInference()

    t0 = time.perf_counter()
    a = si.analyze(g)
    cold = time.perf_counter() - t0
    assert a.ok, [str(p) for p in a.problems]
    print(f"nodes: {len(g)}  edges: {len(g.edges)}  params: {a.total_params}  macs: {a.total_macs}")
    print(f"first_analysis_cold_ms: {ms(cold)} (keras calls: {si.keras_calls})")

    t0 = time.perf_counter()
    calls = si.keras_calls
    si.analyze(g)
    print(f"reanalyse_unchanged_ms: {ms(time.perf_counter() - t0)} (keras calls: {si.keras_calls - calls})")

    # Typical edit: change the filters of one mid-graph conv. The conv, its
    # BatchNormalization and Activation (whose channel count follows) and the
    # next conv (whose input channels change) are re-asked; the rest hits the cache.
    mid = unit_convs[len(unit_convs) // 4: 3 * len(unit_convs) // 4]
    times, call_counts = [], []
    for i in range(20):
        nid = mid[i % len(mid)]
        original = g.node(nid).params["filters"]
        g.set_param(nid, "filters", 200 + i)
        calls = si.keras_calls
        t0 = time.perf_counter()
        a = si.analyze(g)
        times.append(time.perf_counter() - t0)
        call_counts.append(si.keras_calls - calls)
        assert a.ok, [str(p) for p in a.problems]
        g.set_param(nid, "filters", original)
        si.analyze(g)  # back to the cached original
    print(f"reinfer_after_one_edit_ms: {ms(statistics.median(times))} (target <= 50; median of {len(times)} edits, "
          f"min {ms(min(times))}, max {ms(max(times))}, keras calls per edit: {statistics.median(call_counts):g})")

    # Worst case: a new input size changes every downstream shape.
    inp = next(n.id for n in g.nodes if n.type == "Input")
    g.set_param(inp, "shape", [28, 28, 3])
    calls = si.keras_calls
    t0 = time.perf_counter()
    a = si.analyze(g)
    worst = time.perf_counter() - t0
    assert a.ok, [str(p) for p in a.problems]
    print(f"reinfer_after_input_shape_edit_ms: {ms(worst)} (worst case; keras calls: {si.keras_calls - calls})")
    g.set_param(inp, "shape", [32, 32, 3])

    a = si.analyze(g)
    t0 = time.perf_counter()
    model = build_model(g, a)
    built = time.perf_counter() - t0
    assert len(model.layers) == len(g), (len(model.layers), len(g))
    print(f"build_model_ms: {ms(built)} ({len(model.layers)} layers, {model.count_params()} params)")


if __name__ == "__main__":
    main()
