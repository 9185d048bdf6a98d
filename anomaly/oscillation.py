"""Oscillating channels: a reading that swings back and forth where it did not in training (a
slipping grip, a hunting servo, chatter, an unstable control loop).

A slipping gripper's holding current drops to about half and swings at a few hertz. A
reconstruction model sees a level inside the channel's training range (the gripper current
passes through it at every grasp) and reconstructs it; the noise check (:mod:`anomaly.noise`)
looks at the second difference, which a swing of 25 rows a cycle barely moves. Its signature
needs no model: the channel crosses back and forth around its own moving level far more often
than in training, by more than its noise.

Per channel, in a pass of scaled rows: the level is the moving average over the last
:data:`LEVEL_ROWS` rows; a row's *excursion* is its distance from that level when it is past
the channel's *band*, the larger of :data:`BAND_FACTOR` times its training noise (the robust
spread of its row-to-row changes, :func:`noise_sigma`) and :data:`LOCAL_FACTOR` times the noise
of the last :data:`WINDOW` rows (the root mean square of their row-to-row changes over
:math:`\\sqrt 2`): white noise of any size rarely passes three of its own standard deviations,
while a swing of a few hertz moves far more than its row-to-row steps. A *swing* is an
excursion on the other side from the one before it, and the count is the swings in the last
:data:`WINDOW` rows, from the pass's :data:`WINDOW`-th row on (before it the window's noise is
not known; the noise check waits as long). Noise that turns ten times louder at once counted up to 4
swings in the window holding its onset, while the window's noise caught up (none past the
floor of a limit). A step (a gripper closing, a set point moving) is one excursion, two with
an overshoot. The limit is :data:`LIMIT_FACTOR` times the largest count in the training logs,
at least :data:`MIN_LIMIT`; a row whose count is past it alarms, with the ratio to it as the
detector's other sensor checks do (the score at least ``sensor_scale_ x`` the ratio, that
channel named first). Row counts, so at any sampling rate: at 100 Hz a level over 0.5 s and 5
swings in 1 s (a 2.5 Hz swing or faster).

Measured (``benchmarks/conditions.py``, ``benchmarks/sensor_checks.py``): on the simulated arm
every gripper slip under every unseen operating condition is found (40 isolated slips: recall
0.57 -> 1.00, named first 0 -> 0.80) with no false alarm added on any condition (80 % speed, a
heavier payload and a second program included); no row of ALFA's flights, ASD or SKAB passes a
limit; SMD 45 normal rows of one machine (one alarm in 45 days) and 41 labelled ones of
another. Cost: about 0.55 s a million rows of 28 channels in a batch (1.5-2x of PCA's whole
``score``), 45 us a stream row.
"""

from __future__ import annotations

import numpy as np

from anomaly.sensor_checks import PUSH_BLOCK, PassRatios

__all__ = ["BAND_FACTOR", "LEVEL_ROWS", "LIMIT_FACTOR", "LOCAL_FACTOR", "MIN_LIMIT", "Swings", "WINDOW", "fit_oscillation_limits",
           "noise_sigma", "swing_blocks", "swing_counts", "trailing_sums"]

#: Rows of the moving level a channel's excursions are measured from.
LEVEL_ROWS = 50
#: Rows over which swings are counted (and the window's own noise is measured).
WINDOW = 100
#: An excursion passes this many training noise standard deviations ...
BAND_FACTOR = 5.0
#: ... and this many of the last WINDOW rows' own.
LOCAL_FACTOR = 3.0
#: A channel's limit is this many times its largest count of swings in training ...
LIMIT_FACTOR = 2.0
#: ... and at least this many (a row alarms when its count is past the limit).
MIN_LIMIT = 4.0
#: A channel with fewer row-to-row changes than this in training is not watched.
MIN_CHANGES = 10


def noise_sigma(parts: list[np.ndarray]) -> np.ndarray:
    """Each channel's training noise (c,) float64: the median absolute deviation of its nonzero
    row-to-row changes in the sessions ``parts`` (each (n_i, c)), as a standard deviation of the
    readings (/ 0.6745 / sqrt 2); 0 for a channel with fewer than :data:`MIN_CHANGES` changes.
    Held readings (a sensor slower than the log) repeat: only their changes count."""
    c = parts[0].shape[1]
    steps = np.concatenate([np.diff(Z.astype(np.float64), axis=0) for Z in parts if len(Z) > 1] or [np.zeros((0, c))])
    sigma = np.zeros(c)
    for k in range(c):
        changes = steps[:, k][steps[:, k] != 0]
        if len(changes) >= MIN_CHANGES:
            sigma[k] = np.median(np.abs(changes - np.median(changes))) / 0.6745 / np.sqrt(2.0)
    return sigma


def fit_oscillation_limits(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's band and limit, two (c,) float64 arrays, from the scaled training sessions
    ``parts`` (each (n_i, c), one pass each): band :data:`BAND_FACTOR` x :func:`noise_sigma`,
    limit :data:`LIMIT_FACTOR` x the largest count of swings, at least :data:`MIN_LIMIT`; both
    0 where the channel is not watched (no noise to measure)."""
    bands = BAND_FACTOR * noise_sigma(parts)
    largest = np.zeros(len(bands))
    for Z in parts:
        for block in swing_blocks(Z, bands):  # bounded temporaries on long logs
            np.maximum(largest, block.max(axis=0, initial=0.0), out=largest)
    limits = np.where(bands > 0, np.maximum(LIMIT_FACTOR * largest, MIN_LIMIT), 0.0)
    return np.where(limits > 0, bands, 0.0), limits


def trailing_sums(values: np.ndarray, carried: int, window: int) -> np.ndarray:
    """Sums over the last ``window`` steps (fewer at the start) of each of the steps of
    ``values`` (c, n), channel by channel along the last axis, after its first ``carried``:
    (c, n - carried) float64."""
    c, n = values.shape
    sums = np.empty((c, n + 1))
    sums[:, 0] = 0.0
    np.cumsum(values, axis=1, out=sums[:, 1:])
    head = min(max(window - carried - 1, 0), n - carried)  # steps whose window reaches the start
    out = np.empty((c, n - carried))
    out[:, :head] = sums[:, carried + 1: carried + 1 + head]
    np.subtract(sums[:, carried + 1 + head:], sums[:, carried + 1 + head - window: n + 1 - window], out=out[:, head:])
    return out


def swing_blocks(values: np.ndarray, bands: np.ndarray):
    """:func:`swing_counts` of one pass, yielded per :data:`~anomaly.sensor_checks.PUSH_BLOCK`
    rows ((m, c) float64 each; the counts do not depend on the cut)."""
    check = Swings(np.where(np.asarray(bands) > 0, 1.0, 0.0), bands)
    for start in range(0, len(values), PUSH_BLOCK):
        yield check.counts(np.asarray(values[start:start + PUSH_BLOCK], dtype=np.float64))


def swing_counts(values: np.ndarray, bands: np.ndarray) -> np.ndarray:
    """Swings in the last :data:`WINDOW` rows of each row of one pass: ``values`` (n, c) scaled,
    ``bands`` (c,) -> (n, c) float64 (0 for a channel whose band is 0)."""
    return np.concatenate([np.zeros((0, len(bands))), *swing_blocks(values, bands)])


class Swings(PassRatios):
    """Each channel's count of swings through one scoring pass, as ratios to its limit where one
    is past it (:class:`anomaly.sensor_checks.PassRatios`).

    The last rows of the moving level, the last squared changes and swings of the window, the
    last row and each channel's last excursion side are carried from push to push, so the
    counts do not depend on how the pass is cut (to float rounding at a band's edge: each push
    sums its own windows). Blocks are worked out channel by channel (the rows transposed, for
    running sums along memory), and counted in full only for the channels whose swings could
    pass their limits; a stream's row past the first window takes no block arithmetic.

    Parameters
    ----------
    limits : ndarray (c,)
        Limits (:func:`fit_oscillation_limits`); 0 for a channel not watched.
    bands : ndarray (c,)
        Bands in scaled units (:func:`fit_oscillation_limits`).
    """

    def __init__(self, limits, bands):
        super().__init__(limits)
        c = len(self.limits)
        self.bands = np.where(self._on, np.asarray(bands, dtype=np.float64), np.inf)
        self._bands_squared = np.square(self.bands)
        self._rows = np.zeros((c, 0))  # the last LEVEL_ROWS - 1 rows, channel by channel
        self._squares = np.zeros((c, 0))  # the last WINDOW - 1 squared changes
        self._swung = np.zeros((c, WINDOW - 1))  # the last WINDOW - 1 rows' swings (1 or 0; 0 before the pass)
        self._side = np.zeros(c)  # each channel's last excursion: +1, -1, 0 before the first
        self._seen = 0  # rows of the pass so far

    def counts(self, x: np.ndarray) -> np.ndarray:
        """Swing counts (m, c) of the pass's next rows ``x`` (m, c) float64; the carried state advances."""
        m, c = x.shape
        if not m:
            return np.zeros((0, c))
        if m == 1 and self._seen >= WINDOW:  # a stream's row, past the first window: no block arithmetic
            return self._count_row(x[0])[None]
        carried = self._swung
        rows, cols = self._advance(x)
        return self._window_counts(carried, rows, cols, m, np.arange(c)).T

    def _advance(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The swings of the pass's next rows ``x`` (m, c) (any float; worked out in float64) as
        positions (rows, columns); the carried state advances."""
        m, c = x.shape
        p, q = self._rows.shape[1], self._squares.shape[1]
        full = np.empty((c, p + m))
        full[:, :p] = self._rows
        full[:, p:] = x.T
        excursion = trailing_sums(full, p, LEVEL_ROWS)
        excursion /= -np.minimum(np.arange(p + 1, p + m + 1), LEVEL_ROWS)
        excursion += full[:, p:]
        squares = np.empty((c, q + m))
        squares[:, :q] = self._squares
        new = squares[:, q:]
        if p:
            np.subtract(full[:, p:], full[:, p - 1:-1], out=new)
        else:  # the pass's first row: no change
            new[:, 0] = 0.0
            np.subtract(full[:, 1:], full[:, :-1], out=new[:, 1:])
        np.square(new, out=new)
        outside = np.square(excursion) > self._squared_band(trailing_sums(squares, q, WINDOW))
        outside[:, : max(WINDOW - self._seen, 0)] = False  # the window's own noise is known from the pass's WINDOW-th row on
        positive = excursion > 0
        sides = (outside & positive).view(np.int8) - (outside & ~positive).view(np.int8)  # +1, -1, 0
        starts = outside  # where a run of one side starts: the rows that can swing
        starts[:, 1:] &= sides[:, 1:] != sides[:, :-1]
        cols, rows = np.nonzero(starts)  # in channel order
        side = sides[cols, rows].astype(np.float64)
        first = np.ones(len(cols), dtype=bool)
        first[1:] = cols[1:] != cols[:-1]
        before = np.empty_like(side)
        before[1:] = side[:-1]
        before[first] = self._side[cols[first]]
        swung = side == -before
        last = np.ones(len(cols), dtype=bool)
        last[:-1] = first[1:]
        self._side[cols[last]] = side[last]
        self._seen += m
        self._rows = full[:, -(LEVEL_ROWS - 1):].copy()
        self._squares = squares[:, -(WINDOW - 1):].copy()
        kept = np.zeros((c, WINDOW - 1))
        if m < WINDOW - 1:
            kept[:, : WINDOW - 1 - m] = self._swung[:, m:]
        recent = swung & (rows >= m - (WINDOW - 1))
        kept[cols[recent], (WINDOW - 1) - m + rows[recent]] = 1.0
        self._swung = kept
        return rows[swung], cols[swung]

    def _squared_band(self, sums: np.ndarray) -> np.ndarray:
        """The square of each row's band from the sums of its window's squared changes (c, n) or
        (c,), in place: the larger of the channel's band and :data:`LOCAL_FACTOR` noise
        deviations of the window (its root mean square change over sqrt 2)."""
        sums *= LOCAL_FACTOR**2 / (WINDOW * 2.0)
        return np.maximum(sums, self._bands_squared if sums.ndim == 1 else self._bands_squared[:, None], out=sums)

    def _passing(self, carried: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """The channels whose count passes their limit in some row of the block whose swings are
        at (``rows``, ``cols``, in channel order), after the ``carried`` swings (c, WINDOW - 1):
        where more than the limit's swings lie within WINDOW rows of a block row."""
        before_cols, before_rows = np.nonzero(carried)
        cols = np.concatenate([before_cols, cols])
        rows = np.concatenate([before_rows - (WINDOW - 1), rows])
        order = np.lexsort((rows, cols))
        cols, rows = cols[order], rows[order]
        need = np.floor(self.limits).astype(np.int64)[cols]  # the swing `need` before one past the limit
        earlier = np.arange(len(cols)) - need
        valid = (earlier >= 0) & self._on[cols]
        earlier = np.where(valid, earlier, 0)
        hits = valid & (cols[earlier] == cols) & (np.maximum(rows, 0) - rows[earlier] < WINDOW)
        return np.unique(cols[hits])

    @staticmethod
    def _window_counts(carried: np.ndarray, rows: np.ndarray, cols: np.ndarray, m: int, columns: np.ndarray) -> np.ndarray:
        """Swings in the last :data:`WINDOW` rows, (c, m) channel by channel, of the block whose
        swings are at (``rows``, ``cols``), after the ``carried`` swings (c, WINDOW - 1) of the
        rows before it, for the channels ``columns`` (others 0)."""
        c, s = carried.shape
        dense = np.zeros((len(columns), s + m))
        dense[:, :s] = carried[columns]
        where = np.full(c, -1)
        where[columns] = np.arange(len(columns))
        pick = where[cols] >= 0
        dense[where[cols[pick]], s + rows[pick]] = 1.0
        out = np.zeros((c, m))
        out[columns] = trailing_sums(dense, s, WINDOW)
        return out

    def _count_row(self, x: np.ndarray) -> np.ndarray:
        """:meth:`counts` of one row (c,) once every window is full, with the windows' sums taken
        afresh (the same values as a block's, to float rounding)."""
        excursion = x - (self._rows.sum(axis=1) + x) / LEVEL_ROWS
        square = np.square(x - self._rows[:, -1])
        outside = np.square(excursion) > self._squared_band(self._squares.sum(axis=1) + square)
        side = np.where(outside, np.where(excursion > 0, 1.0, -1.0), 0.0)
        swung = ((side != 0) & (side == -self._side)).astype(np.float64)
        count = self._swung.sum(axis=1) + swung
        for carried, new in ((self._rows, x), (self._squares, square), (self._swung, swung)):
            carried[:, :-1] = carried[:, 1:]
            carried[:, -1] = new
        self._side = np.where(side != 0, side, self._side)
        self._seen += 1
        return count

    def _push_block(self, rows: np.ndarray) -> None:
        """A block of the pass's scaled rows (m, c); counted in full only for the channels whose
        swings in the block and the window before it could pass their limits."""
        x = np.asarray(rows)
        m = len(x)
        if m == 1 and self._seen >= WINDOW:
            counts = self._count_row(x[0].astype(np.float64))[None]
        else:
            carried = self._swung
            swing_rows, swing_cols = self._advance(x)
            columns = self._passing(carried, swing_rows, swing_cols)
            if not len(columns):
                self._append(None, m)
                return
            counts = self._window_counts(carried, swing_rows, swing_cols, m, columns).T
        past = (counts > self.limits) & self._on
        self._append(np.where(past, counts * self._inverse, 0.0) if past.any() else None, m)
