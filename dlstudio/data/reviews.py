"""Short film reviews for word-level sequence classifiers, generated offline.

``reviews``: sentences such as "the plot was not very good, but the acting
was brilliant" labelled positive or negative. Word order matters: "not" flips
the adjective after it, and after "but" the second clause decides, so a bag
of words cannot be right on every review while an LSTM (best a bidirectional
one, which reads the clause after "but" and the negation before an adjective
from both sides) can. Reviews are word tokens padded at the front with
``<pad>`` (id 0) to ``length`` tokens: x int64 (N, length) word ids for an
Embedding, y int64 (N,) with classes "negative", "positive". ``vocabulary``
is ``<pad>`` and then the words, sorted; ``meta["texts"]`` holds the test
reviews as text.
"""

from __future__ import annotations

import numpy as np

from dlstudio.data.dataset import Dataset, DatasetError
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.text import text_meta, tokenize_words

PAD = "<pad>"
SUBJECTS = ("the movie", "the film", "the plot", "the acting", "the story", "the music", "the ending",
            "this show", "the cast", "the script", "the dialogue", "the camera work")
VERBS = ("was", "is", "felt", "seemed")
INTENSIFIERS = ("", "", "very", "really", "quite", "truly", "so")
POSITIVE = ("good", "great", "wonderful", "brilliant", "enjoyable", "fun", "moving", "clever", "beautiful",
            "superb")
NEGATIVE = ("bad", "boring", "awful", "dull", "terrible", "weak", "silly", "poor", "slow", "painful")
FILLERS = ("", "", "", "i saw it last week", "to be honest", "in my opinion", "overall")


def _clause(rng: np.random.Generator, positive: bool, negation_rate: float) -> str:
    negated = rng.random() < negation_rate
    words = POSITIVE if positive != negated else NEGATIVE
    parts = [SUBJECTS[rng.integers(len(SUBJECTS))], VERBS[rng.integers(len(VERBS))]]
    if negated:
        parts.append("not")
    parts += [INTENSIFIERS[rng.integers(len(INTENSIFIERS))], words[rng.integers(len(words))]]
    return " ".join(p for p in parts if p)


def review(rng: np.random.Generator, negation_rate: float = 0.3) -> tuple[str, int]:
    """One review and its label (1 positive, 0 negative)."""
    label = int(rng.integers(2))
    shape = rng.integers(3)
    if shape == 0:  # one clause
        text = _clause(rng, bool(label), negation_rate)
    elif shape == 1:  # "X but Y": Y decides, X says the opposite
        text = f"{_clause(rng, not label, negation_rate)}, but {_clause(rng, bool(label), negation_rate)}"
    else:  # "X and Y": both agree
        text = f"{_clause(rng, bool(label), negation_rate)} and {_clause(rng, bool(label), negation_rate)}"
    filler = FILLERS[rng.integers(len(FILLERS))]
    return (f"{filler}, {text}" if filler else text), label


def vocabulary() -> list[str]:
    words = set()
    for group in (SUBJECTS, VERBS, INTENSIFIERS, POSITIVE, NEGATIVE, FILLERS, ("not", "but", "and", ",")):
        for phrase in group:
            words.update(tokenize_words(phrase))
    return [PAD, *sorted(words)]


def pad_ids(texts: list[str], vocab: list[str], length: int) -> np.ndarray:
    """Word ids padded at the front with ``<pad>`` (0) to ``length``; longer texts keep their end."""
    index = {w: i for i, w in enumerate(vocab)}
    x = np.zeros((len(texts), length), dtype="int64")
    for row, text in enumerate(texts):
        ids = [index[w] for w in tokenize_words(text)][-length:]
        x[row, length - len(ids):] = ids
    return x


@register("reviews", "Film reviews (word-level sentiment)", "text",
          "Generated film reviews labelled positive or negative, where word order matters: 'not' flips "
          "an adjective and after 'but' the second clause decides. Word ids padded to `length` "
          "(use an Embedding, then an LSTM or a Bidirectional LSTM).",
          (OptionSpec("samples", "int", 6000, "number of reviews", 20, 1_000_000),
           OptionSpec("length", "int", 24, "words per review after padding (longer ones are cut)", 4, 200),
           OptionSpec("negation_rate", "float", 0.3, "share of clauses with 'not'", 0.0, 1.0),
           OptionSpec("test_fraction", "float", 0.2, "share of the reviews held out for testing", 0.01, 0.9)))
def reviews(options: dict, seed: int) -> Dataset:
    rng = np.random.default_rng(seed)
    n = options["samples"]
    pairs = [review(rng, options["negation_rate"]) for _ in range(n)]
    texts = [t for t, _ in pairs]
    vocab = vocabulary()
    x = pad_ids(texts, vocab, options["length"])
    y = np.array([label for _, label in pairs], dtype="int64")
    n_test = max(1, round(n * options["test_fraction"]))
    if n - n_test < 2:
        raise DatasetError(f"dataset 'reviews': {n} reviews leave too few for training with test_fraction "
                           f"{options['test_fraction']}")
    return Dataset("reviews", x[n_test:], y[n_test:], x[:n_test], y[:n_test], "classification",
                   ["negative", "positive"],
                   f"{n} generated film reviews such as {texts[0]!r}, {len(vocab)} words, padded to "
                   f"{options['length']}", kind="text", vocabulary=vocab,
                   meta=text_meta("words", "ids", options["length"], texts=texts[:n_test]))
