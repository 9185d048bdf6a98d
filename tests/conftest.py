"""Shared fixtures: tiny synthetic frames, labelled row ranges and the path of the shared benchmark data."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pandas as pd
import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"


def make_frame(n: int = 2000, channels: int = 5, seed: int = 0, start: str = "2026-01-01") -> pd.DataFrame:
    """Correlated sinusoids with noise: (n, channels) float32, DatetimeIndex at 100 Hz."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 100.0
    phase = np.sin(2 * np.pi * 0.5 * t)[:, None]
    mix = rng.uniform(0.5, 1.5, size=(1, channels))
    values = phase * mix + 0.3 * np.cos(2 * np.pi * 0.2 * t)[:, None] + 0.05 * rng.standard_normal((n, channels))
    index = pd.date_range(start, periods=n, freq="10ms", name="timestamp")
    return pd.DataFrame(values.astype(np.float32), index=index, columns=[f"ch{i}" for i in range(channels)])


def flags(n: int, *ranges: tuple[int, int]) -> np.ndarray:
    """(n,) bool labels or flags, True on each inclusive ``(start, end)`` row range."""
    out = np.zeros(n, dtype=bool)
    for start, end in ranges:
        out[start : end + 1] = True
    return out


@pytest.fixture
def normal_frame() -> pd.DataFrame:
    return make_frame(seed=0)


@pytest.fixture
def faulty_frame() -> tuple[pd.DataFrame, np.ndarray]:
    """A fresh normal frame with a fault on ch2 in rows 1200..1299; returns (frame, labels)."""
    frame = make_frame(seed=1, start="2026-01-02")
    frame.iloc[1200:1300, 2] += 3.0
    labels = np.zeros(len(frame), dtype=bool)
    labels[1200:1300] = True
    return frame, labels


@pytest.fixture
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"shared datasets not found at {SHARED_DATA}")
    return SHARED_DATA
