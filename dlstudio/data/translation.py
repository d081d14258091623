"""Synthetic translation tasks for encoder-decoder (seq2seq) models.

``translation``: pairs of a source string and its "translation", generated
from the seed:

- task "dates": an ISO date "2024-03-01" -> "01 Mar 2024" (the model must
  reorder the fields and learn the twelve month names);
- task "reverse": a string of ``digits`` digits "12345" -> "54321".

Laid out for teacher forcing with a single model input, so an ordinary graph
(one Input, one output) trains it: each x row is the source followed by the
decoder's input -- the start symbol ``^`` and then the target shifted right by
one -- and y is the target, a class id per character:

    x = [s_1 .. s_S, ^, t_1 .. t_{T-1}]   (int64, S + T ids)
    y = [t_1 .. t_T]                      (int64, T ids)

A graph takes the two parts apart with Cropping1D (after a shared Embedding):
an encoder LSTM reads the source and its final state (h, c) becomes the
initial state of a decoder LSTM that reads the shifted target. At inference
the target is unknown: :func:`dlstudio.inference.text_generation.translate`
decodes greedily, one character per step, feeding each prediction back.

``vocabulary`` (shared by source and target) is ``^`` and then every character
of the task, sorted; ``meta`` holds ``source_length``, ``target_length``,
``start`` and the ``sources`` / ``targets`` of the test part as text.
"""

from __future__ import annotations

import datetime as dt

import numpy as np

from dlstudio.data.dataset import Dataset, DatasetError
from dlstudio.data.registry import OptionSpec, register
from dlstudio.data.text import encode, printable, text_meta

START = "^"
TASKS = ("dates", "reverse")
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_FIRST_DAY = dt.date(1950, 1, 1).toordinal()
_DAYS = dt.date(2049, 12, 31).toordinal() - _FIRST_DAY + 1


def date_pairs(n: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    """``n`` distinct random dates of 1950-2049 (fewer if n is larger than that span)."""
    days = rng.choice(_DAYS, size=min(n, _DAYS), replace=False) + _FIRST_DAY
    pairs = []
    for d in map(dt.date.fromordinal, days.tolist()):
        pairs.append((d.isoformat(), f"{d.day:02d} {MONTHS[d.month - 1]} {d.year}"))
    return pairs


def reverse_pairs(n: int, digits: int, rng: np.random.Generator) -> list[tuple[str, str]]:
    rows = rng.integers(0, 10, size=(n, digits))
    sources = ["".join(map(str, r)) for r in rows.tolist()]
    return [(s, s[::-1]) for s in sources]


def vocabulary_for(task: str) -> list[str]:
    if task == "dates":
        chars = set("0123456789- ") | set("".join(MONTHS))
    else:
        chars = set("0123456789")
    return [START, *sorted(chars)]


def teacher_forcing_rows(pairs: list[tuple[str, str]], vocabulary: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """x = source ids + start id + target ids but the last; y = target ids."""
    sources = np.stack([encode(s, vocabulary) for s, _ in pairs])
    targets = np.stack([encode(t, vocabulary) for _, t in pairs])
    start = np.full((len(pairs), 1), vocabulary.index(START), dtype="int64")
    return np.concatenate([sources, start, targets[:, :-1]], axis=1), targets


@register("translation", "Translation (seq2seq: dates, reversing)", "text",
          "A synthetic translation task for encoder-decoder models: ISO dates into '01 Mar 2024', or "
          "digit strings reversed. x is the source followed by the decoder input (the start symbol ^ "
          "and the target shifted by one: teacher forcing), y the target, a class per character.",
          (OptionSpec("task", "choice", "dates", "dates: 2024-03-01 -> 01 Mar 2024; reverse: 12345 -> 54321",
                      choices=TASKS),
           OptionSpec("samples", "int", 10_000, "number of pairs (train and test together)", 20, 1_000_000),
           OptionSpec("digits", "int", 5, "reverse: digits per string", 2, 40),
           OptionSpec("test_fraction", "float", 0.1, "share of the pairs held out for testing", 0.01, 0.9)))
def translation(options: dict, seed: int) -> Dataset:
    task, n = options["task"], options["samples"]
    rng = np.random.default_rng(seed)
    if task == "dates":
        if n > _DAYS:
            raise DatasetError(f"dataset 'translation' option 'samples': there are only {_DAYS} different "
                               f"dates from 1950 to 2049 (got {n})")
        pairs = date_pairs(n, rng)
    else:
        pairs = reverse_pairs(n, options["digits"], rng)
    vocabulary = vocabulary_for(task)
    x, y = teacher_forcing_rows(pairs, vocabulary)
    n_test = max(1, round(n * options["test_fraction"]))
    if n - n_test < 1:
        raise DatasetError(f"dataset 'translation': {n} pairs leave none for training with test_fraction "
                           f"{options['test_fraction']}")
    source_length, target_length = len(pairs[0][0]), len(pairs[0][1])
    example = f"{pairs[0][0]} -> {pairs[0][1]}"
    return Dataset("translation", x[n_test:], y[n_test:], x[:n_test], y[:n_test], "classification",
                   [printable(c) for c in vocabulary],
                   f"{n} {task} pairs such as {example}: {source_length} source characters, "
                   f"{target_length} target characters (teacher forcing: x holds the source and the "
                   f"shifted target)", kind="text", vocabulary=vocabulary,
                   meta=text_meta("characters", "ids", source_length + target_length, task=task,
                                  source_length=source_length, target_length=target_length, start=START,
                                  sources=[s for s, _ in pairs[:n_test]],
                                  targets=[t for _, t in pairs[:n_test]]))
