"""GAN training: one plain function for the GUI (on a worker thread) and the CLI.

``train_gan(project, dataset, emit, should_stop)`` alternates ``d_steps``
discriminator updates and one generator update per batch, with separate
optimizers (``gan`` settings) and the losses of :mod:`dlstudio.gan.losses`.
Epochs, batch size and seed come from the project's ``training`` settings.

It emits the ordinary events (Started, EpochEnd with the epoch means of
d_loss, g_loss, d_real and d_fake, Finished or Failed) plus a ``GanStep`` per
step and a ``GanSamples`` every ``sample_every`` steps (and before the first
and after the last step). A run folder (``create_run``) holds run.json,
history.json, both networks' weights and every sample picture
(``samples/step_0000100.png``), so the GUI's slider can scrub back and
``dlstudio sample`` can draw from the trained generator.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from dlstudio.bounded import load_weights
from dlstudio.gan.events import GanSamples, GanStep
from dlstudio.gan.project import GanError, dataset_problem, gan_pair
from dlstudio.runs.store import GENERATOR_WEIGHTS_FILE
from dlstudio.gan.sampling import (
    fixed_count,
    fixed_noise,
    generate,
    is_image,
    is_points,
    latent_noise,
    sample_picture,
    to_model_units,
)
from dlstudio.training.events import EpochEnd, Failed, Finished, Started

Emit = Callable[[object], None]

GENERATOR_WEIGHTS = GENERATOR_WEIGHTS_FILE
DISCRIMINATOR_WEIGHTS = "discriminator.weights.h5"
SAMPLES_DIR = "samples"
METRICS = ("d_loss", "g_loss", "d_real", "d_fake")


def sample_path(run_path: str | Path, step: int) -> Path:
    return Path(run_path) / SAMPLES_DIR / f"step_{step:07d}.png"


def saved_samples(run_path: str | Path) -> list[tuple[int, Path]]:
    """The sample pictures of a run, (step, path) in step order."""
    folder = Path(run_path) / SAMPLES_DIR
    out = []
    for p in folder.glob("step_*.png") if folder.is_dir() else ():
        try:
            out.append((int(p.stem[5:]), p))
        except ValueError:
            continue
    return sorted(out)


@dataclass
class GanResult:
    generator: Any
    discriminator: Any
    history: dict[str, list[float]]
    metrics: dict[str, float]
    run: Any = None
    stopped: bool = False
    steps: int = 0
    samples: list[GanSamples] = field(default_factory=list)


def _optimizer(name: str, learning_rate: float, beta_1: float) -> Any:
    from dlstudio.training.engine import make_optimizer

    opt = make_optimizer({"optimizer": name, "learning_rate": learning_rate})
    if hasattr(opt, "beta_1"):
        opt.beta_1 = beta_1
    return opt


def _fail(emit: Emit, run: Any, message: str, problems: list[str] | None = None):
    from dlstudio.training.engine import TrainingError

    if run is not None:
        try:
            run.update(status="failed", error=message)
        except OSError:  # a full disk: the record stays "running" and reads as interrupted
            pass
    emit(Failed(message, tuple(problems or ())))
    return TrainingError(message, problems)


def train_gan(project: Any, dataset: Any, emit: Emit = lambda e: None,
              should_stop: Callable[[], bool] = lambda: False, *, settings: Any = None,
              run_base: str | Path | None = None, run_info: dict[str, Any] | None = None,
              start_from: str | Path | None = None, checkpoint_seconds: float = 30.0) -> GanResult:
    """Train the GAN of ``project`` on ``dataset``; raises TrainingError (after a
    Failed event) when it cannot start or fails. ``settings`` overrides the
    project's training settings (epochs, batch size, seed); ``start_from`` is a
    run whose weights, epochs and steps this training continues (a new run)."""
    import keras

    from dlstudio.runs import create_run, open_run

    settings = settings if settings is not None else project.training
    gan = project.gan
    try:
        pair = gan_pair(project)
    except GanError as exc:
        raise _fail(emit, None, str(exc)) from None
    if pair.errors:
        raise _fail(emit, None, "the GAN has problems, so training did not start", [str(p) for p in pair.errors])
    problem = dataset_problem(pair, dataset)
    if problem:
        raise _fail(emit, None, problem)
    previous = open_run(start_from) if start_from else None
    keras.utils.set_random_seed(int(settings.seed))
    run = None
    if run_base is not None:
        run = create_run(run_base, {
            "status": "running", "kind": "gan", "dataset": dataset.name, "settings": settings.model_dump(),
            "gan": gan.model_dump(), "generator_graph": pair.generator.to_dict(),
            "discriminator_graph": pair.discriminator.to_dict(), "backend": keras.backend.backend(),
            **({"continued_from": previous.id} if previous else {}), **(run_info or {}),
        })
    try:
        return _Loop(pair, dataset, settings, emit, should_stop, run, previous, checkpoint_seconds).run()
    except Exception as exc:
        from dlstudio.training.engine import TrainingError

        if isinstance(exc, TrainingError):
            raise
        if isinstance(exc, OSError):  # the run folder could not be written (a full disk, ...)
            from dlstudio.errors import user_message

            raise _fail(emit, run, f"GAN training stopped: {user_message(exc)}") from exc
        first = str(exc).splitlines()[0] if str(exc) else ""
        raise _fail(emit, run, f"GAN training failed: {type(exc).__name__}: {first}") from exc


class _Loop:
    """The state of one GAN training (kept together so the loop reads top to bottom)."""

    def __init__(self, pair, dataset, settings, emit, should_stop, run, previous, checkpoint_seconds):
        from dlstudio.compile import build_model

        self.pair, self.gan, self.dataset = pair, pair.settings, dataset
        self.emit, self.should_stop, self.run_folder = emit, should_stop, run
        self.checkpoint_seconds = checkpoint_seconds
        self.G = build_model(pair.generator, pair.g_analysis, name="generator")
        self.D = build_model(pair.discriminator, pair.d_analysis, name="discriminator")
        self.history: dict[str, list[float]] = {k: [] for k in METRICS}
        self.first_epoch, self.step = 0, 0
        if previous is not None:
            load_weights(self.G, previous.path / GENERATOR_WEIGHTS)
            load_weights(self.D, previous.path / DISCRIMINATOR_WEIGHTS)
            self.history.update({k: list(v) for k, v in previous.history().items() if k in METRICS})
            self.first_epoch = int(previous.info.get("epochs_done", 0))
            self.step = int(previous.info.get("steps_done", 0))
        self.real = to_model_units(dataset.x_train, pair.output_range)
        self.batch_size = max(1, min(int(settings.batch_size), len(self.real)))
        self.steps_per_epoch = max(1, len(self.real) // self.batch_size)  # equal batches: one trace
        self.epochs = int(settings.epochs)
        self.rng = np.random.default_rng(int(settings.seed))
        self.fixed_z = fixed_noise(self.gan, fixed_count(self.gan, pair.sample_shape or ()))
        self.drawable = is_image(pair.sample_shape) or is_points(pair.sample_shape)
        self.real_points = dataset.x_train[:2000] if is_points(pair.sample_shape) else None
        if self.real_points is not None:
            from dlstudio.gan.sampling import field_extent

            self.field_window = field_extent(self.real_points)
        from dlstudio.gan.steps import make_steps

        g_opt = _optimizer(self.gan.g_optimizer, self.gan.g_learning_rate, self.gan.beta_1)
        d_opt = _optimizer(self.gan.d_optimizer, self.gan.d_learning_rate, self.gan.beta_1)
        self.steps = make_steps(self.G, self.D, g_opt, d_opt, from_logits=not pair.d_gives_probability,
                                loss=self.gan.loss, label_smoothing=self.gan.label_smoothing)
        self.samples: list[GanSamples] = []
        self.good = (self.G.get_weights(), self.D.get_weights())
        self.good_step = self.step
        self.last_save = -math.inf

    @property
    def last_epoch(self) -> int:
        return self.first_epoch + self.epochs

    def noise(self) -> np.ndarray:
        return latent_noise(self.batch_size, self.gan.latent_dim, self.rng, self.gan.latent_distribution)

    def run(self) -> GanResult:
        import keras

        run = self.run_folder
        self.emit(Started(self.last_epoch, self.steps_per_epoch, len(self.real), keras.backend.backend(),
                          str(run.path) if run else None))
        self.take_samples(self.first_epoch)
        stopped = False
        epoch = self.first_epoch
        for epoch in range(self.first_epoch + 1, self.last_epoch + 1):
            t0 = time.perf_counter()
            sums = dict.fromkeys(METRICS, 0.0)
            order = self.rng.permutation(len(self.real))
            done = 0
            for b in range(self.steps_per_epoch):
                real = self.real[order[b * self.batch_size:(b + 1) * self.batch_size]]
                for _ in range(self.gan.d_steps):
                    d_loss, d_real, d_fake = self.steps.d_step(real, self.noise())
                g_loss = self.steps.g_step(self.noise())
                self.step += 1
                done += 1
                values = {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}
                if not all(math.isfinite(v) for v in values.values()):
                    raise self.diverged(epoch, values)
                for k, v in values.items():
                    sums[k] += v
                self.emit(GanStep(epoch, self.step, d_loss, g_loss, d_real, d_fake))
                if self.step % self.gan.sample_every == 0:
                    self.take_samples(epoch)
                if self.should_stop():
                    stopped = True
                    break
            self.end_epoch(epoch, {k: v / done for k, v in sums.items()}, time.perf_counter() - t0, done)
            if stopped:
                break
        if not self.samples or self.samples[-1].step != self.step:
            self.take_samples(epoch)
        return self.finish(stopped)

    def end_epoch(self, epoch: int, means: dict[str, float], seconds: float, steps: int) -> None:
        self.steps.sync()  # the models hold the weights of the last step (JAX keeps them apart)
        for k, v in means.items():
            self.history[k].append(v)
        self.good = (self.G.get_weights(), self.D.get_weights())
        self.good_step = self.step
        self.emit(EpochEnd(epoch, self.last_epoch, dict(means), seconds,
                           steps * self.batch_size / seconds if seconds > 0 else 0.0, self.gan.g_learning_rate))
        if self.run_folder is not None:
            self.run_folder.write_history(self.history)
            if time.monotonic() - self.last_save >= self.checkpoint_seconds:
                self.save(epoch)

    def save(self, epoch: int) -> None:
        """Both networks' weights through the one writer, then run.json (never before them)."""
        from dlstudio.atomic import write_file

        run = self.run_folder
        write_file(run.path / GENERATOR_WEIGHTS, self.G.save_weights)
        write_file(run.path / DISCRIMINATOR_WEIGHTS, self.D.save_weights)
        run.update(epochs_done=epoch, steps_done=self.step)
        self.last_save = time.monotonic()

    def take_samples(self, epoch: int) -> GanSamples:
        from dlstudio.data.grid import save_png

        self.steps.sync()
        samples = generate(self.G, self.fixed_z, self.pair.output_range)
        picture = path = None
        if self.real_points is not None:  # 2-D: the points over the discriminator's view (as GAN Lab)
            from dlstudio.gan.sampling import discriminator_field, discriminator_picture

            lo, hi = self.field_window
            field = discriminator_field(self.D, lo, hi, from_logits=not self.pair.d_gives_probability)
            picture = discriminator_picture(field, lo, hi, self.real_points, samples)
        elif self.drawable:  # images; other samples (table rows) have no picture
            picture = sample_picture(samples, columns=self.gan.grid_size)
        if self.run_folder is not None and picture is not None:
            target = sample_path(self.run_folder.path, self.step)
            target.parent.mkdir(exist_ok=True)
            path = str(save_png(picture, target))
        event = GanSamples(self.step, epoch, picture, samples, path)
        self.samples.append(event)
        self.emit(event)
        return event

    def diverged(self, epoch: int, values: dict[str, float]):
        bad = next(k for k, v in values.items() if not math.isfinite(v))
        what = {"d_loss": "discriminator loss", "g_loss": "generator loss"}.get(bad, bad)
        self.G.set_weights(self.good[0])
        self.D.set_weights(self.good[1])
        message = (f"the {what} became {values[bad]} at step {self.step} (epoch {epoch}); training stopped "
                   "and the weights of the last good epoch were kept (try lower learning rates)")
        if self.run_folder is not None:  # the last good epoch, so that a continued run starts from it
            bad_step, self.step = self.step, self.good_step
            self.save(epoch - 1)
            self.step = bad_step
        return _fail(self.emit, self.run_folder, message)

    def metrics(self) -> dict[str, float]:
        from dlstudio.gan.sampling import mode_coverage

        metrics = {k: v[-1] for k, v in self.history.items() if v}
        centres = self.dataset.meta.get("centres")
        if centres is not None and self.samples:
            cov = mode_coverage(self.samples[-1].samples, np.asarray(centres), float(self.dataset.meta["std"]))
            metrics.update(modes_covered=float(cov.covered), good_points=cov.good_share)
        return metrics

    def finish(self, stopped: bool) -> GanResult:
        run = self.run_folder
        epochs_done = len(self.history["d_loss"])
        metrics = self.metrics()
        if run is not None:
            self.save(epochs_done)
            run.write_history(self.history)
            run.update(status="stopped" if stopped else "finished", metrics=metrics)
        self.emit(Finished(metrics, epochs_done, stopped, str(run.path) if run else None, self.history))
        return GanResult(self.G, self.D, self.history, metrics, run, stopped, self.step, self.samples)


def load_generator(project: Any, run: Any) -> tuple[Any, Any]:
    """The trained generator of a GAN run and its pair (for sampling): built from
    the generator graph the run recorded (the project's when it recorded none)."""
    from dlstudio.compile import build_model
    from dlstudio.graph import Graph

    weights = Path(run.path) / GENERATOR_WEIGHTS
    if run.info.get("kind") != "gan" or not weights.is_file():
        raise GanError(f"run {run.id} is not a trained GAN run (no {GENERATOR_WEIGHTS} in it)")
    pair = gan_pair(project)
    recorded = run.info.get("generator_graph")
    graph = Graph.from_dict(recorded) if isinstance(recorded, dict) else pair.generator
    if recorded is not None:
        from dlstudio.compile import analyze
        from dlstudio.project.schema import GanSettings

        pair.generator, pair.g_analysis = graph, analyze(graph)
        if isinstance(run.info.get("gan"), dict):
            from pydantic import ValidationError

            from dlstudio.runs.record import located

            try:
                pair.settings = GanSettings.model_validate(run.info["gan"])
            except ValidationError as exc:  # a damaged or hand-edited run.json
                raise GanError(located(exc, f"{run.path / 'run.json'}: gan")) from None
    generator = build_model(graph, name="generator")
    load_weights(generator, weights)
    return generator, pair
