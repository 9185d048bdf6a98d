"""Re-centring: a channel whose level has left the training envelope is scored around its new level.

The validity guard (:mod:`anomaly.guard`) names a run whose channel sits outside the range it
covered in training ("model outside its operating envelope: battery_v -0.219 (training 24.41 ..
25.59)"). Without more, every row of such a run is also flagged: a less charged battery, a
supply at another voltage or a sensor re-mounted with an offset is one alarm from the first row
to the last, blamed on whichever channel the model relates to it. Issue 11 asks for the guard's
line *instead of* that flood.

So in every scoring pass (a file, a stream, a session after a pause), each channel the model
sees at its level (not a condition or set-point channel, which have their own reference) is
watched in consecutive windows of ``rows`` rows (a minute at the model's sampling rate,
:data:`anomaly.guard.WINDOW_SECONDS`, and at least :data:`MIN_WINDOW_ROWS`). While every window
of the pass so far has had the channel's median outside its training envelope (the run lies
outside it from its start: a less charged battery, a cooler day), the rows after each window
are shifted by the channel's offset in that window. Once one window's median is inside, the
channel is scored at its level for the rest of the pass: a fault that moves a channel out of the
envelope in the middle of a run stays an alarm as long as it lasts. So a run that starts outside
is flagged for at most its first window, and a fault inside it still shows around its new level.

The offset is the window's median of the channel's distance from what the watched channels
still inside predict for it: the training rows' linear least-squares estimate (their mean and
covariance, scaled units, :class:`LevelModel`). A battery's voltage sags with the load, so its
median over a minute follows the load that minute drew, by several tenths of its training
spread; its distance from the voltage the currents predict is its charge alone. A channel the
others do not predict (an ambient temperature) gets its distance from its training mean.
Models saved without a level model use the distance of the window's median from the training
median.

The shift is causal and counted in absolute rows of the pass: a file scored whole, in blocks or
as a stream row by row gets the same values.
"""

from __future__ import annotations

import numpy as np

from anomaly.guard import window_rows

__all__ = ["MIN_WINDOW_ROWS", "LevelModel", "Recentring", "recentre_rows"]

#: The fewest rows a window holds (data logged every few minutes: its median is a level, not a row).
MIN_WINDOW_ROWS = 20


def recentre_rows(rate: float | None) -> int:
    """Rows per window at the sampling ``rate`` (Hz; None: numbered rows)."""
    return max(window_rows(rate), MIN_WINDOW_ROWS)


#: Ridge on the inside channels' covariance, relative to each one's variance (twins are collinear).
RIDGE = 1e-3


class LevelModel:
    """The training rows' mean and covariance (scaled units): what the channels predict of each other.

    Attributes
    ----------
    mean_ : ndarray of shape (n_channels,)
    covariance_ : ndarray of shape (n_channels, n_channels)
    """

    def fit(self, parts) -> LevelModel:
        """Fit on scaled training rows: a list of arrays (n_i, n_channels), one per log, read one at a time."""
        rows, total, products = 0, 0.0, 0.0
        for Z in parts:
            Z = np.asarray(Z, dtype=np.float64)
            rows, total, products = rows + len(Z), total + Z.sum(axis=0), products + Z.T @ Z
        self.mean_ = np.asarray(total, dtype=np.float64) / max(rows, 1)
        self.covariance_ = (products - rows * np.outer(self.mean_, self.mean_)) / max(rows - 1, 1)
        return self

    def offsets(self, rows: np.ndarray, out, inside) -> np.ndarray:
        """Each channel ``out`` (indices) minus its estimate from the channels ``inside`` (indices),
        per row of ``rows`` (n, n_channels): shape (n, len(out))."""
        distance = rows[:, out] - self.mean_[out]
        if len(inside):
            cov = self.covariance_[np.ix_(inside, inside)]
            ridge = RIDGE * np.diag(np.maximum(np.diag(cov), 1e-12))
            weights = np.linalg.solve(cov + ridge, self.covariance_[np.ix_(inside, out)])  # (s, o)
            distance -= (rows[:, inside] - self.mean_[inside]) @ weights
        return distance

    def to_dict(self) -> dict:
        return {"mean": self.mean_.tolist(), "covariance": self.covariance_.tolist()}

    @classmethod
    def from_dict(cls, data: dict, n_channels: int) -> LevelModel:
        model = cls()
        model.mean_ = np.asarray(data["mean"], dtype=np.float64)
        model.covariance_ = np.asarray(data["covariance"], dtype=np.float64)
        if model.mean_.shape != (n_channels,) or model.covariance_.shape != (n_channels, n_channels):
            raise ValueError(f"a level model of shape {model.covariance_.shape} for {n_channels} channels")
        return model


class Recentring:
    """The per-pass state of re-centring, fed the pass's scaled rows in order.

    Parameters
    ----------
    low, high : array-like of shape (n_channels,)
        Each channel's training envelope in scaled units; a channel not watched has
        ``-inf``/``inf``.
    median : array-like of shape (n_channels,)
        Each channel's training median in scaled units.
    rows : int
        Rows per window (>= 1).
    model : LevelModel or None
        What the channels predict of each other (None: a channel's offset is its window median's
        distance from ``median``).
    """

    def __init__(self, low, high, median, rows: int, model: LevelModel | None = None):
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.rows = int(rows)
        self.watched = np.flatnonzero(np.isfinite(self.low) & np.isfinite(self.high))
        self.median = np.asarray(median, dtype=np.float64)[self.watched]
        self.model = model
        self._window = np.zeros((self.rows, len(self.watched)), dtype=np.float64)
        self._filled = 0
        self._seen = 0
        self._outside = np.ones(len(self.watched), dtype=bool)  # every window so far outside
        self._starts = [0]  # pass positions from which a shift holds
        self._shifts = [np.zeros(len(self.watched))]  # (k,) the shift of the watched channels from each start

    def __call__(self, Z: np.ndarray, new: int | None = None) -> np.ndarray:
        """Rows (m, c) of the pass, of which the last ``new`` (default: all; on the first call all
        ``m`` rows) are new, -> the same rows (m, c) float32 with the shifts in force at their
        positions subtracted from the watched channels."""
        m = len(Z)
        new = m if new is None or not self._seen else int(new)
        start = self._seen - (m - new)
        if start < 0 or not 0 <= new <= m:
            raise ValueError(f"{m - new} rows given as seen, but the pass has seen {self._seen}")
        if not len(self.watched):
            return Z
        self._take(np.asarray(Z[m - new :])[:, self.watched])
        at = np.searchsorted(self._starts, np.arange(start, start + m), side="right") - 1
        if not any(self._shifts[i].any() for i in np.unique(at)):
            return Z
        out = np.array(Z, dtype=np.float32)
        out[:, self.watched] -= np.asarray(self._shifts, dtype=np.float32)[at]
        return out

    def _offsets(self, median: np.ndarray) -> np.ndarray:
        """The shift (k,) after the window just filled (its median (k,)): the offset of each
        channel outside so far, 0 for the others."""
        shift = np.zeros(len(self.watched))
        out = np.flatnonzero(self._outside)
        if not len(out):
            return shift
        if self.model is None:
            shift[out] = median[out] - self.median[out]
            return shift
        rows = np.zeros((self.rows, len(self.model.mean_)))
        rows[:, self.watched] = self._window
        inside = self.watched[~self._outside]
        shift[out] = np.median(self.model.offsets(rows, self.watched[out], inside), axis=0)
        return shift

    def _take(self, values: np.ndarray) -> None:
        """Feed the watched channels' new rows (n, k); each window they complete sets the shift after it."""
        if not self._outside.any():  # every channel has been inside once: scored at its level from now on
            self._seen += len(values)
            return
        i = 0
        while i < len(values):
            j = min(len(values), i + self.rows - self._filled)
            self._window[self._filled : self._filled + j - i] = values[i:j]
            self._filled += j - i
            self._seen += j - i
            i = j
            if self._filled == self.rows:
                self._filled = 0
                median = np.median(self._window, axis=0)
                self._outside &= (median < self.low[self.watched]) | (median > self.high[self.watched])
                shift = self._offsets(median)
                if (shift != self._shifts[-1]).any():
                    self._starts.append(self._seen)
                    self._shifts.append(shift)
