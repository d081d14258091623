"""The classic ``keras.datasets``: downloaded once, then read from Keras' cache.

Keras keeps the files under ``$KERAS_HOME/datasets`` (default ``~/.keras/datasets``).
Without the file and without a network, loading raises a DatasetError that
names the dataset, the cache path, the reason and an offline alternative.
The fixed train/test splits of the originals are kept.

Shapes and dtypes:

- ``mnist``, ``fashion_mnist``: x float32 (N, 28, 28, 1) in [0, 1], y int64 (N,) in 0..9;
  60,000 train, 10,000 test.
- ``cifar10``: x float32 (N, 32, 32, 3) in [0, 1], y int64 (N,) in 0..9; 50,000 / 10,000.
- ``cifar100``: as cifar10 with 100 fine or 20 coarse classes (option ``label_mode``).
- ``imdb``: x int64 (N, maxlen) word ids (0 padding, 1 start, 2 unknown word, words
  from 3 by frequency; only the ``num_words`` most frequent kept), padded and
  truncated at the front; y int64 (N,) 0 negative, 1 positive; 25,000 / 25,000.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from dlstudio.data.dataset import Dataset, DatasetError
from dlstudio.data.registry import OptionSpec, register

FASHION_NAMES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
                 "Ankle boot"]
CIFAR10_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
CIFAR100_FINE = (
    "apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly "
    "camel can castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup "
    "dinosaur dolphin elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower "
    "leopard lion lizard lobster man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid "
    "otter palm_tree pear pickup_truck pine_tree plain plate poppy porcupine possum rabbit raccoon ray road "
    "rocket rose sea seal shark shrew skunk skyscraper snail snake spider squirrel streetcar sunflower "
    "sweet_pepper table tank telephone television tiger tractor train trout tulip turtle wardrobe whale "
    "willow_tree wolf woman worm").split()
CIFAR100_COARSE = (
    "aquatic_mammals fish flowers food_containers fruit_and_vegetables household_electrical_devices "
    "household_furniture insects large_carnivores large_man-made_outdoor_things "
    "large_natural_outdoor_scenes large_omnivores_and_herbivores medium_mammals "
    "non-insect_invertebrates people reptiles small_mammals trees vehicles_1 vehicles_2").split()


def keras_cache_dir() -> Path:
    """Where Keras keeps downloaded datasets: ``$KERAS_HOME/datasets`` or ``~/.keras/datasets``."""
    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home).expanduser() / "datasets"


def _show(path: Path) -> str:
    home = Path(os.path.expanduser("~"))
    try:
        return str(Path("~") / path.relative_to(home))
    except ValueError:
        return str(path)


# name -> (title, sub-folder of the cache, the file Keras looks for there, what to copy, offline alternative)
_SOURCES = {
    "mnist": ("MNIST", "", "mnist.npz", "mnist.npz", "the built-in 'digits' dataset works offline"),
    "fashion_mnist": ("Fashion-MNIST", "fashion-mnist", "train-images-idx3-ubyte.gz",
                      "train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz "
                      "and t10k-labels-idx1-ubyte.gz",
                      "the built-in 'shapes' and 'digits' datasets work offline"),
    "cifar10": ("CIFAR-10", "", "cifar-10-batches-py-target_archive",
                "cifar-10-python.tar.gz (renamed to cifar-10-batches-py-target_archive)",
                "the built-in 'shapes' dataset (option colour) works offline"),
    "cifar100": ("CIFAR-100", "", "cifar-100-python-target_archive",
                 "cifar-100-python.tar.gz (renamed to cifar-100-python-target_archive)",
                 "the built-in 'shapes' dataset (option colour) works offline"),
    "imdb": ("IMDB", "", "imdb.npz", "imdb.npz", "the built-in 'text_corpus' dataset works offline"),
}


def _fetch(name: str, call):
    """Run a ``keras.datasets`` loader; any failure becomes a DatasetError that says what to do."""
    title, folder, cached, copy, alternative = _SOURCES[name]
    where = keras_cache_dir() / folder if folder else keras_cache_dir()
    try:
        return call()
    except Exception as exc:  # URLError, OSError, a broken partial download, ...
        reason = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        raise DatasetError(
            f"{title} is not in the local cache ({_show(where / cached)}) and could not be downloaded: "
            f"{reason}. Connect to the internet once, or copy {copy} into that folder; "
            f"{alternative}.") from exc


def _images(name: str, loaded, class_names: list[str], description: str) -> Dataset:
    (xtr, ytr), (xte, yte) = loaded

    def scale(x):
        x = np.asarray(x)
        x = x[..., None] if x.ndim == 3 else x
        return (x.astype("float32") / 255.0) if x.dtype == np.uint8 or x.max() > 1.0 else x.astype("float32")

    return Dataset(name, scale(xtr), np.asarray(ytr).reshape(-1).astype("int64"), scale(xte),
                   np.asarray(yte).reshape(-1).astype("int64"), "classification", list(class_names),
                   description, kind="image")


def _keras_datasets():
    import keras

    return keras.datasets


@register("mnist", "MNIST digits (download)", "downloads",
          "70,000 handwritten digits, 28x28 grey (60,000 train, 10,000 test). Downloaded once "
          "(11 MB) by Keras into ~/.keras/datasets.", (), offline=False)
def mnist(options: dict, seed: int) -> Dataset:
    loaded = _fetch("mnist", lambda: _keras_datasets().mnist.load_data())
    return _images("mnist", loaded, [str(i) for i in range(10)], "MNIST handwritten digits, 28x28x1 in [0, 1]")


@register("fashion_mnist", "Fashion-MNIST (download)", "downloads",
          "70,000 Zalando product photos in 10 classes, 28x28 grey. Downloaded once (30 MB).",
          (), offline=False)
def fashion_mnist(options: dict, seed: int) -> Dataset:
    loaded = _fetch("fashion_mnist", lambda: _keras_datasets().fashion_mnist.load_data())
    return _images("fashion_mnist", loaded, FASHION_NAMES, "Fashion-MNIST clothes, 28x28x1 in [0, 1]")


@register("cifar10", "CIFAR-10 (download)", "downloads",
          "60,000 small colour photos in 10 classes, 32x32x3 (50,000 train, 10,000 test). "
          "Downloaded once (170 MB).", (), offline=False)
def cifar10(options: dict, seed: int) -> Dataset:
    loaded = _fetch("cifar10", lambda: _keras_datasets().cifar10.load_data())
    return _images("cifar10", loaded, CIFAR10_NAMES, "CIFAR-10 colour photos, 32x32x3 in [0, 1]")


@register("cifar100", "CIFAR-100 (download)", "downloads",
          "60,000 small colour photos, 32x32x3, in 100 fine or 20 coarse classes. Downloaded once (170 MB).",
          (OptionSpec("label_mode", "choice", "fine", "100 fine classes or 20 coarse superclasses",
                      choices=("fine", "coarse")),), offline=False)
def cifar100(options: dict, seed: int) -> Dataset:
    mode = options["label_mode"]
    loaded = _fetch("cifar100", lambda: _keras_datasets().cifar100.load_data(label_mode=mode))
    names = CIFAR100_FINE if mode == "fine" else CIFAR100_COARSE
    return _images("cifar100", loaded, names, f"CIFAR-100 colour photos ({mode} labels), 32x32x3 in [0, 1]")


def pad_sequences(sequences, maxlen: int, value: int = 0) -> np.ndarray:
    """Lists of ids -> int64 (N, maxlen): padded with ``value`` and truncated at the front
    (the end of a review, where the verdict usually is, is kept)."""
    out = np.full((len(sequences), maxlen), value, dtype="int64")
    for i, seq in enumerate(sequences):
        seq = list(seq)[-maxlen:]
        if seq:
            out[i, maxlen - len(seq):] = seq
    return out


def _imdb_vocabulary(num_words: int) -> list[str]:
    """id -> word for the kept ids, if the word index is cached or can be fetched; else []."""
    try:
        index = _keras_datasets().imdb.get_word_index()
    except Exception:
        return []
    vocabulary = ["<pad>", "<start>", "<unk>", "<unused>"] + [""] * max(0, num_words - 4)
    for word, rank in index.items():
        i = int(rank) + 3
        if 3 < i < num_words:
            vocabulary[i] = word
    return vocabulary[:num_words]


@register("imdb", "IMDB movie reviews (download)", "downloads",
          "50,000 movie reviews labelled positive or negative, as word ids (most frequent words "
          "first), padded to `maxlen`. For Embedding + LSTM or 1-D CNN. Downloaded once (17 MB).",
          (OptionSpec("num_words", "int", 10_000, "keep the most frequent words; others become 2 (unknown)",
                      100, 100_000),
           OptionSpec("maxlen", "int", 200, "words per review (longer ones cut, shorter ones padded)",
                      10, 3000)), offline=False)
def imdb(options: dict, seed: int) -> Dataset:
    num_words, maxlen = options["num_words"], options["maxlen"]
    (xtr, ytr), (xte, yte) = _fetch(
        "imdb", lambda: _keras_datasets().imdb.load_data(num_words=num_words, seed=113 + seed))
    return Dataset("imdb", pad_sequences(xtr, maxlen), np.asarray(ytr).reshape(-1).astype("int64"),
                   pad_sequences(xte, maxlen), np.asarray(yte).reshape(-1).astype("int64"), "classification",
                   ["negative", "positive"], f"IMDB reviews as {maxlen} word ids ({num_words} words kept)",
                   kind="text", vocabulary=_imdb_vocabulary(num_words),
                   meta={"num_words": num_words, "maxlen": maxlen})
