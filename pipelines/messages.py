"""Parse streamed sensor messages (JSON lines or CSV rows) into checked rows.

One message is one time step: a JSON object ``{"timestamp": ..., "c1": 0.3, ...}`` or a CSV
row after a header line. :class:`RowParser` turns a message into ``(timestamp, values)``
with ``values`` a float32 array of shape (n_channels,) in the model's channel order, or
raises :class:`BadMessage` with a :attr:`~BadMessage.reason` from :data:`REASONS`, so a stream
can count and skip it. Label columns (:data:`pipelines.sources.LABEL_COLUMNS`) are ignored,
as when reading files.

Timestamps are numbers (e.g. seconds) or ISO 8601 strings; the first accepted row fixes
which. Each accepted timestamp must be later than the previous accepted one.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import datetime

import numpy as np

from anomaly.errors import ConfigError, DataError, SchemaError
from pipelines.sources import COMMA_NUMBER, LABEL_COLUMNS, TIMESTAMP_NAMES, header_delimiter

#: Why a message was skipped.
REASONS = (
    "malformed",  # not JSON / not an object / wrong number of CSV cells / not UTF-8
    "non_numeric",  # a channel value that is not a number
    "missing_channels",
    "extra_channels",
    "nan_inf",  # NaN, +-inf, an empty CSV cell, or a value outside float32's range
    "bad_timestamp",  # no timestamp, unparseable, or of another kind than earlier rows
    "out_of_order",  # earlier than the previous accepted row
    "duplicate_timestamp",  # equal to the previous accepted row
)
FORMATS = ("jsonl", "csv")
_LABELS = frozenset(LABEL_COLUMNS)
_FLOAT32_MAX = float(np.finfo(np.float32).max)


class BadMessage(DataError):
    """A message that cannot become a row; ``reason`` is one of :data:`REASONS`."""

    def __init__(self, reason: str, detail: str):
        super().__init__(detail)
        self.reason = reason


def _is_number(value) -> bool:
    return type(value) in (int, float)  # bool is an int subclass, and not a reading


def parse_timestamp(value):
    """A comparable timestamp: the number for numbers (and numeric strings), a datetime for ISO 8601 text.

    Raises
    ------
    BadMessage
        ``bad_timestamp`` for anything else, NaN or infinity.
    """
    if isinstance(value, str):
        text = value.strip()
        for number in (int, float):
            try:
                value = number(text)
                break
            except ValueError:
                continue
        else:
            try:
                return datetime.fromisoformat(text)
            except ValueError:
                raise BadMessage("bad_timestamp", f"timestamp {text!r} is neither a number nor ISO 8601") from None
    if not _is_number(value) or not math.isfinite(value):
        raise BadMessage("bad_timestamp", f"timestamp {value!r} is neither a number nor ISO 8601")
    return value


class RowParser:
    """Stateful parser of one stream's messages.

    Parameters
    ----------
    channels : sequence of str
        The model's channels, in model order (``det.schema_.channels``).
    fmt : {"jsonl", "csv"}, default="jsonl"
        JSON objects, one per message, or CSV rows after one header line (delimiter
        ``,`` ``;`` tab or ``|``, sniffed from the header).
    timestamp : str or None
        Name of the timestamp field; None finds the first field named like one of
        :data:`pipelines.sources.TIMESTAMP_NAMES` (case-insensitive) that is not a channel.
    ignored : sequence of str, default ()
        Fields that are not channels (``det.schema_.ignored``): skipped, not unexpected.
    runs : str or None
        The field that tells runs apart (``det.schema_.runs``, ``anomaly fit --runs``): a row
        whose value differs from the last accepted row's starts a new run, whose clock may
        restart (no order check against the run before). With it, :meth:`parse` returns the
        row's run value too (None when the message has none).

    Attributes
    ----------
    last_timestamp : int, float, datetime or None
        Timestamp of the last accepted row.
    """

    def __init__(self, channels, *, fmt: str = "jsonl", timestamp: str | None = None, ignored=(), runs: str | None = None):
        if fmt not in FORMATS:
            raise ConfigError(f"format {fmt!r} is not one of {list(FORMATS)}")
        self.channels = tuple(channels)
        self.fmt = fmt
        self.timestamp = timestamp
        self.last_timestamp = None
        self.runs = runs
        self.last_run = None
        self._known = frozenset(self.channels) | frozenset(ignored) | frozenset([runs] if runs else [])  # no unexpected channels
        self._key = None  # JSON: the timestamp field found in earlier messages
        self._header = None  # CSV: (delimiter, timestamp cell index, channel cell indices, n_cells, run cell index or None)

    # -- one message ---------------------------------------------------------------
    def parse(self, message: bytes | str):
        """Turn one message into ``(timestamp, values)`` (with ``runs``: ``(timestamp, values, run)``).

        Returns
        -------
        (timestamp, ndarray of shape (n_channels,), float32[, run]), or None for a CSV header line.

        Raises
        ------
        BadMessage
            The message is to be skipped (see :data:`REASONS`).
        SchemaError
            A CSV header lacks channels or has unknown ones: no row of that stream can be scored.
        """
        if self.fmt == "csv":
            if self._header is None:
                self._header = self._read_header(self._text(message).lstrip("\ufeff"))  # a BOM is no column name
                return None
            timestamp, values, run = self._csv_row(self._text(message))
        else:
            timestamp, values, run = self._json_row(message)
        if self.runs is None or run == self.last_run or self.last_timestamp is None:
            self._check_order(timestamp)  # a new run's clock may restart
        self.last_timestamp, self.last_run = timestamp, run
        return (timestamp, values) if self.runs is None else (timestamp, values, run)

    @staticmethod
    def _text(message: bytes | str) -> str:
        if isinstance(message, bytes):
            try:
                return message.decode("utf-8")
            except UnicodeDecodeError:
                raise BadMessage("malformed", "not UTF-8 text") from None
        return message

    def _timestamp_key(self, names) -> str | None:
        if self.timestamp is not None:
            return self.timestamp if self.timestamp in names else None
        for name in names:
            if name.lower() in TIMESTAMP_NAMES and name not in self._known:
                return name
        return None

    def _check_order(self, timestamp) -> None:
        last = self.last_timestamp
        if last is None:
            return
        try:
            later = timestamp > last
        except TypeError:  # a number after a datetime, or naive after timezone-aware
            raise BadMessage("bad_timestamp", f"timestamp {_show(timestamp)} is not of the same kind as earlier ones ({_show(last)})") from None
        if not later:
            reason = "duplicate_timestamp" if timestamp == last else "out_of_order"
            raise BadMessage(reason, f"timestamp {_show(timestamp)} is not after the previous row's {_show(last)}")

    @staticmethod
    def _values(cells: list, names: tuple[str, ...]) -> np.ndarray:
        """Channel cells -> float32 array, rejecting non-numbers, NaN/inf and float32 overflow."""
        if not all(map(_is_number, cells)):
            name, value = next((n, v) for n, v in zip(names, cells) if not _is_number(v))
            reason = "nan_inf" if value is None or value == "" else "non_numeric"
            raise BadMessage(reason, f"channel {name!r} has value {value!r}, not a number")
        values = np.array(cells, dtype=np.float64)
        if not np.isfinite(values).all() or np.abs(values).max() > _FLOAT32_MAX:
            column = int(np.argmax(~np.isfinite(values) | (np.abs(values) > _FLOAT32_MAX)))
            raise BadMessage("nan_inf", f"channel {names[column]!r} has value {float(values[column])!r}, not a finite float32")
        return values.astype(np.float32)

    # -- JSON ------------------------------------------------------------------------
    def _json_row(self, message):
        try:
            record = json.loads(message)
        except ValueError as exc:  # JSONDecodeError and UnicodeDecodeError
            raise BadMessage("malformed", f"not JSON ({str(exc).splitlines()[0][:80]})") from None
        if not isinstance(record, dict):
            raise BadMessage("malformed", f"expected a JSON object, got {type(record).__name__}")
        key = self._key if self._key in record else self._timestamp_key(record)
        if key is None:
            raise BadMessage("bad_timestamp", f"no timestamp field ({self.timestamp or 'one of ' + '/'.join(TIMESTAMP_NAMES)})")
        self._key = key
        timestamp = parse_timestamp(record[key])
        try:
            cells = [record[name] for name in self.channels]
        except KeyError:
            missing = [name for name in self.channels if name not in record]
            raise BadMessage("missing_channels", f"missing channels {missing}") from None
        if len(record) > len(cells) + 1:
            extra = [name for name in record if name != key and name not in self._known and name.lower() not in _LABELS]
            if extra:
                raise BadMessage("extra_channels", f"unexpected channels {extra}")
        return timestamp, self._values(cells, self.channels), record.get(self.runs) if self.runs else None

    # -- CSV -------------------------------------------------------------------------
    def _read_header(self, line: str):
        delimiter = header_delimiter(line)
        names = [name.strip() for name in next(csv.reader([line], delimiter=delimiter), [])]
        key = self._timestamp_key(names)
        if key is None:
            raise SchemaError(f"CSV header {names[:6]}: no timestamp column ({self.timestamp or 'one of ' + '/'.join(TIMESTAMP_NAMES)})")
        missing = [name for name in self.channels if name not in names]
        extra = [name for name in names if name != key and name not in self._known and name.lower() not in _LABELS]
        if missing or extra:
            parts = ([f"missing channels {missing}"] if missing else []) + ([f"unexpected channels {extra}"] if extra else [])
            raise SchemaError(f"CSV header: {' and '.join(parts)} (the model was fitted on {len(self.channels)} channels)")
        return (delimiter, names.index(key), [names.index(name) for name in self.channels], len(names),
                names.index(self.runs) if self.runs in names else None)

    def _csv_row(self, line: str):
        delimiter, ts_cell, cells_at, n_cells, run_cell = self._header
        try:
            cells = next(csv.reader([line], delimiter=delimiter))
        except (csv.Error, StopIteration):
            raise BadMessage("malformed", "not a CSV row") from None
        if len(cells) != n_cells:
            raise BadMessage("malformed", f"{len(cells)} cells, the header has {n_cells}")
        timestamp = parse_timestamp(cells[ts_cell])
        raw = [cells[i].strip() for i in cells_at]
        numbers = []
        comma = delimiter != ","  # then "1,25" can only be a decimal comma (as the file readers take it)
        for _name, text in zip(self.channels, raw):
            try:
                numbers.append(float(text.replace(",", ".", 1) if comma and COMMA_NUMBER.match(text) else text))
            except ValueError:
                numbers.append(text)  # rejected, with the channel named, by _values
        return timestamp, self._values(numbers, self.channels), None if run_cell is None else cells[run_cell].strip()


def _show(timestamp) -> str:
    return timestamp.isoformat() if isinstance(timestamp, datetime) else repr(timestamp)
