"""Point adjustment: hand-worked examples, the random baseline beside PA-F1, properties, input checks."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import flags
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly.errors import ConfigError, DataError
from anomaly.metrics.adjust import point_adjust, point_adjusted_f1, point_adjusted_report
from anomaly.metrics.point import point_metrics

label_pairs = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)))

TRUTH = flags(6, (2, 3))


def test_point_adjust_and_f1_by_hand():
    truth = flags(12, (2, 5), (9, 10))
    pred = flags(12, (4, 4), (7, 7))  # hits the first range, misses the second, one false flag
    assert point_adjust(truth, pred).tolist() == flags(12, (2, 5), (7, 7)).tolist()
    # adjusted: tp 4, fp 1, fn 2 -> precision 4/5, recall 4/6
    assert point_adjusted_f1(truth, pred) == pytest.approx(2 * 0.8 * (2 / 3) / (0.8 + 2 / 3))


def test_point_adjusted_report_shows_the_inflation():
    truth = flags(1000, (100, 299), (500, 699))
    pred = flags(1000, (150, 150), (600, 600))  # two flagged rows
    report = point_adjusted_report(truth, pred.astype(float), pred)
    assert report["f1"] == pytest.approx(2 * (2 / 400) / (1 + 2 / 400))
    assert report["pa_f1"] == 1.0
    # two random flags: each lands in a range with probability 0.4, so PA-F1 is often high too
    assert 0.0 <= report["pa_f1_random"] <= 1.0
    assert point_adjusted_report(truth, pred, pred, seed=1) == point_adjusted_report(truth, pred, pred, seed=1)
    none = point_adjusted_report(truth, np.zeros(1000), np.zeros(1000, bool))
    assert none == {"f1": 0.0, "pa_f1": 0.0, "pa_f1_random": 0.0}


def test_point_adjusted_random_baseline_flags_at_the_same_rate():
    truth = flags(10, (0, 0))
    pred = flags(10, (4, 6))
    # 3 random flags: PA-F1 0.5 if one is on row 0 (tp 1, fp 2), else 0 (2 or 4 flags would give 2/3, 0.4)
    values = {point_adjusted_report(truth, np.zeros(10), pred, seed=seed)["pa_f1_random"] for seed in range(20)}
    assert values == {0.0, 0.5}


@settings(max_examples=80, deadline=None)
@given(label_pairs)
def test_point_adjustment_only_adds_flags_inside_ranges(pair):
    truth, pred = (np.array(v) for v in pair)
    adjusted = point_adjust(truth, pred)
    assert (adjusted >= pred).all() and not (adjusted & ~pred & ~truth).any()
    assert point_adjusted_f1(truth, pred) >= point_metrics(truth, pred)["f1"] - 1e-12


@pytest.mark.parametrize("call, match", [
    (lambda: point_adjusted_f1(TRUTH, TRUTH[:5]), "length mismatch"),
    (lambda: point_adjusted_report(TRUTH, np.zeros(5), TRUTH), "length mismatch"),
    (lambda: point_adjusted_report(TRUTH, [0, 0, np.nan, 0, 0, 0], TRUTH), "scores: 1 NaN/inf"),
])
def test_bad_input_is_a_data_error(call, match):
    with pytest.raises(DataError, match=match):
        call()


def test_bad_seed_is_a_config_error():
    with pytest.raises(ConfigError, match="seed=-1"):
        point_adjusted_report(TRUTH, np.zeros(6), TRUTH, seed=-1)
