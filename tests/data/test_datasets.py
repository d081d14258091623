import numpy as np
import pytest

from dlstudio.data import DatasetError, list_datasets, load_dataset


def test_digits_images_scaled_and_split_with_seed():
    d = load_dataset("digits")
    assert d.input_shape == (8, 8, 1)
    assert d.x_train.dtype == np.float32 and 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    assert len(d.x_train) + len(d.x_test) == 1797
    assert len(d.x_test) == pytest.approx(1797 * 0.2, abs=1)
    assert d.num_classes == 10 and set(np.unique(d.y_test)) == set(range(10))
    again = load_dataset("digits")
    np.testing.assert_array_equal(d.y_test, again.y_test)
    other = load_dataset("digits", seed=1)
    assert not np.array_equal(d.y_test, other.y_test)


def test_digits_flatten_option():
    assert load_dataset("digits", {"flatten": True}).input_shape == (64,)


@pytest.mark.parametrize("name", ["spirals", "xor"])
def test_toy_sets_are_balanced_two_class_points(name):
    d = load_dataset(name, {"samples": 400})
    assert d.input_shape == (2,)
    assert d.num_classes == 2
    counts = np.bincount(np.concatenate([d.y_train, d.y_test]))
    assert abs(int(counts[0]) - int(counts[1])) < 80


def test_xor_is_not_linearly_separable():
    from sklearn.linear_model import LogisticRegression

    d = load_dataset("xor", {"samples": 800, "noise": 0.1})
    acc = LogisticRegression().fit(d.x_train, d.y_train).score(d.x_test, d.y_test)
    assert acc < 0.8  # a line gets at most three of the four corners right


@pytest.mark.parametrize("name,options,match", [
    ("digits", {"test_fraction": 1.5}, "test_fraction"),
    ("spirals", {"samples": "many"}, "samples"),
    ("spirals", {"noise": float("nan")}, "noise"),
    ("xor", {"samples": 3}, "samples"),
    ("digits", {"flatten": 1}, "flatten"),
])
def test_bad_options_name_the_option(name, options, match):
    with pytest.raises(DatasetError, match=match):
        load_dataset(name, options)


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DatasetError, match="unknown dataset 'mnistt'.*digits"):
        load_dataset("mnistt")
    assert {"digits", "spirals", "xor"} <= {s.name for s in list_datasets()}
