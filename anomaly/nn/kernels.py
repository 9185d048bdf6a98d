"""Fixed kernels (edges, derivatives) applied to images and sensor channels by Keras convolutions.

A kernel is applied to every channel on its own: a depthwise convolution whose weights are the
kernel, frozen. Keras convolutions compute a cross-correlation (the kernel is not flipped), so
per channel the result equals ``scipy.signal.correlate2d(image, kernel, mode=padding)``
(zero fill). ``padding``:

* ``"same"`` (default): output size = input size; ``(k - 1) // 2`` zeros before and ``k // 2``
  after along each axis (TensorFlow's convention, and correlate2d's). For odd kernels a series
  result also equals ``numpy.correlate(mode="same")``, ``scipy.signal.correlate(mode="same")``
  and ``scipy.ndimage.correlate1d(mode="constant")``; for even 1D kernels those three put the
  extra zero before the series, so they are shifted by one step against this.
* ``"valid"``: no padding; each axis shrinks by ``k - 1``.

Examples
--------
>>> edges = correlate_images(gray, "sobel_left")             # (h, w) -> (h, w)
>>> slope = correlate_channels(frame.to_numpy(), "difference")  # (steps, channels) -> same
"""

from __future__ import annotations

import numpy as np
from keras import layers, ops

from anomaly.errors import ConfigError, DataError

IMAGE_KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "sobel_left": [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
    "sobel_right": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "sobel_top": [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
    "sobel_bottom": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
    "outline": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
}
SERIES_KERNELS = {
    "identity": [0, 1, 0],
    "difference": [-1, 0, 1],  # x[t+1] - x[t-1]: twice the central derivative
    "second_difference": [1, -2, 1],  # x[t+1] - 2 x[t] + x[t-1]
}
PADDINGS = ("same", "valid")


def _kernel(kernel, dims: int) -> np.ndarray:
    """A named or user kernel as a finite float32 array with ``dims`` non-empty axes."""
    named = IMAGE_KERNELS if dims == 2 else SERIES_KERNELS
    if isinstance(kernel, str):
        if kernel not in named:
            raise ConfigError(f"unknown {dims}D kernel {kernel!r}; choose from {', '.join(named)} or pass an array")
        kernel = named[kernel]
    try:
        k = np.asarray(kernel, dtype=np.float32)
    except (TypeError, ValueError):
        raise ConfigError(f"kernel must be a rectangular numeric array, got {kernel!r}") from None
    if k.ndim != dims or 0 in k.shape or not np.isfinite(k).all():
        raise ConfigError(f"a {dims}D kernel must be a non-empty finite array with {dims} axes, got shape {k.shape}")
    return k


def kernel_layer(kernel, channels: int, *, dims: int, padding="same"):
    """A frozen depthwise convolution applying ``kernel`` to each of ``channels`` channels.

    ``dims=1``: a ``DepthwiseConv1D`` for ``(batch, steps, channels)`` input, ``kernel`` a name
    from :data:`SERIES_KERNELS` or a ``(k,)`` array. ``dims=2``: a ``DepthwiseConv2D`` for
    ``(batch, h, w, channels)`` input, ``kernel`` a name from :data:`IMAGE_KERNELS` or a
    ``(kh, kw)`` array. Weights are the kernel, not trainable, no bias: use it as a fixed feature
    layer inside a model.
    """
    if dims not in (1, 2) or isinstance(dims, bool):
        raise ConfigError(f"dims={dims!r} must be 1 (sensor channels) or 2 (images)")
    return _layer(_kernel(kernel, dims), channels, padding)


def _layer(k: np.ndarray, channels: int, padding: str):
    if padding not in PADDINGS:
        raise ConfigError(f"padding={padding!r} must be one of {', '.join(PADDINGS)}")
    if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)) or channels < 1:
        raise ConfigError(f"channels={channels!r} must be a positive integer")
    layer = getattr(layers, f"DepthwiseConv{k.ndim}D")(k.shape, padding=padding, use_bias=False, trainable=False)
    layer.build((None, *k.shape, channels))  # spatial sizes are irrelevant to the weights
    layer.set_weights([np.broadcast_to(k[..., None, None], (*k.shape, channels, 1)).copy()])
    return layer


def _correlate(x, kernel, dims: int, padding: str, layouts: str) -> np.ndarray:
    k = _kernel(kernel, dims)
    try:
        x = np.asarray(x, dtype=np.float32)
    except (TypeError, ValueError):
        raise DataError("input must be numeric") from None
    single = x.ndim == 2  # one image (h, w) or one series (steps, channels)
    batch = (x[None, ..., None] if dims == 2 else x[None]) if single else x
    if batch.ndim != dims + 2 or 0 in batch.shape:
        raise DataError(f"expected {layouts}, got shape {x.shape}")
    if not np.isfinite(batch).all():
        raise DataError(f"input has {int((~np.isfinite(batch)).sum())} NaN/inf values")
    if padding == "valid" and any(n < m for n, m in zip(batch.shape[1:-1], k.shape)):
        raise DataError(f"padding='valid' needs input of at least {k.shape} along its spatial axes, got {batch.shape[1:-1]}")
    out = ops.convert_to_numpy(_layer(k, batch.shape[-1], padding)(batch))
    if not single:
        return out
    return out[0, ..., 0] if dims == 2 else out[0]


def correlate_images(images, kernel, *, padding="same") -> np.ndarray:
    """Cross-correlate every image channel with a 2D ``kernel`` through a frozen Conv2D-family layer.

    Parameters
    ----------
    images : array, shape (h, w) or (batch, h, w, channels)
    kernel : str or array (kh, kw)
        A name from :data:`IMAGE_KERNELS` (identity, sobel_left, sobel_top, ...) or your own.
    padding : {"same", "valid"}

    Returns
    -------
    float32 array in the input's layout: (h', w') or (batch, h', w', channels), with h' = h for
    "same" and h - kh + 1 for "valid" (likewise w').
    """
    return _correlate(images, kernel, 2, padding, "(h, w) or (batch, h, w, channels)")


def correlate_channels(series, kernel, *, padding="same") -> np.ndarray:
    """Cross-correlate every sensor channel along time with a 1D ``kernel`` (a frozen DepthwiseConv1D).

    Parameters
    ----------
    series : array, shape (steps, channels) or (batch, steps, channels)
    kernel : str or array (k,)
        A name from :data:`SERIES_KERNELS` (identity, difference, second_difference) or your own.
    padding : {"same", "valid"}

    Returns
    -------
    float32 array in the input's layout with steps' = steps ("same") or steps - k + 1 ("valid").
    """
    return _correlate(series, kernel, 1, padding, "(steps, channels) or (batch, steps, channels)")
