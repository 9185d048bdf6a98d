"""Channel schema and frame validation.

A *frame* is a :class:`pandas.DataFrame` with one row per time step and one numeric column
per channel; its index is a :class:`~pandas.DatetimeIndex` or a monotonic numeric index.
Numbers are times too (:func:`time_ns`): epoch seconds, milliseconds, microseconds or
nanoseconds told apart by their size (ROS ``%time`` is epoch nanoseconds), and numbers with a
fraction are seconds (``time = 0.00, 0.01, ...``); small whole numbers are step numbers.
:func:`check_frame` turns a frame into a ``float32`` array of shape ``(n_steps, n_channels)``
or raises a :class:`~anomaly.errors.DataError` naming the source, column and row at fault.
:class:`Schema` remembers the channels a detector was fitted on and matches new frames to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly.errors import DataError, SchemaError


def _where(index: pd.Index, position: int) -> str:
    """Describe a row for a message: its 0-based data row, plus its index label if not positional."""
    if isinstance(index, pd.RangeIndex):
        return f"row {position}"
    return f"row {position} ({index[position]})"


def check_index(index: pd.Index, *, source: str = "input") -> None:
    """Reject an index that is not strictly increasing.

    Parameters
    ----------
    index : pandas.Index of length n_steps
        Timestamps (or integer step numbers) of the rows.
    source : str
        Name used in error messages (usually the file path).

    Raises
    ------
    DataError
        On duplicate or decreasing timestamps, naming the first offending row.
    """
    if isinstance(index, pd.RangeIndex) or len(index) < 2:
        return
    if isinstance(index, pd.DatetimeIndex) and index.hasnans:
        raise DataError(f"{source}: timestamp column has missing values (first at row {int(np.argmax(index.isna()))})")
    values = index.asi8 if isinstance(index, pd.DatetimeIndex) else index.to_numpy()  # asi8: also time-zone aware
    try:
        step = np.diff(values)
    except TypeError:
        raise DataError(f"{source}: index of type {index.dtype} is neither timestamps nor numbers") from None
    zero = step == step.dtype.type(0)
    if zero.any():
        row = int(np.argmax(zero)) + 1
        raise DataError(f"{source}: duplicate timestamp {index[row]} at row {row}")
    negative = step < step.dtype.type(0)
    if negative.any():
        row = int(np.argmax(negative)) + 1
        raise DataError(unsorted_message(source, row, index[row], index[row - 1], index[0]))


def unsorted_message(source: str, row: int, value, before, first) -> str:
    """The error line for a timestamp ``value`` at file row ``row`` that comes after ``before``
    (``first``: the file's first timestamp). A time that goes back to the file's start or before
    it is a file of several runs, each with its own clock: the line says how to read them."""
    line = f"{source}: timestamps are not sorted: {value} at row {row} comes after {before}"
    if value <= first:
        line += ("; the time restarts (several runs in one file?): name the column that tells them apart with --runs COLUMN "
                 "(fit and score), or write each run to a file of its own")
    return line


def check_structure(frame: pd.DataFrame, *, source: str = "input") -> None:
    """Check everything but NaN/inf: rows and columns present, index order, numeric cells.

    Raises
    ------
    DataError
        If the frame is empty, has duplicate column names, duplicate or unsorted timestamps,
        or a non-numeric cell (naming the column, the count and the first row).
    """
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{source}: expected a pandas DataFrame, got {type(frame).__name__}")
    if frame.shape[1] == 0:
        raise DataError(f"{source}: no channel columns")
    if frame.shape[0] == 0:
        raise DataError(f"{source}: no rows")
    if frame.columns.duplicated().any():
        raise DataError(f"{source}: duplicate column {frame.columns[frame.columns.duplicated()][0]!r}")
    check_index(frame.index, source=source)
    for name, dtype in frame.dtypes.items():
        if pd.api.types.is_numeric_dtype(dtype):
            continue
        raw = frame[name]
        bad = pd.to_numeric(raw, errors="coerce").isna().to_numpy() & raw.notna().to_numpy()
        if bad.any():
            text = "; no value is a number: if it is not a channel, leave it out (anomaly fit --ignore)" \
                if bad.sum() == raw.notna().sum() else ""
            raise DataError(
                f"{source}: column {name!r} has {int(bad.sum())} non-numeric values "
                f"(first at {_where(frame.index, int(np.argmax(bad)))}){text}"
            )


def check_frame(frame: pd.DataFrame, *, source: str = "input") -> np.ndarray:
    """Validate a frame and return its values as a float32 array.

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_steps, n_channels)
        One numeric column per channel.
    source : str
        Name used in error messages (usually the file path).

    Returns
    -------
    values : numpy.ndarray of shape (n_steps, n_channels), float32

    Raises
    ------
    DataError
        Everything :func:`check_structure` rejects, plus NaN or infinite values, naming the
        column and the first offending row.
    """
    check_structure(frame, source=source)
    values = frame.to_numpy(dtype=np.float32)
    finite = np.isfinite(values)
    if not finite.all():
        bad_rows = ~finite.all(axis=1)
        row = int(np.argmax(bad_rows))
        col = int(np.argmax(~finite[row]))
        kind = "NaN" if np.isnan(values[row, col]) else "infinite"
        count = int((~finite[:, col]).sum())
        raise DataError(not_finite_message(source, frame.columns[col], count, kind, _where(frame.index, row)))
    return values


def not_finite_message(source: str, column, count: int, kind: str, where: str) -> str:
    """The message of a column with ``count`` NaN/inf values, the first of ``kind`` (``"NaN"`` or
    ``"infinite"``) at ``where``; a NaN's says how to fill gaps (whole-file and chunked paths alike)."""
    hint = "; fill gaps with --nan-policy ffill or interpolate (nan_policy in Python)" if kind == "NaN" else ""
    return f"{source}: column {column!r} has {count} NaN/inf values (first {kind} at {where}){hint}"

#: Epoch times by their size: (smallest magnitude, nanoseconds per unit), largest first. From
#: 1e9 a number is epoch seconds (after 2001-09-09), from 1e11 milliseconds, from 1e14
#: microseconds, from 1e17 nanoseconds (all after 1973).
EPOCH_UNITS = ((1e17, 1), (1e14, 1_000), (1e11, 1_000_000), (1e9, 1_000_000_000))


def ns_per_unit(values) -> int | None:
    """Nanoseconds per unit of numeric timestamps ``values`` (n,), or None when they are step numbers.

    Epoch times by the size of the largest (:data:`EPOCH_UNITS`); smaller numbers with a
    fraction are seconds; smaller whole numbers are step numbers (a row counter, as a frame
    without timestamps has).
    """
    values = np.asarray(values, dtype=np.float64)
    if not len(values) or not np.isfinite(values).all():
        return None
    return unit_of_times(float(np.abs(values).max()), bool(np.all(values == np.round(values))))


def unit_of_times(largest: float, whole: bool) -> int | None:
    """:func:`ns_per_unit` of finite numbers whose largest magnitude is ``largest`` and that are
    all whole numbers (``whole``) or not; for two numbers of a stream, without an array."""
    for magnitude, unit in EPOCH_UNITS:
        if largest >= magnitude:
            return unit
    return None if whole else 1_000_000_000


def time_ns(index: pd.Index) -> np.ndarray | None:
    """The timestamps of ``index`` (n,) as int64 nanoseconds, or None when it holds none: a
    :class:`~pandas.DatetimeIndex`, or numbers that are times (:func:`ns_per_unit`)."""
    if isinstance(index, pd.DatetimeIndex):
        return index.as_unit("ns").asi8
    if isinstance(index, pd.RangeIndex) or not pd.api.types.is_numeric_dtype(index) or pd.api.types.is_bool_dtype(index):
        return None
    values = index.to_numpy(dtype=np.float64)
    unit = ns_per_unit(values)
    if unit is None:
        return None
    if pd.api.types.is_integer_dtype(index):
        return index.to_numpy().astype(np.int64) * unit  # exact: float64 holds epoch nanoseconds to 256 ns only
    return np.round(values * unit).astype(np.int64)


def sampling_rate(index: pd.Index) -> float | None:
    """Rows per second of a time index (1 / its median step), or None without timestamps
    (:func:`time_ns`) or a positive step."""
    stamps = time_ns(index) if len(index) >= 2 else None
    if stamps is None:
        return None
    step = float(np.median(np.diff(stamps))) / 1e9
    return 1.0 / step if step > 0 else None


@dataclass(frozen=True)
class Schema:
    """Channels a detector was fitted on.

    Parameters
    ----------
    channels : tuple of str
        Channel (column) names in model order.
    sampling_rate : float or None
        Median sampling rate in Hz when the index holds timestamps, else None.
    ignored : tuple of str, default ()
        Columns of the user's logs that are not channels (a state name, a sequence number, a
        frame id: ``anomaly fit --ignore``): every reader of a model's input drops them where
        present, and :meth:`align` does too.
    runs : str or None, default None
        The column that told several runs of one training file apart (``anomaly fit --runs``):
        ``anomaly score`` splits an input that has it into its runs. It is also one of the
        :attr:`ignored` columns.
    """

    channels: tuple[str, ...]
    sampling_rate: float | None = None
    ignored: tuple[str, ...] = ()
    runs: str | None = None

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> Schema:
        """Learn the schema of a frame: its column names and median sampling rate."""
        return cls(tuple(str(c) for c in frame.columns), sampling_rate(frame.index))

    def align(self, frame: pd.DataFrame, *, source: str = "input") -> pd.DataFrame:
        """Return ``frame`` with its columns in schema order.

        Columns are matched by name, so a reordered frame is accepted; :attr:`ignored`
        columns are dropped.

        Raises
        ------
        SchemaError
            Naming the missing and the unexpected channels.
        """
        if self.ignored:
            frame = frame.drop(columns=[c for c in frame.columns if str(c) in self.ignored])
        columns = [str(c) for c in frame.columns]
        missing = [c for c in self.channels if c not in columns]
        extra = [c for c in columns if c not in self.channels]
        if missing or extra:
            parts = []
            if missing:
                parts.append(f"missing channels {missing}")
            if extra:
                parts.append(f"unexpected channels {extra}")
            raise SchemaError(f"{source}: {' and '.join(parts)} (the model was fitted on {len(self.channels)} channels)")
        if columns == list(self.channels):
            return frame
        return frame.rename(columns=str)[list(self.channels)]

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return {"channels": list(self.channels), "sampling_rate": self.sampling_rate, "ignored": list(self.ignored), "runs": self.runs}

    @classmethod
    def from_dict(cls, data: dict) -> Schema:
        """Inverse of :meth:`to_dict` (models saved before ``ignored`` or ``runs`` have none)."""
        return cls(tuple(data["channels"]), data.get("sampling_rate"), tuple(data.get("ignored", ())), data.get("runs"))
