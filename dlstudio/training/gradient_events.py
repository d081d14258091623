"""The event the gradient-flow callback emits (kept apart from events.py)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GradientFlow:
    """Mean absolute gradient of each trainable layer's kernel on a fixed batch.

    ``layers[i]`` is a layer name (the graph node's name), ``magnitudes[i]`` the
    mean of |d loss / d kernel| over that kernel's entries, input side first.
    """

    step: int  # 0-based training step (batch) over the whole run
    layers: tuple[str, ...]
    magnitudes: tuple[float, ...]
