"""Adversarial attacks, robustness curves (dlstudio.insight) and adversarial training (dlstudio.training.adversarial)."""

from __future__ import annotations

import json

import keras
import numpy as np
import pytest

from dlstudio import RESOURCES
from dlstudio.data import load_dataset
from dlstudio.inference.input_gradients import (
    cross_entropy,
    has_logits,
    input_gradient,
    model_logits,
)
from dlstudio.inference.perturbation import AttackError, perturb_batch, project
from dlstudio.insight.attacks import (
    METHODS,
    attack,
    deepfool,
    fgsm,
    pgd,
    predict_proba,
)
from dlstudio.insight.robustness import (
    attack_samples,
    perturbation_image,
    robustness_curve,
    robustness_curves,
    run_label,
    successful_examples,
    top_k,
)
from dlstudio.project import load_project
from dlstudio.runs import valid_range
from dlstudio.training.engine import train

EXAMPLE = RESOURCES / "examples" / "adversarial_digits.dlsproj"


# ------------------------------------------------------------------ a linear softmax model, by hand


def _linear(activation: str | None = "softmax", seed: int = 1) -> keras.Model:
    keras.utils.set_random_seed(seed)
    inp = keras.Input((6,))
    model = keras.Model(inp, keras.layers.Dense(4, activation=activation)(inp))
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(0, 1.5, (6, 4)).astype("float32"), rng.normal(0, 0.5, 4).astype("float32")])
    return model


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


@pytest.mark.parametrize("activation", ["softmax", None])
def test_fgsm_on_a_linear_softmax_model_is_eps_times_the_sign_of_the_hand_gradient(activation):
    model = _linear(activation)
    rng = np.random.default_rng(0)
    x = rng.uniform(0.2, 0.8, (32, 6)).astype("float32")
    y = rng.integers(0, 4, 32)
    w, b = model.get_weights()
    grad = (_softmax(x @ w + b) - np.eye(4)[y]) @ w.T  # d CE / d x of softmax(x W + b)
    eps = 0.1
    expected = np.clip(x + eps * np.sign(grad), 0, 1)
    np.testing.assert_allclose(fgsm(model, x, y, eps), expected, atol=1e-6)
    # the gradient itself, with the logits seen behind the softmax
    np.testing.assert_allclose(input_gradient(model, x, y, cross_entropy(True), logits=True), grad,
                               rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(model_logits(model, x), x @ w + b, rtol=1e-5, atol=1e-5)
    assert has_logits(model) == (activation == "softmax")


def test_targeted_fgsm_on_a_linear_model_steps_down_the_targets_loss():
    model = _linear()
    x = np.full((5, 6), 0.5, "float32")
    w, b = model.get_weights()
    grad = (_softmax(x @ w + b) - np.eye(4)[[2] * 5]) @ w.T
    np.testing.assert_allclose(fgsm(model, x, None, 0.05, targeted=True, target=2),
                               x - 0.05 * np.sign(grad), atol=1e-6)


def test_fgsm_follows_the_exact_gradient_sign_of_a_very_confident_model():
    model = _linear()
    w, b = model.get_weights()
    x = (0.5 + np.random.default_rng(0).uniform(-0.01, 0.01, (8, 6))).astype("float32")
    z = np.sort(x @ w, axis=1)
    w = w * (30 / (z[:, -1] - z[:, -2]).min())  # top-2 logit margins of 30 or more: p = 1 - 1e-13
    model.set_weights([w, b * 0])
    y = np.asarray(model(x)).argmax(1)
    # d CE / d x = sum_k p_k (w_k - w_y): no 1 - p_y, which is 0 even in float64 here
    zd = x.astype(np.float64) @ w
    rows = np.arange(len(x))
    e = np.exp(zd - zd[rows, y][:, None])
    p = e / e.sum(axis=1, keepdims=True)
    exact = np.einsum("nk,nkd->nd", p, w.T[None] - w.T[y][:, None])
    np.testing.assert_allclose(fgsm(model, x, y, 0.1, clip=None), x + 0.1 * np.sign(exact), atol=1e-6)


def test_saliency_gradient_of_the_predicted_class_score():
    model = _linear(activation=None)
    x = np.random.default_rng(3).uniform(0, 1, (4, 6)).astype("float32")
    w, _ = model.get_weights()
    pred = predict_proba(model, x).argmax(1)
    np.testing.assert_allclose(input_gradient(model, x), w[:, pred].T, rtol=1e-5)
    np.testing.assert_allclose(input_gradient(model, x, 1), np.tile(w[:, 1], (4, 1)), rtol=1e-5)


def test_bad_arguments_raise_attack_errors():
    model = _linear()
    x = np.zeros((2, 6), "float32")
    with pytest.raises(AttackError, match="eps"):
        fgsm(model, x, [0, 1], -0.1)
    with pytest.raises(AttackError, match="target"):
        pgd(model, x, [0, 1], 0.1, targeted=True)
    with pytest.raises(AttackError, match="unknown attack"):
        attack(model, x, [0, 1], "carlini", 0.1)
    with pytest.raises(AttackError, match="steps"):
        pgd(model, x, [0, 1], 0.1, steps=0)


# ------------------------------------------------------------------ trained digits CNNs


def _example(epochs: int, adversarial: str = "none"):
    project = load_project(EXAMPLE)
    dataset = load_dataset(project.dataset.name, project.dataset.options, seed=0)
    settings = project.training.model_copy(update={"epochs": epochs, "adversarial": adversarial})
    return project, dataset, settings


@pytest.fixture(scope="module")
def normal():
    """The adversarial digits example (28x28 CNN), trained briefly."""
    project, dataset, settings = _example(3)
    return train(project.graph, dataset, settings).model, dataset


@pytest.fixture(scope="module")
def hardened(tmp_path_factory):
    """The same, trained with FGSM examples mixed into every batch, recorded in a run."""
    project, dataset, settings = _example(3, "fgsm")
    events = []
    result = train(project.graph, dataset, settings, emit=events.append,
                   run_base=tmp_path_factory.mktemp("adv") / "p.runs")
    return result, dataset, events


def _acc(model, x, y):
    return float((predict_proba(model, x).argmax(1) == y).mean())


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("targeted", [False, True])
def test_every_attack_stays_in_the_eps_ball_and_the_valid_range(normal, method, targeted):
    if method == "deepfool" and targeted:
        pytest.skip("DeepFool is untargeted")
    model, ds = normal
    x, y = ds.x_test[:40], ds.y_test[:40]
    eps = 0.07
    x_adv = attack(model, x, y, method, eps, targeted=targeted, target=3 if targeted else None, steps=4)
    assert x_adv.shape == x.shape and x_adv.dtype == np.float32
    assert np.abs(x_adv - x).max() <= eps + 1e-6
    assert x_adv.min() >= 0.0 and x_adv.max() <= 1.0
    assert np.abs(x_adv - x).max() > 0.5 * eps  # it did move


def test_projection_keeps_the_ball_even_for_inputs_outside_the_range():
    x = np.array([[-0.5, 0.5, 1.5]], "float32")
    out = project(x + 0.3, x, 0.1, (0, 1))
    assert np.abs(out - x).max() <= 0.1 + 1e-6
    assert project(x + 0.3, x, 0.1, None)[0, 1] == pytest.approx(0.6)
    assert valid_range(np.array([0.0, 1.0])) == (0.0, 1.0) and valid_range(np.array([-2.0, 3.0])) == (-2.0, 3.0)


def test_attacks_on_the_undefended_cnn_work_and_pgd_is_at_least_as_strong_as_fgsm(normal):
    model, ds = normal
    x, y = ds.x_test, ds.y_test
    clean = _acc(model, x, y)
    at_fgsm = _acc(model, fgsm(model, x, y, 0.1), y)
    at_pgd = _acc(model, pgd(model, x, y, 0.1, steps=10), y)
    assert clean >= 0.85
    assert at_fgsm <= clean - 0.3  # the benchmark (15 epochs) reaches < 0.40
    assert at_pgd <= at_fgsm + 0.01
    assert _acc(model, fgsm(model, x, y, 0.2), y) < at_fgsm  # more eps, less accuracy


def test_targeted_attacks_move_toward_the_target(normal):
    model, ds = normal
    target = 7
    x = ds.x_test[ds.y_test != target][:60]
    before = predict_proba(model, x)[:, target]
    after = predict_proba(model, fgsm(model, x, None, 0.1, targeted=True, target=target))[:, target]
    assert (after > before).mean() >= 0.9 and after.mean() > 2 * before.mean()
    after_pgd = predict_proba(model, pgd(model, x, None, 0.1, targeted=True, target=target))
    assert after_pgd[:, target].mean() > after.mean()
    assert (after_pgd.argmax(1) == target).mean() > (predict_proba(model, x).argmax(1) == target).mean() + 0.08
    strong = pgd(model, x, None, 0.3, steps=20, targeted=True, target=target)
    assert (predict_proba(model, strong).argmax(1) == target).mean() > 0.8


def test_deepfool_finds_small_perturbations_that_flip_the_prediction(normal):
    model, ds = normal
    x = ds.x_test[:20]
    pred = predict_proba(model, x).argmax(1)
    x_adv = deepfool(model, x)
    assert (predict_proba(model, x_adv).argmax(1) != pred).mean() >= 0.9
    l2 = np.sqrt(((x_adv - x) ** 2).reshape(len(x), -1).sum(1))
    assert np.median(l2) < 4.0  # of sqrt(784) = 28 for a full flip of every pixel


def test_robustness_curves_start_at_the_clean_accuracy_and_fall(normal):
    model, ds = normal
    x, y = ds.x_test[:120], ds.y_test[:120]
    seen = []
    curves = robustness_curves(model, x, y, ("fgsm", "pgd"), [0.2, 0.0, 0.1], label="r", progress=seen.append,
                               steps=5)
    assert [c.method for c in curves] == ["fgsm", "pgd"]
    for c in curves:
        assert c.eps == (0.0, 0.1, 0.2) and c.n == 120 and c.complete and c.label == "r"
        assert c.at(0.0) == pytest.approx(_acc(model, x, y))
        assert c.accuracy[0] >= c.accuracy[1] >= c.accuracy[2]
        json.dumps(c.to_dict())
    assert seen[-1] == pytest.approx(1.0) and seen == sorted(seen)
    stopped = robustness_curve(model, x, y, "fgsm", [0, 0.1, 0.2], should_stop=lambda: len(seen) > 6,
                               progress=seen.append)
    assert not stopped.complete and len(stopped.eps) < 3


def test_attack_samples_gallery_and_top_k(normal):
    model, ds = normal
    x, y = ds.x_test[:80], ds.y_test[:80]
    result = attack_samples(model, x, y, "pgd", 0.15, class_names=ds.class_names)
    assert result.probs_before.shape == (80, 10) and np.allclose(result.probs_after.sum(1), 1, atol=1e-4)
    np.testing.assert_allclose(result.perturbation, result.adversarial - x)
    gallery = successful_examples(result=result, limit=5)
    assert 0 < len(gallery) <= 5
    confidences = [e.adv_confidence for e in gallery]
    assert confidences == sorted(confidences, reverse=True)
    for e in gallery:
        assert e.label == y[e.index] == e.clean_pred != e.adv_pred
        assert e.original.shape == (28, 28, 1) and np.abs(e.perturbation).max() <= 0.15 + 1e-6
        assert e.caption().startswith(f"{e.label}\u2192{e.adv_pred} ")
    ranked = top_k(result.probs_before[:2], 3, ds.class_names)
    assert len(ranked) == 2 and len(ranked[0]) == 3 and ranked[0][0][1] >= ranked[0][1][1] >= ranked[0][2][1]
    img = perturbation_image(result.perturbation[0], 0.15)
    assert img.shape == (28, 28, 3) and img.dtype == np.uint8
    assert tuple(perturbation_image(np.zeros((2, 2, 1)))[0, 0]) == (247, 247, 247)  # 0 is white
    assert attack_samples(model, x[:3], y[:3], "fgsm", 0.0).perturbation.max() == 0


# ------------------------------------------------------------------ adversarial training


def test_adversarial_training_runs_records_and_hardens(normal, hardened):
    result, ds, events = hardened
    run = result.run
    info = json.loads((run.path / "run.json").read_text())
    assert info["status"] == "finished"
    assert info["settings"]["adversarial"] == "fgsm" and info["settings"]["adversarial_eps"] == 0.1
    assert run_label(run).endswith("(FGSM-trained, eps 0.1)")
    assert (run.path / "model.weights.h5").is_file() and len(result.history["loss"]) == 3
    batch_losses = [e.loss for e in events if type(e).__name__ == "BatchEnd"]
    assert len(batch_losses) == 3 * 41 and all(np.isfinite(batch_losses))

    from dlstudio.runs import load_run_model

    model = load_run_model(run)  # the recorded weights load into the plain graph
    x, y = ds.x_test, ds.y_test
    assert _acc(model, x, y) >= 0.85
    plain, _ = normal
    gain = _acc(model, fgsm(model, x, y, 0.1), y) - _acc(plain, fgsm(plain, x, y, 0.1), y)
    assert gain >= 0.15  # the benchmark (15 epochs) shows about +50 points


def test_the_training_hook_replaces_the_ratio_of_each_batch():
    from dlstudio.training.adversarial import install_adversarial_training, training_loss

    model = _linear()
    model.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    x = np.full((8, 6), 0.5, "float32")
    y = np.arange(8) % 4
    mixed = np.asarray(perturb_batch(model, x, y, "pgd", 0.1, 0.5, (0, 1), training_loss(model)))
    changed = np.abs(mixed - x).max(axis=1)
    assert np.all(changed[:4] > 0.09) and np.all(changed[4:] == 0) and changed.max() <= 0.1 + 1e-6
    np.testing.assert_allclose(mixed[:4], pgd(model, x[:4], y[:4], 0.1, steps=5, step_size=0.05,
                                              random_start=False), atol=1e-6)
    with pytest.raises(AttackError):
        install_adversarial_training(model, "deepfool", 0.1)
    install_adversarial_training(model, "fgsm", 0.1, 1.0)
    model.fit(x, y, epochs=1, verbose=0)  # one-hot or not, the step traces and runs


def test_schema_validates_the_adversarial_settings():
    from pydantic import ValidationError

    from dlstudio.project import TrainingSettings

    s = TrainingSettings()
    assert (s.adversarial, s.adversarial_eps, s.adversarial_ratio) == ("none", 0.1, 0.5)
    for bad in ({"adversarial": "cw"}, {"adversarial_eps": 0.0}, {"adversarial_eps": 1.5},
                {"adversarial_ratio": 1.2}):
        with pytest.raises(ValidationError):
            TrainingSettings(**bad)


def test_adversarial_training_refuses_a_regression_task():
    from dlstudio.graph import Graph
    from dlstudio.training.engine import TrainingError

    ds = load_dataset("sine", {}, seed=0)
    g = Graph()
    i = g.add_node("Input", {"shape": list(ds.input_shape)}, name="x")
    d = g.add_node("Dense", {"units": ds.target_shape[-1]}, name="y")
    g.connect(i.id, d.id)
    with pytest.raises(TrainingError, match="adversarial training needs a classifier"):
        train(g, ds, {"epochs": 1, "adversarial": "fgsm"})
