"""Thresholds turning anomaly scores into flags, fitted on normal scores only.

A threshold is fitted on scores of normal (training/validation) data, never on labels, and
flags ``scores > threshold_``:

* :mod:`~anomaly.thresholds.base` -- :class:`Threshold`, the contract and the JSON round trip;
* :mod:`~anomaly.thresholds.fixed` -- :class:`Percentile`, :class:`KSigma`, :class:`SkabUCL`,
  :class:`Sustained`, :class:`QuietLogs` (the detectors' default);
* :mod:`~anomaly.thresholds.pot` -- :class:`POT`, an extreme-value tail with a streaming update;
* :mod:`~anomaly.thresholds.dynamic` -- :class:`Dynamic`, on EWMA-smoothed errors;
* :mod:`~anomaly.thresholds.per_channel` -- :class:`PerChannel`, on the per-channel error matrix;
* :mod:`~anomaly.thresholds.registry` -- :data:`THRESHOLDS` (CLI names) and
  :func:`threshold_from_dict`.

Thresholds are saved as plain JSON via :meth:`Threshold.to_dict` / :func:`threshold_from_dict`,
never pickled. Rules applied to flags (persistence, events, alerts) are in
:mod:`anomaly.decisions`.
"""

from anomaly.thresholds.base import Threshold
from anomaly.thresholds.dynamic import Dynamic, DynamicChunkState
from anomaly.thresholds.fixed import KSigma, Percentile, QuietLogs, SkabUCL, Sustained
from anomaly.thresholds.per_channel import PerChannel
from anomaly.thresholds.pot import POT
from anomaly.thresholds.registry import KINDS, THRESHOLDS, threshold_from_dict

__all__ = [
    "KINDS",
    "POT",
    "THRESHOLDS",
    "Dynamic",
    "DynamicChunkState",
    "KSigma",
    "PerChannel",
    "Percentile",
    "QuietLogs",
    "SkabUCL",
    "Sustained",
    "Threshold",
    "threshold_from_dict",
]
