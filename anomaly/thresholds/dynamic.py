"""Dynamic threshold on EWMA-smoothed errors (Hundman et al., KDD 2018, "telemanom")."""

from __future__ import annotations

import logging
import numbers
from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, NotFittedError
from anomaly.thresholds.base import Threshold
from anomaly.validation import as_like, as_scores, check_number

__all__ = ["Dynamic", "DynamicChunkState"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, eq=False)
class DynamicChunkState:
    """What :meth:`Dynamic.apply_chunk` carries from one chunk to the next (treat as opaque).

    Attributes
    ----------
    level : float
        EWMA value just before ``context[0]`` (or before the next chunk if ``context`` is
        empty).
    context : numpy.ndarray of shape (m,), m <= window - 1
        The last scores seen, which the next chunk's trailing windows include.
    """

    level: float
    context: np.ndarray


class Dynamic(Threshold):
    """Non-parametric dynamic threshold on smoothed errors (Hundman et al., KDD 2018).

    Errors are smoothed with a causal EWMA (pandas ``ewm(span=span_, adjust=False)``) of
    span ``span_ = max(1, smoothing * L)``, ``L`` = ``window`` or, when ``window`` is None,
    the number of fit scores. On smoothed errors ``e`` (mean ``mu``, population std ``sd``)
    the threshold is ``epsilon = mu + z * sd`` with ``z`` in ``z_range`` (step ``z_step``)
    maximising the paper's criterion::

        (dmu / |mu| + dsd / sd) / (n_above + n_sequences ** 2)

    where ``dmu``/``dsd`` are the drops in mean/std of ``e`` once the points above
    ``epsilon`` are removed, ``n_above`` is their number and ``n_sequences`` the number of
    runs they form (``dmu / |mu|`` is taken as 0 if ``mu == 0``). Ties go to the larger
    ``z``, as in the authors' telemanom code; if no ``z`` leaves some but not all points
    above ``epsilon`` (e.g. ``sd == 0``), the largest ``z`` is used. Evaluating every ``z``
    costs O(L log L) (one sort, cumulative sums and binary searches).

    The EWMA starts from the mean of the fit scores in :meth:`fit` and from ``mean_`` in
    :meth:`apply`, instead of from the first score, so the first scores of a call are not
    judged unsmoothed; no state is carried from one :meth:`apply` call to the next. To apply
    the rule to a long series piece by piece, use :meth:`apply_chunk`, which carries the EWMA
    level and the trailing window from one chunk to the next.

    With ``window=None``, :meth:`apply` compares the smoothed new errors with the fitted
    ``threshold_``. With an int ``window`` (the paper's windowed mode), :meth:`apply`
    re-selects ``mu``, ``sd`` and ``z`` on each trailing window of ``window`` smoothed new
    errors and judges the window's last point against that window's ``epsilon`` (the first
    ``window - 1`` points use the fitted ``threshold_``); this costs O(n * window *
    log(window)) for n scores. Like the paper, this mode re-thresholds the new data itself, so
    it may flag the most outlying points of a purely normal window.

    Parameters
    ----------
    window : int or None, default=None
        Rolling window length (>= 2) of the windowed mode, also the EWMA length scale; None
        for one threshold fitted on the normal scores.
    smoothing : float, default=0.05
        EWMA span as a fraction of the window (or of the fit scores), in (0, 1].
    z_range : tuple of float, default=(2.0, 10.0)
        ``(low, high)`` bounds of ``z``, ``0 <= low <= high``.
    z_step : float, default=0.5
        Step of the ``z`` grid, > 0; the grid may hold at most ``MAX_Z_VALUES`` values.

    Attributes
    ----------
    threshold_ : float
        ``mean_ + z_ * std_``, on the smoothed scale.
    z_, mean_, std_ : float
        Chosen ``z`` and the mean and std of the smoothed fit scores.
    span_ : float
        EWMA span, >= 1.
    """

    MAX_Z_VALUES = 1000

    def __init__(self, window=None, *, smoothing=0.05, z_range=(2.0, 10.0), z_step=0.5):
        self.window = window
        self.smoothing = smoothing
        self.z_range = z_range
        self.z_step = z_step

    def _check_params(self) -> None:
        if self.window is not None:
            check_number("window", self.window, low=2, integer=True)
        check_number("smoothing", self.smoothing, low=0.0, high=1.0, low_open=True)
        check_number("z_step", self.z_step, low=0.0, low_open=True)
        z_range = self.z_range
        ok = (isinstance(z_range, (tuple, list)) and len(z_range) == 2
              and all(isinstance(z, numbers.Real) and not isinstance(z, bool) and np.isfinite(z) for z in z_range)
              and 0 <= z_range[0] <= z_range[1])
        if not ok:
            raise ConfigError(f"z_range={z_range!r} is not allowed: must be (low, high), finite numbers "
                              "with 0 <= low <= high")
        n_values = int(np.floor((z_range[1] - z_range[0]) / self.z_step + 1e-9)) + 1
        if n_values > self.MAX_Z_VALUES:
            raise ConfigError(f"z_range={z_range!r} with z_step={self.z_step!r} gives {n_values} values of z: "
                              f"at most {self.MAX_Z_VALUES} are allowed")

    def _z_values(self) -> np.ndarray:
        low, high = self.z_range
        return low + self.z_step * np.arange(int(np.floor((high - low) / self.z_step + 1e-9)) + 1)

    def _smooth(self, values: np.ndarray, start: float) -> np.ndarray:
        """Causal EWMA of ``values`` (n,) with span ``span_``, started from ``start``."""
        padded = pd.Series(np.concatenate([[start], values]))
        return padded.ewm(span=self.span_, adjust=False).mean().to_numpy()[1:]

    def _select(self, e: np.ndarray) -> tuple[float, float, float]:
        """``(z, mean, std)`` chosen on smoothed errors ``e`` of shape (m,) by the paper's criterion."""
        z_values = self._z_values()
        mean, std = float(e.mean()), float(e.std())
        if std == 0.0:
            return float(z_values[-1]), mean, std
        epsilon = mean + z_values * std
        order = np.sort(e)
        centred = order - mean
        sum1 = np.concatenate([[0.0], np.cumsum(centred)])
        sum2 = np.concatenate([[0.0], np.cumsum(centred**2)])
        n_kept = np.searchsorted(order, epsilon, side="right")  # points <= epsilon
        n_above = len(e) - n_kept
        # a run of points above epsilon starts at i unless e[i-1] is above too
        pair_min = np.sort(np.minimum(e[1:], e[:-1]))
        n_sequences = n_above - (len(pair_min) - np.searchsorted(pair_min, epsilon, side="right"))
        valid = (n_above > 0) & (n_kept > 0)
        if not valid.any():
            return float(z_values[-1]), mean, std
        kept = np.maximum(n_kept, 1)
        kept_mean = sum1[n_kept] / kept  # relative to mean
        kept_std = np.sqrt(np.maximum(sum2[n_kept] / kept - kept_mean**2, 0.0))
        drop_mean = -kept_mean / abs(mean) if mean != 0.0 else 0.0
        value = np.where(valid, (drop_mean + (std - kept_std) / std) / np.maximum(n_above + n_sequences**2, 1),
                         -np.inf)
        best = len(value) - 1 - int(np.argmax(value[::-1]))  # ties -> larger z
        return float(z_values[best]), mean, std

    def _compute(self, scores: np.ndarray) -> float:
        self.span_ = max(1.0, float(self.smoothing * (self.window if self.window is not None else len(scores))))
        self.z_, self.mean_, self.std_ = self._select(self._smooth(scores, float(scores.mean())))
        return self.mean_ + self.z_ * self.std_

    def _flags(self, values: np.ndarray, start: float) -> np.ndarray:
        """Flags (n,) of finite ``values`` (n,), oldest first, with the EWMA started from ``start``."""
        smoothed = self._smooth(values, start)
        epsilon = np.full(len(smoothed), self.threshold_)
        if self.window is not None:
            for end in range(self.window, len(smoothed) + 1):
                z, mean, std = self._select(smoothed[end - self.window:end])
                epsilon[end - 1] = mean + z * std
        return smoothed > epsilon

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise NotFittedError("Dynamic is not fitted: call fit(normal_scores) first")

    def apply(self, scores):
        """Flag scores whose EWMA-smoothed value exceeds the (windowed) threshold.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            Finite anomaly scores (errors), oldest first.

        Returns
        -------
        numpy.ndarray or pandas.Series of shape (n,), dtype bool
            A Series with the same index if ``scores`` is a Series, else an ndarray.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        DataError
            If ``scores`` is empty, not 1-D or holds NaN/inf.
        """
        self._check_fitted()
        return as_like(scores, self._flags(as_scores(scores), self.mean_))

    def apply_chunk(self, scores, state: DynamicChunkState | None = None):
        """:meth:`apply` on one chunk of a longer series, carrying the EWMA and the window.

        Feeding a series chunk by chunk, oldest first, each call with the state the previous
        call returned (None for the first chunk), gives exactly the flags :meth:`apply` gives
        on the whole series (bit for bit: the same floating-point operations in the same
        order). The state holds the EWMA level before the last ``window - 1`` scores and those
        scores (none with ``window=None``), which the next chunk smooths and re-thresholds
        again; a chunk costs what :meth:`apply` costs on ``window - 1`` more scores.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            The next chunk of finite scores, n >= 1.
        state : DynamicChunkState or None, default=None
            What the previous call returned; None at the start of the series (the EWMA then
            starts from ``mean_``, as in :meth:`apply`).

        Returns
        -------
        flags : numpy.ndarray or pandas.Series of shape (n,), dtype bool
            A Series with the same index if ``scores`` is a Series.
        state : DynamicChunkState
            Pass it with the next chunk.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        DataError
            If ``scores`` is empty, not 1-D or holds NaN/inf.

        Examples
        --------
        Flags of a file scored block by block::

            state = None
            for block_scores in blocks:
                flags, state = rule.apply_chunk(block_scores, state)
        """
        self._check_fitted()
        if state is None:
            state = DynamicChunkState(level=self.mean_, context=np.empty(0, dtype=np.float64))
        series = np.concatenate([state.context, as_scores(scores)])
        flags = self._flags(series, state.level)[len(state.context):]
        cut = len(series) - min(len(series), (self.window or 1) - 1)  # series[cut:] is seen again
        level = float(self._smooth(series[:cut], state.level)[-1]) if cut else state.level
        return as_like(scores, flags), DynamicChunkState(level=level, context=series[cut:])

    def _state(self) -> dict:
        return {"z_": self.z_, "mean_": self.mean_, "std_": self.std_, "span_": self.span_}

    def _set_state(self, state: dict) -> None:
        self.z_ = float(check_number("z_", state["z_"]))
        self.mean_ = float(check_number("mean_", state["mean_"]))
        self.std_ = float(check_number("std_", state["std_"], low=0.0))
        self.span_ = float(check_number("span_", state["span_"], low=1.0))

    @classmethod
    def from_dict(cls, d: dict) -> Dynamic:
        """:meth:`Threshold.from_dict`, also for a Dynamic saved with the former ``span``
        parameter, which loads with that span as ``span_`` and default window/smoothing."""
        params = d.get("params") if isinstance(d, dict) else None
        if isinstance(params, dict) and "span" in params:
            params = dict(params)
            span = params.pop("span")
            state = dict(d.get("state") or {})
            state.setdefault("span_", span)
            d = {**d, "params": params, "state": state}
            logger.warning("Dynamic threshold saved with span=%r: loaded with span_=%r and default window/smoothing",
                           span, span)
        return super().from_dict(d)
