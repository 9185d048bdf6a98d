"""Transformer encoder block and positional encoding: shapes, the formula, order sensitivity,
dropout only in training, safe-mode save/load, bad options."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from anomaly.errors import ConfigError  # noqa: E402
from anomaly.nn.attention import PositionalEncoding, TransformerEncoderBlock, sinusoidal_table  # noqa: E402


@pytest.fixture
def x():
    return np.random.default_rng(0).standard_normal((2, 10, 16)).astype(np.float32)


def test_sinusoidal_table_follows_the_formula():
    table = sinusoidal_table(50, 8)
    assert table.shape == (50, 8) and table.dtype == np.float32
    t = np.arange(50)
    np.testing.assert_allclose(table[:, 0], np.sin(t), atol=1e-6)
    np.testing.assert_allclose(table[:, 1], np.cos(t), atol=1e-6)
    np.testing.assert_allclose(table[:, 6], np.sin(t / 10000 ** (6 / 8)), atol=1e-6)
    assert len({row.tobytes() for row in table}) == 50  # every position has its own code


def test_sinusoidal_encoding_adds_the_table_and_has_no_weights(x):
    layer = PositionalEncoding()
    np.testing.assert_allclose(np.asarray(layer(x)), x + sinusoidal_table(10, 16)[None], atol=1e-6)
    assert layer.weights == []


def test_learned_encoding_is_a_trainable_table_sized_by_the_input(x):
    layer = PositionalEncoding("learned")
    np.testing.assert_array_equal(np.asarray(layer(x)), x)  # zero-initialised
    assert [tuple(w.shape) for w in layer.trainable_weights] == [(10, 16)]
    with pytest.raises(ConfigError, match="needs a fixed number of steps"):
        PositionalEncoding("learned")(keras.Input((None, 16)))


def test_block_keeps_the_shape_and_normalises_each_step(x):
    y = np.asarray(TransformerEncoderBlock(16, 4, 32)(x))
    assert y.shape == x.shape
    np.testing.assert_allclose(y.mean(axis=-1), 0.0, atol=1e-4)  # final LayerNorm, initial gain 1 / bias 0
    np.testing.assert_allclose(y.std(axis=-1), 1.0, atol=1e-2)


def test_self_attention_ignores_order_until_positions_are_encoded(x):
    keras.utils.set_random_seed(0)
    block = TransformerEncoderBlock(16, 2, 32)
    order = np.random.default_rng(1).permutation(10)
    # without positions, permuting the steps permutes the output the same way
    np.testing.assert_allclose(np.asarray(block(x[:, order])), np.asarray(block(x))[:, order], atol=1e-5)
    encode = PositionalEncoding()
    with_positions = np.asarray(block(encode(x[:, order])))
    assert np.abs(with_positions - np.asarray(block(encode(x)))[:, order]).max() > 0.1


def test_dropout_acts_in_training_only(x):
    block = TransformerEncoderBlock(16, 2, 32, dropout=0.5)
    np.testing.assert_array_equal(np.asarray(block(x, training=False)), np.asarray(block(x, training=False)))
    assert np.abs(np.asarray(block(x, training=True)) - np.asarray(block(x, training=False))).max() > 1e-3


def test_model_with_both_layers_round_trips_in_safe_mode(x, tmp_path):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((10, 16))
    h = PositionalEncoding("learned")(inputs)
    outputs = TransformerEncoderBlock(16, 2, 32, dropout=0.1)(TransformerEncoderBlock(16, 2, 32)(h))
    model = keras.Model(inputs, outputs)
    model.layers[1].table.assign(np.full((10, 16), 0.5, np.float32))  # a non-default weight must survive
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_array_equal(loaded.predict_on_batch(x), model.predict_on_batch(x))
    assert loaded.layers[2].get_config()["num_heads"] == 2


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: TransformerEncoderBlock(10, 4, 32), r"d_model=10 must be divisible by num_heads=4"),
        (lambda: TransformerEncoderBlock(16, 0, 32), r"num_heads=0 is not allowed"),
        (lambda: TransformerEncoderBlock(16, 2, 32, dropout=1.0), r"dropout=1.0 must be in \[0, 1\)"),
        (lambda: TransformerEncoderBlock(16, 2, 32)(keras.Input((10, 8))), r"d_model=16\) got inputs of width 8"),
        (lambda: PositionalEncoding("rotary"), r"positional='rotary' is not one of \['sinusoidal', 'learned'\]"),
    ],
)
def test_bad_options_raise_config_error(build, message):
    with pytest.raises(ConfigError, match=message):
        build()
