"""A slow-drift follower for set-point temperatures: a reference that follows a temperature only
as fast as an ambient drifts.

A temperature that was steady in training (a set-point channel, :mod:`anomaly.conditions`) is
normal between the start of each pass and its training level. A later session whose ambient
drifts moves it beyond that span slowly and for good: on a simulated 10 Hz conveyor drive
trained on two steady sessions, an ambient rising by 0.6 degC an hour (0.3 degC, about 3
training standard deviations, over the session) raised 15 false alarms an hour and one falling
by as much 55 (``benchmarks/other_machine.py``). Where a machine has at least three
temperatures their common move carries the ambient (:func:`anomaly.conditions.ambient_channels`);
with fewer, each set-point temperature gets a follower.

:class:`SlewFollower` is a third reference for such channels: the channel's mean over each
second, followed at most :data:`FOLLOW_PER_MINUTE` scaled units (training standard deviations)
a minute. A drift slower than that is followed with no lag; a faster move leaves the follower
behind and shows at its full size less what the follower moved. The channel is then normal
anywhere between its pass start, its training level and the follower. Within the first second
of a pass the follower is the running mean of the rows so far.
"""

from __future__ import annotations

import numpy as np

#: How fast (scaled units, i.e. training standard deviations, per minute) the follower may move.
#: Measured at 1, 2 and 3 (``benchmarks/other_machine.py``, ``benchmarks/skab_sessions.py``): at
#: 3, SKAB's pump a month after its training day raised 0.3 false alarms an hour and PCA found
#: 11 of 20 faults (2.7 an hour and 13 of 20, 5.3 of them what false alarms would find by
#: chance, without a follower; 3.6 and 11 at 1); every drift of the conveyor drive stays under
#: 3 an hour.
FOLLOW_PER_MINUTE = 3.0


def follow_blocks(sampling_rate: float | None) -> tuple[int, float]:
    """``(rows, limit)``: the follower averages blocks of ``rows`` rows (a second; at least one
    row) and moves at most ``limit`` scaled units per block; ``(0, 0.0)`` (no follower) when the
    sampling rate is unknown (rows without timestamps)."""
    if not sampling_rate or not np.isfinite(sampling_rate) or sampling_rate <= 0:
        return 0, 0.0
    rows = max(1, int(round(sampling_rate)))
    return rows, FOLLOW_PER_MINUTE / 60.0 * rows / sampling_rate


class SlewFollower:
    """Follower references of ``width`` channels in one pass, fed its rows in order.

    Parameters
    ----------
    width : int
        Channels followed.
    rows : int
        Rows per block (>= 1).
    limit : float
        Largest move per block (scaled units, >= 0).
    """

    def __init__(self, width: int, rows: int, limit: float):
        self.rows, self.limit = int(rows), float(limit)
        self._value: np.ndarray | None = None  # after the last complete block
        self._sum = np.zeros(width)  # of the current block's rows so far
        self._count = 0
        self._blocks = 0

    def __call__(self, values: np.ndarray) -> np.ndarray:
        """The next rows' values (n, width) -> their references (n, width), float64: the
        follower after the last block completed before each row's block (in the first block,
        the running mean through the row)."""
        values = np.asarray(values, dtype=np.float64)
        out = np.empty(values.shape, dtype=np.float64)
        n, i = len(values), 0
        while i < n and (self._count or self._value is None):  # a block begun earlier, or the pass's first
            i = self._partial(values, out, i, min(self.rows - self._count, n - i))
        whole = (n - i) // self.rows
        if whole:  # complete blocks: their means, then the follower block by block
            means = values[i : i + whole * self.rows].reshape(whole, self.rows, -1).mean(axis=1)
            before = np.empty_like(means)
            for channel in range(means.shape[1]):
                y, limit, track = float(self._value[channel]), self.limit, before[:, channel]
                for j, mean in enumerate(means[:, channel].tolist()):
                    track[j] = y
                    y += min(max(mean - y, -limit), limit)
                self._value[channel] = y
            out[i : i + whole * self.rows] = np.repeat(before, self.rows, axis=0)
            i += whole * self.rows
        if i < n:  # the start of a block
            self._partial(values, out, i, n - i)
        return out

    def _partial(self, values: np.ndarray, out: np.ndarray, i: int, take: int) -> int:
        """Rows ``i .. i + take`` (within one block) into the current block; returns ``i + take``."""
        block = values[i : i + take]
        if self._value is None:
            counts = self._count + np.arange(1, take + 1)
            out[i : i + take] = (self._sum + np.cumsum(block, axis=0)) / counts[:, None]
        else:
            out[i : i + take] = self._value
        self._sum = self._sum + block.sum(axis=0)
        self._count += take
        if self._count == self.rows:
            mean = self._sum / self.rows
            self._value = mean if self._value is None else self._value + np.clip(mean - self._value, -self.limit, self.limit)
            self._sum, self._count = np.zeros_like(self._sum), 0
        return i + take


def follower_graph(values, rows: int, limit: float, ops):
    """:class:`SlewFollower` on one whole pass (n, width) as array operations (``ops``:
    ``numpy`` or ``keras.ops``), for the differentiable score; equal to it to float rounding."""
    n = values.shape[0]
    first = min(rows, n)
    counts = np.arange(1, first + 1, dtype=np.float32)[:, None]
    parts = [ops.cumsum(values[:first], axis=0) / counts]
    value = None
    for start in range(0, n - rows, rows):  # every complete block followed by at least one row
        mean = ops.mean(values[start : start + rows], axis=0)
        value = mean if value is None else value + ops.clip(mean - value, -limit, limit)
        stop = min(start + 2 * rows, n)
        parts.append(ops.zeros((stop - start - rows, 1)) + ops.expand_dims(value, 0))
    return ops.concatenate(parts, axis=0) if len(parts) > 1 else parts[0]
