"""Thresholds turning anomaly scores into flags, fitted on normal scores only.

A threshold is fitted on scores of normal (training/validation) data, never on
labels, and flags ``scores > threshold_``. Thresholds are saved as JSON via
:meth:`Threshold.to_dict` / :func:`threshold_from_dict`, plain JSON.
"""

from __future__ import annotations

import inspect
import logging
from abc import ABC, abstractmethod

import numpy as np

from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.validation import as_flags, as_like, as_scores, check_number, to_jsonable

__all__ = ["Threshold", "Percentile", "KSigma", "SkabUCL", "THRESHOLDS",
           "threshold_from_dict", "persistence"]

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


class POT(Threshold):
    """Peaks-over-threshold: an extreme-value threshold (Siffer et al., KDD 2017).

    The ``level`` quantile ``t`` of the normal scores is an initial threshold; the excesses
    over it are fitted with a generalised Pareto distribution (shape ``gamma_``, scale
    ``sigma_``; scipy's maximum-likelihood ``genpareto.fit`` with the location fixed at 0,
    not the paper's Grimshaw procedure), and the final threshold is the score exceeded with
    probability ``q``::

        threshold_ = t + sigma_ / gamma_ * ((q * n_ / N_t) ** -gamma_ - 1)   (gamma_ -> 0: t - sigma_ * log(q * n_ / N_t))

    With fewer than 10 excesses the exponential tail (gamma_ = 0, sigma_ = their mean) is used.
    :meth:`update` is the streaming form (SPOT): a score above the threshold is an alarm and
    leaves the model unchanged; any other score counts towards ``n_``, and one above ``t``
    joins the excesses and refits the tail.

    Parameters
    ----------
    q : float, default=1e-3
        Target probability of exceeding the threshold on normal data, in (0, 1).
    level : float, default=0.98
        Quantile of the initial threshold, in (0, 1).

    Attributes
    ----------
    threshold_, init_threshold_ : float
    gamma_, sigma_ : float
    n_ : int
        Normal scores seen (fit plus non-alarm updates).
    peaks_ : ndarray of shape (N_t,)
        Excesses over ``init_threshold_``.
    """

    MIN_PEAKS = 10

    def __init__(self, q=1e-3, *, level=0.98):
        self.q = q
        self.level = level

    def _check_params(self) -> None:
        check_number("q", self.q, low=0.0, high=1.0, low_open=True)
        check_number("level", self.level, low=0.0, high=1.0, low_open=True)
        if self.level >= 1.0 or self.q >= 1.0:
            raise ConfigError(f"q={self.q!r} and level={self.level!r} must be below 1")

    def _compute(self, scores: np.ndarray) -> float:
        self.init_threshold_ = float(np.quantile(scores, self.level))
        self.peaks_ = scores[scores > self.init_threshold_] - self.init_threshold_
        self.n_ = len(scores)
        return self._tail_quantile()

    def _tail_quantile(self) -> float:
        from scipy.stats import genpareto

        peaks, gamma, sigma = self.peaks_, 0.0, float(np.mean(self.peaks_)) if len(self.peaks_) else 0.0
        if len(peaks) >= self.MIN_PEAKS and np.ptp(peaks) > 0:
            with np.errstate(all="ignore"):
                shape, _, scale = genpareto.fit(peaks, floc=0.0)
            if np.isfinite(shape) and np.isfinite(scale) and scale > 0:
                gamma, sigma = float(shape), float(scale)
        self.gamma_, self.sigma_ = gamma, sigma
        if len(peaks) == 0:
            return self.init_threshold_
        ratio = self.q * self.n_ / len(peaks)
        if abs(gamma) < 1e-8:
            return float(self.init_threshold_ - sigma * np.log(ratio))
        return float(self.init_threshold_ + sigma / gamma * (ratio ** (-gamma) - 1.0))

    def update(self, score: float) -> bool:
        """Streaming step (SPOT): True if ``score`` is an alarm; otherwise learn from it."""
        if not hasattr(self, "threshold_"):
            raise NotFittedError("POT is not fitted: call fit(normal_scores) first")
        score = float(score)
        if not np.isfinite(score):
            raise DataError(f"score {score!r} is not finite")
        if score > self.threshold_:
            return True
        self.n_ += 1
        if score > self.init_threshold_:
            self.peaks_ = np.append(self.peaks_, score - self.init_threshold_)
            self.threshold_ = self._tail_quantile()
        return False

    def update_many(self, scores) -> np.ndarray:
        """:meth:`update` over a series; returns the alarms, shape (n,)."""
        return np.array([self.update(s) for s in as_scores(scores)], dtype=bool)

    def _state(self) -> dict:
        return {"init_threshold_": self.init_threshold_, "gamma_": self.gamma_, "sigma_": self.sigma_,
                "n_": int(self.n_), "peaks_": [float(p) for p in self.peaks_]}

    def _set_state(self, state: dict) -> None:
        self.init_threshold_ = float(state["init_threshold_"])
        self.gamma_, self.sigma_ = float(state["gamma_"]), float(state["sigma_"])
        self.n_ = int(state["n_"])
        self.peaks_ = np.asarray(state["peaks_"], dtype=np.float64)


class Dynamic(Threshold):
    """Non-parametric dynamic threshold on smoothed scores (Hundman et al., KDD 2018).

    Scores are smoothed with a causal EWMA of span ``span``; on the smoothed normal scores
    ``e`` the threshold is ``mean(e) + z * std(e)`` with ``z`` chosen in ``z_range`` (step
    ``z_step``) to maximise ``(dmean / mean + dstd / std) / (n_above + n_sequences ** 2)``,
    where ``dmean``/``dstd`` are the drops in mean and spread when the points above the
    threshold are removed (the paper's criterion; the windowed re-estimation of the paper is
    not implemented). :meth:`apply` smooths new scores with the same span before comparing.

    Parameters
    ----------
    span : int, default=30
    z_range : tuple of float, default=(2.0, 10.0)
    z_step : float, default=0.5

    Attributes
    ----------
    threshold_ : float, on the smoothed scale
    z_, mean_, std_ : float
    """

    def __init__(self, span=30, *, z_range=(2.0, 10.0), z_step=0.5):
        self.span = span
        self.z_range = z_range
        self.z_step = z_step

    def _check_params(self) -> None:
        check_number("span", self.span, low=1, integer=True)
        check_number("z_step", self.z_step, low=0.0, low_open=True)
        low, high = self.z_range
        if not 0 <= low <= high:
            raise ConfigError(f"z_range={self.z_range!r} must be (low, high) with 0 <= low <= high")

    def _smooth(self, scores: np.ndarray) -> np.ndarray:
        import pandas as pd

        return pd.Series(scores).ewm(span=self.span, adjust=False).mean().to_numpy()

    def _compute(self, scores: np.ndarray) -> float:
        from anomaly.events import event_ranges

        smoothed = self._smooth(scores)
        self.mean_, self.std_ = float(smoothed.mean()), float(smoothed.std())
        best, self.z_ = -np.inf, float(self.z_range[1])
        for z in np.arange(self.z_range[0], self.z_range[1] + 1e-9, self.z_step):
            epsilon = self.mean_ + z * self.std_
            above = smoothed > epsilon
            if not above.any() or above.all() or self.mean_ == 0 or self.std_ == 0:
                continue
            below = smoothed[~above]
            gain = (self.mean_ - below.mean()) / self.mean_ + (self.std_ - below.std()) / self.std_
            value = gain / (above.sum() + len(event_ranges(above)) ** 2)
            if value > best:
                best, self.z_ = value, float(z)
        return self.mean_ + self.z_ * self.std_

    def apply(self, scores):
        """Flags where the EWMA-smoothed ``scores`` (n,) exceed ``threshold_``; Series keep their index."""
        if not hasattr(self, "threshold_"):
            raise NotFittedError("Dynamic is not fitted: call fit(normal_scores) first")
        return as_like(scores, self._smooth(as_scores(scores)) > self.threshold_)

    def _state(self) -> dict:
        return {"z_": self.z_, "mean_": self.mean_, "std_": self.std_}

    def _set_state(self, state: dict) -> None:
        self.z_, self.mean_, self.std_ = float(state["z_"]), float(state["mean_"]), float(state["std_"])


class PerChannel(Threshold):
    """One percentile threshold per channel of the per-channel error matrix.

    Works on errors of shape (n_steps, n_channels) (``Detector.errors``), not on scores: a
    row is flagged when any channel exceeds its own threshold, and :meth:`exceeded` says which
    channels fired. :meth:`normalise` divides each channel by its threshold, so ``threshold_``
    is 1.0 on that scale.

    Parameters
    ----------
    q : float, default=99.0
        Percentile in (0, 100].

    Attributes
    ----------
    thresholds_ : ndarray of shape (n_channels,)
    channels_ : list of str or None
    threshold_ : float, 1.0 (the normalised scale)
    """

    def __init__(self, q=99.0):
        self.q = q

    def _check_params(self) -> None:
        check_number("q", self.q, low=0, high=100, low_open=True)

    def _compute(self, scores: np.ndarray) -> float:  # fit() is overridden; kept for the abstract contract
        return 1.0

    def _matrix(self, errors) -> np.ndarray:
        values = np.asarray(errors, dtype=np.float64)
        if values.ndim != 2 or values.size == 0:
            raise DataError(f"errors: expected a non-empty (n_steps, n_channels) matrix, got shape {values.shape}")
        if not np.isfinite(values).all():
            raise DataError("errors: NaN/inf values")
        channels = getattr(self, "channels_", None)
        if channels is not None and hasattr(errors, "columns") and [str(c) for c in errors.columns] != channels:
            missing = sorted(set(channels) - {str(c) for c in errors.columns})
            extra = sorted({str(c) for c in errors.columns} - set(channels))
            raise DataError(f"errors: channels differ from fit (missing {missing}, unexpected {extra}, or reordered)")
        return values

    def fit(self, errors) -> "PerChannel":
        """Fit one threshold per channel on normal errors (n_steps, n_channels)."""
        self._check_params()
        self.channels_ = None
        values = self._matrix(errors)
        self.thresholds_ = np.maximum(np.percentile(values, self.q, axis=0), np.finfo(float).tiny)
        self.channels_ = [str(c) for c in errors.columns] if hasattr(errors, "columns") else None
        self.threshold_ = 1.0
        return self

    def normalise(self, errors) -> np.ndarray:
        """Errors divided by each channel's threshold, shape (n_steps, n_channels)."""
        if not hasattr(self, "thresholds_"):
            raise NotFittedError("PerChannel is not fitted: call fit(normal_errors) first")
        return self._matrix(errors) / self.thresholds_

    def exceeded(self, errors):
        """Which channels fired, bool (n_steps, n_channels); a DataFrame if one is given."""
        fired = self.normalise(errors) > 1.0
        if hasattr(errors, "columns"):
            import pandas as pd

            return pd.DataFrame(fired, index=errors.index, columns=errors.columns)
        return fired

    def apply(self, errors):
        """Bool per row (n_steps,): any channel above its threshold; a Series if a DataFrame is given."""
        fired = np.asarray(self.exceeded(errors)).any(axis=1)
        if hasattr(errors, "index"):
            import pandas as pd

            return pd.Series(fired, index=errors.index)
        return fired

    def _state(self) -> dict:
        return {"thresholds_": [float(t) for t in self.thresholds_], "channels_": self.channels_}

    def _set_state(self, state: dict) -> None:
        self.thresholds_ = np.asarray(state["thresholds_"], dtype=np.float64)
        self.channels_ = state["channels_"]


THRESHOLDS: dict[str, type[Threshold]] = {
    "percentile": Percentile,
    "ksigma": KSigma,
    "skab-ucl": SkabUCL,
    "pot": POT,
    "dynamic": Dynamic,
}
"""CLI name -> threshold class for a detector's scores (``PerChannel`` works on error matrices)."""


def threshold_from_dict(d: dict) -> Threshold:
    """Rebuild a threshold from :meth:`Threshold.to_dict` output.

    Parameters
    ----------
    d : dict
        ``{"kind": class name, "params": {...}, "threshold_": float or None}``.

    Returns
    -------
    Threshold
        Fitted if ``d["threshold_"]`` is a number, else unfitted.

    Raises
    ------
    ConfigError
        If ``d`` is malformed, ``kind`` is unknown, a parameter is unknown or out of
        range, or ``threshold_`` is not a finite number or None.
    """
    kinds = {cls.__name__: cls for cls in (*THRESHOLDS.values(), PerChannel)}
    if not isinstance(d, dict) or not {"kind", "params"} <= d.keys() or not isinstance(d["params"], dict):
        raise ConfigError(f"threshold dict {d!r} is malformed: need keys 'kind' and 'params' (a dict)")
    cls = kinds.get(d["kind"])
    if cls is None:
        raise ConfigError(f"threshold kind {d['kind']!r} is unknown: allowed are {sorted(kinds)}")
    threshold = cls().set_params(**d["params"])
    threshold._check_params()
    value = d.get("threshold_")
    if value is not None:
        threshold.threshold_ = float(check_number("threshold_", value))
        try:
            threshold._set_state(d.get("state") or {})
        except (KeyError, TypeError, ValueError) as exc:
            raise ConfigError(f"threshold state of {d['kind']} is malformed ({exc!r})") from None
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
