"""Per-channel thresholds on the per-channel error matrix, with channel attribution."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from anomaly.errors import DataError, NotFittedError
from anomaly.thresholds.base import Threshold
from anomaly.validation import check_number

__all__ = ["PerChannel"]

logger = logging.getLogger(__name__)


class PerChannel(Threshold):
    """One percentile threshold per channel of the per-channel error matrix.

    Works on errors of shape (n_steps, n_channels) (``Detector.errors``: finite, >= 0), not
    on scores: a row is flagged when any channel exceeds its own threshold, and
    :meth:`exceeded` says which channels fired (attribution). :meth:`normalise` divides
    each channel by its threshold, so on that scale every channel's threshold is 1.0. A
    DataFrame must have the fitted channels in the fitted order; arrays (or frames when
    fitted on an array) are matched by position.

    Unlike the score thresholds, a PerChannel has no scalar ``threshold_``: its fitted
    state is ``thresholds_``, one value per channel, and "fitted" means that exists. Its
    :meth:`to_dict` writes ``"threshold_": None`` and the thresholds in ``"state"``. Models
    saved before this change wrote a placeholder ``"threshold_": 1.0`` (the threshold on
    the :meth:`normalise` scale); :meth:`from_dict` still loads them, ignoring that value.

    Parameters
    ----------
    q : float, default=99.0
        Percentile in (0, 100].

    Attributes
    ----------
    thresholds_ : numpy.ndarray of shape (n_channels,)
        ``np.percentile(errors, q, axis=0)``.
    channels_ : list of str or None
        Channel names if fitted on a DataFrame, else None.
    """

    def __init__(self, q=99.0):
        self.q = q

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)

    def __sklearn_is_fitted__(self) -> bool:
        """Whether :meth:`fit` has run: ``thresholds_`` exists."""
        return hasattr(self, "thresholds_")

    def _compute(self, errors: np.ndarray) -> np.ndarray:
        """Per-channel thresholds (n_channels,) of normal ``errors`` (n_steps, n_channels)."""
        return np.percentile(errors, self.q, axis=0)

    def _matrix(self, errors) -> np.ndarray:
        """Validate ``errors`` (n_steps, n_channels) and return it as a float array."""
        values = np.asarray(errors)
        if values.ndim != 2 or values.size == 0:
            raise DataError(f"errors: expected a non-empty (n_steps, n_channels) matrix of per-channel errors, "
                            f"got shape {values.shape}")
        if values.dtype.kind not in "biufO":
            raise DataError(f"errors: expected numbers, got dtype {values.dtype}")
        try:
            values = values.astype(np.float64)
        except (TypeError, ValueError):
            raise DataError("errors: expected numbers, got non-numeric values") from None
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            row, col = np.argwhere(bad)[0]
            raise DataError(f"errors: value {values[row, col]} at row {row}, channel {col}; "
                            "errors must be finite and >= 0")
        names = [str(c) for c in errors.columns] if hasattr(errors, "columns") else None
        if names is not None and len(set(names)) < len(names):
            raise DataError(f"errors: duplicate channel names in {names}")
        if not hasattr(self, "thresholds_"):
            return values
        if names is not None and self.channels_ is not None and names != self.channels_:
            missing = [c for c in self.channels_ if c not in names]
            extra = [c for c in names if c not in self.channels_]
            detail = (f"missing {missing}, unexpected {extra}" if missing or extra
                      else f"same channels in another order, expected {self.channels_}")
            raise DataError(f"errors: channels differ from fit ({detail})")
        if values.shape[1] != len(self.thresholds_):
            raise DataError(f"errors: {values.shape[1]} channels, fitted on {len(self.thresholds_)}")
        return values

    def fit(self, errors, *, rules=None) -> PerChannel:
        """Fit one threshold per channel on errors of normal data.

        Parameters
        ----------
        errors : pandas.DataFrame or array-like of shape (n_steps, n_channels)
            Finite per-channel errors (>= 0) of normal rows.
        rules : ignored
            Accepted as :meth:`Threshold.fit` accepts it.

        Returns
        -------
        self

        Raises
        ------
        DataError
            If ``errors`` is not a non-empty 2-D numeric matrix of finite values >= 0, or has
            duplicate column names.
        ConfigError
            If ``q`` is out of range.
        """
        self._check_params()
        for name in ("thresholds_", "channels_"):
            self.__dict__.pop(name, None)
        values = self._matrix(errors)
        self.channels_ = [str(c) for c in errors.columns] if hasattr(errors, "columns") else None
        self.thresholds_ = self._compute(values)
        logger.debug("%r fitted on %d rows: thresholds_=%s", self, len(values), self.thresholds_)
        return self

    def normalise(self, errors) -> np.ndarray:
        """Errors divided by each channel's threshold.

        A channel whose threshold is 0 gives 0 where its error is 0 and inf elsewhere.

        Parameters
        ----------
        errors : pandas.DataFrame or array-like of shape (n_steps, n_channels)

        Returns
        -------
        numpy.ndarray of shape (n_steps, n_channels)
            Above 1.0 exactly where :meth:`exceeded` is True.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        DataError
            If ``errors`` is invalid or its channels differ from the fitted ones.
        """
        values = self._checked(errors)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(values == 0, 0.0, values / self.thresholds_)

    def _checked(self, errors) -> np.ndarray:
        if not hasattr(self, "thresholds_"):
            raise NotFittedError("PerChannel is not fitted: call fit(normal_errors) first")
        return self._matrix(errors)

    def exceeded(self, errors):
        """Which channels fired: ``errors > thresholds_``.

        Parameters
        ----------
        errors : pandas.DataFrame or array-like of shape (n_steps, n_channels)

        Returns
        -------
        numpy.ndarray or pandas.DataFrame of shape (n_steps, n_channels), dtype bool
            A DataFrame with the same index and columns if ``errors`` is a DataFrame.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        DataError
            If ``errors`` is invalid or its channels differ from the fitted ones.
        """
        fired = self._checked(errors) > self.thresholds_
        if isinstance(errors, pd.DataFrame):
            return pd.DataFrame(fired, index=errors.index, columns=errors.columns)
        return fired

    def apply(self, errors):
        """Flag rows where any channel exceeds its threshold.

        Parameters
        ----------
        errors : pandas.DataFrame or array-like of shape (n_steps, n_channels)

        Returns
        -------
        numpy.ndarray or pandas.Series of shape (n_steps,), dtype bool
            A Series with the same index if ``errors`` is a DataFrame.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        DataError
            If ``errors`` is invalid or its channels differ from the fitted ones.
        """
        fired = (self._checked(errors) > self.thresholds_).any(axis=1)
        if isinstance(errors, pd.DataFrame):
            return pd.Series(fired, index=errors.index)
        return fired

    def _restore(self, value: float | None, state: dict) -> None:
        """Fitted iff ``state`` is saved; ``value`` is None, or 1.0 in files of older versions."""
        if value is None and not state:
            return
        self._set_state(state)

    def _state(self) -> dict:
        return {"thresholds_": [float(t) for t in self.thresholds_], "channels_": self.channels_}

    def _set_state(self, state: dict) -> None:
        thresholds = np.asarray(state["thresholds_"], dtype=np.float64)
        if thresholds.ndim != 1 or thresholds.size == 0 or not (np.isfinite(thresholds) & (thresholds >= 0)).all():
            raise ValueError("thresholds_ must be a non-empty list of finite numbers >= 0")
        channels = state["channels_"]
        if channels is not None and (not isinstance(channels, list) or len(channels) != len(thresholds)
                                     or not all(isinstance(c, str) for c in channels)):
            raise ValueError(f"channels_ must be null or {len(thresholds)} strings")
        self.thresholds_, self.channels_ = thresholds, channels
