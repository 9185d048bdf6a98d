"""The threshold contract: a rule fitted on normal scores that flags ``scores > threshold_``.

A threshold is a scikit-learn estimator: the constructor only stores its parameters
(``get_params``/``set_params`` come from :class:`anomaly.params.Params`; ``sklearn.base.clone`` works),
:meth:`Threshold.fit` learns the fitted attributes (ending in ``_``) from scores of normal
data, never from labels, and :meth:`Threshold.apply` flags new scores. A threshold saves as
plain JSON with :meth:`Threshold.to_dict` and loads with :meth:`Threshold.from_dict` (or,
when the kind is not known in advance, :func:`anomaly.thresholds.threshold_from_dict`); it is
never pickled.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod

import numpy as np

from anomaly.errors import ConfigError, NotFittedError
from anomaly.params import Params
from anomaly.validation import as_like, as_scores, check_number, to_jsonable

__all__ = ["Threshold"]

logger = logging.getLogger(__name__)


class Threshold(Params, ABC):
    """Base class: a scalar threshold ``threshold_`` fitted on normal scores.

    Subclasses store their constructor parameters unchanged (scikit-learn rule), and
    implement ``_check_params`` (raise :class:`ConfigError` on bad values) and
    ``_compute(scores) -> float``. A subclass with fitted state beyond ``threshold_`` (needed
    to apply or update it after loading) returns it from ``_state`` and takes it back in
    ``_set_state``.

    Attributes
    ----------
    threshold_ : float
        The fitted threshold; :meth:`apply` flags ``scores > threshold_``.
    """

    def __sklearn_is_fitted__(self) -> bool:
        """Whether :meth:`fit` has run (read by :func:`sklearn.utils.validation.check_is_fitted`)."""
        return hasattr(self, "threshold_")

    @abstractmethod
    def _check_params(self) -> None:
        """Raise :class:`ConfigError` on a bad parameter value."""

    @abstractmethod
    def _compute(self, scores: np.ndarray):
        """The threshold for finite normal ``scores`` of shape (n,)."""

    def fit(self, scores, *, rules=None, lengths=None) -> Threshold:
        """Fit ``threshold_`` on scores of normal data.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            Finite anomaly scores of normal rows.
        rules : DecisionRules or None
            The alert rules the threshold will decide with (a detector passes its default
            rules at its sampling rate, :func:`anomaly.decisions.model_rules`). Only
            :class:`~anomaly.thresholds.Sustained` and :class:`~anomaly.thresholds.QuietLogs` read them.
        lengths : sequence of int or None
            The scores are these logs' (training files, sessions) one after another, of these
            lengths (summing to n); None: one log. Only :class:`~anomaly.thresholds.QuietLogs` reads them.

        Returns
        -------
        self

        Raises
        ------
        DataError
            If ``scores`` is empty, not 1-D or holds NaN/inf.
        ConfigError
            If a parameter is out of range.
        """
        self._check_params()
        values = as_scores(scores)
        self.threshold_ = float(self._compute(values))
        logger.debug("%r fitted on %d scores: threshold_=%g", self, len(values), self.threshold_)
        return self

    def apply(self, scores):
        """Flag scores above the fitted threshold.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            Finite anomaly scores.

        Returns
        -------
        numpy.ndarray or pandas.Series of shape (n,), dtype bool
            ``scores > threshold_``; a Series with the same index if ``scores`` is a
            Series, else an ndarray.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        DataError
            If ``scores`` is empty, not 1-D or holds NaN/inf.
        """
        if not hasattr(self, "threshold_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted: call fit(normal_scores) first")
        return as_like(scores, as_scores(scores) > self.threshold_)

    def apply_chunk(self, scores, state=None):
        """:meth:`apply` on one chunk of a longer series, carrying what the next chunk needs.

        Feeding a series chunk by chunk, oldest first, each call with the ``state`` the
        previous call returned (None for the first chunk), gives the flags :meth:`apply`
        gives on the whole series. Rules that compare each score with a constant need no
        state: this base version returns ``(apply(scores), state)``; rules with memory
        (:class:`~anomaly.thresholds.Dynamic`) override it.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            The next chunk, n >= 1.
        state : object or None, default=None
            What the previous call returned; None at the start of the series.

        Returns
        -------
        flags : numpy.ndarray or pandas.Series of shape (n,), dtype bool
            A Series with the same index if ``scores`` is a Series.
        state : object or None
            Pass it to the call for the next chunk; treat it as opaque.

        Raises
        ------
        NotFittedError, DataError
            As :meth:`apply`.
        """
        return self.apply(scores), state

    # -- JSON round trip ------------------------------------------------------
    def to_dict(self) -> dict:
        """Return a JSON-serialisable description, inverse of :meth:`from_dict`.

        Returns
        -------
        dict
            ``{"kind": class name, "params": {...}, "threshold_": float or None,
            "state": {...}}``: ``threshold_`` is None if not fitted (or if the kind has no
            scalar threshold), ``state`` the fitted state beyond it (``{}`` if none or not
            fitted).
        """
        return {
            "kind": type(self).__name__,
            "params": {k: to_jsonable(v) for k, v in self.get_params().items()},
            "threshold_": getattr(self, "threshold_", None),
            "state": self._state() if self.__sklearn_is_fitted__() else {},
        }

    @classmethod
    def from_dict(cls, d: dict) -> Threshold:
        """Rebuild a threshold of this class from :meth:`to_dict` output.

        JSON arrays in ``params`` become tuples (JSON has no tuples). Dicts without
        ``"state"`` (saved before it existed) load as long as the kind needs no fitted state.

        Parameters
        ----------
        d : dict
            ``{"kind": class name, "params": {...}, "threshold_": float or None,
            "state": {...}}``.

        Returns
        -------
        Threshold
            Fitted if ``d`` holds a fitted state (for scalar thresholds: ``d["threshold_"]``
            is a number), else unfitted.

        Raises
        ------
        ConfigError
            If ``d`` is malformed or of another kind, a parameter is unknown or out of
            range, ``threshold_`` is not a finite number or None, or the fitted state is
            missing or malformed.
        """
        if not isinstance(d, dict) or not {"kind", "params"} <= d.keys() or not isinstance(d["params"], dict):
            raise ConfigError(f"threshold dict {d!r} is malformed: need keys 'kind' and 'params' (a dict)")
        if d["kind"] != cls.__name__:
            raise ConfigError(f"threshold kind {d['kind']!r} is not {cls.__name__!r}")
        params = {k: tuple(v) if isinstance(v, list) else v for k, v in d["params"].items()}
        threshold = cls().set_params(**params)
        threshold._check_params()
        value = d.get("threshold_")
        if value is not None:
            value = float(check_number("threshold_", value))
        try:
            threshold._restore(value, dict(d.get("state") or {}))
        except KeyError as exc:
            raise ConfigError(f"threshold state of {d['kind']} is malformed: missing {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"threshold state of {d['kind']} is malformed: {exc}") from None
        return threshold

    def _restore(self, value: float | None, state: dict) -> None:
        """Set the fitted attributes from a saved ``threshold_`` (None: unfitted) and state."""
        if value is None:
            return
        self.threshold_ = value
        self._set_state(state)

    def _state(self) -> dict:
        """Fitted state beyond ``threshold_`` that applying or updating needs (JSON-able)."""
        return {}

    def _set_state(self, state: dict) -> None:
        """Inverse of :meth:`_state`; raise KeyError, TypeError or ValueError on a bad state."""
