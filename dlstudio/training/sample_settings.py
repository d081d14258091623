"""What the live text sampler writes: prompt, temperature, length, seed, on or off.

Kept apart from :mod:`dlstudio.training.sequence_callbacks` (which imports
Keras) so the GUI can hold and change the settings without importing Keras
at start-up.
"""

from __future__ import annotations

import threading
from typing import Any

#: Language models: tokens written at each sampled epoch's end.
SAMPLE_LENGTH = 160


class SampleSettings:
    """Prompt, temperature, length and seed of the samples; thread-safe, so the GUI can
    change them while a training thread reads them."""

    def __init__(self, prompt: str = "", temperature: float = 0.5, length: int = SAMPLE_LENGTH, seed: int = 0,
                 enabled: bool = True):
        self._lock = threading.Lock()
        self._values = {"prompt": prompt, "temperature": float(temperature), "length": int(length),
                        "seed": int(seed), "enabled": bool(enabled)}

    def update(self, **values: Any) -> None:
        unknown = set(values) - set(self._values)
        if unknown:
            raise KeyError(f"unknown sample setting(s): {', '.join(sorted(unknown))}")
        with self._lock:
            self._values.update(values)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._values)
