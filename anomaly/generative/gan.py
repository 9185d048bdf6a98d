"""A GAN that generates normal sensor windows.

:class:`WindowGAN` learns the distribution of sliding windows (window, n_channels) of normal
operation, in the scaled units of a per-channel :class:`~pipelines.preprocess.Scaler`, and
samples new windows in the original units. Generator and discriminator are two compiled
Keras models trained alternately with ``train_on_batch`` (no backend-specific code): the
discriminator on real and generated windows, the generator through the discriminator with
the discriminator frozen.

Saved as a directory (no pickle): ``gan.json`` (format version, parameters, schema, scaler
statistics, history), ``generator.keras`` and ``discriminator.keras`` (loaded with
``safe_mode=True``).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.base import store_params
from anomaly.errors import ConfigError, ModelFileError, NotFittedError
from anomaly.files import atomic_directory, decode_param, encode_param, read_saved
from anomaly.generative.data import check_windows, predict_all, to_original, to_scaled
from anomaly.nn.backend import import_keras, load_keras_file
from anomaly.params import Params
from anomaly.scaling import Scaler
from anomaly.schema import Schema, check_frame
from anomaly.validation import check_number
from anomaly.windows import sliding_windows

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
META_FILE = "gan.json"
GENERATOR_FILE = "generator.keras"
DISCRIMINATOR_FILE = "discriminator.keras"
ARCHITECTURES = ("conv", "dense")


def _dense_networks(window: int, n_channels: int, latent: int, units, keras):
    """Generator (batch, latent) -> (batch, window, c) and discriminator (batch, window, c) -> (batch, 1)."""
    layers = keras.layers
    code = keras.Input((latent,))
    x = code
    for width in reversed(units):
        x = layers.LeakyReLU(0.2)(layers.Dense(width)(x))
    generated = layers.Reshape((window, n_channels))(layers.Dense(window * n_channels)(x))
    windows = keras.Input((window, n_channels))
    y = layers.Flatten()(windows)
    for width in units:
        y = layers.LeakyReLU(0.2)(layers.Dense(width)(y))
    verdict = layers.Dense(1, activation="sigmoid")(y)
    return keras.Model(code, generated, name="generator"), keras.Model(windows, verdict, name="discriminator")


def _conv_networks(window: int, n_channels: int, latent: int, filters, kernel_size: int, keras):
    """DCGAN-style 1D networks: the generator doubles the steps before each convolution."""
    layers = keras.layers
    factor = 2 ** len(filters)
    if window % factor:
        raise ConfigError(f"window={window} must be divisible by 2**len(filters)={factor} for architecture='conv'")
    code = keras.Input((latent,))
    x = layers.Reshape((window // factor, filters[0]))(layers.Dense(window // factor * filters[0])(code))
    for width in filters:  # upsample + convolve: transposed convolutions left a saw-tooth on sampled windows
        x = layers.LeakyReLU(0.2)(layers.Conv1D(width, kernel_size, padding="same")(layers.UpSampling1D(2)(x)))
    generated = layers.Conv1D(n_channels, kernel_size, padding="same")(x)
    windows = keras.Input((window, n_channels))
    y = windows
    for width in reversed(filters):
        y = layers.LeakyReLU(0.2)(layers.Conv1D(width, kernel_size, strides=2, padding="same")(y))
    verdict = layers.Dense(1, activation="sigmoid")(layers.Flatten()(y))
    return keras.Model(code, generated, name="generator"), keras.Model(windows, verdict, name="discriminator")


class WindowGAN(Params):
    """Generative adversarial network over sliding windows of normal operation.

    Parameters
    ----------
    window : int, default=32
        Steps per generated window.
    latent : int, default=32
        Size of the generator's input noise, drawn from N(0, I).
    architecture : {"conv", "dense"}, default="conv"
        ``"conv"``: a generator that doubles the steps (UpSampling1D + Conv1D) once per entry
        of ``filters`` (window divisible by ``2 ** len(filters)``), a strided Conv1D
        discriminator. ``"dense"``: fully connected networks of widths ``units`` (its samples
        were further from the data in ``benchmarks/generative_quality.py``).
    units : tuple of int, default=(256, 128)
        Dense discriminator widths; the generator mirrors them.
    filters : tuple of int, default=(64, 32)
    kernel_size : int, default=5
    stride : int, default=8
        Step between training windows.
    epochs : int, default=60
    batch_size : int, default=128
    learning_rate : float, default=2e-4
        Adam step size of both networks (beta_1 = 0.5, as in DCGAN).
    label_smoothing : float, default=0.1
        Real windows are labelled ``1 - label_smoothing`` for the discriminator (one-sided).
    scaling : {"standard", "robust", "minmax", "none"}, default="standard"
        Per-channel scaling fitted on the training frame (the detectors' default).
    random_state : int, default=0
        Seeds weights, shuffling and the training noise.

    Attributes
    ----------
    schema_ : Schema
        Channels (and sampling rate) of the training frame.
    scaler_ : Scaler
    generator_ : keras.Model, (batch, latent) -> (batch, window, n_channels), scaled units
    discriminator_ : keras.Model, (batch, window, n_channels) -> (batch, 1)
        Probability that a scaled window is real.
    history_ : dict[str, list[float]]
        Per-epoch mean ``d_loss`` and ``g_loss``.

    Examples
    --------
    >>> from datasets.robot_arm import simulate
    >>> gan = WindowGAN(window=16, epochs=2).fit(simulate(30, seed=0).frame)   # doctest: +SKIP
    >>> gan.sample(5, seed=1).shape                                            # doctest: +SKIP
    (5, 16, 28)
    """

    def __init__(self, window=32, *, latent=32, architecture="conv", units=(256, 128), filters=(64, 32), kernel_size=5,
                 stride=8, epochs=60, batch_size=128, learning_rate=2e-4, label_smoothing=0.1, scaling="standard",
                 random_state=0):
        store_params(self, locals())

    def _check_params(self) -> None:
        for name in ("window", "latent", "kernel_size", "stride", "epochs", "batch_size"):
            check_number(name, getattr(self, name), low=1, integer=True)
        check_number("learning_rate", self.learning_rate, low=0, low_open=True)
        check_number("label_smoothing", self.label_smoothing, low=0, high=0.5)
        if self.architecture not in ARCHITECTURES:
            raise ConfigError(f"architecture={self.architecture!r} is not one of {list(ARCHITECTURES)}")
        name = "units" if self.architecture == "dense" else "filters"
        sizes = getattr(self, name)
        if not sizes or any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) or s < 1 for s in sizes):
            raise ConfigError(f"{name}={sizes!r} must be a non-empty tuple of integers >= 1")

    def fit(self, X: pd.DataFrame, y=None, *, source: str = "input") -> WindowGAN:
        """Learn to generate windows like those of ``X``.

        Parameters
        ----------
        X : pandas.DataFrame of shape (n_steps, n_channels)
            Normal operation; at least ``window`` rows.
        y : ignored

        Returns
        -------
        self

        Raises
        ------
        DataError
            If ``X`` is not a valid frame (see :func:`anomaly.schema.check_frame`) or is
            shorter than one window.
        ConfigError
            If a parameter is out of range.
        """
        self._check_params()
        values = check_frame(X, source=source)
        scaler = Scaler(self.scaling).fit(values)
        windows = np.ascontiguousarray(sliding_windows(scaler.transform(values), self.window, self.stride))
        keras = import_keras()
        keras.utils.set_random_seed(int(self.random_state))
        if self.architecture == "dense":
            generator, discriminator = _dense_networks(self.window, values.shape[1], self.latent, tuple(self.units), keras)
        else:
            generator, discriminator = _conv_networks(self.window, values.shape[1], self.latent, tuple(self.filters),
                                                      self.kernel_size, keras)
        self.history_ = self._train(generator, discriminator, windows, keras)
        self.generator_, self.discriminator_, self.scaler_ = generator, discriminator, scaler
        self.schema_ = Schema.from_frame(X)  # last: its presence marks the model as fitted
        return self

    def _train(self, generator, discriminator, windows: np.ndarray, keras) -> dict[str, list[float]]:
        """Alternate one discriminator and one generator update per batch."""
        def adam():
            return keras.optimizers.Adam(self.learning_rate, beta_1=0.5)

        discriminator.compile(optimizer=adam(), loss="binary_crossentropy")
        code = keras.Input((self.latent,))
        combined = keras.Model(code, discriminator(generator(code)), name="generator_through_discriminator")
        combined.compile(optimizer=adam(), loss="binary_crossentropy")
        rng = np.random.default_rng(self.random_state)
        history = {"d_loss": [], "g_loss": []}
        for _ in range(self.epochs):
            d_losses, g_losses = [], []
            order = rng.permutation(len(windows))
            for lo in range(0, len(windows), self.batch_size):
                real = windows[order[lo : lo + self.batch_size]]
                n = len(real)
                noise = rng.standard_normal((2 * n, self.latent)).astype(np.float32)
                fake = np.asarray(generator.predict_on_batch(noise[:n]))
                labels = np.concatenate([np.full(n, 1.0 - self.label_smoothing), np.zeros(n)]).astype(np.float32)[:, None]
                # Keras fixes a model's trainable variables when its train step is first traced:
                # set the flag before every call so each step updates only its own side.
                discriminator.trainable = True
                d_losses.append(float(np.asarray(discriminator.train_on_batch(np.concatenate([real, fake]), labels)).ravel()[0]))
                discriminator.trainable = False
                g_losses.append(float(np.asarray(combined.train_on_batch(noise[n:], np.ones((n, 1), np.float32))).ravel()[0]))
            history["d_loss"].append(float(np.mean(d_losses)))
            history["g_loss"].append(float(np.mean(g_losses)))
            log.debug("epoch %d/%d: d_loss %.4f g_loss %.4f", len(history["d_loss"]), self.epochs,
                      history["d_loss"][-1], history["g_loss"][-1])
        discriminator.trainable = True
        return history

    def _check_fitted(self) -> None:
        if not hasattr(self, "schema_"):
            raise NotFittedError(f"this {type(self).__name__} is not fitted yet; call fit(normal_frame) first")

    def sample(self, n: int, *, seed: int | None = None) -> np.ndarray:
        """Generate ``n`` windows.

        Parameters
        ----------
        n : int
            Number of windows (>= 1).
        seed : int or None
            Seed of the noise; None uses ``random_state``, so equal calls give equal windows.

        Returns
        -------
        ndarray of shape (n, window, n_channels), float32
            In the training frame's original units, channels in ``schema_.channels`` order.
        """
        self._check_fitted()
        check_number("n", n, low=1, integer=True)
        rng = np.random.default_rng(self.random_state if seed is None else seed)
        noise = rng.standard_normal((n, self.latent)).astype(np.float32)
        return to_original(self.scaler_, predict_all(self.generator_, noise))

    def realness(self, windows: np.ndarray) -> np.ndarray:
        """Discriminator's probability that each window (n, window, c), original units, is real; shape (n,)."""
        self._check_fitted()
        arr = check_windows(windows, self.window, len(self.schema_.channels))
        return predict_all(self.discriminator_, to_scaled(self.scaler_, arr))[:, 0]

    # -- persistence -----------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Save to directory ``path`` (atomically; an existing GAN directory is replaced)."""
        self._check_fitted()

        def write(tmp: Path) -> None:
            self.generator_.save(tmp / GENERATOR_FILE)
            self.discriminator_.save(tmp / DISCRIMINATOR_FILE)
            meta = {
                "format_version": FORMAT_VERSION,
                "class": type(self).__name__,
                "params": {k: encode_param(v) for k, v in self.get_params(deep=False).items()},
                "schema": self.schema_.to_dict(),
                "scaler": self.scaler_.to_dict(),
                "history": self.history_,
            }
            (tmp / META_FILE).write_text(json.dumps(meta, indent=2))

        return atomic_directory(path, write, marker=META_FILE)


def load_gan(path: str | Path) -> WindowGAN:
    """Load a :class:`WindowGAN` saved by :meth:`WindowGAN.save`.

    Raises
    ------
    ModelFileError
        If the directory or a file in it is missing, truncated or corrupted, or was written
        by a newer format.
    """
    path = Path(path)
    meta = read_saved(path, META_FILE, directory="GAN", saved=WindowGAN.__name__, format_version=FORMAT_VERSION)
    try:
        gan = WindowGAN(**{k: decode_param(v) for k, v in meta["params"].items()})
        gan.scaler_ = Scaler.from_dict(meta["scaler"])
        gan.history_ = {k: [float(v) for v in vals] for k, vals in meta["history"].items()}
        schema = Schema.from_dict(meta["schema"])
    except Exception as exc:  # any malformed field is a bad model file, not a crash
        raise ModelFileError(f"{path / META_FILE}: malformed ({exc.__class__.__name__}: {exc})") from None
    gan.generator_ = load_keras_file(path / GENERATOR_FILE)
    gan.discriminator_ = load_keras_file(path / DISCRIMINATOR_FILE)
    gan.schema_ = schema
    return gan
