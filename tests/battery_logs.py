"""A battery-powered drive's logs for the tests of slow channels (:mod:`anomaly.conditions`)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def battery_log(seed: int, minutes: float = 15.0, charge_v: float = 25.2) -> pd.DataFrame:
    """A battery-powered drive at 10 Hz (rows, 4): two motor currents following a load that
    changes every 1-4 s, the speed it gives and the battery's voltage, discharging 1.44 V an
    hour from ``charge_v`` and sagging 0.07 V per ampere drawn."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 600)
    steps = rng.integers(10, 40, size=n // 10 + 1)
    load = pd.Series(np.repeat(rng.uniform(0.5, 3.0, len(steps)), steps)[:n]).ewm(alpha=0.2).mean().to_numpy()
    left, right = load + rng.normal(0, 0.05, n), load + rng.normal(0, 0.05, n)
    return pd.DataFrame({"left_current": left, "right_current": right, "speed": 0.4 * load + rng.normal(0, 0.02, n),
                         "battery_v": charge_v - 1.44 * np.arange(n) / 36000 - 0.07 * (left + right) + rng.normal(0, 0.01, n)},
                        index=pd.date_range("2026-04-01", periods=n, freq="100ms"))
