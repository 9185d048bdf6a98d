"""Whole-file input checks over a stream of chunks, with the whole-file path's messages.

Scoring a frame at once (:func:`pipelines.sources.read_table`, then the detector's
``Detector.prepare``: :meth:`~anomaly.schema.Schema.align`, :func:`~pipelines.preprocess.fill_missing`,
:func:`~anomaly.schema.check_frame`) reports the *first* problem of the whole file in a fixed
order: unparseable timestamps; no channel columns, duplicate columns, missing/duplicate/unsorted
timestamps, non-numeric cells; channels that do not match the model; a column with nothing to
fill from; NaN/inf. :class:`FileChecks` sees one chunk at a time and keeps what that report
needs (first rows, per-column counts, the last timestamp of the previous chunk, so that
duplicates and disorder across chunk boundaries are caught), then raises the same exception
with the same message and 0-based file row numbers. Once a problem is found the caller stops
scoring but keeps feeding chunks: a later chunk can hold a problem that comes earlier in that
order, and counts cover the whole file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly.errors import DataError, SchemaError
from anomaly.schema import Schema, not_finite_message, unsorted_message
from pipelines.chunk_reader import RawChunk
from pipelines.sources import parse_datetimes

# order in which the whole-file path reports problems (lower first)
_TIMESTAMP_PARSE, _NO_CHANNELS, _DUPLICATE_COLUMN = 1, 2, 3
_TIMESTAMP_MISSING, _INDEX_TYPE, _TIMESTAMP_DUPLICATE, _TIMESTAMP_ORDER = 4, 5, 6, 7
_NON_NUMERIC, _SCHEMA, _NOTHING_TO_FILL, _NOT_FINITE, _TIMESTAMP_UNIT = 8, 9, 10, 11, 12
_INDEX_CHECKS = (_TIMESTAMP_MISSING, _INDEX_TYPE, _TIMESTAMP_DUPLICATE, _TIMESTAMP_ORDER)


def _where(index: pd.Index, position: int, start: int) -> str:
    """``row N`` (file row) plus the index label when the rows have timestamps."""
    if isinstance(index, pd.RangeIndex):
        return f"row {start + position}"
    return f"row {start + position} ({index[position]})"


class _Tally:
    """Per-column count of bad cells and the first bad cell, over the whole file."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.first: dict[str, str] = {}

    def add(self, name: str, bad: np.ndarray, index: pd.Index, start: int) -> None:
        count = int(bad.sum())
        if count:
            self.counts[name] = self.counts.get(name, 0) + count
            self.first.setdefault(name, _where(index, int(np.argmax(bad)), start))


class FileChecks:
    """Validate a file chunk by chunk; report like the whole-file path.

    Parameters
    ----------
    source : str
        File name used in messages.
    schema : Schema
        Channels the detector was fitted on.
    nan_policy : {"raise", "ffill", "interpolate"}
        The detector's NaN policy (decides whether NaN/inf is a problem).

    Use :meth:`chunk` on every chunk, :meth:`values` on every block of filled rows, then
    :meth:`end`; :meth:`raise_if_failed` raises the first problem, if any.

    Attributes
    ----------
    failed : bool
        A problem has been found (the file will be rejected).
    rows : int
        Rows seen so far.
    """

    def __init__(self, source: str, schema: Schema, nan_policy: str):
        self.source = source
        self.schema = schema
        self.nan_policy = nan_policy
        self.rows = 0
        self._problems: dict[int, Exception] = {}
        self._columns: list[str] = []  # file order, as read
        self._header_ok = False
        self._last: pd.Index | None = None  # last timestamp of the previous chunk, for boundary checks
        self._first = None  # the file's first timestamp (a time that goes back to it restarts)
        self._unit = None
        self._non_numeric = _Tally()
        self._not_finite = _Tally()
        self._first_not_finite: tuple[int, str] | None = None
        self._has_value = np.zeros(len(schema.channels), dtype=bool)

    @property
    def failed(self) -> bool:
        return bool(self._problems) or self._first_not_finite is not None

    def _record(self, stage: int, message: str, kind: type[Exception] = DataError) -> None:
        self._problems.setdefault(stage, kind(message))

    # -- per chunk ----------------------------------------------------------
    def chunk(self, raw: RawChunk) -> pd.DataFrame | None:
        """Check one chunk; return its channels as a numeric frame in schema order.

        Returns
        -------
        pandas.DataFrame of shape (n_rows, n_channels) or None
            Indexed like the whole-file frame (timestamps, or a RangeIndex of file rows).
            None when the chunk cannot be turned into one (bad timestamps, bad header,
            non-numeric cells); NaN/inf are left in place.
        """
        start, body = raw.start, raw.body
        self.rows += len(body)
        index = self._index(raw.timestamps, start, len(body))
        if start == 0:
            self._header(body.columns)
        if index is None:
            self._last = None
            return None
        self._check_index(index, start)
        body = self._numeric(body, index, start)
        if body is None or not self._header_ok:
            return None
        frame = self.schema.align(body.set_axis(index, axis=0), source=self.source)
        if self.nan_policy != "raise":
            self._has_value |= np.isfinite(frame.to_numpy(dtype=np.float64)).any(axis=0)
        return frame

    def _index(self, column: pd.Series | None, start: int, n: int) -> pd.Index | None:
        """The rows' index, as :func:`pipelines.sources.read_table` builds it, or None if unparseable."""
        if column is None:
            return pd.RangeIndex(start, start + n)
        if pd.api.types.is_datetime64_any_dtype(column):
            return self._same_unit(pd.DatetimeIndex(column, name="timestamp"), start)
        if pd.api.types.is_numeric_dtype(column):
            return pd.Index(column.to_numpy(), name=str(column.name))
        parsed = parse_datetimes(column)
        bad = (parsed.isna() & column.notna()) | parsed.isna()
        if bad.any():
            row = int(bad.to_numpy().argmax())
            self._record(_TIMESTAMP_PARSE, f"{self.source}: timestamp column {column.name!r} has an unparseable "
                                            f"value {column.iloc[row]!r} at row {start + row}")
            return None
        return self._same_unit(pd.DatetimeIndex(parsed, name="timestamp"), start)

    def _same_unit(self, index: pd.DatetimeIndex, start: int) -> pd.DatetimeIndex:
        """Keep one datetime unit for the file (pandas picks it per parse, i.e. per chunk here)."""
        if self._unit is None:
            self._unit = index.unit
        if index.unit == self._unit:
            return index
        converted = index.as_unit(self._unit)
        lossy = np.asarray(converted.as_unit(index.unit) != index)
        if lossy.any():
            row = int(np.argmax(lossy))
            self._record(_TIMESTAMP_UNIT, f"{self.source}: timestamp at row {start + row} ({index[row]}) is finer than "
                                          f"the '{self._unit}' resolution of the first rows; write timestamps with one precision")
        return converted

    def _header(self, columns: pd.Index) -> None:
        self._columns = list(columns)
        if len(columns) == 0:
            self._record(_NO_CHANNELS, f"{self.source}: no channel columns")
            return
        duplicated = columns.duplicated()
        if duplicated.any():
            self._record(_DUPLICATE_COLUMN, f"{self.source}: duplicate column {columns[duplicated][0]!r}")
            return
        try:
            self.schema.align(pd.DataFrame(columns=columns), source=self.source)
        except SchemaError as exc:
            self._record(_SCHEMA, str(exc), SchemaError)
            return
        self._header_ok = True

    def _check_index(self, index: pd.Index, start: int) -> None:
        """Missing, duplicate and unsorted timestamps, including across the previous chunk's end."""
        previous, self._last = self._last, index[-1:]
        if isinstance(index, pd.RangeIndex):
            return
        if self._first is None and len(index):
            self._first = index[0]
        if isinstance(index, pd.DatetimeIndex) and index.hasnans:
            row = int(np.argmax(index.isna()))
            self._record(_TIMESTAMP_MISSING, f"{self.source}: timestamp column has missing values (first at row {start + row})")
            return
        labels = index if previous is None else previous.append(index)
        offset = start if previous is None else start - 1  # file row of labels[0]
        try:  # asi8: time-zone aware timestamps too (as check_index)
            step = np.diff(labels.asi8 if isinstance(labels, pd.DatetimeIndex) else labels.to_numpy())
        except TypeError:
            self._record(_INDEX_TYPE, f"{self.source}: index of type {index.dtype} is neither timestamps nor numbers")
            return
        duplicate, unsorted = step == step.dtype.type(0), step < step.dtype.type(0)
        if duplicate.any():
            i = int(np.argmax(duplicate)) + 1
            self._record(_TIMESTAMP_DUPLICATE, f"{self.source}: duplicate timestamp {labels[i]} at row {offset + i}")
        if unsorted.any():
            i = int(np.argmax(unsorted)) + 1
            self._record(_TIMESTAMP_ORDER, unsorted_message(self.source, offset + i, labels[i], labels[i - 1], self._first))

    def _numeric(self, body: pd.DataFrame, index: pd.Index, start: int) -> pd.DataFrame | None:
        """Count non-numeric cells (as check_structure does); convert text columns to numbers."""
        converted = {}
        for name, dtype in body.dtypes.items():
            if pd.api.types.is_numeric_dtype(dtype):
                continue
            raw = body[name]
            numbers = pd.to_numeric(raw, errors="coerce")
            bad = numbers.isna().to_numpy() & raw.notna().to_numpy()
            self._non_numeric.add(name, bad, index, start)
            converted[name] = numbers
        if any(name in self._non_numeric.counts for name in converted):
            return None
        return body.assign(**converted) if converted else body

    # -- per block of filled rows -------------------------------------------
    def values(self, start: int, frame: pd.DataFrame) -> np.ndarray:
        """float32 values of filled rows (n_rows, n_channels), tallying NaN/inf as check_frame does."""
        values = frame.to_numpy(dtype=np.float32)
        finite = np.isfinite(values)
        if finite.all():
            return values
        if self._first_not_finite is None:
            row = int(np.argmax(~finite.all(axis=1)))
            col = int(np.argmax(~finite[row]))
            kind = "NaN" if np.isnan(values[row, col]) else "infinite"
            self._first_not_finite = (col, kind)
        for col, name in enumerate(frame.columns):
            self._not_finite.add(name, ~finite[:, col], frame.index, start)
        return values

    # -- end of file ---------------------------------------------------------
    def end(self) -> None:
        """Record what only the whole file shows (call once, after the last chunk)."""
        if self.rows < 2:  # check_index ignores a single row
            for stage in _INDEX_CHECKS:
                self._problems.pop(stage, None)
        if self._non_numeric.counts:
            name = next(n for n in self._columns if n in self._non_numeric.counts)
            self._problems.pop(_NON_NUMERIC, None)
            self._record(_NON_NUMERIC, f"{self.source}: column {name!r} has {self._non_numeric.counts[name]} "
                                       f"non-numeric values (first at {self._non_numeric.first[name]})")
        if self.nan_policy != "raise" and self._header_ok and not self._has_value.all():
            empty = self.schema.channels[int(np.argmin(self._has_value))]
            self._record(_NOTHING_TO_FILL, f"{self.source}: column {empty!r} has no valid value to fill from")

    def raise_if_failed(self) -> None:
        """Raise the problem the whole-file path would report first, if there is one."""
        if self._first_not_finite is not None:
            col, kind = self._first_not_finite
            name = self.schema.channels[col]
            self._problems[_NOT_FINITE] = DataError(
                not_finite_message(self.source, name, self._not_finite.counts[name], kind, self._not_finite.first[name]))
        if self._problems:
            raise self._problems[min(self._problems)]
