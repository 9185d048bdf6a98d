"""The decision rules shared by batch events and stream alerts, and their defaults.

Every rule is counted in rows (time steps), so it means the same at any sampling rate only
once scaled to it. :data:`DEFAULT_RULES` are the defaults at 100 Hz (0.25 s, 1 s, 5 s);
:func:`rules_at` scales them to another rate and :func:`model_rules` to a fitted model's, which
is what every alarm path of the toolkit uses (``anomaly score --alarms``, ``anomaly stream``,
``anomaly compare``, ``anomaly feedback``, the supervised head's false-alarm count).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from anomaly.validation import check_number

__all__ = ["DEFAULT_RULES", "MIN_RULES_RATE_HZ", "RULES_RATE_HZ", "SEVERE_MARGIN", "DecisionRules", "fitted_severe_ratio", "model_rules",
           "rules_at", "severe_level", "share_level"]


@dataclass(frozen=True)
class DecisionRules:
    """How flagged rows become events (batch) or alerts (stream), in rows.

    :func:`anomaly.decisions.events` and :class:`anomaly.decisions.AlertLogic` take these four
    values as keyword arguments, with :data:`DEFAULT_RULES` as their defaults, and apply
    them with the same code (:func:`anomaly.decisions.runs.decide_runs`), so on the same
    scores and threshold they find the same events. Pass a whole set with
    ``dataclasses.asdict(rules)`` (``AlertLogic.from_threshold(rule, **asdict(rules))``,
    ``events(..., **asdict(rules))``).

    Parameters
    ----------
    min_duration : int, default=1
        Held rows (>= 1) an event must have (above the hold level; merged gaps not counted);
        events with fewer are dropped.
    merge_gap : int, default=0
        Largest number of rows (>= 0) below the hold level between two runs that still
        merges them into one event.
    cooldown : int, default=0
        Rows (>= 0) after an event's end during which no new event opens. It only acts when
        ``cooldown > merge_gap``: a return within the merge gap continues the old event.
    exit_ratio : float, default=1.0
        Hysteresis: an event that opened above the threshold holds while the score stays
        above ``exit_ratio * threshold``; in (0, 1], 1.0 for none.
    severe_ratio : float or None, default=None
        An event whose score goes above ``severe_ratio * threshold`` (>= 1) is raised however
        short it is: a collision lasts a few hundred milliseconds at scores far above any
        normal stretch, and the minimum duration meant for blips near the threshold would
        drop it. None: the minimum duration holds for every event.

    Raises
    ------
    ConfigError
        If a value is out of range.
    """

    min_duration: int = 1
    merge_gap: int = 0
    cooldown: int = 0
    exit_ratio: float = 1.0
    severe_ratio: float | None = None

    def __post_init__(self):
        check_number("min_duration", self.min_duration, low=1, integer=True)
        check_number("merge_gap", self.merge_gap, low=0, integer=True)
        check_number("cooldown", self.cooldown, low=0, integer=True)
        check_number("exit_ratio", self.exit_ratio, low=0.0, low_open=True, high=1.0)
        if self.severe_ratio is not None:
            check_number("severe_ratio", self.severe_ratio, low=1.0)

    def counts(self) -> dict[str, int]:
        """The three row counts, ``min_duration``, ``merge_gap`` and ``cooldown``, as keyword
        arguments (``AlertLogic.at_level(level, **rules.counts())``)."""
        return {"min_duration": self.min_duration, "merge_gap": self.merge_gap, "cooldown": self.cooldown}


def severe_level(level: float, severe_ratio: float | None) -> float | None:
    """The score above which an event is raised however short: ``severe_ratio * level``, or None
    without a ratio or at a level <= 0 (where the ratio would put it below the level)."""
    return None if severe_ratio is None or level <= 0 else severe_ratio * level


DEFAULT_RULES = DecisionRules(min_duration=25, merge_gap=100, cooldown=500, exit_ratio=0.8, severe_ratio=10.0)
"""The default rules of batch events and stream alerts: at 100 Hz, a 0.25 s minimum duration,
1 s merge gap, 5 s cooldown, and hysteresis holding at 0.8 x the threshold.

Why these: they are the one setting measured end to end (``benchmarks/alert_logic.py``, PCA
on the simulated arm at 100 Hz): with them the false alarms on normal operation drop from
590 to 14 per hour while 24 of the 28 fault events of the three test logs still raise an alert
(a 0.5 s minimum: none an hour, 21 of 28; feedback lengthens it only where reviews ask). A per-row 99th-percentile threshold flags about 1 % of normal
rows, mostly in blips of a few rows: the 25-row minimum drops those (counted in held rows, not
in the span of the blips the merge gap joins: counting the gaps, two blips 30 rows apart were an
alarm, and the default raised about 300 false alarms an hour on the arm's normal runs and 360
on the session scenario; counting held rows, 28 and 25), the 100-row merge gap
keeps one fault that dips below the threshold for under a second one event, the 500-row
cooldown stops a fault's tail from re-alerting, and the 0.8 exit ratio stops a score
hovering at the threshold from splitting an event. A run above 10 x the threshold is raised
however short (``severe_ratio``): the simulated collisions last 0.22 s, under the minimum,
at 100 x the threshold, while no normal blip shorter than the minimum reached 5 x on the arm
or on ALFA's flights (``benchmarks/conditions.py``). The former defaults of ``events()``
(1 row, no merging) reported every blip; the demo's (3 / 10 rows) had no measurement behind
them. For another sampling rate, :func:`rules_at` scales the three row counts (a fifth at 20
Hz); for every flagged run as its own event use ``DecisionRules()`` (1, 0, 0, 1.0, None)."""

#: Sampling rate (Hz) at which :data:`DEFAULT_RULES` counts its rows.
RULES_RATE_HZ = 100.0
#: Below this rate (Hz) :func:`rules_at` keeps the row counts it has here (5, 20 and 100 rows).
MIN_RULES_RATE_HZ = 20.0


def rules_at(sampling_rate: float | None) -> DecisionRules:
    """:data:`DEFAULT_RULES` with its row counts scaled from 100 Hz to ``sampling_rate``.

    The same times at :data:`MIN_RULES_RATE_HZ` (20 Hz) and above: a 0.25 s minimum duration,
    a 1 s merge gap and a 5 s cooldown; at 20 Hz 5, 20 and 100 rows. Below 20 Hz the rules keep
    those row counts (at 1 Hz a 5 s minimum duration, a 20 s merge gap and a 100 s cooldown):
    one or two samples above the threshold are too few to tell a fault from noise, and the
    threshold, fitted with the same rules, then had to clear the largest single training score.
    On SKAB's pump at 1 Hz, fitted on one day and scored a month later
    (``benchmarks/skab_sessions.py``), scaling down to one row gave PCA's default a threshold
    of 5.69, 8 of 20 faults found and 3.3 false alarms an hour; the 20 Hz row counts a
    threshold of 3.10, 13 of 20 and 2.7 an hour (measured before the temperatures' drift
    follower, :mod:`anomaly.drift`). The ratios do not depend on the rate.

    Parameters
    ----------
    sampling_rate : float or None
        Rows per second. None, NaN or <= 0 (rows without timestamps, such as SMD's) keeps the
        row counts of :data:`DEFAULT_RULES`.

    Returns
    -------
    DecisionRules
    """
    if sampling_rate is None or not math.isfinite(sampling_rate) or sampling_rate <= 0:
        return DEFAULT_RULES
    factor = max(sampling_rate, MIN_RULES_RATE_HZ) / RULES_RATE_HZ
    return replace(DEFAULT_RULES, min_duration=round(DEFAULT_RULES.min_duration * factor),
                   merge_gap=round(DEFAULT_RULES.merge_gap * factor), cooldown=round(DEFAULT_RULES.cooldown * factor))


#: A model's severe level (:func:`fitted_severe_ratio`) is at least this many times the largest
#: score of its median training log.
SEVERE_MARGIN = 2.0


def fitted_severe_ratio(per_log: list[np.ndarray], threshold: float) -> float:
    """The severe ratio of a fitted model's alert rules: :data:`DEFAULT_RULES`' (10), raised so that
    the severe level is at least :data:`SEVERE_MARGIN` times the largest score of the median
    training log (by rows: the log whose largest score keeps logs holding half the training rows
    below it, as :class:`~anomaly.thresholds.QuietLogs` picks its level).

    The severe rule raises a short event at once, for a collision far above any normal stretch;
    the threshold is fitted on runs of the minimum duration only, so a channel whose normal
    readings spike for a row now and then (a controller's execution time, a latency, an impact)
    put one-row spikes 20-700 times above the threshold in training, and every one of them became
    an alarm: a UR-style log raised 200 false alarms an hour on its own training session. Normal
    data never reaches the severe level this way; a collision twice as far as any normal spike
    still does.

    Parameters
    ----------
    per_log : list of ndarray (n_i,)
        The normal (held-out) scores of each training log, as the threshold saw them.
    threshold : float
        The fitted threshold.

    Returns
    -------
    float
        ``DEFAULT_RULES.severe_ratio`` at a threshold <= 0 or without scores.
    """
    logs = [np.asarray(s, dtype=np.float64) for s in per_log if len(s)]
    if threshold <= 0 or not logs:
        return DEFAULT_RULES.severe_ratio
    top = share_level([float(np.max(s)) for s in logs], [len(s) for s in logs], 0.5)
    return float(max(DEFAULT_RULES.severe_ratio, SEVERE_MARGIN * top / threshold)) if np.isfinite(top) else DEFAULT_RULES.severe_ratio


def share_level(levels, lengths, share: float) -> float:
    """The lowest of the training logs' ``levels`` (k,) that the logs holding at least ``share``
    (0-1] of the rows (``lengths``, (k,)) lie at or below: with ``share`` 0.5, the median log's
    by rows (a short log counts for its length)."""
    levels = np.asarray(levels, dtype=np.float64)
    order = np.argsort(levels, kind="stable")
    covered = np.cumsum(np.asarray(lengths, dtype=np.float64)[order]) / float(np.sum(lengths))
    return float(levels[order][np.searchsorted(covered, share - 1e-12)])


def model_rules(model) -> DecisionRules:
    """The default rules at a fitted model's sampling rate (:func:`rules_at` of ``model.schema_.sampling_rate``),
    with the alert on-delay a feedback round set (``model.alert_min_duration_``, rows; see
    :mod:`anomaly.feedback`) as the minimum duration and the model's severe ratio
    (``model.severe_ratio_``, :func:`fitted_severe_ratio`; models without one: the default).

    Parameters
    ----------
    model : fitted Detector or SupervisedDetector
        Anything with a ``schema_`` (:class:`anomaly.schema.Schema`).
    """
    rules = rules_at(model.schema_.sampling_rate)
    delay = model.alert_min_duration_  # None until a feedback round sets it
    if delay is not None:
        rules = replace(rules, min_duration=int(delay))
    ratio = getattr(model, "severe_ratio_", None)
    return rules if ratio is None else replace(rules, severe_ratio=float(ratio))
