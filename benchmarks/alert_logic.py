"""What alert logic does to false alarms on the simulated robot arm.

PCA (T-squared+Q) fitted on 300 s of normal operation; a 1,800 s normal log (seed 4) and
three 600 s logs with every fault type (seeds 1-3), one shift. Compared: raw flags (score >
the fitted 99th-percentile threshold, runs merged across 1 s gaps) and ``AlertLogic`` with
the threshold as ``enter``, 0.8 x it as ``exit``, a 0.25 s minimum duration, a 1 s merge gap
and a 5 s cooldown (the minimum duration counted in held rows; both with the default severe
rule), and the latter with a 0.5 s minimum duration (an on-delay that ``anomaly feedback`` may
set, at most 1 s). Reported: false alarms per hour of normal operation, the fraction of fault events
(ground-truth segments) that get at least one alert row, and the kinds of the ones missed.

Run: ``python benchmarks/alert_logic.py`` -> ``benchmarks/results/alert_logic.json``.
"""

from __future__ import annotations

from _common import write_result

from anomaly import PCADetector
from anomaly.decisions import AlertLogic
from datasets.robot_arm import simulate

RATE = 100
RULES = {
    "raw flags (merge gap 1 s)": dict(min_duration=1, merge_gap=RATE, cooldown=0, exit_ratio=1.0),
    "hysteresis 0.8, min 0.25 s, gap 1 s, cooldown 5 s": dict(min_duration=RATE // 4, merge_gap=RATE, cooldown=5 * RATE, exit_ratio=0.8),
    "the same with a 0.5 s on-delay (what a feedback round may set)": dict(min_duration=RATE // 2, merge_gap=RATE, cooldown=5 * RATE,
                                                                          exit_ratio=0.8),
}


def main() -> None:
    det = PCADetector().fit(simulate(300, seed=0, ambient_c=28.0).frame)
    normal = det.score(simulate(1800, seed=4, ambient_c=28.0).frame).to_numpy()
    faulty = [simulate(600, faults="all", seed=s, ambient_c=28.0) for s in (1, 2, 3)]
    results = {}
    for name, rule in RULES.items():
        logic = AlertLogic.from_threshold(det.thresholder_, **rule)
        per_hour = len(logic.alerts(normal)) / (len(normal) / RATE / 3600)
        hit, total, missed = 0, 0, []
        for run in faulty:
            flags = logic.apply(det.score(run.frame).to_numpy())
            index = run.frame.index
            for fault in run.faults:
                total += 1
                found = bool(flags[index.get_loc(fault.start) : index.get_loc(fault.end) + 1].any())
                hit += found
                missed += [] if found else [fault.kind]
        results[name] = {"false_alarms_per_hour": per_hour, "fault_events_alerted": hit / total, "fault_events": total,
                         "missed": sorted(missed)}
        print(f"{name:52s} false alarms/h {per_hour:8.1f}  fault events alerted {hit}/{total}  missed {sorted(missed)}")
    print(f"-> {write_result('alert_logic', {'protocol': __doc__.split('Run:')[0].strip(), 'results': results})}")


if __name__ == "__main__":
    main()
