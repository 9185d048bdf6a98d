"""Batch events: runs of flagged rows, decided by the shared rules, with peak and attribution.

:func:`events` applies the decision rules of :mod:`anomaly.decisions.rules` (by default
:data:`~anomaly.decisions.rules.DEFAULT_RULES`, the stream's too) with
:func:`~anomaly.decisions.runs.decide_runs`, then describes each event: its peak score and
the channels with the largest share of its error.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from anomaly.decisions.rules import DEFAULT_RULES, DecisionRules, severe_level
from anomaly.decisions.runs import decide_runs
from anomaly.errors import ConfigError, DataError
from anomaly.pauses import pass_slices
from anomaly.schema import sampling_rate
from anomaly.validation import as_flags, as_scores, check_number, to_jsonable

__all__ = ["Event", "events"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Event:
    """One anomalous event: a run of flagged rows.

    Attributes
    ----------
    start, end : object
        Index labels of the first and last (inclusive) flagged row.
    peak : object
        Index label of the row with the highest score inside the event.
    score : float
        Highest score inside the event (the length if no scores/errors were given).
    length : int
        Number of rows from ``start`` to ``end`` inclusive.
    channels : tuple of str
        Top-k channels by share of summed error over the event rows, largest first;
        ``()`` if no errors were given.
    shares : tuple of float
        Their fractions of the event's total error, in [0, 1] (all 0.0 if the total
        error is 0).
    """

    start: object
    end: object
    peak: object
    score: float
    length: int
    channels: tuple[str, ...] = ()
    shares: tuple[float, ...] = ()

    def to_dict(self) -> dict:
        """JSON-friendly dict: timestamps as ISO strings, tuples as lists, numpy scalars as Python."""
        return {
            key: [to_jsonable(v) for v in value] if isinstance(value, tuple) else to_jsonable(value)
            for key, value in asdict(self).items()
        }


def _check_aligned(index: pd.Index, other, name: str) -> None:
    """Raise :class:`DataError` unless ``other``'s index equals the flags' ``index``."""
    if not other.index.equals(index):
        raise DataError(
            f"{name}: index does not match flags' index "
            f"({len(other.index)} vs {len(index)} rows, or different labels)"
        )


def _error_values(errors: pd.DataFrame, index: pd.Index) -> np.ndarray:
    """Validate the per-channel error frame and return it as a (n, n_channels) float array."""
    if not isinstance(errors, pd.DataFrame):
        raise DataError(f"errors: expected a pandas DataFrame, got {type(errors).__name__}")
    _check_aligned(index, errors, "errors")
    if errors.shape[1] == 0:
        raise DataError("errors: no channels (0 columns)")
    try:
        values = errors.to_numpy(dtype=np.float64)
    except (TypeError, ValueError):
        raise DataError("errors: expected numeric columns") from None
    bad = ~np.isfinite(values) | (values < 0)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        raise DataError(
            f"errors: value {values[row, col]} in column {errors.columns[col]!r} at row "
            f"{index[row]}; errors must be finite and >= 0"
        )
    return values


def events(flags: pd.Series, errors: pd.DataFrame | None = None, scores: pd.Series | None = None, *,
           threshold: float | None = None, min_duration: int = DEFAULT_RULES.min_duration,
           merge_gap: int = DEFAULT_RULES.merge_gap, cooldown: int = DEFAULT_RULES.cooldown,
           exit_ratio: float = DEFAULT_RULES.exit_ratio, severe_ratio: float | None = DEFAULT_RULES.severe_ratio,
           top_k: int = 3, passes: list[slice] | None = None) -> list[Event]:
    """Group flagged rows into events, with peak score and channel attribution.

    The rules (:class:`~anomaly.decisions.rules.DecisionRules`, defaults
    :data:`~anomaly.decisions.rules.DEFAULT_RULES`) are applied as the stream's
    :class:`~anomaly.decisions.AlertLogic` applies them, so with ``flags = scores >
    threshold`` the events are the stream's alerts on the same scores:

    * **hysteresis** (only with ``threshold`` and ``scores``): an event that opened on a flag
      holds while the score stays above ``exit_ratio * threshold``; without ``threshold`` it
      holds while flagged (``exit_ratio`` is not used);
    * **merge gap**: runs separated by at most ``merge_gap`` rows are merged;
    * **cooldown**: no event opens within ``cooldown`` rows after the end of the previous one
      (a run reaching into the cooldown starts at its first flag after it);
    * **minimum duration**: events with fewer than ``min_duration`` held rows (merged gaps
      not counted) are dropped, unless
      (with ``threshold`` and ``scores``) their score goes above ``severe_ratio * threshold``.

    For every flagged run as its own event, pass ``min_duration=1, merge_gap=0, cooldown=0``.
    An event ends at a pause in the timestamps (:mod:`anomaly.pauses`), and neither the merge
    gap nor the cooldown reaches across one, as the stream's :meth:`AlertLogic.pause
    <anomaly.decisions.AlertLogic.pause>` has it.

    Parameters
    ----------
    flags : pandas.Series of shape (n,)
        Binary flags (bool or 0/1), e.g. ``det.predict(frame)``. An array-like is accepted
        and gets a RangeIndex.
    errors : pandas.DataFrame of shape (n, n_channels), optional
        Per-step, per-channel error vector (finite, >= 0), with the same index as
        ``flags``. Used for channel attribution and, if ``scores`` is None, for
        ``scores = errors.mean(axis=1)``.
    scores : pandas.Series of shape (n,), optional
        Anomaly score per row, same index as ``flags``. If both ``errors`` and
        ``scores`` are None, an event's score is its length and its peak is its start.
    threshold : float, optional
        The level the flags were made with (``det.threshold_``); with ``scores`` it turns on
        the hysteresis. Must be >= 0 unless ``exit_ratio`` is 1 (the exit level must not be
        above it).
    min_duration : int, default ``DEFAULT_RULES.min_duration`` (25)
        Minimum held rows of an event (>= 1): rows above the hold level, merged gaps not counted.
    merge_gap : int, default ``DEFAULT_RULES.merge_gap`` (100)
        Largest number of rows between two runs that still merges them (>= 0).
    cooldown : int, default ``DEFAULT_RULES.cooldown`` (500)
        Rows (>= 0) after an event's end during which no event opens.
    exit_ratio : float, default ``DEFAULT_RULES.exit_ratio`` (0.8)
        Hold level as a fraction of ``threshold``, in (0, 1].
    severe_ratio : float or None, default ``DEFAULT_RULES.severe_ratio`` (10)
        With ``threshold`` (> 0) and ``scores``: an event whose score goes above this multiple
        of the threshold (>= 1) is kept however short; None for none.
    top_k : int, default 3
        Number of channels reported per event (>= 1).
    passes : list of slice, optional
        The sessions of the rows (:func:`anomaly.pauses.pass_slices` at the model's rate);
        default: split at the pauses of ``flags.index`` at its own sampling rate.

    Returns
    -------
    list of Event
        In time order.

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite, or their indexes do not match.
    ConfigError
        If a rule or ``top_k`` is out of range, ``threshold`` is not a finite number, or
        ``threshold`` is given without ``scores``.
    """
    rules = DecisionRules(min_duration=min_duration, merge_gap=merge_gap, cooldown=cooldown, exit_ratio=exit_ratio,
                          severe_ratio=severe_ratio)
    check_number("top_k", top_k, low=1, integer=True)
    if not isinstance(flags, pd.Series):
        flags = pd.Series(as_flags(flags))
    index = flags.index
    error_values = None if errors is None else _error_values(errors, index)
    if scores is not None:
        if not isinstance(scores, pd.Series):
            raise DataError(f"scores: expected a pandas Series, got {type(scores).__name__}")
        _check_aligned(index, scores, "scores")
        score_values = as_scores(scores, "scores")
    elif error_values is not None:
        score_values = error_values.mean(axis=1)
    else:
        score_values = None
    hold = severe = None
    if threshold is not None:
        level = float(check_number("threshold", threshold))
        if scores is None:
            raise ConfigError("threshold needs scores: an event holds while its score stays above "
                              "exit_ratio * threshold")
        exit_level = level * rules.exit_ratio
        if exit_level > level:
            raise ConfigError(f"threshold={threshold!r} with exit_ratio={exit_ratio!r} puts the exit level above "
                              "the threshold: use exit_ratio=1.0 for a negative threshold")
        hold = score_values > exit_level
        above = severe_level(level, rules.severe_ratio)
        if above is not None:
            severe = score_values > above

    if passes is None:
        passes = pass_slices(index, sampling_rate(index))
    ranges = decide_runs(as_flags(flags), hold, min_duration=rules.min_duration, merge_gap=rules.merge_gap,
                         cooldown=rules.cooldown, severe=severe, passes=passes)
    found = []
    for start, end in ranges:
        length = int(end - start + 1)
        if score_values is None:
            peak, score = start, float(length)
        else:
            peak = start + int(np.argmax(score_values[start:end + 1]))
            score = float(score_values[peak])
        channels, shares = (), ()
        if error_values is not None:
            sums = error_values[start:end + 1].sum(axis=0)
            total = sums.sum()
            fractions = sums / total if total > 0 else np.zeros_like(sums)
            top = np.argsort(-fractions, kind="stable")[:top_k]
            channels = tuple(str(errors.columns[i]) for i in top)
            shares = tuple(float(fractions[i]) for i in top)
        found.append(Event(start=index[start], end=index[end], peak=index[peak], score=score,
                           length=length, channels=channels, shares=shares))
    logger.debug("found %d events in %d rows", len(found), len(flags))
    return found
