"""NAB score: hand-worked examples with NAB's scaled sigmoid, alarm counting, properties, input checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import flags
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly.errors import ConfigError, DataError
from anomaly.metrics.nab import nab_score, nab_scores

label_pairs = st.integers(1, 40).flatmap(lambda n: st.tuples(
    st.lists(st.booleans(), min_size=n, max_size=n), st.lists(st.booleans(), min_size=n, max_size=n)))

TRUTH = flags(6, (2, 3))


def sigmoid(y):
    """NAB's scaled sigmoid."""
    return -1.0 if y >= 3 else 2 / (1 + math.exp(5 * y)) - 1


def test_nab_perfect_null_early_and_late():
    truth = flags(1000, (100, 199), (600, 699))
    assert nab_score(truth, flags(1000, (100, 100), (600, 600))) == pytest.approx(100.0)
    assert nab_score(truth, np.zeros(1000, bool)) == 0.0
    early = nab_score(truth, [110, 610])
    late = nab_score(truth, [190, 690])
    assert 0 < late < early < 100
    # first alarm 10 rows into a 100-row window: position -(199 - 110 + 1) / 100 = -0.9
    assert early == pytest.approx(100 * (2 * sigmoid(-0.9) / sigmoid(-1) + 2) / 4)
    assert late == pytest.approx(100 * (2 * sigmoid(-0.1) / sigmoid(-1) + 2) / 4)
    assert nab_score(truth, [110, 150, 610]) == early  # later alarms in a window count nothing


def test_nab_false_positives_and_profiles_by_hand():
    truth = flags(1000, (100, 199), (600, 699))
    # one false alarm before any window costs a full A_FP; S_null = -2 A_FN, S_perfect = 2 A_TP
    scores = nab_scores(truth, [50, 100, 600])
    assert scores == {"standard": pytest.approx(100 * (2 - 0.11 + 2) / 4),
                      "reward_low_FP_rate": pytest.approx(100 * (2 - 0.22 + 2) / 4),
                      "reward_low_FN_rate": pytest.approx(100 * (2 - 0.11 + 4) / 6)}
    # after a window: A_FP * S(distance / (width - 1)); from 3 widths on, a full -A_FP
    near = nab_score(truth, [100, 232, 600])
    assert near == pytest.approx(100 * (2 + 0.11 * sigmoid(33 / 99) + 2) / 4)
    assert nab_score(truth, [100, 199 + 3 * 99, 600]) == pytest.approx(100 * (2 - 0.11 + 2) / 4)
    # a missed window
    assert nab_score(truth, [100], profile="reward_low_FN_rate") == pytest.approx(100 * (1 - 2 + 4) / 6)
    # one-row window: any later false alarm costs a full A_FP
    assert nab_score(flags(50, (10, 10)), [10, 11]) == pytest.approx(100 * (1 - 0.11 + 1) / 2)


def test_nab_flags_alarm_at_run_starts_cut_at_window_edges():
    truth = flags(1000, (100, 199))
    # a run held into the window: false alarm at 90, detection at 100
    assert nab_score(truth, flags(1000, (90, 150))) == pytest.approx(100 * (1 - 0.11 + 1) / 2)
    # a run held past the window's end: detection at 150, one false alarm at 200
    past = nab_score(truth, flags(1000, (150, 260)))
    assert past == pytest.approx(100 * (sigmoid(-0.5) / sigmoid(-1) + 0.11 * sigmoid(1 / 99) + 1) / 2)
    # NAB's own counting: every flagged row is an alarm
    rowwise = nab_score(truth, np.flatnonzero(flags(1000, (150, 260))))
    assert rowwise == pytest.approx(100 * (sigmoid(-0.5) / sigmoid(-1)
                                           + 0.11 * sum(sigmoid(d / 99) for d in range(1, 62)) + 1) / 2)
    assert nab_score(truth, flags(1000, (150, 260)).astype(int)) == past  # 0/1 of length n are flags


@settings(max_examples=80, deadline=None)
@given(label_pairs)
def test_nab_is_at_most_100_and_non_negative_without_false_alarms(pair):
    truth, pred = (np.array(v) for v in pair)
    if not truth.any():
        return
    assert nab_score(truth, pred) <= 100 + 1e-9
    assert 0.0 <= nab_score(truth, pred & truth) <= 100 + 1e-9


@pytest.mark.parametrize("call, match", [
    (lambda: nab_score(flags(6), [1]), "no anomalous row"),
    (lambda: nab_score(TRUTH, TRUTH[:5]), "length mismatch"),
    (lambda: nab_score(TRUTH, [0, 1, 1, 0, 1]), "positions must increase strictly"),  # 0/1 of the wrong length
    (lambda: nab_score(TRUTH, [3, 1]), "positions must increase strictly"),
    (lambda: nab_score(TRUTH, [6]), r"within \[0, 5\]"),
    (lambda: nab_score(TRUTH, [1.5]), "integer array of positions"),
])
def test_bad_input_is_a_data_error(call, match):
    with pytest.raises(DataError, match=match):
        call()


def test_unknown_profile_is_a_config_error():
    with pytest.raises(ConfigError, match="profile='lenient'"):
        nab_score(TRUTH, TRUTH, profile="lenient")
