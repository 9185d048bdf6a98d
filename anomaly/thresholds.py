"""Thresholds turning anomaly scores into flags, fitted on normal scores only.

A threshold is fitted on scores of normal (training/validation) data, never on
labels, and flags ``scores > threshold_``: fixed rules (:class:`Percentile`,
:class:`KSigma`, :class:`SkabUCL`), adaptive ones (:class:`POT`, an extreme-value tail
with a streaming update; :class:`Dynamic`, on EWMA-smoothed errors) and
:class:`PerChannel` on the per-channel error matrix. Thresholds are saved as plain JSON
via :meth:`Threshold.to_dict` / :func:`threshold_from_dict`, never pickled.
"""

from __future__ import annotations

import inspect
import logging
import numbers
from abc import ABC, abstractmethod

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.validation import as_flags, as_like, as_scores, check_number, to_jsonable

__all__ = ["Threshold", "Percentile", "KSigma", "SkabUCL", "POT", "Dynamic", "PerChannel",
           "THRESHOLDS", "threshold_from_dict", "persistence"]

logger = logging.getLogger(__name__)


class Threshold(ABC):
    """Base class: a scalar threshold ``threshold_`` fitted on normal scores.

    Subclasses store their constructor parameters unchanged, and implement
    ``_check_params`` (raise :class:`ConfigError` on bad values) and
    ``_compute(scores) -> float``.
    """

    @classmethod
    def _param_names(cls) -> list[str]:
        return [name for name in inspect.signature(cls.__init__).parameters if name != "self"]

    def get_params(self, deep: bool = True) -> dict:
        """Return the constructor parameters as a dict ``{name: value}``.

        ``deep`` is accepted for scikit-learn compatibility (``clone``, nested
        ``get_params``); thresholds have no nested estimators.
        """
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params) -> "Threshold":
        """Set constructor parameters (scikit-learn compatible); returns self.

        Raises
        ------
        ConfigError
            If a name is not a constructor parameter.
        """
        unknown = sorted(params.keys() - set(self._param_names()))
        if unknown:
            raise ConfigError(
                f"{type(self).__name__} params {unknown} are unknown: allowed are {self._param_names()}"
            )
        for name, value in params.items():
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    @abstractmethod
    def _check_params(self) -> None:
        """Raise :class:`ConfigError` on a bad parameter value."""

    @abstractmethod
    def _compute(self, scores: np.ndarray) -> float:
        """The threshold for finite normal ``scores`` of shape (n,)."""

    def fit(self, scores) -> "Threshold":
        """Fit ``threshold_`` on scores of normal data.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            Finite anomaly scores of normal rows.

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

    def to_dict(self) -> dict:
        """Return a JSON-serialisable description, inverse of :func:`threshold_from_dict`.

        Returns
        -------
        dict
            ``{"kind": class name, "params": {...}, "threshold_": float or None}``
            (None if not fitted).
        """
        return {
            "kind": type(self).__name__,
            "params": {k: to_jsonable(v) for k, v in self.get_params().items()},
            "threshold_": getattr(self, "threshold_", None),
            "state": self._state() if hasattr(self, "threshold_") else {},
        }

    def _state(self) -> dict:
        """Fitted state beyond ``threshold_`` that a streaming threshold needs (JSON-able)."""
        return {}

    def _set_state(self, state: dict) -> None:
        """Inverse of :meth:`_state`."""


class Percentile(Threshold):
    """``threshold_ = np.percentile(scores, q)`` (linear interpolation).

    Parameters
    ----------
    q : float, default 99.0
        Percentile in (0, 100].
    """

    def __init__(self, q=99.0):
        self.q = q

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)

    def _compute(self, scores: np.ndarray) -> float:
        return np.percentile(scores, self.q)


class KSigma(Threshold):
    """``threshold_ = mean(scores) + k * std(scores)`` (population std, ddof=0).

    Parameters
    ----------
    k : float, default 3.0
        Number of standard deviations, >= 0.
    """

    def __init__(self, k=3.0):
        self.k = k

    def _check_params(self) -> None:
        check_number("k", self.k, low=0)

    def _compute(self, scores: np.ndarray) -> float:
        return scores.mean() + self.k * scores.std()


class SkabUCL(Threshold):
    """SKAB notebooks' upper control limit: ``factor * np.percentile(scores, q)``.

    Meant for non-negative scores such as absolute or squared residuals.

    Parameters
    ----------
    q : float, default 99.0
        Percentile of the training residuals, in (0, 100].
    factor : float, default 1.5
        Multiplier, > 0.
    """

    def __init__(self, q=99.0, *, factor=1.5):
        self.q = q
        self.factor = factor

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)
        check_number("factor", self.factor, low=0, low_open=True)

    def _compute(self, scores: np.ndarray) -> float:
        return self.factor * np.percentile(scores, self.q)


def _check_open_probability(name: str, value) -> None:
    """Raise :class:`ConfigError` unless ``value`` is a real number in the open interval (0, 1)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 < value < 1.0:
        raise ConfigError(f"{name}={value!r} is not allowed: must be a finite number in (0, 1)")


def _gpd_grimshaw(peaks: np.ndarray) -> tuple[float, float]:
    """Maximum-likelihood GPD fit (location 0) of excesses by Grimshaw's procedure.

    As in Siffer et al. (2017, sec. 3.2): with ``x = gamma / sigma`` the likelihood
    equations reduce to ``u(x) v(x) = 1`` where ``u(x) = mean(1 / (1 + x Y))`` and
    ``v(x) = 1 + mean(log(1 + x Y))``; every root gives ``gamma = v(x) - 1`` and
    ``sigma = gamma / x``. The roots are bracketed on grids over ``(-1 / Y_max, 0)`` and
    ``(0, 2 (mean - Y_min) / Y_min**2)`` (scaled so that ``mean(Y) = 1``), refined with
    Brent's method, and the candidate of highest likelihood wins; the exponential
    (``gamma = 0``, ``sigma = mean(Y)``), the ``x -> 0`` limit, is always a candidate.
    Cost: O(160 * N_t) for the grids plus O(N_t) per Brent step.

    Parameters
    ----------
    peaks : numpy.ndarray of shape (N_t,)
        Positive excesses, not all equal.

    Returns
    -------
    gamma, sigma : float
        Shape and scale.
    """
    from scipy.optimize import brentq

    scale = float(peaks.mean())
    y = peaks / scale  # mean 1: the grids below are scale-free

    def w(x):
        t = 1.0 + np.multiply.outer(x, y)
        return np.mean(1.0 / t, axis=-1) * (1.0 + np.mean(np.log(t), axis=-1)) - 1.0

    y_min, y_max = float(y.min()), float(y.max())
    # x / (-1 / y_max) in (0, 1), dense near both ends (the x -> 0 end stops short of the trivial root 0)
    fractions = np.concatenate([np.geomspace(1e-6, 0.5, 40, endpoint=False), 1.0 - np.geomspace(0.5, 1e-12, 40)])
    left = -fractions[::-1] / y_max
    right = np.geomspace(1e-6, max(2.0 * (1.0 - y_min) / y_min**2, 1e-5), 80)
    best_gamma, best_sigma, best_cost = 0.0, 1.0, 0.0  # exponential; cost = -loglik / N_t - 1
    for grid in (left, right):
        values = w(grid)
        for i in np.flatnonzero(np.sign(values[:-1]) * np.sign(values[1:]) < 0):
            x = brentq(lambda s: float(w(s)), grid[i], grid[i + 1], xtol=1e-14)
            gamma = float(np.mean(np.log1p(x * y)))
            sigma = gamma / x
            cost = np.log(sigma) + gamma  # -loglik / N_t = log(sigma) + 1 + gamma at a root
            if np.isfinite(cost) and cost < best_cost:
                best_gamma, best_sigma, best_cost = gamma, sigma, cost
    return best_gamma, best_sigma * scale


class POT(Threshold):
    """Peaks-over-threshold: an extreme-value threshold (Siffer et al., KDD 2017).

    The ``level`` quantile ``t`` of the normal scores is an initial threshold; the ``N_t``
    excesses over it are fitted with a generalised Pareto distribution (GPD, location 0,
    shape ``gamma_``, scale ``sigma_``) by maximum likelihood with Grimshaw's procedure,
    as in the paper, and the final threshold is the score exceeded with probability ``q``::

        threshold_ = t + sigma_ / gamma_ * ((q * n_ / N_t) ** -gamma_ - 1)   (gamma_ != 0)
        threshold_ = t - sigma_ * log(q * n_ / N_t)                          (gamma_ == 0)

    The first form is evaluated with ``expm1``, so it tends smoothly to the second (the
    exponential tail) as ``gamma_ -> 0``. Degenerate cases: with fewer than ``MIN_PEAKS``
    excesses, or all equal, the exponential tail is used (``gamma_ = 0``, ``sigma_`` = their
    mean, the exponential's maximum-likelihood scale); with no excess at all, and whenever
    fewer than ``q * n_`` scores exceed ``t`` (ties), ``threshold_ = t``.

    :meth:`update` is the streaming form (SPOT): a score above ``threshold_`` is an alarm and
    leaves the model unchanged; any other score increments ``n_``, and one above ``t`` joins
    ``peaks_`` and refits the GPD and ``threshold_``. As in the paper, alarms never enter
    the model, so the tail is learnt slightly censored and the streaming alarm rate on
    stationary data runs above ``q`` (about 1.5 q for Gaussian scores at ``q=5e-3``), while
    :meth:`apply` with the fitted threshold stays near ``q``. :meth:`apply` only compares,
    it never learns.

    Parameters
    ----------
    q : float, default=1e-3
        Target probability of exceeding the threshold on normal data, in (0, 1 - level).
    level : float, default=0.98
        Quantile of the initial threshold, in (0, 1).

    Attributes
    ----------
    threshold_ : float
        Final threshold.
    init_threshold_ : float
        Initial threshold ``t``.
    gamma_, sigma_ : float
        GPD shape and scale of the excesses.
    n_ : int
        Normal scores seen (fit plus non-alarm updates).
    peaks_ : numpy.ndarray of shape (N_t,)
        Excesses over ``init_threshold_`` (fit plus updates), all > 0.
    """

    MIN_PEAKS = 10

    def __init__(self, q=1e-3, *, level=0.98):
        self.q = q
        self.level = level

    def _check_params(self) -> None:
        _check_open_probability("level", self.level)
        _check_open_probability("q", self.q)
        if self.q >= 1.0 - self.level:
            raise ConfigError(f"q={self.q!r} is not allowed with level={self.level!r}: "
                              f"must be in (0, 1 - level) = (0, {1.0 - self.level:g})")

    def _compute(self, scores: np.ndarray) -> float:
        self.init_threshold_ = float(np.quantile(scores, self.level))
        self.peaks_ = scores[scores > self.init_threshold_] - self.init_threshold_
        self.n_ = len(scores)
        if len(self.peaks_) < self.MIN_PEAKS:
            logger.warning("POT: only %d score(s) above the initial threshold %g (a GPD fit needs %d); "
                           "using the exponential tail", len(self.peaks_), self.init_threshold_, self.MIN_PEAKS)
        return self._fit_tail()

    def _fit_tail(self) -> float:
        """Fit ``gamma_`` and ``sigma_`` on ``peaks_`` and return the final threshold."""
        peaks, t = self.peaks_, self.init_threshold_
        self.gamma_, self.sigma_ = 0.0, float(peaks.mean()) if len(peaks) else 0.0
        if len(peaks) >= self.MIN_PEAKS and np.ptp(peaks) > 0:
            self.gamma_, self.sigma_ = _gpd_grimshaw(peaks)
        ratio = self.q * self.n_ / len(peaks) if len(peaks) else 1.0
        if ratio >= 1.0:
            return t
        log_ratio = np.log(ratio)
        if self.gamma_ == 0.0:
            return float(t - self.sigma_ * log_ratio)
        return float(t + self.sigma_ * np.expm1(-self.gamma_ * log_ratio) / self.gamma_)

    def _check_fitted(self) -> None:
        if not hasattr(self, "threshold_"):
            raise NotFittedError("POT is not fitted: call fit(normal_scores) first")

    def update(self, score) -> bool:
        """Streaming step (SPOT): say whether ``score`` is an alarm, else learn from it.

        Each score that joins the peaks refits the GPD (Grimshaw, O(N_t) per refit, about a
        millisecond for a thousand peaks): fine for streams adding up to a few thousand peaks;
        refit less often, or refit a new POT on recent data, beyond that.

        Parameters
        ----------
        score : float
            One finite score.

        Returns
        -------
        bool
            ``score > threshold_`` (checked before learning from ``score``).

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        DataError
            If ``score`` is not one finite number.
        """
        self._check_fitted()
        if np.ndim(score) != 0:
            raise DataError(f"score: expected one number, got shape {np.shape(score)}")
        value = float(as_scores([score], name="score")[0])
        if value > self.threshold_:
            return True
        self.n_ += 1
        if value > self.init_threshold_:
            self.peaks_ = np.append(self.peaks_, value - self.init_threshold_)
            self.threshold_ = self._fit_tail()
        return False

    def update_many(self, scores):
        """The streaming path: :meth:`update` on each score in order.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            Finite scores, oldest first.

        Returns
        -------
        numpy.ndarray or pandas.Series of shape (n,), dtype bool
            The alarms; a Series with the same index if ``scores`` is a Series.

        Raises
        ------
        NotFittedError
            If called before :meth:`fit`.
        DataError
            If ``scores`` is empty, not 1-D or holds NaN/inf (checked before any update).
        """
        self._check_fitted()
        values = as_scores(scores)
        return as_like(scores, np.array([self.update(s) for s in values], dtype=bool))

    def _state(self) -> dict:
        return {"init_threshold_": self.init_threshold_, "gamma_": self.gamma_, "sigma_": self.sigma_,
                "n_": int(self.n_), "peaks_": [float(p) for p in self.peaks_]}

    def _set_state(self, state: dict) -> None:
        self.init_threshold_ = float(check_number("init_threshold_", state["init_threshold_"]))
        self.gamma_ = float(check_number("gamma_", state["gamma_"]))
        self.sigma_ = float(check_number("sigma_", state["sigma_"], low=0.0))
        self.peaks_ = np.asarray(state["peaks_"], dtype=np.float64).reshape(-1)
        if not (np.isfinite(self.peaks_) & (self.peaks_ > 0)).all():
            raise ValueError("peaks_ must be finite numbers > 0")
        self.n_ = int(check_number("n_", state["n_"], low=len(self.peaks_), integer=True))


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
    judged unsmoothed; no state is carried from one :meth:`apply` call to the next.

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
        if not hasattr(self, "threshold_"):
            raise NotFittedError("Dynamic is not fitted: call fit(normal_scores) first")
        smoothed = self._smooth(as_scores(scores), self.mean_)
        epsilon = np.full(len(smoothed), self.threshold_)
        if self.window is not None:
            for end in range(self.window, len(smoothed) + 1):
                z, mean, std = self._select(smoothed[end - self.window:end])
                epsilon[end - 1] = mean + z * std
        return as_like(scores, smoothed > epsilon)

    def _state(self) -> dict:
        return {"z_": self.z_, "mean_": self.mean_, "std_": self.std_, "span_": self.span_}

    def _set_state(self, state: dict) -> None:
        self.z_ = float(check_number("z_", state["z_"]))
        self.mean_ = float(check_number("mean_", state["mean_"]))
        self.std_ = float(check_number("std_", state["std_"], low=0.0))
        self.span_ = float(check_number("span_", state["span_"], low=1.0))


class PerChannel(Threshold):
    """One percentile threshold per channel of the per-channel error matrix.

    Works on errors of shape (n_steps, n_channels) (``Detector.errors``: finite, >= 0), not
    on scores: a row is flagged when any channel exceeds its own threshold, and
    :meth:`exceeded` says which channels fired (attribution). :meth:`normalise` divides
    each channel by its threshold, so on that scale every channel's threshold, and
    ``threshold_``, is 1.0. A DataFrame must have the fitted channels in the fitted order;
    arrays (or frames when fitted on an array) are matched by position.

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
    threshold_ : float
        1.0, the threshold on the :meth:`normalise` scale.
    """

    def __init__(self, q=99.0):
        self.q = q

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)

    def _compute(self, errors: np.ndarray) -> float:
        self.thresholds_ = np.percentile(errors, self.q, axis=0)
        return 1.0

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

    def fit(self, errors) -> "PerChannel":
        """Fit one threshold per channel on errors of normal data.

        Parameters
        ----------
        errors : pandas.DataFrame or array-like of shape (n_steps, n_channels)
            Finite per-channel errors (>= 0) of normal rows.

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
        for name in ("thresholds_", "channels_", "threshold_"):
            self.__dict__.pop(name, None)
        values = self._matrix(errors)
        self.channels_ = [str(c) for c in errors.columns] if hasattr(errors, "columns") else None
        self.threshold_ = float(self._compute(values))
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


THRESHOLDS: dict[str, type[Threshold]] = {
    "percentile": Percentile,
    "ksigma": KSigma,
    "skab-ucl": SkabUCL,
    "pot": POT,
    "dynamic": Dynamic,
}
"""CLI name -> threshold class for a detector's scores (n,). ``PerChannel`` is not here: it
thresholds the per-channel error matrix (n, n_channels), not a score."""


def threshold_from_dict(d: dict) -> Threshold:
    """Rebuild a threshold from :meth:`Threshold.to_dict` output.

    JSON arrays in ``params`` become tuples (JSON has no tuples). Dicts without ``"state"``
    (saved before it existed) load as long as the kind needs no fitted state, and a
    ``Dynamic`` saved with the former ``span`` parameter loads with that span as ``span_``.

    Parameters
    ----------
    d : dict
        ``{"kind": class name, "params": {...}, "threshold_": float or None,
        "state": {...}}``.

    Returns
    -------
    Threshold
        Fitted if ``d["threshold_"]`` is a number, else unfitted.

    Raises
    ------
    ConfigError
        If ``d`` is malformed, ``kind`` is unknown, a parameter is unknown or out of
        range, ``threshold_`` is not a finite number or None, or the fitted state is
        missing or malformed.
    """
    kinds = {cls.__name__: cls for cls in (*THRESHOLDS.values(), PerChannel)}
    if not isinstance(d, dict) or not {"kind", "params"} <= d.keys() or not isinstance(d["params"], dict):
        raise ConfigError(f"threshold dict {d!r} is malformed: need keys 'kind' and 'params' (a dict)")
    cls = kinds.get(d["kind"])
    if cls is None:
        raise ConfigError(f"threshold kind {d['kind']!r} is unknown: allowed are {sorted(kinds)}")
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in d["params"].items()}
    state = dict(d.get("state") or {})
    if cls is Dynamic and "span" in params:
        span = params.pop("span")
        state.setdefault("span_", span)
        logger.warning("Dynamic threshold saved with span=%r: loaded with span_=%r and default window/smoothing",
                       span, span)
    threshold = cls().set_params(**params)
    threshold._check_params()
    value = d.get("threshold_")
    if value is not None:
        threshold.threshold_ = float(check_number("threshold_", value))
        try:
            threshold._set_state(state)
        except KeyError as exc:
            raise ConfigError(f"threshold state of {d['kind']} is malformed: missing {exc}") from None
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"threshold state of {d['kind']} is malformed: {exc}") from None
    return threshold


def persistence(flags, k: int):
    """Causal persistence rule: keep a flag only after ``k`` consecutive flags.

    ``out[t]`` is True only if ``flags[t-k+1 .. t]`` are all True, so the rule never
    adds flags, only delays/removes them; ``k=1`` returns the flags unchanged.
    O(n), vectorised via the length of the current run of True.

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
    positions = np.arange(len(values))
    last_false = np.maximum.accumulate(np.where(values, -1, positions))
    return as_like(flags, positions - last_false >= k)
