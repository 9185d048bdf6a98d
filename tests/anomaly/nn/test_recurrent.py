"""Recurrent builders: output shapes, stacking, cell types, a tiny learning task, bad options."""

from __future__ import annotations

import numpy as np
import pytest

keras = pytest.importorskip("keras")

from anomaly.errors import ConfigError  # noqa: E402
from anomaly.nn.recurrent import recurrent_stack, seq2seq, seq2vec, vec2seq  # noqa: E402

KINDS = {"rnn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}


def recurrent_layers(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.RNN)]


@pytest.mark.parametrize("cell", sorted(KINDS))
@pytest.mark.parametrize("units", [(8,), (8, 4)])
def test_builders_give_documented_shapes_and_stack_the_chosen_cell(cell, units):
    x = np.random.default_rng(0).standard_normal((2, 12, 3)).astype(np.float32)
    models = {
        "seq2vec": (seq2vec((12, 3), 5, cell=cell, units=units, dropout=0.1), x, (2, 5)),
        "seq2seq": (seq2seq((12, 3), 5, cell=cell, units=units, dropout=0.1), x, (2, 12, 5)),
        "vec2seq": (vec2seq(6, 12, 5, cell=cell, units=units, dropout=0.1), x[:, 0, :2].repeat(3, axis=1), (2, 12, 5)),
    }
    for name, (model, inputs, shape) in models.items():
        assert model.predict_on_batch(inputs).shape == shape, name
        rnns = recurrent_layers(model)
        assert [type(layer) for layer in rnns] == [KINDS[cell]] * len(units), name
        assert [layer.units for layer in rnns] == list(units), name
        assert all(layer.dropout == pytest.approx(0.1) for layer in rnns), name
    # only seq2vec's last layer collapses the time axis
    assert [layer.return_sequences for layer in recurrent_layers(models["seq2vec"][0])] == [True] * (len(units) - 1) + [False]
    assert all(layer.return_sequences for layer in recurrent_layers(models["seq2seq"][0]))


def test_variable_length_input_and_head_activation():
    model = seq2vec((None, 2), 3, units=4, activation="softmax")
    for steps in (5, 9):
        p = model.predict_on_batch(np.ones((2, steps, 2), np.float32))
        assert p.shape == (2, 3)
        np.testing.assert_allclose(p.sum(axis=1), 1.0, rtol=1e-5)


def test_recurrent_stack_returns_state_or_sequence():
    inputs = keras.Input((7, 2))
    assert tuple(recurrent_stack(inputs, "gru", (6, 3)).shape) == (None, 3)
    assert tuple(recurrent_stack(inputs, "gru", (6, 3), return_sequences=True).shape) == (None, 7, 3)


def test_seq2vec_learns_to_classify_rising_and_falling_windows():
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    slope = rng.choice([-1.0, 1.0], size=300)
    x = (slope[:, None] * np.linspace(-1, 1, 10)[None] + 0.1 * rng.standard_normal((300, 10)))[..., None]
    y = (slope > 0).astype(np.int32)
    model = seq2vec((10, 1), 2, cell="gru", units=(8,), activation="softmax")
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    model.fit(x[:200].astype(np.float32), y[:200], epochs=10, batch_size=32, verbose=0)
    accuracy = (model.predict_on_batch(x[200:].astype(np.float32)).argmax(axis=1) == y[200:]).mean()
    assert accuracy > 0.95


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: seq2vec((12, 3), 2, cell="transformer"), r"cell='transformer' is not one of \['rnn', 'lstm', 'gru'\]"),
        (lambda: seq2vec((12, 3), 2, units=()), r"units=\(\) must be a positive int or a non-empty sequence"),
        (lambda: seq2seq((12, 3), 2, units=(8, 0)), r"units=0 is not allowed: must be an integer >= 1"),
        (lambda: seq2seq((12, 3), 2, units="8"), r"units='8' must be a positive int"),
        (lambda: seq2vec((12, 3), 2, dropout=1.0), r"dropout=1.0 must be in \[0, 1\)"),
        (lambda: seq2vec((12, 3), 0), r"^outputs=0 is not allowed"),
        (lambda: seq2vec((12, 3), 2, dropout="0.1"), r"dropout='0.1' must be in \[0, 1\)"),
        (lambda: seq2vec((12,), 2), r"input_shape=\(12,\) must be \(steps, features\)"),
        (lambda: seq2seq((0, 3), 2), r"steps=0 is not allowed"),
        (lambda: seq2vec((12, 3), 2, activation="nope"), r"activation='nope' is not a Keras activation"),
        (lambda: vec2seq(4, 0, 2), r"steps=0 is not allowed"),
        (lambda: vec2seq(2.5, 3, 2), r"input_dim=2.5 is not allowed"),
    ],
)
def test_bad_options_raise_config_error(build, message):
    with pytest.raises(ConfigError, match=message):
        build()
