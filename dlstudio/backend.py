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

            tf.config.list_physical_devices()
            tf.get_logger().setLevel("ERROR")
    return keras


def backend_name() -> str:
    return load_keras().backend.backend()
