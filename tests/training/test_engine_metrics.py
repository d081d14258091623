"""TrainingSettings.metrics: what the user picks is what training reports."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.data import load_dataset
from dlstudio.graph import Graph
from dlstudio.project.schema import TrainingSettings
from dlstudio.training.engine import TrainingError, train
from dlstudio.training.events import EpochEnd, Failed


def net(inputs: int, outputs: int, out_act: str) -> Graph:
    g = Graph()
    x = g.add_node("Input", {"shape": [inputs]}, name="x")
    h = g.add_node("Dense", {"units": 16, "activation": "relu"}, name="hidden")
    o = g.add_node("Dense", {"units": outputs, "activation": out_act}, name="out")
    g.connect(x.id, h.id)
    g.connect(h.id, o.id)
    return g


@pytest.fixture(scope="module")
def xor():
    return load_dataset("xor", {"samples": 200}, seed=1)


@pytest.fixture(scope="module")
def sine():
    return load_dataset("sine", {}, seed=0)


@pytest.fixture(scope="module")
def digits():
    return load_dataset("digits", {"flatten": True}, seed=0)


def test_default_is_auto_accuracy_for_classification_and_mae_for_regression(xor, sine):
    assert TrainingSettings().metrics == ["auto"]
    logs = []
    train(net(2, 1, "sigmoid"), xor, {"epochs": 1, "validation_split": 0.2},
          emit=lambda e: isinstance(e, EpochEnd) and logs.append(e.logs))
    assert set(logs[0]) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    result = train(net(1, 1, "linear"), sine, {"epochs": 1})
    assert {"mae", "test_mae"} <= set(result.metrics) and "accuracy" not in result.metrics


def test_chosen_regression_metrics_are_reported_and_consistent(sine):
    result = train(net(1, 1, "linear"), sine, {"epochs": 2, "metrics": ["mse", "rmse", "r2", "mae"], "loss": "mse"})
    m = result.metrics
    assert {"test_mse", "test_rmse", "test_r2", "test_mae"} <= set(m)
    assert m["test_rmse"] == pytest.approx(np.sqrt(m["test_mse"]), rel=1e-4)
    assert m["test_mse"] == pytest.approx(m["test_loss"], rel=1e-4)  # the loss is the MSE here
    pred = result.model.predict(sine.x_test, verbose=0).reshape(-1)
    y = sine.y_test.reshape(-1)
    r2 = 1 - np.sum((y - pred) ** 2) / np.sum((y - y.mean()) ** 2)
    assert m["test_r2"] == pytest.approx(r2, abs=1e-4)


def test_top_5_accuracy_and_aliases_on_ten_classes(digits):
    result = train(net(64, 10, "softmax"), digits, {"epochs": 2, "metrics": ["acc", "top5_accuracy", "accuracy"]})
    m = result.metrics
    assert {"test_accuracy", "test_top_5_accuracy"} <= set(m)
    assert m["test_top_5_accuracy"] >= m["test_accuracy"]
    probs = result.model.predict(digits.x_test, verbose=0)
    top5 = np.argsort(probs, axis=1)[:, -5:]
    expected = np.mean([label in row for label, row in zip(digits.y_test.reshape(-1), top5)])
    assert m["test_top_5_accuracy"] == pytest.approx(expected, abs=1e-6)


@pytest.mark.parametrize("out_act", ["sigmoid", "linear"])  # probabilities, and logits
def test_precision_recall_auc_of_a_binary_classifier(xor, out_act):
    from sklearn.metrics import precision_score, recall_score, roc_auc_score

    result = train(net(2, 1, out_act), xor, {"epochs": 3, "learning_rate": 0.02,
                                             "metrics": ["accuracy", "precision", "recall", "auc"]})
    out = result.model.predict(xor.x_test, verbose=0).reshape(-1)
    predicted = (out > (0.5 if out_act == "sigmoid" else 0.0)).astype(int)
    y = xor.y_test.reshape(-1)
    m = result.metrics
    assert m["test_precision"] == pytest.approx(precision_score(y, predicted, zero_division=0), abs=1e-5)
    assert m["test_recall"] == pytest.approx(recall_score(y, predicted), abs=1e-5)
    assert m["test_auc"] == pytest.approx(roc_auc_score(y, out), abs=0.02)  # Keras bins the curve
    assert m["test_accuracy"] == pytest.approx(np.mean(predicted == y), abs=1e-6)


@pytest.mark.parametrize(("metrics", "message"), [
    (["accuracy", "f2"], r"training.metrics\[1\]: unknown metric 'f2'; choose from auto, accuracy"),
    (["mae"], r"training.metrics\[0\]: mae measures a regression, but xor is a classification dataset"),
    (["top_5_accuracy"], r"top_5_accuracy needs more than 5 classes; xor has 2"),
])
def test_bad_metrics_are_refused_before_a_run_starts(xor, tmp_path, metrics, message):
    events = []
    with pytest.raises(TrainingError, match=message):
        train(net(2, 1, "sigmoid"), xor, {"epochs": 1, "metrics": metrics}, emit=events.append, run_base=tmp_path)
    assert [type(e) for e in events] == [Failed]
    assert not any(tmp_path.iterdir()), "no run folder for a refused start"


def test_classifier_metrics_on_regression_and_precision_on_ten_classes_are_refused(sine, digits):
    with pytest.raises(TrainingError, match=r"accuracy measures a classifier, but sine is a regression dataset: "
                                            r"choose mae, mse, rmse, mape, r2 or auto"):
        train(net(1, 1, "linear"), sine, {"epochs": 1, "metrics": ["accuracy", "mae"]})
    # ["accuracy"] alone was the default before metrics could be chosen: old regression
    # projects still train, with the automatic regression metric
    assert set(train(net(1, 1, "linear"), sine, {"epochs": 1, "metrics": ["accuracy"]}).history) == {"loss", "mae"}
    with pytest.raises(TrainingError, match=r"precision needs a binary classifier.*digits has 10 classes"):
        train(net(64, 10, "softmax"), digits, {"epochs": 1, "metrics": ["precision"]})


def test_no_metrics_trains_with_the_loss_alone(xor):
    result = train(net(2, 1, "sigmoid"), xor, {"epochs": 1, "metrics": []})
    assert set(result.history) == {"loss"}
