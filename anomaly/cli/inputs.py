"""Inputs several commands read: the label column of a table, the logs named on the command
line, a table read under a NaN policy, a saved model and the file it scores."""

from __future__ import annotations

import glob
import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly import ConfigError, DataError, SchemaError, load
from anomaly.scaling import NAN_POLICIES
from anomaly.supervised import is_supervised
from pipelines.chunk_reader import file_kind
from pipelines.sources import LABEL_COLUMNS, Run, Table, is_topic_log, read_runs, read_table

#: 0/1 label columns, in the order they are looked for.
BINARY_LABELS = ("is_anomaly", "anomaly", "label", "labels")
#: Fault-code label columns: 0 is normal, any other value a fault (ALFA's failure status; a
#: fault flag or code, 0/1 or 0..n).
FAULT_CODE_LABELS = ("field.data", "fault", "is_fault", "failure", "is_failure")
#: NaN policies that fill gaps; under them rows before a channel's first value are dropped.
FILLING_POLICIES = ("ffill", "interpolate")
_GLOB_CHARS = set("*?[")
#: Channel names shown in a mismatch message (per side).
SHOWN_CHANNELS = 8


def anomaly_labels(labels: pd.DataFrame, name: str | None, *, required: bool) -> pd.Series | None:
    """The label column ``name`` (default: is_anomaly, anomaly, label, labels, field.data, fault, failure, ...) as booleans.

    0/1 columns are taken as they are; a fault-code column (:data:`FAULT_CODE_LABELS`) is
    anomalous where it is not 0. None when there is none and it is not ``required``;
    :class:`DataError` when a named or required column is missing or holds other values.
    """
    if name is not None:
        if name not in labels.columns:
            raise DataError(f"label column {name!r} not found among {list(labels.columns)}")
        column = labels[name]
    else:
        known = BINARY_LABELS + FAULT_CODE_LABELS
        candidates = sorted((c for c in labels.columns if c.lower() in known), key=lambda c: known.index(c.lower()))
        if not candidates:
            if required:
                raise DataError("no label column (is_anomaly, anomaly, label or field.data); pass --label-column")
            return None
        column = labels[candidates[0]]
    values = pd.to_numeric(column, errors="coerce")
    if str(column.name).lower() in FAULT_CODE_LABELS:
        if values.isna().any() or (values < 0).any():
            raise DataError(f"label column {column.name!r} must hold fault codes >= 0 (0: normal)")
        return (values > 0).rename(column.name)
    if values.isna().any() or not values.isin([0, 1]).all():
        raise DataError(f"label column {column.name!r} must hold only 0/1 values")
    return values.astype(bool)


def check_nan_policy(policy: str | None) -> None:
    """ConfigError unless ``policy`` is None or one of :data:`anomaly.scaling.NAN_POLICIES`."""
    if policy is not None and policy not in NAN_POLICIES:
        raise ConfigError(f"--nan-policy {policy!r} is not one of {list(NAN_POLICIES)}")


def is_log(path: Path) -> bool:
    """A file or folder that :func:`pipelines.sources.read_table` reads as one log."""
    if is_topic_log(path):
        return True
    try:
        file_kind(path)
    except DataError:
        return False
    return path.is_file()


def resolve_logs(specs: Iterable[str | Path]) -> list[Path]:
    """The logs named by files, folders and (quoted) glob patterns, for ``anomaly fit``.

    Parameters
    ----------
    specs : iterable of str or Path
        A file name is taken as it is (its format is checked when it is read); a ROS 2
        bag folder or rostopic CSV folder is one log; another folder gives the CSV, Parquet,
        ``.bag`` and ``.mcap`` files (and bag or rostopic folders) directly in it; a pattern
        with ``*``, ``?`` or ``[`` gives the logs it matches.

    Returns
    -------
    list of Path
        Sorted within each folder or pattern, in spec order, without duplicates.

    Raises
    ------
    DataError
        A missing file or folder, or a folder or pattern that names no log.
    """
    found: dict[Path, None] = {}
    for spec in specs:
        path = Path(spec)
        if path.is_dir() and is_topic_log(path):
            found[path] = None
            continue
        if path.is_dir():
            logs = sorted(p for p in path.iterdir() if is_log(p))
            where = "in this folder (CSV, Parquet, ROS bags, rostopic folders, ULog files)"
        elif path.exists():
            found[path] = None
            continue
        elif not _GLOB_CHARS & set(str(spec)):
            raise DataError(f"{spec}: no such file or folder")
        else:
            logs = sorted(Path(p) for p in glob.glob(str(spec)) if is_log(Path(p)))
            where = "match this pattern" if not glob.glob(str(spec)) else "among the files this pattern matches"
        if not logs:
            raise DataError(f"{spec}: no logs {where}")
        found.update(dict.fromkeys(logs))
    return list(found)


def read_log(path: str | Path, *, timestamp: str | None, nan_policy: str | None, topics=(), rate_hz=None,
             label_column: str | None = None, ignore=()) -> Table:
    """:func:`pipelines.sources.read_table`, dropping the rows before every channel has a value
    when ``nan_policy`` fills gaps (``ffill``/``interpolate``; counted in
    ``metadata["leading_rows_dropped"]``); ``label_column`` is split off with the known label
    columns, the ``ignore`` columns (not channels: ``fit --ignore``, a model's
    ``schema_.ignored``) are dropped where present."""
    path = Path(path)
    table_file = not is_topic_log(path)
    drop = nan_policy in FILLING_POLICIES and table_file
    labels = LABEL_COLUMNS + ((label_column,) if label_column else ())
    return read_table(path, timestamp=timestamp, topics=topics, rate_hz=rate_hz, drop_leading=drop, label_columns=labels,
                      exclude=tuple(ignore) if table_file else ())


def read_log_runs(path: str | Path, runs: str | None, *, timestamp: str | None, nan_policy: str | None, topics=(), rate_hz=None,
                  label_column: str | None = None, ignore=(), required: bool = True) -> list[Run]:
    """One log's runs: with ``runs``, one :class:`~pipelines.sources.Run` per value of that
    column of a CSV or Parquet file (:func:`pipelines.sources.read_runs`; a file without the
    column is one run of value None unless ``required``); without, the log :func:`read_log`
    reads (any input) as one run of value None. Leading rows are dropped per run under a
    filling NaN policy (``positions`` still count them)."""
    if runs is None:
        table = read_log(path, timestamp=timestamp, nan_policy=nan_policy, topics=topics, rate_hz=rate_hz,
                         label_column=label_column, ignore=ignore)
        return [Run(None, np.arange(table.metadata.get("leading_rows_dropped", 0) + len(table.frame)), table)]
    if topics or rate_hz is not None:
        raise ConfigError("--runs applies to CSV and Parquet files, not to --topic/--rate inputs")
    labels = LABEL_COLUMNS + ((label_column,) if label_column else ())
    return read_runs(path, runs, timestamp=timestamp, label_columns=labels, exclude=tuple(ignore),
                     drop_leading=nan_policy in FILLING_POLICIES, required=required)


def model_runs(model: Path) -> str | None:
    """The run column a saved model was fitted with (``fit --runs``), read from its
    ``detector.json`` without loading it; None without one (or when the file cannot be read:
    loading the model reports that)."""
    path = Path(model) / ("detector" if is_supervised(model) else "") / "detector.json"
    try:
        return json.loads(path.read_text())["schema"].get("runs")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def ignored_columns(spec: str | None) -> tuple[str, ...]:
    """The column names of ``fit --ignore a,b`` (none for None).

    Raises
    ------
    ConfigError
        An empty name (``a,,b``) or one named twice.
    """
    if spec is None:
        return ()
    names = tuple(name.strip() for name in spec.split(","))
    if not all(names):
        raise ConfigError(f"--ignore {spec!r}: an empty column name")
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ConfigError(f"--ignore {spec!r}: {twice} named twice")
    return names


def check_ignored_found(ignored: tuple[str, ...], tables: list[Table]) -> None:
    """DataError for an ``--ignore`` column that none of the logs ``tables`` has (a misspelt name)."""
    found = {name for table in tables for name in table.metadata.get("excluded", ())}
    missing = [name for name in ignored if name not in found]
    if missing:
        raise DataError(f"--ignore: column(s) {missing} in none of the logs ({', '.join(t.source for t in tables[:3])}"
                        f"{', ...' if len(tables) > 3 else ''})")


def record_ignored(model, ignored: tuple[str, ...], runs: str | None = None) -> None:
    """Record ``fit --ignore``'s columns and ``fit --runs``'s column in a fitted model's schema
    (a supervised head's detector's); the run column is one of the ignored ones too."""
    if runs is not None and runs not in ignored:
        ignored = (*ignored, runs)
    if ignored:
        fitted = getattr(model, "detector_", model)
        fitted.schema_ = replace(fitted.schema_, ignored=tuple(ignored), runs=runs)


def leading_note(source, dropped: int) -> str | None:
    """The one-line stderr note for rows dropped before every channel had a value (None for 0)."""
    if not dropped:
        return None
    return f"note: {source}: dropped {dropped} leading row{'s' if dropped != 1 else ''} before every channel had a value"


def load_model(model: Path, engine: str, nan_policy: str | None = None):
    """The saved detector, its NaN policy replaced by ``nan_policy`` when given."""
    check_nan_policy(nan_policy)
    det = load(model, engine=engine)
    if nan_policy is not None:
        getattr(det, "detector_", det).set_params(nan_policy=nan_policy)  # a supervised head's is its detector's
    return det


def load_and_score(data: Path, model: Path, timestamp: str | None, engine: str, *, step, topics=(), rate_hz=None,
                   nan_policy: str | None = None):
    """Load ``model``, read ``data`` whole and score it: ``(det, table, errors, scores, flags)``.

    ``nan_policy`` replaces the model's; under a filling policy the rows before every channel
    has a value are dropped (``table.metadata["leading_rows_dropped"]``).
    """
    step(f"loading model {model}")
    det = load_model(model, engine, nan_policy)
    return (det, *read_and_score(det, data, timestamp, step=step, topics=topics, rate_hz=rate_hz))


def read_and_score(det, data: Path, timestamp: str | None, *, step, topics=(), rate_hz=None):
    """Read ``data`` whole and score it with a loaded model: ``(table, errors, scores, flags)``."""
    step(f"reading {data}")
    table = read_log(data, timestamp=timestamp, nan_policy=det.nan_policy, topics=topics, rate_hz=rate_hz,
                     label_column=getattr(det, "label_column", None), ignore=det.schema_.ignored)
    step(f"scoring {len(table.frame)} rows")
    errors, scores, flags = det.evaluate_frame(table.frame, source=str(data))
    return table, errors, scores, flags


def channel_names(channels: list[str]) -> str:
    """The first :data:`SHOWN_CHANNELS` names, and how many more."""
    shown = channels[:SHOWN_CHANNELS]
    more = f" and {len(channels) - SHOWN_CHANNELS} more" if len(channels) > SHOWN_CHANNELS else ""
    return f"{shown}{more}"


def check_same_channels(frames: list[pd.DataFrame], sources: list[str]) -> None:
    """SchemaError naming the first log whose channels differ from the first log's, and how."""
    first = list(frames[0].columns)
    for frame, source in zip(frames[1:], sources[1:]):
        columns = list(frame.columns)
        missing = [c for c in first if c not in columns]
        extra = [c for c in columns if c not in first]
        if missing or extra:
            parts = ([f"lacks {channel_names(missing)}"] if missing else []) + ([f"has {channel_names(extra)} besides"] if extra else [])
            raise SchemaError(f"{source}: channels differ from those of {sources[0]}: it {' and '.join(parts)}; "
                              "all logs of one model need the same channels")
