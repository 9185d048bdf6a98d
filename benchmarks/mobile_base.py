"""A third machine the toolkit was not built on: a battery-powered mobile base at 50 Hz, new sessions.

As ``benchmarks/other_machine.py`` (a conveyor drive), the defaults met as a user's first model
would meet them: fit the default (``anomaly fit``'s PCA, its own threshold, the alert rules at
the data's rate) on two 15-minute sessions of normal driving, then score later sessions whose
slow channels sit elsewhere while the faults show in the fast channels. No label chooses anything.

The base (50 Hz, 10 channels): a differential drive following speed and turn-rate commands
that change every 2-8 s (first order, 0.3 s); ``wl_vel``/``wr_vel`` (wheel speeds, rad/s, encoder
noise 0.05), ``wl_cur``/``wr_cur`` (0.6 A plus rolling resistance and each wheel's acceleration,
noise 0.05 A), ``gyro_z`` (turn rate), ``acc_x`` (forward acceleration), ``acc_y`` (centripetal,
speed x turn rate: a product, which no linear model holds), ``battery_v`` (discharging by 1.44 V
an hour from the session's charge and sagging 0.1 V per ampere drawn (100 mOhm): over a 15-minute log its
sag holds about 40 % of its variance, so it is not slow by its fast part alone) and
``wl_temp``/``wr_temp`` (warming 3 degC above the ambient with a 10-minute time constant).

Test sessions (2 seeds each): 20 minutes normal and 10 minutes with five faults 100 s apart
(``slip``: the left wheel reads 1.5 x its speed for 10 s, spinning while the gyro says the base
does not turn; ``bump``: a collision, +3 m/s^2 forward for 0.2 s and both currents +0.5 A for
0.5 s; ``binding``: the left current +0.4 A for 10 s; ``stall``: the left wheel reads 0 and
draws +1.5 A for 5 s; ``gyro_bias``: +0.15 rad/s for 10 s), at the training charge and ambient
(``same``), 4 degC warmer (``warmer``), on a battery 0.8 V less charged (``lower battery``: the
next session without a full recharge), both (``both``), and carrying a load that makes it
20 % heavier (``heavier``: rolling and acceleration currents x1.2). False alarms: events of the normal
sessions and events of the faulty ones that overlap no fault, per hour of normal time; alarm
time: the share of the normal sessions' rows inside an alarm; found: faults an event overlaps
(out of 10); blamed: the channel with the largest error over each false alarm. Each model is
also fitted without the trend criterion of slow channels (``no trend``: a straight line through
a log says nothing, :data:`anomaly.conditions.AUTO_MIN_TREND_SHARE` infinite, as before
2026-12-07), in the same process. Every session logged at 50 Hz, and at 10 and 1 Hz (every 5th
and 50th row: at 1 Hz the battery's sag is white noise around its moving level).

``short logs``: the default fitted instead on two 5-minute sessions, too short for the discharge
to show (neither criterion takes the battery, so the model sees it at its level), scored as
above with re-centring (:mod:`anomaly.recentring`, the default since 2026-12-07: a channel
outside its training envelope from a session's start is scored around its own level after the
first minute) and without it (``Detector.without_recentring()``), in the same process.

Usage: ``python benchmarks/mobile_base.py``; writes ``benchmarks/results/mobile_base.json`` and prints the
table of docs/benchmarks.md from it.
"""

from __future__ import annotations

from collections import Counter
from unittest import mock

import numpy as np
import pandas as pd
from _common import fault_alarms, rows_in_alarm, write_result

from anomaly import make_detector
from datasets.robot_arm.physics import lowpass

RATE_HZ = 50.0
TRAIN_MINUTES, NORMAL_MINUTES, FAULTY_MINUTES = 15, 20, 10
#: The ``short logs`` model's training sessions (minutes).
SHORT_MINUTES = 5
#: The rates the sessions are logged at (every k-th row of the 50 Hz simulation).
RATES_HZ = (50.0, 10.0, 1.0)
CHARGE_V, AMBIENT_C = 25.2, 25.0
#: Fault name, start (s), seconds.
FAULTS = (("slip", 60, 10.0), ("bump", 160, 1.0), ("binding", 260, 10.0), ("stall", 360, 5.0), ("gyro_bias", 460, 10.0))
TESTS = {"same": (0.0, 0.0, 1.0), "warmer": (0.0, 4.0, 1.0), "lower battery": (-0.8, 0.0, 1.0), "both": (-0.8, 4.0, 1.0),
         "heavier": (0.0, 0.0, 1.2)}  # charge (V), ambient (degC), mass (x training)


def session(seed: int, minutes: float, *, charge_v: float = CHARGE_V, ambient_c: float = AMBIENT_C, mass: float = 1.0, faults=(),
            start: str = "2026-04-01") -> tuple[pd.DataFrame, list[tuple[str, int, int]]]:
    """One session's frame (rows, 10) and its faults as ``(name, first row, end row)``."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    lengths = rng.integers(int(2 * RATE_HZ), int(8 * RATE_HZ), size=n // int(2 * RATE_HZ) + 1)
    v = lowpass(np.repeat(rng.uniform(0.0, 1.2, len(lengths)), lengths)[:n], 0.3, 1.0 / RATE_HZ)
    w = lowpass(np.repeat(rng.uniform(-0.8, 0.8, len(lengths)), lengths)[:n], 0.3, 1.0 / RATE_HZ)
    wheels = np.column_stack([(v - 0.2 * w) / 0.1, (v + 0.2 * w) / 0.1])  # rad/s
    current = 0.6 + mass * (0.03 * np.abs(wheels) + 1.5 * np.gradient(wheels, axis=0) * RATE_HZ * 0.1) + rng.normal(0, 0.05, (n, 2))
    frame = pd.DataFrame({
        "wl_vel": wheels[:, 0] + rng.normal(0, 0.05, n), "wr_vel": wheels[:, 1] + rng.normal(0, 0.05, n),
        "wl_cur": current[:, 0], "wr_cur": current[:, 1],
        "gyro_z": w + rng.normal(0, 0.02, n), "acc_x": np.gradient(v) * RATE_HZ + rng.normal(0, 0.05, n),
        "acc_y": v * w + rng.normal(0, 0.05, n),
        "battery_v": charge_v - 1.44 * t / 3600 - 0.1 * current.sum(axis=1) + rng.normal(0, 0.01, n),
        "wl_temp": ambient_c + 3 * (1 - np.exp(-t / 600)) + rng.normal(0, 0.03, n),
        "wr_temp": ambient_c + 3 * (1 - np.exp(-t / 600)) + rng.normal(0, 0.03, n),
    }, index=pd.date_range(start, periods=n, freq=pd.Timedelta(seconds=1 / RATE_HZ), name="timestamp"))
    rows = []
    for name, at_s, seconds in faults:
        a, b = int(at_s * RATE_HZ), int((at_s + seconds) * RATE_HZ)
        if name == "slip":
            frame.iloc[a:b, 0] *= 1.5
        elif name == "bump":
            frame.iloc[a:a + int(0.2 * RATE_HZ), 5] += 3.0
            frame.iloc[a:a + int(0.5 * RATE_HZ), 2:4] += 0.5
        elif name == "binding":
            frame.iloc[a:b, 2] += 0.4
        elif name == "stall":
            frame.iloc[a:b, 0] = 0.0
            frame.iloc[a:b, 2] += 1.5
        elif name == "gyro_bias":
            frame.iloc[a:b, 4] += 0.15
        rows.append((name, a, b))
    return frame, rows


def thin(frame: pd.DataFrame, faults, rate_hz: float):
    """The session logged at ``rate_hz`` (every k-th row of the 50 Hz one) and its fault rows there."""
    k = int(round(RATE_HZ / rate_hz))
    return frame.iloc[::k], [(name, -(-a // k), max(-(-b // k), -(-a // k) + 1)) for name, a, b in faults]


def score_tests(det, rate_hz: float) -> dict:
    """False alarms per hour, alarm time, faults found and the channels blamed, per test condition
    (the sessions logged at ``rate_hz``)."""
    out = {}
    for name, (charge, warmer, mass) in TESTS.items():
        false, hours, alarm_rows, normal_rows, found, blamed, missed = 0, 0.0, 0, 0, 0, Counter(), Counter()
        for seed in (10, 11):
            kwargs = {"charge_v": CHARGE_V + charge, "ambient_c": AMBIENT_C + warmer, "mass": mass}
            normal, _ = thin(*session(seed, NORMAL_MINUTES, start="2026-04-10", **kwargs), rate_hz)
            faulty, rows = thin(*session(seed + 50, FAULTY_MINUTES, faults=FAULTS, start="2026-04-11", **kwargs), rate_hz)
            for frame, faults in ((normal, []), (faulty, rows)):
                raised, inside, extra, names = fault_alarms(det, frame, faults)
                false += len(extra)
                blamed.update(names)
                index = frame.index
                hours += (len(frame) - sum(b - a for _, a, b in faults)) / rate_hz / 3600
                found += sum(bool(hits) for hits in inside)
                missed.update(fault for (fault, _, _), hits in zip(faults, inside) if not hits)
                if not faults:
                    alarm_rows += rows_in_alarm(index, raised)
                    normal_rows += len(frame)
        out[name] = {"false_alarms_per_hour": false / hours, "alarm_time_fraction": alarm_rows / normal_rows, "found": found,
                     "faults": 2 * len(FAULTS), "missed": dict(missed), "blamed": dict(blamed)}
    return out


def run(rate_hz: float) -> dict:
    train = [thin(*session(seed, TRAIN_MINUTES, start=f"2026-04-0{seed + 1}"), rate_hz)[0] for seed in (0, 1)]
    det = make_detector("pca").fit(train)
    short = make_detector("pca").fit([thin(*session(seed, SHORT_MINUTES, start=f"2026-04-0{seed + 1}"), rate_hz)[0]
                                      for seed in (0, 1)])
    with mock.patch("anomaly.conditions.AUTO_MIN_TREND_SHARE", np.inf):  # fitted as before the change
        blind = make_detector("pca").fit(train)
    channels = det.schema_.channels
    return {"threshold": det.threshold_, "condition_channels": [channels[i] for i in det.conditions_.indices],
            "condition_channels_no_trend": [channels[i] for i in blind.conditions_.indices],
            "tests": score_tests(det, rate_hz), "tests_no_trend": score_tests(blind, rate_hz),
            "short_logs_condition_channels": [channels[i] for i in short.conditions_.indices],
            "short_logs": score_tests(short, rate_hz), "short_logs_no_recentring": score_tests(short.without_recentring(), rate_hz)}


#: The row names (docs/benchmarks.md) of the test conditions.
ROW_NAMES = {"same": "same charge and ambient", "warmer": "4 degC warmer", "lower battery": "0.8 V less charged",
             "both": "both", "heavier": "20 % heavier"}


def markdown(results: dict, model: str = "tests", bracketed: str = "tests_no_trend") -> str:
    """The table (docs/benchmarks.md) of ``results`` (rate -> :func:`run`): per test condition and rate, false
    alarms an hour, the share of normal time in alarm and faults found of the ``model``'s tests,
    the ``bracketed`` model's in brackets (by default: without the trend criterion)."""
    def cell(t: dict) -> str:
        return f"{t['false_alarms_per_hour']:.1f}, {100 * t['alarm_time_fraction']:.2g} %, {t['found']}"
    rates = list(results)
    lines = ["| session | " + " | ".join(rates) + " |", "|---" * (len(rates) + 1) + "|"]
    for name, row in ROW_NAMES.items():
        cells = [f"{cell(results[r][model][name])} ({cell(results[r][bracketed][name])})" for r in rates]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    results = {}
    for rate in RATES_HZ:
        results[f"{rate:g} Hz"] = r = run(rate)
        print(f"{rate:g} Hz: threshold {r['threshold']:.3f}; condition channels {r['condition_channels']} "
              f"(no trend: {r['condition_channels_no_trend']})")
        for name, t in r["tests"].items():
            b = r["tests_no_trend"][name]
            print(f"  {name:14s} {t['false_alarms_per_hour']:5.1f} false alarms/h, alarm time {t['alarm_time_fraction']:.3f} "
                  f"(no trend {b['false_alarms_per_hour']:5.1f}, {b['alarm_time_fraction']:.3f}), found {t['found']}/{t['faults']} "
                  f"({b['found']}), missed {t['missed']}, blamed {t['blamed']} (no trend {b['blamed']})", flush=True)
        for name, t in r["short_logs"].items():
            b = r["short_logs_no_recentring"][name]
            print(f"  short logs {name:14s} {t['false_alarms_per_hour']:5.1f} false alarms/h, alarm time {t['alarm_time_fraction']:.3f} "
                  f"(not re-centred {b['false_alarms_per_hour']:5.1f}, {b['alarm_time_fraction']:.3f}), found {t['found']}/{t['faults']} "
                  f"({b['found']}), blamed {t['blamed']}", flush=True)
    print(markdown(results))
    print(markdown(results, "short_logs", "short_logs_no_recentring"))
    print("->", write_result("mobile_base", {"protocol": __doc__.split("Usage:")[0].strip(), "results": results}))


if __name__ == "__main__":
    main()
