"""Persistence: the causal rule that keeps a flag only after ``k`` consecutive flags."""

from __future__ import annotations

from anomaly.decisions.runs import drop_short, event_ranges, runs_to_flags
from anomaly.validation import as_flags, as_like, check_number

__all__ = ["persistence"]


def persistence(flags, k: int):
    """Causal persistence rule: keep a flag only after ``k`` consecutive flags.

    ``out[t]`` is True only if ``flags[t-k+1 .. t]`` are all True, so the rule never
    adds flags, only delays/removes them; ``k=1`` returns the flags unchanged. On runs:
    runs shorter than ``k`` are dropped and the others start ``k - 1`` rows late. O(n).

    Parameters
    ----------
    flags : array-like or pandas.Series of shape (n,)
        Binary flags (bool or 0/1).
    k : int
        Required run length, >= 1.

    Returns
    -------
    numpy.ndarray or pandas.Series of shape (n,), dtype bool
        A Series with the same index if ``flags`` is a Series, else an ndarray.

    Raises
    ------
    DataError
        If ``flags`` is empty or not binary.
    ConfigError
        If ``k`` is not an integer >= 1.
    """
    check_number("k", k, low=1, integer=True)
    values = as_flags(flags)
    ranges = drop_short(event_ranges(values), k)
    ranges[:, 0] += k - 1
    return as_like(flags, runs_to_flags(ranges, len(values)))
