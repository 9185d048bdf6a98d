"""Dynamic (telemanom): the paper's criterion, causal smoothing, windowed mode, chunked application."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.thresholds import Dynamic, threshold_from_dict


def round_trip(threshold):
    """Save to JSON text and load back, as model persistence does."""
    return threshold_from_dict(json.loads(json.dumps(threshold.to_dict())))


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
    ({"z_range": (5.0, 2.0)}, (r"z_range=\(5.0, 2.0\) is not allowed: must be \(low, high\), finite numbers "
                               r"with 0 <= low <= high")),
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


@pytest.mark.parametrize("rule", [Dynamic(smoothing=0.1, z_range=(0.0, 3.0)), Dynamic(20), Dynamic(7, smoothing=0.5)])
@pytest.mark.parametrize("sizes", [[1] * 50, [3, 19, 64, 1, 200], [6, 7, 8], [500]])
def test_dynamic_apply_chunk_equals_apply_on_the_whole_series(rule, sizes):
    rng = np.random.default_rng(10)
    rule.fit(np.abs(rng.normal(size=300)))
    new = np.abs(rng.normal(size=sum(sizes))) * 1.3
    new[len(new) // 3 : len(new) // 3 + 10] += 4.0
    whole = rule.apply(new)
    pieces, state, start = [], None, 0
    for size in sizes:
        flags, state = rule.apply_chunk(new[start:start + size], state)
        pieces.append(flags)
        start += size
    np.testing.assert_array_equal(np.concatenate(pieces), whole)  # bit for bit, not approximately
    assert whole.any() and len(state.context) == min(len(new), (rule.window or 1) - 1)


def test_dynamic_apply_chunk_keeps_the_series_index_and_needs_a_fit():
    rule = Dynamic().fit(np.arange(10.0))
    chunk = pd.Series([1.0, 50.0], index=["a", "b"])
    flags, _ = rule.apply_chunk(chunk)
    pd.testing.assert_series_equal(flags, rule.apply(chunk))
    with pytest.raises(NotFittedError, match="Dynamic is not fitted"):
        Dynamic().apply_chunk([1.0])
    with pytest.raises(DataError, match="scores: 1 NaN/inf"):
        rule.apply_chunk([np.nan])
