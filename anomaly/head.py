"""The decision head: from a detector's per-channel errors to a score and a flag.

One fitted, saved object per detector (``detector.head_``) holds what turns the error vector
into a decision: the channel aggregation (today the mean over channels) and the fitted
threshold rule. Batch, chunked, stream and differentiable scoring all reduce errors through
it, so a later layer (per-channel calibration, a bounded aggregate, a validity guard) is
added here once and holds everywhere.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from anomaly.errors import ConfigError, NotFittedError
from anomaly.thresholds import Percentile, Threshold, threshold_from_dict

AGGREGATES = ("mean",)


class ScoreHead(BaseEstimator):
    """Channel aggregation and threshold of a detector.

    Parameters
    ----------
    aggregate : {"mean"}, default="mean"
        How a row's per-channel errors become its score.
    threshold : Threshold or None, default=None
        Unfitted rule fitted on normal scores; None means ``Percentile(99)``.

    Attributes
    ----------
    thresholder_ : Threshold
        The fitted rule.
    threshold_ : float
        Its value on the score scale.
    """

    def __init__(self, aggregate="mean", threshold=None):
        self.aggregate = aggregate
        self.threshold = threshold

    def reduce(self, errors, ops=np):
        """Scores (n,) from errors (n, n_channels); ``ops`` is ``numpy`` or ``keras.ops``."""
        if self.aggregate not in AGGREGATES:
            raise ConfigError(f"aggregate={self.aggregate!r} is not one of {list(AGGREGATES)}")
        return ops.mean(errors, axis=-1)

    def fit(self, scores: np.ndarray) -> ScoreHead:
        """Fit the threshold rule on normal scores of shape (n,)."""
        rule = self.threshold if self.threshold is not None else Percentile(99.0)
        if not isinstance(rule, Threshold):
            raise ConfigError(f"threshold={rule!r} is not a Threshold")
        self.thresholder_ = type(rule)(**rule.get_params()).fit(scores)
        self.threshold_ = float(self.thresholder_.threshold_)
        return self

    def flags(self, scores: np.ndarray) -> np.ndarray:
        """Boolean flags (n,) of scores (n,)."""
        if not hasattr(self, "thresholder_"):
            raise NotFittedError("the score head is not fitted")
        return self.thresholder_.apply(scores)

    def to_dict(self) -> dict:
        """JSON form of the fitted head (the threshold rule's own JSON inside)."""
        return {"aggregate": self.aggregate, "threshold": self.thresholder_.to_dict()}

    @classmethod
    def from_dict(cls, data: dict) -> ScoreHead:
        """Inverse of :meth:`to_dict`."""
        head = cls(aggregate=data.get("aggregate", "mean"))
        head.thresholder_ = threshold_from_dict(data["threshold"])
        head.threshold_ = float(head.thresholder_.threshold_)
        return head
