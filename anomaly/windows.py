"""Sliding windows over a (n_steps, n_channels) array and the fold-back of window errors.

Window models see windows of ``window`` consecutive rows. :func:`window_starts` places them
every ``stride`` rows and adds one last window flush with the end of the series, so every
row, including the first ``window - 1`` rows and the tail, is covered by at least one window.
:func:`fold_back` turns per-window, per-step errors back into one error row per time step
by averaging over the windows that cover it.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from anomaly.errors import ConfigError, DataError


def window_starts(n_steps: int, window: int, stride: int) -> np.ndarray:
    """Start rows of the windows covering ``n_steps`` rows.

    Returns
    -------
    starts : ndarray of shape (n_windows,), int64
        ``0, stride, 2*stride, ...`` plus ``n_steps - window`` when the regular grid does not
        reach the end.

    Raises
    ------
    DataError
        If the series is shorter than one window.
    """
    if window < 1 or stride < 1:
        raise ConfigError(f"window={window!r} and stride={stride!r} must both be >= 1")
    if stride > window:
        raise ConfigError(f"stride={stride!r} must be <= window={window!r}, or some rows would get no error")
    if n_steps < window:
        raise DataError(f"series has {n_steps} rows, fewer than one window of {window} rows")
    starts = np.arange(0, n_steps - window + 1, stride, dtype=np.int64)
    if starts[-1] != n_steps - window:
        starts = np.append(starts, n_steps - window)
    return starts


def check_holds_a_window(n_steps: int, window: int, source: str) -> None:
    """DataError unless ``n_steps`` rows (of ``source``) hold one window of ``window`` rows: what
    scoring a whole input asks, whole or block by block (a session after a pause may be shorter)."""
    if n_steps < window:
        raise DataError(f"{source}: {n_steps} rows, fewer than one window of {window} rows")


def sliding_windows(values: np.ndarray, window: int, stride: int = 1) -> np.ndarray:
    """Zero-copy view of the regular windows of ``values``.

    Parameters
    ----------
    values : ndarray of shape (n_steps, n_channels)
    window, stride : int

    Returns
    -------
    windows : ndarray view of shape (n_regular, window, n_channels)
        Windows starting at ``0, stride, 2*stride, ...`` (not the extra tail window of
        :func:`window_starts`). Shares memory with ``values``: do not write to it.
    """
    if values.shape[0] < window:
        raise DataError(f"series has {values.shape[0]} rows, fewer than one window of {window} rows")
    if stride == window and values.flags.c_contiguous:
        # back-to-back windows are a plain reshape: a view that is also contiguous (no copy later)
        count = values.shape[0] // window
        return values[: count * window].reshape(count, window, values.shape[1])
    view = np.lib.stride_tricks.sliding_window_view(values, window, axis=0)  # (n-w+1, c, w)
    return view[::stride].transpose(0, 2, 1)


def iter_windows(values: np.ndarray, window: int, stride: int, batch_size: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield ``(starts, windows)`` batches covering every row of ``values``.

    ``windows`` has shape (len(starts), window, n_channels); batches are views of ``values``
    except the final tail window, so memory stays bounded by ``batch_size`` windows.
    """
    starts = window_starts(values.shape[0], window, stride)
    regular = sliding_windows(values, window, stride)
    n_regular = regular.shape[0]
    for lo in range(0, n_regular, batch_size):
        hi = min(lo + batch_size, n_regular)
        yield starts[lo:hi], regular[lo:hi]
    if len(starts) > n_regular:
        tail = starts[n_regular:]
        yield tail, values[tail[0] : tail[0] + window][None]


class FoldBack:
    """Accumulates per-window errors into per-step means.

    Parameters
    ----------
    n_steps, n_channels : int
        Shape of the output.

    Use :meth:`add` once per batch of windows, then :meth:`result`.
    """

    def __init__(self, n_steps: int, n_channels: int):
        self._sum = np.zeros((n_steps, n_channels), dtype=np.float32)
        self._count = np.zeros(n_steps, dtype=np.int32)

    def add(self, starts: np.ndarray, window_errors: np.ndarray) -> None:
        """Add errors of shape (n_windows, window, n_channels) for windows at ``starts``."""
        window = window_errors.shape[1]
        if len(starts) > 1 and (np.diff(starts) == window).all():
            # back-to-back windows (stride == window): one contiguous block, no fancy indexing
            rows = slice(int(starts[0]), int(starts[-1]) + window)
            self._sum[rows] += window_errors.reshape(-1, window_errors.shape[2])
            self._count[rows] += 1
            return
        for offset in range(window):
            rows = starts + offset  # distinct within one offset, so += is safe without np.add.at
            self._sum[rows] += window_errors[:, offset]
            self._count[rows] += 1

    def result(self) -> np.ndarray:
        """Mean error per step, shape (n_steps, n_channels), float32 (call once: divides in place)."""
        if (self._count == 0).any():
            raise DataError(f"{int((self._count == 0).sum())} rows are covered by no window")
        self._sum /= self._count[:, None]
        return self._sum


def fold_back(window_errors: np.ndarray, starts: np.ndarray, n_steps: int) -> np.ndarray:
    """Average errors of shape (n_windows, window, n_channels) back to shape (n_steps, n_channels)."""
    acc = FoldBack(n_steps, window_errors.shape[2])
    acc.add(starts, window_errors)
    return acc.result()
