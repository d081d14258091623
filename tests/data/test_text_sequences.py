"""Text preparation: character and word vocabularies, ids and one-hot rows, windows,
the hello word that wraps, the generated reviews and per-step labels."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.data import DatasetError, load_dataset
from dlstudio.data.prepare import input_changes, labels_for_loss
from dlstudio.data.reviews import NEGATIVE, POSITIVE
from dlstudio.data.text import (
    UNKNOWN,
    decode,
    encode_tokens,
    join_tokens,
    one_hot,
    tokenize_words,
    word_vocabulary,
)


def test_words_tokenize_and_round_trip_through_a_vocabulary():
    text = "Flat is better than nested.\nSparse is better than dense, isn't it?"
    tokens = tokenize_words(text)
    assert tokens[:6] == ["flat", "is", "better", "than", "nested", "."]
    assert "\n" in tokens and "isn't" in tokens and tokens[-1] == "?"
    vocab = word_vocabulary(tokens, 1000)
    assert vocab[0] == UNKNOWN and vocab[1:4] == ["is", "better", "than"]  # most frequent first
    ids = encode_tokens(text, vocab, "words")
    assert decode(ids, vocab, " ") == "flat is better than nested.\nsparse is better than dense, isn't it?"


def test_rare_words_become_unknown_and_unknown_characters_are_named():
    vocab = word_vocabulary(tokenize_words("a a a b b c"), 3)
    assert vocab == [UNKNOWN, "a", "b"]
    assert decode(encode_tokens("a c b zebra", vocab, "words"), vocab, " ") == "a <unk> b <unk>"
    with pytest.raises(DatasetError, match="'z'"):
        encode_tokens("hez", ["h", "e", "l", "o"])


def test_join_tokens_spaces_words_but_not_punctuation():
    assert join_tokens(["hello", ",", "world", "(", "again", ")", "!"], " ") == "hello, world (again)!"
    assert join_tokens(list("abc")) == "abc"


def test_one_hot_rows_match_the_ids():
    ids = np.array([[0, 2, 1], [3, 3, 0]])
    rows = one_hot(ids, 4)
    assert rows.shape == (2, 3, 4) and rows.dtype == np.float32
    np.testing.assert_array_equal(rows.argmax(-1), ids)
    np.testing.assert_array_equal(rows.sum(-1), 1.0)


def test_hello_wraps_around_and_one_hot_encodes():
    d = load_dataset("hello", {"wrap": True, "encoding": "one_hot"})
    assert d.x_test.shape == (5, 3, 4) and d.x_train.dtype == np.float32
    pairs = [(decode(x.argmax(-1), d.vocabulary), d.vocabulary[y]) for x, y in zip(d.x_test, d.y_test)]
    assert pairs == [("hel", "l"), ("ell", "o"), ("llo", "h"), ("loh", "e"), ("ohe", "l")]
    assert d.meta["encoding"] == "one_hot" and d.meta["window"] == 3
    plain = load_dataset("hello")
    assert plain.x_test.shape == (2, 3) and plain.x_test.dtype == np.int64  # default unchanged


def test_text_corpus_at_word_level_windows_consecutive_tokens():
    from dlstudio.data.text import build_corpus

    d = load_dataset("text_corpus", {"level": "words", "window": 6, "step": 1, "max_chars": 4000,
                                     "max_words": 50, "test_fraction": 0.2})
    assert d.vocabulary[0] == UNKNOWN and len(d.vocabulary) == 50 == d.num_classes
    assert d.input_shape == (6,) and d.meta["level"] == "words" and d.meta["separator"] == " "
    ids = encode_tokens(build_corpus()[:4000], d.vocabulary, "words")
    windows = {tuple(ids[i:i + 7]) for i in range(len(ids) - 6)}
    for x, y in zip(d.x_train[:50], d.y_train[:50]):
        assert (*x.tolist(), int(y)) in windows


def test_text_corpus_one_hot_input_is_float_and_the_input_node_follows():
    from dlstudio.graph import Graph

    d = load_dataset("text_corpus", {"window": 10, "step": 20, "max_chars": 2000, "encoding": "one_hot"})
    assert d.x_train.shape[1:] == (10, len(d.vocabulary)) and d.x_train.dtype == np.float32
    g = Graph()
    g.add_node("Input", {"shape": [10]}, name="x")
    assert input_changes(g, d) == {"shape": [10, len(d.vocabulary)]}  # float32 input: no int dtype
    ids = load_dataset("text_corpus", {"window": 10, "step": 20, "max_chars": 2000})
    assert input_changes(g, ids) == {"dtype": "int32"}


def test_sequence_labels_are_kept_or_one_hot_and_checked():
    y = np.array([[1, 2, 0], [2, 2, 1]])  # a class per step; 3 steps and 3 classes is not one-hot
    np.testing.assert_array_equal(labels_for_loss(y, "sparse_categorical_crossentropy", 3), y)
    hot = labels_for_loss(y, "categorical_crossentropy", 3)
    assert hot.shape == (2, 3, 3) and (hot.argmax(-1) == y).all()
    with pytest.raises(DatasetError, match="3 classes"):
        labels_for_loss(np.array([[0, 3]]), "sparse_categorical_crossentropy", 3)
    onehot = np.eye(3, dtype=np.int64)[[0, 2]]  # real one-hot rows still become ids
    np.testing.assert_array_equal(labels_for_loss(onehot, "sparse_categorical_crossentropy", 3), [0, 2])


def _oracle(text: str) -> int:
    """The reviews' rule, written independently: the clause after 'but' decides; 'not' flips."""
    clause = text.split(" but ")[-1].split(" and ")[0]
    words = clause.split()
    positive = any(w in POSITIVE for w in words)
    assert positive != any(w in NEGATIVE for w in words)
    return int(positive != ("not" in words))


def test_reviews_labels_follow_negation_and_but():
    d = load_dataset("reviews", {"samples": 400, "length": 24}, seed=3)
    texts = d.meta["texts"]
    assert len(texts) == len(d.x_test) == 80 and d.class_names == ["negative", "positive"]
    assert [_oracle(t) for t in texts] == d.y_test.tolist()
    assert any(" but " in t for t in texts) and any(" not " in t for t in texts)
    for t, x in zip(texts, d.x_test):  # front-padded word ids decode back to the text
        assert decode(x[x > 0], d.vocabulary, " ") == t
    assert 0.35 < d.y_train.mean() < 0.65
    same = load_dataset("reviews", {"samples": 400}, seed=3)
    np.testing.assert_array_equal(same.x_train, d.x_train)


@pytest.mark.parametrize("name, options, word", [
    ("reviews", {"samples": 5}, "samples"),
    ("hello", {"encoding": "utf8"}, "encoding"),
    ("text_corpus", {"level": "sentences"}, "level"),
])
def test_bad_options_say_what_is_wrong(name, options, word):
    with pytest.raises(DatasetError, match=word):
        load_dataset(name, options)


def test_previews_decode_one_hot_inputs_and_per_step_targets():
    from dlstudio.data.grid import text_samples

    hello = load_dataset("hello", {"wrap": True, "encoding": "one_hot"})
    assert text_samples(hello, 5, split="test") == [("hel", "l"), ("ell", "o"), ("llo", "h"), ("loh", "e"),
                                                    ("ohe", "l")]
    dates = load_dataset("translation", {"samples": 50})
    source, target = text_samples(dates, 1, split="test")[0]
    assert source.startswith(dates.meta["sources"][0] + "^") and target == dates.meta["targets"][0]


def test_prediction_inputs_follow_the_text_encoding(tmp_path):
    """dlstudio predict / the predict panel read a text file as the dataset's model takes it."""
    from dlstudio.training.evaluate import read_input_file

    path = tmp_path / "in.txt"
    path.write_text("say hel", encoding="utf-8")
    hello = load_dataset("hello", {"wrap": True, "encoding": "one_hot"})
    x = read_input_file(path, (3, 4), hello)
    assert x.shape == (1, 3, 4) and decode(x[0].argmax(-1), hello.vocabulary) == "hel"
    reviews = load_dataset("reviews", {"samples": 40})
    path.write_text("The plot was not good, but the music was superb", encoding="utf-8")
    x = read_input_file(path, (24,), reviews)
    assert x.shape == (1, 24) and (x[0, :13] == 0).all()  # 10 words and a comma, padded in front
    assert decode(x[0][x[0] > 0], reviews.vocabulary, " ") == "the plot was not good, but the music was superb"
    words = load_dataset("text_corpus", {"level": "words", "window": 4, "max_chars": 3000})
    path.write_text("Beautiful is better than zyzzyva", encoding="utf-8")
    x = read_input_file(path, (4,), words)
    assert decode(x[0], words.vocabulary, " ") == "is better than <unk>"
    path.write_text("two words", encoding="utf-8")
    with pytest.raises(DatasetError, match="2 words; the model reads 4"):
        read_input_file(path, (4,), words)
