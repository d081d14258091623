"""Evaluating runs (confusion matrix, per-class report, regression errors, decision
boundaries), predicting files, and the gradient-flow measurement."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dlstudio import RESOURCES
from dlstudio.data import DatasetError, load_dataset
from dlstudio.graph import Graph
from dlstudio.project import load_project, new_project, save_project
from dlstudio.runs import runs_dir
from dlstudio.training.engine import train
from dlstudio.training.evaluate import (
    EvaluationError,
    boundary_image,
    decision_boundary,
    evaluate_run,
    predict_file,
)
from dlstudio.runs import RunIncompatible, RunNotFound, load_run_model
from dlstudio.training.gradient_events import GradientFlow as GradientFlowEvent


def chain(*layers: tuple[str, dict]) -> Graph:
    g = Graph()
    prev = None
    for i, (kind, params) in enumerate(layers):
        node = g.add_node(kind, params, name=f"{kind.lower()}{i}")
        if prev is not None:
            g.connect(prev.id, node.id)
        prev = node
    return g


def trained_project(folder, name, graph, dataset_name, options, settings):
    """A saved project with one finished run in NAME.runs (as `dlstudio train` makes it)."""
    project = new_project(name)
    project.graph = graph
    project.dataset.name, project.dataset.options = dataset_name, options
    for k, v in settings.items():
        setattr(project.training, k, v)
    path = folder / f"{name}.dlsproj"
    save_project(project, path)
    project = load_project(path)
    dataset = load_dataset(dataset_name, options, seed=project.training.seed)
    result = train(project.graph, dataset, project.training, run_base=runs_dir(path))
    return project, dataset, result


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    example = load_project(RESOURCES / "examples" / "digits_cnn.dlsproj")
    return trained_project(tmp_path_factory.mktemp("digits"), "digits", example.graph, "digits", {},
                           {"epochs": 2, "batch_size": 64, "validation_split": 0.1})


@pytest.fixture(scope="module")
def xor(tmp_path_factory):
    graph = chain(("Input", {"shape": [2]}), ("Dense", {"units": 8, "activation": "tanh"}),
                  ("Dense", {"units": 1, "activation": "sigmoid"}))
    return trained_project(tmp_path_factory.mktemp("xor"), "xor", graph, "xor", {"samples": 200},
                           {"epochs": 3, "batch_size": 16, "learning_rate": 0.05})


@pytest.fixture(scope="module")
def digits_eval(digits):
    project, dataset, result = digits
    return evaluate_run(project, result.run, dataset=dataset)


# --------------------------------------------------------------------------- classification


def test_confusion_matrix_counts_the_test_set_and_matches_accuracy(digits, digits_eval):
    _, dataset, result = digits
    ev = digits_eval
    cm = ev.confusion_matrix
    assert cm.shape == (10, 10) and cm.dtype.kind == "i"
    assert cm.sum() == len(dataset.x_test)
    assert cm.sum(axis=1).tolist() == np.bincount(dataset.y_test, minlength=10).tolist()  # rows are true
    assert np.trace(cm) / cm.sum() == pytest.approx(ev.metrics["test_accuracy"], abs=1e-6)
    assert ev.metrics["test_accuracy"] == pytest.approx(result.metrics["test_accuracy"], abs=1e-6)
    assert ev.metrics["test_loss"] == pytest.approx(result.metrics["test_loss"], rel=1e-4)
    assert np.allclose(ev.probabilities.sum(axis=1), 1.0, atol=1e-5)


def test_per_class_report_matches_sklearn(digits_eval):
    from sklearn.metrics import precision_recall_fscore_support

    ev = digits_eval
    p, r, f, s = precision_recall_fscore_support(ev.y_true, ev.predicted, labels=range(10), zero_division=0)
    assert [c.name for c in ev.per_class] == [str(i) for i in range(10)]
    assert np.allclose([c.precision for c in ev.per_class], p)
    assert np.allclose([c.recall for c in ev.per_class], r)
    assert np.allclose([c.f1 for c in ev.per_class], f)
    assert [c.support for c in ev.per_class] == s.tolist()


def test_samples_in_cell_and_mistakes_sorted_by_confidence(digits_eval):
    ev = digits_eval
    seen = []
    for t in range(10):
        for p in range(10):
            idx = ev.samples_in_cell(t, p)
            assert len(idx) == ev.confusion_matrix[t, p]
            assert np.all(ev.y_true[idx] == t) and np.all(ev.predicted[idx] == p)
            conf = ev.confidence[idx]
            assert np.all(np.diff(conf) <= 0)
            seen += idx.tolist()
    assert sorted(seen) == list(range(len(ev.y_true)))
    wrong = ev.misclassified()
    assert len(wrong) == ev.confusion_matrix.sum() - np.trace(ev.confusion_matrix)
    assert np.all(np.diff(ev.confidence[wrong]) <= 0) and np.all(ev.y_true[wrong] != ev.predicted[wrong])
    with pytest.raises(IndexError):
        ev.samples_in_cell(10, 0)


def test_to_dict_is_json_and_best_weights_load(digits, digits_eval):
    project, dataset, result = digits
    data = json.loads(json.dumps(digits_eval.to_dict()))
    assert data["task"] == "classification" and len(data["per_class"]) == 10
    assert sum(map(sum, data["confusion_matrix"])) == len(dataset.x_test)
    best = evaluate_run(project, "last", which="best", dataset=dataset)  # run by 'last', weights by best
    assert best.which == "best" and best.confusion_matrix.sum() == len(dataset.x_test)
    (result.run.path / "best.weights.h5").rename(result.run.path / "gone.h5")
    try:
        with pytest.raises(RunIncompatible, match="no best weights"):
            load_run_model(result.run, "best")
    finally:
        (result.run.path / "gone.h5").rename(result.run.path / "best.weights.h5")
    with pytest.raises(RunIncompatible, match="unknown weights"):
        load_run_model(result.run, "middle")


def test_run_by_path_and_prefix_and_changed_dataset(digits, tmp_path):
    project, dataset, result = digits
    ev = evaluate_run(project.path, result.run.id[:15], dataset=dataset)
    assert ev.run_id == result.run.id
    other = load_project(project.path)
    other.dataset.name = "xor"
    with pytest.raises(RunIncompatible, match="trained on 'digits'"):
        evaluate_run(other, result.run)
    with pytest.raises(RunNotFound, match="not a run"):
        evaluate_run(project, "nope")


# --------------------------------------------------------------------------- 2-D points, regression


def test_decision_boundary_grid(xor):
    project, dataset, result = xor
    ev = evaluate_run(project, result.run, dataset=dataset)
    assert ev.confusion_matrix.shape == (2, 2) and ev.probabilities.shape == (len(dataset.x_test), 2)
    xs, ys, grid = ev.decision_boundary(resolution=40)
    assert xs.shape == (40,) and ys.shape == (40,) and grid.shape == (40, 40, 2)
    assert np.allclose(grid.sum(axis=-1), 1.0)
    assert xs[0] < dataset.x_test[:, 0].min() and ys[-1] > dataset.x_test[:, 1].max()
    xs, ys, grid = decision_boundary(result.model, (-2, 2), (-1, 1), resolution=(30, 20))
    assert grid.shape == (20, 30, 2)
    # the grid agrees with the model on the same points
    px = np.array([[xs[3], ys[5]]], np.float32)
    assert grid[5, 3, 1] == pytest.approx(float(result.model(px)[0, 0]), abs=1e-5)
    image = boundary_image(grid)
    assert image.shape == (20, 30, 3) and image.dtype == np.uint8


def test_decision_boundary_needs_points(digits_eval):
    with pytest.raises(EvaluationError, match="2-D points"):
        digits_eval.decision_boundary()


def test_regression_metrics_on_sine(tmp_path):
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    graph = chain(("Input", {"shape": [1]}), ("Dense", {"units": 16, "activation": "tanh"}),
                  ("Dense", {"units": 1}))
    project, dataset, result = trained_project(tmp_path, "sine", graph, "sine", {"samples": 200},
                                               {"epochs": 3, "batch_size": 32, "learning_rate": 0.02})
    ev = evaluate_run(project, result.run, dataset=dataset)
    assert ev.task == "regression" and ev.confusion_matrix is None
    assert ev.predicted.shape == dataset.y_test.shape
    assert ev.metrics["mae"] == pytest.approx(mean_absolute_error(dataset.y_test, ev.predicted), rel=1e-5)
    assert ev.metrics["rmse"] == pytest.approx(mean_squared_error(dataset.y_test, ev.predicted) ** 0.5, rel=1e-5)
    assert ev.metrics["r2"] == pytest.approx(r2_score(dataset.y_test, ev.predicted), rel=1e-5, abs=1e-6)
    assert ev.metrics["test_loss"] == pytest.approx(ev.metrics["rmse"] ** 2, rel=1e-3)
    with pytest.raises(EvaluationError):
        ev.samples_in_cell(0, 0)
    (tmp_path / "x.csv").write_text("x\n0.5\n-1.0\n")
    pred = predict_file(project, result.run, tmp_path / "x.csv", dataset=dataset)
    assert pred.task == "regression" and pred.values.shape == (2, 1) and pred.output_names == ["y"]
    assert pred.values[0, 0] == pytest.approx(float(result.model(np.array([[0.5]], np.float32))[0, 0]), abs=1e-5)


# --------------------------------------------------------------------------- predicting files


def test_predict_png_matches_the_test_sample(digits, tmp_path):
    from PIL import Image

    project, dataset, result = digits
    i = 7
    pixels = np.rint(dataset.x_test[i, :, :, 0] * 255).astype(np.uint8)
    Image.fromarray(pixels, "L").save(tmp_path / "digit.png")
    pred = predict_file(project, result.run, tmp_path / "digit.png", top=3, dataset=dataset, model=result.model)
    expected = np.asarray(result.model(dataset.x_test[i:i + 1]))[0]
    assert np.allclose(pred.probabilities[0], expected, atol=0.02)
    assert len(pred.top[0]) == 3
    assert [p for _, p in pred.top[0]] == sorted((p for _, p in pred.top[0]), reverse=True)
    assert pred.top[0][0][0] == str(int(expected.argmax()))
    ranked = pred.ranked()
    assert len(ranked) == 10 and sum(p for _, p in ranked) == pytest.approx(1.0, abs=1e-5)
    # a big RGB image is resized and turned grey
    Image.fromarray(np.stack([np.kron(pixels, np.ones((8, 8), np.uint8))] * 3, axis=-1), "RGB").save(
        tmp_path / "big.jpg")
    big = predict_file(project, result.run, tmp_path / "big.jpg", dataset=dataset, model=result.model)
    assert big.inputs.shape == (1, 8, 8, 1) and 0.0 <= big.inputs.min() and big.inputs.max() <= 1.0
    assert json.loads(json.dumps(pred.to_dict()))["predictions"][0]["class"] == pred.top[0][0][0]


def test_predict_csv_rows(xor, tmp_path):
    project, dataset, result = xor
    (tmp_path / "header.csv").write_text("x2,x1\n-1,1\n1,1\n")  # columns by name, any order
    (tmp_path / "plain.csv").write_text("1;-1\n")
    a = predict_file(project, result.run, tmp_path / "header.csv", dataset=dataset)
    b = predict_file(project, result.run, tmp_path / "plain.csv", dataset=dataset)
    assert a.inputs.tolist() == [[1.0, -1.0], [1.0, 1.0]]
    assert np.allclose(a.probabilities[0], b.probabilities[0])
    p1 = float(np.asarray(result.model(np.array([[1.0, -1.0]], np.float32)))[0, 0])
    assert a.probabilities[0, 1] == pytest.approx(p1, abs=1e-5)
    assert a.class_names == ["0", "1"] and len(a.top) == 2


@pytest.mark.parametrize("name, content, message", [
    ("missing.csv", None, "no such file"),
    ("empty.csv", "", "empty"),
    ("short.csv", "1,2\n3\n", r"short.csv, line 2: 1 values, expected 2"),
    ("word.csv", "1,abc\n", r"word.csv, line 1, column 'x2': 'abc' is not a number"),
    ("header.csv", "x1,y\n1,2\n", "no column 'x2'"),
    ("words.csv", "a,b\n1,2\n", "not numbers and not the feature names"),
    ("fake.png", "not really a png", r"fake.png: the model takes samples of shape \(2,\), which is not an image"),
])
def test_bad_prediction_files_say_what_is_wrong(xor, tmp_path, name, content, message):
    project, dataset, result = xor
    path = tmp_path / name
    if content is not None:
        path.write_text(content)
    with pytest.raises(DatasetError, match=message):
        predict_file(project, result.run, path, dataset=dataset, model=result.model)


def test_bad_files_for_an_image_model(digits, tmp_path):
    project, dataset, result = digits
    (tmp_path / "rows.csv").write_text("1,2,3\n")
    with pytest.raises(DatasetError, match="rows.csv: the model takes images of shape"):
        predict_file(project, result.run, tmp_path / "rows.csv", dataset=dataset, model=result.model)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 40)
    with pytest.raises(DatasetError, match="broken.png"):
        predict_file(project, result.run, tmp_path / "broken.png", dataset=dataset, model=result.model)
    np.save(tmp_path / "batch.npy", dataset.x_test[:4])
    pred = predict_file(project, result.run, tmp_path / "batch.npy", dataset=dataset, model=result.model)
    assert pred.probabilities.shape == (4, 10)
    np.save(tmp_path / "wrong.npy", np.zeros((3, 3)))
    with pytest.raises(DatasetError, match=r"wrong.npy: an array of shape \(3, 3\)"):
        predict_file(project, result.run, tmp_path / "wrong.npy", dataset=dataset, model=result.model)


def test_predict_text_with_the_vocabulary(tmp_path):
    graph = chain(("Input", {"shape": [3], "dtype": "int32"}), ("Embedding", {"input_dim": 4, "output_dim": 8}),
                  ("Flatten", {}), ("Dense", {"units": 4, "activation": "softmax"}))
    project, dataset, result = trained_project(tmp_path, "hello", graph, "hello", {"repeats": 20},
                                               {"epochs": 2, "batch_size": 8, "learning_rate": 0.05,
                                                "validation_split": 0.0})
    (tmp_path / "in.txt").write_text("oh hel")
    pred = predict_file(project, result.run, tmp_path / "in.txt", top=2, dataset=dataset)
    assert pred.inputs.tolist() == [[0, 1, 2]]  # the last 3 characters, h e l
    assert len(pred.top[0]) == 2 and {n for n, _ in pred.ranked()} == set(dataset.class_names)
    (tmp_path / "bad.txt").write_text("hex")
    with pytest.raises(DatasetError, match=r"bad.txt: 1 character the model never saw \('x'\)"):
        predict_file(project, result.run, tmp_path / "bad.txt", dataset=dataset)
    (tmp_path / "short.txt").write_text("h")
    with pytest.raises(DatasetError, match="at least"):
        predict_file(project, result.run, tmp_path / "short.txt", dataset=dataset)


# --------------------------------------------------------------------------- gradient flow


def deep_mlp(activation: str, initializer: str, batch_norm: bool, depth: int = 8):
    import keras

    keras.utils.set_random_seed(0)
    inp = keras.Input((16,))
    h = inp
    for i in range(depth):
        h = keras.layers.Dense(32, activation=None if batch_norm else activation,
                               kernel_initializer=initializer, name=f"hidden{i}")(h)
        if batch_norm:
            h = keras.layers.BatchNormalization(name=f"bn{i}")(h)
            h = keras.layers.Activation(activation, name=f"act{i}")(h)
    out = keras.layers.Dense(3, activation="softmax", name="out")(h)
    model = keras.Model(inp, out)
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    return model


def _batch():
    rng = np.random.default_rng(0)
    return rng.normal(size=(64, 16)).astype("float32"), rng.integers(0, 3, 64)


def test_vanishing_gradients_in_a_deep_sigmoid_mlp():
    from dlstudio.training.gradients import gradient_magnitudes

    x, y = _batch()
    names, sigmoid = gradient_magnitudes(deep_mlp("sigmoid", "glorot_uniform", False), x, y)
    assert names == tuple([f"hidden{i}" for i in range(8)] + ["out"])
    assert sigmoid[-1] / sigmoid[0] > 1000  # orders of magnitude
    _, relu = gradient_magnitudes(deep_mlp("relu", "he_normal", True), x, y)
    assert len(relu) == 9 and relu[-1] / relu[0] < 20
    assert relu[0] / relu[-1] > 100 * sigmoid[0] / sigmoid[-1]


def test_gradient_flow_callback_emits_every_n_batches_and_changes_nothing():
    from dlstudio.training.gradients import GradientFlow

    x, y = _batch()
    model = deep_mlp("relu", "he_normal", True, depth=3)
    events = []
    callback = GradientFlow(x[:32], y[:32], every_n_batches=3, emit=events.append)
    model.fit(x, y, batch_size=8, epochs=2, verbose=0, callbacks=[callback])  # 16 steps
    assert [e.step for e in events] == [0, 3, 6, 9, 12, 15]
    assert all(isinstance(e, GradientFlowEvent) for e in events)
    assert events[0].layers == ("hidden0", "hidden1", "hidden2", "out")
    assert all(len(e.magnitudes) == 4 and all(m > 0 for m in e.magnitudes) for e in events)
    before = [w.copy() for w in model.get_weights()]  # weights and batch-norm statistics
    first, second = callback.measure(), callback.measure()
    assert first.magnitudes == pytest.approx(second.magnitudes)
    assert all(np.array_equal(a, b) for a, b in zip(before, model.get_weights()))
    with pytest.raises(ValueError):
        GradientFlow(x, y, every_n_batches=0)
