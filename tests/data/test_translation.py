"""The translation dataset: correct pairs, the teacher-forcing layout, options."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from dlstudio.data import DatasetError, load_dataset
from dlstudio.data.text import decode
from dlstudio.data.translation import START


def test_dates_are_translated_correctly():
    d = load_dataset("translation", {"task": "dates", "samples": 300}, seed=2)
    assert d.meta["source_length"] == 10 and d.meta["target_length"] == 11
    for source, target in zip(d.meta["sources"], d.meta["targets"]):
        assert dt.date.fromisoformat(source).strftime("%d %b %Y") == target
    assert len(set(d.meta["sources"])) == len(d.meta["sources"])  # distinct dates


def test_teacher_forcing_layout_of_x_and_y():
    d = load_dataset("translation", {"task": "dates", "samples": 200}, seed=0)
    s, t = 10, 11
    assert d.x_train.shape == (180, s + t) and d.y_train.shape == (180, t) and d.x_train.dtype == np.int64
    start = d.vocabulary.index(START)
    assert d.vocabulary[0] == START
    np.testing.assert_array_equal(d.x_train[:, s], start)
    np.testing.assert_array_equal(d.x_train[:, s + 1:], d.y_train[:, :-1])  # the target shifted right
    for x, y, source, target in zip(d.x_test, d.y_test, d.meta["sources"], d.meta["targets"]):
        assert decode(x[:s], d.vocabulary) == source and decode(y, d.vocabulary) == target
    assert d.num_classes == len(d.vocabulary) and d.meta["encoding"] == "ids"


def test_reverse_task():
    d = load_dataset("translation", {"task": "reverse", "samples": 100, "digits": 7}, seed=1)
    assert d.x_train.shape[1] == 14 and d.y_train.shape[1] == 7
    for source, target in zip(d.meta["sources"], d.meta["targets"]):
        assert len(source) == 7 and source.isdigit() and target == source[::-1]
    assert d.vocabulary == [START, *"0123456789"]


def test_seeded_and_options_checked():
    a = load_dataset("translation", {"samples": 100}, seed=5)
    b = load_dataset("translation", {"samples": 100}, seed=5)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    with pytest.raises(DatasetError, match="only 36525 different dates"):
        load_dataset("translation", {"samples": 40_000})
    with pytest.raises(DatasetError, match="task"):
        load_dataset("translation", {"task": "french"})
