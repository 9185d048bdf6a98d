"""Learn a sequence (a sensor trace or a text) and sample new ones with a temperature.

Saved as a directory (no pickle): ``generator.json`` (format version, parameters, mode,
vocabulary or scaler statistics, sampling context, history) and ``model.keras`` (loaded
with ``safe_mode=True`` by :func:`load_generator`).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import keras
import numpy as np
from keras import ops
from sklearn.base import BaseEstimator

from anomaly.base import store_params
from anomaly.errors import DataError, ModelFileError, NotFittedError
from anomaly.files import atomic_directory, decode_param, encode_param, read_saved
from anomaly.nn.backend import load_keras_file
from anomaly.nn.recurrent import seq2vec
from anomaly.scaling import Scaler
from anomaly.validation import check_number
from anomaly.windows import sliding_windows

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_FILE = "generator.json"
MODEL_FILE = "model.keras"

LOG_VAR_RANGE = (-12.0, 8.0)  # clip the predicted log-variance: keeps the NLL finite on noise-free traces


def _gaussian_nll(y_true, y_pred):
    """Per-value Gaussian negative log-likelihood (without the constant) of ``y_true`` (batch, c)
    under ``y_pred`` = [mean | log_var] (batch, 2c)."""
    c = ops.shape(y_true)[-1]
    mean, log_var = y_pred[:, :c], ops.clip(y_pred[:, c:], *LOG_VAR_RANGE)
    return ops.mean(0.5 * (log_var + ops.square(y_true - mean) * ops.exp(-log_var)), axis=-1)


class SequenceGenerator(BaseEstimator):
    """Next-step model of one sequence, sampled autoregressively with a temperature.

    ``fit`` picks the mode from the data:

    * a ``str``: **characters**. Each character is predicted from the ``window`` before it
      (an ``Embedding`` then :func:`~anomaly.nn.recurrent.seq2vec` giving logits over the
      vocabulary, cross-entropy loss). Sampling draws from ``softmax(logits / temperature)``;
      ``temperature=0`` takes the most likely character.
    * an array of numbers, shape (n_steps,) or (n_steps, n_channels): a **float trace**,
      standardised per channel. The network predicts a Gaussian for the next step (mean and
      log-variance per channel, trained by negative log-likelihood). Sampling draws
      ``mean + temperature * std * N(0, 1)``: 1 samples the learnt noise, 0 follows the
      mean (deterministic), above 1 exaggerates the noise.

    Parameters
    ----------
    window : int, default=32
        Context length: steps the network sees to predict the next one.
    cell : {"rnn", "lstm", "gru"}, default="lstm"
    units : int or tuple of int, default=(64,)
        Stacked recurrent layer widths.
    embedding : int, default=16
        Character embedding width (character mode only).
    dropout : float, default=0.0
        Input dropout of the recurrent layers (training only).
    epochs : int, default=20
    batch_size : int, default=64
    learning_rate : float, default=3e-3
        Adam step size.
    random_state : int, default=0
        Seeds the weights, the shuffling and, unless ``sample`` is given its own, the sampling.
    verbose : int, default=0

    Attributes
    ----------
    mode_ : {"char", "float"}
    model_ : keras.Model
        Char: (batch, window) int ids -> (batch, n_vocabulary) logits. Float: (batch, window,
        n_channels) -> (batch, 2 * n_channels) = [mean | log_var] of the next standardised step.
    vocabulary_ : str
        Char mode: the sorted distinct characters; a character's id is its position.
    scaler_ : pipelines.preprocess.Scaler
        Float mode: the per-channel standardisation.
    n_channels_ : int
        Float mode: channels (1 for a 1-D trace).
    context_ : str or ndarray of shape (window,) or (window, n_channels)
        The last ``window`` items of the training sequence: the default ``seed`` of :meth:`sample`.
    history_ : dict[str, list[float]]
        Per-epoch training ``loss``.

    Examples
    --------
    >>> gen = SequenceGenerator(window=8, units=(32,), epochs=30).fit("abc" * 200)  # doctest: +SKIP
    >>> gen.sample(9, seed="abcabcab", temperature=0)  # doctest: +SKIP
    'cabcabcab'
    """

    def __init__(self, window=32, *, cell="lstm", units=(64,), embedding=16, dropout=0.0, epochs=20, batch_size=64,
                 learning_rate=3e-3, random_state=0, verbose=0):
        store_params(self, locals())

    # -- fitting -------------------------------------------------------------
    def fit(self, sequence, y=None):
        """Learn next-step prediction on ``sequence`` (a ``str``, or numbers of shape (n,) or (n, c)).

        Returns
        -------
        self

        Raises
        ------
        DataError
            If the sequence is empty, not text or numbers, holds NaN/inf, or has no more than
            ``window`` items (nothing to predict).
        ConfigError
            If a parameter is out of range.
        """
        check_number("window", self.window, low=1, integer=True)
        check_number("epochs", self.epochs, low=1, integer=True)
        check_number("batch_size", self.batch_size, low=1, integer=True)
        check_number("learning_rate", self.learning_rate, low=0, low_open=True)
        keras.utils.set_random_seed(int(self.random_state))  # weights, dropout and shuffling
        if isinstance(sequence, str):
            inputs, targets, model, loss = self._char_setup(sequence)
        else:
            inputs, targets, model, loss = self._float_setup(sequence)
        model.compile(optimizer=keras.optimizers.Adam(self.learning_rate), loss=loss)
        history = model.fit(inputs, targets, epochs=self.epochs, batch_size=self.batch_size, shuffle=True,
                            verbose=self.verbose)
        self.model_ = model
        self.history_ = {k: [float(v) for v in vals] for k, vals in history.history.items()}
        return self

    def _check_length(self, n: int) -> None:
        if n <= self.window:
            raise DataError(f"sequence has {n} items; need more than window={self.window} to learn a next step")

    def _char_setup(self, text: str):
        """Ids, next-id targets, the logits model and its loss; sets the char-mode attributes."""
        self._check_length(len(text))
        check_number("embedding", self.embedding, low=1, integer=True)
        self.mode_, self.vocabulary_ = "char", "".join(sorted(set(text)))
        ids = self._encode(text)
        windows = sliding_windows(ids[:-1, None], self.window)[..., 0]  # (n - window, window)
        inputs = keras.Input((self.window,), dtype="int32")
        embedded = keras.layers.Embedding(len(self.vocabulary_), self.embedding, name="embedding")(inputs)
        body = seq2vec((self.window, self.embedding), len(self.vocabulary_), cell=self.cell, units=self.units,
                       dropout=self.dropout, name="next_char")
        model = keras.Model(inputs, body(embedded), name="char_generator")
        self.context_ = text[-self.window :]
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        return np.ascontiguousarray(windows), ids[self.window :], model, loss

    def _float_setup(self, sequence):
        """Windows, next-step targets, the Gaussian model and its loss; sets the float-mode attributes."""
        values = self._as_trace(sequence, "sequence")
        self._check_length(len(values))
        self.mode_ = "float"
        self.n_channels_ = values.shape[1]
        self.scaler_ = Scaler("standard").fit(values)
        z = self.scaler_.transform(values)
        model = seq2vec((self.window, self.n_channels_), 2 * self.n_channels_, cell=self.cell, units=self.units,
                        dropout=self.dropout, name="next_step_gaussian")
        self.context_ = np.asarray(sequence, dtype=np.float32)[-self.window :]
        return np.ascontiguousarray(sliding_windows(z[:-1], self.window)), z[self.window :], model, _gaussian_nll

    @staticmethod
    def _as_trace(sequence, name: str) -> np.ndarray:
        """Numbers of shape (n,) or (n, c) as a finite float32 (n, c) array."""
        try:
            values = np.asarray(sequence, dtype=np.float32)
        except (TypeError, ValueError):
            raise DataError(f"{name}: expected a str or numbers, got non-numeric values") from None
        if values.ndim not in (1, 2) or values.size == 0:
            raise DataError(f"{name}: expected a non-empty str or numbers of shape (n,) or (n, c), got shape {values.shape}")
        values = values.reshape(len(values), -1)
        bad = ~np.isfinite(values)
        if bad.any():
            first = int(np.argmax(bad.any(axis=1)))
            raise DataError(f"{name}: {int(bad.sum())} NaN/inf value(s), first at row {first}")
        return values

    def _encode(self, text: str) -> np.ndarray:
        """Character ids, shape (len(text),), int32; unknown characters are a DataError."""
        index = {ch: i for i, ch in enumerate(self.vocabulary_)}
        unknown = sorted(set(text) - index.keys())
        if unknown:
            raise DataError(f"seed has characters outside the vocabulary {self.vocabulary_!r}: {unknown}")
        return np.fromiter((index[ch] for ch in text), dtype=np.int32, count=len(text))

    def _check_fitted(self) -> None:
        if not hasattr(self, "model_"):
            raise NotFittedError("this SequenceGenerator is not fitted yet; call fit first")

    # -- sampling ------------------------------------------------------------
    def sample(self, n_steps: int, *, seed=None, temperature: float = 1.0, random_state=None):
        """Generate ``n_steps`` new items continuing ``seed``.

        Parameters
        ----------
        n_steps : int
            Items to generate (0 gives an empty result).
        seed : str or array-like, optional
            The context to continue, in the training mode's type (``str`` for characters,
            numbers of shape (m,) or (m, n_channels) for a trace) with ``m >= window``; only
            its last ``window`` items are read. None: :attr:`context_` (continue the training
            sequence).
        temperature : float, default=1.0
            >= 0; see the class docstring. 0 is deterministic.
        random_state : int, optional
            Seed of the draws; None uses the constructor's ``random_state``, so the same call
            gives the same output.

        Returns
        -------
        str of length ``n_steps`` (characters), or ndarray of shape (n_steps,) or
        (n_steps, n_channels), float32, in the trace's units (floats): the seed is not included.

        Raises
        ------
        NotFittedError, ConfigError (bad ``n_steps``/``temperature``), DataError (bad ``seed``).
        """
        self._check_fitted()
        check_number("n_steps", n_steps, low=0, integer=True)
        check_number("temperature", temperature, low=0)
        rng = np.random.default_rng(self.random_state if random_state is None else random_state)
        seed = self.context_ if seed is None else seed
        if self.mode_ == "char":
            return self._sample_chars(n_steps, seed, float(temperature), rng)
        return self._sample_trace(n_steps, seed, float(temperature), rng)

    def _check_seed_length(self, n: int) -> None:
        if n < self.window:
            raise DataError(f"seed has {n} items; need at least window={self.window}")

    def _sample_chars(self, n_steps: int, seed, temperature: float, rng) -> str:
        if not isinstance(seed, str):
            raise DataError(f"seed must be a str for a generator fitted on text, got {type(seed).__name__}")
        self._check_seed_length(len(seed))
        context = self._encode(seed[-self.window :])
        out = np.empty(n_steps, dtype=np.int32)
        for step in range(n_steps):
            logits = np.asarray(self.model_.predict_on_batch(context[None]), dtype=np.float64)[0]
            if temperature == 0:
                out[step] = int(np.argmax(logits))
            else:
                p = np.exp((logits - logits.max()) / temperature)
                out[step] = rng.choice(len(p), p=p / p.sum())
            context = np.append(context[1:], out[step])
        return "".join(self.vocabulary_[i] for i in out)

    def _sample_trace(self, n_steps: int, seed, temperature: float, rng) -> np.ndarray:
        if isinstance(seed, str):
            raise DataError("seed must be numbers for a generator fitted on a float trace, got a str")
        values = self._as_trace(seed, "seed")
        self._check_seed_length(len(values))
        if values.shape[1] != self.n_channels_:
            raise DataError(f"seed has {values.shape[1]} channel(s); the generator was fitted on {self.n_channels_}")
        context = self.scaler_.transform(values[-self.window :])
        out = np.empty((n_steps, self.n_channels_), dtype=np.float32)
        c = self.n_channels_
        for step in range(n_steps):
            pred = np.asarray(self.model_.predict_on_batch(context[None]))[0]
            std = np.exp(0.5 * np.clip(pred[c:], *LOG_VAR_RANGE))
            out[step] = pred[:c] + temperature * std * rng.standard_normal(c)
            context = np.concatenate([context[1:], out[step : step + 1]])
        trace = out * self.scaler_.scale_ + self.scaler_.center_
        return trace if np.ndim(self.context_) == 2 else trace[:, 0]

    # -- persistence -----------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save to directory ``path`` (atomically; an existing generator directory is replaced).

        Raises
        ------
        NotFittedError
            If the generator is not fitted.
        ModelFileError
            If ``path`` exists and is not a saved generator (nothing is overwritten).
        """
        self._check_fitted()

        def write(tmp: Path) -> None:
            self.model_.save(tmp / MODEL_FILE)
            meta = {
                "format_version": FORMAT_VERSION,
                "class": type(self).__name__,
                "params": {k: encode_param(v) for k, v in self.get_params(deep=False).items()},
                "mode": self.mode_,
                "history": self.history_,
            }
            if self.mode_ == "char":
                meta.update(vocabulary=self.vocabulary_, context=self.context_)
            else:
                meta.update(scaler=self.scaler_.to_dict(), n_channels=self.n_channels_, context=self.context_.tolist())
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2))

        return atomic_directory(path, write, marker=META_FILE)


def load_generator(path: str | Path) -> SequenceGenerator:
    """Load a :class:`SequenceGenerator` saved by :meth:`SequenceGenerator.save`.

    Its samples equal those of the saved generator (same weights, vocabulary or scaler,
    context and ``random_state``).

    Raises
    ------
    ModelFileError
        If the directory or a file in it is missing, truncated or corrupted, or was written
        by a newer format.
    """
    path = Path(path)
    meta = read_saved(path, META_FILE, directory="generator", saved=SequenceGenerator.__name__, format_version=FORMAT_VERSION)
    if meta.get("mode") not in ("char", "float"):
        raise ModelFileError(f"{path / META_FILE}: mode {meta.get('mode')!r} is neither 'char' nor 'float'")
    try:
        gen = SequenceGenerator(**{k: decode_param(v) for k, v in meta["params"].items()})
        gen.mode_ = meta["mode"]
        gen.history_ = {k: [float(v) for v in vals] for k, vals in meta["history"].items()}
        if gen.mode_ == "char":
            gen.vocabulary_, gen.context_ = str(meta["vocabulary"]), str(meta["context"])
        else:
            gen.scaler_ = Scaler.from_dict(meta["scaler"])
            gen.n_channels_ = int(meta["n_channels"])
            gen.context_ = np.asarray(meta["context"], dtype=np.float32)
    except Exception as exc:  # any malformed field is a bad model file, not a crash
        raise ModelFileError(f"{path / META_FILE}: malformed ({exc.__class__.__name__}: {exc})") from None
    gen.model_ = load_keras_file(path / MODEL_FILE)  # last: its presence marks the generator as fitted
    return gen
