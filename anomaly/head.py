"""The decision head: from a detector's per-channel errors to a score and a flag.

One fitted, saved object per detector (``detector.head_``) holds what turns the error vector
into a decision: the channel aggregation (today the mean over channels) and the fitted
threshold rule. Batch, chunked, stream and differentiable scoring all reduce errors through
it, so a later layer (per-channel calibration, a bounded aggregate, a validity guard) is
added here once and holds everywhere.
"""

from __future__ import annotations

import numpy as np

from anomaly.adaptation import Baseline, check_tau
from anomaly.decisions.rules import DEFAULT_RULES
from anomaly.errors import ConfigError, NotFittedError
from anomaly.params import Params
from anomaly.passes import MovingAverage, ScoringPass, check_smooth
from anomaly.thresholds import QuietLogs, Threshold, threshold_from_dict

AGGREGATES = ("mean", "calibrated")
#: Calibrated errors are divided by this percentile of each channel's normal errors.
CALIBRATION_PERCENTILE = 99.0
#: A channel contributes at most this many times its normal 99th-percentile error.
CONTRIBUTION_CAP = 10.0
_TINY = 1e-12


class ScoreHead(Params):
    """Channel aggregation and threshold of a detector.

    Parameters
    ----------
    aggregate : {"mean", "calibrated"}, default="mean"
        How a row's per-channel errors become its score. ``"mean"``: their mean.
        ``"calibrated"``: each channel's error is divided by its own 99th percentile on
        held-out normal data (so a channel with tiny normal noise cannot dominate), capped at
        :data:`CONTRIBUTION_CAP` (one runaway channel cannot swamp the score), averaged, and
        divided by that average's own 99th percentile on the same data (1 = as unusual as
        the 1 % most unusual normal rows).
    threshold : Threshold or None, default=None
        Unfitted rule fitted on normal scores; None means :class:`~anomaly.thresholds.QuietLogs`.
    adapt : int or None, default=None
        Baseline adaptation time constant in rows (>= 2), or None for none: every scoring
        pass re-levels each channel's error by its slow baseline, frozen during alarms
        (:mod:`anomaly.adaptation`; :meth:`start` begins a pass).
    smooth : int or None, default=None
        Score smoothing in rows (>= 1), or None for none: a row's score is the mean of the
        last ``smooth`` raw row scores of its pass (:mod:`anomaly.passes`); the threshold is
        fitted on the smoothed normal scores.

    Attributes
    ----------
    scale_ : ndarray of shape (n_channels,) or None
        Per-channel calibration scale (``"calibrated"`` only).
    norm_ : float
        Normaliser of the capped mean (``"calibrated"``; 1.0 otherwise).
    reference_ : ndarray of shape (n_channels,) or (n_channels + 1,) or None
        Mean error of every channel (and of the extra statistic, last) on the normal
        (held-out) data: where the adaptation's baselines start (``adapt`` only).
    thresholder_ : Threshold
        The fitted rule.
    threshold_ : float
        Its value on the score scale.
    """

    def __init__(self, aggregate="mean", threshold=None, adapt=None, smooth=None):
        self.aggregate = aggregate
        self.threshold = threshold
        self.adapt = adapt
        self.smooth = smooth

    def calibrate(self, errors: np.ndarray, extra: np.ndarray | None = None) -> ScoreHead:
        """Fit the per-channel calibration on normal (held-out) errors of shape (n, n_channels)
        and the detector's extra statistic (n,) or None (adapted as one more channel)."""
        if self.aggregate not in AGGREGATES:
            raise ConfigError(f"aggregate={self.aggregate!r} is not one of {list(AGGREGATES)}")
        tau = check_tau(self.adapt)
        check_smooth(self.smooth)
        self.reference_ = None
        if tau is not None:
            means = errors.mean(axis=0) if extra is None else np.append(errors.mean(axis=0), np.mean(extra))
            self.reference_ = np.maximum(means, _TINY).astype(np.float64)
        self.scale_, self.norm_ = None, 1.0
        if self.aggregate == "calibrated":
            self.scale_ = np.maximum(np.percentile(errors, CALIBRATION_PERCENTILE, axis=0), _TINY).astype(np.float32)
            self.norm_ = float(max(np.percentile(self.reduce(errors), CALIBRATION_PERCENTILE), _TINY))
        return self

    def calibrated(self, errors, ops=np):
        """Errors (n, n_channels) in units of each channel's normal 99th percentile (unchanged for ``"mean"``)."""
        return errors if self.scale_ is None else errors / self.scale_

    def name_first(self, errors: np.ndarray, ratios: np.ndarray) -> np.ndarray:
        """Errors (n, c) with each channel whose ratio (n, c) to a sensor check's limit is at
        least 1 (stuck, :mod:`anomaly.stuck`; noisy, :mod:`anomaly.noise`) raised to its row's
        largest calibrated error times that ratio (in the channel's units), so that the channel
        past a limit is named first."""
        past = ratios >= 1.0
        if not past.any():
            return errors
        calibrated = self.calibrated(errors)
        raised = np.where(past, np.maximum(calibrated, ratios * calibrated.max(axis=1, keepdims=True)), calibrated)
        return (raised if self.scale_ is None else raised * self.scale_).astype(errors.dtype, copy=False)

    def reduce(self, errors, ops=np):
        """Scores (n,) from errors (n, n_channels); ``ops`` is ``numpy`` or ``keras.ops``."""
        if self.scale_ is None:
            return ops.mean(errors, axis=-1)
        return ops.mean(ops.minimum(errors / self.scale_, CONTRIBUTION_CAP), axis=-1) / self.norm_

    def fit(self, scores: np.ndarray, rules=None, lengths=None) -> ScoreHead:
        """Fit the threshold rule on normal scores of shape (n,); ``rules``: the alert rules
        it will decide with; ``lengths``: the training logs' lengths, whose scores follow one
        another in ``scores`` (:meth:`anomaly.thresholds.Threshold.fit`)."""
        rule = self.threshold if self.threshold is not None else QuietLogs()
        if not isinstance(rule, Threshold):
            raise ConfigError(f"threshold={rule!r} is not a Threshold")
        self.thresholder_ = type(rule)(**rule.get_params()).fit(scores, rules=rules, lengths=lengths)
        self.threshold_ = float(self.thresholder_.threshold_)
        return self

    def start(self, *, adapt: bool = True) -> ScoringPass | None:
        """The state of a new scoring pass, or None when the head has neither ``adapt`` nor ``smooth``.

        The adaptation's baselines start at ``reference_``; quiet rows, which move them, score
        at most the alert rules' hold level (``DEFAULT_RULES.exit_ratio x threshold_``).
        ``adapt=False`` leaves the adaptation out (the training logs, before the threshold exists).
        """
        baseline = None
        if adapt and self.reference_ is not None:
            baseline = Baseline(self.reference_, int(self.adapt), DEFAULT_RULES.exit_ratio * self.threshold_)
        smoother = None if self.smooth is None else MovingAverage(self.smooth)
        return None if baseline is None and smoother is None else ScoringPass(baseline, smoother)

    def flags(self, scores: np.ndarray) -> np.ndarray:
        """Boolean flags (n,) of scores (n,)."""
        if not hasattr(self, "thresholder_"):
            raise NotFittedError("the score head is not fitted")
        return self.thresholder_.apply(scores)

    def to_dict(self) -> dict:
        """JSON form of the fitted aggregation (the threshold rule has its own: ``thresholder_.to_dict()``)."""
        return {"aggregate": self.aggregate, "scale": None if self.scale_ is None else self.scale_.tolist(), "norm": self.norm_,
                "adapt": self.adapt, "smooth": self.smooth, "reference": None if self.reference_ is None else self.reference_.tolist()}

    @classmethod
    def from_dict(cls, data: dict, threshold: dict) -> ScoreHead:
        """Inverse of :meth:`to_dict`, with the threshold rule's JSON (older models without
        calibration, ``data == {}``, load as ``"mean"`` without adaptation or smoothing)."""
        head = cls(aggregate=data.get("aggregate", "mean"), adapt=data.get("adapt"), smooth=data.get("smooth"))
        reference = data.get("reference")
        head.reference_ = None if reference is None else np.asarray(reference, dtype=np.float64)
        scale = data.get("scale")
        head.scale_ = None if scale is None else np.asarray(scale, dtype=np.float32)
        head.norm_ = float(data.get("norm", 1.0))
        head.thresholder_ = threshold_from_dict(threshold)
        head.threshold_ = float(head.thresholder_.threshold_)
        return head
