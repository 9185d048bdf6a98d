"""Pauses: where a log or stream starts a new session.

A **pause** is a step between two timestamped rows of at least :data:`PAUSE_S` seconds and
:data:`PAUSE_PERIODS` sampling periods of the model (:func:`pause_length`). A robot that
stopped for a while (a break, a cool-down, a restart) starts again at other temperatures and
levels, so everything that runs from row to row starts again after a pause: the scoring pass
(:mod:`anomaly.passes`: set-point references, smoothing, adaptation, a window model's
warm-up; windows never reach across it), a training log (``fit`` takes each session as a log),
and the alert rules (an alarm ends at a pause; merge gap and cooldown do not reach across it).
Without timestamps (or a sampling rate) nothing is a pause; numbers are timestamps as
:func:`anomaly.schema.time_ns` reads them.
"""

from __future__ import annotations

import math
from datetime import datetime
from numbers import Real

import numpy as np
import pandas as pd

from anomaly.schema import time_ns, unit_of_times

__all__ = ["PAUSE_PERIODS", "PAUSE_S", "is_pause", "pass_slices", "pause_length"]

#: A step of at least this many seconds between two rows is a pause (a new pass) ...
PAUSE_S = 60.0
#: ... if it is also at least this many sampling periods of the model (a 1 Hz log: 100 s).
PAUSE_PERIODS = 100


def pause_length(rate_hz: float | None) -> pd.Timedelta | None:
    """The shortest step that is a pause for a model sampled at ``rate_hz``; None without a rate."""
    if rate_hz is None or not rate_hz > 0:
        return None
    return pd.Timedelta(seconds=max(PAUSE_S, PAUSE_PERIODS / float(rate_hz)))


def pass_slices(index: pd.Index, rate_hz: float | None) -> list[slice]:
    """The passes of consecutive rows: slices of ``index`` (n,) split at every pause.

    Without timestamps (:func:`anomaly.schema.time_ns`) or a rate: one slice of every row. (Whether a pause lies before
    ``index[0]``, in a stream or a file read in blocks, is :func:`is_pause`'s question.)

    Returns
    -------
    list of slice
        Covering ``0 .. n`` in order; ``[slice(0, n)]`` without pauses.
    """
    pause = pause_length(rate_hz)
    stamps = time_ns(index) if pause is not None and len(index) >= 2 else None
    if stamps is None:
        return [slice(0, len(index))]
    steps = np.diff(stamps)
    cuts = (np.flatnonzero(steps >= pause.value) + 1).tolist()
    bounds = [0, *cuts, len(index)]
    return [slice(lo, hi) for lo, hi in zip(bounds[:-1], bounds[1:])]


def is_pause(before, after, pause: pd.Timedelta | None) -> bool:
    """True when the step from timestamp ``before`` to ``after`` is at least ``pause``
    (:func:`pause_length`): two datetimes, or two numbers that are times
    (:func:`anomaly.schema.ns_per_unit`); False for anything else. About a microsecond."""
    if pause is None or before is None:
        return False
    if isinstance(after, pd.Timestamp) and isinstance(before, pd.Timestamp):  # a stream's usual case, 10x faster
        return after.value - before.value >= pause.value
    if isinstance(before, datetime) and isinstance(after, datetime):
        return after - before >= pause.to_pytimedelta()  # timedelta against timedelta: 20x faster than pandas
    if isinstance(before, Real) and isinstance(after, Real) and math.isfinite(before) and math.isfinite(after):
        unit = unit_of_times(max(abs(before), abs(after)), float(before).is_integer() and float(after).is_integer())
        return unit is not None and (after - before) * unit >= pause.value
    return False
