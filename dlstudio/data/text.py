"""Text for language models, available offline: character or word tokens,
integer ids (for an Embedding) or one-hot rows (the lectures' encoding).

``text_corpus``: English prose assembled at run time from text that ships with
Python itself -- the Zen of Python (``this.s``, rot13-decoded) and the
docstrings of some standard-library modules and their public classes and
functions, in a fixed order (the exact text follows the Python version). Cut
into windows: x int64 (N, window) token ids, y int64 (N,) the id of the
token that follows each window. With ``level`` "characters" (the default)
``vocabulary`` is the sorted list of the characters used (id -> character);
with "words" it is ``<unk>`` and then the ``max_words - 1`` most frequent words
and punctuation marks (see :func:`tokenize_words`), most frequent first.
``class_names`` are the tokens made printable ("' '" for a space, "'\\n'" for
a new line). With ``encoding`` "one_hot" x is float32 (N, window, vocabulary
size) instead, one row per token.

Every text dataset records what a sampler needs in ``meta``: ``level``,
``encoding``, ``window`` and ``separator`` ("" between characters, " " between
words); :func:`encode_tokens` and :func:`decode` turn text into model input
and ids back into text with them (dlstudio.inference.text_generation uses it).

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
import re
from collections import Counter

import numpy as np

from dlstudio.data.dataset import Dataset, DatasetError, check_allocation
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


LEVELS = ("characters", "words")
ENCODINGS = ("ids", "one_hot")
UNKNOWN = "<unk>"
_WORD = re.compile(r"\w+(?:'\w+)?|[^\w\s]|\n")
_NO_SPACE_BEFORE = frozenset(".,;:!?)]}'\"\n")
_NO_SPACE_AFTER = frozenset("([{\n")


def encode(text: str, vocabulary: list[str]) -> np.ndarray:
    index = {c: i for i, c in enumerate(vocabulary)}
    return np.array([index[c] for c in text], dtype="int64")


def decode(ids, vocabulary: list[str], separator: str = "") -> str:
    """Ids back to text: characters joined as they are; words (``separator`` " ")
    joined by spaces, except before punctuation and around new lines."""
    tokens = [vocabulary[int(i)] for i in np.asarray(ids).ravel()]
    return join_tokens(tokens, separator)


def join_tokens(tokens: list[str], separator: str = "") -> str:
    if not separator:
        return "".join(tokens)
    out: list[str] = []
    for token in tokens:
        if out and token not in _NO_SPACE_BEFORE and out[-1] not in _NO_SPACE_AFTER:
            out.append(separator)
        out.append(token)
    return "".join(out)


def tokenize_words(text: str) -> list[str]:
    """Lower-case words (with an inner apostrophe: "don't"), single punctuation
    marks and new lines, in order; other white space separates tokens."""
    return _WORD.findall(text.lower())


def word_vocabulary(tokens: list[str], max_words: int) -> list[str]:
    """``<unk>`` and then the ``max_words - 1`` most frequent tokens (ties: first seen first)."""
    counts = Counter(tokens)
    order = {t: i for i, t in reversed(list(enumerate(tokens)))}
    ranked = sorted(counts, key=lambda t: (-counts[t], order[t]))
    return [UNKNOWN, *[t for t in ranked if t != UNKNOWN][:max_words - 1]]


def tokens_of(text: str, level: str) -> list[str]:
    if level not in LEVELS:
        raise DatasetError(f"unknown text level {level!r}; choose one of {', '.join(LEVELS)}")
    return list(text) if level == "characters" else tokenize_words(text)


def encode_tokens(text: str, vocabulary: list[str], level: str = "characters") -> np.ndarray:
    """Text -> int64 ids with a dataset's vocabulary. Words it does not know become
    ``<unk>`` (when the vocabulary has it); unknown characters raise a DatasetError
    naming them."""
    index = {t: i for i, t in enumerate(vocabulary)}
    tokens = tokens_of(text, level)
    unknown = sorted({t for t in tokens if t not in index})
    if unknown and UNKNOWN in index:
        return np.array([index.get(t, index[UNKNOWN]) for t in tokens], dtype="int64")
    if unknown:
        shown = ", ".join(repr(t) for t in unknown[:8]) + (", ..." if len(unknown) > 8 else "")
        raise DatasetError(f"{len(unknown)} {level[:-1]}{'s' * (len(unknown) != 1)} not in the vocabulary "
                           f"of {len(vocabulary)}: {shown}")
    return np.array([index[t] for t in tokens], dtype="int64")


def one_hot(ids: np.ndarray, size: int) -> np.ndarray:
    """float32 rows with a single 1 at each id: shape ``ids.shape + (size,)``."""
    ids = np.asarray(ids, dtype="int64")
    check_allocation(ids.size * size * 4, f"one-hot rows of {ids.size:,} tokens over {size:,} symbols",
                     "use the ids encoding (and an Embedding), a larger step or a smaller window")
    out = np.zeros((*ids.shape, size), dtype="float32")
    np.put_along_axis(out, ids[..., None], 1.0, axis=-1)
    return out


def model_input(ids: np.ndarray, vocabulary_size: int, encoding: str) -> np.ndarray:
    """Token ids as a model with this ``encoding`` takes them (ids unchanged, or one-hot)."""
    if encoding not in ENCODINGS:
        raise DatasetError(f"unknown text encoding {encoding!r}; choose one of {', '.join(ENCODINGS)}")
    return one_hot(ids, vocabulary_size) if encoding == "one_hot" else np.asarray(ids, dtype="int64")


def level_option() -> OptionSpec:
    return OptionSpec("level", "choice", "characters", "tokens: single characters, or words and punctuation",
                      choices=LEVELS)


def encoding_option() -> OptionSpec:
    return OptionSpec("encoding", "choice", "ids",
                      "ids: integer token ids (feed an Embedding); one_hot: one row of 0s and a 1 per token "
                      "(feed an RNN directly)", choices=ENCODINGS)


def text_meta(level: str, encoding: str, window: int, **more) -> dict:
    return {"level": level, "encoding": encoding, "window": window,
            "separator": "" if level == "characters" else " ", **more}


def _char_windows(ids: np.ndarray, window: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    count = max(0, -(-(len(ids) - window) // step))
    check_allocation(count * window * 8 * 2, f"{count:,} windows of {window} tokens",
                     "choose a larger step or a smaller window")
    starts = np.arange(0, len(ids) - window, step)
    x = ids[starts[:, None] + np.arange(window)[None, :]]
    y = ids[starts + window]
    return x.astype("int64"), y.astype("int64")


@register("text_corpus", "Python prose (character or word model)", "text",
          "English text that ships with Python (the Zen of Python and standard-library docstrings), "
          "for character-level language models: from `window` characters predict the next one. "
          "Works offline. Character or word tokens; x are token ids (use an Embedding) or one-hot rows.",
          (OptionSpec("window", "int", 40, "tokens (characters or words) per sample", 2, 1000),
           OptionSpec("step", "int", 3, "tokens between the starts of two samples", 1, 1000),
           OptionSpec("max_chars", "int", 30_000, "use at most this many characters of the corpus",
                      500, 5_000_000),
           level_option(),
           OptionSpec("max_words", "int", 2000, "word level: vocabulary size; rarer words become <unk>",
                      10, 100_000),
           encoding_option(),
           test_fraction_option(0.1)))
def text_corpus(options: dict, seed: int) -> Dataset:
    corpus = build_corpus()[: options["max_chars"]]
    window, step, level = options["window"], options["step"], options["level"]
    tokens = tokens_of(corpus, level)
    if len(tokens) < window + 2 * step + 1:
        raise DatasetError(f"dataset 'text_corpus': the corpus has only {len(tokens)} {level} "
                           f"(docstrings stripped by python -OO?), too few for windows of {window}")
    vocabulary = sorted(set(corpus)) if level == "characters" else word_vocabulary(tokens, options["max_words"])
    x, y = _char_windows(encode_tokens(corpus, vocabulary, level), window, step)
    xtr, xte, ytr, yte = train_test(x, y, options["test_fraction"], seed)
    xtr, xte = (model_input(a, len(vocabulary), options["encoding"]) for a in (xtr, xte))
    unit = "characters" if level == "characters" else "words"
    return Dataset("text_corpus", xtr, ytr, xte, yte, "classification", [printable(c) for c in vocabulary],
                   f"{len(corpus)} characters of Python's own prose ({len(tokens)} {level}), "
                   f"{len(vocabulary)} distinct tokens; {window} {unit} -> the next one",
                   kind="text", vocabulary=vocabulary,
                   meta=text_meta(level, options["encoding"], window, step=step, characters=len(corpus),
                                  prompt=corpus[:200]))


@register("hello", "hello (tiny character model)", "text",
          "The lectures' smallest character-level model: the word 'hello', vocabulary h, e, l, o; "
          "from the last `window` characters predict the next. With window 1 'l' is followed once "
          "by 'l' and once by 'o': only a model with memory (an RNN over longer windows) gets all right.",
          (OptionSpec("word", "str", "hello", "the text to memorise (2 to 200 characters)"),
           OptionSpec("window", "int", 3, "characters per sample", 1, 199),
           OptionSpec("repeats", "int", 50, "copies of every window in the training part", 1, 10_000),
           OptionSpec("wrap", "bool", False, "read the word as repeating forever (hellohello...), so a "
                      "model learns to go on after its end"),
           encoding_option()))
def hello(options: dict, seed: int) -> Dataset:
    word, window = options["word"], options["window"]
    if not 2 <= len(word) <= 200:
        raise DatasetError(f"dataset 'hello' option 'word' must have 2 to 200 characters (got {len(word)})")
    if window >= len(word):
        raise DatasetError(f"dataset 'hello' option 'window' must be shorter than the word "
                           f"({len(word)} characters; got {window})")
    vocabulary = list(dict.fromkeys(word))  # order of first appearance: h, e, l, o
    text = word + word[:window] if options["wrap"] else word
    xte, yte = _char_windows(encode(text, vocabulary), window, 1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(xte) * options["repeats"]) % len(xte)
    xtr, ytr = xte[order], yte[order]
    xtr, xte = (model_input(a, len(vocabulary), options["encoding"]) for a in (xtr, xte))
    return Dataset("hello", xtr, ytr, xte, yte, "classification",
                   [printable(c) for c in vocabulary],
                   f"the word {word!r}{' repeating' if options['wrap'] else ''}: {window} character(s) "
                   f"-> the next one", kind="text",
                   vocabulary=vocabulary, meta=text_meta("characters", options["encoding"], window, word=word,
                                                         prompt=word))
