from __future__ import annotations

import pytest
from project_samples import cnn_dict


@pytest.fixture
def sample() -> dict:
    return cnn_dict()
