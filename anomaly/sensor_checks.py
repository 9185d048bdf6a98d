"""What every sensor check shares: their names, and the queue of per-row ratios to their limits
that a check fills as a scoring pass's rows arrive and the detector empties as it scores them.

The checks (:mod:`anomaly.stuck`, :mod:`anomaly.noise`, :mod:`anomaly.twins`,
:mod:`anomaly.oscillation`) are run by every fitted detector
(:meth:`anomaly.base.Detector.start_pass`); check ``name``'s per-channel limits are the
detector's ``<name>_limits_``, saved in ``detector.json`` as ``sensors["<name>_limits"]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import numpy as np

__all__ = ["PUSH_BLOCK", "PassRatios", "SENSOR_CHECK_NAMES"]

#: The sensor checks every fitted detector runs.
SENSOR_CHECK_NAMES = ("stuck", "noise", "twin", "oscillation")
#: :meth:`PassRatios.push` works through a pass's rows in blocks of this many.
PUSH_BLOCK = 65536


class PassRatios(ABC):
    """Per-row, per-channel ratios to a limit through one scoring pass, kept only where one
    reaches 1: the queue of a sensor check (:class:`anomaly.stuck.RunLengths`,
    :class:`anomaly.noise.NoiseLevels`).

    A check's ``push`` appends, per block of rows, either their ratios (m, c) float32 or the
    row count ``m`` when no ratio of these rows reaches 1 (:meth:`_append`); the detector takes
    the ratios of the rows it scores, in order (:meth:`take`), after skipping the rows it never
    scores (:meth:`skip_to`).

    Parameters
    ----------
    limits : ndarray (c,)
        The check's per-channel limits; 0 for a channel it does not watch.
    """

    def __init__(self, limits):
        self.limits = np.asarray(limits, dtype=np.float64)
        self._on = self.limits > 0
        self._inverse = np.where(self._on, 1.0 / np.where(self._on, self.limits, 1.0), 0.0)
        self._pending: list[np.ndarray | int] = []  # oldest first: ratios (m_i, c), or m_i when none reaches 1
        self.pushed = 0  # rows pushed (pass positions)
        self.taken = 0  # pass position of the first pending row

    def push(self, rows: np.ndarray) -> None:
        """The next rows (m, c) of the pass, in blocks of at most :data:`PUSH_BLOCK` rows
        (bounded temporaries on a whole file), each to the check's ``_push_block``."""
        for start in range(0, len(rows), PUSH_BLOCK):
            self._push_block(rows[start : start + PUSH_BLOCK])

    @abstractmethod
    def _push_block(self, rows: np.ndarray) -> None:
        """Work out the next block of rows (m, c) and :meth:`_append` its ratios."""

    def _append(self, ratios: np.ndarray | None, m: int) -> None:
        """The ratios (m, c) of the next ``m`` rows, or None when none reaches 1."""
        self._pending.append(m if ratios is None else ratios.astype(np.float32, copy=False))
        self.pushed += m

    def skip_to(self, position: int) -> None:
        """Drop the pending ratios of the pass's rows before ``position`` (rows never scored)."""
        if position > self.taken:
            self._next(min(int(position) - self.taken, self.pushed - self.taken))

    def take(self, n: int) -> np.ndarray | None:
        """Ratios (n, c) float32 of the next ``n`` scored rows, exact wherever one reaches 1 (0
        where the check does not watch, and where no ratio of its block reached 1); None when
        none of these rows has one that does."""
        if n > self.pushed - self.taken:
            raise ValueError(f"{n} rows scored, but {self.pushed - self.taken} pushed and not yet scored")
        return self._next(n)

    def _next(self, n: int) -> np.ndarray | None:
        """The next ``n`` pending rows' ratios (n, c) or None (see :meth:`take`), removed from the pending blocks."""
        out, left = [], n
        while left:
            block = self._pending[0]
            size = block if isinstance(block, int) else len(block)
            part = min(size, left)
            if part == size:
                self._pending.pop(0)
            else:
                self._pending[0] = size - part if isinstance(block, int) else block[part:]
            out.append(part if isinstance(block, int) else block[:part])
            left -= part
        self.taken += n
        if all(isinstance(part, int) for part in out):
            return None
        if len(out) == 1:
            return out[0]
        return np.concatenate([np.zeros((part, len(self.limits)), np.float32) if isinstance(part, int) else part for part in out])
