"""GAN training without threads: the step directions, events, runs, stop, continue, NaN."""

from __future__ import annotations

import math

import numpy as np
import pytest
from gan_samples import tiny_gan

from dlstudio.gan import losses
from dlstudio.gan.events import GanSamples, GanStep
from dlstudio.gan.project import gan_pair
from dlstudio.gan.sampling import fixed_noise, generate, latent_noise, mode_coverage
from dlstudio.gan.steps import make_steps
from dlstudio.gan.train import (
    DISCRIMINATOR_WEIGHTS,
    GENERATOR_WEIGHTS,
    load_generator,
    saved_samples,
    train_gan,
)
from dlstudio.runs import open_run
from dlstudio.training.engine import TrainingError
from dlstudio.training.events import EpochEnd, Failed, Finished, Started


def _models(project, seed=0):
    import keras

    from dlstudio.compile import build_model

    keras.utils.set_random_seed(seed)
    pair = gan_pair(project)
    return pair, build_model(pair.generator), build_model(pair.discriminator)


def _d_loss(D, G, real, z, from_logits):
    from keras import ops

    return float(ops.convert_to_numpy(losses.discriminator_loss(D(real), D(G(z)), from_logits)))


@pytest.mark.parametrize("d_activation", ["linear", "sigmoid"])
def test_one_step_moves_each_network_the_right_way(ring_data, d_activation):
    import keras

    project = tiny_gan(d_activation=d_activation)
    pair, G, D = _models(project)
    from_logits = not pair.d_gives_probability
    assert from_logits == (d_activation == "linear")
    steps = make_steps(G, D, keras.optimizers.Adam(0.01), keras.optimizers.Adam(0.01), from_logits=from_logits)
    real = ring_data.x_train[:64]
    z = latent_noise(64, 4, 0)
    g_before, d_before = G.get_weights(), D.get_weights()

    loss_before = _d_loss(D, G, real, z, from_logits)
    d_loss, d_real, d_fake = steps.d_step(real, z)
    assert d_loss == pytest.approx(loss_before, rel=1e-4)  # the step reports the loss it descended
    assert 0 < d_real < 1 and 0 < d_fake < 1
    assert _d_loss(D, G, real, z, from_logits) < loss_before  # D got better at this batch
    assert any(not np.allclose(a, b) for a, b in zip(D.get_weights(), d_before))
    assert all(np.array_equal(a, b) for a, b in zip(G.get_weights(), g_before))  # G untouched

    def d_of_fakes():
        out = np.asarray(D(G(z)))
        return float((1 / (1 + np.exp(-out)) if from_logits else out).mean())

    fooled_before, d_after_d_step = d_of_fakes(), D.get_weights()
    steps.g_step(z)
    assert d_of_fakes() > fooled_before  # G's fakes now look more real to D
    assert all(np.array_equal(a, b) for a, b in zip(D.get_weights(), d_after_d_step))  # D untouched
    assert any(not np.allclose(a, b) for a, b in zip(G.get_weights(), g_before))


def test_losses_non_saturating_and_minimax_and_smoothing():
    from keras import ops

    fooled = ops.convert_to_tensor(np.full((4, 1), -4.0, np.float32))  # D sure these are fake
    ns = float(ops.convert_to_numpy(losses.generator_loss(fooled, True)))
    mm = float(ops.convert_to_numpy(losses.generator_loss(fooled, True, "minimax")))
    assert ns == pytest.approx(-math.log(1 / (1 + math.exp(4))), rel=1e-4)  # -log D(G(z)): large
    assert mm == pytest.approx(math.log(1 - 1 / (1 + math.exp(4))), rel=1e-3)  # log(1 - D(G(z))): flat near 0
    sure_real = ops.convert_to_tensor(np.full((4, 1), 6.0, np.float32))
    plain = float(ops.convert_to_numpy(losses.discriminator_loss(sure_real, fooled, True)))
    smooth = float(ops.convert_to_numpy(losses.discriminator_loss(sure_real, fooled, True, 0.1)))
    assert smooth > plain  # one-sided smoothing punishes over-confidence on real data


def test_fixed_noise_and_grid_are_deterministic(ring_data):
    project = tiny_gan()
    assert np.array_equal(fixed_noise(project.gan, 16), fixed_noise(project.gan, 16))
    project.gan.seed = 1
    assert not np.array_equal(fixed_noise(project.gan, 16), fixed_noise(tiny_gan().gan, 16))
    a = train_gan(tiny_gan(epochs=1), ring_data)
    b = train_gan(tiny_gan(epochs=1), ring_data)
    assert np.array_equal(a.samples[0].picture, b.samples[0].picture)
    assert np.allclose(a.samples[-1].samples, b.samples[-1].samples, atol=1e-5)


def test_training_emits_events_and_records_a_run(tmp_path, ring_data):
    events = []
    result = train_gan(tiny_gan(epochs=2), ring_data, events.append, run_base=tmp_path)
    kinds = [type(e) for e in events]
    assert kinds[0] is Started and kinds[-1] is Finished
    steps = [e for e in events if isinstance(e, GanStep)]
    per_epoch = len(ring_data.x_train) // 64
    assert [s.step for s in steps] == list(range(1, 2 * per_epoch + 1))
    assert sum(isinstance(e, EpochEnd) for e in events) == 2
    grids = [e for e in events if isinstance(e, GanSamples)]
    assert [g.step for g in grids] == [0, 10, 20]  # before training, every 10 steps, the last step
    assert grids[0].picture.dtype == np.uint8 and grids[0].picture.ndim == 3
    run = open_run(result.run.path)
    assert run.info["kind"] == "gan" and run.status == "finished" and run.info["steps_done"] == 20
    assert (run.path / GENERATOR_WEIGHTS).is_file() and (run.path / DISCRIMINATOR_WEIGHTS).is_file()
    assert [s for s, _ in saved_samples(run.path)] == [0, 10, 20]
    assert set(run.history()) == {"d_loss", "g_loss", "d_real", "d_fake"} and len(run.history()["d_loss"]) == 2
    assert "modes_covered" in result.metrics


def test_stop_continue_and_sampling_from_a_run(tmp_path, ring_data):
    project = tiny_gan(epochs=3)
    calls = []
    first = train_gan(project, ring_data, run_base=tmp_path, should_stop=lambda: calls.append(1) or len(calls) >= 5)
    assert first.stopped and first.steps == 5
    assert open_run(first.run.path).status == "stopped"
    events = []
    more = train_gan(project, ring_data, events.append, run_base=tmp_path, start_from=first.run.path)
    assert more.run.info["continued_from"] == first.run.id
    assert len(more.history["d_loss"]) == 1 + 3 and more.steps == 5 + 3 * (len(ring_data.x_train) // 64)
    assert next(e for e in events if isinstance(e, GanStep)).step == 6
    generator, pair = load_generator(project, open_run(more.run.path))
    z = fixed_noise(pair.settings, 8)
    assert np.allclose(generate(generator, z), generate(more.generator, z), atol=1e-5)


def test_nan_stops_with_a_message_naming_the_step(tmp_path, ring_data):
    from dataclasses import replace

    bad = ring_data.x_train.copy()
    bad[:] = np.nan
    project = tiny_gan()
    discriminator = project.graphs["discriminator"]
    for node in discriminator.nodes:  # TensorFlow's CPU relu turns NaN into 0; tanh passes it on
        if node.params.get("activation") == "relu":
            discriminator.set_param(node.id, "activation", "tanh")
    events = []
    with pytest.raises(TrainingError, match="at step 1 "):
        train_gan(project, replace(ring_data, x_train=bad), events.append, run_base=tmp_path)
    failed = events[-1]
    assert isinstance(failed, Failed) and "discriminator loss became nan" in failed.message
    assert "lower learning rates" in failed.message
    [run] = [open_run(p) for p in tmp_path.iterdir()]
    assert run.status == "failed" and "step 1 " in run.info["error"]
    assert run.info["steps_done"] == 0 and run.info["epochs_done"] == 0  # the last good state: the start


def test_wrong_data_or_broken_graph_fail_before_training(ring_data):
    from dlstudio.data import load_dataset

    events = []
    with pytest.raises(TrainingError, match=r"digits gives \(batch, 8, 8, 1\)"):
        train_gan(tiny_gan(), load_dataset("digits"), events.append)
    assert isinstance(events[-1], Failed)
    project = tiny_gan()
    project.gan.latent_dim = 5
    with pytest.raises(TrainingError, match="GAN has problems"):
        train_gan(project, ring_data)


@pytest.mark.slow
def test_a_few_hundred_steps_cover_several_modes_of_the_ring():
    """The short version of benchmarks/gan.py's ring figure (the template, fewer epochs)."""
    from dlstudio import RESOURCES
    from dlstudio.data import load_dataset
    from dlstudio.project import load_project

    project = load_project(RESOURCES / "examples" / "mlp_gan_ring.dlsproj")
    project.training.epochs = 40  # 480 steps
    data = load_dataset(project.dataset.name, project.dataset.options, seed=0)
    result = train_gan(project, data)
    centres, std = np.asarray(data.meta["centres"]), data.meta["std"]
    before = mode_coverage(result.samples[0].samples, centres, std)
    after = mode_coverage(result.samples[-1].samples, centres, std)
    assert after.covered >= 4 and after.covered > before.covered, (before, after)
    assert result.metrics["modes_covered"] == after.covered
    # the discriminator's view (GAN Lab's background): the ring looks more real to D than its empty middle
    from dlstudio.gan.sampling import discriminator_field, field_extent

    lo, hi = field_extent(data.x_train)
    field = discriminator_field(result.discriminator, lo, hi, from_logits=True, n=81)
    assert field.shape == (81, 81) and 0 <= field.min() <= field.max() <= 1
    rows = np.rint((hi[1] - centres[:, 1]) / (hi[1] - lo[1]) * 80).astype(int)
    cols = np.rint((centres[:, 0] - lo[0]) / (hi[0] - lo[0]) * 80).astype(int)
    assert field[rows, cols].mean() > field[40, 40] + 0.1
    picture = result.samples[-1].picture
    assert picture.shape == (480, 480, 3)


def test_a_gan_on_table_rows_trains_without_pictures(tmp_path):
    """Iris rows (4 features) have no picture: training still runs and records its samples' steps."""
    from gan_samples import mlp

    from dlstudio.data import load_dataset

    project = tiny_gan(epochs=1)
    project.graph = mlp([16, 4], 4, name="z")
    project.graphs["discriminator"] = mlp([16, 1], 4, name="row")
    data = load_dataset("iris", {"standardize": True})
    events = []
    result = train_gan(project, data, events.append, run_base=tmp_path)
    grids = [e for e in events if isinstance(e, GanSamples)]
    assert grids and all(g.picture is None and g.path is None for g in grids)
    assert grids[-1].samples.shape == (64, 4)
    assert result.run.status == "finished" and saved_samples(result.run.path) == []
