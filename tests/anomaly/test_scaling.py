"""The scaler's resolution floor."""

from __future__ import annotations

import numpy as np
import pytest

from anomaly.scaling import Scaler, resolution


def test_resolution_is_the_smallest_change_between_rows_and_sees_rare_flickers():
    rng = np.random.default_rng(0)
    x = np.column_stack([np.round(rng.normal(30, 2, 5000) * 2) / 2,  # half degrees
                         np.full(5000, 7.0),  # one value
                         rng.normal(size=5000)])  # continuous
    out = resolution(x)
    assert out[0] == pytest.approx(0.5) and out[1] == 0.0 and 0 < out[2] < 1e-2
    rare = np.full((1_000_000, 1), 28.0)
    rare[[123_457, 777_777]] = 29.0  # two flickers among a million rows, in two blocks
    assert resolution(rare)[0] == pytest.approx(1.0)


def test_floor_at_resolution_raises_only_the_given_channels_of_standard_and_robust_scalers():
    x = np.column_stack([np.r_[np.zeros(995), np.ones(5)], np.r_[np.zeros(995), np.ones(5)], np.linspace(0, 1, 1000)])
    scaler = Scaler("standard").fit(x)
    before = scaler.scale_.copy()
    assert scaler.floor_at_resolution([0, 2], resolution(x[:, [0, 2]]))
    assert scaler.scale_[0] == pytest.approx(0.5) and scaler.scale_[1] == before[1] and scaler.scale_[2] == before[2]
    assert not scaler.floor_at_resolution([0], resolution(x[:, [0]]))  # already there
    minmax = Scaler("minmax").fit(x)
    assert not minmax.floor_at_resolution([0], [1.0]) and minmax.scale_[0] == 1.0
