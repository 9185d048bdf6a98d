"""Peaks-over-threshold (POT/SPOT): an extreme-value threshold with a streaming update."""

from __future__ import annotations

import logging
import numbers

import numpy as np

from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds.base import Threshold
from anomaly.validation import as_like, as_scores, check_number

__all__ = ["POT"]

logger = logging.getLogger(__name__)


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
    from scipy.optimize import brentq  # SciPy only where a POT threshold is fitted, never to score

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
