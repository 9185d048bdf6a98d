"""Baseline adaptation: a slow, per-channel re-levelling of the errors that freezes during alarms.

A new session, a cooler day or a re-mounted sensor can leave one channel's error permanently
higher than in training. Without adaptation that channel is in alarm for the whole session,
and it is blamed for every event. With it, each channel's error is divided by how far its
slow baseline has risen above its normal level, so a lasting offset fades out over about
``tau`` rows, while a sudden fault, which raises an alarm before the baseline moves, is not
learnt: the baseline freezes while the score is in alarm.

Per scored row ``t`` and channel ``c`` (``e`` the raw error, ``r`` the channel's mean error
on normal held-out data, ``b`` its baseline, starting at ``r`` in every scoring pass; a
detector's extra per-row statistic, PCA's T-squared or the VAE-GAN's discriminator doubt, is
adapted as one more channel):

* adapted error ``e'[t, c] = e[t, c] * r[c] / max(b[c], r[c])`` (adaptation only lowers errors);
* the row's score is the detector's score of the adapted errors;
* the baseline moves in blocks of ``block = max(1, tau // 20)`` rows, counted from the pass's
  first row: at the end of a calm block (at least half of its rows quiet, i.e. scoring at most
  ``exit_level``, the hold level of the alert rules) ``b += (block / tau) * (mean e of the
  block - b)``;
* a block that is not calm is frozen; after ``tau`` frozen rows in a row the alarm is taken for
  the new normal and every block moves the baseline until one is calm again (an offset present
  from the first row, or a fault that never ends, is adapted away after about ``2 * tau`` rows).

The blocks are counted in absolute rows, so a file scored whole, chunk by chunk or as a
stream row by row (hop 1) gets the same scores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from anomaly.validation import check_number

__all__ = ["Baseline", "adapt_errors", "block_rows", "check_tau"]

#: Blocks per time constant: the baseline moves every ``tau // BLOCKS_PER_TAU`` rows.
BLOCKS_PER_TAU = 20


def check_tau(tau) -> int | None:
    """``tau`` (rows, an integer >= 2) or None; raises ConfigError otherwise."""
    if tau is None:
        return None
    return int(check_number("adapt", tau, low=2, integer=True))


def block_rows(tau: int) -> int:
    """Rows per baseline update for time constant ``tau`` rows."""
    return max(1, int(tau) // BLOCKS_PER_TAU)


@dataclass
class Baseline:
    """The state of one scoring pass (one file, one stream).

    Attributes
    ----------
    level : ndarray of shape (n_channels,) or (n_channels + 1,)
        The baseline ``b`` of every channel's raw error (and of the extra statistic, last);
        the starting level is kept as ``reference``.
    tau : int
        Time constant in rows.
    exit_level : float
        Scores at or below it are quiet.
    filled : int
        Rows of the current block seen so far.
    block_sum : ndarray like ``level``
        Sum of the current block's raw errors.
    quiet_rows : int
        Quiet rows of the current block.
    frozen : int
        Rows since the last calm block.
    """

    level: np.ndarray
    tau: int
    exit_level: float
    filled: int = 0
    block_sum: np.ndarray = field(default=None)
    quiet_rows: int = 0
    frozen: int = 0

    def __post_init__(self):
        self.level = np.asarray(self.level, dtype=np.float64).copy()
        self.reference = self.level.copy()
        if self.block_sum is None:
            self.block_sum = np.zeros_like(self.level)

    def ratio(self) -> np.ndarray:
        """Per-channel factor (n_channels,) in (0, 1] applied to the raw errors."""
        return self.reference / np.maximum(self.level, self.reference)

    def _close_block(self) -> None:
        calm = 2 * self.quiet_rows >= self.filled
        if calm or self.frozen >= self.tau:  # a lasting alarm is the new normal
            self.level += (self.filled / self.tau) * (self.block_sum / self.filled - self.level)
        self.frozen = 0 if calm else self.frozen + self.filled
        self.filled, self.quiet_rows = 0, 0
        self.block_sum[:] = 0.0


def adapt_errors(errors: np.ndarray, extra: np.ndarray | None, score: Callable, baseline: Baseline
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Adapted errors and their scores for the next rows of a pass; advances ``baseline``.

    Parameters
    ----------
    errors : ndarray of shape (n, n_channels)
        Raw per-channel errors of the next ``n`` rows, oldest first.
    extra : ndarray of shape (n,) or None
        The detector's per-row extra statistic (passed through to ``score``).
    score : callable
        ``score(errors (m, c), extra (m,) or None) -> scores (m,)``: the detector's row scores.
    baseline : Baseline
        State of the pass, updated in place.

    Returns
    -------
    adapted : ndarray of shape (n, n_channels), float32
    scores : ndarray of shape (n,)
    """
    errors = np.asarray(errors)
    n, c = errors.shape
    if len(baseline.level) == c + 1:  # the extra statistic is the last channel
        errors = np.concatenate([errors, np.asarray(extra, dtype=errors.dtype).reshape(n, 1)], axis=1)
    adapted = np.empty(errors.shape, dtype=np.float32)
    scores = np.empty(n, dtype=np.float64)
    block = block_rows(baseline.tau)
    i = 0
    while i < n:
        j = min(n, i + block - baseline.filled)
        adapted[i:j] = errors[i:j] * baseline.ratio()
        part = adapted[i:j]
        rest = part[:, c] if part.shape[1] > c else None if extra is None else extra[i:j]
        scores[i:j] = np.asarray(score(part[:, :c], rest), dtype=np.float64)
        baseline.quiet_rows += int((scores[i:j] <= baseline.exit_level).sum())
        baseline.block_sum += errors[i:j].sum(axis=0)
        baseline.filled += j - i
        if baseline.filled == block:
            baseline._close_block()
        i = j
    return adapted[:, :c], scores
