"""Latent space of a fitted window autoencoder: sample, interpolate, do arithmetic.

:func:`codec` takes the encoder and decoder out of a fitted :class:`~anomaly.LSTMVAE` or
:class:`~anomaly.LSTMVAEGAN` (encoder = posterior mean) or a
:class:`~anomaly.DenseAutoencoder` (split at its ``latent`` layer). Every function takes and
returns windows of shape (n, window, n_channels) in the detector's original units; codes are
(n, latent).

* :func:`sample_prior` -- decode N(0, I) codes (a VAE's generative model).
* :func:`sample_gaussian` -- decode codes from a Gaussian fitted to the codes of some windows
  (how a plain autoencoder can be made to generate).
* :func:`interpolate` -- decode the straight line between two windows' codes.
* :func:`shift` -- latent arithmetic: ``z(base) + mean z(target) - mean z(source)``, decoded.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from anomaly.detectors.dense_ae import DenseAutoencoder
from anomaly.detectors.lstm_vae import LSTMVAE
from anomaly.detectors.vae_gan import LSTMVAEGAN
from anomaly.errors import ConfigError, DataError
from anomaly.generative.data import check_windows, predict_all, to_original, to_scaled
from anomaly.nn.backend import import_keras
from anomaly.scaling import Scaler
from anomaly.validation import check_number


@dataclass(frozen=True)
class Codec:
    """Encoder and decoder of a fitted detector, in the detector's original units.

    Attributes
    ----------
    encoder : keras.Model, (batch, window, n_channels) scaled -> (batch, latent)
    decoder : keras.Model, (batch, latent) -> (batch, window, n_channels) scaled
    scaler : Scaler
        The detector's fitted scaler.
    window, n_channels, latent : int
    """

    encoder: object
    decoder: object
    scaler: Scaler
    window: int
    n_channels: int
    latent: int

    def encode(self, windows) -> np.ndarray:
        """Codes of windows (n, window, n_channels) in original units; shape (n, latent), float32."""
        arr = check_windows(windows, self.window, self.n_channels)
        return predict_all(self.encoder, to_scaled(self.scaler, arr))

    def decode(self, codes) -> np.ndarray:
        """Windows (n, window, n_channels), original units, decoded from codes (n, latent)."""
        z = _as_codes(codes, self.latent)
        return to_original(self.scaler, predict_all(self.decoder, z))


def _as_codes(codes, latent: int, name: str = "codes") -> np.ndarray:
    z = np.asarray(codes, dtype=np.float32)
    if z.ndim != 2 or z.shape[1] != latent or z.shape[0] == 0:
        raise DataError(f"{name}: expected shape (n, {latent}) with n >= 1, got {z.shape}")
    if not np.isfinite(z).all():
        raise DataError(f"{name}: NaN/inf values")
    return z


def codec(detector) -> Codec:
    """The encoder/decoder pair of a fitted VAE (posterior mean) or dense autoencoder.

    Raises
    ------
    NotFittedError
        If the detector is not fitted.
    ConfigError
        If it has no separable encoder and decoder (only ``LSTMVAE``, ``LSTMVAEGAN`` and
        ``DenseAutoencoder`` are supported).
    """

    if not isinstance(detector, (LSTMVAE, LSTMVAEGAN, DenseAutoencoder)):
        raise ConfigError(f"{type(detector).__name__} has no separable encoder/decoder; "
                          "use LSTMVAE, LSTMVAEGAN or DenseAutoencoder")
    detector.check_fitted()
    keras = import_keras()
    model = detector.networks()["model"]
    if isinstance(detector, DenseAutoencoder):
        code = model.get_layer("latent")
        encoder = keras.Model(model.inputs, code.output, name="ae_encoder")
        z = inputs = keras.Input((detector.latent,))
        for layer in model.layers[model.layers.index(code) + 1 :]:  # a chain: every later layer follows the code
            z = layer(z)
        decoder = keras.Model(inputs, z, name="ae_decoder")
    else:
        stats = model.get_layer("encoder")
        encoder = keras.Model(stats.inputs, stats.outputs[0], name="posterior_mean")
        decoder = model.get_layer("decoder")
    return Codec(encoder, decoder, detector.scaler_, detector.window, len(detector.schema_.channels), detector.latent)


def sample_prior(coder: Codec, n: int, *, seed: int = 0) -> np.ndarray:
    """Decode ``n`` codes drawn from N(0, I); windows (n, window, n_channels), original units."""
    check_number("n", n, low=1, integer=True)
    return coder.decode(np.random.default_rng(seed).standard_normal((n, coder.latent)))


def sample_gaussian(coder: Codec, windows, n: int, *, seed: int = 0) -> np.ndarray:
    """Decode ``n`` codes from N(mean, cov) of the codes of ``windows`` (m, window, c), m >= 2."""
    check_number("n", n, low=1, integer=True)
    codes = coder.encode(windows).astype(np.float64)
    if len(codes) < 2:
        raise DataError(f"windows: need at least 2 windows to fit a Gaussian, got {len(codes)}")
    rng = np.random.default_rng(seed)
    return coder.decode(rng.multivariate_normal(codes.mean(axis=0), np.cov(codes, rowvar=False), size=n, method="eigh"))


def interpolate(coder: Codec, a, b, *, steps: int = 8) -> np.ndarray:
    """Decode ``steps`` codes evenly spaced from z(a) to z(b), both ends included.

    Parameters
    ----------
    a, b : array-like of shape (window, n_channels), original units

    Returns
    -------
    ndarray of shape (steps, window, n_channels)
        The first and last windows are the reconstructions of ``a`` and ``b``.
    """
    check_number("steps", steps, low=2, integer=True)
    za, zb = (coder.encode(_one_window(coder, w, name)) for w, name in ((a, "a"), (b, "b")))
    t = np.linspace(0.0, 1.0, steps, dtype=np.float32)[:, None]
    return coder.decode((1.0 - t) * za + t * zb)


def _one_window(coder: Codec, window, name: str) -> np.ndarray:
    arr = check_windows(window, coder.window, coder.n_channels, name=name)
    if len(arr) != 1:
        raise DataError(f"{name}: expected one window of shape ({coder.window}, {coder.n_channels}), got {len(arr)} windows")
    return arr


def direction(coder: Codec, source, target) -> np.ndarray:
    """Mean code of ``target`` windows minus mean code of ``source`` windows; shape (latent,)."""
    return coder.encode(target).mean(axis=0) - coder.encode(source).mean(axis=0)


def shift(coder: Codec, base, source, target, *, scale: float = 1.0) -> np.ndarray:
    """Latent arithmetic: decode ``z(base) + scale * (mean z(target) - mean z(source))``.

    Parameters
    ----------
    base, source, target : array-like of shape (n, window, n_channels), original units
        E.g. base = normal windows to change, source = normal windows, target = windows of one
        fault type.
    scale : float, default=1.0

    Returns
    -------
    ndarray of shape (n_base, window, n_channels), original units
    """
    check_number("scale", scale)
    return coder.decode(coder.encode(base) + np.float32(scale) * direction(coder, source, target))
