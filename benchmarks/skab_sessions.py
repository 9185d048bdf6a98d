"""A new session on a real machine: SKAB's pump fitted on one day, scored a month later.

The nearest thing in ``../shared/datasets`` to what a user of a real robot does: fit on a log of
normal operation from one session, then watch later sessions whose slow channels sit
elsewhere (here the motor body sits at 66-79 degC instead of 89, the fluid at 24-26 degC
instead of 28.5: 4-35 training standard deviations) while the faults (a valve closed at the
pump's inflow or outflow) show in the fast ones.

Every number is the default decision of ``anomaly fit`` / ``anomaly score --alarms``: the
detector's own threshold (fitted on the normal file only) and the alert rules at the data's
rate (``model_rules``; SKAB is sampled at 1 Hz). No label chooses anything.

Protocol
--------
* Fit on ``skab/data/anomaly-free/anomaly-free.csv`` (2020-02-08, 9,405 rows at 1 Hz).
* Score each of the 20 ``valve1``/``valve2`` files (2020-03-09; each holds one labelled fault
  segment of 333-405 rows, starting at row 560-578) as a log of its own.
* False alarms: events raised before the labelled onset (also when they last into the fault: an
  alarm already on hides the fault), per hour of the time before the onsets, and the share of
  that time in alarm. Found: an event raised inside the labelled segment; found by chance: the
  faults that false alarms at the measured rate would "find" (the sum over the files of
  1 - exp(-rate x the fault's length)). Delay: from the onset to that
  event's start. Blamed: the channel with the largest error over each false alarm.
* Detectors: PCA (defaults) and dense-ae (window 16, hidden 64, latent 8, 8 epochs, seed 0).

Usage: ``python benchmarks/skab_sessions.py``; writes ``benchmarks/results/skab_sessions.json``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict

import numpy as np
from _common import data_root, rows_in_alarm, write_result

from anomaly import make_detector
from anomaly.decisions import events, model_rules
from datasets.skab import load_skab

DETECTORS = {
    "pca": {},
    "dense-ae": {"window": 16, "hidden": (64,), "latent": 8, "epochs": 8, "random_state": 0},
}


def score_file(det, file) -> dict:
    """False alarms before the onset, whether and when the fault was found, in one file."""
    errors, scores, flags = det.evaluate_frame(file.frame)
    found = events(flags, errors, scores, threshold=det.threshold_, **asdict(model_rules(det)))
    index, labels = file.frame.index, file.anomaly.to_numpy()
    onset, end = index[np.argmax(labels)], index[len(labels) - 1 - np.argmax(labels[::-1])]
    false = [e for e in found if e.start < onset]  # raised before the fault: false, even if it lasts into it
    inside = [e for e in found if onset <= e.start <= end]
    before = index < onset
    in_alarm = rows_in_alarm(index[before], false)
    return {"false_alarms": len(false), "hours_before_onset": (onset - index[0]).total_seconds() / 3600,
            "rows_before_onset": int(before.sum()), "rows_in_alarm_before_onset": in_alarm,
            "fault_hours": (end - onset).total_seconds() / 3600, "found": bool(inside),
            "delay_s": (inside[0].start - onset).total_seconds() if inside else None,
            "blamed": [str(errors.loc[e.start:e.end].max().idxmax()) for e in false]}


def run(name: str) -> dict:
    root = data_root()
    normal = load_skab(root, groups=("anomaly-free",))[0]
    det = make_detector(name, **DETECTORS[name]).fit(normal.frame)
    files = {f.name: score_file(det, f) for f in load_skab(root)}
    delays = [f["delay_s"] for f in files.values() if f["found"]]
    rate = sum(f["false_alarms"] for f in files.values()) / sum(f["hours_before_onset"] for f in files.values())
    return {"threshold": float(det.threshold_), "rules": asdict(model_rules(det)), "false_alarms_per_hour": rate,
            # a false alarm as likely inside the fault as before it "finds" it by chance
            "found_by_chance": float(sum(1 - np.exp(-rate * f["fault_hours"]) for f in files.values())),
            "alarm_time_fraction_before_onset": sum(f["rows_in_alarm_before_onset"] for f in files.values())
            / sum(f["rows_before_onset"] for f in files.values()),
            "found": sum(f["found"] for f in files.values()), "files": len(files),
            "median_delay_s": float(np.median(delays)) if delays else None,
            "blamed": dict(Counter(c for f in files.values() for c in f["blamed"])), "per_file": files}


def main() -> None:
    results = {}
    for name in DETECTORS:
        results[name] = run(name)
        r = results[name]
        print(f"{name}: {r['false_alarms_per_hour']:.1f} false alarms/h ({r['alarm_time_fraction_before_onset']:.1%} of the time), "
              f"found {r['found']}/{r['files']} ({r['found_by_chance']:.1f} by chance), "
              f"median delay {r['median_delay_s']} s, threshold {r['threshold']:.3f}, blamed {r['blamed']}", flush=True)
    print("->", write_result("skab_sessions", {"protocol": __doc__.split("Usage:")[0].strip(), "results": results}))


if __name__ == "__main__":
    main()
