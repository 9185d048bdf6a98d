"""Readers for logged sensor files: CSV (any common delimiter, optionally gzipped), Parquet,
ROS bags and MCAP, and folders of ``rostopic echo -p`` CSV files.

:func:`read_table` returns a :class:`Table`: the channel frame (index = timestamps when a
timestamp column is found, else row numbers) and, separately, any label columns it
recognised. An index that ``DataFrame.to_parquet`` stored (:func:`stored_index_columns`) is
read back as a column, looked at first for the timestamps, and never taken as a channel.
Structural problems (missing file, empty file, unparseable timestamps, unsorted/duplicate
timestamps, non-numeric cells) raise :class:`~anomaly.errors.DataError`
with the file name in the message. NaN/inf are left for the detector's NaN policy, except
that ``drop_leading=True`` drops the rows before every channel has had a value (counted in
``Table.metadata``). ROS bags and MCAP files (recognised by :func:`pipelines.rosbag.is_bag`)
are read and aligned by :func:`pipelines.rosbag.read_bag`, rostopic folders (recognised by
:func:`pipelines.rostopic.is_rostopic_folder`) by :func:`pipelines.rostopic.read_rostopic_folder`.
"""

from __future__ import annotations

import csv
import gzip
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from anomaly.errors import ConfigError, DataError
from anomaly.schema import check_structure
from pipelines.preprocess import drop_leading_rows
from pipelines.rosbag import is_bag, read_bag
from pipelines.rostopic import ROSTOPIC_TIME, is_rostopic_folder, read_rostopic_folder
from pipelines.ulog import is_ulog, read_ulog

#: Column names treated as labels, not channels (case-insensitive). ``field.data`` is the
#: failure-status topic of ALFA's merged flight files (0 before a fault, the fault code after);
#: ``fault``, ``failure`` (and ``is_`` forms) are a fault flag or code the same way.
LABEL_COLUMNS = ("is_anomaly", "anomaly", "label", "labels", "fault_type", "fault_channels", "changepoint", "field.data",
                 "fault", "is_fault", "failure", "is_failure")
#: Column names recognised as the timestamp column (case-insensitive); ``%time`` is the
#: column ``rostopic echo -p`` writes. Numbers in it are times as
#: :func:`anomaly.schema.time_ns` reads them (epoch units by their size, fractions as seconds).
TIMESTAMP_NAMES = ("timestamp", "time", "datetime", "date", "ts", "stamp", "time_s", "t", ROSTOPIC_TIME,
                   "time_ms", "time_us", "time_ns", "timestamp_s", "timestamp_ms", "timestamp_us", "timestamp_ns",
                   "unix_time", "epoch", "epoch_s", "epoch_ms", "epoch_us", "epoch_ns", "header.stamp", "field.header.stamp")
FORMATS = (".csv", ".txt", ".tsv", ".parquet", ".pq")


@dataclass(frozen=True)
class Table:
    """A file's content split into channels and labels.

    Attributes
    ----------
    frame : pandas.DataFrame of shape (n_steps, n_channels)
        Channel columns only; index = timestamps or a RangeIndex.
    labels : pandas.DataFrame of shape (n_steps, n_label_columns)
        Recognised label columns (may have zero columns), same index.
    source : str
        The path the table was read from.
    metadata : dict
        JSON-ready facts about how the table was made: for a bag or rostopic folder,
        ``{"alignment": AlignmentReport.to_dict()}``; with ``drop_leading``,
        ``{"leading_rows_dropped": n}``; the ``exclude`` columns the file had, ``{"excluded":
        [names]}``; empty otherwise.
    """

    frame: pd.DataFrame
    labels: pd.DataFrame
    source: str
    metadata: dict = field(default_factory=dict)


def is_gzip(path: Path) -> bool:
    """True for a ``.gz`` file name (``run.csv.gz``)."""
    return path.suffix.lower() == ".gz"


def read_head(path: Path, size: int = 16384) -> str:
    """The first ``size`` characters of a text file, gunzipped when it ends in ``.gz``.

    Raises
    ------
    DataError
        A ``.gz`` file that is not gzip data (or is truncated before ``size`` characters).
    """
    try:
        if is_gzip(path):
            with gzip.open(path, "rt", newline="", encoding="utf-8", errors="replace") as handle:
                return handle.read(size)
        with open(path, newline="", encoding="utf-8", errors="replace") as handle:
            return handle.read(size)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataError(f"{path}: cannot read ({type(exc).__name__}: {str(exc).splitlines()[0][:200] if str(exc) else 'corrupt'})") from None


@dataclass(frozen=True)
class CsvDialect:
    """How a CSV file is written (:func:`sniff_csv`).

    Attributes
    ----------
    delimiter : str
        ``,`` ``;`` tab, ``|`` or a space.
    decimal : str
        ``.``, or ``,`` (``1,25``: European spreadsheet and logger exports, never with ``,`` as the delimiter).
    units_row : bool
        A line of units (``s;A;degC``) follows the header: skipped.
    """

    delimiter: str = ","
    decimal: str = "."
    units_row: bool = False


#: Data lines :func:`sniff_csv` looks at.
DIALECT_LINES = 20
#: A number written with a decimal comma (``-1,25``, ``3,5e-3``).
COMMA_NUMBER = re.compile(r"^\s*[+-]?\d+,\d+(?:[eE][+-]?\d+)?\s*$")
_DOT_NUMBER = re.compile(r"^\s*[+-]?(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$")
_NUMBER_START = re.compile(r"^\s*[+-]?[\d.,]")


#: Delimiters sniffed from a CSV header line (:func:`header_delimiter`).
DELIMITERS = ",;\t|"


def is_topic_log(path: str | Path) -> bool:
    """A log of topics at their own rates that :func:`read_table` aligns on one grid (read whole,
    never in chunks): a ROS bag or MCAP file, a rostopic CSV folder or a PX4 ULog file."""
    return is_bag(path) or is_rostopic_folder(path) or is_ulog(path)


def header_delimiter(line: str) -> str:
    """The delimiter of a CSV header ``line``: one of :data:`DELIMITERS` as sniffed, else a space
    when spaces separate the names (Universal Robots' RTDE ``record.py`` writes its logs so:
    ``timestamp actual_q_0 actual_q_1 ...``), else ``,``."""
    try:
        return csv.Sniffer().sniff(line, delimiters=DELIMITERS).delimiter
    except csv.Error:
        return " " if " " in line.strip() else ","


def sniff_csv(path: Path) -> CsvDialect:
    """The :class:`CsvDialect` of a CSV file from its first lines; gzip is read through.

    The delimiter is sniffed from the header line (:func:`header_delimiter`). The decimal mark is ``,`` when the delimiter
    is not and the first :data:`DIALECT_LINES` data lines hold numbers written ``1,25`` and none
    written ``1.25``. A units row is a first data line with a non-empty cell and no cell that
    starts like a number or a date (``s;A;degC``), followed by a line with a number.

    Raises
    ------
    DataError
        An empty or unreadable file, or one whose columns are aligned with runs of spaces.
    """
    head = read_head(path)
    if not head.strip():
        raise DataError(f"{path}: empty file")
    lines = head.splitlines()
    delimiter = header_delimiter(lines[0])
    whole = lines[1 : DIALECT_LINES + 1] if len(lines) > DIALECT_LINES + 1 else lines[1:-1]  # the last may be cut off
    rows = [row for row in csv.reader(whole, delimiter=delimiter) if any(cell.strip() for cell in row)]
    header = next(csv.reader(lines[:1], delimiter=delimiter))  # as the rows: a quoted name may hold a space
    if delimiter == " " and any(len(row) != len(header) for row in rows):
        raise DataError(f"{path}: columns separated by runs of spaces (aligned text) are not read; write one delimiter "
                        "between cells (a comma, a semicolon, a tab or a single space)")
    units = (len(rows) >= 2 and not any(_NUMBER_START.match(cell) for cell in rows[0])
             and any(_NUMBER_START.match(cell) for cell in rows[1]))
    cells = [cell for row in rows[int(units):] for cell in row]
    comma = delimiter != "," and any(map(COMMA_NUMBER.match, cells)) and not any(map(_DOT_NUMBER.match, cells))
    return CsvDialect(delimiter, "," if comma else ".", units)


def read_csv(path: Path, dialect: CsvDialect | None = None) -> pd.DataFrame:
    """A CSV file read whole as its :class:`CsvDialect` (sniffed when not given) says."""
    dialect = dialect or sniff_csv(path)
    return pd.read_csv(path, sep=dialect.delimiter, decimal=dialect.decimal, skiprows=[1] if dialect.units_row else None)


def stored_index_columns(pandas_metadata: dict | None) -> list[str]:
    """Names of the columns in which ``DataFrame.to_parquet`` stored the frame's index.

    A named index is stored under its name (``timestamp``), an unnamed one as
    ``__index_level_0__``; a RangeIndex is only described in the metadata, so it gives none.

    Parameters
    ----------
    pandas_metadata : dict or None
        ``pyarrow.Schema.pandas_metadata`` of the file (None when pandas did not write it).

    Returns
    -------
    list of str
        In index-level order; empty when no index column is stored.
    """
    return [c for c in (pandas_metadata or {}).get("index_columns", []) if isinstance(c, str)]


def _read_parquet(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The file with its stored index columns (if any) as the first columns, and their names."""
    frame = pd.read_parquet(path)
    stored = stored_index_columns(pq.read_schema(path).pandas_metadata)
    if not stored:
        return frame, []
    return frame.set_axis(frame.index.set_names(stored)).reset_index(), stored


def _read_raw(path: Path) -> tuple[pd.DataFrame, list[str]]:
    """The file as a frame, and the names of the columns that hold a stored index (Parquet)."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; use one of {list(FORMATS)}")
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        if suffix in (".parquet", ".pq"):
            if path.stat().st_size == 0:
                raise DataError(f"{path}: empty file")
            return _read_parquet(path)
        return read_csv(path), []
    except DataError:
        raise
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: empty file") from None
    except (pd.errors.ParserError, UnicodeDecodeError, OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{path}: cannot parse ({first})") from None
    except Exception as exc:  # pyarrow raises its own types for corrupted files
        raise DataError(f"{path}: cannot read ({type(exc).__name__}: {str(exc).splitlines()[0][:200]})") from None


def timestamp_column(raw: pd.DataFrame, requested: str | None, path: Path) -> str | None:
    if requested is not None:
        if requested not in raw.columns:
            raise DataError(f"{path}: timestamp column {requested!r} not found; columns are {list(raw.columns)[:10]}")
        return requested
    for column in raw.columns:
        if str(column).lower() in TIMESTAMP_NAMES or pd.api.types.is_datetime64_any_dtype(raw[column]):
            return column
    return None


#: Names (case-insensitive) of a date column and a time-of-day column that together are the
#: timestamp (``Date;Time;...``, as HMI and PLC exports write them): :func:`date_and_time`.
DATE_NAMES = ("date", "datum")
TIME_OF_DAY_NAMES = ("time", "uhrzeit", "zeit")


def date_and_time(names: Sequence[str], first_value) -> tuple[str, str] | None:
    """``(date column, time-of-day column)`` when ``names`` hold one of each
    (:data:`DATE_NAMES`, :data:`TIME_OF_DAY_NAMES`) and the date column's first value
    (``first_value(name)``, asked only then) is a date without a time of day (text or a date, no
    ``:``); else None."""
    lower = [str(n).lower() for n in names]
    date = next((n for n, low in zip(names, lower) if low in DATE_NAMES), None)
    time = next((n for n, low in zip(names, lower) if low in TIME_OF_DAY_NAMES), None)
    if date is None or time is None:
        return None
    value = first_value(date)
    if value is None or isinstance(value, (int, float, np.number)) or pd.isna(value) or ":" in str(value):
        return None
    return date, time


def joined_date_time(date: pd.Series, time: pd.Series) -> pd.Series:
    """``"<date> <time>"`` per row (text; missing where either is), the timestamp of :func:`date_and_time`'s columns."""
    joined = date.astype(str).str.strip() + " " + time.astype(str).str.strip()
    return joined.where(date.notna() & time.notna()).astype(object)


#: A timestamp written day first with dots (``13.01.2026 08:00:00``, as German, Scandinavian and
#: Eastern European exports write them) is parsed day first.
_DOTTED_DATE = re.compile(r"^\s*\d{1,2}\.\d{1,2}\.\d{2,4}(?:\s|$)")


def parse_datetimes(column: pd.Series) -> pd.Series:
    """Timestamps (datetime64, NaT where unparseable) of a text ``column``, in any format pandas
    reads; dotted dates (:data:`_DOTTED_DATE`, by the first value) day first, so that a log
    spanning 1 to 13 January is not read as 1 January to 1 December with the 13th in between."""
    first = column.dropna()
    dayfirst = bool(len(first)) and bool(_DOTTED_DATE.match(str(first.iloc[0])))
    return pd.to_datetime(column, errors="coerce", format="mixed", dayfirst=dayfirst)


def timestamp_index(column: pd.Series, path: Path) -> pd.Index:
    """The index of a timestamp ``column``: datetimes (parsed from text), or its numbers; DataError on an unparseable value."""
    if pd.api.types.is_datetime64_any_dtype(column):
        return pd.DatetimeIndex(column, name="timestamp")
    if pd.api.types.is_numeric_dtype(column):
        return pd.Index(column.to_numpy(), name=str(column.name))
    parsed = parse_datetimes(column)
    bad = parsed.isna() & column.notna()
    if bad.any() or parsed.isna().any():
        row = int((bad | parsed.isna()).to_numpy().argmax())
        raise DataError(f"{path}: timestamp column {column.name!r} has an unparseable value {column.iloc[row]!r} at row {row}")
    return pd.DatetimeIndex(parsed, name="timestamp")


def read_table(
    path: str | Path,
    *,
    timestamp: str | None = None,
    label_columns=LABEL_COLUMNS,
    exclude=(),
    topics: Sequence[str] = (),
    rate_hz: float | None = None,
    drop_leading: bool = False,
) -> Table:
    """Read a CSV, Parquet, ROS bag, MCAP or PX4 ULog file, or a rostopic CSV folder, of sensor data.

    Parameters
    ----------
    path : str or Path
        ``.csv``/``.txt``/``.tsv`` (delimiter sniffed: ``,`` ``;`` tab ``|``; may be gzipped,
        ``run.csv.gz``), ``.parquet``, a ROS 1 ``.bag``, ROS 2 bag folder or ``.mcap`` file,
        a folder of ``rostopic echo -p`` CSV files or a PX4 ``.ulg`` flight log (topics aligned
        on one grid, no labels; ``timestamp`` and ``exclude`` do not apply).
    timestamp : str, optional
        Name of the timestamp column. By default the first column named like a timestamp
        (see :data:`TIMESTAMP_NAMES`) or of datetime type is used, a Parquet file's stored
        index (:func:`stored_index_columns`) before the other columns; without one, rows are
        numbered.
    label_columns : sequence of str
        Column names (case-insensitive) split off into :attr:`Table.labels`.
    exclude : sequence of str
        Further columns to drop where present: columns that are not channels (a state name, a
        sequence number; a model's :attr:`~anomaly.schema.Schema.ignored` columns).
    topics : sequence of str
        Bags, rostopic folders and ULog files only: topic selections (see
        :func:`pipelines.rosbag.parse_topic`; default: every topic of a supported type in a
        bag, every topic in a rostopic folder, :data:`pipelines.ulog.DEFAULT_FIELDS` of a ULog file).
    rate_hz : float, optional
        Bags, rostopic folders and ULog files only: grid rate (default: the fastest topic's timestamps).
    drop_leading : bool, default=False
        Drop the rows before every channel has had a value (a topic's first message arrives
        late: the first rows are empty in its columns), counted in
        ``metadata["leading_rows_dropped"]``; see
        :func:`pipelines.preprocess.drop_leading_rows`. Off, they are left to the NaN policy
        (``ffill`` fills them backward from the first value, ``raise`` rejects them).

    Returns
    -------
    Table
    """
    path = Path(path)
    if is_bag(path):
        if timestamp is not None or exclude:
            raise ConfigError(f"{path}: timestamp and exclude do not apply to bags (select channels with topics)")
        frame, report = read_bag(path, topics, rate_hz=rate_hz)
        return Table(frame, pd.DataFrame(index=frame.index), str(path), {"alignment": report.to_dict()})
    if is_rostopic_folder(path):
        if timestamp not in (None, ROSTOPIC_TIME) or exclude:
            raise ConfigError(f"{path}: timestamp and exclude do not apply to rostopic folders (select channels with topics)")
        frame, report = read_rostopic_folder(path, topics, rate_hz=rate_hz)
        return Table(frame, pd.DataFrame(index=frame.index), str(path), {"alignment": report.to_dict()})
    if is_ulog(path):
        if timestamp is not None or exclude:
            raise ConfigError(f"{path}: timestamp and exclude do not apply to ULog files (select channels with topics)")
        frame, report = read_ulog(path, topics, rate_hz=rate_hz)
        return Table(frame, pd.DataFrame(index=frame.index), str(path), {"alignment": report.to_dict()})
    if topics or rate_hz is not None:
        raise ConfigError(f"{path}: topics and rate apply only to ROS bags, MCAP files, rostopic folders and PX4 ULog files")
    frame, labels, excluded, _ = _file_parts(path, timestamp, label_columns, exclude)
    return _checked(frame, labels, str(path), {"excluded": excluded} if excluded else {}, drop_leading)


def _checked(frame: pd.DataFrame, labels: pd.DataFrame, source: str, metadata: dict, drop_leading: bool) -> Table:
    """The Table of a file's (or a run's) channels and labels, its structure checked."""
    check_structure(frame, source=source)
    if not drop_leading:
        return Table(frame, labels, source, metadata)
    frame, dropped = drop_leading_rows(frame)
    return Table(frame, labels.iloc[dropped:], source, {**metadata, "leading_rows_dropped": dropped})


def _file_parts(path: Path, timestamp: str | None, label_columns, exclude, runs: str | None = None, required: bool = True
                ) -> tuple[pd.DataFrame, pd.DataFrame, list[str], pd.Series | None]:
    """A CSV or Parquet file's channels (n, c) and label columns (n, l) on its timestamps (not yet
    checked), the ``exclude`` columns it had, and its ``runs`` column (n,) when one is named and
    there (a missing one is an error when ``required``)."""
    if path.is_dir():
        raise DataError(f"{path}: is a folder, not a ROS 2 bag or a folder of rostopic CSV files; name its files")
    raw, stored_index = _read_raw(path)
    if raw.shape[0] == 0:
        raise DataError(f"{path}: no data rows")
    excluded = [str(c) for c in raw.columns if str(c) in set(exclude) and str(c) != runs]
    raw = raw.drop(columns=excluded)
    run = None
    if runs is not None and (required or runs in raw.columns):
        if runs not in raw.columns:
            raise DataError(f"{path}: --runs {runs!r}: no such column among {[str(c) for c in raw.columns][:12]}")
        if runs in (timestamp, timestamp_column(raw, timestamp, path)):
            raise ConfigError(f"--runs {runs!r} is the timestamp column; name the column that tells the runs apart")
        run = raw[runs].reset_index(drop=True)
        raw = raw.drop(columns=[runs])
        if run.isna().any():
            raise DataError(f"{path}: run column {runs!r} has an empty cell at row {int(run.isna().to_numpy().argmax())}")
    ts = timestamp_column(raw, timestamp, path)
    split = date_and_time(list(raw.columns), lambda name: raw[name].iloc[0]) if timestamp is None else None
    if split:
        ts, time = split
        raw = raw.assign(**{ts: joined_date_time(raw[ts], raw[time])}).drop(columns=[time])
    raw = raw.drop(columns=[c for c in stored_index if c != ts and c in raw.columns])  # a stored row number is no channel
    index = timestamp_index(raw[ts], path) if ts is not None else pd.RangeIndex(len(raw))
    body = raw.drop(columns=[ts]) if ts is not None else raw
    body.index = index
    wanted = {name.lower() for name in label_columns}
    is_label = [str(c).lower() in wanted for c in body.columns]
    frame = body.loc[:, [not flag for flag in is_label]]
    frame.columns = [str(c) for c in frame.columns]
    return frame, body.loc[:, is_label], excluded, run


@dataclass(frozen=True)
class Run:
    """One run of a file that holds several (:func:`read_runs`).

    Attributes
    ----------
    value : object
        The run column's value for this run (a unit number, an episode name).
    positions : ndarray of int, shape (n_i,)
        The run's rows' positions in the file, in file order.
    table : Table
        The run's channels and labels on its own timestamps; source ``"<file> [<column>=<value>]"``.
    """

    value: object
    positions: np.ndarray
    table: Table


def read_runs(path: str | Path, runs: str, *, timestamp: str | None = None, label_columns=LABEL_COLUMNS, exclude=(),
              drop_leading: bool = False, required: bool = True) -> list[Run]:
    """Read a CSV or Parquet file that holds several runs, told apart by the column ``runs``: a
    unit, episode, cycle or session number whose clock restarts (NASA's turbofan files, a
    test-bench export of several cycles, the logs of several robots interleaved in one file).

    Each run is the file's rows with one value of ``runs``, in file order (its rows need not be
    contiguous); its timestamps are checked within the run only (sorted, no duplicates). The
    other parameters are :func:`read_table`'s (``drop_leading`` per run); a file without the
    column is one run of value None unless ``required``.

    Returns
    -------
    list of Run
        In the order of the runs' first rows.

    Raises
    ------
    DataError
        The column is missing or has an empty cell; a run's rows fail :func:`read_table`'s checks.
    ConfigError
        ``runs`` names the timestamp column, or the input is a bag, rostopic folder or ULog file.
    """
    path = Path(path)
    if is_bag(path) or is_rostopic_folder(path) or is_ulog(path):
        raise ConfigError(f"{path}: --runs applies to CSV and Parquet files (a bag or a topic folder is one run)")
    frame, labels, excluded, run = _file_parts(path, timestamp, label_columns, exclude, runs, required)
    metadata = {"excluded": excluded} if excluded else {}
    if run is None:
        return [Run(None, np.arange(len(frame)), _checked(frame, labels, str(path), metadata, drop_leading))]
    codes, values = pd.factorize(run, sort=False)  # in the order of first appearance
    found = []
    for code, value in enumerate(values):
        positions = np.flatnonzero(codes == code)
        value = value.item() if hasattr(value, "item") else value
        source = f"{path} [{runs}={value}]"
        found.append(Run(value, positions, _checked(frame.iloc[positions], labels.iloc[positions], source, metadata, drop_leading)))
    return found
