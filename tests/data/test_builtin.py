"""The built-in datasets: every offline set loads with its defaults, as documented, and
deterministically; specific checks per set; keras.datasets without ever downloading."""

import numpy as np
import pytest

from dlstudio.data import DatasetError, get_dataset_spec, list_datasets, load_dataset

KINDS = {"image", "points", "table", "series", "text"}
OFFLINE = sorted(s.name for s in list_datasets()
                 if s.offline and not any(o.kind == "path" for o in s.options))  # file loaders need a path
DOWNLOADS = ["mnist", "fashion_mnist", "cifar10", "cifar100", "imdb"]
TOTALS = {"digits": 1797, "iris": 150, "wine": 178, "breast_cancer": 569}


def test_the_built_in_sets_are_registered():
    names = {s.name for s in list_datasets()}
    expected = {"digits", "shapes", "spirals", "xor", "circles", "moons", "blobs", "sine", "polynomial",
                "apartments", "iris", "wine", "breast_cancer", "sine_series", "text_corpus", "hello"}
    assert expected <= set(OFFLINE)
    assert set(DOWNLOADS) <= names
    assert not any(get_dataset_spec(n).offline for n in DOWNLOADS)


@pytest.fixture(scope="module")
def defaults():
    return {name: load_dataset(name) for name in OFFLINE}


@pytest.mark.parametrize("name", OFFLINE)
def test_loads_with_defaults_as_documented(name, defaults):
    spec, d = get_dataset_spec(name), defaults[name]
    assert spec.title and len(spec.description) > 20
    assert d.name == name and d.kind in KINDS and d.task in ("classification", "regression")
    assert d.description
    for x, y in ((d.x_train, d.y_train), (d.x_test, d.y_test)):
        assert len(x) == len(y) > 0
        assert x.dtype == (np.int64 if d.kind == "text" else np.float32)
        assert np.isfinite(x).all()
        if d.task == "classification":
            assert y.dtype == np.int64 and y.ndim == (2 if "target_length" in d.meta else 1)  # seq2seq: per step
            assert 0 <= y.min() and y.max() < d.num_classes
        else:
            assert y.dtype == np.float32 and y.ndim == 2 and np.isfinite(y).all()
            assert d.class_names == []
    assert d.x_train.shape[1:] == d.x_test.shape[1:] and d.y_train.shape[1:] == d.y_test.shape[1:]
    if d.kind == "image":
        assert d.x_train.ndim == 4 and d.x_train.shape[-1] in (1, 3)
        assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    if d.kind == "points":
        assert d.input_shape == (2,) and d.feature_names == ["x1", "x2"]
    if d.kind == "table":
        assert len(d.feature_names) == d.x_train.shape[1]
    if d.kind == "series":
        assert d.x_train.ndim == 3
    if d.kind == "text":
        assert d.vocabulary and d.x_train.max() < len(d.vocabulary)
    total = len(d.x_train) + len(d.x_test)
    if name in TOTALS:
        assert total == TOTALS[name]
    elif "samples" in spec.defaults():
        assert total == spec.defaults()["samples"]
    if "test_fraction" in spec.defaults() and d.kind != "series":
        assert len(d.x_test) == pytest.approx(total * spec.defaults()["test_fraction"], abs=1)


@pytest.mark.parametrize("name", OFFLINE)
def test_deterministic_for_a_seed(name, defaults):
    d, again, other = defaults[name], load_dataset(name), load_dataset(name, seed=3)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(d, field), getattr(again, field))
    assert not (np.array_equal(d.x_train, other.x_train) and np.array_equal(d.y_train, other.y_train))


@pytest.mark.parametrize("name,options,match", [
    ("digits", {"size": 64}, "size"),
    ("shapes", {"samples": 10**9}, "samples"),
    ("shapes", {"size": 30}, "size"),
    ("shapes", {"noise": -0.1}, "noise"),
    ("shapes", {"colour": "yes"}, "colour"),
    ("blobs", {"classes": 9}, "classes"),
    ("blobs", {"classes": 8, "samples": 40}, "samples"),
    ("circles", {"factor": 1.5}, "factor"),
    ("polynomial", {"degree": 50}, "degree"),
    ("apartments", {"samples": 5}, "samples"),
    ("iris", {"standardize": "no"}, "standardize"),
    ("sine_series", {"window": 0}, "window"),
    ("sine_series", {"horizon": 1000}, "horizon"),
    ("sine_series", {"length": 60, "window": 50}, "length"),
    ("text_corpus", {"window": 10**6}, "window"),
    ("text_corpus", {"step": 0}, "step"),
    ("hello", {"window": 5}, "window"),
    ("hello", {"word": "x"}, "word"),
    ("imdb", {"maxlen": 0}, "maxlen"),
    ("cifar100", {"label_mode": "medium"}, "label_mode"),
])
def test_absurd_options_are_refused_by_name(name, options, match):
    with pytest.raises(DatasetError, match=match):
        load_dataset(name, options)


# --- images -------------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [16, 28])
def test_digits_upscaled_smoothly_and_kept_in_range(size):
    d = load_dataset("digits", {"size": size})
    assert d.input_shape == (size, size, 1)
    assert 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0 and d.x_train.max() > 0.9
    small = load_dataset("digits")
    np.testing.assert_array_equal(d.y_test, small.y_test)  # the same split
    # each upscaled image still looks like its 8x8 original: shrink it back and compare
    from scipy.ndimage import zoom

    shrunk = zoom(d.x_test[:50, :, :, 0], (1, 8 / size, 8 / size), order=1, grid_mode=True, mode="nearest")
    assert np.abs(shrunk - small.x_test[:50, :, :, 0]).mean() < 0.1
    assert load_dataset("digits", {"size": size, "flatten": True}).input_shape == (size * size,)


def _shape_features(x):
    """Fill ratio of the shape's bounding circle: pi for circles, 2 for squares, 1.3 for triangles."""
    mask = x.mean(-1) > 0.5
    n, s, _ = mask.shape
    yy, xx = np.mgrid[0:s, 0:s]
    area = mask.sum((1, 2))
    cy, cx = (mask * yy).sum((1, 2)) / area, (mask * xx).sum((1, 2)) / area
    r2 = np.where(mask, (yy - cy[:, None, None]) ** 2 + (xx - cx[:, None, None]) ** 2, 0).max((1, 2))
    return (area / r2)[:, None]


def test_shapes_are_balanced_and_visually_distinct(defaults):
    from sklearn.neighbors import NearestCentroid

    d = defaults["shapes"]
    assert d.class_names == ["circle", "square", "triangle"] and d.input_shape == (28, 28, 1)
    counts = np.bincount(np.concatenate([d.y_train, d.y_test]))
    assert counts.max() - counts.min() <= 1
    clf = NearestCentroid().fit(_shape_features(d.x_train), d.y_train)
    assert clf.score(_shape_features(d.x_test), d.y_test) > 0.8


def test_shapes_colour_and_size_options():
    d = load_dataset("shapes", {"samples": 90, "size": 32, "colour": True, "noise": 0.0, "rotation": False})
    assert d.input_shape == (32, 32, 3)
    assert np.ptp(d.x_train, axis=-1).max() > 0.1  # really coloured, not grey copied thrice
    grey = load_dataset("shapes", {"samples": 90, "noise": 0.0})
    assert set(np.unique(grey.x_train[:, 0, 0, 0])) == {0.0}  # a clean black background


# --- toy and regression ---------------------------------------------------------------------------

def test_blobs_classes_option_and_separable_with_little_noise():
    from sklearn.linear_model import LogisticRegression

    d = load_dataset("blobs", {"classes": 6, "noise": 0.1})
    assert d.num_classes == 6 and set(np.unique(d.y_train)) == set(range(6))
    assert LogisticRegression().fit(d.x_train, d.y_train).score(d.x_test, d.y_test) > 0.95


def test_circles_need_a_radius_feature(defaults):
    from sklearn.linear_model import LogisticRegression

    d = defaults["circles"]
    line = LogisticRegression().fit(d.x_train, d.y_train).score(d.x_test, d.y_test)
    r2 = lambda x: (x ** 2).sum(1, keepdims=True)  # noqa: E731
    ring = LogisticRegression().fit(r2(d.x_train), d.y_train).score(r2(d.x_test), d.y_test)
    assert line < 0.75 < 0.95 < ring


def test_moons_two_classes_centred(defaults):
    d = defaults["moons"]
    assert d.num_classes == 2 and np.abs(d.x_train.mean(0)).max() < 0.3


def _r2(features, d):
    from sklearn.linear_model import LinearRegression

    return LinearRegression().fit(features(d.x_train), d.y_train).score(features(d.x_test), d.y_test)


def test_sine_is_learnable_from_sin_x(defaults):
    d = defaults["sine"]
    assert d.x_train.min() >= -np.pi and d.x_train.max() <= np.pi and d.target_shape == (1,)
    assert _r2(np.sin, d) > 0.9 > _r2(lambda x: x, d)


@pytest.mark.parametrize("degree", [1, 4])
def test_polynomial_is_learnable_with_polynomial_features(degree):
    from sklearn.preprocessing import PolynomialFeatures

    d = load_dataset("polynomial", {"degree": degree, "noise": 0.02})
    assert _r2(lambda x: PolynomialFeatures(degree).fit_transform(x), d) > 0.95
    if degree == 4:
        assert _r2(lambda x: x, d) < 0.9


def test_apartments_are_a_plausible_learnable_table(defaults):
    from sklearn.preprocessing import PolynomialFeatures

    d = defaults["apartments"]
    assert d.feature_names == ["size_m2", "rooms", "distance_km", "floor", "age_years", "balcony"]
    assert d.target_shape == (1,) and 0 < d.y_train.min() and 1.0 < np.median(d.y_train) < 10.0
    assert _r2(lambda x: x, d) > 0.75
    assert _r2(lambda x: PolynomialFeatures(2).fit_transform(x), d) > 0.9
    raw = load_dataset("apartments", {"standardize": False})
    size, rooms, distance, floor, age, balcony = raw.x_train.T
    assert 18 <= size.min() and size.max() <= 250 and set(np.unique(balcony)) == {0.0, 1.0}
    assert np.corrcoef(size, raw.y_train[:, 0])[0, 1] > 0.5  # bigger flats cost more
    assert np.corrcoef(distance, raw.y_train[:, 0])[0, 1] < 0  # central ones too


# --- tables -------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["iris", "wine", "breast_cancer"])
def test_sklearn_tables_standardized_on_train_only(name, defaults):
    import sklearn.datasets

    d = defaults[name]
    bunch = getattr(sklearn.datasets, f"load_{name}")()
    assert d.feature_names == list(bunch.feature_names)
    assert d.class_names == list(bunch.target_names)
    np.testing.assert_allclose(d.x_train.mean(0), 0, atol=1e-4)
    np.testing.assert_allclose(d.x_train.std(0), 1, atol=1e-3)
    raw = load_dataset(name, {"standardize": False})
    np.testing.assert_array_equal(raw.y_test, d.y_test)
    mean, std = np.array(d.meta["feature_mean"]), np.array(d.meta["feature_std"])
    np.testing.assert_allclose(d.x_test * std + mean, raw.x_test, rtol=1e-4, atol=1e-4)
    rows = {tuple(r) for r in bunch.data.astype("float32")}
    assert all(tuple(r) in rows for r in raw.x_test)


def test_iris_is_learnable(defaults):
    from sklearn.linear_model import LogisticRegression

    d = defaults["iris"]
    assert LogisticRegression().fit(d.x_train, d.y_train).score(d.x_test, d.y_test) > 0.85


# --- sequences ----------------------------------------------------------------------------------

def test_sine_series_target_is_the_next_value(defaults):
    d = defaults["sine_series"]
    assert d.input_shape == (30, 1) and d.target_shape == (1,) and d.kind == "series"
    np.testing.assert_array_equal(d.x_train[1:, -1, 0], d.y_train[:-1, 0])
    np.testing.assert_array_equal(d.x_train[1:, :-1, 0], d.x_train[:-1, 1:, 0])
    series, split = d.meta["series"], d.meta["split_index"]
    np.testing.assert_array_equal(d.x_train[0, :, 0], series[:30])
    np.testing.assert_array_equal(d.x_test[0, :, 0], series[split:split + 30])
    assert len(d.x_train) + 30 == split  # every training target lies before the test part


def test_sine_series_horizon_and_window():
    d = load_dataset("sine_series", {"length": 300, "window": 12, "horizon": 3, "noise": 0.0})
    assert d.input_shape == (12, 1) and d.target_shape == (3,)
    series = d.meta["series"]
    for i in (0, 7, len(d.x_train) - 1):
        np.testing.assert_array_equal(d.y_train[i], series[i + 12:i + 15])
    assert len(d.x_train) == 240 - 12 - 3 + 1 and len(d.x_test) == 60 - 12 - 3 + 1


# --- text ---------------------------------------------------------------------------------------

def test_text_corpus_vocabulary_round_trips(defaults):
    from dlstudio.data.text import build_corpus, decode, encode

    d = defaults["text_corpus"]
    corpus = build_corpus()
    assert corpus.startswith("The Zen of Python") and corpus == build_corpus()
    assert d.vocabulary == sorted(set(corpus[:30_000])) and len(d.vocabulary) == len(set(d.vocabulary))
    assert len(d.class_names) == len(d.vocabulary) and "' '" in d.class_names and "'\\n'" in d.class_names
    text = corpus[:30_000]
    assert decode(encode(text, d.vocabulary), d.vocabulary) == text
    assert d.input_shape == (40,)
    for i in range(0, len(d.x_train), 997):
        assert decode(d.x_train[i], d.vocabulary) + d.vocabulary[d.y_train[i]] in text
    assert len(d.x_train) + len(d.x_test) == len(range(0, len(text) - 40, 3))


def test_text_corpus_options():
    d = load_dataset("text_corpus", {"window": 10, "step": 50, "max_chars": 2000})
    assert d.input_shape == (10,) and len(d.x_train) + len(d.x_test) == len(range(0, 2000 - 10, 50))


def test_hello_is_the_lectures_tiny_character_model():
    from dlstudio.data.text import decode

    d = load_dataset("hello")
    assert d.vocabulary == ["h", "e", "l", "o"] and d.class_names == ["h", "e", "l", "o"]
    assert [decode(x, d.vocabulary) for x in d.x_test] == ["hel", "ell"]
    assert [d.vocabulary[y] for y in d.y_test] == ["l", "o"]
    assert len(d.x_train) == 2 * 50 and set(map(tuple, d.x_train)) == set(map(tuple, d.x_test))
    one = load_dataset("hello", {"window": 1})
    pairs = [(one.vocabulary[x[0]], one.vocabulary[y]) for x, y in zip(one.x_test, one.y_test)]
    assert pairs == [("h", "e"), ("e", "l"), ("l", "l"), ("l", "o")]  # 'l' alone is ambiguous
    other = load_dataset("hello", {"word": "banana", "window": 2})
    assert other.vocabulary == ["b", "a", "n"] and other.num_classes == 3


# --- downloads (never downloading) --------------------------------------------------------------

@pytest.fixture
def keras_datasets(monkeypatch, tmp_path):
    """keras.datasets with every loader replaced by one that fails as without a network."""
    import keras

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))

    def offline(*args, **kwargs):
        raise OSError("[Errno 101] Network is unreachable")

    for name in DOWNLOADS:
        monkeypatch.setattr(getattr(keras.datasets, name), "load_data", offline)
    monkeypatch.setattr(keras.datasets.imdb, "get_word_index", offline)
    return keras.datasets


def _fake_images(shape, classes, n_train=12, n_test=6, label_shape=()):
    rng = np.random.default_rng(0)
    return ((rng.integers(0, 256, (n_train, *shape), dtype=np.uint8),
             rng.integers(0, classes, (n_train, *label_shape)).astype(np.uint8)),
            (rng.integers(0, 256, (n_test, *shape), dtype=np.uint8),
             rng.integers(0, classes, (n_test, *label_shape)).astype(np.uint8)))


@pytest.mark.parametrize("name,shape,label_shape,classes", [
    ("mnist", (28, 28), (), 10),
    ("fashion_mnist", (28, 28), (), 10),
    ("cifar10", (32, 32, 3), (1,), 10),
    ("cifar100", (32, 32, 3), (1,), 100),
])
def test_download_images_scaled_with_a_channel_axis(keras_datasets, monkeypatch, name, shape,
                                                    label_shape, classes):
    fake = _fake_images(shape, classes, label_shape=label_shape)
    monkeypatch.setattr(getattr(keras_datasets, name), "load_data", lambda **kw: fake)
    d = load_dataset(name)
    side = shape[0]
    assert d.x_train.shape == (12, side, side, shape[2] if len(shape) == 3 else 1)
    assert d.x_train.dtype == np.float32 and 0.0 <= d.x_train.min() and d.x_train.max() <= 1.0
    np.testing.assert_allclose(d.x_test.reshape(fake[1][0].shape) * 255, fake[1][0], atol=1e-3)
    assert d.y_train.shape == (12,) and d.y_train.dtype == np.int64 and d.kind == "image"
    assert d.num_classes == classes and len(set(d.class_names)) == classes


def test_cifar100_coarse_labels(keras_datasets, monkeypatch):
    seen = {}

    def fake(label_mode="fine"):
        seen["mode"] = label_mode
        return _fake_images((32, 32, 3), 20, label_shape=(1,))

    monkeypatch.setattr(keras_datasets.cifar100, "load_data", fake)
    d = load_dataset("cifar100", {"label_mode": "coarse"})
    assert seen["mode"] == "coarse" and d.num_classes == 20 and "vehicles_1" in d.class_names


def test_imdb_padded_and_truncated(keras_datasets, monkeypatch):
    reviews = np.array([[1, 5, 6, 7], [1] + list(range(3, 30)), [1, 9]], dtype=object)
    labels = np.array([0, 1, 1])
    seen = {}

    def fake(num_words=None, seed=113, **kw):
        seen["num_words"] = num_words
        return (reviews, labels), (reviews[:2], labels[:2])

    monkeypatch.setattr(keras_datasets.imdb, "load_data", fake)
    monkeypatch.setattr(keras_datasets.imdb, "get_word_index", lambda: {"the": 1, "movie": 2, "rare": 500})
    d = load_dataset("imdb", {"maxlen": 10, "num_words": 200})
    assert seen["num_words"] == 200
    assert d.x_train.shape == (3, 10) and d.x_train.dtype == np.int64 and d.y_train.dtype == np.int64
    assert d.x_train[0].tolist() == [0] * 6 + [1, 5, 6, 7]
    assert d.x_train[1].tolist() == list(range(20, 30))  # the end of a long review is kept
    assert d.kind == "text" and d.class_names == ["negative", "positive"]
    assert len(d.vocabulary) == 200 and d.vocabulary[:6] == ["<pad>", "<start>", "<unk>", "<unused>",
                                                             "the", "movie"]


def test_imdb_without_word_index_still_loads(keras_datasets, monkeypatch):
    reviews = np.array([[1, 5], [1, 6, 7]], dtype=object)
    monkeypatch.setattr(keras_datasets.imdb, "load_data",
                        lambda **kw: ((reviews, np.array([0, 1])), (reviews, np.array([1, 0]))))
    d = load_dataset("imdb")
    assert d.x_train.shape == (2, 200) and d.vocabulary == []


@pytest.mark.parametrize("name,title,cached,alternative", [
    ("mnist", "MNIST", "mnist.npz", "'digits'"),
    ("fashion_mnist", "Fashion-MNIST", "fashion-mnist", "'shapes'"),
    ("cifar10", "CIFAR-10", "cifar-10", "'shapes'"),
    ("cifar100", "CIFAR-100", "cifar-100", "'shapes'"),
    ("imdb", "IMDB", "imdb.npz", "'text_corpus'"),
])
def test_offline_failure_says_what_to_do(keras_datasets, tmp_path, name, title, cached, alternative):
    with pytest.raises(DatasetError) as info:
        load_dataset(name)
    message = str(info.value)
    assert message.startswith(f"{title} is not in the local cache ({tmp_path / 'kh' / 'datasets'}")
    assert cached in message and "could not be downloaded: OSError: [Errno 101] Network is unreachable" in message
    assert "Connect to the internet once, or copy" in message and alternative in message
    assert "offline" in message


def test_offline_failure_message_shows_the_default_cache_with_a_tilde(keras_datasets, monkeypatch):
    monkeypatch.delenv("KERAS_HOME")
    with pytest.raises(DatasetError, match=r"MNIST is not in the local cache \(~/\.keras/datasets/mnist\.npz\) "
                                           r"and could not be downloaded: .*copy mnist\.npz into that folder; "
                                           r"the built-in 'digits' dataset works offline\."):
        load_dataset("mnist")
