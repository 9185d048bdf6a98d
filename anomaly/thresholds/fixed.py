"""Fixed thresholds: one number computed from the normal scores, compared with every score."""

from __future__ import annotations

import numpy as np

from anomaly.thresholds.base import Threshold
from anomaly.validation import check_number

__all__ = ["KSigma", "Percentile", "SkabUCL"]


class Percentile(Threshold):
    """``threshold_ = np.percentile(scores, q)`` (linear interpolation).

    Parameters
    ----------
    q : float, default 99.0
        Percentile in (0, 100].
    """

    def __init__(self, q=99.0):
        self.q = q

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)

    def _compute(self, scores: np.ndarray) -> float:
        return np.percentile(scores, self.q)


class KSigma(Threshold):
    """``threshold_ = mean(scores) + k * std(scores)`` (population std, ddof=0).

    Parameters
    ----------
    k : float, default 3.0
        Number of standard deviations, >= 0.
    """

    def __init__(self, k=3.0):
        self.k = k

    def _check_params(self) -> None:
        check_number("k", self.k, low=0)

    def _compute(self, scores: np.ndarray) -> float:
        return scores.mean() + self.k * scores.std()


class SkabUCL(Threshold):
    """SKAB notebooks' upper control limit: ``factor * np.percentile(scores, q)``.

    Meant for non-negative scores such as absolute or squared residuals.

    Parameters
    ----------
    q : float, default 99.0
        Percentile of the training residuals, in (0, 100].
    factor : float, default 1.5
        Multiplier, > 0.
    """

    def __init__(self, q=99.0, *, factor=1.5):
        self.q = q
        self.factor = factor

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)
        check_number("factor", self.factor, low=0, low_open=True)

    def _compute(self, scores: np.ndarray) -> float:
        return self.factor * np.percentile(scores, self.q)
