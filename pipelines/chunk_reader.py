"""Read a CSV or Parquet file as a stream of row chunks (pyarrow record batches).

:func:`open_chunks` is the streaming twin of :func:`pipelines.sources.read_table`: the same
file types, timestamp detection, label columns and CSV dialect (delimiter, decimal comma,
units row), but it yields
:class:`RawChunk` objects of at most ``chunk_rows`` rows, so memory does not grow with the
file. It does not validate cell contents: :class:`pipelines.chunk_checks.FileChecks` does,
with the whole-file path's messages and row numbers.

Parquet is read with ``pyarrow.parquet.ParquetFile.iter_batches``, one row group at a time
(only the timestamp and channel columns): memory is bounded by a row group (pyarrow writes at
most 1,048,576 rows per group by default) plus a chunk. CSV is read with ``pyarrow.csv.open_csv``: channel columns as float64 (as
pandas parses them), the timestamp column as text unless its first block is numeric. When a
later value does not fit (a word in a number column), pyarrow rejects its whole block; the
reader then reopens the file after the rows already delivered and reads the channels as
strings from there on, so the bad cells can be named and counted like the whole-file path does.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from anomaly.errors import DataError
from pipelines.sources import (
    FORMATS,
    LABEL_COLUMNS,
    CsvDialect,
    date_and_time,
    joined_date_time,
    sniff_csv,
    stored_index_columns,
    timestamp_column,
)

#: Rows per chunk when the caller does not say.
DEFAULT_CHUNK_ROWS = 65_536
#: Bytes pyarrow parses per CSV block (it infers column types from the first block).
CSV_BLOCK_BYTES = 1 << 20
#: Strings pandas' CSV reader turns into NaN (``pandas.read_csv`` defaults); pyarrow's own list lacks some.
NA_STRINGS = ["", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
              "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"]


@dataclass(frozen=True)
class RawChunk:
    """Consecutive rows of a file, unvalidated.

    Attributes
    ----------
    start : int
        0-based data row of the first row in the file.
    body : pandas.DataFrame of shape (n_rows, n_channels)
        Channel columns in file order (names as str), with a default RangeIndex.
    timestamps : pandas.Series of shape (n_rows,) or None
        The raw timestamp column, None when the file has none.
    """

    start: int
    body: pd.DataFrame
    timestamps: pd.Series | None


@dataclass
class ChunkStream:
    """An open file: iterate it for :class:`RawChunk` objects.

    Attributes
    ----------
    expected_rows : int or None
        Row count of the file: exact for Parquet, an estimate from the bytes read for CSV
        (updated while reading); for progress display only.
    """

    expected_rows: int | None
    _chunks: Iterator[RawChunk]

    def __iter__(self) -> Iterator[RawChunk]:
        return self._chunks


def file_kind(path: Path) -> str:
    """``"csv"`` or ``"parquet"`` by extension (``.gz`` looks at the inner one), else :class:`DataError`."""
    suffix = path.suffix.lower()
    if suffix == ".gz":
        suffix = Path(path.stem).suffix.lower()
    if suffix not in FORMATS:
        raise DataError(f"{path}: unsupported file type {path.suffix!r}; use one of {list(FORMATS)}")
    return "parquet" if suffix in (".parquet", ".pq") else "csv"


def row_count(path: str | Path) -> int | None:
    """Rows of a Parquet file from its footer; None for CSV (unknown without reading it) or unreadable files."""
    path = Path(path)
    try:
        return pq.ParquetFile(path).metadata.num_rows if file_kind(path) == "parquet" else None
    except Exception:  # the scoring run reports what is wrong with the file
        return None


def open_chunks(path: str | Path, *, timestamp: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                exclude=()) -> ChunkStream:
    """Open a CSV or Parquet file for streaming.

    Parameters
    ----------
    path : str or Path
    timestamp : str, optional
        Timestamp column; by default detected as :func:`pipelines.sources.read_table` does.
    chunk_rows : int
        Rows per chunk (the last one may be shorter).
    exclude : sequence of str
        Columns that are not channels, skipped where present (as ``read_table`` does).

    Raises
    ------
    DataError
        Missing, empty, unreadable or unsupported file; no data rows; unknown timestamp column.
    """
    path = Path(path)
    kind = file_kind(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    if kind == "parquet":
        return _open_parquet(path, timestamp, chunk_rows, tuple(exclude))
    return _open_csv(path, timestamp, chunk_rows, tuple(exclude))


def _unreadable(path: Path, exc: Exception) -> DataError:
    """The message :func:`pipelines.sources.read_table` gives for a file its reader rejects."""
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (UnicodeDecodeError, OSError, ValueError)):  # pyarrow's errors derive from these
        return DataError(f"{path}: cannot parse ({first})")
    return DataError(f"{path}: cannot read ({type(exc).__name__}: {first[:200]})")


def _split_columns(names: list[str], sample: pd.DataFrame, timestamp: str | None, path: Path,
                   stored_index: list[str] = (), exclude: tuple[str, ...] = (),
                   split: tuple[str, str] | None = None) -> tuple[str | None, list[str]]:
    """Timestamp column and channel columns (file order), with read_table's rules: ``sample``
    holds the columns in the order they are looked at for the timestamps; a stored index
    column is never a channel, nor an ``exclude`` one; ``split`` (:func:`~pipelines.sources.date_and_time`):
    its date column is the timestamp, its time column no channel."""
    ts = timestamp_column(sample.drop(columns=[c for c in sample.columns if str(c) in exclude]), timestamp, path)
    time = None
    if split:
        ts, time = split
    skip = {name.lower() for name in LABEL_COLUMNS}
    return ts, [n for n in names if n not in (ts, time) and n.lower() not in skip and n not in stored_index and n not in exclude]


def _rebatch(batches: Iterator[pa.RecordBatch], rows: int) -> Iterator[pa.Table]:
    """Regroup record batches into tables of ``rows`` rows (shorter at the end and where the
    column types change: a CSV read on as text)."""
    pending, size = [], 0
    for batch in batches:
        if pending and not batch.schema.equals(pending[0].schema):
            yield pa.Table.from_batches(pending)
            pending, size = [], 0
        pending.append(batch)
        size += batch.num_rows
        while size >= rows:
            table = pa.Table.from_batches(pending)
            yield table.slice(0, rows)
            rest = table.slice(rows)
            pending, size = rest.to_batches(), rest.num_rows
    if size:
        yield pa.Table.from_batches(pending)


def _chunks(tables: Iterator[pa.Table], ts: str | None, channels: list[str], time: str | None = None) -> Iterator[RawChunk]:
    """The chunks of ``tables``; ``time``: a time-of-day column joined to the date column ``ts``."""
    start = 0
    for table in tables:
        frame = table.to_pandas(ignore_metadata=True)  # a stored index column stays a column
        body = frame[channels] if channels else pd.DataFrame(index=frame.index)
        body.columns = [str(c) for c in body.columns]
        stamps = None if ts is None else joined_date_time(frame[ts], frame[time]).rename(ts) if time else frame[ts]
        yield RawChunk(start, body, stamps)
        start += table.num_rows


def _open_parquet(path: Path, timestamp: str | None, chunk_rows: int, exclude: tuple[str, ...]) -> ChunkStream:
    if path.stat().st_size == 0:
        raise DataError(f"{path}: empty file")
    try:
        parquet = pq.ParquetFile(path)
        schema = parquet.schema_arrow
    except Exception as exc:  # pyarrow raises its own types for corrupted files
        raise _unreadable(path, exc) from None
    if parquet.metadata.num_rows == 0:
        raise DataError(f"{path}: no data rows")
    # a stored index (DataFrame.to_parquet) is looked at first for the timestamps, as read_table does
    stored_index = stored_index_columns(schema.pandas_metadata)
    names = stored_index + [n for n in schema.names if n not in stored_index]
    # dtypes only, for timestamp detection; without the pandas metadata, index columns stay columns
    sample = schema.remove_metadata().empty_table().select(names).to_pandas()
    def first_value(name: str):
        """The column's first value, from the first row group that holds rows (a writer may leave the first empty)."""
        for group in range(parquet.num_row_groups):
            column = parquet.read_row_group(group, columns=[name]).column(0)
            if len(column):
                return column[0].as_py()
        return None

    split = date_and_time(names, first_value) if timestamp is None else None
    ts, channels = _split_columns(names, sample, timestamp, path, stored_index, exclude, split)
    time = split[1] if split else None
    columns = ([ts] if ts is not None else []) + ([time] if time else []) + channels

    def batches():
        # one iter_batches per row group: over the whole file it keeps every row group's buffers
        # until the end (Arrow memory grew 180 -> 576 MB over a 3,000,000-row file, pyarrow 26)
        try:
            for group in range(parquet.num_row_groups):
                yield from parquet.iter_batches(batch_size=chunk_rows, row_groups=[group], columns=columns,
                                                use_pandas_metadata=False)
        except Exception as exc:
            raise _unreadable(path, exc) from None

    return ChunkStream(parquet.metadata.num_rows, _chunks(_rebatch(batches(), chunk_rows), ts, channels, time))


def _dedup(names: list[str]) -> list[str]:
    """pandas.read_csv's renaming of repeated header names: ``a, a`` -> ``a, a.1``."""
    counts: dict[str, int] = {}
    out = []
    for name in names:
        count = counts.get(name, 0)
        while count > 0:
            counts[name] = count + 1
            name = f"{name}.{count}"
            count = counts.get(name, 0)
        out.append(name)
        counts[name] = count + 1
    return out


def _csv_reader(path: Path, dialect: CsvDialect, names: list[str] | None = None, skip: int = 0,
                **convert) -> tuple[pacsv.CSVStreamingReader, pa.NativeFile]:
    """A streaming reader (reads the first block) and its raw file, whose position tells the bytes read.

    ``names`` replaces the header (which is then skipped); ``skip`` data rows are skipped (after
    the dialect's units row). pyarrow's exceptions pass through (StopIteration: nothing after the header).
    """
    raw = pa.OSFile(str(path))
    stream = pa.CompressedInputStream(raw, "gzip") if path.suffix.lower() == ".gz" else raw
    read = pacsv.ReadOptions(column_names=names, skip_rows=1 if names else 0, skip_rows_after_names=skip + dialect.units_row,
                             block_size=CSV_BLOCK_BYTES)
    convert = pacsv.ConvertOptions(null_values=NA_STRINGS, strings_can_be_null=True, decimal_point=dialect.decimal, **convert)
    try:
        return pacsv.open_csv(stream, read_options=read, parse_options=pacsv.ParseOptions(delimiter=dialect.delimiter),
                              convert_options=convert), raw
    except BaseException:
        raw.close()
        raise


def _open_csv(path: Path, timestamp: str | None, chunk_rows: int, exclude: tuple[str, ...]) -> ChunkStream:
    dialect = sniff_csv(path)
    try:
        probe, raw = _csv_reader(path, dialect)  # column types inferred from the first block
        with raw:
            first = probe.read_next_batch()
    except StopIteration:  # nothing after the header
        raise DataError(f"{path}: no data rows") from None
    except Exception as exc:
        raise _unreadable(path, exc) from None
    if first.num_rows == 0:
        raise DataError(f"{path}: no data rows")
    header = probe.schema.names
    names = _dedup(header)
    sample = pd.DataFrame({n: pd.Series(dtype=object) for n in names})  # pandas never parses dates in CSV
    split = date_and_time(names, lambda name: first.column(names.index(name))[0].as_py()) if timestamp is None else None
    ts, channels = _split_columns(names, sample, timestamp, path, exclude=exclude, split=split)
    time = split[1] if split else None
    probed = dict(zip(names, probe.schema.types))
    # pandas keeps booleans as they are and parses every other numeric column as float64
    fast = {n: pa.bool_() if pa.types.is_boolean(probed[n]) else pa.float64() for n in channels}
    text = dict.fromkeys(channels, pa.string())
    if ts is not None:
        kind = probed[ts]
        fast[ts] = text[ts] = kind if pa.types.is_integer(kind) or pa.types.is_floating(kind) else pa.string()
    if time:
        fast[time] = text[time] = pa.string()
    columns = ([ts] if ts is not None else []) + ([time] if time else []) + channels
    renamed = names if names != header else None
    stream = ChunkStream(None, iter(()))
    size = max(path.stat().st_size, 1)

    def batches():
        rows, types, raw = 0, fast, None
        while True:
            try:
                reader, raw = _csv_reader(path, dialect, renamed, rows, column_types=types, include_columns=columns)
                for batch in reader:
                    rows += batch.num_rows
                    stream.expected_rows = max(rows, round(rows * size / max(raw.tell(), 1)))
                    yield batch
                return
            except StopIteration:  # the rows delivered were all there is
                return
            except pa.ArrowInvalid as exc:
                if types is text or "conversion error" not in str(exc):
                    raise _unreadable(path, exc) from None
                types = text  # carry on after the rows delivered, with the channels as strings
            except Exception as exc:
                raise _unreadable(path, exc) from None
            finally:
                if raw is not None:
                    raw.close()

    stream._chunks = _chunks(_rebatch(batches(), chunk_rows), ts, channels, time)
    return stream
