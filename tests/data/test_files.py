"""Bring-your-own-data loaders: round trips, clear located errors, files left untouched."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

import dlstudio.data.files  # noqa: F401  (registers the file datasets)
from dlstudio.data import DatasetError, get_dataset_spec, load_dataset


@pytest.fixture
def untouched():
    """Check that every file a test hands over is byte-for-byte and mtime unchanged."""
    watched: dict[Path, tuple[bytes, int]] = {}

    def watch(*paths: Path) -> None:
        for root in paths:
            for p in [root] if root.is_file() else [q for q in root.rglob("*") if q.is_file()]:
                watched[p] = (p.read_bytes(), p.stat().st_mtime_ns)

    yield watch
    for p, (data, mtime) in watched.items():
        assert p.read_bytes() == data and p.stat().st_mtime_ns == mtime, f"{p} was changed"


def write(path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def error(name: str, options: dict) -> str:
    with pytest.raises(DatasetError) as info:
        load_dataset(name, options)
    return str(info.value)


def test_file_datasets_are_registered_with_a_path_option():
    for name in ("csv", "numpy", "image_folder", "text_file"):
        spec = get_dataset_spec(name)
        assert spec.category == "files"
        assert spec.options[0].name == "path" and spec.options[0].kind == "path"


# --------------------------------------------------------------------------- CSV

PEOPLE = """age,colour,height,label
23,red,1.70,cat
31,blue,,dog
?,red,1.60,cat
40,green,1.80,dog
25,blue,1.50,cat
33,red,1.90,dog
28,green,NA,cat
37,blue,1.75,dog
"""


def test_csv_categorical_one_hot_and_missing_mean(tmp_path, untouched):
    path = write(tmp_path / "people.csv", PEOPLE)
    untouched(path)
    d = load_dataset("csv", {"path": str(path), "missing": "mean", "test_fraction": 0.25})
    assert d.task == "classification" and d.class_names == ["cat", "dog"]
    assert d.feature_names == ["age", "colour=blue", "colour=green", "colour=red", "height"]
    assert d.x_train.dtype == np.float32 and d.input_shape == (5,)
    assert len(d.x_train) + len(d.x_test) == 8 and len(d.x_test) == 2
    assert np.isfinite(d.x_train).all() and np.isfinite(d.x_test).all()
    onehot = np.concatenate([d.x_train, d.x_test])[:, 1:4]
    assert set(onehot.sum(axis=1).tolist()) == {1.0}
    numeric = d.x_train[:, [0, 4]]  # standardized on the train split
    np.testing.assert_allclose(numeric.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(numeric.std(axis=0), 1, atol=1e-4)
    assert d.meta["missing_values"] == 3 and d.meta["dropped_rows"] == 0
    assert d.meta["standardize"]["features"] == ["age", "height"]


def test_csv_missing_values_error_lists_positions_and_count(tmp_path):
    path = write(tmp_path / "people.csv", PEOPLE)
    msg = error("csv", {"path": str(path)})
    assert "people.csv" in msg and "3 missing values" in msg
    assert "line 3 column 'height'" in msg and "line 4 column 'age'" in msg and "line 8 column 'height'" in msg
    assert "drop" in msg and "mean" in msg


def test_csv_missing_drop_and_no_standardize(tmp_path):
    path = write(tmp_path / "people.csv", PEOPLE)
    d = load_dataset("csv", {"path": str(path), "missing": "drop", "standardize": False, "target": "label"})
    assert len(d.x_train) + len(d.x_test) == 5 and d.meta["dropped_rows"] == 3
    ages = sorted(np.concatenate([d.x_train, d.x_test])[:, 0].tolist())
    assert ages == [23, 25, 33, 37, 40]


def test_csv_regression_semicolons_without_header(tmp_path):
    rows = "\n".join(f"{i};{i * 0.5:.2f};{3 * i + 0.25:.2f}" for i in range(40))
    path = write(tmp_path / "nums.txt", rows + "\n")
    d = load_dataset("csv", {"path": str(path), "standardize": False})
    assert d.meta["delimiter"] == ";" and d.meta["header"] is False
    assert d.task == "regression" and d.y_train.dtype == np.float32 and d.class_names == []
    assert d.feature_names == ["column 1", "column 2"]
    np.testing.assert_allclose(d.y_train, 3 * d.x_train[:, 0] + 0.25, atol=1e-4)


def test_csv_target_option_task_and_numeric_classes_sorted_as_numbers(tmp_path):
    lines = ["grade,score"] + [f"{g},{g * 1.5 + k}" for g in (10, 2, 1) for k in range(4)]
    path = write(tmp_path / "grades.csv", "\n".join(lines))
    d = load_dataset("csv", {"path": str(path), "target": "grade"})
    assert d.task == "classification" and d.class_names == ["1", "2", "10"]
    r = load_dataset("csv", {"path": str(path), "target": "grade", "task": "regression"})
    assert r.task == "regression"
    assert sorted(set(np.concatenate([r.y_train, r.y_test]).tolist())) == [1.0, 2.0, 10.0]


def test_csv_quoted_values_tab_delimiter_and_ignore(tmp_path):
    rows = ["id\tname\tsize\tkind"] + [f'{i}\t"item, {i}"\t{i % 5}\t{"ab"[i % 2]}' for i in range(60)]
    path = write(tmp_path / "items.tsv", "\n".join(rows))
    msg = error("csv", {"path": str(path), "delimiter": "tab"})
    assert "items.tsv, column 'name'" in msg and "60 different text values" in msg and "ignore" in msg
    d = load_dataset("csv", {"path": str(path), "delimiter": "tab", "ignore": "id, name"})
    assert d.feature_names == ["size"] and d.class_names == ["a", "b"]


@pytest.mark.parametrize("content,options,expected", [
    ("a,b,c,d,e\n" + "1,2,3,4,5\n" * 5 + "1,2,3,4\n", {}, "bad.csv, line 7: 4 values, expected 5"),
    ("x,y\n1,a\n2,b\nthree,a\n4,b\n5,a\n", {},
     "bad.csv, column 'x': 1 value that is not a number in a column of numbers (line 4: 'three')"),
    ("x,y\n1,a\ninf,b\n3,a\n", {}, "bad.csv, line 3, column 'x': 'inf' is not a finite number"),
    ("", {}, "bad.csv: the file is empty"),
    ("\n  \n", {}, "bad.csv: the file is empty"),
    ("x,y\n", {}, "bad.csv: a header line but no rows of data"),
    ("x,y\n1,a\n2,b\n", {"target": "label"}, "bad.csv: no column 'label' to use as the target; its columns: 'x', 'y'"),
    ("x,y\n1,a\n2,a\n", {}, "only one value ('a')"),
    ("x,y\n1,a\n2,b\n", {"task": "regression"}, "target column 'y' holds text"),
    ("x,y\n1,a\n2,b\n", {"delimiter": "::"}, "one character"),
    ("x,y\n1,a\n2,b\n", {"ignore": "z"}, "no column 'z' to ignore"),
    (b"x,y\n1,caf\xe9\n2,b\n", {}, "bad.csv: byte 9 (line 2) is 0xe9, which is not valid utf-8"),
])
def test_csv_bad_input_names_file_and_position(tmp_path, untouched, content, options, expected):
    path = write(tmp_path / "bad.csv", content)
    untouched(path)
    assert expected in error("csv", {"path": str(path), **options})


def test_csv_encoding_option_reads_latin1(tmp_path):
    path = write(tmp_path / "latin.csv", "x,y\n1,café\n2,thé\n3,café\n4,thé\n".encode("latin-1"))
    d = load_dataset("csv", {"path": str(path), "encoding": "latin-1", "test_fraction": 0.5})
    assert d.class_names == ["café", "thé"]


def test_missing_and_wrong_paths(tmp_path):
    assert error("csv", {}) == "dataset 'csv' needs a file: set its path option"
    assert error("csv", {"path": str(tmp_path / "nope.csv")}) == f"{tmp_path / 'nope.csv'}: no such file"
    assert "is a folder" in error("text_file", {"path": str(tmp_path)})
    path = write(tmp_path / "f.txt", "abc")
    assert "is a file, expected a folder" in error("image_folder", {"path": str(path)})


# --------------------------------------------------------------------------- NumPy


def test_npz_with_x_y_is_split_and_uint8_scaled(tmp_path, untouched):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (50, 6, 6), dtype=np.uint8)
    y = np.repeat(np.array(["no", "yes"]), 25)
    path = tmp_path / "arrays.npz"
    np.savez(path, x=x, y=y)
    untouched(path)
    d = load_dataset("numpy", {"path": str(path)})
    assert d.kind == "image" and d.input_shape == (6, 6, 1) and d.x_train.dtype == np.float32
    assert d.class_names == ["no", "yes"] and d.y_train.dtype == np.int64
    assert len(d.x_test) == 10 and 0 <= d.x_train.min() and d.x_train.max() <= 1
    # every sample arrives once, scaled by 1/255
    got = np.sort(np.concatenate([d.x_train, d.x_test]).reshape(50, -1) * 255, axis=0)
    np.testing.assert_allclose(got, np.sort(x.reshape(50, -1).astype(np.float32), axis=0), atol=1e-3)


def test_npz_with_given_split_keys_and_regression(tmp_path):
    path = tmp_path / "given.npz"
    np.savez(path, x_train=np.ones((8, 3)), y_train=np.linspace(0, 1, 8), x_test=np.zeros((2, 3)),
             y_test=np.array([0.25, 0.5]))
    d = load_dataset("numpy", {"path": str(path)})
    assert d.task == "regression" and d.sizes == {"train": 8, "test": 2} and d.kind == "table"
    np.testing.assert_array_equal(d.y_test, [0.25, 0.5])
    custom = tmp_path / "custom.npz"
    np.savez(custom, images=np.ones((6, 4)), labels=np.array([0, 1, 2, 0, 1, 2]))
    d = load_dataset("numpy", {"path": str(custom), "keys": "images,labels", "test_fraction": 0.5})
    assert d.class_names == ["0", "1", "2"] and d.input_shape == (4,)


def test_npy_pair_with_one_hot_labels(tmp_path, untouched):
    xs, ys = tmp_path / "x.npy", tmp_path / "y.npy"
    np.save(xs, np.arange(40, dtype=np.float64).reshape(20, 2))
    np.save(ys, np.eye(2)[np.arange(20) % 2])
    untouched(xs, ys)
    d = load_dataset("numpy", {"path": str(xs), "labels": str(ys), "scale": False})
    assert d.task == "classification" and d.class_names == ["0", "1"]
    x = np.concatenate([d.x_train, d.x_test])
    y = np.concatenate([d.y_train, d.y_test])
    np.testing.assert_array_equal(y, (x[:, 0] / 2).astype(int) % 2)


def test_numpy_bad_inputs(tmp_path, untouched):
    bad = tmp_path / "mismatch.npz"
    np.savez(bad, x=np.zeros((10, 2)), y=np.zeros(9))
    untouched(bad)
    assert error("numpy", {"path": str(bad)}) == (
        f"{bad}, array 'x' has 10 samples but {bad}, array 'y' has 9 labels: they must match")
    other = tmp_path / "other.npz"
    np.savez(other, a=np.zeros(3), b=np.zeros(3))
    msg = error("numpy", {"path": str(other)})
    assert "other.npz: holds 'a', 'b'; expected arrays x and y" in msg and "keys" in msg
    assert "no array 'c'" in error("numpy", {"path": str(other), "keys": "a,c"})
    pickled = tmp_path / "objects.npz"
    np.savez(pickled, x=np.array([{"a": 1}, None], dtype=object), y=np.zeros(2))
    assert "objects.npz, array 'x': holds Python objects" in error("numpy", {"path": str(pickled)})
    lone = tmp_path / "lone.npy"
    np.save(lone, np.zeros((4, 2)))
    assert "lone.npy: an .npy file holds only the samples: set the labels option" in error(
        "numpy", {"path": str(lone)})
    nan = tmp_path / "nan.npz"
    np.savez(nan, x=np.array([[1.0], [np.nan], [2.0], [3.0]]), y=np.array([0, 1, 0, 1]))
    assert "NaN or infinite" in error("numpy", {"path": str(nan), "test_fraction": 0.5})
    junk = write(tmp_path / "junk.npz", b"this is not a zip file")
    empty = write(tmp_path / "empty.npy", b"")
    assert error("numpy", {"path": str(junk)}).startswith(f"{junk}: not a NumPy file")
    import pickle

    pickle_file = write(tmp_path / "data.npy", pickle.dumps([1, 2]))
    assert "data.npy: a Python pickle" in error("numpy", {"path": str(pickle_file), "labels": str(lone)})
    assert error("numpy", {"path": str(empty), "labels": str(lone)}) == f"{empty}: the file is empty"
    assert "expected an .npz file" in error("numpy", {"path": str(write(tmp_path / "a.csv", "1,2"))})


# --------------------------------------------------------------------------- image folders


def make_images(root: Path, classes=("cat", "dog"), per_class=4, size=(10, 8), mode="RGB") -> Path:
    from PIL import Image

    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            channels = 3 if mode == "RGB" else 1
            pixels = np.full((size[1], size[0], channels), 60 + 120 * c, np.uint8)
            pixels = np.clip(pixels + rng.integers(0, 20, pixels.shape), 0, 255).astype(np.uint8)
            Image.fromarray(pixels.squeeze(-1) if mode == "L" else pixels, mode).save(root / name / f"{i}.png")
    return root


def test_image_folder_round_trip_resized_rgb(tmp_path, untouched):
    root = make_images(tmp_path / "pets")
    untouched(root)
    d = load_dataset("image_folder", {"path": str(root), "size": 6, "test_fraction": 0.25})
    assert d.kind == "image" and d.class_names == ["cat", "dog"] and d.input_shape == (6, 6, 3)
    assert d.sizes == {"train": 6, "test": 2} and d.x_train.dtype == np.float32
    assert 0 <= d.x_train.min() and d.x_train.max() <= 1
    for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):  # dark cats, bright dogs
        np.testing.assert_array_equal(x.mean(axis=(1, 2, 3)) > 0.5, y == 1)


def test_image_folder_grey_auto_original_size_and_colour_option(tmp_path):
    root = make_images(tmp_path / "grey", mode="L")
    d = load_dataset("image_folder", {"path": str(root), "size": 0, "test_fraction": 0.25})
    assert d.input_shape == (8, 10, 1) and d.meta["colour"] == "grey"
    rgb = load_dataset("image_folder", {"path": str(root), "size": 4, "colour": "rgb", "test_fraction": 0.25})
    assert rgb.input_shape == (4, 4, 3)
    colour = make_images(tmp_path / "colour")
    grey = load_dataset("image_folder", {"path": str(colour), "size": 4, "colour": "grey", "test_fraction": 0.25})
    assert grey.input_shape == (4, 4, 1)


def test_image_folder_bad_files_listed_or_skipped(tmp_path, untouched):
    root = make_images(tmp_path / "pets")
    write(root / "cat" / "notes.txt", "not a picture")
    write(root / "dog" / "broken.png", b"\x89PNG\r\n\x1a\n garbage")
    write(root / "dog" / ".DS_Store", b"\x00\x01")  # hidden files are ignored
    untouched(root)
    msg = error("image_folder", {"path": str(root)})
    assert msg.startswith(f"{root}: 2 files could not be read as images:")
    assert "cat/notes.txt (not an image file)" in msg and "dog/broken.png (unreadable image" in msg
    assert "skip_bad" in msg
    d = load_dataset("image_folder", {"path": str(root), "skip_bad": True, "size": 4, "test_fraction": 0.25})
    assert len(d.x_train) + len(d.x_test) == 8 and len(d.meta["skipped"]) == 2


def test_image_folder_structure_errors(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert "the folder is empty" in error("image_folder", {"path": str(empty)})
    flat = tmp_path / "flat"
    flat.mkdir()
    write(flat / "a.png", b"x")
    assert "no class sub-folders" in error("image_folder", {"path": str(flat)})
    root = make_images(tmp_path / "pets")
    (root / "bird").mkdir()
    assert error("image_folder", {"path": str(root)}) == (
        f"{root}/bird: no images in the class folder 'bird'")
    mixed = make_images(tmp_path / "mixed", classes=("a",))
    make_images(mixed, classes=("b",), size=(12, 12))
    msg = error("image_folder", {"path": str(mixed), "size": 0})
    assert "images differ in size: a/0.png is 10x8 but b/0.png is 12x12" in msg and "size option" in msg


# --------------------------------------------------------------------------- text files


def test_text_file_windows_like_text_corpus(tmp_path, untouched):
    text = "hello world, hello text. " * 20
    path = write(tmp_path / "book.txt", text)
    untouched(path)
    d = load_dataset("text_file", {"path": str(path), "window": 10, "step": 2})
    assert d.kind == "text" and d.task == "classification" and d.input_shape == (10,)
    assert d.x_train.dtype == np.int64 and d.y_train.dtype == np.int64
    assert d.vocabulary == sorted(set(text)) and d.num_classes == len(d.vocabulary)
    assert "' '" in d.class_names  # printable names, as text_corpus
    assert len(d.x_train) + len(d.x_test) == len(range(0, len(text) - 10, 2))
    for x, y in zip(d.x_train[:20], d.y_train[:20]):  # each window is followed by its target in the text
        assert "".join(d.vocabulary[i] for i in x) + d.vocabulary[y] in text
    short = load_dataset("text_file", {"path": str(path), "window": 10, "max_chars": 100})
    assert short.meta["characters"] == 100


def test_text_file_errors_and_encoding(tmp_path):
    bad = write(tmp_path / "bad.txt", b"good text\nmore good\n\xff\xfe broken")
    msg = error("text_file", {"path": str(bad)})
    assert msg.startswith(f"{bad}: byte 20 (line 3) is 0xff, which is not valid utf-8") and "encoding" in msg
    d = load_dataset("text_file", {"path": str(bad), "encoding": "latin-1", "window": 3, "step": 1})
    assert "\xff" in d.vocabulary
    assert "unknown encoding 'klingon'" in error("text_file", {"path": str(bad), "encoding": "klingon"})
    assert error("text_file", {"path": str(write(tmp_path / "e.txt", ""))}).endswith("e.txt: the file is empty")
    assert "too few for windows of 40" in error("text_file", {"path": str(write(tmp_path / "s.txt", "short"))})


def test_loaders_never_write_next_to_the_files(tmp_path):
    path = write(tmp_path / "people.csv", PEOPLE)
    before = sorted(os.listdir(tmp_path))
    load_dataset("csv", {"path": str(path), "missing": "drop"})
    assert sorted(os.listdir(tmp_path)) == before
