"""Noisy channels: a sensor whose reading turns rough (interference, a loose connector).

A noise burst adds fast, small-scale jitter to one channel. A reconstruction model measures
each row's distance from what the other channels predict, and on a moving machine the model's
own error dwarfs the jitter (on the simulated arm the PCA default flagged 0.2 % of the burst
rows). Its signature needs no model: the channel's second difference, ``x[t] - 2 x[t-1] +
x[t-2]``, which a smooth motion keeps small at any speed, grows with the noise.

:func:`fit_noise_limits` learns, per channel, the largest root mean square of the second
difference over :data:`WINDOW` rows in the training logs (scaled, each session on its own);
the limit is :data:`LIMIT_FACTOR` times that (0, not watched, for a channel whose second
difference is always 0). :class:`NoiseLevels` follows each channel's window through a scoring
pass, fed the pass's scaled rows in order however it is cut, and gives each row past a limit
the ratio to it: the detector scores such a row at least ``sensor_scale_ x`` the largest ratio
and names that channel first, as for a stuck channel (:mod:`anomaly.stuck`).
"""

from __future__ import annotations

import numpy as np

from anomaly.sensor_checks import PassRatios

__all__ = ["LIMIT_FACTOR", "NoiseLevels", "WINDOW", "fit_noise_limits", "rough"]

#: Rows of the window the second difference's root mean square is taken over.
WINDOW = 25
#: A channel's limit is this many times its largest windowed root mean square in training.
LIMIT_FACTOR = 4.0


def rough(values: np.ndarray, window: int = WINDOW) -> np.ndarray:
    """Root mean square of each channel's second difference over the last ``window`` rows:
    ``values`` (n, c) of one pass -> (n, c) float64, 0 for the first ``window + 1`` rows (no
    full window yet)."""
    n, c = values.shape
    out = np.zeros((n, c))
    if n > window + 1:
        squares = np.diff(values.astype(np.float64), n=2, axis=0) ** 2  # row t + 2
        sums = np.cumsum(np.vstack([np.zeros((1, c)), squares]), axis=0)
        out[window + 1:] = np.sqrt(np.maximum(sums[window:] - sums[:-window], 0.0) / window)
    return out


def fit_noise_limits(parts: list[np.ndarray]) -> np.ndarray:
    """Each channel's noise limit, (c,) float64, 0 where it is not watched, from the scaled
    training sessions ``parts`` (each (n_i, c))."""
    largest = np.max([rough(Z).max(axis=0) for Z in parts], axis=0)
    return np.where(largest > 0, LIMIT_FACTOR * largest, 0.0)


class NoiseLevels(PassRatios):
    """Each channel's windowed second-difference level through one scoring pass, as ratios to
    its limit where one reaches it (:class:`anomaly.sensor_checks.PassRatios`).

    The last two rows and the last ``window - 1`` squared second differences are carried from
    push to push, so the values do not depend on how the pass is cut (to float rounding: each
    push sums its own windows).

    Parameters
    ----------
    limits : ndarray (c,)
        Limits (:func:`fit_noise_limits`); 0 for a channel not watched.
    window : int, default WINDOW
    """

    def __init__(self, limits, window: int = WINDOW):
        super().__init__(limits)
        self.window = int(window)
        c = len(self.limits)
        self._tail = np.zeros((0, c), dtype=np.float32)  # the last two rows pushed
        self._recent = np.zeros((0, c), dtype=np.float32)  # the last window - 1 squared second differences
        self._reach = np.where(self._on, self.limits**2 * self.window, np.inf)  # window sums at a limit

    def _squares(self, x: np.ndarray) -> np.ndarray:
        """Squared second differences (k, c) float32 of the rows of block ``x`` (m, c) that have
        two rows before them in the pass; the carried last two rows advance."""
        m, c = x.shape
        body = max(m - 2, 0)
        head = np.concatenate([self._tail, x[:2]])  # the block's first rows, with the two before them
        first = np.diff(head, n=2, axis=0)[len(head) - 2 - (m - body):] if len(head) > 2 else head[:0]
        squares = np.empty((len(first) + body, c), dtype=np.float32)
        squares[: len(first)] = first
        if body:
            out = squares[len(first):]
            np.subtract(x[2:], x[1:-1], out=out)
            out -= x[1:-1]
            out += x[:-2]
        self._tail = np.concatenate([self._tail, x])[-2:] if m < 2 else x[-2:].copy()
        return np.square(squares, out=squares)

    def _push_block(self, rows: np.ndarray) -> None:
        """A block of the pass's scaled rows (m, c), worked out in float32."""
        rows = np.asarray(rows, dtype=np.float32)
        m, c = rows.shape
        if m == 1 and len(self._tail) == 2 and len(self._recent) == self.window - 1 > 0:  # a stream's row, past the first window
            x, tail = rows[0], self._tail
            square = np.square((x - tail[1]) - (tail[1] - tail[0]))
            window = self._recent.sum(axis=0, dtype=np.float64) + square
            tail[0], tail[1] = tail[1], x  # in place: both are the block's own copies
            self._recent[:-1] = self._recent[1:]
            self._recent[-1] = square
            past = window >= self._reach
            self._append(np.where(past, np.sqrt(window / self.window) * self._inverse, 0.0)[None] if past.any() else None, 1)
            return
        squares = self._squares(rows)
        k, p, w = len(squares), len(self._recent), self.window
        recent = self._recent
        self._recent = (squares[k - (w - 1):].copy() if k >= w - 1 else np.concatenate([recent, squares])[-(w - 1):]) if w > 1 \
            else squares[:0]
        # no window of w squares can reach its limit unless one square reaches a w-th of it
        largest = squares.max(axis=0) if k else np.zeros(c, np.float32)
        if p:
            largest = np.maximum(largest, recent.max(axis=0))
        if not k or not (largest * np.float64(w) >= self._reach).any():
            self._append(None, m)
            return
        sums = np.cumsum(np.concatenate([np.zeros((w + 1, c)), recent, squares], dtype=np.float64), axis=0)
        window = sums[p + w + 1 :] - sums[p + 1 : p + k + 1]  # (k, c): the last w squares (sums[w + j]: the first j)
        full = np.arange(p + 1, p + k + 1) >= w  # rows with a whole window (not the pass's first window + 1 rows)
        past = (window >= self._reach) & full[:, None]
        if not past.any():
            self._append(None, m)
            return
        ratios = np.zeros((m, c))
        ratios[m - k :] = np.where(past, np.sqrt(np.maximum(window, 0.0) / w) * self._inverse, 0.0)
        self._append(ratios, m)
