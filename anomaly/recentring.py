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
:data:`anomaly.guard.WINDOW_SECONDS`, and at least :data:`MIN_WINDOW_ROWS`; a window's
medians over every k-th row, at most about :data:`MEDIAN_ROWS`). A channel whose
window median lies outside its training envelope is re-centred, the rows after the window
shifted by its offset in it (and, after two such windows in a row, by the line through their
offsets: a channel that drifts is followed, not left a window behind), when

* it has been outside since the pass's first window (the run lies outside from its start: a
  less charged battery, a cooler day), or
* it drifted out: the window before was inside and its median moved by at most
  :data:`GRADUAL_SHARE` of the envelope's width since (a battery discharging below anything the
  shorter training logs saw, a supply sagging over a shift), or
* it was re-centred after the window before;

and scored at its level otherwise: a fault that moves a channel out of the envelope in a step
(a binding drive's current, a sensor's jump) stays an alarm as long as it lasts. So a run that
starts outside is flagged for at most its first window, a channel that drifts out is not
flagged for it, and a fault inside either still shows around the new level.

The offset is the window's median of the channel's distance from what the watched channels
inside their envelope in that window predict for it: the training rows' linear least-squares
estimate (their mean and covariance, scaled units, :class:`LevelModel`). A battery's voltage
sags with the load, so its median over a minute follows the load that minute drew, by several
tenths of its training spread; its distance from the voltage the currents predict is its
charge alone. A channel the
others do not predict (an ambient temperature) gets its distance from its training mean.
Models saved without a level model use the distance of the window's median from the training
median.

The shift is causal and counted in absolute rows of the pass: a file scored whole, in blocks or
as a stream row by row gets the same values.
"""

from __future__ import annotations

import numpy as np

from anomaly.guard import window_rows

__all__ = ["GRADUAL_SHARE", "MEDIAN_ROWS", "MIN_WINDOW_ROWS", "LevelModel", "Recentring", "recentre_rows"]

#: The fewest rows a window holds (data logged every few minutes: its median is a level, not a row).
MIN_WINDOW_ROWS = 20
#: A window's medians are taken over at most about this many of its rows (every k-th): a level
#: does not need 6,000 rows at 100 Hz, and the medians were a quarter of PCA's scoring time.
MEDIAN_ROWS = 1000


def recentre_rows(rate: float | None) -> int:
    """Rows per window at the sampling ``rate`` (Hz; None: numbered rows)."""
    return max(window_rows(rate), MIN_WINDOW_ROWS)


#: A channel that crosses its envelope's edge with its window median moving by at most this share
#: of the envelope's width since the window before drifted out (a step is a fault).
GRADUAL_SHARE = 0.25

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
        """JSON-ready (``detector.json``'s ``level_model``): n_channels + n_channels^2 numbers."""
        return {"mean": self.mean_.tolist(), "covariance": self.covariance_.tolist()}

    @classmethod
    def from_dict(cls, data: dict, n_channels: int) -> LevelModel:
        """The model of :meth:`to_dict`; ValueError unless its shapes fit ``n_channels``."""
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
        self._step = max(1, -(-self.rows // MEDIAN_ROWS))  # every k-th row of a window enters its medians
        self._window = np.zeros((-(-self.rows // self._step), len(self.watched)), dtype=np.float64)  # those rows
        self._filled = 0
        self._seen = 0
        self._recentred = np.zeros(len(self.watched), dtype=bool)  # shifted after the last window
        self._last: np.ndarray | None = None  # the last window's median (None before the first)
        self._width = self.high[self.watched] - self.low[self.watched]
        # segments of the pass from which a shift holds: its first row, and the shift offset + slope x (row - anchor)
        self._starts, self._anchors = [0], [0.0]
        self._offsets, self._slopes = [np.zeros(len(self.watched))], [np.zeros(len(self.watched))]

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
        position = np.arange(start, start + m)
        at = np.searchsorted(self._starts, position, side="right") - 1
        used = np.unique(at)
        if not any(self._offsets[i].any() or self._slopes[i].any() for i in used):
            return Z
        at = np.searchsorted(used, at)  # among the segments these rows use
        offsets, slopes = np.array([self._offsets[i] for i in used]), np.array([self._slopes[i] for i in used])
        anchors = np.array([self._anchors[i] for i in used])
        out = np.array(Z, dtype=np.float32)
        out[:, self.watched] -= (offsets[at] + slopes[at] * (position - anchors[at])[:, None]).astype(np.float32)
        return out

    def _update(self, median: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shift after the window just filled (its median (k,)): per channel, its offset in the
        window (k,) and the slope (k,) per row from its offset in the window before, both 0 for a
        channel not re-centred (and the slope for one re-centred after this window only)."""
        outside = (median < self.low[self.watched]) | (median > self.high[self.watched])
        before = self._recentred
        if self._last is None:  # the first window: outside since the pass's start
            self._recentred = outside
        else:
            inside_before = (self._last >= self.low[self.watched]) & (self._last <= self.high[self.watched])
            drifted = inside_before & (np.abs(median - self._last) <= GRADUAL_SHARE * self._width)
            self._recentred = outside & (self._recentred | drifted)
        self._last = median
        offset = np.zeros(len(self.watched))
        out = np.flatnonzero(self._recentred)
        if len(out) and self.model is None:
            offset[out] = median[out] - self.median[out]
        elif len(out):
            rows = np.zeros((len(self._window), len(self.model.mean_)))
            rows[:, self.watched] = self._window
            offset[out] = np.median(self.model.offsets(rows, self.watched[out], self.watched[~outside]), axis=0)
        # the last segment holds the window before's offset (a segment starts whenever the offset moves)
        slope = np.where(self._recentred & before, (offset - self._offsets[-1]) / self.rows, 0.0)
        return offset, slope

    def _take(self, values: np.ndarray) -> None:
        """Feed the watched channels' new rows (n, k); each window they complete sets the shift after it."""
        i = 0
        while i < len(values):
            j = min(len(values), i + self.rows - self._filled)
            first = -self._filled % self._step  # the first of these rows at a multiple of the step
            taken = values[i + first : j : self._step]
            at = (self._filled + first) // self._step
            self._window[at : at + len(taken)] = taken
            self._filled += j - i
            self._seen += j - i
            i = j
            if self._filled == self.rows:
                self._filled = 0
                offset, slope = self._update(np.median(self._window, axis=0))
                if (offset != self._offsets[-1]).any() or (slope != self._slopes[-1]).any():
                    self._starts.append(self._seen)
                    self._anchors.append(self._seen - self.rows / 2)  # the window's middle, where its median lies
                    self._offsets.append(offset)
                    self._slopes.append(slope)
