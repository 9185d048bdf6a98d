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
are shifted by the distance from that window's median to the channel's training median
(scaled units). Once one window's median is inside, the channel is scored at its level
for the rest of the pass: a fault that moves a channel out of the envelope in the middle of a
run stays an alarm as long as it lasts. So a run that starts outside is flagged for at most its
first window, and a fault inside it still shows around its new level.

The shift is causal and counted in absolute rows of the pass: a file scored whole, in blocks or
as a stream row by row gets the same values.
"""

from __future__ import annotations

import numpy as np

from anomaly.guard import window_rows

__all__ = ["MIN_WINDOW_ROWS", "Recentring", "recentre_rows"]

#: The fewest rows a window holds (data logged every few minutes: its median is a level, not a row).
MIN_WINDOW_ROWS = 20


def recentre_rows(rate: float | None) -> int:
    """Rows per window at the sampling ``rate`` (Hz; None: numbered rows)."""
    return max(window_rows(rate), MIN_WINDOW_ROWS)


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
    """

    def __init__(self, low, high, median, rows: int):
        self.low = np.asarray(low, dtype=np.float64)
        self.high = np.asarray(high, dtype=np.float64)
        self.rows = int(rows)
        self.watched = np.flatnonzero(np.isfinite(self.low) & np.isfinite(self.high))
        self.median = np.asarray(median, dtype=np.float64)[self.watched]
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
                shift = np.where(self._outside, median - self.median, 0.0)
                if (shift != self._shifts[-1]).any():
                    self._starts.append(self._seen)
                    self._shifts.append(shift)
