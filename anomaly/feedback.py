"""Alarm feedback: reviewed alarms make a saved model quieter where it was wrong.

A reviewer marks alarms as ``false_alarm`` (or ``normal``) or with a fault label. One round
(:func:`review`) on the logs the alarms came from:

* **the alert on-delay** (any model): brief false alarms are the classic nuisance alarm, and
  alarm-management practice (ISA-18.2, EEMUA 191) answers them with an on-delay. The alert
  rules' minimum duration lengthens to the shortest that silences the most reviewed false
  alarms at the old threshold (:func:`on_delay`), at most :data:`MAX_ON_DELAY_FACTOR` times the
  default (1 s at any rate), and never so far that a reviewed fault which alarmed stops
  alarming; runs above the severe level still alarm however short. It is saved with the model
  (``alert_min_duration_``, rows, read by :func:`~anomaly.decisions.model_rules`, so
  ``score --alarms`` and the stream use it);
* **a detector** (unsupervised): its threshold then rises to the lowest level at which none of
  the reviewed false alarms the new on-delay left would be raised again (:func:`silencing_level`
  under the new rules), but never so far that a reviewed fault which alarmed stops alarming
  (:func:`keeping_level`). The smallest change that silences them: measured in
  ``benchmarks/feedback.py`` (2026-12-07), a new session's three rounds took the fresh runs'
  false alarms from 24 to 4 an hour at fault recall 0.952 -> 0.935 this way, where raising the
  threshold until the old rules were silent too (both changes, each enough alone, as before)
  gave 1 an hour at 0.919 and the threshold alone 3 at 0.919; on a second program 413 -> 1 an
  hour at 0.984 -> 0.823, where both changes gave 0 at 0.726;
* **sensor checks** (any model, first): a channel that held one value past its stuck limit
  (:mod:`anomaly.stuck`), or turned rougher than its noise limit (:mod:`anomaly.noise`),
  inside a reviewed false alarm may now go four times as far as it did there
  (:func:`raise_sensor_limits`); the threshold is then raised only for what is left, not to
  silence a score that grows with the hold;
* **a supervised head**: the reviewed rows join its training rows (false alarms as normal,
  fault labels as faults), its classifiers are refitted, and its threshold rises, if needed,
  until the reviewed false alarms are silent under the new classifier (with the same cap).

:func:`save_round` writes the new model over the old directory, atomically, keeping the old
one loadable at ``MODEL/history/round-<k>/`` and appending the round (who, when, how many) to
``MODEL/feedback.json``.
"""

from __future__ import annotations

import getpass
import json
import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.bundle import META_FILE as DETECTOR_FILE
from anomaly.bundle import sensor_checks
from anomaly.decisions.alerts import AlertLogic
from anomaly.decisions.rules import DEFAULT_RULES, DecisionRules, model_rules, rules_at
from anomaly.decisions.runs import event_ranges
from anomaly.errors import ConfigError, DataError
from anomaly.files import atomic_directory
from anomaly.noise import LIMIT_FACTOR as NOISE_FACTOR
from anomaly.noise import rough
from anomaly.oscillation import LIMIT_FACTOR as OSCILLATION_FACTOR
from anomaly.oscillation import swing_counts
from anomaly.pauses import pass_slices
from anomaly.stuck import LIMIT_FACTOR as STUCK_FACTOR
from anomaly.stuck import run_lengths
from anomaly.supervised import META_FILE as SUPERVISED_FILE
from anomaly.supervised import NORMAL, SupervisedDetector, known_mask
from anomaly.twins import LIMIT_FACTOR as TWIN_FACTOR
from anomaly.twins import twin_gaps

__all__ = ["FEEDBACK_FILE", "HISTORY", "LARGE_RAISE", "MAX_ON_DELAY_FACTOR", "Round", "keeping_level", "large_raise", "large_raise_note",
           "new_round",
           "on_delay", "raise_sensor_limits",
           "review", "rounds", "save_round", "set_threshold", "silencing_level"]

#: The rounds so far, in the model directory.
FEEDBACK_FILE = "feedback.json"
#: Folder of the models as they were before each round.
HISTORY = "history"
#: A round lengthens the alert on-delay (minimum duration) to at most this many times the default rules' at the model's rate.
MAX_ON_DELAY_FACTOR = 4
#: A round that raises a threshold by more than this factor is reported as a sign of an operating
#: mode the model never saw (:func:`large_raise_note`).
LARGE_RAISE = 2.0


@dataclass
class Round:
    """One feedback round, as recorded in ``feedback.json``.

    Attributes
    ----------
    round : int
        1 for the first round.
    by, at : str
        Who (``--by``, default: the login name) and when (ISO 8601, UTC).
    events_file : str
    logs : list of str
        The logs the reviewed alarms came from.
    false_alarms : int
        Reviewed alarms marked normal.
    faults : dict of str to int
        Reviewed alarms per fault label.
    faults_still_alarmed : int
        Reviewed fault alarms that the new model still raises.
    false_alarms_left : int
        Reviewed false alarms still raised (when a reviewed fault kept the threshold lower).
    rows : int
        Reviewed rows (inside a reviewed alarm).
    threshold_before, threshold_after : float
    min_duration_before, min_duration_after : int
        The alert on-delay, in rows at the model's rate.
    previous : str
        Where the model before this round is kept (relative to the model directory).
    sensor_limits_raised : dict of str to dict of str to [float, float]
        Per sensor check (``stuck``: rows, :mod:`anomaly.stuck`; ``noise``: :mod:`anomaly.noise`),
        the channels whose limit the round raised: before, after.
    """

    round: int
    by: str
    at: str
    events_file: str
    logs: list
    false_alarms: int
    faults: dict
    faults_still_alarmed: int
    false_alarms_left: int
    rows: int
    threshold_before: float
    threshold_after: float
    min_duration_before: int
    min_duration_after: int
    previous: str = field(default="")
    sensor_limits_raised: dict = field(default_factory=dict)


def alarms(scores: np.ndarray, level: float, rules: DecisionRules = DEFAULT_RULES) -> list[tuple[int, int]]:
    """``(start, end)`` positions (``end`` inclusive) of the alarms the alert rules raise on
    ``scores`` (n,) above ``level`` (what the stream alerts: :meth:`AlertLogic.alerts`).
    ``rules``: their row counts and severe ratio (a model's: :func:`~anomaly.decisions.model_rules`);
    the hold ratio is always :data:`DEFAULT_RULES`' one."""
    return [(start, end) for start, end, _ in AlertLogic.at_level(level, rules.severe_ratio, **rules.counts()).alerts(scores)]


def _turning_levels(values: np.ndarray, rules: DecisionRules) -> np.ndarray:
    """Levels at which a row of score ``values`` starts or stops entering, holding or being
    severe under ``rules`` (sorted, unique)."""
    ratios = [1.0, DEFAULT_RULES.exit_ratio] + ([rules.severe_ratio] if rules.severe_ratio else [])
    return np.unique(np.concatenate([values / ratio for ratio in ratios]))


def alarms_within(scores: np.ndarray, level: float, rows: np.ndarray, rules: DecisionRules = DEFAULT_RULES) -> int:
    """How many alarms at ``level`` (under ``rules``) overlap the True rows of ``rows`` (n,)."""
    return sum(bool(rows[a:b + 1].any()) for a, b in alarms(scores, level, rules))


def silencing_level(scores: np.ndarray, reviewed: np.ndarray, floor: float = 0.0, rules: DecisionRules = DEFAULT_RULES) -> float:
    """The lowest level from ``floor`` up at which the alert rules raise no alarm that overlaps a reviewed row.

    Parameters
    ----------
    scores : ndarray (n,)
        Scores of one log (non-negative: errors, probabilities).
    reviewed : ndarray (n,) of bool
        Rows of reviewed false alarms.
    floor : float, default 0.0
        The lowest level considered (the model's threshold: feedback only raises it). Below
        it the answer need not be monotone: an early alarm at a low level can hold a reviewed
        one back through its cooldown.
    rules : DecisionRules, default DEFAULT_RULES
        The alert rules' row counts (the model's, :func:`~anomaly.decisions.model_rules`).

    Returns
    -------
    float
        0.0 when no alarm overlaps them even at ``floor``. Alarms merge flagged runs across the
        merge gap, so the whole log is decided at each level tried (a binary search over the
        levels at which the reviewed rows change: their scores, and those over the hold and
        severe ratios).
    """
    if not reviewed.any() or not alarms_within(scores, floor, reviewed, rules):
        return 0.0
    turning = _turning_levels(scores[reviewed].astype(np.float64), rules)
    candidates = turning[turning > floor]  # the largest, over the hold ratio, is always quiet
    lo, hi = 0, len(candidates) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if alarms_within(scores, candidates[mid], reviewed, rules):
            lo = mid + 1
        else:
            hi = mid
    return float(candidates[lo])


def keeping_level(scores: np.ndarray, fault: np.ndarray, below: float, rules: DecisionRules = DEFAULT_RULES) -> float:
    """The highest level (>= ``below``) at which an alarm (under ``rules``) still overlaps the
    ``fault`` rows (n,); infinity when none does even at ``below`` (a fault the model missed
    caps nothing).

    A reviewed fault caps how far feedback may raise the threshold.
    """
    if not alarms_within(scores, below, fault, rules):
        return float("inf")
    values = scores[fault].astype(np.float64)
    turning = _turning_levels(values, rules)
    candidates = np.concatenate([[below], turning[turning > below]])
    lo, hi = 0, len(candidates) - 1
    while lo < hi:  # the last candidate at which the fault still alarms
        mid = (lo + hi + 1) // 2
        if alarms_within(scores, candidates[mid], fault, rules):
            lo = mid
        else:
            hi = mid - 1
    return float(candidates[lo])


def on_delay(scores: list[np.ndarray], false_rows: list[np.ndarray], faults: list[tuple[np.ndarray, np.ndarray]], level: float,
             rules: DecisionRules, longest: int) -> int:
    """The alert on-delay (minimum duration, rows) a round sets: the shortest from
    ``rules.min_duration`` up that leaves the fewest reviewed false alarms, within ``longest``
    and the longest at which every reviewed fault that alarms still does.

    Parameters
    ----------
    scores : list of ndarray (n_i,)
        Scores of each log.
    false_rows : list of ndarray (n_i,) of bool
        Rows of reviewed false alarms.
    faults : list of (scores, rows)
        Each reviewed fault: its log's scores (n_i,) and its rows (n_i,) of bool.
    level : float
        The threshold.
    rules : DecisionRules
        The model's alert rules now.
    longest : int
        The longest on-delay allowed (rows).

    Returns
    -------
    int
        ``rules.min_duration`` when no longer on-delay silences a reviewed false alarm.
    """
    def with_delay(rows: int) -> DecisionRules:
        return replace(rules, min_duration=int(rows))

    def left(rows: int) -> int:
        return sum(alarms_within(s, level, f, with_delay(rows)) for s, f in zip(scores, false_rows))

    def kept(rows: int) -> bool:
        return all(alarms_within(s, level, f, with_delay(rows)) for s, f in alarming)

    current = int(rules.min_duration)
    alarming = [(s, f) for s, f in faults if alarms_within(s, level, f, rules)]
    lo, hi = current, max(current, int(longest))
    while lo < hi:  # the longest on-delay that keeps every alarming reviewed fault
        mid = (lo + hi + 1) // 2
        if kept(mid):
            lo = mid
        else:
            hi = mid - 1
    top = lo
    fewest = left(top)
    if fewest >= left(current):
        return current
    lo, hi = current + 1, top
    while lo < hi:  # the shortest on-delay that reaches the fewest (more rows silence no fewer ...
        mid = (lo + hi) // 2
        if left(mid) <= fewest:
            hi = mid
        else:
            lo = mid + 1
    return lo if left(lo) <= fewest else top  # ... but a cooldown can break that: then the longest


#: The sensor checks a round can relax (every one of :data:`anomaly.sensor_checks.SENSOR_CHECK_NAMES`;
#: limits in the detector's ``<name>_limits_``): what the check measures on one pass's scaled rows
#: (``(detector, rows (n, c)) -> (n, c)``), and how far past the largest reviewed value the limit goes.
SENSOR_CHECKS = {"stuck": (lambda detector, rows: run_lengths(rows), STUCK_FACTOR),
                 "noise": (lambda detector, rows: rough(rows), NOISE_FACTOR),
                 "twin": (lambda detector, rows: twin_gaps(rows, detector.twin_of_), TWIN_FACTOR),
                 "oscillation": (lambda detector, rows: swing_counts(rows, detector.oscillation_bands_), OSCILLATION_FACTOR)}


def raise_sensor_limits(detector, logs: list[pd.DataFrame], false_rows: list[np.ndarray]) -> dict[str, dict[str, list[float]]]:
    """Raise the limit of each sensor check (:data:`SENSOR_CHECKS`) that a channel passed inside
    a reviewed false alarm to the check's factor times the largest value there (a hold, a
    roughness, a gap between twins or swings the reviewer calls normal), in place; returns ``{check: {channel: [before,
    after]}}`` for the checks it raised.

    Without this a threshold raise would have to silence a sensor check's score, which grows
    with the hold: a 60 s hold past a 1 s limit would lift the threshold 60-fold for every fault.
    """
    largest = {check: np.zeros(len(detector.schema_.channels)) for check in SENSOR_CHECKS}
    for frame, false in zip(logs, false_rows):
        if not false.any():
            continue
        _, values = detector.prepare(frame, "the reviewed log")
        scaled = detector.scaler_.transform(values)
        for rows in pass_slices(frame.index, detector.schema_.sampling_rate):
            if false[rows].any():
                for check, (measure, _) in SENSOR_CHECKS.items():
                    largest[check] = np.maximum(largest[check], measure(detector, scaled[rows])[false[rows]].max(axis=0))
    raised = {}
    for check, (_, factor) in SENSOR_CHECKS.items():
        limits = getattr(detector, f"{check}_limits_")
        for k in np.flatnonzero((limits > 0) & (largest[check] >= limits)):
            after = factor * float(largest[check][k])
            raised.setdefault(check, {})[detector.schema_.channels[k]] = [float(limits[k]), after]
            limits[k] = after
    return raised


def review(model, logs: list[pd.DataFrame], labels: list[np.ndarray]):
    """One feedback round on a loaded model (changed in place).

    Parameters
    ----------
    model : Detector or SupervisedDetector
    logs : list of DataFrame (n_i, c)
        The logs the reviewed alarms came from.
    labels : list of ndarray (n_i,)
        Per row: ``"normal"`` (a reviewed false alarm), a fault label, or None (not reviewed).

    Returns
    -------
    model, dict
        The model and the round's counts (``rows``, ``threshold_before``/``after``,
        ``min_duration_before``/``after``, ``faults_still_alarmed``, ``false_alarms_left``,
        ``sensor_limits_raised``: :func:`raise_sensor_limits`, applied before the rest).

    Raises
    ------
    DataError
        A reviewed false alarm where the model flagged no row (the review is of another model
        or other data), or no reviewed row.
    ConfigError
        A detector whose threshold is not one number (Dynamic, per-channel).
    """
    known = [known_mask(y) for y in labels]
    if not any(k.any() for k in known):
        raise DataError("the reviewed alarms cover no row of the logs")
    before = float(model.threshold_)
    supervised = isinstance(model, SupervisedDetector)
    if supervised:
        features = [model.features(f) for f in logs]
        scores = [model.head_scores(x) for x in features]
    else:
        if model.thresholder_.to_dict().get("state"):
            raise ConfigError(f"feedback raises a threshold that is one number; this model's {type(model.thresholder_).__name__} "
                              "threshold is not (refit it with --threshold percentile, sustained, ...)")
        scores = [model.evaluate_frame(f)[1].to_numpy() for f in logs]
    for s, y, f in zip(scores, labels, logs):
        for start, end in event_ranges(y == NORMAL):
            if not (s[start:end + 1] > before).any():
                raise DataError(f"the false alarm reviewed at {f.index[start]} .. {f.index[end]} was not flagged by this model "
                                "on these logs: review its own alarms")
    raised = raise_sensor_limits(model.detector_ if supervised else model, logs, [y == NORMAL for y in labels])
    if raised:  # the runs reviewed as normal no longer reach the scores
        if supervised:
            features = [model.features(f) for f in logs]
        else:
            scores = [model.evaluate_frame(f)[1].to_numpy() for f in logs]
    if supervised:
        model.training_ = {"X": np.vstack([model.training_["X"], *(x[k] for x, k in zip(features, known))]),
                           "labels": np.concatenate([model.training_["labels"], *(y[k].astype(str) for y, k in zip(labels, known))])}
        model.fit_classifiers()
        scores = [model.head_scores(x) for x in features]
    sessions = [pass_slices(f.index, model.schema_.sampling_rate) for f in logs]  # an alarm ends at a pause
    scores = [s[rows] for s, cut in zip(scores, sessions) for rows in cut]
    labels = [y[rows] for y, cut in zip(labels, sessions) for rows in cut]
    faults = []  # (scores, rows) of each reviewed fault
    for s, y in zip(scores, labels):
        faulty = known_mask(y) & (y != NORMAL)
        for a, b in event_ranges(faulty):
            rows = np.zeros(len(y), dtype=bool)
            rows[a:b + 1] = True
            faults.append((s, rows))
    rules = model_rules(model)
    delay_before = int(rules.min_duration)
    longest = MAX_ON_DELAY_FACTOR * rules_at(model.schema_.sampling_rate).min_duration
    rules = replace(rules, min_duration=on_delay(scores, [y == NORMAL for y in labels], faults, before, rules, longest))
    model.alert_min_duration_ = int(rules.min_duration)
    # the threshold rises only for the reviewed false alarms the longer on-delay leaves
    level = max(silencing_level(s, y == NORMAL, before, rules) for s, y in zip(scores, labels))
    after = max(before, float(np.nextafter(level, np.inf)) if level > 0 else before)
    cap = min((keeping_level(s, rows, before, rules) for s, rows in faults), default=np.inf)
    after = max(before, min(after, cap))
    set_threshold(model, after)
    left = sum(alarms_within(s, after, y == NORMAL, rules) for s, y in zip(scores, labels))
    still = sum(bool(alarms_within(s, after, rows, rules)) for s, rows in faults)
    return model, {"rows": int(sum(k.sum() for k in known)), "threshold_before": before, "threshold_after": after,
                   "min_duration_before": delay_before, "min_duration_after": int(rules.min_duration),
                   "faults_still_alarmed": int(still), "false_alarms_left": int(left), "sensor_limits_raised": raised}


def large_raise(before: float, after: float) -> bool:
    """Whether a round raised the threshold from ``before`` to ``after`` by more than :data:`LARGE_RAISE`."""
    return before > 0 and after > LARGE_RAISE * before


def large_raise_note(before: float, after: float, outside: str, logs: list[str]) -> str:
    """One line when a round raised the threshold from ``before`` to ``after`` by more than
    :data:`LARGE_RAISE` (empty otherwise), with the validity guard's line on the reviewed logs
    (``outside``, may be empty) and the refit that learns them (``logs``: their paths).

    False alarms that need a much higher threshold are rarely noise: a second program, a new
    product or tool, motions the model never saw. A threshold that silences them hides faults
    everywhere (``benchmarks/feedback.py``: a second pick-and-place program reviewed once took
    the threshold 1.31 -> 5.17 and fault recall 0.98 -> 0.90, a second round 0.73), while a
    model fitted on its training logs and a few normal logs of the new mode learns it (three
    runs of the second program: 3 false alarms an hour at recall 0.92)."""
    if not large_raise(before, after):
        return ""
    seen = f" ({outside})" if outside else ""
    return (f"warning: this round raised the threshold {after / before:.3g}x: the reviewed alarms look like an operating mode "
            f"the model never saw{seen}, and a threshold that high hides faults; to learn the mode instead, refit on the "
            f"training logs and normal logs of it: anomaly fit TRAINING... {' '.join(logs)} -o MODEL")


def set_threshold(model, level: float) -> None:
    """Set a loaded model's threshold to ``level``."""
    if isinstance(model, SupervisedDetector):
        model.threshold_ = level
    else:
        model.thresholder_.threshold_ = level
        model.head_.threshold_ = level


def rounds(path: str | Path) -> list[dict]:
    """The feedback rounds recorded in a model directory (empty before the first)."""
    file = Path(path) / FEEDBACK_FILE
    if not file.is_file():
        return []
    try:
        return list(json.loads(file.read_text()))
    except (ValueError, TypeError) as exc:
        raise DataError(f"{file}: unreadable ({exc})") from None


def save_round(path: str | Path, model, record: Round) -> Path:
    """Write ``model`` over its directory ``path`` with the round recorded; the old model goes to ``history/``.

    Only what a round changes is rewritten (a detector's threshold, on-delay and sensor-check
    limits in ``detector.json``; a supervised head's classifiers, training rows and threshold, and
    its detector's sensor-check limits); the rest is copied.
    """
    path = Path(path)
    supervised = isinstance(model, SupervisedDetector)
    marker = SUPERVISED_FILE if supervised else DETECTOR_FILE
    previous = f"{HISTORY}/round-{record.round}"
    record.previous = previous
    history = rounds(path)

    def write(tmp: Path) -> None:
        shutil.copytree(path, tmp, dirs_exist_ok=True, ignore=shutil.ignore_patterns(HISTORY))
        if (path / HISTORY).is_dir():
            shutil.copytree(path / HISTORY, tmp / HISTORY)
        shutil.copytree(path, tmp / previous, ignore=shutil.ignore_patterns(HISTORY))
        detector = model.detector_ if supervised else model
        meta_file = tmp / "detector" / DETECTOR_FILE if supervised else tmp / DETECTOR_FILE
        meta = json.loads(meta_file.read_text())
        meta["sensors"] = sensor_checks(detector)
        if not supervised:
            meta["threshold"] = model.thresholder_.to_dict()
            meta["alert_min_duration"] = model.alert_min_duration_
        meta_file.write_text(json.dumps(meta, indent=2))
        if supervised:
            model.save_head(tmp)
        (tmp / FEEDBACK_FILE).write_text(json.dumps([*history, asdict(record)], indent=2))

    return atomic_directory(path, write, marker=marker)


def new_round(path: str | Path, *, by: str | None, events_file: str, logs: list[str], false_alarms: int, faults: dict,
              counts: dict) -> Round:
    """The :class:`Round` record of the next round of the model at ``path`` (``counts``: of :func:`review`)."""
    return Round(round=len(rounds(path)) + 1, by=by or getpass.getuser(), at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                 events_file=events_file, logs=logs, false_alarms=false_alarms, faults=faults, **counts)
