"""Adaptive thresholds fitted on normal scores: POT/SPOT, Dynamic (telemanom) and PerChannel."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import genpareto
from sklearn.base import clone

from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds import POT, THRESHOLDS, Dynamic, PerChannel, threshold_from_dict


def round_trip(threshold):
    """Save to JSON text and load back, as model persistence does."""
    return threshold_from_dict(json.loads(json.dumps(threshold.to_dict())))


# --- POT / SPOT -------------------------------------------------------------------


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


# --- Dynamic ----------------------------------------------------------------------


def naive_criterion(e, z_values):
    """The paper's criterion per z, written out; -inf where no point or every point is above."""
    mean, std = e.mean(), e.std()
    if std == 0:
        return np.full(len(z_values), -np.inf)
    out = []
    for z in z_values:
        above = e > mean + z * std
        if not above.any() or above.all():
            out.append(-np.inf)
            continue
        kept = e[~above]
        n_sequences = sum(1 for i in range(len(e)) if above[i] and (i == 0 or not above[i - 1]))
        drop_mean = (mean - kept.mean()) / abs(mean) if mean else 0.0
        out.append((drop_mean + (std - kept.std()) / std) / (above.sum() + n_sequences**2))
    return np.array(out)


Z_VALUES = np.arange(2.0, 10.01, 0.5)


def naive_z(e):
    crit = naive_criterion(e, Z_VALUES)
    return Z_VALUES[len(crit) - 1 - np.argmax(crit[::-1])] if np.isfinite(crit).any() else Z_VALUES[-1]


def test_dynamic_hand_example():
    scores = np.r_[np.ones(19), 20.0]  # smoothing * 20 = 1: span 1, no smoothing
    dyn = Dynamic().fit(scores)
    mean, std = 1.95, np.sqrt(20.95 - 1.95**2)
    assert dyn.span_ == 1.0 and dyn.mean_ == pytest.approx(mean) and dyn.std_ == pytest.approx(std)
    # z = 2 .. 4 all isolate the spike (same criterion), z >= 4.5 isolates nothing: ties go to the larger z
    assert dyn.z_ == 4.0 and dyn.threshold_ == pytest.approx(mean + 4.0 * std)
    np.testing.assert_array_equal(dyn.apply([1.0, 18.0, 19.0]), [False, False, True])


def test_dynamic_prefers_one_short_sequence():
    scores = np.r_[np.ones(30), 6.0, np.ones(30), 6.0, np.ones(30), 40.0, np.ones(6)]
    dyn = Dynamic(smoothing=0.01).fit(scores)
    assert dyn.span_ == 1.0
    assert dyn.apply(scores).sum() == 1  # only the 40, not the two 6s


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(0.0, 100.0, allow_subnormal=False), min_size=2, max_size=40))
def test_dynamic_choice_matches_the_paper_criterion(values):
    e = np.array(values)
    dyn = Dynamic(smoothing=0.01).fit(e)  # span 1: the smoothed scores are the scores
    crit = naive_criterion(e, Z_VALUES)
    if not np.isfinite(crit).any():
        assert dyn.z_ == 10.0
        return
    chosen = crit[np.flatnonzero(Z_VALUES == dyn.z_)[0]]
    assert chosen == pytest.approx(crit.max(), rel=1e-6, abs=1e-12)
    assert (crit[Z_VALUES > dyn.z_] <= chosen + 1e-9 * abs(chosen)).all()


def test_dynamic_smooths_causally_from_the_fitted_mean():
    rng = np.random.default_rng(6)
    dyn = Dynamic(smoothing=0.1, z_range=(0.0, 3.0)).fit(np.abs(rng.normal(size=200)))
    assert dyn.span_ == pytest.approx(20.0)
    new = np.abs(rng.normal(size=300)) * 1.5
    alpha, level, expected = 2 / (dyn.span_ + 1), dyn.mean_, []
    for x in new:
        level = alpha * x + (1 - alpha) * level
        expected.append(level > dyn.threshold_)
    flags = dyn.apply(new)
    np.testing.assert_array_equal(flags, expected)
    assert flags.any() and not flags.all()
    np.testing.assert_array_equal(dyn.apply(new[:100]), flags[:100])  # causal: the future does not matter


def test_dynamic_flags_a_burst_not_normal_data():
    rng = np.random.default_rng(7)
    dyn = Dynamic(smoothing=0.01).fit(np.abs(rng.normal(size=5000)))
    assert dyn.span_ == 50.0 and 2.0 <= dyn.z_ <= 10.0
    assert dyn.threshold_ == pytest.approx(dyn.mean_ + dyn.z_ * dyn.std_)
    new = np.abs(rng.normal(size=3000))
    new[1500:1550] += 3.0
    series = pd.Series(new, index=pd.date_range("2024", periods=3000, freq="s"))
    flags = dyn.apply(series)
    assert isinstance(flags, pd.Series) and flags.index.equals(series.index)
    assert flags.iloc[1520:1550].all() and not flags.iloc[:1500].any()
    assert dyn.apply(np.abs(rng.normal(size=3000))).mean() < 0.01  # z was chosen with a few normal points above
    np.testing.assert_array_equal(round_trip(dyn).apply(new), flags.to_numpy())


def test_dynamic_windowed_mode_rethresholds_each_window():
    rng = np.random.default_rng(8)
    dyn = Dynamic(20).fit(np.abs(rng.normal(size=500)))  # smoothing * window = 1: no smoothing
    assert dyn.span_ == 1.0
    new = np.abs(rng.normal(size=80))
    new[50] += 8.0
    epsilon = np.full(80, dyn.threshold_)
    for end in range(20, 81):
        window = new[end - 20:end]
        epsilon[end - 1] = window.mean() + naive_z(window) * window.std()
    flags = dyn.apply(new)
    np.testing.assert_array_equal(flags, new > epsilon)
    assert flags[50]
    np.testing.assert_array_equal(round_trip(dyn).apply(new), flags)


def test_dynamic_constant_scores():
    dyn = Dynamic().fit(np.full(50, 2.0))
    assert dyn.std_ == 0.0 and dyn.z_ == 10.0 and dyn.threshold_ == 2.0
    np.testing.assert_array_equal(dyn.apply([2.0, 2.0, 100.0]), [False, False, True])


def test_dynamic_legacy_dict_loads():
    old = {"kind": "Dynamic", "params": {"span": 30, "z_range": [2.0, 10.0], "z_step": 0.5},
           "threshold_": 1.5, "state": {"z_": 3.0, "mean_": 0.9, "std_": 0.2}}
    dyn = threshold_from_dict(old)
    assert dyn.span_ == 30.0 and dyn.window is None and dyn.z_range == (2.0, 10.0)
    np.testing.assert_array_equal(dyn.apply([0.9, 30.0]), [False, True])


@pytest.mark.parametrize("params, message", [
    ({"window": 1}, r"window=1 is not allowed: must be an integer >= 2"),
    ({"window": 2.5}, r"window=2.5 is not allowed"),
    ({"smoothing": 0}, r"smoothing=0 is not allowed: must be a finite number in \(0.0, 1.0\]"),
    ({"smoothing": 1.5}, r"smoothing=1.5 is not allowed"),
    ({"z_step": 0}, r"z_step=0 is not allowed: must be a finite number > 0"),
    ({"z_range": (5.0, 2.0)}, r"z_range=\(5.0, 2.0\) is not allowed: must be \(low, high\), finite numbers "
                              r"with 0 <= low <= high"),
    ({"z_range": (-1.0, 2.0)}, r"z_range=\(-1.0, 2.0\) is not allowed"),
    ({"z_range": "ab"}, r"z_range='ab' is not allowed"),
    ({"z_range": (0.0, float("inf"))}, r"z_range=\(0.0, inf\) is not allowed"),
    ({"z_step": 1e-6}, r"z_range=\(2.0, 10.0\) with z_step=1e-06 gives 8000001 values of z: at most 1000"),
])
def test_dynamic_bad_params(params, message):
    with pytest.raises(ConfigError, match=message):
        Dynamic(**params).fit(np.arange(100.0))


def test_dynamic_bad_input_and_unfitted_use():
    with pytest.raises(NotFittedError, match=r"Dynamic is not fitted: call fit\(normal_scores\) first"):
        Dynamic().apply([1.0])
    with pytest.raises(DataError, match="scores: expected a 1-D array"):
        Dynamic().fit(np.ones((3, 2)))
    with pytest.raises(DataError, match="scores: 1 NaN/inf"):
        Dynamic().fit(np.arange(10.0)).apply([1.0, np.nan])


# --- PerChannel ---------------------------------------------------------------------


@pytest.fixture
def per_channel():
    rng = np.random.default_rng(9)
    normal = pd.DataFrame({"a": rng.random(1000), "b": 10 * rng.random(1000)})
    return PerChannel(q=99).fit(normal), normal


def test_per_channel_fit(per_channel):
    per, normal = per_channel
    np.testing.assert_allclose(per.thresholds_, np.percentile(normal.to_numpy(), 99, axis=0))
    assert per.channels_ == ["a", "b"] and per.threshold_ == 1.0


def test_per_channel_apply_exceeded_normalise(per_channel):
    per, _ = per_channel
    new = pd.DataFrame({"a": [0.5, 2.0, 0.5], "b": [5.0, 5.0, 20.0]}, index=[10, 11, 12])
    pd.testing.assert_series_equal(per.apply(new), pd.Series([False, True, True], index=new.index))
    fired = per.exceeded(new)
    assert fired.index.equals(new.index) and list(fired.columns) == ["a", "b"]
    assert fired.to_numpy().tolist() == [[False, False], [True, False], [False, True]]
    np.testing.assert_array_equal(per.normalise(new) > per.threshold_, fired.to_numpy())
    np.testing.assert_allclose(per.normalise(new), new.to_numpy() / per.thresholds_)
    np.testing.assert_array_equal(per.apply(new.to_numpy()), [False, True, True])  # arrays match by position
    assert isinstance(per.exceeded(new.to_numpy()), np.ndarray)


def test_per_channel_zero_threshold():
    per = PerChannel(50).fit(np.array([[0.0, 1.0], [0.0, 2.0], [0.0, 3.0]]))
    assert per.thresholds_.tolist() == [0.0, 2.0]
    np.testing.assert_array_equal(per.normalise([[0.0, 1.0], [0.5, 4.0]]), [[0.0, 0.5], [np.inf, 2.0]])
    np.testing.assert_array_equal(per.exceeded([[0.0, 1.0], [0.5, 4.0]]), [[False, False], [True, True]])


@pytest.mark.parametrize("columns, message", [
    (["a", "c"], r"channels differ from fit \(missing \['b'\], unexpected \['c'\]\)"),
    (["b", "a"], r"same channels in another order, expected \['a', 'b'\]"),
    (["a", "b", "c"], r"missing \[\], unexpected \['c'\]"),
])
def test_per_channel_channel_mismatch(per_channel, columns, message):
    per, _ = per_channel
    with pytest.raises(DataError, match=message):
        per.apply(pd.DataFrame(np.ones((2, len(columns))), columns=columns))


@pytest.mark.parametrize("errors, message", [
    (np.arange(5.0), r"expected a non-empty \(n_steps, n_channels\) matrix of per-channel errors, got shape \(5,\)"),
    (np.ones((0, 2)), r"got shape \(0, 2\)"),
    ([[1.0, np.nan]], r"value nan at row 0, channel 1; errors must be finite and >= 0"),
    ([[1.0], [-1.0]], r"value -1.0 at row 1, channel 0"),
    ([["x", "y"]], r"expected numbers, got dtype <U1"),
    (pd.DataFrame([[1.0, "x"]]), r"expected numbers, got non-numeric values"),
    (pd.DataFrame([[1.0, 2.0]], columns=["a", "a"]), r"duplicate channel names in \['a', 'a'\]"),
])
def test_per_channel_bad_errors(errors, message):
    with pytest.raises(DataError, match=message):
        PerChannel().fit(errors)


def test_per_channel_wrong_width_and_unfitted():
    per = PerChannel().fit(np.ones((5, 3)))
    assert per.channels_ is None
    with pytest.raises(DataError, match="errors: 2 channels, fitted on 3"):
        per.apply(np.ones((4, 2)))
    for method in ("apply", "exceeded", "normalise"):
        with pytest.raises(NotFittedError, match=r"PerChannel is not fitted: call fit\(normal_errors\) first"):
            getattr(PerChannel(), method)(np.ones((2, 2)))
    with pytest.raises(ConfigError, match=r"q=0 is not allowed"):
        PerChannel(0).fit(np.ones((2, 2)))


@pytest.mark.parametrize("as_frame", [True, False])
def test_per_channel_round_trip(per_channel, as_frame):
    per, normal = per_channel
    if not as_frame:
        per = PerChannel(95.0).fit(normal.to_numpy())
    copy = round_trip(per)
    assert copy.channels_ == per.channels_ and copy.threshold_ == 1.0
    np.testing.assert_array_equal(copy.thresholds_, per.thresholds_)
    new = normal * 1.05
    pd.testing.assert_frame_equal(copy.exceeded(new), per.exceeded(new))


# --- registry and persistence -------------------------------------------------------


def test_registered_for_the_cli():
    assert THRESHOLDS["pot"] is POT and THRESHOLDS["dynamic"] is Dynamic
    assert PerChannel not in THRESHOLDS.values()  # it thresholds error matrices, not a detector's scores


@pytest.mark.parametrize("threshold", [POT(1e-4, level=0.9), Dynamic(50, smoothing=0.1, z_range=(1.0, 4.0)),
                                       PerChannel(97.5)])
def test_unfitted_round_trip_and_clone(threshold):
    copy = round_trip(threshold)
    assert type(copy) is type(threshold) and copy.get_params() == threshold.get_params()
    assert not hasattr(copy, "threshold_")
    assert clone(threshold).get_params() == threshold.get_params()


@pytest.mark.parametrize("kind, state, message", [
    ("POT", {}, r"threshold state of POT is malformed: missing 'init_threshold_'"),
    ("POT", {"init_threshold_": 1.0, "gamma_": 0.0, "sigma_": 1.0, "n_": 10, "peaks_": [1.0, -2.0]},
     r"malformed: peaks_ must be finite numbers > 0"),
    ("POT", {"init_threshold_": 1.0, "gamma_": 0.0, "sigma_": 1.0, "n_": 1, "peaks_": [1.0, 2.0]},
     r"malformed: n_=1 is not allowed: must be an integer >= 2"),
    ("Dynamic", {"z_": 2.0, "mean_": 1.0, "std_": 1.0, "span_": 0.5}, r"malformed: span_=0.5 is not allowed"),
    ("PerChannel", {"thresholds_": [1.0], "channels_": ["a", "b"]}, r"malformed: channels_ must be null or 1 strings"),
    ("PerChannel", {"thresholds_": [], "channels_": None}, r"malformed: thresholds_ must be a non-empty list"),
])
def test_malformed_state(kind, state, message):
    with pytest.raises(ConfigError, match=message):
        threshold_from_dict({"kind": kind, "params": {}, "threshold_": 1.0, "state": state})
