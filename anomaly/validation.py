"""Input conversion shared by thresholds, events and metrics.

Every public function converts its inputs once, at the edge, with these helpers, so bad
input raises the same one-line :class:`~anomaly.errors.DataError` everywhere.
"""

from __future__ import annotations

import math
import numbers

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError


def _as_float_1d(values, name: str) -> np.ndarray:
    """Convert ``values`` to a non-empty 1-D float64 array (NaN allowed here)."""
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise DataError(f"{name}: expected a 1-D array, got shape {arr.shape}")
    if arr.size == 0:
        raise DataError(f"{name}: empty (need at least one row)")
    if arr.dtype.kind not in "biufO":
        raise DataError(f"{name}: expected numbers, got dtype {arr.dtype}")
    try:
        return arr.astype(np.float64)
    except (TypeError, ValueError):
        raise DataError(f"{name}: expected numbers, got non-numeric values") from None


def as_scores(values, name: str = "scores") -> np.ndarray:
    """Convert array-like or Series ``values`` to a finite 1-D float64 array.

    Parameters
    ----------
    values : array-like or pandas.Series of shape (n,)
    name : str
        Used in error messages.

    Returns
    -------
    numpy.ndarray of shape (n,), dtype float64

    Raises
    ------
    DataError
        If ``values`` is not 1-D, is empty, is not numeric or holds NaN/inf.
    """
    out = _as_float_1d(values, name)
    bad = ~np.isfinite(out)
    if bad.any():
        raise DataError(
            f"{name}: {int(bad.sum())} NaN/inf value(s), first at position {int(np.argmax(bad))}"
        )
    return out


def as_flags(values, name: str = "flags") -> np.ndarray:
    """Convert binary array-like or Series ``values`` (bool or 0/1) to a 1-D bool array.

    Parameters
    ----------
    values : array-like or pandas.Series of shape (n,)
    name : str
        Used in error messages.

    Returns
    -------
    numpy.ndarray of shape (n,), dtype bool

    Raises
    ------
    DataError
        If ``values`` is not 1-D, is empty or holds anything other than bool/0/1.
    """
    arr = np.asarray(values)
    if arr.dtype == bool and arr.ndim == 1 and arr.size:
        return arr
    out = _as_float_1d(arr, name)
    bad = (out != 0) & (out != 1)  # NaN counts as bad
    if bad.any():
        pos = int(np.argmax(bad))
        raise DataError(
            f"{name}: non-binary value {arr[pos]} at position {pos}; expected bool or 0/1"
        )
    return out == 1


def as_like(template, result: np.ndarray):
    """Return ``result`` as a Series with ``template``'s index if ``template`` is a Series."""
    if isinstance(template, pd.Series):
        return pd.Series(result, index=template.index)
    return result


def check_lengths(**arrays) -> None:
    """Raise :class:`DataError` unless all keyword arrays have the same length."""
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) > 1:
        detail = ", ".join(f"{name} has {n} rows" for name, n in lengths.items())
        raise DataError(f"length mismatch: {detail}")


def check_number(name: str, value, *, low: float = -math.inf, high: float = math.inf,
                 low_open: bool = False, integer: bool = False):
    """Return ``value`` if it is a finite (integer) number in the allowed range.

    The range is ``[low, high]``, or ``(low, high]`` with ``low_open=True``.

    Raises
    ------
    ConfigError
        Quoting the value and the allowed range.
    """
    kind = numbers.Integral if integer else numbers.Real
    ok = (
        isinstance(value, kind)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and (value > low if low_open else value >= low)
        and value <= high
    )
    if not ok:
        what = "an integer" if integer else "a finite number"
        if math.isinf(high):
            allowed = "" if math.isinf(low) else f" {'>' if low_open else '>='} {low}"
        else:
            allowed = f" in {'(' if low_open else '['}{low}, {high}]"
        raise ConfigError(f"{name}={value!r} is not allowed: must be {what}{allowed}")
    return value


def check_dropout(dropout):
    """Return ``dropout`` if it is a number in [0, 1); else raise :class:`ConfigError`."""
    if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0.0 <= dropout < 1.0:
        raise ConfigError(f"dropout={dropout!r} must be in [0, 1)")
    return dropout


def to_jsonable(value):
    """Timestamps/timedeltas -> ISO strings, numpy scalars -> Python scalars, else unchanged."""
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, np.generic):
        return value.item()
    return value
