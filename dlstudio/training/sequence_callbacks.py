"""Live views of sequence models while they train: Keras callbacks that emit
events at the end of an epoch (on the training thread, never touching Qt).

- :class:`TextSampler`: a language model's text from a prompt at the current
  temperature (:class:`SampleSettings`, which the GUI may change while the
  training runs), or a seq2seq model's greedy translations of a few test inputs
  -> :class:`~dlstudio.training.events.TextSample`.
- :class:`ForecastProbe`: a time-series model's forecast of the test part,
  at most every ``min_interval`` seconds and after the last epoch
  -> :class:`~dlstudio.training.events.ForecastFrame`.

:func:`sequence_callbacks` makes the ones that apply to a dataset.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import keras

from dlstudio.training.events import ForecastFrame, TextSample
from dlstudio.training.sample_settings import SampleSettings

__all__ = ["ForecastProbe", "SampleSettings", "TextSampler", "sequence_callbacks"]

Emit = Callable[[object], None]

#: Seq2seq: test inputs translated at each epoch's end.
TRANSLATIONS = 8


def _sync_state(model: Any) -> None:
    sync = getattr(model, "jax_state_sync", None)  # JAX keeps fit's weights outside the model mid-fit
    if callable(sync):
        sync()


class TextSampler(keras.callbacks.Callback):
    """At an epoch's end: generated text (language model) or translations (seq2seq).

    Sampling costs a model call per token, which for a tiny model with
    sub-second epochs would take longer than the training itself; so an epoch
    is sampled only when the time since the last sample is at least
    ``budget_ratio`` times what that sample took (every epoch when epochs are
    long), and the last epoch always is.
    """

    def __init__(self, info: Any, emit: Emit, settings: SampleSettings | None = None,
                 targets: tuple[str, ...] = (), budget_ratio: float = 4.0):
        super().__init__()
        self.info, self.emit = info, emit
        self.settings = settings or SampleSettings(info.default_prompt)
        self.targets = tuple(targets)
        self.budget_ratio = float(budget_ratio)
        self.samples = 0
        self.error: str | None = None
        self._cost = 0.0  # seconds the last sample took
        self._done_at = -float("inf")
        self._epoch = 0
        self._sampled_epoch = 0

    def sample(self, epoch: int) -> TextSample:
        from dlstudio.inference.text_generation import generate, translate

        s = self.settings.snapshot()
        t0 = time.perf_counter()
        if self.info.is_translation:
            sources = list(self.info.examples[:TRANSLATIONS]) or [self.info.default_prompt]
            outputs = translate(self.model, self.info, sources)
            truths = list(self.targets[:len(sources)]) + [""] * (len(sources) - len(self.targets))
            return TextSample(epoch, "", 0.0, "", tuple(zip(sources, outputs, truths)), time.perf_counter() - t0)
        prompt = s["prompt"] or self.info.default_prompt
        text = generate(self.model, self.info, prompt, s["length"], s["temperature"], s["seed"])
        return TextSample(epoch, prompt, s["temperature"], text, (), time.perf_counter() - t0)

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch + 1
        if time.perf_counter() - self._done_at >= self.budget_ratio * self._cost:
            self._send(self._epoch)

    def on_train_end(self, logs=None):
        if self._epoch and self._sampled_epoch != self._epoch:
            self._send(self._epoch)

    def _send(self, epoch: int) -> None:
        from dlstudio.inference.text_generation import GenerationError

        if not self.settings.snapshot()["enabled"]:
            return
        _sync_state(self.model)
        t0 = time.perf_counter()
        try:
            self.emit(self.sample(epoch))
        except GenerationError as exc:  # a bad prompt: said once in the panel, training goes on
            if str(exc) != self.error:
                self.error = str(exc)
                self.emit(TextSample(epoch, self.settings.snapshot()["prompt"], 0.0, f"({exc})"))
            return
        finally:
            self._done_at = time.perf_counter()
            self._cost = self._done_at - t0
            self._sampled_epoch = epoch
        self.error = None
        self.samples += 1


class ForecastProbe(keras.callbacks.Callback):
    """A forecast of the test part at most every ``min_interval`` seconds (at an epoch's end)
    and after the last epoch."""

    def __init__(self, dataset: Any, emit: Emit, min_interval: float = 1.0, free_steps: int = 200):
        super().__init__()
        self.dataset, self.emit = dataset, emit
        self.min_interval, self.free_steps = float(min_interval), int(free_steps)
        self.frames = 0
        self._last = -float("inf")
        self._epoch = 0
        self._sent_epoch = 0

    def _send(self, epoch: int) -> None:
        from dlstudio.inference.forecast import forecast

        _sync_state(self.model)
        self.emit(ForecastFrame(epoch, forecast(self.model, self.dataset, free_steps=self.free_steps)))
        self.frames += 1
        self._sent_epoch = epoch
        self._last = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self._epoch = epoch + 1
        if time.perf_counter() - self._last >= self.min_interval:
            self._send(self._epoch)

    def on_train_end(self, logs=None):
        if self._epoch and self._sent_epoch != self._epoch:
            self._send(self._epoch)


def sequence_callbacks(dataset: Any, emit: Emit, settings: SampleSettings | None = None,
                       forecast_interval: float = 1.0, sample_budget: float = 4.0) -> list:
    """The live callbacks that apply to ``dataset``: a TextSampler for language-model and
    translation datasets, a ForecastProbe for time series split in time; none otherwise."""
    from dlstudio.inference.forecast import ForecastError, series_parts
    from dlstudio.inference.text_generation import GenerationError, text_model_info

    try:
        info = text_model_info(dataset)
    except GenerationError:
        info = None
    if info is not None:
        targets = tuple(dataset.meta.get("targets") or ()) if info.is_translation else ()
        return [TextSampler(info, emit, settings, targets, sample_budget)]
    try:
        series_parts(dataset)
    except ForecastError:
        return []
    return [ForecastProbe(dataset, emit, forecast_interval)]
