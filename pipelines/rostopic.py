"""Folders of ``rostopic echo -p`` CSV files: one file per topic, aligned on one grid.

``rostopic echo -p /topic > file.csv`` writes one row per message: ``%time`` (the time the
message was received, integer nanoseconds since the Unix epoch) and one ``field.<path>``
column per message field (``field.header.stamp``, ``field.orientation.x``, ...; arrays as
``field.channels0``, ``field.channels1``, ...). A folder of such files (``.csv`` or
``.csv.gz``) is read as one log:

* **topic names** come from the file names: the part every file name shares up to a ``-``
  (the bag name, as ``rostopic`` dumps are usually named ``<bag>-<topic>.csv``) is removed
  and the remaining ``-`` become ``/`` (ROS names contain no ``-``):
  ``flight-mavros-imu-data.csv.gz`` -> ``/mavros/imu/data``. A folder with one file takes its
  whole name.
* **channels** are the numeric fields, named ``<topic>/<field path>`` as the bag reader names
  them (``/mavros/imu/data/orientation.x``). Left out: ``header.*`` (sequence numbers and
  stamps), fields that are not a number in every message (text such as ``frame_id`` or a
  flight mode, or an array whose length varies) and, unless named in a topic selection,
  ``*covariance*`` fields (the sensor's declared uncertainty, not a measurement; the bag
  reader leaves them out of IMU topics too).
* **time**: ``%time``, a tz-naive UTC :class:`~pandas.DatetimeIndex`.
* the topics are put on one grid by :func:`pipelines.preprocess.align_topics` (as ROS bags
  are), and ``topics`` / ``rate_hz`` mean what they mean for bags (``/topic`` or
  ``/topic:field.path[,field.path]``, see :func:`pipelines.rosbag.parse_topic`).

A folder is recognised (:func:`is_rostopic_folder`) when one of its CSV files has a ``%time``
column whose first value is an integer. Every topic file read must then be one: an empty or
unparseable topic file is a :class:`~anomaly.errors.DataError` naming it.
"""

from __future__ import annotations

import gzip
import logging
import os
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError, SchemaError
from pipelines.preprocess import AlignmentReport, align_topics
from pipelines.rosbag import TopicSelection, parse_topic

log = logging.getLogger(__name__)

#: The time column ``rostopic echo -p`` writes (receive time, integer nanoseconds).
ROSTOPIC_TIME = "%time"
#: Prefix of every message field column.
FIELD_PREFIX = "field."
#: File names read as topic files.
CSV_SUFFIXES = (".csv", ".csv.gz")
#: Field paths never turned into channels (message bookkeeping, not measurements).
SKIPPED_FIELDS = ("header.",)
#: Fields containing this are read only when a topic selection names them.
COVARIANCE = "covariance"


def topic_files(folder: str | Path) -> list[Path]:
    """The ``.csv`` / ``.csv.gz`` files directly in ``folder``, sorted by name (empty if not a folder)."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.name.lower().endswith(CSV_SUFFIXES))


def _first_lines(path: Path, size: int = 65536) -> list[str]:
    """Up to two lines (header and first row) of a text file, gunzipped for ``.gz``; [] if unreadable."""
    try:
        opener = gzip.open if path.name.lower().endswith(".gz") else open
        with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
            text = handle.read(size)
    except (OSError, EOFError, zlib.error):
        return []
    return text.splitlines()[:2]


def is_rostopic_file(path: str | Path) -> bool:
    """True when the file's header starts with ``%time`` and its first value (if any) is an integer."""
    lines = _first_lines(Path(path))
    if not lines or lines[0].split(",")[0].strip() != ROSTOPIC_TIME:
        return False
    if len(lines) < 2:
        return True  # a header only: an empty topic, reported when the folder is read
    return lines[1].split(",")[0].strip().isdigit()


def is_rostopic_folder(path: str | Path) -> bool:
    """True for a folder in which some CSV file is a ``rostopic echo -p`` dump (:func:`is_rostopic_file`
    with at least one message).

    A folder of merged logs whose ``%time`` holds dates (ALFA's flights) is not one.
    """
    for file in topic_files(path):
        lines = _first_lines(file)
        if len(lines) == 2 and is_rostopic_file(file):
            return True
    return False


def _stem(path: Path) -> str:
    name = path.name
    for suffix in sorted(CSV_SUFFIXES, key=len, reverse=True):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return path.stem


def topic_names(files: Sequence[Path]) -> dict[str, Path]:
    """Topic name per file (see the module docstring), in file order.

    Raises
    ------
    DataError
        If two files give the same topic name.
    """
    stems = [_stem(f) for f in files]
    cut = 0
    if len(stems) > 1:
        prefix = os.path.commonprefix(stems)
        cut = prefix.rfind("-") + 1  # up to and including the last "-" they share
        if any(len(s) <= cut for s in stems):
            cut = 0
    names: dict[str, Path] = {}
    for stem, file in zip(stems, files):
        topic = "/" + stem[cut:].replace("-", "/").strip("/")
        if topic in names:
            raise DataError(f"{file}: gives topic {topic!r}, as {names[topic].name} does; rename one")
        names[topic] = file
    return names


def _read_csv(path: Path) -> pd.DataFrame:
    """The file as pandas reads it; every failure is a DataError naming the file."""
    try:
        if path.stat().st_size == 0:
            raise DataError(f"{path}: empty topic file (no header, no messages)")
        return pd.read_csv(path, low_memory=False)
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty topic file (no header, no messages)") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, EOFError, ValueError, zlib.error) as exc:
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot parse topic file ({first})") from None


def _times(raw: pd.DataFrame, path: Path) -> pd.DatetimeIndex:
    """``%time`` as a DatetimeIndex; DataError unless it is strictly increasing integer nanoseconds."""
    if ROSTOPIC_TIME not in raw.columns:
        raise DataError(f"{path}: not a rostopic CSV file (no {ROSTOPIC_TIME} column; columns are {list(raw.columns)[:6]})")
    column = raw[ROSTOPIC_TIME]
    if not pd.api.types.is_integer_dtype(column):
        numbers = pd.to_numeric(column, errors="coerce")
        bad = numbers.isna() | (numbers != numbers.round())
        row = int(np.argmax(bad.to_numpy())) if bad.any() else 0
        raise DataError(f"{path}: {ROSTOPIC_TIME} must be integer nanoseconds; row {row} has {column.iloc[row]!r}")
    stamps = column.to_numpy(dtype=np.int64)
    steps = np.diff(stamps)
    if (steps <= 0).any():
        row = int(np.argmax(steps <= 0)) + 1
        kind = "repeats" if steps[row - 1] == 0 else "comes before"
        raise DataError(f"{path}: {ROSTOPIC_TIME} at row {row} ({stamps[row]}) {kind} the previous message's ({stamps[row - 1]})")
    return pd.DatetimeIndex(stamps.astype("datetime64[ns]"), name="timestamp")


def _numeric_fields(raw: pd.DataFrame) -> dict[str, str]:
    """Field path -> column of every field that is a number in every message (header fields left out)."""
    fields = {}
    for column in raw.columns:
        if not str(column).startswith(FIELD_PREFIX):
            continue
        path = str(column)[len(FIELD_PREFIX):]
        if path.startswith(SKIPPED_FIELDS):
            continue
        values = raw[column]
        if (pd.api.types.is_numeric_dtype(values) or pd.api.types.is_bool_dtype(values)) and values.notna().all():
            fields[path] = column
    return fields


def read_topic_file(path: str | Path, topic: str, fields: Sequence[str] = ()) -> pd.DataFrame:
    """Read one ``rostopic echo -p`` CSV file.

    Parameters
    ----------
    path : str or Path
        ``.csv`` or ``.csv.gz``.
    topic : str
        Topic name, the prefix of the channel names.
    fields : sequence of str
        Field paths to read (``orientation.x``; ``field.`` prefix optional). Default: every
        numeric field but the covariances (see the module docstring).

    Returns
    -------
    pandas.DataFrame of shape (n_messages, n_channels), float64
        Columns ``<topic>/<field path>``; index: DatetimeIndex ``timestamp`` (``%time``).

    Raises
    ------
    DataError
        Empty or unparseable file, ``%time`` missing, not integers or not increasing, or no
        numeric field.
    SchemaError
        A requested field that is missing or not numeric in every message.
    """
    path = Path(path)
    raw = _read_csv(path)
    if len(raw) == 0:
        raise DataError(f"{path}: empty topic file (a header, no messages)")
    index = _times(raw, path)
    numeric = _numeric_fields(raw)
    if fields:
        wanted = [f[len(FIELD_PREFIX):] if f.startswith(FIELD_PREFIX) else f for f in fields]
        for field in wanted:
            if field not in numeric:
                why = "is not a number in every message" if FIELD_PREFIX + field in raw.columns else "not found"
                raise SchemaError(f"{path}: topic {topic!r}: field {field!r} {why}; numeric fields are {sorted(numeric)}")
        numeric = {f: numeric[f] for f in wanted}
    else:
        numeric = {f: c for f, c in numeric.items() if COVARIANCE not in f}
        if not numeric:
            raise DataError(f"{path}: topic {topic!r} has no numeric field")
    values = raw[list(numeric.values())].to_numpy(dtype=np.float64)
    return pd.DataFrame(values, index=index, columns=[f"{topic}/{f}" for f in numeric])


def _selections(names: dict[str, Path], topics: Sequence[str], folder: Path) -> list[TopicSelection]:
    if not topics:
        return [TopicSelection(name) for name in names]
    chosen, seen = [], set()
    for spec in topics:
        selection = parse_topic(spec)
        name = "/" + selection.topic.strip("/")
        if name not in names:
            raise SchemaError(f"{folder}: topic {selection.topic!r} not found; the folder has {sorted(names)}")
        if name in seen:
            raise ConfigError(f"{folder}: topic {name!r} is selected twice; list its fields once, comma-separated")
        seen.add(name)
        chosen.append(TopicSelection(name, selection.fields))
    return chosen


def read_rostopic_topics(path: str | Path, topics: Sequence[str] = ()) -> dict[str, pd.DataFrame]:
    """Read a rostopic folder's topics, one frame per topic.

    Parameters
    ----------
    path : str or Path
        The folder.
    topics : sequence of str
        Topic selections ``/topic`` or ``/topic:field.path[,field.path]``. Default: every
        topic file; a topic without a numeric field is then left out (logged).

    Returns
    -------
    dict of str to pandas.DataFrame of shape (n_messages, n_channels), float64
        In selection (or file) order.

    Raises
    ------
    DataError
        Not a folder, no CSV file, an empty or unparseable topic file, no channel at all.
    SchemaError, ConfigError
        An unknown topic or field, a malformed selection.
    """
    folder = Path(path)
    files = topic_files(folder)
    if not files:
        raise DataError(f"{folder}: no .csv or .csv.gz topic files")
    names = topic_names(files)
    frames = {}
    for selection in _selections(names, topics, folder):
        file = names[selection.topic]
        try:
            frames[selection.topic] = read_topic_file(file, selection.topic, selection.fields)
        except DataError as exc:
            if topics or "has no numeric field" not in str(exc):
                raise
            log.info("%s", exc)
        else:
            log.info("%s: %s: %d messages x %d channels", folder, selection.topic, *frames[selection.topic].shape)
    if not frames:
        raise DataError(f"{folder}: no topic has a numeric field")
    return frames


def read_rostopic_folder(
    path: str | Path,
    topics: Sequence[str] = (),
    *,
    rate_hz: float | None = None,
    tolerance: float | dict[str, float] | None = None,
    gap_policy: str = "drop",
) -> tuple[pd.DataFrame, AlignmentReport]:
    """Read a folder of ``rostopic echo -p`` CSV files and align its topics on one time grid.

    :func:`read_rostopic_topics` then :func:`pipelines.preprocess.align_topics` (see both for
    the parameters).

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows, n_channels), float64
        Index: DatetimeIndex ``timestamp`` (UTC, tz-naive).
    report : AlignmentReport
    """
    frames = read_rostopic_topics(path, topics)
    return align_topics(frames, rate_hz, tolerance=tolerance, gap_policy=gap_policy, source=str(path))
