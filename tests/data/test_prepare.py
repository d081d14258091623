"""Preparation (normalization, labels for a loss, the Input node) and the batch pipeline."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.data import Dataset, DatasetError, load_dataset
from dlstudio.data.prepare import (
    apply_input_shape,
    apply_normalization,
    input_changes,
    input_shape_problem,
    labels_for_loss,
    normalize,
)
from dlstudio.graph import Graph, Problem


def table(train: np.ndarray, test: np.ndarray, kind: str = "table") -> Dataset:
    return Dataset("tab", train, np.zeros(len(train), np.int64), test, np.zeros(len(test), np.int64),
                   "classification", ["a"], kind=kind)


# --------------------------------------------------------------------------- normalize


def test_standard_fitted_on_train_only_and_recorded():
    rng = np.random.default_rng(0)
    d = table(rng.normal(5, 3, (200, 3)).astype(np.float32), rng.normal(50, 1, (20, 3)).astype(np.float32))
    before = d.x_train.copy()
    out = normalize(d, "standard")
    np.testing.assert_allclose(out.x_train.mean(axis=0), 0, atol=1e-5)
    np.testing.assert_allclose(out.x_train.std(axis=0), 1, atol=1e-4)
    assert out.x_test.mean() > 10  # the test split did not take part in the fit
    stats = out.meta["normalize"]
    assert stats["method"] == "standard" and len(stats["mean"]) == 3
    np.testing.assert_array_equal(d.x_train, before)  # a new Dataset; the old one is unchanged
    np.testing.assert_allclose(apply_normalization(d.x_test, stats), out.x_test, atol=1e-5)


def test_minmax_per_channel_for_images_and_constant_features():
    x = np.zeros((4, 2, 2, 3), np.float32)
    x[..., 0] = np.arange(4)[:, None, None] * 2.0  # channel 0: 0..6; channel 1: constant 0
    x[..., 2] = 7.0
    out = normalize(table(x, x[2:] * 2, kind="image"), "minmax")
    assert out.x_train[..., 0].min() == 0 and out.x_train[..., 0].max() == 1
    assert np.all(out.x_train[..., 1] == 0) and np.all(out.x_train[..., 2] == 0)
    assert out.meta["normalize"]["min"] == [0, 0, 7] and out.meta["normalize"]["max"] == [6, 0, 7]
    assert out.x_test[..., 0].max() == 2  # 3 * 2 * 2 / 6: beyond the train range is kept
    np.testing.assert_allclose(apply_normalization(x, out.meta["normalize"]), out.x_train)


def test_normalize_none_text_and_unknown_method():
    d = table(np.ones((3, 2), np.float32), np.ones((1, 2), np.float32))
    assert normalize(d).x_train is d.x_train
    with pytest.raises(DatasetError, match="unknown normalization 'zscore'"):
        normalize(d, "zscore")
    with pytest.raises(DatasetError, match="token ids"):
        normalize(table(np.ones((3, 2), np.int64), np.ones((1, 2), np.int64), kind="text"), "standard")


# --------------------------------------------------------------------------- labels


def test_labels_for_loss():
    y = np.array([2, 0, 1, 2])
    onehot = labels_for_loss(y, "categorical_crossentropy", 3)
    assert onehot.dtype == np.float32 and onehot.shape == (4, 3)
    np.testing.assert_array_equal(onehot.argmax(axis=1), y)
    sparse = labels_for_loss(onehot, "sparse_categorical_crossentropy", 3)
    assert sparse.dtype == np.int64 and sparse.tolist() == [2, 0, 1, 2]
    assert labels_for_loss(y[:, None], "sparse_categorical_crossentropy", 3).shape == (4,)
    assert labels_for_loss(y, "mse", 3) is y  # other losses get the labels unchanged
    with pytest.raises(DatasetError, match="labels run from 0 to 2 but there are 2 classes"):
        labels_for_loss(y, "categorical_crossentropy", 2)


def test_labels_for_loss_accepts_keras_loss_objects():
    import keras

    y = np.array([1, 0])
    assert labels_for_loss(y, keras.losses.CategoricalCrossentropy(), 2).shape == (2, 2)
    assert labels_for_loss(y, keras.losses.SparseCategoricalCrossentropy(), 2).shape == (2,)
    assert labels_for_loss(y, keras.losses.categorical_crossentropy, 2).shape == (2, 2)


# --------------------------------------------------------------------------- the Input node


def mlp_graph(shape=(28, 28, 1)) -> Graph:
    g = Graph()
    g.add_node("Input", {"shape": list(shape)}, name="image", id="in")
    g.add_node("Flatten", id="flat")
    g.add_node("Dense", {"units": 10, "activation": "softmax"}, id="out")
    g.connect("in", "flat")
    g.connect("flat", "out")
    return g


def test_input_shape_problem_names_both_shapes_and_the_fix():
    digits = load_dataset("digits")
    g = mlp_graph()
    problem = input_shape_problem(g, digits)
    assert isinstance(problem, Problem) and problem.node_ids == ("in",) and problem.is_error
    assert str(problem) == ("Input 'image' has shape (batch, 28, 28, 1) but digits gives (batch, 8, 8, 1): "
                            "set its shape to [8, 8, 1]")
    assert input_shape_problem(mlp_graph((8, 8, 1)), digits) is None
    two = mlp_graph()
    two.add_node("Input", {"shape": [3]})
    assert input_shape_problem(two, digits) is None  # not exactly one Input: the engine says so


def test_apply_input_shape_sets_shape_and_dtype_through_the_graph_api():
    g = mlp_graph()
    changed = []
    g.params_changed.connect(changed.append)
    digits = load_dataset("digits")
    assert apply_input_shape(g, digits) == {"shape": [8, 8, 1]}
    assert g.node("in").params["shape"] == [8, 8, 1] and changed == ["in"]
    assert apply_input_shape(g, digits) == {} and changed == ["in"]  # nothing to do: no signal

    text = Dataset("chars", np.zeros((4, 5), np.int64), np.zeros(4, np.int64), np.zeros((1, 5), np.int64),
                   np.zeros(1, np.int64), "classification", ["a", "b"], kind="text", vocabulary=["a", "b"])
    problem = input_shape_problem(g, text)
    assert "set its shape to [5]" in str(problem)
    assert apply_input_shape(g, text) == {"shape": [5], "dtype": "int32"}
    assert g.node("in").params["dtype"] == "int32"
    g.set_param("in", "dtype", "float32")
    warning = input_shape_problem(g, text)
    assert warning.severity == "warning" and "dtype float32" in warning.message
    assert input_changes(g, digits) == {"shape": [8, 8, 1]}


def test_a_csv_dataset_trains_after_apply_input_shape(tmp_path):
    from dlstudio.training.engine import check_trainable

    import dlstudio.data.files  # noqa: F401

    path = tmp_path / "pts.csv"
    rng = np.random.default_rng(0)
    rows = ["a,b,c,label"] + [f"{p[0]:.3f},{p[1]:.3f},{'xy'[i % 2]},{int(p.sum() > 0)}"
                              for i, p in enumerate(rng.normal(size=(30, 2)))]
    path.write_text("\n".join(rows))
    data = load_dataset("csv", {"path": str(path)})
    g = mlp_graph()
    g.set_param("out", "units", 2)
    apply_input_shape(g, data)
    assert g.node("in").params["shape"] == [4]
    check_trainable(g, data)


# --------------------------------------------------------------------------- pipeline


def epoch(batches) -> tuple[list[int], np.ndarray, np.ndarray]:
    sizes, xs, ys = [], [], []
    for xb, yb in batches:
        xb, yb = np.asarray(xb), np.asarray(yb)
        sizes.append(len(xb))
        xs.append(xb)
        ys.append(yb)
    return sizes, np.concatenate(xs), np.concatenate(ys)


@pytest.mark.parametrize("whole", [True, False], ids=["sliced-in-tensorflow", "batched-from-numpy"])
def test_make_dataset_covers_every_sample_once_per_epoch_seeded(monkeypatch, whole):
    from dlstudio.data import pipeline
    from dlstudio.data.pipeline import make_dataset

    monkeypatch.setattr(pipeline, "WHOLE_BYTES", 2**30 if whole else 0)  # small data, or as if it were large

    x = np.arange(103, dtype=np.float32)[:, None] * np.ones((1, 2), np.float32)
    y = np.arange(103)
    data = make_dataset(x, y, 10, shuffle=True, seed=3)
    sizes, xs, ys = epoch(data)
    assert sizes == [10] * 10 + [3]  # the last partial batch is kept
    assert sorted(ys.tolist()) == list(range(103)) and ys.tolist() != list(range(103))
    np.testing.assert_array_equal(xs[:, 0], ys)  # samples stay with their labels
    _, _, second = epoch(data)
    assert sorted(second.tolist()) == list(range(103)) and second.tolist() != ys.tolist()  # reshuffled
    _, _, again = epoch(make_dataset(x, y, 10, shuffle=True, seed=3))
    assert again.tolist() == ys.tolist()  # the same seed gives the same order
    _, _, ordered = epoch(make_dataset(x, y, 32, shuffle=False, prefetch=False))
    assert ordered.tolist() == list(range(103))
    with pytest.raises(DatasetError, match="103 samples but 5 labels"):
        make_dataset(x, y[:5], 10)
    alone = np.concatenate([np.asarray(b) for b in make_dataset(x, None, 10, shuffle=False)])
    np.testing.assert_array_equal(alone, x)  # samples without labels


def test_array_batches_fallback_for_other_backends():
    from dlstudio.data.pipeline import ArrayBatches

    x, y = np.arange(23, dtype=np.float32)[:, None], np.arange(23)
    batches = ArrayBatches(x, y, 5, shuffle=True, seed=1)
    assert len(batches) == 5
    first = [batches[i] for i in range(len(batches))]
    sizes, xs, ys = epoch(first)
    assert sizes == [5, 5, 5, 5, 3] and sorted(ys.tolist()) == list(range(23))
    np.testing.assert_array_equal(xs[:, 0], ys)
    batches.on_epoch_end()
    _, _, second = epoch([batches[i] for i in range(len(batches))])
    assert sorted(second.tolist()) == list(range(23)) and second.tolist() != ys.tolist()
    again = ArrayBatches(x, y, 5, shuffle=True, seed=1)
    assert epoch([again[i] for i in range(5)])[2].tolist() == ys.tolist()


def test_make_dataset_trains_a_keras_model():
    import keras

    from dlstudio.data.pipeline import make_dataset

    rng = np.random.default_rng(0)
    x = rng.normal(size=(64, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2, activation="softmax")])
    model.compile("adam", "sparse_categorical_crossentropy")
    hist = model.fit(make_dataset(x, y, 16, seed=0), epochs=2, verbose=0, shuffle=False)
    assert len(hist.history["loss"]) == 2
