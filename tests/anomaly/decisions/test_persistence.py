"""The causal persistence rule (k flags in a row)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anomaly.decisions import persistence
from anomaly.errors import ConfigError, DataError

flag_lists = st.lists(st.booleans(), min_size=1, max_size=60)


@pytest.mark.parametrize("k, expected", [
    (1, [1, 1, 0, 1, 1, 1, 0]),
    (2, [0, 1, 0, 0, 1, 1, 0]),
    (3, [0, 0, 0, 0, 0, 1, 0]),
    (4, [0, 0, 0, 0, 0, 0, 0]),
])
def test_persistence_hand_example(k, expected):
    out = persistence([1, 1, 0, 1, 1, 1, 0], k)
    assert out.dtype == bool
    np.testing.assert_array_equal(out, np.array(expected, dtype=bool))


def test_persistence_keeps_series_index():
    flags = pd.Series([True, True], index=["a", "b"])
    pd.testing.assert_series_equal(persistence(flags, 2), pd.Series([False, True], index=["a", "b"]))


@pytest.mark.parametrize("k", [0, -1, 1.5, True, "2"])
def test_persistence_bad_k(k):
    with pytest.raises(ConfigError, match=rf"k={k!r} is not allowed: must be an integer >= 1"):
        persistence([True], k)


def test_persistence_bad_flags():
    with pytest.raises(DataError, match=r"flags: non-binary value 0.5 at position 0"):
        persistence([0.5], 1)


@given(flag_lists, st.integers(1, 8))
def test_persistence_properties(flags, k):
    flags = np.array(flags)
    out = persistence(flags, k)
    np.testing.assert_array_equal(persistence(flags, 1), flags)
    assert not np.any(out & ~flags)  # never adds flags
    naive = [t >= k - 1 and flags[t - k + 1:t + 1].all() for t in range(len(flags))]
    np.testing.assert_array_equal(out, naive)
