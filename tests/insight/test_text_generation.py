"""Sampling with a temperature, text generation from a model, greedy seq2seq decoding,
and the epoch-end text sampler."""

from __future__ import annotations

import numpy as np
import pytest

from dlstudio.data import load_dataset
from dlstudio.inference.text_generation import (
    GenerationError,
    apply_temperature,
    character_accuracy,
    generate,
    sample_token,
    text_model_info,
    translate,
)


def entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log(p)).sum())


def test_temperature_reshapes_the_distribution():
    p = np.array([0.1, 0.6, 0.3])
    np.testing.assert_allclose(apply_temperature(p, 1.0), p)
    np.testing.assert_array_equal(apply_temperature(p, 0.0), [0, 1, 0])  # the argmax
    sharp, flat = apply_temperature(p, 0.5), apply_temperature(p, 3.0)
    np.testing.assert_allclose(sharp, p ** 2 / (p ** 2).sum())
    assert entropy(sharp) < entropy(p) < entropy(flat) < np.log(3)
    with pytest.raises(GenerationError, match="temperature"):
        apply_temperature(p, -1)


def test_sampling_is_seeded_and_low_temperature_is_the_argmax():
    p = np.array([0.2, 0.3, 0.5])
    draws = [sample_token(p, 1.0, np.random.default_rng(s)) for s in range(200)]
    assert set(draws) == {0, 1, 2} and abs(draws.count(2) / 200 - 0.5) < 0.12
    again = [sample_token(p, 1.0, np.random.default_rng(s)) for s in range(200)]
    assert draws == again
    assert {sample_token(p, 1e-4, np.random.default_rng(s)) for s in range(50)} == {2}


def successor_model(strength: float):
    """A hand-set Keras model over the hello vocabulary (h e l o): it reads 3 ids and
    scores the successor of the last one (id + 1 mod 4) ``strength`` above the others."""
    import keras

    x = keras.Input((3,), dtype="int32")
    e = keras.layers.Embedding(4, 4, embeddings_initializer="identity", name="ids")(x)
    last = keras.layers.Cropping1D((2, 0))(e)
    flat = keras.layers.Flatten()(last)
    out = keras.layers.Dense(4, activation="softmax", use_bias=False, name="next")(flat)
    model = keras.Model(x, out)
    model.get_layer("next").set_weights([strength * np.roll(np.eye(4), 1, axis=1)])
    return model


@pytest.fixture(scope="module")
def hello_info():
    return text_model_info(load_dataset("hello", {"wrap": True}))


def test_generate_follows_the_model_at_low_temperature(hello_info):
    model = successor_model(10.0)
    assert hello_info.vocabulary == ("h", "e", "l", "o") and hello_info.window == 3
    assert generate(model, hello_info, "hel", 6, temperature=0.0) == "ohelo" + "h"
    assert generate(model, hello_info, "hello", 2, temperature=0.0) == "he"  # reads only the last 3


def test_generated_text_is_deterministic_with_a_seed(hello_info):
    model = successor_model(1.0)  # weak preferences: sampling really varies
    a = generate(model, hello_info, "hel", 40, temperature=1.0, seed=7)
    assert a == generate(model, hello_info, "hel", 40, temperature=1.0, seed=7)
    assert a != generate(model, hello_info, "hel", 40, temperature=1.0, seed=8)
    greedy = generate(model, hello_info, "hel", 40, temperature=0.0, seed=1)
    assert greedy == generate(model, hello_info, "hel", 40, temperature=0.0, seed=2) == ("ohel" * 10)


def test_bad_prompts_say_why(hello_info):
    model = successor_model(1.0)
    with pytest.raises(GenerationError, match="at least 3"):
        generate(model, hello_info, "he", 5)
    with pytest.raises(GenerationError, match="'x'"):
        generate(model, hello_info, "hex", 5)
    with pytest.raises(GenerationError, match="not a text dataset"):
        text_model_info(load_dataset("xor", {"samples": 20}))


def test_one_hot_models_get_one_hot_windows():
    import keras

    d = load_dataset("hello", {"wrap": True, "encoding": "one_hot"})
    info = text_model_info(d)
    assert info.encoding == "one_hot"
    x = keras.Input((3, 4))
    last = keras.layers.Cropping1D((2, 0))(x)
    out = keras.layers.Dense(4, activation="softmax", use_bias=False)(keras.layers.Flatten()(last))
    model = keras.Model(x, out)
    model.layers[-1].set_weights([10 * np.roll(np.eye(4), 1, axis=1)])
    assert generate(model, info, "hel", 4, temperature=0.0) == "ohel"


class Echo:
    """A stand-in seq2seq model whose output at step t is the decoder input at step t
    plus one: greedy decoding must feed each prediction back to get start+1, start+2, ..."""

    layers: list = []

    def __init__(self, source_length: int, vocabulary_size: int):
        self.s, self.v = source_length, vocabulary_size
        self.calls = 0

    def predict_on_batch(self, x):
        self.calls += 1
        decoder = x[:, self.s:]
        logits = np.full((*decoder.shape, self.v), -20.0, dtype="float32")
        np.put_along_axis(logits, ((decoder + 1) % self.v)[..., None], 20.0, axis=-1)
        return logits


def test_greedy_decoding_feeds_predictions_back():
    d = load_dataset("translation", {"task": "reverse", "samples": 50, "digits": 4})
    info = text_model_info(d)
    assert info.is_translation and info.source_length == 4 and info.target_length == 4
    model = Echo(4, len(info.vocabulary))
    out = translate(model, info, ["1234", "9999"])
    # start '^' is id 0 -> '0' (id 1) -> '1' -> '2' -> '3'
    assert out == ["0123", "0123"] and model.calls == 4
    with pytest.raises(GenerationError, match="exactly 4"):
        translate(model, info, ["123"])
    with pytest.raises(GenerationError, match="translate"):
        generate(model, info, "1234", 3)


def test_character_accuracy():
    assert character_accuracy(["abc", "abd"], ["abc", "abc"]) == (5 / 6, 0.5)


def test_text_sampler_emits_a_sample_each_epoch_and_follows_its_settings():
    from dlstudio.graph import Graph
    from dlstudio.training.engine import train
    from dlstudio.training.events import TextSample
    from dlstudio.training.sequence_callbacks import SampleSettings, sequence_callbacks

    d = load_dataset("hello", {"wrap": True, "repeats": 20})
    g = Graph()
    inp = g.add_node("Input", {"shape": [3], "dtype": "int32"}, name="chars")
    emb = g.add_node("Embedding", {"input_dim": 4, "output_dim": 8}, name="vectors")
    rnn = g.add_node("LSTM", {"units": 16}, name="lstm")
    out = g.add_node("Dense", {"units": 4, "activation": "softmax"}, name="next")
    for a, b in ((inp, emb), (emb, rnn), (rnn, out)):
        g.connect(a.id, b.id)
    events: list = []
    settings = SampleSettings("hel", temperature=0.0, length=10)

    class Changer:  # the GUI's slider, moved after the first sample
        def __call__(self, ev):
            events.append(ev)
            if isinstance(ev, TextSample) and ev.epoch == 1:
                settings.update(temperature=1.5, prompt="ohe")

    callbacks = sequence_callbacks(d, Changer(), settings, sample_budget=0.0)  # every epoch
    train(g, d, {"epochs": 3, "batch_size": 16, "learning_rate": 0.05}, emit=events.append, callbacks=callbacks)
    samples = [e for e in events if isinstance(e, TextSample)]
    assert [s.epoch for s in samples] == [1, 2, 3]
    assert samples[0].prompt == "hel" and samples[0].temperature == 0.0 and len(samples[0].text) == 10
    assert set(samples[0].text) <= set("helo")
    assert samples[1].prompt == "ohe" and samples[1].temperature == 1.5
    assert sequence_callbacks(load_dataset("reviews", {"samples": 40}), events.append) == []

    # sampling that would cost more than the training is thinned out; the last epoch is always sampled
    events.clear()
    thin = sequence_callbacks(d, events.append, SampleSettings("hel", length=5), sample_budget=1e9)
    train(g, d, {"epochs": 4, "batch_size": 16}, emit=events.append, callbacks=thin)
    assert [e.epoch for e in events if isinstance(e, TextSample)] == [1, 4]
    events.clear()
    off = sequence_callbacks(d, events.append, SampleSettings("hel", enabled=False))
    train(g, d, {"epochs": 1, "batch_size": 16}, emit=events.append, callbacks=off)
    assert not [e for e in events if isinstance(e, TextSample)]
