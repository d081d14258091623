"""Hostile and damaged files, generated in a test's folder (nothing binary is committed)."""

from __future__ import annotations

import json
import random
import struct
import zipfile
import zlib
from pathlib import Path

import numpy as np

from dlstudio.project import new_project, save_project


def png_header_only(path: Path, width: int, height: int) -> Path:
    """A PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's first bytes:
    decoding it would allocate width * height * 3 bytes); its pixel data is a stub."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))
    return path


def npy_header(shape: tuple[int, ...], dtype: str = "<f8") -> bytes:
    """The bytes of an .npy header (version 1.0) for an array of ``shape``, without the data."""
    header = f"{{'descr': '{dtype}', 'fortran_order': False, 'shape': {shape!r}, }}"
    header += " " * (64 - (10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")


def lying_npz(path: Path, rows: int = 1_000_000, columns: int = 10_000) -> Path:
    """A small .npz whose x array's header declares rows x columns float64 (80 GB by default)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("x.npy", npy_header((rows, columns)) + b"\0" * 4096)
        buf = npy_header((rows,), "<i8") + b"\0" * 4096
        z.writestr("y.npy", buf)
    return path


def big_array_npy(path: Path, rows: int, columns: int) -> Path:
    """A sparse-looking .npy: a real header for rows x columns float64 and a short body."""
    path.write_bytes(npy_header((rows, columns)) + b"\0" * 1024)
    return path


def nested_json(depth: int) -> str:
    return "[" * depth + "]" * depth


def flip_bits(source: Path, target: Path, n: int, seed: int) -> Path:
    """A copy of ``source`` with ``n`` random bits flipped (past the first 8 bytes: it stays HDF5)."""
    data = bytearray(source.read_bytes())
    rng = random.Random(seed)
    for _ in range(n):
        i = rng.randrange(8, len(data))
        data[i] ^= 1 << rng.randrange(8)
    target.write_bytes(bytes(data))
    return target


def keras_with_assets(source: Path, target: Path, asset_bytes: int) -> Path:
    """``source`` (a .keras archive) with an extra asset member of ``asset_bytes`` zeros."""
    with zipfile.ZipFile(source) as src, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(info, src.read(info))
        with dst.open("assets/vocabulary.bin", "w", force_zip64=True) as member:
            block = b"\0" * (1 << 20)
            for _ in range(asset_bytes >> 20):
                member.write(block)
    return target


def project(folder: Path, name: str = "p", dataset: str = "xor", options: dict | None = None, *,
            graph: str = "xor", **training) -> Path:
    """A small valid project file (the XOR MLP, or ``graph="huge"``: 10**14 parameters on digits)."""
    from dlstudio.graph import Graph

    p = new_project(name)
    g = Graph()
    if graph == "huge":
        x = g.add_node("Input", {"shape": [8, 8, 1]}, name="x", pos=(0, 0))
        f = g.add_node("Flatten", {}, name="flat", pos=(0, 100))
        a = g.add_node("Dense", {"units": 10_000_000}, name="wide1", pos=(0, 200))
        b = g.add_node("Dense", {"units": 10_000_000}, name="wide2", pos=(0, 300))
        o = g.add_node("Dense", {"units": 10, "activation": "softmax"}, name="out", pos=(0, 400))
        for s, d in ((x, f), (f, a), (a, b), (b, o)):
            g.connect(s.id, d.id)
        dataset = "digits"
    else:
        x = g.add_node("Input", {"shape": [2]}, name="point", pos=(0, 0))
        h = g.add_node("Dense", {"units": 4, "activation": "tanh"}, name="hidden", pos=(0, 100))
        o = g.add_node("Dense", {"units": 1, "activation": "sigmoid"}, name="output", pos=(0, 200))
        g.connect(x.id, h.id)
        g.connect(h.id, o.id)
    p.graph = g
    p.dataset.name, p.dataset.options = dataset, dict(options or {})
    p.training.epochs, p.training.batch_size = 2, 32
    for k, v in training.items():
        setattr(p.training, k, v)
    return save_project(p, folder / f"{name}.dlsproj")


def run_of(project_path: Path):
    """A finished run of the project as training records it, with the freshly initialised model's
    weights (made in this process: no training needed where the weights do not matter)."""
    import keras

    from dlstudio.backend import load_keras
    from dlstudio.compile import build_model
    from dlstudio.project import load_project
    from dlstudio.atomic import write_file
    from dlstudio.runs import RunStore

    load_keras()
    p = load_project(project_path)
    keras.utils.set_random_seed(0)
    model = build_model(p.graph)
    run = RunStore.of_project(project_path).create({
        "status": "finished", "dataset": p.dataset.name, "settings": p.training.model_dump(),
        "graph": p.graph.to_dict(), "dataset_options": dict(p.dataset.options), "epochs_done": 1})
    write_file(run.weights_path, model.save_weights)
    run.write_history({"loss": [0.5]})
    return run


def project_json(path: Path, change) -> Path:
    """Rewrite a project file through ``change(document)``, without DL Studio's checks."""
    doc = json.loads(path.read_text())
    change(doc)
    path.write_text(json.dumps(doc))
    return path


def uint8_images(folder: Path, n: int = 3, size: int = 8) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
