"""Turn per-row anomaly flags into events (runs of flagged rows) with attribution."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from anomaly.errors import DataError
from anomaly.validation import as_flags, as_scores, check_number, to_jsonable

__all__ = ["Event", "event_ranges", "events"]

logger = logging.getLogger(__name__)


# ----------------------------------------------------------------------------
# Events
# ----------------------------------------------------------------------------


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


def event_ranges(flags) -> np.ndarray:
    """Find the runs of True in ``flags``.

    Parameters
    ----------
    flags : array-like or pandas.Series of shape (n,)
        Binary flags (bool or 0/1).

    Returns
    -------
    numpy.ndarray of shape (n_events, 2), dtype intp
        ``[start_pos, end_pos]`` integer positions of each run, ``end_pos`` inclusive,
        in increasing order.

    Raises
    ------
    DataError
        If ``flags`` is empty or not binary.
    """
    padded = np.concatenate(([0], as_flags(flags).astype(np.int8), [0]))
    step = np.diff(padded)
    starts = np.flatnonzero(step == 1)
    ends = np.flatnonzero(step == -1) - 1
    return np.column_stack((starts, ends)).astype(np.intp)


def _merge_and_filter(ranges: np.ndarray, merge_gap: int, min_duration: int) -> np.ndarray:
    """Merge runs separated by <= ``merge_gap`` rows, then drop runs shorter than ``min_duration``."""
    if len(ranges):
        gaps = ranges[1:, 0] - ranges[:-1, 1] - 1
        split = gaps > merge_gap
        ranges = np.column_stack((
            ranges[np.concatenate(([True], split)), 0],
            ranges[np.concatenate((split, [True])), 1],
        ))
    return ranges[ranges[:, 1] - ranges[:, 0] + 1 >= min_duration]


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


def events(flags: pd.Series, errors: pd.DataFrame | None = None, scores: pd.Series | None = None,
           *, min_duration: int = 1, merge_gap: int = 0, top_k: int = 3) -> list[Event]:
    """Group flagged rows into events, with peak score and channel attribution.

    Runs of True separated by at most ``merge_gap`` False rows are merged first, then
    events shorter than ``min_duration`` rows are dropped.

    Parameters
    ----------
    flags : pandas.Series of shape (n,)
        Binary flags (bool or 0/1). An array-like is accepted and gets a RangeIndex.
    errors : pandas.DataFrame of shape (n, n_channels), optional
        Per-step, per-channel error vector (finite, >= 0), with the same index as
        ``flags``. Used for channel attribution and, if ``scores`` is None, for
        ``scores = errors.mean(axis=1)``.
    scores : pandas.Series of shape (n,), optional
        Anomaly score per row, same index as ``flags``. If both ``errors`` and
        ``scores`` are None, an event's score is its length and its peak is its start.
    min_duration : int, default 1
        Minimum event length in rows (>= 1).
    merge_gap : int, default 0
        Largest number of unflagged rows between two runs that still merges them (>= 0).
    top_k : int, default 3
        Number of channels reported per event (>= 1).

    Returns
    -------
    list of Event
        In time order.

    Raises
    ------
    DataError
        If inputs are empty, non-binary/non-finite, or their indexes do not match.
    ConfigError
        If ``min_duration``, ``merge_gap`` or ``top_k`` is out of range.
    """
    check_number("min_duration", min_duration, low=1, integer=True)
    check_number("merge_gap", merge_gap, low=0, integer=True)
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

    ranges = _merge_and_filter(event_ranges(flags), merge_gap, min_duration)
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
