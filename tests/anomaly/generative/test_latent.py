"""Latent codecs of fitted VAE / dense autoencoder detectors: decode(encode(w)) is the
detector's own reconstruction, interpolation ends at the inputs' reconstructions, latent
arithmetic with a zero direction changes nothing, typed errors."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.testing import assert_allclose

pytest.importorskip("keras")

from conftest import make_frame  # noqa: E402

from anomaly import LSTMVAE, DenseAutoencoder, PCADetector  # noqa: E402
from anomaly.errors import ConfigError, DataError, NotFittedError  # noqa: E402
from anomaly.generative.data import frame_windows, to_original, to_scaled  # noqa: E402
from anomaly.generative.latent import codec, direction, interpolate, sample_gaussian, sample_prior, shift  # noqa: E402

WINDOW = 8


@pytest.fixture(scope="module")
def vae():
    return LSTMVAE(window=WINDOW, units=(8,), latent=3, epochs=2, batch_size=64).fit(make_frame(n=600, channels=3))


@pytest.fixture(scope="module")
def dense():
    return DenseAutoencoder(window=WINDOW, hidden=(16,), latent=4, epochs=2).fit(make_frame(n=600, channels=3))


@pytest.fixture(scope="module")
def windows():
    return frame_windows(make_frame(n=200, channels=3, seed=3), WINDOW, stride=WINDOW)  # (25, 8, 3)


def reconstruction(det, windows: np.ndarray) -> np.ndarray:
    """What the detector itself reconstructs, in original units."""
    return to_original(det.scaler_, np.asarray(det.model_.predict_on_batch(to_scaled(det.scaler_, windows))))


@pytest.mark.parametrize("name", ["vae", "dense"])
def test_decode_of_encode_is_the_detectors_reconstruction(name, request, windows):
    det = request.getfixturevalue(name)
    coder = codec(det)
    codes = coder.encode(windows)
    assert codes.shape == (25, det.latent)
    assert_allclose(coder.decode(codes), reconstruction(det, windows), atol=1e-4)


def test_interpolation_ends_at_the_reconstructions(vae, windows):
    coder = codec(vae)
    path = interpolate(coder, windows[0], windows[5], steps=5)
    assert path.shape == (5, WINDOW, 3)
    ends = reconstruction(vae, windows[[0, 5]])
    assert_allclose(path[0], ends[0], atol=1e-4)
    assert_allclose(path[-1], ends[1], atol=1e-4)
    middle = coder.decode(coder.encode(windows[[0, 5]]).mean(axis=0, keepdims=True))
    assert_allclose(path[2], middle[0], atol=1e-4)


def test_latent_arithmetic(vae, windows):
    coder = codec(vae)
    base, source, target = windows[:4], windows[4:12], windows[12:20]
    assert_allclose(direction(coder, source, target), -direction(coder, target, source), atol=1e-6)
    assert_allclose(shift(coder, base, source, source), reconstruction(vae, base), atol=1e-4)
    moved = shift(coder, base, source, target, scale=2.0)
    expected = coder.decode(coder.encode(base) + 2.0 * (coder.encode(target).mean(0) - coder.encode(source).mean(0)))
    assert_allclose(moved, expected, atol=1e-5)


def test_sampling(vae, dense, windows):
    prior = sample_prior(codec(vae), 6, seed=1)
    assert prior.shape == (6, WINDOW, 3)
    assert_allclose(prior, sample_prior(codec(vae), 6, seed=1))
    assert not np.allclose(prior, sample_prior(codec(vae), 6, seed=2))
    fitted = sample_gaussian(codec(dense), windows, 7, seed=0)
    assert fitted.shape == (7, WINDOW, 3)
    # samples sit in the data's units: near the channels' training range, not around 0 +- 1 scaled
    assert np.abs(to_scaled(dense.scaler_, fitted)).max() < 20


def test_bad_inputs(vae, windows):
    coder = codec(vae)
    with pytest.raises(ConfigError, match="PCADetector has no separable encoder"):
        codec(PCADetector())
    with pytest.raises(NotFittedError):
        codec(LSTMVAE())
    with pytest.raises(DataError, match=r"expected shape \(n, 8, 3\)"):
        coder.encode(np.zeros((2, 8, 4)))
    with pytest.raises(DataError, match="NaN/inf"):
        coder.encode(np.full((1, 8, 3), np.nan))
    with pytest.raises(DataError, match=r"codes: expected shape \(n, 3\)"):
        coder.decode(np.zeros((2, 5)))
    with pytest.raises(DataError, match="a: expected one window"):
        interpolate(coder, windows[:2], windows[3])
    with pytest.raises(ConfigError, match="steps=1"):
        interpolate(coder, windows[0], windows[3], steps=1)
    with pytest.raises(DataError, match="at least 2 windows"):
        sample_gaussian(coder, windows[:1], 3)
    with pytest.raises(ConfigError, match="n=0"):
        sample_prior(coder, 0)
