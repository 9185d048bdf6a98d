"""Alarm feedback on the simulated arm: three rounds of "mark the false alarms of one normal run".

Each scenario fits the user's default (``anomaly fit``: PCA, its own threshold) on normal runs,
then each round scores one more run, reviews every alarm of the model's alert rules
(:func:`~anomaly.decisions.model_rules`, what ``anomaly score --alarms`` lists) and runs the
feedback round (:func:`anomaly.feedback.review`, what ``anomaly feedback`` does: the alert
on-delay first, then the threshold). After each round:

* false alarms per hour on twelve fresh normal runs (seeds 201-212, 300 s each: one hour),
  never reviewed;
* fault event recall on six faulty runs (seeds 301-306, 600 s, every fault type: 62 faults): a
  labelled fault counts as found when an alarm overlaps it; also per fault type.

Scenarios (fresh and reviewed runs of the scenario's condition, ``datasets.robot_arm.conditions``):

* ``reviewed_normal_runs``: fitted on one 300 s normal run (seed 0) at the demo's pinned
  conditions (ambient 28 degC, the ``reference`` condition); three normal runs reviewed (seeds
  101-103), every alarm a ``false_alarm``;
* ``reviewed_faulty_runs``: the same model; three faulty runs reviewed instead (seeds 111-113,
  600 s, every fault type): each alarm that overlaps a labelled fault is reviewed as that fault,
  the others as false alarms, so the reviewed faults cap the raise;
* ``new_session``: fitted on the three runs of the ``session`` scenario (the arm warming up
  from cold, seeds 0-2); the robot then works warm on a day whose ambient rises by 6 degC/h
  (``warm-drift``): normal runs reviewed, fresh and faulty runs of that condition measured;
* ``new_program``: fitted on three ``reference`` runs (seeds 0-2); the robot then runs its
  second program (``program-b``, motions the model never saw): normal runs reviewed.

No test label chooses anything: the reviews are of normal runs (or, in the second scenario, of
other faulty runs).

``refit`` (the scenarios that review normal runs): what a round that raises the threshold more
than twofold recommends instead (:func:`anomaly.feedback.large_raise_note`): the default fitted
on the scenario's training runs and the first one and all three reviewed runs, measured the same way.

Usage: ``python benchmarks/feedback.py [--detector pca]``; writes ``benchmarks/results/feedback.json``.
"""

from __future__ import annotations

import argparse

import numpy as np
from _common import write_result

from anomaly import make_detector
from anomaly.decisions import model_rules
from anomaly.feedback import alarms, review
from datasets.robot_arm import segments_from_faults
from datasets.robot_arm.conditions import conditions_scenario, training_runs

RATE_HZ = 100.0
REVIEW_SEEDS = (101, 102, 103)
FAULTY_REVIEW_SEEDS = (111, 112, 113)
NORMAL_SEEDS = tuple(range(201, 213))  # 1 h of fresh normal runs
FAULTY_SEEDS = tuple(range(301, 307))  # 62 faults
NORMAL_SECONDS, FAULTY_SECONDS = 300, 600
#: name: (training condition, one run (seed 0) or the scenario's three, reviewed and measured condition, review faulty runs)
SCENARIOS = {
    "reviewed_normal_runs": ("reference", True, "reference", False),
    "reviewed_faulty_runs": ("reference", True, "reference", True),
    "new_session": ("cold-start", False, "warm-drift", False),
    "new_program": ("reference", False, "program-b", False),
}


def run_of(condition: str, seed: int, faulty: bool = False):
    return conditions_scenario(condition, duration_s=FAULTY_SECONDS if faulty else NORMAL_SECONDS, faults="all" if faulty else (),
                               seed=seed)


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
    result = {"protocol": __doc__, "detector": args.detector}
    for name, (training, one_run, condition, review_faulty) in SCENARIOS.items():
        print(name, flush=True)
        train = [run_of(training, 0).frame] if one_run else training_runs(training)
        normal = [run_of(condition, s).frame for s in NORMAL_SEEDS]
        faulty = [run_of(condition, s, faulty=True) for s in FAULTY_SEEDS]
        runs = [run_of(condition, s, faulty=review_faulty) for s in (FAULTY_REVIEW_SEEDS if review_faulty else REVIEW_SEEDS)]
        rounds = rounds_of(make_detector(args.detector).fit(train), runs, normal, faulty)
        result[name] = {"training": training, "condition": condition, "rounds": rounds, "summary": summary_of(rounds)}
        if not review_faulty:
            result[name]["refit"] = [{"reviewed_runs": k, **measure(make_detector(args.detector).fit(train + [r.frame for r in runs[:k]]),
                                                                    normal, faulty)} for k in (1, len(runs))]
            print(result[name]["refit"], flush=True)
        print(result[name]["summary"], flush=True)
    write_result("feedback", result)


if __name__ == "__main__":
    main()
