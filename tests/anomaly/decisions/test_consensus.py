"""Window consensus (SKAB's batch rule) against brute force."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from anomaly.decisions import window_consensus, window_means
from anomaly.errors import ConfigError, DataError


def test_window_means_by_hand():
    np.testing.assert_allclose(window_means([1, 2, 3, 4, 5], 2), [1.5, 2.5, 3.5, 4.5])
    np.testing.assert_allclose(window_means([1, 2, 3], 3), [2.0])


def test_width_one_is_a_plain_threshold():
    scores = np.array([0.1, 2.0, 0.3, 5.0])
    np.testing.assert_array_equal(window_consensus(scores, 1.0, 1), scores > 1.0)


def test_short_spike_is_dropped_and_long_event_kept_without_delay():
    scores = np.zeros(40)
    scores[5] = 3.0  # one-step spike: every window of 4 covering it has mean 0.75 < 1
    scores[20:30] = 3.0  # a 10-step event
    flags = window_consensus(scores, 1.0, 4)
    # step t is kept when each of the windows starting at t-3..t holds >= 2 event steps (mean >= 1.5)
    expected = np.zeros(40, bool)
    expected[21:29] = True
    np.testing.assert_array_equal(flags, expected)


def test_matches_brute_force_on_random_scores():
    rng = np.random.default_rng(0)
    scores = rng.gamma(2.0, size=300)
    width, thr = 7, 2.2
    means = np.array([scores[s:s + width].mean() for s in range(300 - width + 1)])
    brute = np.array([all(means[s] > thr for s in range(max(0, t - width + 1), min(t, 300 - width) + 1)) for t in range(300)])
    np.testing.assert_array_equal(window_consensus(scores, thr, width), brute)


def test_series_keeps_its_index():
    s = pd.Series([0.0, 5.0, 5.0, 5.0, 0.0], index=pd.date_range("2026-01-01", periods=5, freq="s"))
    out = window_consensus(s, 3.0, 2)  # window means 2.5, 5, 5, 2.5
    assert isinstance(out, pd.Series) and out.index.equals(s.index)
    assert out.tolist() == [False, False, True, False, False]


@pytest.mark.parametrize("bad, error", [(([1.0, np.nan, 2.0], 1.0, 2), DataError), (([1.0], 0.5, 2), DataError),
                                        (([1.0, 2.0], 0.5, 0), ConfigError), (([1.0, 2.0], float("nan"), 1), ConfigError)])
def test_bad_inputs(bad, error):
    with pytest.raises(error):
        window_consensus(*bad)


def brute_force(scores, threshold, width):
    scores = np.asarray(scores, dtype=np.float64)
    m = len(scores) - width + 1
    means = np.array([scores[s:s + width].mean() for s in range(m)])
    return np.array([all(means[s] > threshold for s in range(max(0, t - width + 1), min(t, m - 1) + 1))
                     for t in range(len(scores))])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(0, 4), min_size=1, max_size=40), st.integers(1, 8), st.sampled_from([0.5, 1.5, 2.5]))
def test_matches_brute_force_on_every_edge_case(values, width, threshold):
    width = min(width, len(values))
    np.testing.assert_array_equal(window_consensus(values, threshold, width), brute_force(values, threshold, width))

