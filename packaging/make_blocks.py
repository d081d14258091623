"""Writes resources/blocks/*.dlsblock, the built-in blocks of the palette, from the
definitions below (run it after changing one: python packaging/make_blocks.py). Each
block is checked on a sample input before it is written."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dlstudio.compile.blocks import block_fragment  # noqa: E402
from dlstudio.compile.infer import analyze  # noqa: E402
from dlstudio.compile.layout import layered_layout  # noqa: E402
from dlstudio.graph import Graph  # noqa: E402
from dlstudio.project.block_library import BUILTIN, SUFFIX, write_block_file  # noqa: E402


def conv(g, name, filters, k=3, **kw):
    return g.add_node("Conv2D", {"filters": filters, "kernel_size": k, "padding": "same", **kw}, name=name).id


def vgg(g):
    a = conv(g, "conv1", 64, activation="relu")
    b = conv(g, "conv2", 64, activation="relu")
    p = g.add_node("MaxPooling2D", {"pool_size": 2}, name="pool").id
    g.connect(a, b), g.connect(b, p)
    return {"filters": [(a, "filters"), (b, "filters")]}, (32, 32, 3)


def residual(g, projection=False):
    x = g.add_node("Identity", {}, name="block_in").id
    c1 = conv(g, "conv1", 64, strides=2 if projection else 1)
    b1 = g.add_node("BatchNormalization", {}, name="bn1").id
    r1 = g.add_node("Activation", {"activation": "relu"}, name="relu1").id
    c2 = conv(g, "conv2", 64)
    b2 = g.add_node("BatchNormalization", {}, name="bn2").id
    add = g.add_node("Add", {}, name="add").id
    out = g.add_node("Activation", {"activation": "relu"}, name="relu_out").id
    for s, d in ((x, c1), (c1, b1), (b1, r1), (r1, c2), (c2, b2), (b2, add)):
        g.connect(s, d)
    params = {"filters": [(c1, "filters"), (c2, "filters")]}
    if projection:
        pc = conv(g, "shortcut_conv", 64, k=1, strides=2)
        pb = g.add_node("BatchNormalization", {}, name="shortcut_bn").id
        g.connect(x, pc), g.connect(pc, pb), g.connect(pb, add, 1)
        params["filters"].append((pc, "filters"))
        params["strides"] = [(c1, "strides"), (pc, "strides")]
    else:
        g.connect(x, add, 1)
    g.connect(add, out)
    return params, (32, 32, 64)


def inception(g):
    x = g.add_node("Identity", {}, name="block_in").id
    b1 = conv(g, "branch1x1", 64, k=1, activation="relu")
    r3 = conv(g, "reduce3x3", 96, k=1, activation="relu")
    b3 = conv(g, "branch3x3", 128, k=3, activation="relu")
    r5 = conv(g, "reduce5x5", 16, k=1, activation="relu")
    b5 = conv(g, "branch5x5", 32, k=5, activation="relu")
    pool = g.add_node("MaxPooling2D", {"pool_size": 3, "strides": 1, "padding": "same"}, name="pool").id
    bp = conv(g, "pool_proj", 32, k=1, activation="relu")
    cat = g.add_node("Concatenate", {"inputs": 4}, name="concat").id
    for s, d in ((x, b1), (x, r3), (r3, b3), (x, r5), (r5, b5), (x, pool), (pool, bp)):
        g.connect(s, d)
    for i, s in enumerate((b1, b3, b5, bp)):
        g.connect(s, cat, i)
    return {"filters_1x1": [(b1, "filters")], "filters_3x3": [(b3, "filters")],
            "filters_5x5": [(b5, "filters")]}, (28, 28, 192)


def squeeze_excitation(g):
    x = g.add_node("Identity", {}, name="block_in").id
    gap = g.add_node("GlobalAveragePooling2D", {"keepdims": True}, name="squeeze").id
    s = conv(g, "reduce", 16, k=1, activation="relu")
    e = conv(g, "excite", 64, k=1, activation="sigmoid")
    mul = g.add_node("Multiply", {}, name="scale").id
    g.connect(x, gap), g.connect(gap, s), g.connect(s, e), g.connect(x, mul, 0), g.connect(e, mul, 1)
    return {"channels": [(e, "filters")], "squeeze": [(s, "filters")]}, (16, 16, 64)


def transformer(g):
    x = g.add_node("Identity", {}, name="block_in").id
    att = g.add_node("MultiHeadAttention", {"num_heads": 4, "key_dim": 16}, name="self_attention").id
    d1 = g.add_node("Dropout", {"rate": 0.1}, name="attention_dropout").id
    a1 = g.add_node("Add", {}, name="residual1").id
    n1 = g.add_node("LayerNormalization", {}, name="norm1").id
    f1 = g.add_node("Dense", {"units": 128, "activation": "relu"}, name="feed_forward").id
    f2 = g.add_node("Dense", {"units": 64}, name="feed_forward_out").id
    d2 = g.add_node("Dropout", {"rate": 0.1}, name="ffn_dropout").id
    a2 = g.add_node("Add", {}, name="residual2").id
    n2 = g.add_node("LayerNormalization", {}, name="norm2").id
    g.connect(x, att, 0), g.connect(x, att, 1), g.connect(att, d1), g.connect(x, a1, 0), g.connect(d1, a1, 1)
    g.connect(a1, n1), g.connect(n1, f1), g.connect(f1, f2), g.connect(f2, d2), g.connect(n1, a2, 0)
    g.connect(d2, a2, 1), g.connect(a2, n2)
    return {"num_heads": [(att, "num_heads")], "key_dim": [(att, "key_dim")], "ff_units": [(f1, "units")],
            "model_dim": [(f2, "units")]}, (20, 64)


def lstm_encoder(g):
    a = g.add_node("LSTM", {"units": 64, "return_sequences": True}, name="lstm1").id
    d = g.add_node("Dropout", {"rate": 0.2}, name="dropout").id
    b = g.add_node("LSTM", {"units": 64}, name="lstm2").id
    g.connect(a, d), g.connect(d, b)
    return {"units": [(a, "units"), (b, "units")]}, (20, 16)


BLOCKS = [
    ("vgg_block", "VGG block", "Two 3×3 convolutions and a 2×2 max pooling (Simonyan & Zisserman, 2014): "
     "the building unit of VGG16.", vgg),
    ("residual_block", "Residual block", "Two 3×3 convolutions with batch normalization, added to the "
     "block's input (He et al., 2015). The input needs `filters` channels (or one, which is repeated).", residual),
    ("residual_block_projection", "Residual block (projection)", "A residual block that changes the "
     "number of channels or halves the size: the shortcut is a 1×1 convolution.",
     lambda g: residual(g, projection=True)),
    ("inception_module", "Inception module", "Parallel 1×1, 3×3, 5×5 convolutions and a pooling branch, "
     "concatenated (Szegedy et al., 2014, GoogLeNet).", inception),
    ("squeeze_excitation", "Squeeze-and-excitation", "Reweights the channels of its input by what the "
     "whole image holds (Hu et al., 2017). Set `channels` to the input's channels.", squeeze_excitation),
    ("transformer_encoder", "Transformer encoder", "Self-attention and a feed-forward network, each with "
     "a residual connection and layer normalization (Vaswani et al., 2017). `model_dim` must equal the "
     "input's features.", transformer),
    ("lstm_encoder", "LSTM encoder", "Two stacked LSTMs with dropout between them: reads a sequence into "
     "one vector.", lstm_encoder),
]


def main() -> None:
    BUILTIN.mkdir(parents=True, exist_ok=True)
    for key, name, description, build in BLOCKS:
        g = Graph()
        params, sample = build(g)
        members = [n.id for n in g.nodes]
        layered_layout(g)
        inp = g.add_node("Input", {"shape": list(sample)}, name="sample_input")
        block = g.add_block(name, members, params=params)
        from dlstudio.compile.blocks import block_ports

        inputs, _ = block_ports(g, block)
        g.connect(inp.id, inputs[0].node, inputs[0].port)
        errors = [p.message for p in analyze(g).problems if p.is_error]
        if errors:
            raise SystemExit(f"{key}: {errors}")
        path = write_block_file(BUILTIN / f"{key}{SUFFIX}", name, description, block_fragment(g, block))
        print("wrote", path)


if __name__ == "__main__":
    main()
