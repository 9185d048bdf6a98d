"""Recurrent building blocks: stacked SimpleRNN/LSTM/GRU layers in three model shapes.

===========  =============================  ==================================
builder      input                          output
===========  =============================  ==================================
seq2vec      (batch, steps, features)       (batch, outputs)
seq2seq      (batch, steps, features)       (batch, steps, outputs)
vec2seq      (batch, features)              (batch, steps, outputs)
===========  =============================  ==================================

Each builder returns an uncompiled functional ``keras.Model`` made of Keras layers only, so
it runs under any Keras backend and saves and loads with ``safe_mode=True``. The tensor-level
helpers :func:`recurrent_stack` and :func:`repeat_decoder` are what the builders (and the
recurrent detectors) are made of.
"""

from __future__ import annotations

import keras
from keras import layers

from anomaly.errors import ConfigError
from anomaly.validation import check_dropout, check_number

#: Recurrent cell types: ``"rnn"`` is ``keras.layers.SimpleRNN``.
CELLS = ("rnn", "lstm", "gru")
_LAYERS = {"rnn": layers.SimpleRNN, "lstm": layers.LSTM, "gru": layers.GRU}


def _check_units(units) -> tuple[int, ...]:
    """``units`` as a tuple of positive ints (one per stacked layer)."""
    widths = (units,) if isinstance(units, int) else tuple(units) if isinstance(units, (tuple, list)) else ()
    if not widths:
        raise ConfigError(f"units={units!r} must be a positive int or a non-empty sequence of positive ints")
    return tuple(check_number("units", w, low=1, integer=True) for w in widths)


def recurrent_layer(cell: str, units: int, *, return_sequences: bool, dropout: float = 0.0, name: str | None = None):
    """One ``SimpleRNN``, ``LSTM`` or ``GRU`` layer with input dropout ``dropout`` (training only).

    Raises
    ------
    ConfigError
        If ``cell`` is not one of :data:`CELLS` or ``dropout`` is outside [0, 1).
    """
    if cell not in CELLS:
        raise ConfigError(f"cell={cell!r} is not one of {list(CELLS)}")
    return _LAYERS[cell](units, return_sequences=return_sequences, dropout=check_dropout(dropout), name=name)


def recurrent_stack(x, cell: str, units, *, dropout: float = 0.0, return_sequences: bool = False):
    """Stacked recurrent layers over ``x`` (batch, steps, features).

    Every layer but the last returns its full sequence (the next layer reads it); the last
    returns its final state, (batch, units[-1]), or with ``return_sequences`` its sequence,
    (batch, steps, units[-1]).
    """
    widths = _check_units(units)
    for i, width in enumerate(widths):
        last = i == len(widths) - 1
        x = recurrent_layer(cell, width, return_sequences=return_sequences or not last, dropout=dropout)(x)
    return x


def repeat_decoder(code, steps: int, cell: str, units, *, dropout: float = 0.0):
    """Repeat a vector ``code`` (batch, features) over ``steps`` and run stacked recurrent
    layers that return sequences: (batch, steps, units[-1])."""
    x = layers.RepeatVector(check_number("steps", steps, low=1, integer=True))(code)
    return recurrent_stack(x, cell, units, dropout=dropout, return_sequences=True)


def _head(x, outputs: int, activation):
    """A Dense projection to ``outputs`` on the last axis."""
    check_number("outputs", outputs, low=1, integer=True)
    try:
        keras.activations.get(activation)
    except ValueError as exc:  # an unknown activation name
        raise ConfigError(f"activation={activation!r} is not a Keras activation ({exc})") from None
    return layers.Dense(outputs, activation=activation, name="head")(x)


def _sequence_input(input_shape):
    """``keras.Input`` for (steps, features); ``steps`` may be None (any length)."""
    if not isinstance(input_shape, (tuple, list)) or len(input_shape) != 2:
        raise ConfigError(f"input_shape={input_shape!r} must be (steps, features)")
    steps, features = input_shape
    if steps is not None:
        check_number("steps", steps, low=1, integer=True)
    return keras.Input((steps, check_number("features", features, low=1, integer=True)))


def seq2vec(input_shape, outputs: int, *, cell: str = "lstm", units=(32,), dropout: float = 0.0, activation=None,
            name: str = "seq2vec"):
    """Sequence -> vector: classify or regress a window from its last recurrent state.

    Parameters
    ----------
    input_shape : (steps, features)
        ``steps`` may be None for variable-length input.
    outputs : int
        Width of the Dense head (classes, or regression targets).
    cell : {"rnn", "lstm", "gru"}, default="lstm"
    units : int or sequence of int, default=(32,)
        Width of each stacked recurrent layer, input side first.
    dropout : float, default=0.0
        Input dropout of every recurrent layer (training only), in [0, 1).
    activation : str or None, default=None
        Head activation (None: linear, e.g. logits or regression; "softmax" for probabilities).

    Returns
    -------
    keras.Model
        (batch, steps, features) -> (batch, outputs).

    Examples
    --------
    >>> model = seq2vec((32, 6), 3, cell="gru", units=(32, 16), activation="softmax")
    >>> model.output_shape
    (None, 3)
    """
    inputs = _sequence_input(input_shape)
    state = recurrent_stack(inputs, cell, units, dropout=dropout)
    return keras.Model(inputs, _head(state, outputs, activation), name=name)


def seq2seq(input_shape, outputs: int, *, cell: str = "lstm", units=(32,), dropout: float = 0.0, activation=None,
            name: str = "seq2seq"):
    """Sequence -> sequence of the same length: one output vector per input step.

    Parameters as for :func:`seq2vec`. Every recurrent layer returns sequences and the Dense
    head is applied at each step.

    Returns
    -------
    keras.Model
        (batch, steps, features) -> (batch, steps, outputs).
    """
    inputs = _sequence_input(input_shape)
    sequence = recurrent_stack(inputs, cell, units, dropout=dropout, return_sequences=True)
    return keras.Model(inputs, _head(sequence, outputs, activation), name=name)


def vec2seq(input_dim: int, steps: int, outputs: int, *, cell: str = "lstm", units=(32,), dropout: float = 0.0,
            activation=None, name: str = "vec2seq"):
    """Vector -> sequence: ``RepeatVector(steps)`` then a recurrent decoder (e.g. an autoencoder's
    decoder from its code).

    Parameters
    ----------
    input_dim : int
        Width of the input vector.
    steps : int
        Length of the output sequence.
    outputs, cell, units, dropout, activation
        As for :func:`seq2vec`.

    Returns
    -------
    keras.Model
        (batch, input_dim) -> (batch, steps, outputs).
    """
    inputs = keras.Input((check_number("input_dim", input_dim, low=1, integer=True),))
    sequence = repeat_decoder(inputs, steps, cell, units, dropout=dropout)
    return keras.Model(inputs, _head(sequence, outputs, activation), name=name)
