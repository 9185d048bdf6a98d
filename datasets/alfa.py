"""Loader for ALFA (CMU AirLab): real fixed-wing UAV flights, 9 normal and 19 with an injected fault.

Layout under the data directory: ``alfa/normal/*.csv.gz`` and ``alfa/faulty/*.csv.gz``, one
flight per file, merged upstream onto a 20 Hz grid: ``%time`` (UTC wall time,
``YYYY-MM-DD hh:mm:ss.fff``), 25 signals named after their topic fields
(``field.orientation.x``, ``field.twist.linear.x``, ``field.alt_error``, ``delta_roll``, ...)
and, in faulty flights, the failure status ``field.data`` (0 before the fault, the fault code
after it). The IMU and velocity topics arrive at a few Hz, so their columns are step-wise
constant, and empty in a flight's first rows until their first message.

:func:`load_alfa` drops the rows before every signal has had a value (counted in
:attr:`Flight.leading_rows_dropped`) and forward-fills the rest (the files end with a few rows
after a topic's last message), as ``anomaly fit/score --nan-policy ffill`` reads these files
(a cell still empty in the first kept row is filled backward, as that policy does).
``alfa/raw_topics_one_flight/`` (one flight as raw rostopic CSV files) is not read here: it
is input for :mod:`pipelines.rostopic`.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd

from anomaly.errors import DataError
from datasets import paths

log = logging.getLogger(__name__)

#: The time column of the flight files.
TIME_COLUMN = "%time"
#: The failure-status column: 0 before the fault's onset, the fault code from it on.
LABEL_COLUMN = "field.data"
#: Fault kinds, recognised in a faulty flight's file name.
FAULT_KINDS = ("engine", "aileron", "rudder", "elevator")
#: Sampling rate of the merged files, Hz.
RATE_HZ = 20.0


@dataclass(frozen=True)
class Flight:
    """One ALFA flight.

    Attributes
    ----------
    name : str
        File name without ``.csv.gz`` (``carbonZ_2018-07-18-15-53-31_1_engine_failure``).
    frame : pandas.DataFrame of shape (n_steps, 25)
        The signals, float64, forward-filled (no NaN); DatetimeIndex named ``timestamp``.
    labels : pandas.Series of bool, shape (n_steps,)
        ``field.data > 0``: the fault is active (all False in a normal flight).
    fault : str or None
        Fault kind (one of :data:`FAULT_KINDS`); None for a normal flight.
    onset : pandas.Timestamp or None
        Time of the first faulty row; None for a normal flight.
    leading_rows_dropped : int
        Rows at the start of the file dropped because some signal had no value yet.
    """

    name: str
    frame: pd.DataFrame
    labels: pd.Series
    fault: str | None
    onset: pd.Timestamp | None
    leading_rows_dropped: int

    @property
    def onset_row(self) -> int | None:
        """Position of the first faulty row in :attr:`frame` (None for a normal flight)."""
        return int(np.argmax(self.labels.to_numpy())) if self.onset is not None else None


class AlfaFlights(NamedTuple):
    """The flights of :func:`load_alfa`; unpacks as ``normal, faulty = load_alfa()``."""

    normal: list[Flight]
    faulty: list[Flight]


def fault_kind(name: str) -> str | None:
    """The fault kind in a flight's file name (``..._left_aileron__right_aileron__failure`` ->
    ``"aileron"``), None for ``..._no_failure``.

    Raises
    ------
    DataError
        A failure whose kind is not one of :data:`FAULT_KINDS`.
    """
    if re.search(r"no_failure", name):
        return None
    for kind in FAULT_KINDS:
        if re.search(rf"(^|_){kind}(_|$)", name):
            return kind
    raise DataError(f"{name}: no fault kind {list(FAULT_KINDS)} in the file name")


def _leading_rows(frame: pd.DataFrame) -> int:
    """Rows before every column has had a value (``len(frame)`` if some column never has one)."""
    seen = np.logical_or.accumulate(frame.notna().to_numpy(), axis=0).all(axis=1)
    return int(np.argmax(seen)) if seen.any() else len(frame)


def read_flight(path: str | Path) -> Flight:
    """Read one ALFA flight file (see the module docstring).

    Raises
    ------
    DataError
        Unreadable file, no ``%time`` column, unparseable or unsorted times, a signal that is
        never filled in, or a faulty flight without a labelled fault.
    """
    path = Path(path)
    name = path.name[: -len(".csv.gz")] if path.name.endswith(".csv.gz") else path.stem
    try:
        raw = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError, EOFError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: cannot read ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else ''})") from None
    if TIME_COLUMN not in raw.columns:
        raise DataError(f"{path}: no {TIME_COLUMN!r} column")
    times = pd.to_datetime(raw.pop(TIME_COLUMN), errors="coerce", format="mixed")
    if times.isna().any() or not times.is_monotonic_increasing or times.duplicated().any():
        raise DataError(f"{path}: {TIME_COLUMN!r} has unparseable, repeated or unsorted times")
    codes = raw.pop(LABEL_COLUMN) if LABEL_COLUMN in raw.columns else pd.Series(0.0, index=raw.index)
    frame = raw.astype(np.float64).set_axis(pd.DatetimeIndex(times, name="timestamp"), axis=0)
    dropped = _leading_rows(frame)
    if dropped >= len(frame):
        empty = frame.columns[frame.isna().all()].tolist()
        raise DataError(f"{path}: signals {empty} have no value")
    frame = frame.iloc[dropped:].ffill().bfill()  # what the NaN policy "ffill" does to these rows
    labels = pd.Series(codes.fillna(0).to_numpy()[dropped:] > 0, index=frame.index, name="anomaly")
    kind = fault_kind(name)
    onset = None
    if kind is not None:
        if not labels.any():
            raise DataError(f"{path}: a {kind} failure flight without a labelled fault ({LABEL_COLUMN} > 0)")
        onset = labels.index[int(np.argmax(labels.to_numpy()))]
    if dropped:
        log.info("%s: dropped %d leading rows before every signal had a value", path.name, dropped)
    return Flight(name, frame, labels, kind, onset, dropped)


def load_alfa(data_dir: str | Path | None = None) -> AlfaFlights:
    """Load every ALFA flight, normal and faulty, in file-name order.

    Parameters
    ----------
    data_dir : str or Path, optional
        Folder holding ``alfa/`` (or ``alfa/`` itself); default ``$ANOMALY_DATA_DIR``.

    Returns
    -------
    AlfaFlights
        ``normal`` (9 flights) and ``faulty`` (19 flights), lists of :class:`Flight`.

    Raises
    ------
    DataError
        No data directory, a missing ``normal/`` or ``faulty/`` folder or one without flights,
        or a bad flight file (:func:`read_flight`).
    """
    root = paths.data_dir(data_dir, "alfa")
    flights = {}
    for group in ("normal", "faulty"):
        folder = root / group
        if not folder.is_dir():
            raise DataError(f"{folder}: ALFA folder not found")
        files = sorted(folder.glob("*.csv.gz")) or sorted(folder.glob("*.csv"))
        if not files:
            raise DataError(f"{folder}: no flight files (*.csv.gz)")
        flights[group] = [read_flight(f) for f in files]
    return AlfaFlights(flights["normal"], flights["faulty"])
