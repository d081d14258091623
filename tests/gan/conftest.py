"""Fixtures of the GAN tests (helpers and paths are in gan_samples.py)."""

from __future__ import annotations

import copy
import json

import pytest
from gan_samples import DCGAN


@pytest.fixture
def ring_data():
    from dlstudio.data import load_dataset

    return load_dataset("ring", {"samples": 800}, seed=0)


@pytest.fixture
def dcgan_dict() -> dict:
    return copy.deepcopy(json.loads(DCGAN.read_text(encoding="utf-8")))
