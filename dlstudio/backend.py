"""The one place that knows about the Keras backend (TensorFlow by default).

``load_keras()`` imports Keras once, quietly: TensorFlow's C++ start-up lines
("Could not find cuda drivers", absl warnings) go to the null device instead
of the user's terminal, and the devices are listed while they are silenced.
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
from typing import Iterator


@contextlib.contextmanager
def silenced_stderr() -> Iterator[None]:
    """Send file descriptor 2 (where C++ libraries log) to the null device."""
    try:
        fd = sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):  # no real stderr (pytest capture, GUI)
        yield
        return
    sys.stderr.flush()
    saved = os.dup(fd)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), fd)
            yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


@functools.cache
def load_keras():
    """Import Keras (and its backend) once; returns the ``keras`` module."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with silenced_stderr():
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            _enough_inter_op_threads(tf)
            tf.config.list_physical_devices()
            tf.get_logger().setLevel("ERROR")
    return keras


#: TensorFlow's pool for running independent ops in parallel is as large as the machine's core
#: count by default (2 on a small machine). The app runs TensorFlow from several threads at once
#: (a training, the panels' pool jobs, previews); functions that block in that pool while the
#: others wait for it can deadlock when it has fewer threads than callers. Four at least.
MIN_INTER_OP_THREADS = 4


def _enough_inter_op_threads(tf) -> None:
    try:
        if tf.config.threading.get_inter_op_parallelism_threads() == 0:  # 0: TensorFlow's default
            tf.config.threading.set_inter_op_parallelism_threads(max(MIN_INTER_OP_THREADS, os.cpu_count() or 1))
    except RuntimeError:  # the runtime was already started (by the caller): too late to change
        pass


def backend_name() -> str:
    return load_keras().backend.backend()


def list_devices() -> list[str]:
    """Device names a user can pick: "cpu" and "gpu:0", "gpu:1", ..."""
    keras = load_keras()
    names = ["cpu"]
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        names += [f"gpu:{i}" for i, _ in enumerate(tf.config.list_physical_devices("GPU"))]
    elif keras.backend.backend() == "jax":
        import jax

        try:
            names += [f"gpu:{i}" for i, _ in enumerate(jax.devices("gpu"))]
        except RuntimeError:  # no GPU backend
            pass
    return names


@contextlib.contextmanager
def device_scope(device: str = "auto") -> Iterator[None]:
    """Run Keras work on ``device`` ("auto", "cpu", "gpu:N"); auto lets the backend choose."""
    if device in ("auto", "", None):
        yield
        return
    if device not in list_devices():
        raise ValueError(f"device {device!r} is not available here; available: {', '.join(list_devices())}")
    keras = load_keras()
    kind, _, index = device.partition(":")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        with tf.device(f"/{kind.upper()}:{index or 0}"):
            yield
    elif keras.backend.backend() == "jax":
        import jax

        with jax.default_device(jax.devices(kind)[int(index or 0)]):
            yield
    else:
        yield


def model_device(model) -> str:
    """Where a built model's weights live, in the names of :func:`list_devices`
    ("cpu", "gpu:0", ...; several joined by "+"): the device training really uses."""
    names = set()
    for v in getattr(model, "weights", [])[:8]:
        value = getattr(v, "value", v)
        if hasattr(value, "devices"):  # a jax.Array
            devices = [(d.platform, d.id) for d in value.devices()]
        else:  # a TensorFlow variable: '/job:localhost/replica:0/task:0/device:GPU:0'
            text = str(getattr(value, "device", "") or "").rsplit("device:", 1)[-1]
            kind, _, index = text.partition(":")
            devices = [(kind.lower(), int(index or 0))] if kind else []
        for platform, index in devices:
            names.add("cpu" if platform == "cpu" else f"gpu:{index}")
    return "+".join(sorted(names)) or "cpu"
