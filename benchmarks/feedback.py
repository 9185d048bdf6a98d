"""Alarm feedback on the simulated arm: three rounds of "mark the false alarms of one normal run".

The user's default: ``anomaly fit`` (PCA, 99th-percentile threshold) on a 300 s normal run
(seed 0), conditions pinned (ambient 28 °C, as in the demo). Each round scores one more normal
run (seeds 101, 102, 103), takes every alarm of the default alert rules (``DEFAULT_RULES``,
what ``anomaly score --alarms`` lists) as a reviewed ``false_alarm`` and runs the feedback round
(:func:`anomaly.feedback.review`, what ``anomaly feedback`` does: the alert on-delay first, then
the threshold). Alarms are those of the model's own rules (:func:`~anomaly.decisions.model_rules`,
with the on-delay a round set). After each round:

* false alarms per hour on twelve fresh normal runs (seeds 201-212, 300 s each: one hour),
  never reviewed;
* fault event recall on six faulty runs (seeds 301-306, 600 s, every fault type: 62 faults): a
  labelled fault counts as found when an alarm overlaps it; also per fault type.

No test label chooses anything: the reviews are of normal runs only. A second scenario
(``reviewed_faulty_runs``) reviews three faulty runs instead (seeds 111-113, 600 s, every fault
type): each alarm that overlaps a labelled fault is reviewed as that fault, the others as false
alarms, so the reviewed faults cap the raise.

Usage: ``python benchmarks/feedback.py [--detector pca]``; writes ``benchmarks/results/feedback.json``.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import write_result

from anomaly import make_detector
from anomaly.decisions import model_rules
from anomaly.feedback import alarms, review
from datasets.robot_arm import segments_from_faults, simulate

AMBIENT = 28.0
RATE_HZ = 100.0
REVIEW_SEEDS = (101, 102, 103)
FAULTY_REVIEW_SEEDS = (111, 112, 113)
NORMAL_SEEDS = tuple(range(201, 213))  # 1 h of fresh normal runs
FAULTY_SEEDS = tuple(range(301, 307))  # 62 faults
NORMAL_SECONDS, FAULTY_SECONDS = 300, 600


def normal_run(seed: int):
    return simulate(NORMAL_SECONDS, faults=(), seed=seed, ambient_c=AMBIENT).frame


def scores_of(det, frame) -> np.ndarray:
    return det.evaluate_frame(frame)[1].to_numpy()


def measure(det, normal, faulty) -> dict:
    """False alarms per hour on ``normal`` frames, fault event recall (overall, per type) on ``faulty`` runs."""
    level, rules = float(det.threshold_), model_rules(det)
    count = sum(len(alarms(scores_of(det, f), level, rules)) for f in normal)
    hours = sum(len(f) for f in normal) / RATE_HZ / 3600
    found, per_type = [], {}
    for run in faulty:
        raised = alarms(scores_of(det, run.frame), level, rules)
        for segment, fault in zip(segments_from_faults(run), run.faults):
            hit = any(a < segment.end and b >= segment.start for a, b in raised)  # alarm ends inclusive, segment ends exclusive
            found.append(hit)
            per_type.setdefault(fault.kind, []).append(hit)
    return {"threshold": level, "alert_on_delay_s": rules.min_duration / RATE_HZ, "false_alarms_per_hour": count / hours,
            "fault_event_recall": float(np.mean(found)),
            "recall_per_type": {k: float(np.mean(v)) for k, v in sorted(per_type.items())}}


def reviewed(det, run) -> tuple:
    """A run's frame and review labels: each alarm as the fault it overlaps, else a false alarm."""
    frame = run.frame
    raised = alarms(scores_of(det, frame), float(det.threshold_), model_rules(det))
    labels = np.full(len(frame), None, dtype=object)
    faults = list(zip(segments_from_faults(run), run.faults)) if run.faults else []
    for a, b in raised:  # ends inclusive
        kinds = [f.kind for seg, f in faults if a < seg.end and b >= seg.start]
        labels[a:b + 1] = kinds[0] if kinds else "normal"
    return frame, labels, len(raised), sum(1 for a, b in raised if labels[a] == "normal")


def rounds_of(det, runs, normal, faulty) -> list[dict]:
    """Measurements before and after one review round per run of ``runs``."""
    rounds = [{"round": 0, "reviewed_alarms": 0, "reviewed_false_alarms": 0, **measure(det, normal, faulty)}]
    print(rounds[-1], flush=True)
    for k, run in enumerate(runs, start=1):
        frame, labels, count, false = reviewed(det, run)
        if count:
            det, _ = review(det, [frame], [labels])
        rounds.append({"round": k, "reviewed_alarms": count, "reviewed_false_alarms": false, **measure(det, normal, faulty)})
        print(rounds[-1], flush=True)
    return rounds


def summary_of(rounds: list[dict]) -> dict:
    first, last = rounds[0], rounds[-1]
    return {"false_alarm_reduction": 1 - last["false_alarms_per_hour"] / max(first["false_alarms_per_hour"], 1e-12),
            "recall_change": last["fault_event_recall"] - first["fault_event_recall"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detector", default="pca")
    args = parser.parse_args()
    normal = [normal_run(s) for s in NORMAL_SEEDS]
    faulty = [simulate(FAULTY_SECONDS, faults="all", seed=s, ambient_c=AMBIENT) for s in FAULTY_SEEDS]
    scenarios = {
        "reviewed_normal_runs": [simulate(NORMAL_SECONDS, faults=(), seed=s, ambient_c=AMBIENT) for s in REVIEW_SEEDS],
        "reviewed_faulty_runs": [simulate(FAULTY_SECONDS, faults="all", seed=s, ambient_c=AMBIENT) for s in FAULTY_REVIEW_SEEDS],
    }
    result = {"protocol": __doc__, "detector": args.detector}
    for name, runs in scenarios.items():
        print(name, flush=True)
        rounds = rounds_of(make_detector(args.detector).fit(normal_run(0)), runs, normal, faulty)
        result[name] = {"rounds": rounds, "summary": summary_of(rounds)}
        print(result[name]["summary"], flush=True)
    write_result("feedback", result)


if __name__ == "__main__":
    main()
