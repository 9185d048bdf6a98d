"""Twin channels: two readings of one quantity that part (a following error, a slipping encoder).

A robot log often holds one quantity twice: a joint's commanded and measured position (UR's
RTDE ``target_q`` and ``actual_q``, a ROS controller's command and ``/joint_states``), two
encoders on one shaft, a redundant sensor. In normal operation the two agree to a tiny share of
their spread, and that agreement is the signal: a joint that lags its target by 0.01 rad while
it swings 0.5 rad (a following error: a worn gearbox, a collision, a brake) moves neither
channel out of its range, and a linear model's residual on the motion is larger than the lag
(``benchmarks/rtde_cobot.py``: the PCA default never found it). Its signature needs no model:
the gap between the twins grows past anything seen in training.

:func:`fit_twin_limits` pairs each channel with the channel whose scaled readings differ least
from its own, when the spread of that difference is at most :data:`TWIN_SPREAD` of the
smaller of the two channels' spreads (they agree to 1 %); the limit is :data:`LIMIT_FACTOR`
times the largest gap in the training logs (0: not watched). :class:`TwinGaps` gives each row
in which a watched channel's gap reaches its limit the ratio to it (both twins: the alarm names
the pair); as for a stuck or noisy channel (:mod:`anomaly.stuck`, :mod:`anomaly.noise`) the
detector scores such a row at least ``sensor_scale_ x`` the largest ratio and names that
channel first.

Cost, on the UR-style log's model (12 of 54 channels in 6 pairs): batch scoring 1.12x, the
stream scorer 1.07x (13 us a row); a model without twins runs no check.
"""

from __future__ import annotations

import numpy as np

from anomaly.sensor_checks import PassRatios

__all__ = ["LIMIT_FACTOR", "TWIN_SPREAD", "TwinGaps", "fit_twin_limits", "twin_gaps"]

#: Two channels are twins when the spread of their difference is at most this share of their spreads.
TWIN_SPREAD = 0.01
#: A twin's limit is this many times the largest gap in training.
LIMIT_FACTOR = 4.0
#: Rows of a training session taken at a time for the covariance.
BLOCK = 65536


def twin_gaps(values: np.ndarray, twin: np.ndarray) -> np.ndarray:
    """Each channel's gap to its twin, ``|x - x[twin]|``: ``values`` (n, c) scaled rows and
    ``twin`` (c,) the twin of each channel (-1: none, gap 0) -> (n, c) float64."""
    values = np.asarray(values, dtype=np.float64)
    paired = twin >= 0
    gaps = np.zeros(values.shape)
    gaps[:, paired] = np.abs(values[:, paired] - values[:, twin[paired]])
    return gaps


def fit_twin_limits(parts: list[np.ndarray], exclude=()) -> tuple[np.ndarray, np.ndarray]:
    """Each channel's twin (c,) int64 (-1: none) and limit (c,) float64 (0: not watched) from the
    scaled training sessions ``parts`` (each (n_i, c)); the channels at the indices ``exclude``
    are never twins (condition and set-point channels, counters: two temperatures that warm
    alike through a session agree because of the session's trend, not because they read one
    quantity)."""
    c = parts[0].shape[1]
    twin, limits = np.full(c, -1, dtype=np.int64), np.zeros(c)
    n, sums, products = 0, np.zeros(c), np.zeros((c, c))
    for Z in parts:  # the covariance in blocks: no float64 copy of the training data
        for start in range(0, len(Z), BLOCK):
            x = np.asarray(Z[start : start + BLOCK], dtype=np.float64)
            n, sums, products = n + len(x), sums + x.sum(axis=0), products + x.T @ x
    if n < 2 or c < 2:
        return twin, limits
    mean = sums / n
    cov = (products - n * np.outer(mean, mean)) / (n - 1)
    var = np.diag(cov)
    gap_var = var[:, None] + var[None, :] - 2.0 * cov  # variance of each difference
    allowed = (TWIN_SPREAD**2) * np.minimum(var[:, None], var[None, :])
    eligible = var > 0
    eligible[np.asarray(exclude, dtype=np.int64)] = False
    candidates = (gap_var <= allowed) & eligible[:, None] & eligible[None, :]
    np.fill_diagonal(candidates, False)
    for i in np.flatnonzero(candidates.any(axis=1)):
        twin[i] = int(np.flatnonzero(candidates[i])[np.argmin(gap_var[i, candidates[i]])])
    paired = np.flatnonzero(twin >= 0)
    largest = np.zeros(c)
    for Z in parts:
        for start in range(0, len(Z), BLOCK):
            x = np.asarray(Z[start : start + BLOCK], dtype=np.float64)
            largest[paired] = np.maximum(largest[paired], np.abs(x[:, paired] - x[:, twin[paired]]).max(axis=0, initial=0.0))
    limits = np.where((twin >= 0) & (largest > 0), LIMIT_FACTOR * largest, 0.0)
    twin[limits == 0] = -1
    return twin, limits


class TwinGaps(PassRatios):
    """Each watched channel's gap to its twin through one scoring pass, as ratios to its limit
    where one reaches it (:class:`anomaly.sensor_checks.PassRatios`). Row by row: nothing is
    carried from push to push.

    Parameters
    ----------
    limits : ndarray (c,)
        Limits (:func:`fit_twin_limits`); 0 for a channel not watched.
    twin : ndarray (c,) of int
        Each channel's twin; -1 for none.
    """

    def __init__(self, limits, twin):
        super().__init__(limits)
        self.twin = np.where(self._on, np.asarray(twin, dtype=np.int64), -1)

    def _push_block(self, rows: np.ndarray) -> None:
        ratios = twin_gaps(rows, self.twin) * self._inverse
        self._append(ratios if (ratios >= 1.0).any() else None, len(rows))
