"""Character-level text, available offline.

``text_corpus``: English prose assembled at run time from text that ships with
Python itself -- the Zen of Python (``this.s``, rot13-decoded) and the
docstrings of some standard-library modules and their public classes and
functions, in a fixed order (the exact text follows the Python version). Cut
into windows: x int64 (N, window) character ids, y int64 (N,) the id of the
character that follows each window. ``vocabulary`` is the sorted list of the
characters used (id -> character); ``class_names`` the same characters, made
printable ("' '" for a space, "'\\n'" for a new line).

``hello``: the lectures' tiny character model -- the word "hello" with the
vocabulary h, e, l, o (in order of first appearance): from the last ``window``
characters predict the next one. x int64 (N, window), y int64 (N,). The
training part repeats every window ``repeats`` times (shuffled); the test part
is each window once -- the task is to memorise one word.
"""

from __future__ import annotations

import codecs
import importlib
import inspect

import numpy as np

from dlstudio.data.dataset import Dataset, DatasetError
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.split import test_fraction_option, train_test

CORPUS_MODULES = ("textwrap", "json", "collections", "pathlib", "string", "functools", "itertools",
                  "random", "heapq", "bisect", "contextlib", "copy", "statistics", "difflib", "argparse")


def zen_of_python() -> str:
    """``this.s`` decoded; the module prints the Zen on first import, so import it quietly."""
    import contextlib
    import io
    import sys

    if "this" not in sys.modules:
        with contextlib.redirect_stdout(io.StringIO()):
            import this  # noqa: F401
    return codecs.decode(sys.modules["this"].s, "rot13")


def _docstrings(module_name: str) -> list[str]:
    module = importlib.import_module(module_name)
    texts = [inspect.getdoc(module) or ""]
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    for name in sorted(names):
        obj = getattr(module, name, None)
        if not (inspect.isclass(obj) or inspect.isroutine(obj)):
            continue
        if getattr(obj, "__module__", None) not in (module_name, f"_{module_name}", None):
            continue  # re-exported from elsewhere: avoid duplicates
        texts.append(inspect.getdoc(obj) or "")
    return [t.strip() for t in texts if t and t.strip()]


def build_corpus() -> str:
    """The whole corpus, deterministic for one Python version (Zen first, then the modules in order)."""
    parts = [zen_of_python().strip()]
    for name in CORPUS_MODULES:
        parts.extend(_docstrings(name))
    return "\n\n".join(parts) + "\n"


def printable(char: str) -> str:
    """A label for a character that shows even if it is white space or a control character."""
    return char if char.isprintable() and not char.isspace() else repr(char)


def encode(text: str, vocabulary: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(vocabulary)}
    return np.array([index[c] for c in text], dtype="int64")


def decode(ids, vocabulary: list[str]) -> str:
    return "".join(vocabulary[int(i)] for i in np.asarray(ids).ravel())


def _char_windows(ids: np.ndarray, window: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    starts = np.arange(0, len(ids) - window, step)
    x = ids[starts[:, None] + np.arange(window)[None, :]]
    y = ids[starts + window]
    return x.astype("int64"), y.astype("int64")


@register("text_corpus", "Python prose (character model)", "text",
          "English text that ships with Python (the Zen of Python and standard-library docstrings), "
          "for character-level language models: from `window` characters predict the next one. "
          "Works offline; x are character ids (one-hot them or use an Embedding).",
          (OptionSpec("window", "int", 40, "characters per sample", 2, 1000),
           OptionSpec("step", "int", 3, "characters between the starts of two samples", 1, 1000),
           OptionSpec("max_chars", "int", 30_000, "use at most this many characters of the corpus",
                      500, 5_000_000),
           test_fraction_option(0.1)))
def text_corpus(options: dict, seed: int) -> Dataset:
    corpus = build_corpus()[: options["max_chars"]]
    window, step = options["window"], options["step"]
    if len(corpus) < window + 2 * step + 1:
        raise DatasetError(f"dataset 'text_corpus': the corpus has only {len(corpus)} characters "
                           f"(docstrings stripped by python -OO?), too few for windows of {window}")
    vocabulary = sorted(set(corpus))
    x, y = _char_windows(encode(corpus, vocabulary), window, step)
    xtr, xte, ytr, yte = train_test(x, y, options["test_fraction"], seed)
    return Dataset("text_corpus", xtr, ytr, xte, yte, "classification", [printable(c) for c in vocabulary],
                   f"{len(corpus)} characters of Python's own prose, {len(vocabulary)} distinct; "
                   f"{window} characters -> the next one",
                   kind="text", vocabulary=vocabulary,
                   meta={"window": window, "step": step, "characters": len(corpus)})


@register("hello", "hello (tiny character model)", "text",
          "The lectures' smallest character-level model: the word 'hello', vocabulary h, e, l, o; "
          "from the last `window` characters predict the next. With window 1 'l' is followed once "
          "by 'l' and once by 'o': only a model with memory (an RNN over longer windows) gets all right.",
          (OptionSpec("word", "str", "hello", "the text to memorise (2 to 200 characters)"),
           OptionSpec("window", "int", 3, "characters per sample", 1, 199),
           OptionSpec("repeats", "int", 50, "copies of every window in the training part", 1, 10_000)))
def hello(options: dict, seed: int) -> Dataset:
    word, window = options["word"], options["window"]
    if not 2 <= len(word) <= 200:
        raise DatasetError(f"dataset 'hello' option 'word' must have 2 to 200 characters (got {len(word)})")
    if window >= len(word):
        raise DatasetError(f"dataset 'hello' option 'window' must be shorter than the word "
                           f"({len(word)} characters; got {window})")
    vocabulary = list(dict.fromkeys(word))  # order of first appearance: h, e, l, o
    xte, yte = _char_windows(encode(word, vocabulary), window, 1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(xte) * options["repeats"]) % len(xte)
    return Dataset("hello", xte[order], yte[order], xte, yte, "classification",
                   [printable(c) for c in vocabulary],
                   f"the word {word!r}: {window} character(s) -> the next one", kind="text",
                   vocabulary=vocabulary, meta={"window": window, "word": word})
