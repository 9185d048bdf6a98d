"""Random transformations of sensor windows for training with few examples (data augmentation).

Every function takes windows ``x`` of shape (n_windows, window, n_channels), or one series of
shape (n_steps, n_channels) (treated as a single window), and returns a new array of the same
shape and float dtype; ``x`` is never modified. Each window gets its own random draw from
``rng`` (an int seed, a ``numpy.random.Generator`` or None for fresh entropy), so a seed
repeats the output exactly. At zero strength (``sigma=0``, ``ratio=1``) every function returns
``x`` unchanged.

The transformations and their default strengths follow Um et al., "Data augmentation of
wearable sensor data for Parkinson's disease monitoring using convolutional neural networks"
(ICMI 2017) and the survey of Iwana & Uchida, "An empirical survey of data augmentation for
time series classification with neural networks" (PLOS ONE 2021), whose reference code
(uchidalab/time_series_augmentation) uses the same defaults on z-normalised series:

===================  ==================================================================  ==========================
function             what it does                                                        default strength
===================  ==================================================================  ==========================
:func:`jitter`       adds i.i.d. Gaussian noise N(0, sigma^2) to every value              sigma = 0.03
:func:`scaling`      multiplies each channel of a window by one factor ~ N(1, sigma^2)    sigma = 0.1
:func:`magnitude_warp` multiplies each channel by a smooth curve: a cubic spline through  sigma = 0.2, knots = 4
                     ``knots + 2`` evenly spaced values ~ N(1, sigma^2)
:func:`time_warp`    resamples the window along a smooth, monotone time path: speeds      sigma = 0.2, knots = 4
                     from a spline as in magnitude warp, integrated and rescaled so the
                     path runs from the first to the last step
:func:`window_slice` crops ``ceil(ratio * window)`` consecutive steps at a random start   ratio = 0.9
                     and stretches them back to ``window`` steps (Le Guennec et al. 2016)
===================  ==================================================================  ==========================

Jitter, scaling and magnitude warp act in the units of ``x``: use them on scaled data (the
defaults assume unit variance). One difference from the reference code, on purpose: time warp
and window slice move all channels of a window together (Um et al. and Iwana & Uchida warp
each channel separately), because a robot's sensors are sampled together and a fault's
signature is often the timing *between* channels.

:func:`augment_frame` applies one of them to a whole log (a DataFrame), in units of each
channel's standard deviation: what ``anomaly augment`` writes.
"""

from __future__ import annotations

import inspect
import math

import numpy as np
import pandas as pd
from scipy.interpolate import CubicSpline

from anomaly.errors import ConfigError, DataError
from anomaly.scaling import Scaler
from anomaly.schema import check_frame
from anomaly.validation import check_number

#: Name -> function, for choosing transformations by name (e.g. in a classifier's ``augment``).
METHODS: dict = {}
#: Methods that move values in time (the others change values, step by step in place).
TIME_METHODS = ("time_warp", "window_slice")


def _register(func):
    METHODS[func.__name__] = func
    return func


def _generator(rng) -> np.random.Generator:
    if rng is None or isinstance(rng, np.random.Generator):
        return np.random.default_rng(rng)
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool) and rng >= 0:
        return np.random.default_rng(int(rng))
    raise ConfigError(f"rng={rng!r} must be a non-negative int seed, a numpy.random.Generator or None")


def _windows(x, min_steps: int = 1) -> tuple[np.ndarray, bool]:
    """``x`` as a float (n_windows, window, n_channels) array, and whether it was 2-D."""
    arr = np.asarray(x)
    if arr.dtype.kind not in "biuf":
        raise DataError(f"expected a numeric array, got dtype {arr.dtype}")
    if arr.ndim not in (2, 3):
        raise DataError(f"expected shape (n_windows, window, n_channels) or (n_steps, n_channels), got {arr.shape}")
    if arr.size == 0:
        raise DataError(f"expected a non-empty array, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        raise DataError(f"input has {int((~np.isfinite(arr)).sum())} NaN/inf values")
    windows = arr[None] if arr.ndim == 2 else arr
    if windows.shape[1] < min_steps:
        raise DataError(f"windows have {windows.shape[1]} steps; this transformation needs at least {min_steps}")
    dtype = arr.dtype if arr.dtype.kind == "f" else np.float64
    return windows.astype(dtype), arr.ndim == 2


def _shaped(out: np.ndarray, was_2d: bool) -> np.ndarray:
    return out[0] if was_2d else out


def _smooth_curves(rng: np.random.Generator, n: int, steps: int, channels: int, sigma: float, knots: int) -> np.ndarray:
    """Random curves around 1, shape (n, steps, channels): a cubic spline through ``knots + 2``
    evenly spaced values ~ N(1, sigma^2), evaluated at every step (Um et al.'s random curve)."""

    at = np.linspace(0.0, steps - 1.0, knots + 2)
    values = rng.normal(1.0, sigma, size=(knots + 2, n, channels))
    return np.moveaxis(CubicSpline(at, values, axis=0)(np.arange(steps)), 0, 1)


def _resample(windows: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Linear interpolation of each window at fractional step ``positions`` (n, steps) in
    [0, window - 1]; returns (n, steps, n_channels)."""
    last = windows.shape[1] - 1
    positions = np.clip(positions, 0.0, last)
    lo = np.minimum(np.floor(positions).astype(np.intp), max(last - 1, 0))
    frac = (positions - lo)[..., None]
    rows = np.arange(len(windows))[:, None]
    hi = np.minimum(lo + 1, last)
    return windows[rows, lo] * (1.0 - frac) + windows[rows, hi] * frac


@_register
def jitter(x, sigma: float = 0.03, *, rng=None) -> np.ndarray:
    """Add Gaussian noise: ``x + N(0, sigma^2)``, drawn independently for every value.

    Parameters
    ----------
    x : array of shape (n_windows, window, n_channels) or (n_steps, n_channels)
    sigma : float >= 0, default=0.03
        Noise standard deviation, in the units of ``x``.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray of the shape and float dtype of ``x``
    """
    check_number("sigma", sigma, low=0.0)
    windows, was_2d = _windows(x)
    noise = _generator(rng).normal(0.0, sigma, size=windows.shape) if sigma else 0.0
    return _shaped((windows + noise).astype(windows.dtype), was_2d)


@_register
def scaling(x, sigma: float = 0.1, *, rng=None) -> np.ndarray:
    """Multiply each channel of each window by one random factor ~ N(1, sigma^2).

    Parameters
    ----------
    x : array of shape (n_windows, window, n_channels) or (n_steps, n_channels)
    sigma : float >= 0, default=0.1
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray of the shape and float dtype of ``x``; ``out[i, :, c] / x[i, :, c]`` is constant
    over time.
    """
    check_number("sigma", sigma, low=0.0)
    windows, was_2d = _windows(x)
    factors = _generator(rng).normal(1.0, sigma, size=(windows.shape[0], 1, windows.shape[2])) if sigma else 1.0
    return _shaped((windows * factors).astype(windows.dtype), was_2d)


@_register
def magnitude_warp(x, sigma: float = 0.2, knots: int = 4, *, rng=None) -> np.ndarray:
    """Multiply each channel of each window by a smooth random curve around 1.

    The curve is a cubic spline through ``knots + 2`` values ~ N(1, sigma^2) placed evenly
    from the first to the last step (one curve per window and channel).

    Parameters
    ----------
    x : array of shape (n_windows, window, n_channels) or (n_steps, n_channels)
    sigma : float >= 0, default=0.2
    knots : int >= 1, default=4
        Interior knots; more knots give a wigglier curve.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray of the shape and float dtype of ``x``
    """
    check_number("sigma", sigma, low=0.0)
    check_number("knots", knots, low=1, integer=True)
    windows, was_2d = _windows(x, min_steps=2)
    if not sigma:
        return _shaped(windows, was_2d)
    n, steps, channels = windows.shape
    curves = _smooth_curves(_generator(rng), n, steps, channels, sigma, knots)
    return _shaped((windows * curves).astype(windows.dtype), was_2d)


def warp_path(steps: int, speeds: np.ndarray) -> np.ndarray:
    """Monotone time path from speeds: ``path[0] = 0``, ``path[-1] = steps - 1``.

    Parameters
    ----------
    steps : int
    speeds : ndarray of shape (n, steps), all > 0
        How fast the warped time advances at each step (1 = unchanged).

    Returns
    -------
    ndarray of shape (n, steps): the cumulative speeds, rescaled to span the window; strictly
    increasing.
    """
    path = np.concatenate([np.zeros((len(speeds), 1)), np.cumsum(speeds[:, :-1], axis=1)], axis=1)
    return path * ((steps - 1) / path[:, -1:])


@_register
def time_warp(x, sigma: float = 0.2, knots: int = 4, *, rng=None) -> np.ndarray:
    """Resample each window along a smooth random, monotone time path.

    Speeds come from a random curve as in :func:`magnitude_warp` (clipped below at 0.01 so
    time never stops or runs backwards); :func:`warp_path` integrates them into a path from
    step 0 to step ``window - 1``, and ``out[t] = x(path[t])`` by linear interpolation. The
    first and last steps are kept; a monotone channel stays monotone. One path per window,
    shared by its channels.

    Parameters
    ----------
    x : array of shape (n_windows, window, n_channels) or (n_steps, n_channels)
    sigma : float >= 0, default=0.2
    knots : int >= 1, default=4
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray of the shape and float dtype of ``x``
    """
    check_number("sigma", sigma, low=0.0)
    check_number("knots", knots, low=1, integer=True)
    windows, was_2d = _windows(x, min_steps=2)
    if not sigma:
        return _shaped(windows, was_2d)
    n, steps, _ = windows.shape
    speeds = np.maximum(_smooth_curves(_generator(rng), n, steps, 1, sigma, knots)[..., 0], 0.01)
    return _shaped(_resample(windows, warp_path(steps, speeds)).astype(windows.dtype), was_2d)


@_register
def window_slice(x, ratio: float = 0.9, *, rng=None) -> np.ndarray:
    """Crop ``ceil(ratio * window)`` consecutive steps at a random start, stretch back to ``window``.

    The start is uniform over every crop that fits; the crop is stretched by linear
    interpolation so its first and last steps land on the window's first and last steps.

    Parameters
    ----------
    x : array of shape (n_windows, window, n_channels) or (n_steps, n_channels)
    ratio : float in (0, 1], default=0.9
        Fraction of the window kept (1 returns ``x`` unchanged).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray of the shape and float dtype of ``x``
    """
    check_number("ratio", ratio, low=0.0, high=1.0, low_open=True)
    windows, was_2d = _windows(x)
    n, steps, _ = windows.shape
    keep = math.ceil(ratio * steps)
    if keep >= steps:
        return _shaped(windows, was_2d)
    if keep < 2:
        raise ConfigError(f"ratio={ratio!r} keeps {keep} of {steps} steps; need at least 2 to stretch")
    starts = _generator(rng).integers(0, steps - keep, size=n, endpoint=True)
    positions = starts[:, None] + np.linspace(0.0, keep - 1.0, steps)[None]
    return _shaped(_resample(windows, positions).astype(windows.dtype), was_2d)


def augment_frame(frame: pd.DataFrame, method: str = "jitter", *, rng=None, source: str = "input",
                  **strength) -> pd.DataFrame:
    """An augmented copy of a whole log, in units of each channel's standard deviation.

    The log is one window: its channels are standardised on the log itself (mean and
    standard deviation, as ``scaling="standard"``), transformed by ``METHODS[method]``
    (whose default strengths assume unit variance) and put back into the log's units, so
    ``jitter`` with ``sigma=0.03`` adds noise of 3 % of each channel's spread.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_steps, n_channels)
        Numeric and finite (see :func:`anomaly.schema.check_frame`).
    method : str, default="jitter"
        A key of :data:`METHODS`. Those of :data:`TIME_METHODS` move every channel together
        along the rows; the index is kept either way.
    rng : int, numpy.random.Generator or None
    source : str
        Name used in error messages (e.g. the file path).
    **strength
        The method's own parameters (``sigma``, ``knots``, ``ratio``); omitted ones take the
        method's defaults.

    Returns
    -------
    pandas.DataFrame of shape (n_steps, n_channels), float64
        Same index and columns as ``frame``.

    Raises
    ------
    ConfigError
        An unknown method, a parameter the method does not take, or one out of range.
    DataError
        ``frame`` is not numeric and finite, or too short for the method.
    """
    if method not in METHODS:
        raise ConfigError(f"method={method!r} is not one of {sorted(METHODS)}")
    allowed = [name for name in inspect.signature(METHODS[method]).parameters if name not in ("x", "rng")]
    unknown = sorted(set(strength) - set(allowed))
    if unknown:
        raise ConfigError(f"{method} takes {allowed}, not {unknown}")
    check_frame(frame, source=source)
    values = frame.to_numpy(dtype=np.float64)
    scaler = Scaler("standard").fit(values)
    center, scale = scaler.center_.astype(np.float64), scaler.scale_.astype(np.float64)
    out = METHODS[method]((values - center) / scale, rng=rng, **strength)
    return pd.DataFrame(out * scale + center, index=frame.index, columns=frame.columns)


def expand(x, y, *, methods=tuple(METHODS), copies: int = 4, rng=None) -> tuple[np.ndarray, np.ndarray]:
    """The training set plus ``copies`` augmented copies of it.

    In each copy every window is transformed by one method drawn uniformly from ``methods``
    (at its default strength), as in Iwana & Uchida's random-method setting.

    Parameters
    ----------
    x : array of shape (n_windows, window, n_channels)
    y : array of shape (n_windows,)
        Labels, repeated for the copies.
    methods : sequence of str, default=all of :data:`METHODS`
    copies : int >= 0, default=4
    rng : int, numpy.random.Generator or None

    Returns
    -------
    x_out : ndarray of shape ((copies + 1) * n_windows, window, n_channels); originals first
    y_out : ndarray of shape ((copies + 1) * n_windows,)
    """
    check_number("copies", copies, low=0, integer=True)
    names = [methods] if isinstance(methods, str) else list(methods)
    unknown = [m for m in names if m not in METHODS]
    if unknown or not names:
        raise ConfigError(f"methods={methods!r}: choose one or more of {sorted(METHODS)}")
    windows, _ = _windows(x)
    labels = np.asarray(y)
    if np.asarray(x).ndim != 3 or len(labels) != len(windows):
        raise DataError(f"expected x of shape (n, window, channels) and n labels; got x {np.shape(x)}, {len(labels)} labels")
    gen = _generator(rng)
    out = [windows]
    for _ in range(copies):
        choice = gen.integers(0, len(names), size=len(windows))
        copy = np.empty_like(windows)
        for k, name in enumerate(names):
            rows = choice == k
            if rows.any():
                copy[rows] = METHODS[name](windows[rows], rng=gen)
        out.append(copy)
    return np.concatenate(out), np.concatenate([labels] * (copies + 1))
