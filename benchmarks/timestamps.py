"""Timestamps written as numbers: the PCA default on the simulated arm, timed five ways.

The same rows (``datasets.robot_arm.conditions``: fitted on the three ``reference`` training
runs, 300 s at 100 Hz; tested per condition on three normal 300 s runs and three faulty 600 s
runs, seeds 100-102) with their index written as

``datetimes``        a DatetimeIndex (what the simulator gives);
``epoch seconds``    float seconds since 1970 (``time = 1767225600.01, ...``);
``epoch ms``         integer milliseconds since 1970;
``ROS nanoseconds``  integer nanoseconds since 1970 (``%time`` of ``rostopic echo -p``);
``seconds from 0``   float seconds since the log's first row (``t = 0.00, 0.01, ...``);
``step numbers``     0, 1, 2, ... (no time: how every number was read before numbers were
                     read as times, so this row is also the "before" of the other number rows).

Measured: the sampling rate the model learnt, its condition channels, false alarms per hour
(the default alert rules at the model's rate, as in ``benchmarks/conditions.py``) and fault
event recall per condition.

Usage: ``python benchmarks/timestamps.py``; writes ``benchmarks/results/timestamps.json``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from _common import write_result
from conditions import decide, overlaps

from anomaly import make_detector
from datasets.robot_arm.conditions import TEST_SEEDS, conditions_scenario, training_runs

CONDITIONS = ("reference", "cold", "warm-drift", "heavy", "slow-80")


def as_numbers(index: pd.DatetimeIndex, kind: str) -> pd.Index:
    """``index`` written as ``kind`` (a key of :data:`TIMINGS`)."""
    ns = index.asi8
    if kind == "epoch seconds":
        return pd.Index(ns / 1e9, name="time")
    if kind == "epoch ms":
        return pd.Index(ns // 1_000_000, name="time_ms")
    if kind == "ROS nanoseconds":
        return pd.Index(ns, name="%time")
    if kind == "seconds from 0":
        return pd.Index((ns - ns[0]) / 1e9, name="t")
    if kind == "step numbers":
        return pd.RangeIndex(len(ns))
    return index


TIMINGS = ("datetimes", "epoch seconds", "epoch ms", "ROS nanoseconds", "seconds from 0", "step numbers")


def timed(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    return frame.set_axis(as_numbers(frame.index, kind))


def measure(det, kind: str, condition: str) -> dict:
    alarms, hours, found = 0, 0.0, []
    for seed in TEST_SEEDS:
        frame = conditions_scenario(condition, duration_s=300, seed=seed, start="2026-01-02").frame
        alarms += len(decide(det, timed(frame, kind))[3])
        hours += len(frame) / 100.0 / 3600
        run = conditions_scenario(condition, duration_s=600, faults="all", seed=seed, start="2026-01-03")
        positions = pd.Series(np.arange(len(run.frame)), index=run.frame.index)
        labels = as_numbers(run.frame.index, kind)
        evs = decide(det, timed(run.frame, kind))[3]
        for fault in run.faults:  # a fault's span in the run's own labels
            lo, hi = labels[positions[fault.start]], labels[positions[fault.end]]
            found.append(overlaps(evs, lo, hi))
    return {"false_alarms_per_hour": alarms / hours, "fault_event_recall": float(np.mean(found))}


def main() -> None:
    result = {"protocol": __doc__, "results": {}}
    training = training_runs("reference")
    for kind in TIMINGS:
        det = make_detector("pca").fit([timed(f, kind) for f in training])
        channels = det.schema_.channels
        row = {"sampling_rate_hz": det.schema_.sampling_rate, "condition_channels": [channels[i] for i in det.conditions_.indices],
               "set_point_channels": len(det.conditions_.setpoints)}
        row.update({condition: measure(det, kind, condition) for condition in CONDITIONS})
        result["results"][kind] = row
        print(kind, row["sampling_rate_hz"], len(row["condition_channels"]),
              {c: (row[c]["false_alarms_per_hour"], round(row[c]["fault_event_recall"], 3)) for c in CONDITIONS}, flush=True)
    write_result("timestamps", result)


if __name__ == "__main__":
    main()
