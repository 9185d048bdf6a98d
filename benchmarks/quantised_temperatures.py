"""Temperatures read in steps: the PCA default on the simulated arm with its joint temperatures
rounded to a resolution (many drives report whole or half degrees).

Fitted on the three ``reference`` training runs (``datasets.robot_arm.conditions``, seeds 0-2,
300 s) and measured on each condition's three test runs (seeds 100-102): false alarms per hour
and the share of time in alarm on 300 s normal runs, fault event recall on 600 s faulty runs
(every fault type), with the temperatures rounded to each resolution in training and test
alike (0: as simulated, 0.05 degC of noise), and read in half degrees at 1 Hz (each reading
held for 100 rows, as a slower topic is aligned onto the rows). The default alert rules at the model's rate
decide, as in ``benchmarks/conditions.py``. Each model is also fitted ``before`` (in the same
process) without the set-point channels' dead bands, without a constant temperature's step
taken from the others (and so without PCA's channel-limit floor for them) and with a reading on two
levels allowed to count as slow, as before 2026-12-06.

Usage: ``python benchmarks/quantised_temperatures.py [--detector dense-ae]``; writes
``benchmarks/results/quantised_temperatures.json`` (PCA) or ``quantised_temperatures_<detector>.json``.
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack
from unittest import mock

import numpy as np
from _common import rows_in_alarm, write_result
from conditions import decide, overlaps

from anomaly import make_detector
from datasets.robot_arm.conditions import TEST_SEEDS, conditions_scenario, training_runs

#: Result key -> (resolution in degC, 0: as simulated; rows each reading is held: 100 = read at 1 Hz on the 100 Hz rows).
READINGS = {"0 degC": (0.0, 1), "0.1 degC": (0.1, 1), "0.5 degC": (0.5, 1), "1 degC": (1.0, 1), "0.5 degC at 1 Hz": (0.5, 100)}
CONDITIONS = ("reference", "cold", "warm-drift", "cold-start", "combined")
RATE_HZ = 100.0


def rounded(frame, step: float, hold: int = 1):
    """``frame`` with its temperature channels rounded to ``step`` (none for 0), each reading
    held for ``hold`` rows (a slower topic aligned onto the rows)."""
    if not step and hold == 1:
        return frame
    frame = frame.copy()
    temps = [c for c in frame.columns if c.endswith("_temp")]
    if step:
        frame[temps] = (frame[temps] / step).round() * step
    if hold > 1:
        frame[temps] = frame[temps].to_numpy()[(np.arange(len(frame)) // hold) * hold]
    return frame


def measure(det, condition: str, step: float, hold: int) -> dict:
    alarms, alarm_rows, rows = 0, 0, 0
    for seed in TEST_SEEDS:
        frame = rounded(conditions_scenario(condition, duration_s=300, seed=seed, start="2026-01-02").frame, step, hold)
        evs = decide(det, frame)[3]
        alarms += len(evs)
        alarm_rows += rows_in_alarm(frame.index, evs)
        rows += len(frame)
    found = []
    for seed in TEST_SEEDS:
        run = conditions_scenario(condition, duration_s=600, faults="all", seed=seed, start="2026-01-03")
        evs = decide(det, rounded(run.frame, step, hold))[3]
        found += [overlaps(evs, f.start, f.end) for f in run.faults]
    return {"false_alarms_per_hour": alarms / (rows / RATE_HZ / 3600), "alarm_time_fraction": alarm_rows / rows,
            "fault_event_recall": float(np.mean(found))}


def before():
    """Patches that fit a model as before dead bands (2026-12-06)."""
    stack = ExitStack()
    stack.enter_context(mock.patch("anomaly.conditions.deadbands", lambda steps, scale: np.zeros(len(scale), np.float32)))
    stack.enter_context(mock.patch("anomaly.base.shared_resolution", lambda steps, alike, spread: steps))
    stack.enter_context(mock.patch("anomaly.conditions._two_levels", lambda x: np.zeros(x.shape[1], dtype=bool)))
    return stack


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="pca")
    detector = parser.parse_args().detector
    result = {"protocol": __doc__, "detector": detector, "results": {}, "before": {}}
    for name, (step, hold) in READINGS.items():
        for key, patches in (("results", ExitStack), ("before", before)):
            with patches():
                det = make_detector(detector).fit([rounded(f, step, hold) for f in training_runs("reference")])
            row = {condition: measure(det, condition, step, hold) for condition in CONDITIONS}
            result[key][name] = row
            print(key, name, {c: (round(r["false_alarms_per_hour"]), round(r["fault_event_recall"], 2)) for c, r in row.items()},
                  flush=True)
    write_result("quantised_temperatures" + ("" if detector == "pca" else f"_{detector}"), result)


if __name__ == "__main__":
    main()
