from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from anomaly.errors import ConfigError, DataError
from anomaly.windows import fold_back, iter_windows, sliding_windows, window_starts


def test_sliding_windows_is_a_zero_copy_view():
    values = np.arange(20, dtype=np.float32).reshape(10, 2)
    windows = sliding_windows(values, 4, 2)
    assert windows.shape == (4, 4, 2)
    assert np.shares_memory(windows, values)
    np.testing.assert_array_equal(windows[1], values[2:6])


@given(n=st.integers(1, 60), window=st.integers(1, 12), stride=st.integers(1, 12))
def test_windows_cover_every_row_and_fold_back_inverts(n, window, stride):
    stride = min(stride, window)
    if n < window:
        with pytest.raises(DataError, match="fewer than one window"):
            window_starts(n, window, stride)
        return
    values = np.random.default_rng(n).standard_normal((n, 3)).astype(np.float32)
    starts, batches = [], []
    for s, w in iter_windows(values, window, stride, batch_size=4):
        starts.append(s)
        batches.append(np.asarray(w))
    starts = np.concatenate(starts)
    np.testing.assert_array_equal(starts, window_starts(n, window, stride))
    # Folding back the windows' own values must give the series back (mean of identical copies).
    np.testing.assert_allclose(fold_back(np.concatenate(batches), starts, n), values, rtol=1e-6)


def test_fold_back_averages_overlapping_windows():
    errors = np.array([[[1.0], [1.0]], [[3.0], [3.0]]])  # windows at 0 and 1, length 2
    np.testing.assert_allclose(fold_back(errors, np.array([0, 1]), 3)[:, 0], [1.0, 2.0, 3.0])


def test_stride_longer_than_window_is_refused():
    with pytest.raises(ConfigError, match="stride=5 must be <= window=4"):
        window_starts(100, 4, 5)
