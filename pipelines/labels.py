"""Labels a user already has, as one label per row: a column of the data or an events file.

A row's label is ``None`` (unlabelled), ``"normal"`` (:data:`anomaly.supervised.NORMAL`), or a fault label (any other text, e.g.
``"fault"`` for a 0/1 column or ``"bearing"`` from an events file).

* **A column** (:func:`column_labels`): 0/1 or true/false values give ``normal``/``fault``;
  text gives its own value, where ``normal``, ``ok``, ``false_alarm``, ``0`` and ``false``
  mean normal; an empty cell is unlabelled.
* **An events file** (:func:`read_events`, :func:`event_labels`): a CSV with ``start,end,label``
  (an optional fourth column is ignored); ``start`` and ``end`` are timestamps like the logs'
  (ISO 8601 text for timestamped logs, numbers for numeric ones), both inclusive. Rows inside an
  event get its label (a later event wins where two overlap); the others are unlabelled.

:func:`fill_unlabelled` applies ``--unlabelled``: ``normal`` makes every unlabelled row normal,
``ignore`` leaves them out of training.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError
from anomaly.supervised import FAULT, NORMAL

__all__ = ["UNLABELLED_POLICIES", "check_unlabelled_policy", "column_labels", "covered_events", "event_labels",
           "fill_unlabelled", "is_events_file", "read_events"]

#: Label values read as normal (case-insensitive).
NORMAL_VALUES = ("normal", "ok", "false_alarm", "0", "false", "0.0")
#: Label values of a 0/1 column read as a fault.
FAULT_VALUES = ("1", "true", "1.0")
#: ``--unlabelled`` choices.
UNLABELLED_POLICIES = ("ignore", "normal")
#: Columns of an events file.
EVENT_COLUMNS = ("start", "end", "label")


def is_events_file(spec: str) -> bool:
    """True when ``--labels`` names a file (an events CSV) rather than a column."""
    return Path(spec).suffix.lower() in (".csv", ".tsv", ".txt") or Path(spec).exists()


def read_events(path: str | Path) -> pd.DataFrame:
    """The events of a ``start,end,label`` CSV, as text columns (times are parsed against a log's index).

    Returns
    -------
    DataFrame with columns start, end, label (one row per event), and run when the file has it
    (the alarms of a file of several runs, ``anomaly score --alarms``)

    Raises
    ------
    DataError
        Missing file, empty file, missing columns, an empty label.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: events file not found")
    try:
        events = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty events file") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot parse ({str(exc).strip().splitlines()[0]})") from None
    events.columns = [str(c).strip().lower() for c in events.columns]
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise DataError(f"{path}: events file needs columns start,end,label; missing {missing} (has {list(events.columns)})")
    if events.empty:
        raise DataError(f"{path}: the events file lists no event")
    events = events[[*EVENT_COLUMNS, *(["run"] if "run" in events.columns else [])]].apply(lambda column: column.str.strip())
    blank = events["label"] == ""
    if blank.any():
        raise DataError(f"{path}: event {int(blank.to_numpy().argmax()) + 1} has an empty label")
    return events.reset_index(drop=True)


def run_events(events: pd.DataFrame, run) -> np.ndarray:
    """Which events (k,) belong to the run of value ``run`` (:func:`pipelines.sources.read_runs`):
    those whose ``run`` cell reads as it; every event when the file has no run column or
    ``run`` is None (a file of one run)."""
    if run is None or "run" not in events.columns:
        return np.ones(len(events), dtype=bool)
    return (events["run"] == str(run)).to_numpy()


def parse_times(events: pd.DataFrame, index: pd.Index, source: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end times (k,) of ``events`` in the unit of a log's ``index``.

    Raises
    ------
    DataError
        An unparseable time (naming the event) or an end before its start.
    """
    datetimes = isinstance(index, pd.DatetimeIndex)
    times = []
    for column in ("start", "end"):
        if datetimes:
            parsed = pd.to_datetime(events[column], errors="coerce", format="mixed", utc=index.tz is not None)
            if index.tz is not None:
                parsed = parsed.dt.tz_convert(index.tz)
        else:
            parsed = pd.to_numeric(events[column], errors="coerce")
        bad = parsed.isna().to_numpy()
        if bad.any():
            row = int(bad.argmax())
            kind = "a time like the logs' timestamps (ISO 8601)" if datetimes else "a number like the logs' index"
            raise DataError(f"{source}: event {row + 1} has {column} {events[column].iloc[row]!r}, not {kind}")
        times.append(parsed.to_numpy())
    start, end = times
    backwards = end < start
    if backwards.any():
        row = int(backwards.argmax())
        raise DataError(f"{source}: event {row + 1} ends ({events['end'].iloc[row]}) before it starts ({events['start'].iloc[row]})")
    return start, end


def event_labels(index: pd.Index, events: pd.DataFrame, *, source: str = "events file") -> np.ndarray:
    """One label per row of a log with ``index`` (n,): an object array of str or None (unlabelled).

    Rows whose index lies in ``[start, end]`` of an event get its label (:data:`NORMAL` for the
    normal values); a later event wins where events overlap.
    """
    start, end = parse_times(events, index, source)
    position = index.to_numpy()
    labels = np.full(len(index), None, dtype=object)
    for a, b, label in zip(start, end, events["label"]):
        labels[(position >= a) & (position <= b)] = NORMAL if label.lower() in NORMAL_VALUES else label
    return labels


def covered_events(index: pd.Index, events: pd.DataFrame, *, source: str = "events file") -> np.ndarray:
    """True (k,) for each event of ``events`` that covers at least one row of a log with ``index``."""
    start, end = parse_times(events, index, source)
    position = index.to_numpy()
    return np.array([bool(((position >= a) & (position <= b)).any()) for a, b in zip(start, end)], dtype=bool)


def column_labels(column: pd.Series) -> np.ndarray:
    """One label per row (n,) from a label column: an object array of str or None.

    Numbers: 0 is normal, any other number a fault (:data:`~anomaly.supervised.FAULT`; fault codes such as ALFA's
    ``field.data`` included); booleans likewise. Text: :data:`NORMAL_VALUES` are normal,
    ``1``/``true`` is ``"fault"``, other text is the fault's label. Empty cells are unlabelled.
    """
    labels = np.full(len(column), None, dtype=object)
    known = column.notna().to_numpy().copy()
    if pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
        values = column.to_numpy(dtype=float, na_value=np.nan)
        labels[known] = np.where(values[known] == 0, NORMAL, FAULT)
        return labels
    text = column.astype(str).str.strip()
    known &= (text != "").to_numpy()
    lower = text.str.lower()
    labels[known] = np.where(lower.isin(NORMAL_VALUES), NORMAL, np.where(lower.isin(FAULT_VALUES), FAULT, text))[known]
    return labels


def check_unlabelled_policy(policy: str) -> None:
    """ConfigError unless ``policy`` is one of :data:`UNLABELLED_POLICIES`."""
    if policy not in UNLABELLED_POLICIES:
        raise ConfigError(f"--unlabelled {policy!r} is not one of {list(UNLABELLED_POLICIES)}")


def fill_unlabelled(labels: np.ndarray, policy: str) -> np.ndarray:
    """``labels`` (n,) with unlabelled rows made normal (``policy="normal"``) or left as they are (``"ignore"``)."""
    check_unlabelled_policy(policy)
    if policy == "normal":
        labels = labels.copy()
        labels[pd.isna(labels)] = NORMAL
    return labels
