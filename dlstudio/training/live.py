"""Live views of a training in progress: Keras callbacks that emit small events.

They run on the training thread (``engine.train(callbacks=...)``) and never
touch Qt; the GUI receives their events with the engine's own.

- :class:`BoundaryProbe`: the decision boundary of a classifier of 2-D points
  (xor, spirals, circles, moons, blobs), as in TensorFlow Playground: the class
  probabilities over a grid, as an image, at most every ``min_interval``
  seconds (at a batch's or an epoch's end) and once more when training ends.
- gradient flow: :class:`dlstudio.training.step_gradients.StepGradientFlow`, the gradients
  the training step applies, recorded inside the step; where it cannot record (mixed
  precision, a distribution), :class:`LiveGradientFlow`, the gradients on a batch of the
  training data with its labels prepared for the compiled loss.
- :class:`WeightsProbe`: the model's weights at each epoch's end, only while
  ``wanted()`` says someone looks (the insight panel's "refresh while training").

:func:`live_callbacks` makes the ones a training asks for.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np

from dlstudio.training.events import BoundaryFrame, WeightsSnapshot
from dlstudio.training.gradients import GradientFlow

Emit = Callable[[object], None]

#: Grid points per side of a live boundary image (72² points: a few ms per frame).
BOUNDARY_RESOLUTION = 72
#: At most one boundary frame per this many seconds of training.
BOUNDARY_INTERVAL = 0.25
#: Training points drawn on the boundary (a random subset beyond this).
BOUNDARY_POINTS = 600
#: Epochs of at least this many batches get boundary frames inside them too (shorter ones are
#: done in a few compiled calls: a frame at each epoch's end shows them as well).
BATCH_FRAMES_FROM = 1000


def _sync_state(model: Any) -> None:
    """On JAX, ``fit`` keeps the weights outside the model's variables between
    epochs; a callback that reads them mid-epoch must put them back first."""
    sync = getattr(model, "jax_state_sync", None)
    if callable(sync):
        sync()


def boundary_applies(dataset: Any) -> bool:
    """Whether a dataset's samples are 2-D points of a classification task."""
    x = getattr(dataset, "x_train", None)
    return (getattr(dataset, "task", None) == "classification" and x is not None and np.ndim(x) == 2
            and np.shape(x)[1] == 2)


def boundary_ranges(points: np.ndarray, margin: float = 0.15) -> tuple[tuple[float, float], tuple[float, float]]:
    """The plotted area: the points' bounding box grown by ``margin`` of its size."""
    p = np.asarray(points, np.float64)
    lo, hi = p.min(axis=0), p.max(axis=0)
    pad = (hi - lo) * margin + 1e-6
    return (float(lo[0] - pad[0]), float(hi[0] + pad[0])), (float(lo[1] - pad[1]), float(hi[1] + pad[1]))


class BoundaryProbe(keras.callbacks.Callback):
    """Emits a :class:`~dlstudio.training.events.BoundaryFrame` before training,
    at epoch ends at most every ``min_interval`` seconds, and when training ends.
    ``x`` are 2-D points (the training split), ``y`` their class ids.

    It has no per-batch hook, so the engine may still run several steps per
    compiled call (a small model's fast path); :class:`BatchBoundaryProbe` also
    looks at batch ends, for epochs long enough to want frames inside them."""

    def __init__(self, x: Any, y: Any, emit: Emit, class_names: tuple[str, ...] = (),
                 resolution: int = BOUNDARY_RESOLUTION, min_interval: float = BOUNDARY_INTERVAL,
                 max_points: int = BOUNDARY_POINTS, seed: int = 0):
        super().__init__()
        x = np.asarray(x, np.float32)
        if x.ndim != 2 or x.shape[1] != 2 or not len(x):
            raise ValueError(f"a live decision boundary needs 2-D points; got samples of shape {x.shape[1:]}")
        y = np.asarray(y).reshape(len(x), -1)
        y = (y.argmax(axis=1) if y.shape[1] > 1 else y[:, 0]).astype(np.int64)  # one-hot rows -> ids
        self.x_range, self.y_range = boundary_ranges(x)
        if len(x) > max_points:
            keep = np.sort(np.random.default_rng(seed).choice(len(x), max_points, replace=False))
            x, y = x[keep], y[keep]
        self.points, self.labels = x, y
        for a in (self.points, self.labels):
            a.setflags(write=False)  # shared by every frame
        self.class_names = tuple(str(c) for c in class_names)
        self.emit, self.resolution, self.min_interval = emit, int(resolution), float(min_interval)
        self.frames = 0
        self.epoch = 1
        self.step = 0
        self._last = -np.inf
        self._last_step = -1
        self._epochs_seen = 0
        self._grid: np.ndarray | None = None  # the (resolution², 2) points, row 0 at the lowest y

    def frame(self, at_epoch_end: bool) -> BoundaryFrame:
        """The frame for the model's current weights (emits nothing). The grid goes through
        the model's compiled predict step: 10x cheaper than an eager call (3 ms against 40 ms
        for 72² points on a small MLP), and it holds the GIL far less while the GUI draws."""
        from dlstudio.compile.outputs import output_is_probability, to_probabilities
        from dlstudio.training.evaluate import boundary_image

        if self._grid is None:
            n = self.resolution
            gx, gy = np.meshgrid(np.linspace(*self.x_range, n), np.linspace(*self.y_range, n))
            self._grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
        out = np.asarray(self.model.predict_on_batch(self._grid))
        probs = to_probabilities(out, output_is_probability(self.model))
        image = boundary_image(probs.reshape(self.resolution, self.resolution, -1))
        return BoundaryFrame(self.epoch, self.step, image, self.x_range, self.y_range, self.points, self.labels,
                             self.class_names, at_epoch_end)

    def _maybe_emit(self, at_epoch_end: bool, force: bool = False) -> None:
        now = time.perf_counter()
        if self.step == self._last_step or (not force and now - self._last < self.min_interval):
            return
        _sync_state(self.model)
        self.emit(self.frame(at_epoch_end))
        self.frames += 1
        self._last, self._last_step = time.perf_counter(), self.step

    def on_train_begin(self, logs=None):
        self._maybe_emit(True, force=True)  # the untrained (or continued) starting point

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch + 1

    def on_epoch_end(self, epoch, logs=None):
        self._epochs_seen += 1
        self.step = max(self.step, self._epochs_seen * int((self.params or {}).get("steps") or 0))
        self._maybe_emit(True)

    def on_train_end(self, logs=None):
        self._maybe_emit(True, force=True)


class BatchBoundaryProbe(BoundaryProbe):
    """:class:`BoundaryProbe` that also takes frames at batch ends (throttled the same way).
    Keras calls the hook once per compiled call of several steps, with the last step's index:
    the engine keeps its several steps per call (``batch_hooks_per_call``)."""

    batch_hooks_per_call = True

    def on_train_batch_end(self, batch, logs=None):
        steps = int((self.params or {}).get("steps") or 0)
        self.step = max(self.step + 1, self._epochs_seen * steps + int(batch) + 1)
        self._maybe_emit(False)


class LiveGradientFlow(GradientFlow):
    """:class:`GradientFlow` on the first ``max_samples`` training samples, their
    labels converted for the loss the engine compiled (one-hot or ids), and the
    JAX state synced before measuring."""

    def __init__(self, x: Any, y: Any, num_classes: int, emit: Emit, every_n_batches: int = 10,
                 max_samples: int = 64):
        super().__init__(x, y, every_n_batches=every_n_batches, emit=emit, max_samples=max_samples)
        self.num_classes = int(num_classes)

    def on_train_begin(self, logs=None):
        if self.num_classes:
            from dlstudio.data.prepare import labels_for_loss

            self.sample_y = labels_for_loss(self.sample_y, self.model.loss, self.num_classes)
        self._plan = None

    def on_train_batch_end(self, batch, logs=None):
        if self.step % self.every_n_batches == 0:
            _sync_state(self.model)
        super().on_train_batch_end(batch, logs)


class WeightsProbe(keras.callbacks.Callback):
    """At each epoch's end, emits a :class:`~dlstudio.training.events.WeightsSnapshot`
    when ``wanted()`` is true (read on the training thread: a ``threading.Event``'s
    ``is_set`` is the usual choice)."""

    def __init__(self, emit: Emit, wanted: Callable[[], bool] = lambda: True):
        super().__init__()
        self.emit, self.wanted = emit, wanted
        self.snapshots = 0

    def on_epoch_end(self, epoch, logs=None):
        if self.wanted():
            self.emit(WeightsSnapshot(epoch + 1, tuple(np.array(w, copy=True) for w in self.model.get_weights())))
            self.snapshots += 1


@dataclass(frozen=True)
class LiveOptions:
    """Which live views a training feeds.

    ``boundary``: the decision boundary (2-D classification data only; ignored
    elsewhere). ``gradient_flow``: the per-layer gradient magnitudes every
    ``gradient_every`` batches. ``weights_wanted``: called at each epoch's end;
    a snapshot of the weights is emitted when it returns True (None: never).
    """

    boundary: bool = True
    boundary_interval: float = BOUNDARY_INTERVAL
    #: frames inside epochs too (True), at epoch ends only (False), or None: inside epochs
    #: when an epoch has at least ``BATCH_FRAMES_FROM`` batches
    boundary_every_batch: bool | None = None
    gradient_flow: bool = False
    gradient_every: int = 10
    weights_wanted: Callable[[], bool] | None = None
    #: text samples / translations of text data and forecasts of time series, with these
    #: ``sequence_callbacks.SampleSettings`` (None: none)
    sequences: Any = None


def live_callbacks(dataset: Any, emit: Emit, options: LiveOptions, seed: int = 0, batch_size: int = 32) -> list:
    """The callbacks for ``options`` on ``dataset`` (called on the training thread)."""
    callbacks: list = []
    if options.boundary and boundary_applies(dataset):
        per_batch = options.boundary_every_batch
        if per_batch is None:
            per_batch = len(dataset.x_train) / max(1, int(batch_size)) >= BATCH_FRAMES_FROM
        probe = BatchBoundaryProbe if per_batch else BoundaryProbe
        callbacks.append(probe(dataset.x_train, dataset.y_train, emit, tuple(dataset.class_names or ()),
                               min_interval=options.boundary_interval, seed=seed))
    if options.gradient_flow and len(dataset.x_train):
        classes = dataset.num_classes if dataset.task == "classification" else 0
        from dlstudio.training.step_gradients import StepGradientFlow

        fixed_batch = LiveGradientFlow(dataset.x_train, dataset.y_train, classes, emit,
                                       every_n_batches=options.gradient_every)
        callbacks.append(StepGradientFlow(emit, options.gradient_every, fallback=fixed_batch))
    if options.weights_wanted is not None:
        callbacks.append(WeightsProbe(emit, options.weights_wanted))
    if options.sequences is not None:
        from dlstudio.training.sequence_callbacks import sequence_callbacks

        callbacks.extend(sequence_callbacks(dataset, emit, options.sequences))
    return callbacks
