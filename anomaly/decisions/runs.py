"""Runs of flagged rows: the one implementation every decision rule is built on.

A *run* is a maximal stretch of consecutive True flags, written ``(start, end)`` with integer
positions, ``end`` inclusive; a set of runs is an array of shape (k, 2), dtype intp, in
increasing order and never touching. The rules of :mod:`anomaly.decisions` are compositions
of the steps below:

* :func:`anomaly.decisions.events` and :class:`anomaly.decisions.AlertLogic` (batch):
  :func:`decide_runs` -- hysteresis, merge gap, cooldown and minimum duration;
* :func:`anomaly.decisions.persistence`: :func:`drop_short`, then each run starts ``k - 1``
  rows late;
* :func:`anomaly.decisions.window_consensus`: runs of windows above the threshold, mapped to
  the rows every covering window agrees on.
"""

from __future__ import annotations

import numpy as np

from anomaly.validation import as_flags, check_lengths

__all__ = ["decide_runs", "drop_short", "event_ranges", "hysteresis", "merge_runs", "runs_to_flags"]


def event_ranges(flags) -> np.ndarray:
    """Find the runs of True in ``flags``.

    Parameters
    ----------
    flags : array-like or pandas.Series of shape (n,)
        Binary flags (bool or 0/1).

    Returns
    -------
    numpy.ndarray of shape (n_runs, 2), dtype intp
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


def merge_runs(ranges: np.ndarray, merge_gap: int) -> np.ndarray:
    """Merge runs separated by at most ``merge_gap`` rows.

    Parameters
    ----------
    ranges : numpy.ndarray of shape (k, 2)
        Runs in increasing order (:func:`event_ranges`).
    merge_gap : int
        Largest number (>= 0) of rows between two runs that still merges them.

    Returns
    -------
    numpy.ndarray of shape (k', 2), dtype intp, k' <= k
    """
    ranges = np.asarray(ranges, dtype=np.intp).reshape(-1, 2)
    if len(ranges) < 2:
        return ranges
    split = ranges[1:, 0] - ranges[:-1, 1] - 1 > merge_gap
    return np.column_stack((ranges[np.concatenate(([True], split)), 0], ranges[np.concatenate((split, [True])), 1]))


def drop_short(ranges: np.ndarray, min_duration: int) -> np.ndarray:
    """Keep the runs of at least ``min_duration`` rows.

    Parameters
    ----------
    ranges : numpy.ndarray of shape (k, 2)
    min_duration : int
        Minimum run length in rows (>= 1).

    Returns
    -------
    numpy.ndarray of shape (k', 2), dtype intp, k' <= k
    """
    ranges = np.asarray(ranges, dtype=np.intp).reshape(-1, 2)
    return ranges[ranges[:, 1] - ranges[:, 0] + 1 >= min_duration]


def runs_to_flags(ranges: np.ndarray, n: int) -> np.ndarray:
    """Flags of ``n`` rows that are True exactly inside the runs (inverse of :func:`event_ranges`).

    Parameters
    ----------
    ranges : numpy.ndarray of shape (k, 2)
        Runs inside ``[0, n)``, not overlapping.
    n : int
        Number of rows.

    Returns
    -------
    numpy.ndarray of shape (n,), dtype bool
    """
    ranges = np.asarray(ranges, dtype=np.intp).reshape(-1, 2)
    edges = np.bincount(ranges[:, 0], minlength=n + 1) - np.bincount(ranges[:, 1] + 1, minlength=n + 1)
    return np.cumsum(edges[:n]) > 0


def hysteresis(enter: np.ndarray, hold: np.ndarray) -> np.ndarray:
    """Rows inside a run that starts at an ``enter`` row and continues over ``hold`` rows.

    ``out[t] = enter[t] or (out[t - 1] and hold[t])``: with ``enter = scores > threshold``
    and ``hold = scores > exit_level`` (``exit_level <= threshold``), a run opens above the
    threshold and holds while the score stays above the exit level. O(n), vectorised.

    Parameters
    ----------
    enter, hold : numpy.ndarray of shape (n,), dtype bool

    Returns
    -------
    numpy.ndarray of shape (n,), dtype bool
        ``enter`` itself when ``hold`` is ``enter``.
    """
    positions = np.arange(len(enter))
    last_enter = np.maximum.accumulate(np.where(enter, positions, -1))
    last_break = np.maximum.accumulate(np.where(enter | hold, -1, positions))
    return last_enter > last_break


def decide_runs(enter, hold=None, *, min_duration: int = 1, merge_gap: int = 0, cooldown: int = 0,
                severe=None, passes: list[slice] | None = None) -> np.ndarray:
    """Events as runs: hysteresis, merge gap, cooldown and minimum duration, in this order.

    1. **hysteresis**: a run opens at an ``enter`` row and holds over ``hold`` rows
       (:func:`hysteresis`; without ``hold``, runs are the runs of ``enter``);
    2. **merge gap**: runs at most ``merge_gap`` rows apart merge (:func:`merge_runs`);
    3. **cooldown** and **minimum duration**, in time order: a merged run that starts at or
       before ``quiet`` (the end of the last kept event plus ``cooldown``) starts instead at
       its first ``enter`` row after ``quiet``, or is dropped if it has none; a run with fewer
       than ``min_duration`` held rows (rows of step 1; the merged gaps do not count) and no
       ``severe`` row is dropped (and starts no cooldown); any other is an event. Two blips of
       a few rows that the merge gap joins are not an event because of the gap between them;
       a fault whose score dips below the hold level now and then still is, once its rows
       above it add up.

    This is exactly what the stream state machine :meth:`AlertLogic.push
    <anomaly.decisions.AlertLogic.push>` reports with ``enter = scores > enter_level`` and
    ``hold = scores > exit_level``: an alert that opens, holds and takes back returns within
    the merge gap is one merged run; the cooldown only blocks *opening*, so a run that starts
    in it opens at its first row above ``enter`` after it (tested equal on random scores).
    O(n) plus a Python step per merged run.

    Parameters
    ----------
    enter : array-like of shape (n,), bool
        Rows that can open (or, after a gap, continue) an event, e.g. ``scores > threshold``.
    hold : array-like of shape (n,), bool, optional
        Rows that keep an open event going, e.g. ``scores > exit_ratio * threshold``;
        default ``enter`` (no hysteresis).
    min_duration : int, default=1
        Held rows (>= 1) an event must have: rows above the hold level after an ``enter`` row,
        not counting the merged gaps.
    merge_gap : int, default=0
        Largest number (>= 0) of rows between two runs that still merges them.
    cooldown : int, default=0
        Rows (>= 0) after an event's end during which no new event opens.
    severe : array-like of shape (n,), bool, optional
        Rows that make their run an event whatever its length, e.g. ``scores > 10 * threshold``
        (rows of a run before a cooldown moved its start do not count); default none.
    passes : list of slice, optional
        Consecutive slices covering the rows, one per session (:func:`anomaly.pauses.pass_slices`):
        each is decided on its own, so an event ends at a pause and neither the merge gap nor
        the cooldown reaches across one. Default: one session.

    Returns
    -------
    numpy.ndarray of shape (n_events, 2), dtype intp
        ``[start, end]`` positions (``end`` inclusive) of each event, in time order.

    Raises
    ------
    DataError
        If ``enter`` or ``hold`` is empty or not binary, or their lengths differ.
    """
    enter = as_flags(enter, "enter")
    if passes is not None and len(passes) > 1:
        hold, severe = (None if v is None else as_flags(v, name) for v, name in ((hold, "hold"), (severe, "severe")))
        found = [decide_runs(enter[rows], None if hold is None else hold[rows], min_duration=min_duration,
                             merge_gap=merge_gap, cooldown=cooldown, severe=None if severe is None else severe[rows])
                 + rows.start for rows in passes]
        return np.concatenate(found).astype(np.intp).reshape(-1, 2)
    held = enter
    if hold is not None:
        hold = as_flags(hold, "hold")
        check_lengths(enter=enter, hold=hold)
        held = hysteresis(enter, hold)
    severe_rows = np.zeros(0, dtype=np.intp)
    if severe is not None:
        severe = as_flags(severe, "severe")
        check_lengths(enter=enter, severe=severe)
        severe_rows = np.flatnonzero(severe)
    openings = np.flatnonzero(enter)
    held_before = np.concatenate([[0], np.cumsum(held, dtype=np.intp)])  # held rows before each position
    kept, quiet = [], -1
    for start, end in merge_runs(event_ranges(held), merge_gap).tolist():
        if start <= quiet:  # in the cooldown: open at the first enter row after it, if any
            i = int(np.searchsorted(openings, quiet + 1))
            if i == len(openings) or openings[i] > end:
                continue
            start = int(openings[i])
        first_severe = int(np.searchsorted(severe_rows, start))
        if (held_before[end + 1] - held_before[start] >= min_duration
                or (first_severe < len(severe_rows) and severe_rows[first_severe] <= end)):
            kept.append((start, end))
            quiet = end + cooldown
    return np.array(kept, dtype=np.intp).reshape(-1, 2)
