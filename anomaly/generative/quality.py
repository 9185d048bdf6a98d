"""Two-sample tests for generated windows: are they distributed like real ones?

* :func:`mmd_test`: squared maximum mean discrepancy (Gretton et al., JMLR 2012) with a
  Gaussian kernel, its bandwidth set by the median heuristic, and a permutation p-value.
* :func:`classifier_test`: a classifier two-sample test (Lopez-Paz & Oquab, ICLR 2017):
  held-out accuracy of a classifier telling the two samples apart; 0.5 means
  indistinguishable to that classifier.

Samples are arrays of shape (n, ...) (e.g. windows (n, window, n_channels)); each sample is
flattened to (n, d). Compare them in the units the distances should be measured in
(scaled units for sensor windows, so every channel counts alike).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binomtest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split

from anomaly.errors import ConfigError, DataError
from anomaly.validation import check_number


def _as_samples(X, Y) -> tuple[np.ndarray, np.ndarray]:
    """Both samples as finite float64 (n, d) arrays with the same d and n >= 2."""
    out = []
    for name, sample in (("X", X), ("Y", Y)):
        try:
            arr = np.asarray(sample, dtype=np.float64)
        except (TypeError, ValueError):
            raise DataError(f"{name}: expected numbers of shape (n, ...)") from None
        if arr.ndim < 2 or arr.shape[0] < 2:
            raise DataError(f"{name}: expected shape (n, ...) with n >= 2 samples, got {arr.shape}")
        if not np.isfinite(arr).all():
            raise DataError(f"{name}: {int((~np.isfinite(arr)).sum())} NaN/inf value(s)")
        out.append(arr.reshape(arr.shape[0], -1))
    if out[0].shape[1] != out[1].shape[1]:
        raise DataError(f"X and Y must have the same sample shape, got {np.shape(X)[1:]} and {np.shape(Y)[1:]}")
    return out[0], out[1]


def _squared_distances(Z: np.ndarray) -> np.ndarray:
    """Pairwise squared Euclidean distances of the rows of Z (n, d); shape (n, n)."""
    sq = np.einsum("ij,ij->i", Z, Z)
    return np.maximum(sq[:, None] + sq[None, :] - 2.0 * Z @ Z.T, 0.0)


def median_bandwidth(X, Y) -> float:
    """Median heuristic: the median pairwise distance between distinct points of the pooled sample."""
    X, Y = _as_samples(X, Y)
    D = _squared_distances(np.concatenate([X, Y]))
    off = D[np.triu_indices_from(D, k=1)]
    positive = off[off > 0]
    return float(np.median(np.sqrt(positive))) if positive.size else 1.0


def _pooled_kernel(X: np.ndarray, Y: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian kernel matrix of the pooled sample with a zero diagonal, shape (n + m, n + m)."""
    K = np.exp(-_squared_distances(np.concatenate([X, Y])) / (2.0 * sigma**2))
    np.fill_diagonal(K, 0.0)
    return K


def _mmd2_from_kernel(K: np.ndarray, in_x: np.ndarray, total: float) -> float:
    """Unbiased MMD^2 of the rows marked by ``in_x`` (bool, (N,)) vs the others, from the pooled
    zero-diagonal kernel ``K`` and its sum ``total``."""
    n = int(in_x.sum())
    m = len(in_x) - n
    kx = K @ in_x.astype(np.float64)
    xx = float(kx[in_x].sum())
    xy = float(kx[~in_x].sum())
    yy = total - xx - 2.0 * xy
    return xx / (n * (n - 1)) + yy / (m * (m - 1)) - 2.0 * xy / (n * m)


def _labels(n: int, m: int) -> np.ndarray:
    return np.concatenate([np.ones(n, dtype=bool), np.zeros(m, dtype=bool)])


def mmd2(X, Y, *, bandwidth: float | None = None) -> float:
    """Unbiased estimate of the squared MMD between samples X (n, ...) and Y (m, ...).

    Kernel ``k(x, y) = exp(-||x - y||^2 / (2 * bandwidth^2))``; ``bandwidth=None`` uses
    :func:`median_bandwidth`. The estimate is 0 in expectation when both samples come from
    one distribution (so it can be slightly negative) and at most 2.
    """
    X, Y = _as_samples(X, Y)
    sigma = median_bandwidth(X, Y) if bandwidth is None else check_number("bandwidth", bandwidth, low=0, low_open=True)
    K = _pooled_kernel(X, Y, sigma)
    return _mmd2_from_kernel(K, _labels(len(X), len(Y)), float(K.sum()))


@dataclass(frozen=True)
class MMDResult:
    """``mmd2`` (unbiased squared MMD), ``p_value`` (permutation test: share of label
    permutations with an MMD^2 at least as large, counting the observed one), ``bandwidth``."""

    mmd2: float
    p_value: float
    bandwidth: float
    n_permutations: int


def mmd_test(X, Y, *, bandwidth: float | None = None, n_permutations: int = 200, seed: int = 0) -> MMDResult:
    """Permutation test of "X and Y come from the same distribution" with the MMD statistic.

    Parameters
    ----------
    X, Y : array-like of shape (n, ...) and (m, ...), n, m >= 2
    bandwidth : float or None
        Gaussian kernel width; None: median heuristic on the pooled sample.
    n_permutations : int, default=200
        The smallest possible p-value is ``1 / (n_permutations + 1)``.
    seed : int, default=0

    Returns
    -------
    MMDResult
    """
    X, Y = _as_samples(X, Y)
    check_number("n_permutations", n_permutations, low=1, integer=True)
    sigma = median_bandwidth(X, Y) if bandwidth is None else check_number("bandwidth", bandwidth, low=0, low_open=True)
    K = _pooled_kernel(X, Y, sigma)
    total, labels = float(K.sum()), _labels(len(X), len(Y))
    observed = _mmd2_from_kernel(K, labels, total)
    rng = np.random.default_rng(seed)
    exceed = sum(_mmd2_from_kernel(K, rng.permutation(labels), total) >= observed for _ in range(n_permutations))
    return MMDResult(observed, (exceed + 1) / (n_permutations + 1), float(sigma), int(n_permutations))


@dataclass(frozen=True)
class ClassifierTestResult:
    """Held-out ``accuracy`` telling X from Y, its one-sided binomial ``p_value`` against
    chance (0.5), and the number of held-out samples ``n_test``."""

    accuracy: float
    p_value: float
    n_test: int


def classifier_test(X, Y, *, classifier=None, test_fraction: float = 0.5, seed: int = 0) -> ClassifierTestResult:
    """Classifier two-sample test: train on part of X (label 0) and Y (label 1), score the rest.

    Parameters
    ----------
    X, Y : array-like of shape (n, ...) and (m, ...)
        Use equal sizes so that chance accuracy is 0.5.
    classifier : scikit-learn classifier or None
        None: ``HistGradientBoostingClassifier(max_iter=100)``.
    test_fraction : float, default=0.5
        Held-out share of the samples (stratified).
    seed : int, default=0
    """

    X, Y = _as_samples(X, Y)
    if not isinstance(test_fraction, (int, float)) or not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction={test_fraction!r} must be in (0, 1)")
    features = np.concatenate([X, Y])
    labels = np.concatenate([np.zeros(len(X), dtype=int), np.ones(len(Y), dtype=int)])
    try:
        train_x, test_x, train_y, test_y = train_test_split(features, labels, test_size=test_fraction, stratify=labels,
                                                            random_state=seed)
    except ValueError as exc:  # too few samples for a stratified split
        raise DataError(f"cannot split {len(X)} + {len(Y)} samples for a classifier test ({exc})") from None
    model = HistGradientBoostingClassifier(max_iter=100, random_state=seed) if classifier is None else clone(classifier)
    correct = int((model.fit(train_x, train_y).predict(test_x) == test_y).sum())
    return ClassifierTestResult(correct / len(test_y), float(binomtest(correct, len(test_y), 0.5, alternative="greater").pvalue),
                                len(test_y))
