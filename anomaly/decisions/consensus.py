"""Window consensus: a batch decision rule for long (collective) anomalies.

A step is flagged when the mean score of *every* ``width``-step window that covers it is
above the threshold. Short spikes (shorter than a window) are dropped, brief dips inside a
long anomaly do not break it, and, unlike the causal :func:`~anomaly.decisions.persistence`
rule, flags are not delayed: each flag sits on the steps whose data caused it. This is the
decision rule of SKAB's reference notebooks (their windows of 60 steps).

It looks ``width - 1`` steps ahead, so it is for batch scoring, not for live alerts. Fit the
threshold on :func:`window_means` of the normal scores, the statistic the rule compares::

    rule = SkabUCL().fit(window_means(det.decision_scores_, 60))
    flags = window_consensus(det.score(frame), rule.threshold_, 60)
"""

from __future__ import annotations

import numpy as np

from anomaly.decisions.runs import event_ranges, runs_to_flags
from anomaly.errors import DataError
from anomaly.validation import as_like, as_scores, check_number

__all__ = ["window_consensus", "window_means"]


def window_means(scores, width: int) -> np.ndarray:
    """Mean score of each full window of ``width`` consecutive steps.

    Parameters
    ----------
    scores : array-like or pandas.Series of shape (n,), n >= width
    width : int >= 1

    Returns
    -------
    numpy.ndarray of shape (n - width + 1,)
        Entry ``s`` is the mean of ``scores[s : s + width]``.
    """
    check_number("width", width, low=1, integer=True)
    values = as_scores(scores).astype(np.float64)
    if len(values) < width:
        raise DataError(f"{len(values)} scores are fewer than one window of {width}")
    total = np.concatenate([[0.0], np.cumsum(values)])
    return (total[width:] - total[:-width]) / width


def window_consensus(scores, threshold: float, width: int):
    """Flag step ``t`` when every full ``width``-step window covering ``t`` has a mean score
    above ``threshold``.

    Steps near the ends are covered by fewer windows; the ones that exist decide. With
    ``width=1`` this is ``scores > threshold``.

    Parameters
    ----------
    scores : array-like or pandas.Series of shape (n,), n >= width
    threshold : float
        On the scale of :func:`window_means` (fit it on the window means of normal scores).
    width : int >= 1

    Returns
    -------
    numpy.ndarray or pandas.Series of shape (n,), dtype bool
        A Series with the same index if ``scores`` is a Series.
    """
    check_number("threshold", threshold)
    above = window_means(scores, width) > threshold  # (m,) = (n - width + 1,), by window start
    m = len(above)
    n = m + width - 1
    # Step t is covered by the windows max(t-width+1, 0)..min(t, m-1). Those all lie in a run
    # [a, b] of windows above exactly for t in a+width-1..b (from t=0 when a is the first
    # window, up to t=n-1 when b is the last).
    runs = event_ranges(above)
    starts = np.where(runs[:, 0] > 0, runs[:, 0] + width - 1, 0)
    ends = np.where(runs[:, 1] < m - 1, runs[:, 1], n - 1)
    steps = np.column_stack((starts, ends))[starts <= ends]
    return as_like(scores, runs_to_flags(steps, n))
