"""Text from trained sequence models: sampling with a temperature, and greedy
decoding of encoder-decoder (seq2seq) models.

Numpy in, numpy out, no Qt. A character or word model trained on a text
dataset (``text_corpus``, ``hello``, ``text_file``) reads the last ``window``
tokens and gives the next token's probabilities; :func:`generate` appends one
sampled token at a time. The temperature reshapes the distribution before
sampling: p_i ** (1 / T), renormalised -- T < 1 sharpens it (T -> 0 is the
argmax, the same text every time), T = 1 samples the model's own
probabilities, T > 1 flattens it towards uniform. Sampling draws from a numpy
generator seeded with ``seed``, so the same model, prompt, temperature and
seed always give the same text.

:func:`translate` decodes a ``translation`` model greedily: the decoder input
starts as the start symbol; at step t the model's most likely character at
position t is written into position t + 1 of the decoder input, and so on to
the end (the LSTM decoder is causal, so later positions do not change earlier
predictions).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dlstudio.data import Dataset, DatasetError
from dlstudio.data.text import decode, encode_tokens, join_tokens, model_input
from dlstudio.errors import DLStudioError

#: Below this temperature sampling is the argmax (no division by ~0).
GREEDY_BELOW = 1e-3
MAX_LENGTH = 10_000


class GenerationError(DLStudioError, ValueError):
    """A model, dataset or prompt that text cannot be generated from; the message says why."""


@dataclass(frozen=True)
class TextModelInfo:
    """What a sampler needs to know about a dataset's text encoding."""

    vocabulary: tuple[str, ...]
    window: int
    level: str = "characters"
    encoding: str = "ids"
    separator: str = ""
    task: str = "language_model"  # or "translation"
    source_length: int = 0
    target_length: int = 0
    start: str = ""
    default_prompt: str = ""
    examples: tuple[str, ...] = field(default_factory=tuple)  # translation: test sources

    @property
    def is_translation(self) -> bool:
        return self.task == "translation"


def text_model_info(dataset: Dataset) -> TextModelInfo:
    """The encoding of a text dataset; GenerationError for other datasets."""
    if dataset.kind != "text" or not dataset.vocabulary:
        raise GenerationError(f"{dataset.name} is not a text dataset with a vocabulary, so there is no text "
                              "to generate (use text_corpus, hello, text_file or translation)")
    meta = dataset.meta
    vocabulary = tuple(dataset.vocabulary)
    window = int(meta.get("window") or dataset.input_shape[0])
    if dataset.name == "translation" and "source_length" in meta:
        return TextModelInfo(vocabulary, window, task="translation", source_length=int(meta["source_length"]),
                             target_length=int(meta["target_length"]), start=str(meta["start"]),
                             default_prompt=str((meta.get("sources") or [""])[0]),
                             examples=tuple(meta.get("sources") or ()))
    if dataset.task != "classification" or len(dataset.target_shape) != 0:
        raise GenerationError(f"{dataset.name} is not a next-token task: its targets have shape "
                              f"{dataset.target_shape}")
    if dataset.num_classes != len(vocabulary):
        raise GenerationError(f"{dataset.name} classifies into {dataset.num_classes} classes, not into its "
                              f"{len(vocabulary)} tokens: it is not a language-model dataset")
    level = str(meta.get("level", "characters"))
    encoding = str(meta.get("encoding", "ids" if dataset.x_train.dtype.kind in "iu" else "one_hot"))
    prompt = str(meta.get("prompt") or "")
    if not prompt and len(dataset.x_test):
        prompt = decode(dataset.x_test[0] if encoding == "ids" else dataset.x_test[0].argmax(-1), list(vocabulary),
                        " " if level == "words" else "")
    return TextModelInfo(vocabulary, window, level, encoding, " " if level == "words" else "",
                         default_prompt=prompt)


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """The distribution p ** (1 / T), renormalised over the last axis; a one-hot argmax below
    GREEDY_BELOW."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, None)
    if not np.isfinite(temperature) or temperature < 0:
        raise GenerationError(f"temperature must be a number of 0 or more (got {temperature})")
    if temperature < GREEDY_BELOW:
        out = np.zeros_like(p)
        np.put_along_axis(out, p.argmax(axis=-1)[..., None], 1.0, axis=-1)
        return out
    logp = np.log(np.maximum(p, 1e-300)) / temperature
    logp -= logp.max(axis=-1, keepdims=True)
    e = np.exp(logp)
    return e / e.sum(axis=-1, keepdims=True)


def sample_token(probabilities: np.ndarray, temperature: float, rng: np.random.Generator) -> int:
    """One token id drawn from ``probabilities`` (1-D) at ``temperature``."""
    p = apply_temperature(probabilities, temperature)
    if temperature < GREEDY_BELOW:
        return int(p.argmax())
    return int(rng.choice(len(p), p=p))


def _probabilities(model: Any, x: np.ndarray) -> np.ndarray:
    import keras

    from dlstudio.compile.outputs import output_is_probability, to_probabilities

    out = keras.ops.convert_to_numpy(model.predict_on_batch(x))  # compiled once: fast per call
    return to_probabilities(out, output_is_probability(model))


def prompt_ids(info: TextModelInfo, prompt: str) -> list[int]:
    """The prompt as token ids; a GenerationError names unknown characters or a short prompt."""
    try:
        ids = encode_tokens(prompt, list(info.vocabulary), info.level).tolist()
    except DatasetError as exc:
        raise GenerationError(f"the prompt {prompt!r} has {exc}") from None
    if len(ids) < info.window:
        unit = "characters" if info.level == "characters" else "words"
        raise GenerationError(f"the model reads {info.window} {unit} at a time, but the prompt {prompt!r} has "
                              f"{len(ids)}: give at least {info.window}")
    return ids


def generate(model: Any, info: TextModelInfo, prompt: str, length: int = 200, temperature: float = 1.0,
             seed: int = 0) -> str:
    """``length`` tokens generated after ``prompt`` (the continuation only, as text)."""
    if info.is_translation:
        raise GenerationError("a translation model translates, it does not continue a text: use translate")
    if not 1 <= int(length) <= MAX_LENGTH:
        raise GenerationError(f"length must be between 1 and {MAX_LENGTH} tokens (got {length})")
    ids = prompt_ids(info, prompt)
    rng = np.random.default_rng(seed)
    size = len(info.vocabulary)
    out: list[int] = []
    for _ in range(int(length)):
        window = np.array([ids[-info.window:]], dtype="int64")
        probs = _probabilities(model, model_input(window, size, info.encoding))[0]
        if probs.shape[-1] != size:
            raise GenerationError(f"the model gives {probs.shape[-1]} values per step but the vocabulary has "
                                  f"{size} tokens: it was not trained on this dataset")
        token = sample_token(probs, temperature, rng)
        ids.append(token)
        out.append(token)
    text = join_tokens([info.vocabulary[i] for i in out], info.separator)
    return (info.separator + text) if info.separator and text and text[0] not in ".,;:!?)\n" else text


def translate(model: Any, info: TextModelInfo, sources: Sequence[str]) -> list[str]:
    """Greedy translations of ``sources`` by a model trained on the ``translation`` dataset."""
    if not info.is_translation:
        raise GenerationError("translate needs a model trained on the translation dataset")
    sources = list(sources)
    if not sources:
        return []
    vocab = list(info.vocabulary)
    rows = []
    for s in sources:
        if len(s) != info.source_length:
            raise GenerationError(f"{s!r} has {len(s)} characters; this model translates sources of exactly "
                                  f"{info.source_length}, such as {info.default_prompt!r}")
        try:
            rows.append(encode_tokens(s, vocab))
        except DatasetError as exc:
            raise GenerationError(f"{s!r} has {exc}") from None
    x = np.zeros((len(sources), info.source_length + info.target_length), dtype="int64")
    x[:, :info.source_length] = np.stack(rows)
    x[:, info.source_length] = vocab.index(info.start)
    predicted = np.zeros((len(sources), info.target_length), dtype="int64")
    for t in range(info.target_length):
        probs = _probabilities(model, x)
        if probs.ndim != 3 or probs.shape[1] != info.target_length:
            raise GenerationError(f"the model gives outputs of shape {probs.shape[1:]}, not one character per "
                                  f"target step ({info.target_length}, {len(vocab)}): it is not a seq2seq "
                                  "model for this dataset")
        predicted[:, t] = probs[:, t].argmax(axis=-1)
        if t + 1 < info.target_length:
            x[:, info.source_length + t + 1] = predicted[:, t]
    return [decode(row, vocab) for row in predicted]


def character_accuracy(predictions: Sequence[str], targets: Sequence[str]) -> tuple[float, float]:
    """(share of characters right, share of whole strings right) of greedy translations."""
    if not targets:
        return 0.0, 0.0
    chars = sum(sum(a == b for a, b in zip(p, t)) for p, t in zip(predictions, targets))
    total = sum(len(t) for t in targets)
    exact = sum(p == t for p, t in zip(predictions, targets))
    return chars / total, exact / len(targets)
