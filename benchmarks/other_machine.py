"""A machine the toolkit was not built on: a simulated conveyor drive at 10 Hz, a new session.

The simulated arm shaped most defaults; this benchmark checks them on a different machine,
rate and channel set, as a user's first model would meet it: fit the default (``anomaly fit``'s
PCA, its own threshold, the alert rules at the data's rate) on two 30-minute sessions of normal
operation, then score later sessions whose temperatures sit or drift elsewhere while the faults
show in the fast channels. No label chooses anything.

The drive (10 Hz, 6 channels): ``motor_current`` follows a load cycle of 8 s and 3.1 s plus
noise; ``motor_speed`` droops with the load; ``vibration_rms`` grows with it; ``line_pressure``
is regulated (noise around 2.5 bar); ``motor_temp`` and ``bearing_temp`` are first-order
thermal models (time constants 3 and 4 minutes) heated by the current squared above the
ambient, read with 0.05 degC of noise: the motor temperature ripples with the load (lag-1
autocorrelation about 0.7 around its 10 s mean), the bearing's is nearly white.

Training: ``wandering`` (the ambient wanders by +-0.3 degC over 20 minutes: the temperatures
are slow channels) or ``steady`` (a constant ambient: they are noise around a level). Test
sessions, 2 seeds each, 30 minutes normal and 30 minutes with four faults (a jam: current
x1.25 and speed -40 rpm for 20 s; a bearing: vibration bursts for 30 s; a pressure drop of
0.15 bar for 20 s; a belt slip: speed +30 rpm for 20 s): ``same`` ambient, ``warmer`` (+1
degC), ``cooler+drift`` (-1.5 degC, rising 2 degC/h), ``drift`` (rising 2 degC/h from the
training ambient), ``drift0.6`` and ``drift-0.6`` (0.6 degC/h up or down: 0.3 degC over a
session, about 3 standard deviations of a steady training temperature). ``anonymous``: the same with the columns named ``ch0`` .. ``ch5`` (no name
says temperature). False alarms: events on the normal sessions and events of the faulty ones
that overlap no fault, per hour of normal time; alarm time: the share of the normal sessions'
rows inside an alarm (a flood is one long event); found: faults overlapped by an event; blamed:
the channel with the largest error over each false alarm. Each model is also fitted and scored
without its temperatures' slow-drift follower (``no follower``: :mod:`anomaly.drift` off, as
before 2026-12-06), in the same process. ``0.5 degC steps``: the named sessions with both
temperatures read in half degrees (as many drives report them), compared with the model
fitted without dead bands (``no dead band``, :func:`anomaly.conditions.deadbands`, as before
this change).

Usage: ``python benchmarks/other_machine.py``; writes ``benchmarks/results/other_machine.json``.
"""

from __future__ import annotations

from collections import Counter
from unittest import mock

import numpy as np
import pandas as pd
from _common import fault_alarms, rows_in_alarm, write_result
from scipy.signal import lfilter

from anomaly import make_detector

RATE_HZ = 10.0
MINUTES = 30
FAULTS = (("jam", 300, 20), ("bearing", 700, 30), ("pressure", 1100, 20), ("slip", 1500, 20))
TESTS = {"same": (0.0, 0.0), "warmer": (1.0, 0.0), "cooler+drift": (-1.5, 2.0), "drift": (0.0, 2.0), "drift0.6": (0.0, 0.6),
         "drift-0.6": (0.0, -0.6)}  # ambient offset (degC), drift (degC/h)
AMBIENT_C = 22.0


def first_order(drive: np.ndarray, tau_rows: float) -> np.ndarray:
    """``y[i] = y[i-1] + (drive[i] - y[i-1]) / tau`` from ``y[-1] = drive[0]``'s mean level."""
    a = 1.0 / tau_rows
    y, _ = lfilter([a], [1.0, -(1.0 - a)], drive, zi=[(1.0 - a) * drive.mean()])
    return y


def session(seed: int, ambient_c: float, drift_c_per_h: float, *, wander_c: float, faults=(), start="2026-03-01",
            step_c: float = 0.0):
    """One 30-minute session: the frame (n, 6) at 10 Hz, and the faults as (kind, first row, end row);
    the temperatures read in steps of ``step_c`` (0: as simulated)."""
    rng = np.random.default_rng(seed)
    n = int(MINUTES * 60 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    load = 1.0 + 0.4 * np.sin(2 * np.pi * t / 8.0 + rng.uniform(0, 6)) + 0.15 * np.sin(2 * np.pi * t / 3.1)
    speed = 1500 - 60 * (load - 1) + rng.normal(0, 3, n)
    current = 4.0 * load + rng.normal(0, 0.08, n)
    vibration = 0.2 + 0.05 * load + np.abs(rng.normal(0, 0.02, n))
    pressure = 2.5 + rng.normal(0, 0.02, n)
    ambient = ambient_c + drift_c_per_h * t / 3600 + wander_c * np.sin(2 * np.pi * t / 1200 + rng.uniform(0, 6))
    motor = first_order(ambient + 1.1 * current**2, 30 * 60 * RATE_HZ / 10)
    bearing = first_order(ambient + 0.55 * current**2, 40 * 60 * RATE_HZ / 10)
    rows = []
    for kind, at_s, length_s in faults:
        a, b = int(at_s * RATE_HZ), int((at_s + length_s) * RATE_HZ)
        rows.append((kind, a, b))
        if kind == "jam":
            current[a:b] *= 1.25
            speed[a:b] -= 40
        elif kind == "bearing":
            vibration[a:b] += 4 * rng.normal(0, 0.08, b - a) ** 2 + 0.05
        elif kind == "pressure":
            pressure[a:b] -= 0.15
        else:
            speed[a:b] += 30
    frame = pd.DataFrame({"motor_current": current, "motor_speed": speed, "vibration_rms": vibration, "line_pressure": pressure,
                          "motor_temp": motor + rng.normal(0, 0.05, n), "bearing_temp": bearing + rng.normal(0, 0.05, n)},
                         index=pd.date_range(start, periods=n, freq="100ms", name="timestamp"))
    if step_c:
        frame[["motor_temp", "bearing_temp"]] = np.round(frame[["motor_temp", "bearing_temp"]] / step_c) * step_c
    return frame, rows


def score_tests(det, wander: float, names, step_c: float) -> dict:
    """False alarms per hour, faults found and the channels blamed, per test condition."""
    out = {}
    for name, (offset, drift) in TESTS.items():
        false, hours, found, total, blamed, alarm_rows, normal_rows = 0, 0.0, 0, 0, Counter(), 0, 0
        for seed in (10, 11):
            normal, _ = session(seed, AMBIENT_C + offset, drift, wander_c=wander, start="2026-03-10", step_c=step_c)
            faulty, rows = session(seed + 50, AMBIENT_C + offset, drift, wander_c=wander, faults=FAULTS, start="2026-03-11",
                                   step_c=step_c)
            for frame, faults in ((names(normal), []), (names(faulty), rows)):
                raised, inside, extra, channels = fault_alarms(det, frame, faults)
                if not faults:
                    alarm_rows, normal_rows = alarm_rows + rows_in_alarm(frame.index, raised), normal_rows + len(frame)
                false += len(extra)
                blamed.update(channels)
                hours += (len(frame) - sum(b - a for _, a, b in faults)) / RATE_HZ / 3600
                found, total = found + sum(bool(hits) for hits in inside), total + len(faults)
        out[name] = {"false_alarms_per_hour": false / hours, "alarm_time_fraction": alarm_rows / normal_rows, "found": found,
                     "faults": total, "blamed": dict(blamed)}
    return out


#: What each row is compared with, fitted in the same process: the model as before the change its data tests.
BASELINES = {
    "no follower": lambda: mock.patch("anomaly.conditions.follow_blocks", return_value=(0, 0.0)),
    "no dead band": lambda: mock.patch("anomaly.conditions.deadbands", lambda steps, scale: np.zeros(len(scale), np.float32)),
}


def run(training: str, anonymous: bool, step_c: float = 0.0, params: dict | None = None) -> dict:
    """One training condition: the default PCA (with ``params``) against its baseline, on every test condition."""
    wander = 0.3 if training == "wandering" else 0.0
    names = (lambda f: f.set_axis([f"ch{i}" for i in range(f.shape[1])], axis=1)) if anonymous else (lambda f: f)
    train = [names(session(seed, AMBIENT_C, 0.0, wander_c=wander, start=f"2026-03-0{seed + 1}", step_c=step_c)[0])
             for seed in (0, 1)]
    det = make_detector("pca", **(params or {})).fit(train)
    channels, conditions = det.schema_.channels, det.conditions_
    baseline = "no dead band" if step_c else "no follower"
    with BASELINES[baseline]():  # fitted as before the change
        blind = make_detector("pca", **(params or {})).fit(train)
    return {"threshold": det.threshold_, "condition_channels": [channels[i] for i in conditions.indices],
            "setpoint_channels": [channels[i] for i in conditions.setpoints],
            "followed_channels": [channels[i] for i in conditions.follow],
            "dead_bands": {channels[i]: float(b * det.scaler_.scale_[i]) for i, b in zip(conditions.setpoints, conditions.deadband) if b},
            "baseline": baseline, "tests": score_tests(det, wander, names, step_c),
            "tests_baseline": score_tests(blind, wander, names, step_c)}


def main() -> None:
    results = {}
    for training, anonymous, step_c in [(t, a, 0.0) for t in ("wandering", "steady") for a in (False, True)] + \
            [("wandering", False, 0.5), ("steady", False, 0.5)]:
        key = f"{training}{' anonymous' if anonymous else ''}{f', {step_c:g} degC steps' if step_c else ''}"
        results[key] = r = run(training, anonymous, step_c)
        print(f"{key}: threshold {r['threshold']:.3f}; condition channels {r['condition_channels']}; "
              f"set points {r['setpoint_channels']}; followed {r['followed_channels']}; dead bands {r['dead_bands']}", flush=True)
        for name, t in r["tests"].items():
            b = r["tests_baseline"][name]
            print(f"  {name:13s} {t['false_alarms_per_hour']:5.1f} false alarms/h ({r['baseline']} {b['false_alarms_per_hour']:5.1f}), "
                  f"found {t['found']}/{t['faults']} ({b['found']}), blamed {t['blamed']}", flush=True)
    print("->", write_result("other_machine", {"protocol": __doc__.split("Usage:")[0].strip(), "results": results}))


if __name__ == "__main__":
    main()
