"""A pause inside one log: two sessions of the simulated arm in one file, scored by the default.

Fitted on the three ``reference`` training runs (``datasets.robot_arm.conditions``, seeds 0-2,
300 s). Each test log is a warm 300 s ``reference`` run (seeds 100-102), then the arm stops,
cools to the ambient and starts again: a ``cold-start`` run (seed + 50) whose joints warm up
from the ambient. Three ways to log the same rows:

``10-min pause``  one file, the second session's timestamps 10 minutes after the first's end
                  (a pause: a new scoring pass, :mod:`anomaly.pauses`);
``30-s stop``     one file, the same rows with only 30 s between the sessions (no pause: one
                  pass, so the cold session is measured against the warm session's start, as
                  every log was before pauses started a pass);
``two files``     each session scored as a file of its own.

Measured: alarms and the share of time in alarm on the normal logs (the default alert rules at
the model's rate, as in ``benchmarks/conditions.py``), and the fault event recall when the
second session is a 600 s faulty ``cold-start`` run (every fault type; faults only there).

Usage: ``python benchmarks/pauses.py [--detectors pca,dense-ae]``; writes ``benchmarks/results/pauses.json``.
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd
from _common import rows_in_alarm, write_result
from conditions import decide, make, overlaps

from datasets.robot_arm.conditions import TEST_SEEDS, conditions_scenario, training_runs

LOGGINGS = {"10-min pause": pd.Timedelta(minutes=10), "30-s stop": pd.Timedelta(seconds=30), "two files": None}


def moved(frame: pd.DataFrame, after: pd.Timestamp) -> pd.DataFrame:
    """``frame`` with its timestamps moved to start at ``after``."""
    return frame.set_axis(frame.index - frame.index[0] + after)


def alarms_of(det, first: pd.DataFrame, second: pd.DataFrame, gap) -> tuple[list, pd.DatetimeIndex, pd.Timedelta]:
    """The alarms of the two sessions logged with ``gap`` (None: two files), the second session's
    index as scored and its shift from its own timestamps."""
    if gap is None:
        return decide(det, first)[3] + decide(det, second)[3], second.index, pd.Timedelta(0)
    later = moved(second, first.index[-1] + gap)
    return decide(det, pd.concat([first, later]))[3], later.index, later.index[0] - second.index[0]


def measure(det, gap) -> dict:
    alarms, alarm_rows, rows, found = 0, 0, 0, []
    for seed in TEST_SEEDS:
        first = conditions_scenario("reference", duration_s=300, seed=seed, start="2026-01-02").frame
        second = conditions_scenario("cold-start", duration_s=300, seed=seed + 50, start="2026-01-02").frame
        evs, later, _ = alarms_of(det, first, second, gap)
        index = first.index.append(later)
        alarms += len(evs)
        alarm_rows += rows_in_alarm(index, evs)
        rows += len(index)
        faulty = conditions_scenario("cold-start", duration_s=600, faults="all", seed=seed + 50, start="2026-01-02")
        evs, _, shift = alarms_of(det, first, faulty.frame, gap)
        found += [overlaps(evs, f.start + shift, f.end + shift) for f in faulty.faults]
    return {"alarms": alarms, "alarms_per_hour": alarms / (rows / 100.0 / 3600), "alarm_time_fraction": alarm_rows / rows,
            "fault_event_recall": float(np.mean(found)), "faults": len(found)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default="pca,dense-ae")
    args = parser.parse_args()
    result = {"protocol": __doc__, "results": {}}
    training = training_runs("reference")
    for name in args.detectors.split(","):
        det = make(name, {}, training[0]).fit(training)
        result["results"][name] = row = {logging: measure(det, gap) for logging, gap in LOGGINGS.items()}
        print(name, {k: (v["alarms"], round(v["alarm_time_fraction"], 3), round(v["fault_event_recall"], 2)) for k, v in row.items()},
              flush=True)
    write_result("pauses", result)


if __name__ == "__main__":
    main()
