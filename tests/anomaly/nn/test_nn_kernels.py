"""Fixed kernels through Keras depthwise convolutions equal scipy/numpy cross-correlation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage, signal

from anomaly.errors import ConfigError, DataError
from anomaly.nn.backend import import_keras
from anomaly.nn.kernels import IMAGE_KERNELS, SERIES_KERNELS, correlate_channels, correlate_images, kernel_layer

keras = import_keras()
RNG = np.random.default_rng(0)
IMAGES = RNG.random((2, 9, 11, 3))  # (batch, h, w, channels)
SERIES = RNG.standard_normal((2, 40, 5))  # (batch, steps, channels)


def per_channel(fn, x):
    """Apply fn to each (sample, channel) slice of a channels-last batch."""
    return np.stack([np.stack([fn(x[b, ..., c]) for c in range(x.shape[-1])], axis=-1) for b in range(len(x))])


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [*IMAGE_KERNELS, "random3x3", "random2x4"])
def test_images_match_correlate2d(kernel, padding):
    k = {"random3x3": RNG.standard_normal((3, 3)), "random2x4": RNG.standard_normal((2, 4))}.get(kernel, kernel)
    array = np.asarray(IMAGE_KERNELS[k] if isinstance(k, str) else k, dtype=float)
    expected = per_channel(lambda image: signal.correlate2d(image, array, mode=padding), IMAGES)
    np.testing.assert_allclose(correlate_images(IMAGES, k, padding=padding), expected, atol=1e-5)


def test_single_grayscale_image_keeps_its_layout():
    gray = IMAGES[0, ..., 0]
    out = correlate_images(gray, "identity")
    assert out.shape == gray.shape and out.dtype == np.float32
    np.testing.assert_allclose(out, gray, atol=1e-6)


def test_sobel_names_point_the_right_way():
    # bright left half: the left Sobel is positive along the edge (columns 2-3) and zero on flat
    # parts away from the zero-padded border; the top Sobel sees no edge inside
    image = np.zeros((6, 6))
    image[:, :3] = 1.0
    left, top = correlate_images(image, "sobel_left"), correlate_images(image, "sobel_top")
    assert left[2:4, 2:4].min() > 0 and np.abs(left[2:4, [1, 4]]).max() == 0
    assert np.abs(top[1:5, :]).max() == 0
    np.testing.assert_allclose(correlate_images(image, "sobel_right"), -left, atol=1e-6)


@pytest.mark.parametrize("padding", ["same", "valid"])
@pytest.mark.parametrize("kernel", [*SERIES_KERNELS, "random5"])
def test_odd_series_kernels_match_numpy_and_ndimage(kernel, padding):
    k = RNG.standard_normal(5) if kernel == "random5" else kernel
    array = np.asarray(SERIES_KERNELS[k] if isinstance(k, str) else k, dtype=float)
    out = correlate_channels(SERIES, k, padding=padding)
    np.testing.assert_allclose(out, per_channel(lambda s: np.correlate(s, array, mode=padding), SERIES), atol=1e-5)
    if padding == "same":
        np.testing.assert_allclose(out, ndimage.correlate1d(SERIES, array, axis=1, mode="constant"), atol=1e-5)


def test_even_series_kernel_pads_like_correlate2d():
    k = RNG.standard_normal(4)
    out = correlate_channels(SERIES[0], k)  # (steps, channels) in, same layout out
    expected = np.stack([signal.correlate2d(SERIES[0][:, [c]], k[:, None], mode="same")[:, 0] for c in range(5)], axis=1)
    np.testing.assert_allclose(out, expected, atol=1e-5)
    # numpy puts the extra zero on the other side: one step of shift
    assert not np.allclose(out, per_channel(lambda s: np.correlate(s, k, mode="same"), SERIES[:1])[0], atol=1e-3)


def test_difference_kernels_are_derivatives():
    t = np.arange(20, dtype=float)
    ramp = np.stack([t, t**2], axis=1)  # (steps, channels)
    first = correlate_channels(ramp, "difference", padding="valid")
    second = correlate_channels(ramp, "second_difference", padding="valid")
    np.testing.assert_allclose(first[:, 0], 2.0)  # x[t+1] - x[t-1] of a unit ramp
    np.testing.assert_allclose(first[:, 1], 4 * t[1:-1], rtol=1e-6)
    np.testing.assert_allclose(second[:, 1], 2.0, atol=1e-4)


def test_kernel_layer_is_frozen_and_works_inside_a_model(tmp_path):
    layer = kernel_layer("difference", 5, dims=1)
    assert layer.trainable_weights == [] and layer.count_params() == 3 * 5
    inputs = keras.Input((40, 5))
    model = keras.Model(inputs, layer(inputs))
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras", safe_mode=True)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(SERIES.astype(np.float32))),
                               correlate_channels(SERIES, "difference"), atol=1e-5)
    assert kernel_layer("sobel_top", 3, dims=2).kernel.shape == (3, 3, 3, 1)


@pytest.mark.parametrize(("call", "error", "message"), [
    (lambda: correlate_images(IMAGES, "blur"), ConfigError, "unknown 2D kernel 'blur'"),
    (lambda: correlate_channels(SERIES, "sobel_left"), ConfigError, "unknown 1D kernel 'sobel_left'"),
    (lambda: correlate_images(IMAGES, [[1, 2], [3]]), ConfigError, "rectangular numeric array"),
    (lambda: correlate_images(IMAGES, [1, 2, 3]), ConfigError, r"2D kernel must be .* got shape \(3,\)"),
    (lambda: correlate_channels(SERIES, [1.0, np.inf]), ConfigError, "non-empty finite"),
    (lambda: correlate_images(IMAGES, "identity", padding="full"), ConfigError, "padding='full' must be one of"),
    (lambda: kernel_layer("difference", 0, dims=1), ConfigError, "channels=0 must be a positive integer"),
    (lambda: kernel_layer("difference", 4, dims=3), ConfigError, "dims=3 must be 1"),
    (lambda: correlate_images(IMAGES[0], "identity"), DataError, r"expected \(h, w\) or \(batch, h, w, channels\)"),
    (lambda: correlate_channels(SERIES[0, :, 0], "difference"), DataError, r"got shape \(40,\)"),
    (lambda: correlate_channels(np.full((5, 2), np.nan), "difference"), DataError, "10 NaN/inf values"),
    (lambda: correlate_images(np.ones((2, 2)), "identity", padding="valid"), DataError, r"at least \(3, 3\)"),
    (lambda: correlate_channels([["a", "b"]], "difference"), DataError, "must be numeric"),
])
def test_bad_inputs(call, error, message):
    with pytest.raises(error, match=message):
        call()
