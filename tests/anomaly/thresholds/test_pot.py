"""POT / SPOT: the extreme-value threshold, its Grimshaw GPD fit and its streaming update."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy.stats import genpareto

from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds import POT, threshold_from_dict


def round_trip(threshold):
    """Save to JSON text and load back, as model persistence does."""
    return threshold_from_dict(json.loads(json.dumps(threshold.to_dict())))


def test_exponential_tail_gives_the_true_quantile():
    scores = np.random.default_rng(0).exponential(1.0, 200_000)
    pot = POT(q=1e-4).fit(scores)
    assert abs(pot.gamma_) < 0.05
    assert pot.threshold_ == pytest.approx(-np.log(1e-4), rel=0.05)  # Exp(1) exceeds -log(q) with probability q
    assert pot.init_threshold_ == pytest.approx(-np.log(0.02), rel=0.02)
    assert pot.n_ == 200_000 and len(pot.peaks_) == 4000 and (pot.peaks_ > 0).all()


@pytest.mark.parametrize("gamma", [-0.2, 0.3])
def test_gpd_shape_and_quantile_are_recovered(gamma):
    scores = genpareto.rvs(gamma, scale=2.0, size=100_000, random_state=1)
    pot = POT(q=1e-4, level=0.95).fit(scores)
    assert pot.gamma_ == pytest.approx(gamma, abs=0.1)
    assert pot.threshold_ == pytest.approx(genpareto.ppf(1 - 1e-4, gamma, scale=2.0), rel=0.1)


@pytest.mark.parametrize("gamma, size", [(-0.4, 50), (0.0, 500), (0.5, 2000)])
def test_grimshaw_reaches_the_maximum_likelihood(gamma, size):
    scores = genpareto.rvs(gamma, size=size, random_state=2)
    pot = POT(q=1e-3, level=0.5).fit(scores)
    ours = genpareto.logpdf(pot.peaks_, pot.gamma_, scale=pot.sigma_).sum()
    shape, _, scale = genpareto.fit(pot.peaks_, floc=0.0)
    assert ours >= genpareto.logpdf(pot.peaks_, shape, scale=scale).sum() - 1e-6
    assert pot.gamma_ == pytest.approx(shape, abs=1e-3)


def test_higher_q_gives_a_lower_threshold():
    scores = np.random.default_rng(3).normal(size=20_000)
    thresholds = [POT(q=q).fit(scores).threshold_ for q in (1e-5, 1e-4, 1e-3, 1e-2)]
    assert thresholds == sorted(thresholds, reverse=True)
    assert thresholds[-1] > POT().fit(scores).init_threshold_


def test_streaming_alarm_rate_is_near_q_and_a_saved_pot_streams_identically():
    rng = np.random.default_rng(4)
    q = 5e-3
    pot = POT(q=q).fit(rng.normal(size=10_000))
    copy = round_trip(pot)
    stream = rng.normal(size=20_000)
    assert 0.7 * q < pot.apply(stream).mean() < 1.4 * q  # the fitted threshold itself
    alarms = pot.update_many(stream)
    assert 0.5 * q < alarms.mean() < 2.5 * q  # SPOT leaves alarms out, which lowers the tail a little
    assert pot.n_ == 10_000 + 20_000 - alarms.sum()
    np.testing.assert_array_equal(copy.update_many(stream), alarms)
    assert copy.to_dict() == pot.to_dict()


def test_update_learns_only_from_normal_scores():
    pot = POT(q=1e-3).fit(np.random.default_rng(5).exponential(size=5000))
    state = pot.to_dict()
    assert pot.update(pot.threshold_ + 1.0) is True
    assert pot.to_dict() == state  # an alarm changes nothing
    assert pot.update(pot.init_threshold_ - 1.0) is False
    assert pot.n_ == 5001 and len(pot.peaks_) == len(state["state"]["peaks_"])
    peak = (pot.init_threshold_ + pot.threshold_) / 2
    assert pot.update(np.float32(peak)) is False
    assert pot.n_ == 5002 and pot.peaks_[-1] == pytest.approx(peak - pot.init_threshold_, rel=1e-6)
    assert pot.threshold_ != state["threshold_"]


def test_update_many_keeps_the_series_index():
    pot = POT(q=0.01, level=0.9).fit(np.arange(100.0))
    alarms = pot.update_many(pd.Series([1.0, 1e6], index=["a", "b"]))
    pd.testing.assert_series_equal(alarms, pd.Series([False, True], index=["a", "b"]))


def test_few_peaks_fall_back_to_the_exponential_tail():
    scores = np.arange(50.0)
    pot = POT(q=0.01, level=0.9).fit(scores)
    assert len(pot.peaks_) == 5 and pot.gamma_ == 0.0 and pot.sigma_ == pytest.approx(pot.peaks_.mean())
    ratio = 0.01 * 50 / 5
    assert pot.threshold_ == pytest.approx(pot.init_threshold_ - pot.sigma_ * np.log(ratio))


def test_degenerate_tails():
    constant = POT().fit(np.full(100, 3.0))
    assert constant.threshold_ == constant.init_threshold_ == 3.0 and len(constant.peaks_) == 0
    assert constant.update(3.0) is False and constant.update(3.5) is True
    ties = POT(q=1e-3).fit(np.r_[np.zeros(999), 5.0])  # q * n / N_t = 1: t is already rare enough
    assert ties.threshold_ == ties.init_threshold_ == 0.0


@pytest.mark.parametrize("params, message", [
    ({"q": 0.0}, r"q=0.0 is not allowed: must be a finite number in \(0, 1\)"),
    ({"q": 1.0}, r"q=1.0 is not allowed"),
    ({"q": float("nan")}, r"q=nan is not allowed"),
    ({"q": "0.1"}, r"q='0.1' is not allowed"),
    ({"level": 1.5}, r"level=1.5 is not allowed: must be a finite number in \(0, 1\)"),
    ({"level": True}, r"level=True is not allowed"),
    ({"q": 0.05}, r"q=0.05 is not allowed with level=0.98: must be in \(0, 1 - level\) = \(0, 0.02\)"),
])
def test_pot_bad_params(params, message):
    with pytest.raises(ConfigError, match=message):
        POT(**params).fit(np.arange(100.0))


def test_pot_bad_input_and_unfitted_use():
    with pytest.raises(NotFittedError, match="POT is not fitted"):
        POT().update(1.0)
    with pytest.raises(NotFittedError):
        POT().update_many([1.0])
    pot = POT(q=0.01, level=0.9).fit(np.arange(100.0))
    with pytest.raises(DataError, match=r"score: 1 NaN/inf value"):
        pot.update(float("nan"))
    with pytest.raises(DataError, match=r"score: expected one number, got shape \(2,\)"):
        pot.update([1.0, 2.0])
    with pytest.raises(DataError, match="score: expected numbers"):
        pot.update("high")
    n = pot.n_
    with pytest.raises(DataError, match=r"scores: 1 NaN/inf value\(s\), first at position 1"):
        pot.update_many([1.0, np.inf])
    assert pot.n_ == n  # validated before any update
