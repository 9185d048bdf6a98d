"""Stuck channels: a sensor that keeps repeating one reading.

A frozen sensor (a dead driver, a stale topic the logger keeps repeating, a wire that broke
on a constant) is among the commonest real faults, and a reconstruction model sees it badly:
the frozen value is a plausible one, so its error is small, and the channels named for the
alarm are others (on the simulated arm 65 % of isolated freezes were detected, a frozen
temperature never, and the frozen rows' HitRate@150 % was 0.25). Its signature needs no
model: a channel that changes on almost every row in normal operation holds one value for
far longer than it ever did.

:func:`fit_stuck_limits` learns, per channel, the longest run of one repeated value in the
training logs (each session on its own); a channel qualifies when fewer than
:data:`MAX_REPEAT_SHARE` of its training rows repeat the row before (a sensor with noise,
not a switch, a held low-rate topic or a counter at rest). Its limit is
:data:`LIMIT_FACTOR` times that longest run and at least :data:`MIN_LIMIT_S` seconds
(:data:`MIN_LIMIT_ROWS` rows without timestamps). :class:`RunLengths` follows each channel's
current run through a scoring pass, fed the pass's rows in order however it is cut (a whole
file, blocks of a file, a stream), and gives each scored row in which a run has reached its
limit the ratio of that run to the limit: the detector scores such a row at least
``sensor_scale_ x`` the largest ratio (the training threshold at 1, so a run past its limit
alarms under the alert rules like any other score) and names that channel first.

Measured (``benchmarks/sensor_checks.py``): 40 isolated freezes on the simulated arm, event recall
0.65 -> 1.00, HitRate@150 % 0.25 -> 0.93; false alarms per hour unchanged at every operating
condition of the arm and on ALFA, and no row of SMD's, ASD's or ALFA's test data past a limit
(their longest run of a watched channel is at most 0.70 of its limit), so their F1 and AUC-PR
are unchanged. Cost: batch scoring 1.02x, the stream scorer 1.25x (7 us a row).
"""

from __future__ import annotations

import numpy as np

from anomaly.sensor_checks import PassRatios

__all__ = ["LIMIT_FACTOR", "MAX_REPEAT_SHARE", "MIN_LIMIT_ROWS", "MIN_LIMIT_S", "RunLengths", "fit_stuck_limits", "run_lengths"]

#: A channel qualifies when fewer than this share of its training rows repeat the row before.
MAX_REPEAT_SHARE = 0.5
#: A qualifying channel's limit is this many times its longest training run ...
LIMIT_FACTOR = 4.0
#: ... and at least this many seconds at the model's sampling rate ...
MIN_LIMIT_S = 1.0
#: ... or this many rows without timestamps.
MIN_LIMIT_ROWS = 100


def run_lengths(values: np.ndarray) -> np.ndarray:
    """Each row's run of one repeated value, per channel, within one pass: (n, c) -> (n, c) int64."""
    n, c = values.shape
    if not n:
        return np.zeros((0, c), dtype=np.int64)
    change = np.concatenate([np.ones((1, c), dtype=bool), values[1:] != values[:-1]])
    steps = np.arange(n)[:, None]
    return steps - np.maximum.accumulate(np.where(change, steps, 0), axis=0) + 1


def fit_stuck_limits(logs: list[np.ndarray], sampling_rate: float | None) -> np.ndarray:
    """Each channel's stuck limit in rows, (c,) float64, 0 where the channel does not qualify.

    Parameters
    ----------
    logs : list of ndarray (n_i, c)
        The training sessions' raw values (each log, and each session after a pause, on its own).
    sampling_rate : float or None
        The model's rate (Hz), for :data:`MIN_LIMIT_S`; None: :data:`MIN_LIMIT_ROWS`.
    """
    c = logs[0].shape[1]
    repeats = np.zeros(c, dtype=np.float64)
    pairs = 0
    longest = np.zeros(c, dtype=np.int64)
    for values in logs:
        if len(values) >= 2:
            repeats += (values[1:] == values[:-1]).sum(axis=0)
            pairs += len(values) - 1
        if len(values):
            longest = np.maximum(longest, run_lengths(values).max(axis=0))
    floor = MIN_LIMIT_S * sampling_rate if sampling_rate else MIN_LIMIT_ROWS
    qualifies = (repeats < MAX_REPEAT_SHARE * pairs) if pairs else np.zeros(c, dtype=bool)
    return np.where(qualifies, np.maximum(LIMIT_FACTOR * longest, floor), 0.0)


class RunLengths(PassRatios):
    """Each channel's current run through one scoring pass, as ratios to its limit where a run
    reaches it.

    Fed the pass's rows in order with :meth:`push` (all of them, warm-up rows included, in any
    cut), it hands the ratios of the rows scored, in order, to :meth:`take`; a caller that
    scores only the newest rows (a stream) or skips a warm-up first says so with :meth:`skip_to`.
    Only the rows where a run reaches its limit are worked out one by one (a block's change
    positions per channel tell where the runs are), so a pass without a stuck channel costs
    one comparison of each row with the row before.

    Parameters
    ----------
    limits : ndarray (c,)
        Limits in rows (:func:`fit_stuck_limits`); 0 for a channel never called stuck.
    """

    def __init__(self, limits):
        super().__init__(limits)
        self._reach = np.where(self._on, np.ceil(self.limits), 2.0**62).astype(np.int64)  # rows at which a run reaches its limit
        self._last: np.ndarray | None = None  # (c,) the last row pushed
        self._run = np.zeros(len(self.limits), dtype=np.int64)  # its runs

    def _push_block(self, rows: np.ndarray) -> None:
        """A block of the pass's rows (m, c): any values with equality (raw or scaled)."""
        m, c = rows.shape
        if m == 1 and self._last is not None:  # a stream's row: the same arithmetic, without the block's
            self._run += 1
            self._run[rows[0] != self._last] = 1
            self._last[:] = rows[0]
            self._append((self._run * self._inverse)[None] if (self._run >= self._reach).any() else None, 1)
            return
        previous = np.concatenate([rows[:1] if self._last is None else self._last[None], rows[:-1]])
        change = np.ascontiguousarray((rows != previous).T)  # (c, m): where each channel's value changes
        if self._last is None:
            change[:, 0] = True
        self._last = np.array(rows[-1])
        ratios, run = None, self._run.copy()
        for j in range(c):  # the runs of each channel; rows worked out only where a run reaches its limit
            starts = np.flatnonzero(change[j])
            carried = 0 if len(starts) and starts[0] == 0 else int(run[j])  # the run going on from the last block
            run[j] = m - starts[-1] if len(starts) else run[j] + m
            if not self._on[j]:
                continue
            if not carried:
                bounds = np.append(starts, m)
            else:
                bounds = np.concatenate([[0], starts, [m]])
            reach = int(self._reach[j])
            lengths = np.diff(bounds)
            lengths[0] += carried
            for k in np.flatnonzero(lengths >= reach):
                start, end = int(bounds[k]), int(bounds[k + 1])
                offset = carried if k == 0 else 0
                first = max(start, start + reach - 1 - offset)
                if ratios is None:
                    ratios = np.zeros((m, c), dtype=np.float32)
                ratios[first:end, j] = (np.arange(first, end) - start + 1 + offset) * self._inverse[j]
        self._run = run
        self._append(ratios, m)
