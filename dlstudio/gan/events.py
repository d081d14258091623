"""Events of a GAN training, beside the ordinary ones (Started, EpochEnd,
Finished, Failed from :mod:`dlstudio.training.events`, which it emits too)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class GanStep:
    """One generator update (after ``d_steps`` discriminator updates)."""

    epoch: int  # 1-based
    step: int  # 1-based over the whole run (continued runs go on counting)
    d_loss: float  # the discriminator's loss on this step's real and fake batch
    g_loss: float  # the generator's loss
    d_real: float  # mean D(x) on the real batch (1: "real" for sure)
    d_fake: float  # mean D(G(z)) on the fake batch, before the generator's update


@dataclass(frozen=True, eq=False)
class GanSamples:
    """What the generator makes of the fixed noise at ``step`` (0: before training).

    ``picture`` is a uint8 RGB array: the sample grid (images) or real and
    generated points drawn together (2-D data), None for samples that have no
    picture (rows of a table); ``samples`` the raw generated
    data in display units (images in [0, 1], points as they are); ``path`` the
    PNG saved in the run folder (None without a run).
    """

    step: int
    epoch: int
    picture: Any  # (H, W, 3) uint8, or None
    samples: Any  # (n, ...) float32
    path: str | None = None
