"""SequenceGenerator: continues a character pattern and a sine, temperature controls entropy,
random_state repeats, bad input raises typed errors."""

from __future__ import annotations

import math
from collections import Counter

import numpy as np
import pytest
from sklearn.base import clone

pytest.importorskip("keras")

from anomaly.errors import ConfigError, DataError, ModelFileError, NotFittedError  # noqa: E402
from anomaly.nn.generator import SequenceGenerator, load_generator  # noqa: E402

SINE_PERIOD = 25


def conditional_entropy(text: str) -> float:
    """H(next char | char) in bits, estimated from the bigrams of ``text``: 0 for a fixed cycle."""
    pairs, firsts, n = Counter(zip(text, text[1:])), Counter(text[:-1]), len(text) - 1
    return -sum(c / n * math.log2(c / firsts[a]) for (a, _), c in pairs.items())


def sine(start: int, stop: int) -> np.ndarray:
    return np.sin(2 * np.pi * np.arange(start, stop) / SINE_PERIOD).astype(np.float32)


@pytest.fixture(scope="module")
def chars():
    return SequenceGenerator(window=6, units=(16,), embedding=4, epochs=10, batch_size=32).fit("abcd" * 100)


@pytest.fixture(scope="module")
def trace():
    return SequenceGenerator(window=12, units=(16,), epochs=20, batch_size=32).fit(sine(0, 1200))


def test_fit_returns_self_and_sets_fitted_attributes(chars):
    assert chars.mode_ == "char" and chars.vocabulary_ == "abcd"
    assert chars.context_ == ("abcd" * 100)[-6:]
    assert len(chars.history_["loss"]) == 10 and chars.history_["loss"][-1] < chars.history_["loss"][0]
    assert chars.model_.output_shape == (None, 4)
    assert not hasattr(clone(chars), "model_")


def test_low_temperature_continues_the_character_pattern(chars):
    assert chars.sample(40, seed="cdabcd", temperature=0) == "abcd" * 10
    assert chars.sample(40, seed="bcdabc", temperature=0.2) == "dabc" * 10
    assert chars.sample(8) == chars.sample(8, seed=chars.context_)  # default seed: the end of the training text


def test_high_temperature_raises_the_entropy(chars):
    cold = chars.sample(300, seed="abcdab", temperature=0.2)
    hot = chars.sample(300, seed="abcdab", temperature=5.0)
    assert set(hot) <= set("abcd")
    assert conditional_entropy(cold) < 0.1
    assert conditional_entropy(hot) > 1.0


def test_random_state_makes_sampling_repeatable(chars):
    first = chars.sample(50, temperature=2.0)
    assert chars.sample(50, temperature=2.0) == first
    assert chars.sample(50, temperature=2.0, random_state=1) != first


def test_fit_is_repeatable_with_a_seed(chars):
    again = clone(chars).fit("abcd" * 100)
    for w_again, w in zip(again.model_.get_weights(), chars.model_.get_weights(), strict=True):
        np.testing.assert_array_equal(w_again, w)


def test_zero_temperature_continues_a_sine(trace):
    assert trace.mode_ == "float" and trace.n_channels_ == 1
    out = trace.sample(2 * SINE_PERIOD, seed=sine(0, 100), temperature=0)
    assert out.shape == (2 * SINE_PERIOD,) and out.dtype == np.float32
    np.testing.assert_allclose(out, sine(100, 100 + 2 * SINE_PERIOD), atol=0.05)


def test_trace_temperature_scales_the_noise(trace):
    truth = sine(100, 125)
    cold = np.abs(trace.sample(25, seed=sine(0, 100), temperature=0) - truth).mean()
    hot = np.abs(trace.sample(25, seed=sine(0, 100), temperature=20) - truth).mean()
    assert hot > 3 * cold


def test_multichannel_trace_keeps_its_shape_and_units():
    t = np.arange(300)
    values = np.stack([np.sin(t / 4), 100 + 5 * np.cos(t / 4)], axis=1)
    gen = SequenceGenerator(window=8, units=(8,), epochs=2).fit(values)
    out = gen.sample(5, temperature=0)
    assert out.shape == (5, 2)
    assert abs(out[:, 1].mean() - 100) < 10  # de-standardised back to the second channel's units


@pytest.mark.parametrize(
    "params, data, error, message",
    [
        ({"window": 8}, "abcabc", DataError, r"sequence has 6 items; need more than window=8"),
        ({}, np.array([1.0, np.nan] * 40), DataError, r"sequence: 40 NaN/inf value\(s\), first at row 1"),
        ({}, np.zeros((50, 2, 2)), DataError, r"got shape \(50, 2, 2\)"),
        ({}, ["a", "b"] * 40, DataError, r"expected a str or numbers"),
        ({"window": 0}, "abcabc", ConfigError, r"window=0 is not allowed"),
        ({"cell": "lstmx", "epochs": 1}, "abc" * 20, ConfigError, r"cell='lstmx' is not one of"),
        ({"epochs": 0}, "abc" * 20, ConfigError, r"epochs=0 is not allowed"),
    ],
)
def test_bad_fit_input(params, data, error, message):
    with pytest.raises(error, match=message):
        SequenceGenerator(**params).fit(data)


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"n_steps": -1}, ConfigError, r"n_steps=-1 is not allowed"),
        ({"n_steps": 5, "temperature": -0.5}, ConfigError, r"temperature=-0.5 is not allowed"),
        ({"n_steps": 5, "temperature": float("nan")}, ConfigError, r"temperature=nan is not allowed"),
        ({"n_steps": 5, "seed": "abcdxy"}, DataError, r"characters outside the vocabulary 'abcd': \['x', 'y'\]"),
        ({"n_steps": 5, "seed": "abc"}, DataError, r"seed has 3 items; need at least window=6"),
        ({"n_steps": 5, "seed": np.zeros(10)}, DataError, r"seed must be a str for a generator fitted on text"),
    ],
)
def test_bad_sample_input(chars, kwargs, error, message):
    with pytest.raises(error, match=message):
        chars.sample(**kwargs)


def test_bad_trace_seed_and_unfitted(trace):
    with pytest.raises(DataError, match="seed must be numbers"):
        trace.sample(3, seed="abc" * 10)
    with pytest.raises(DataError, match=r"seed has 2 channel\(s\); the generator was fitted on 1"):
        trace.sample(3, seed=np.zeros((20, 2)))
    with pytest.raises(NotFittedError, match="not fitted"):
        SequenceGenerator().sample(3)
    assert trace.sample(0).shape == (0,)


@pytest.mark.parametrize("data, seed", [
    ("abcd" * 30, "dabcda"),
    (np.stack([np.sin(np.arange(120) / 4), 10 + np.cos(np.arange(120) / 4)], axis=1), None),
])
def test_save_load_round_trip_gives_identical_samples(tmp_path, data, seed):
    gen = SequenceGenerator(window=6, units=(4,), embedding=2, epochs=1, batch_size=32).fit(data)
    gen.save(tmp_path / "gen")
    assert sorted(p.name for p in (tmp_path / "gen").iterdir()) == ["generator.json", "model.keras"]
    loaded = load_generator(tmp_path / "gen")
    assert loaded.get_params() == gen.get_params() and loaded.history_ == gen.history_
    for temperature in (0.0, 1.5):
        expected = gen.sample(12, seed=seed, temperature=temperature)
        got = loaded.sample(12, seed=seed, temperature=temperature)
        if isinstance(expected, str):
            assert got == expected
        else:
            np.testing.assert_array_equal(got, expected)


def test_load_refuses_a_bad_directory(tmp_path, chars):
    with pytest.raises(ModelFileError, match="generator directory not found"):
        load_generator(tmp_path / "nope")
    chars.save(tmp_path / "gen")
    meta = tmp_path / "gen" / "generator.json"
    meta.write_text(meta.read_text().replace('"format_version": 1', '"format_version": 2'))
    with pytest.raises(ModelFileError, match="saved with generator format 2"):
        load_generator(tmp_path / "gen")
    (tmp_path / "gen" / "model.keras").write_bytes(b"not a zip")
    meta.write_text(meta.read_text().replace('"format_version": 2', '"format_version": 1'))
    with pytest.raises(ModelFileError, match="cannot load Keras model"):
        load_generator(tmp_path / "gen")
    with pytest.raises(NotFittedError):
        SequenceGenerator().save(tmp_path / "unfitted")
