"""Input conversion and the zero-denominator rule shared by the metric modules.

Conventions of every metric in :mod:`anomaly.metrics`
------------------------------------------------------
* ``y_true``: (n,) binary labels (bool or 0/1), True = anomalous row.
* ``y_pred``: (n,) binary flags; ``scores``: (n,) finite floats, higher = more anomalous.
* Inputs are matched by position (pandas indexes are ignored).
* Every ratio whose denominator is 0 (e.g. precision with no flags) is defined as 0.0.
* A "range" (or event) is a maximal run of True (:func:`anomaly.decisions.event_ranges`).
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import numpy as np

from anomaly.errors import ConfigError
from anomaly.validation import as_flags, check_lengths

__all__ = ["ratio", "f1_of", "labels_and", "labels_and_flags", "check_choice"]


def ratio(num: float, den: float) -> float:
    """``num / den``, with 0/0 (or x/0) defined as 0.0.

    Parameters
    ----------
    num, den : float
        Numerator and denominator (scalars).

    Returns
    -------
    float
    """
    return float(num / den) if den else 0.0


def f1_of(precision: float, recall: float) -> float:
    """Harmonic mean of ``precision`` and ``recall`` (scalars); 0.0 when both are 0.

    Returns
    -------
    float
    """
    return ratio(2 * precision * recall, precision + recall)


def labels_and(y_true, other, name: str, convert: Callable[[object, str], np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Convert ``y_true`` to flags and ``other`` with ``convert``; check equal lengths.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    other : array-like of shape (n,)
        Flags or scores.
    name : str
        Name of ``other`` in error messages.
    convert : callable
        :func:`anomaly.validation.as_flags` or :func:`anomaly.validation.as_scores`.

    Returns
    -------
    truth : numpy.ndarray of shape (n,), dtype bool
    values : numpy.ndarray of shape (n,)
        ``convert(other, name)``.

    Raises
    ------
    DataError
        If an input is empty, not convertible, or the lengths differ.
    """
    truth = as_flags(y_true, "y_true")
    values = convert(other, name)
    check_lengths(y_true=truth, **{name: values})
    return truth, values


def labels_and_flags(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    """``y_true`` and ``y_pred`` as bool arrays of shape (n,), lengths checked.

    Raises
    ------
    DataError
        If an input is empty, non-binary, or the lengths differ.
    """
    truth, pred = as_flags(y_true, "y_true"), as_flags(y_pred, "y_pred")
    check_lengths(y_true=truth, y_pred=pred)
    return truth, pred


def check_choice(name: str, value, allowed: Collection) -> None:
    """Raise :class:`~anomaly.errors.ConfigError` unless ``value`` is one of ``allowed``."""
    if value not in allowed:
        raise ConfigError(f"{name}={value!r} is not allowed: must be one of {list(allowed)}")
