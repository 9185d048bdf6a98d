"""Detection under changing operating conditions: the default decision, technique by technique.

Every number is what a user's *default* decision does: the detector's own threshold (fitted on
normal data only) and the shared alert rules (``anomaly.decisions.DEFAULT_RULES``: events of at
least 25 rows, merged across gaps of 100, cooldown 500, hysteresis at 0.8 x the threshold). No
test label chooses anything.

Datasets
--------
``conditions``  the simulated arm (``datasets.robot_arm.conditions``): trained on 3 normal
                reference runs (300 s each), tested per unseen condition on 3 normal runs
                (false alarms per hour = events per hour of normal operation) and 3 faulty runs
                with every fault type (600 s; event recall per fault type = share of faults
                overlapped by an event; HitRate@150 % of the calibrated errors). At steady state
                the simulated temperatures are sensor noise around one level. Per fault type
                also the event recall pooled over the unseen conditions' faulty runs
                (``unseen.pooled_event_recall``) and over the four that issue 11's targets
                name, 4 degC cooler, ambient drift, 80 % speed, heavier payload
                (``issue_conditions``): 3 runs per condition hold 3 events of most types, so
                the lowest per-condition recall moves in steps of a third.
``session``     the same arm, trained instead on 3 runs of a session that starts cold
                (``cold-start``: the joints warm up by 0.5-3.5 degC over each 300 s run, so the
                temperatures are slow channels), tested as above on the ``reference`` (warm,
                steady), ``cold`` (4 degC cooler) and ``warm-drift`` conditions: the temperatures
                sit a few training standard deviations away while the faults show in the fast
                channels.
``mixed-sessions`` trained on logs of two kinds of session (seed 0 warming up from cold, seeds 1
                and 2 already warm: their temperatures only sensor noise around a level), tested
                as ``session``: logs gathered over several sessions, as a user's often are.
``alfa``        real UAV flights: fit on the 9 normal flights (as separate logs), score the 19
                faulty ones: detected = an event raised at or after the onset; false alarms per
                hour = events raised before the onset (also when they last into the fault: an
                alarm already on hides the fault), per hour of flight before the onsets; the
                share of that time in alarm; delay = first event raised after the onset;
                detected by chance = the share of flights that false alarms at the measured
                rate would "detect" in the time after the onset (1 - exp(-rate x time),
                averaged over the flights; the median flight has 16 s after its onset).
``smd``/``asd`` per entity: point F1 of ``det.predict`` and AUC-PR of the scores (no point adjustment);
                the default alarms' view: faults found (the share of labelled anomaly runs an event
                overlaps, pooled over the entities) and false alarms per day (events that overlap
                no labelled row, per day of unlabelled time at the documented step).
``smd-timed``/``asd-timed`` the same with the rows on their documented time step (``datasets.smd.timed``:
                SMD a minute, ASD five minutes; test right after train), as a user's logs of such
                metrics carry timestamps: the time-based defaults (the change horizon, the alert
                rules) then act at the rows' rate instead of on row counts.

Variants (the ablation), each on top of the detector's other defaults (PCA: channel limits
``channel_limit=99.99``; every detector: the ``QuietLogs()`` threshold, the larger of the normal
scores' 99th percentile and the level at which the alert rules stay quiet on the median
training log): ``base`` (no condition channels, mean of errors), ``+conditions``
(``conditions="auto"``, the default: slow channels, most of their variance slower than 10 s, by
their change; set-point channels, white noise around one level, against the start of each
run), ``+conditions+p99`` (with ``Percentile(99)`` instead of ``QuietLogs``),
``+conditions-limits`` (PCA without channel limits), ``+conditions-limits+p99`` (neither: the
default before channel limits and ``QuietLogs``), ``+calibrated`` (``aggregate="calibrated"``),
``+both``, the two with an extreme-value threshold (``POT(q=1e-4)`` on normal scores),
three with ``Sustained()`` (the level no 25-row stretch of normal scores stays above),
``+adapt`` (baseline adaptation, ``adapt=1000`` rows on every dataset) and ``+smooth``
(``smooth`` = 3 s of rows at the data's rate: 300 on the arm, 60 on ALFA, none on SMD/ASD
whose rows are numbered, a minute apart or more) with the threshold at the largest smoothed normal
score (``+max``, ``Percentile(100)``) or at ``Percentile(99)``.
Alarm time fraction: share of normal rows inside an alarm (a flood is one long event, so
events per hour alone hide it).

Usage: ``python benchmarks/conditions.py [--detectors pca,dense-ae] [--datasets conditions,session,mixed-sessions,alfa,smd,asd,smd-timed,asd-timed]``;
writes ``benchmarks/results/conditions.json`` (``conditions_<detector>.json`` for others);
``--markdown`` prints the tables of docs/benchmarks.md from that file instead (the ablation table and the
alarms' view on SMD and ASD).
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict

import numpy as np
import pandas as pd
from _common import RESULTS, data_root, environment, rows_in_alarm, write_result
from sklearn.metrics import average_precision_score

from anomaly import make_detector
from anomaly.decisions import events, model_rules
from anomaly.decisions.runs import event_ranges
from anomaly.metrics import hit_rate, point_metrics
from anomaly.schema import sampling_rate
from anomaly.thresholds import POT, Percentile, Sustained
from datasets import smd
from datasets.alfa import load_alfa
from datasets.robot_arm import FAULT_TYPES, segments_from_faults
from datasets.robot_arm.conditions import SCENARIOS, TEST_SEEDS, conditions_scenario, training_runs

VARIANTS = {
    "base": {"conditions": None},
    "+conditions": {"conditions": "auto"},
    "+conditions+p99": {"conditions": "auto", "threshold": Percentile(99.0)},
    "+conditions-limits": {"conditions": "auto", "channel_limit": None},
    "+conditions-limits+p99": {"conditions": "auto", "channel_limit": None, "threshold": Percentile(99.0)},
    "+conditions+changes": {"conditions": "auto", "changes": 4},
    "+calibrated": {"conditions": None, "aggregate": "calibrated"},
    "+both": {"conditions": "auto", "aggregate": "calibrated"},
    "+both+pot": {"conditions": "auto", "aggregate": "calibrated", "threshold": POT(q=1e-4)},
    "+conditions+pot": {"conditions": "auto", "threshold": POT(q=1e-4)},
    "+sustained": {"conditions": None, "threshold": Sustained()},
    "+conditions+sustained": {"conditions": "auto", "threshold": Sustained()},
    "+both+sustained": {"conditions": "auto", "aggregate": "calibrated", "threshold": Sustained()},
    "+adapt": {"conditions": None, "adapt": 1000},
    "+both+adapt": {"conditions": "auto", "aggregate": "calibrated", "adapt": 1000},
    "+conditions+smooth": {"conditions": "auto", "smooth_s": 3.0},
    "+conditions+smooth1s": {"conditions": "auto", "smooth_s": 1.0},
    "+conditions+smooth+max": {"conditions": "auto", "smooth_s": 3.0, "threshold": Percentile(100.0)},
    "+conditions+smooth+sustained": {"conditions": "auto", "smooth_s": 3.0, "threshold": Sustained()},
    "+both+smooth": {"conditions": "auto", "aggregate": "calibrated", "smooth_s": 3.0},
    "+both+smooth+max": {"conditions": "auto", "aggregate": "calibrated", "smooth_s": 3.0, "threshold": Percentile(100.0)},
    "+both+adapt+smooth+max": {"conditions": "auto", "aggregate": "calibrated", "adapt": 1000, "smooth_s": 3.0,
                               "threshold": Percentile(100.0)},
}
PARAMS = {
    "pca": {},
    "dense-ae": {"window": 16, "hidden": (64,), "latent": 8, "epochs": 8, "random_state": 0},
    "lstm-ae": {"window": 16, "units": (32,), "latent": 8, "epochs": 5, "random_state": 0},
}


#: The unseen conditions issue 11's arm targets name: 4 degC cooler, an ambient drift, 80 % speed, a heavier payload.
ISSUE_CONDITIONS = frozenset({"cold", "warm-drift", "slow-80", "heavy"})


def make(name: str, variant: dict, frame):
    """The variant's detector; ``smooth_s`` becomes rows at the rate of ``frame`` (a training log)."""
    params = dict(PARAMS[name], **variant)
    seconds = params.pop("smooth_s", None)
    if name != "pca":
        params.pop("channel_limit", None)  # PCA parameters
        params.pop("changes", None)
    rate = sampling_rate(frame.index)
    if seconds is not None and rate is not None:  # SMD/ASD: row numbers, minutes apart
        rows = int(round(seconds * rate))
        params["smooth"] = rows if rows > 1 else None
    if name == "pca" and params.get("aggregate") == "calibrated":
        params["statistic"] = "spe"  # T-squared does not go through the channel aggregate
    return make_detector(name, **params)


def decide(det, frame):
    """Errors, scores, flags and the events of one frame (the default rules at the model's rate)."""
    errors, scores, flags = det.evaluate_frame(frame)
    return errors, scores, flags, events(flags, errors, scores, threshold=det.threshold_, **asdict(model_rules(det)))


def overlaps(evs, lo, hi) -> bool:
    return any(e.start <= hi and e.end >= lo for e in evs)


def run_conditions(name: str, variant: dict, training, tests: tuple[str, ...]) -> dict:
    train = training_runs(training)
    det = make(name, variant, train[0]).fit(train)
    out = {}
    for condition in tests:
        alarms, hours, alarm_rows, rows = 0, 0.0, 0, 0
        for seed in TEST_SEEDS:
            frame = conditions_scenario(condition, duration_s=300, seed=seed, start="2026-01-02").frame
            evs = decide(det, frame)[3]
            alarms += len(evs)
            alarm_rows += rows_in_alarm(frame.index, evs)
            hours, rows = hours + len(frame) / 100 / 3600, rows + len(frame)
        found, total, hits = {k: 0 for k in FAULT_TYPES}, {k: 0 for k in FAULT_TYPES}, []
        for seed in TEST_SEEDS:
            run = conditions_scenario(condition, duration_s=600, faults="all", seed=seed, start="2026-01-03")
            errors, _, _, evs = decide(det, run.frame)
            for fault in run.faults:
                total[fault.kind] += 1
                found[fault.kind] += overlaps(evs, fault.start, fault.end)
            calibrated = errors.copy()
            calibrated[:] = det.head_.calibrated(errors.to_numpy())
            hits.append(hit_rate(calibrated, segments_from_faults(run), p=1.5))
        recall = recall_of(found, total)
        out[condition] = {"false_alarms_per_hour": alarms / hours, "alarm_time_fraction": alarm_rows / rows, "event_recall": recall,
                          "events_found": found, "events": total,
                          "min_event_recall": min(recall.values()), "hitrate@150%": float(np.mean(hits))}
    seen = {training} if isinstance(training, str) else set(training)
    unseen = [out[c] for c in tests if c not in seen]
    out["unseen"] = {"false_alarms_per_hour": float(np.mean([u["false_alarms_per_hour"] for u in unseen])),
                     "alarm_time_fraction": float(np.mean([u["alarm_time_fraction"] for u in unseen])),
                     "max_false_alarms_per_hour": float(max(u["false_alarms_per_hour"] for u in unseen)),
                     "min_event_recall": float(min(u["min_event_recall"] for u in unseen)),
                     "pooled_event_recall": pooled_recall(unseen),
                     "hitrate@150%": float(np.mean([u["hitrate@150%"] for u in unseen]))}
    if ISSUE_CONDITIONS <= set(out):
        out["issue_conditions"] = {"conditions": sorted(ISSUE_CONDITIONS), "pooled_event_recall": pooled_recall([out[c] for c in ISSUE_CONDITIONS]),
                                   "hitrate@150%": float(np.mean([out[c]["hitrate@150%"] for c in ISSUE_CONDITIONS]))}
    return out


def recall_of(found: dict, total: dict) -> dict:
    """Each fault type's event recall, found / events, for the types with events (both dicts by fault type)."""
    return {k: found[k] / total[k] for k in FAULT_TYPES if total[k]}


def pooled_recall(results: list[dict]) -> dict:
    """Each fault type's event recall over the faulty runs of several conditions' ``results``
    (found / events, summed over them)."""
    return recall_of(*({k: sum(r[key][k] for r in results) for k in FAULT_TYPES} for key in ("events_found", "events")))


def run_alfa(name: str, variant: dict) -> dict:
    normal, faulty = load_alfa(data_root())
    det = make(name, variant, normal[0].frame).fit([f.frame for f in normal])
    detected, delays, alarms, hours, alarm_rows, rows, after_s = 0, [], 0, 0.0, 0, 0, []
    for flight in faulty:
        _, _, _, evs = decide(det, flight.frame)
        onset, index = flight.onset, flight.frame.index
        raised_after = [e for e in evs if e.start >= onset]
        alarms += len(evs) - len(raised_after)  # raised before the fault: false, even if it lasts into it
        hours += (onset - index[0]).total_seconds() / 3600
        before = index < onset
        alarm_rows += rows_in_alarm(index[before], evs)
        rows += int(before.sum())
        after_s.append((index[-1] - onset).total_seconds())
        if raised_after:
            detected += 1
            delays.append((raised_after[0].start - onset).total_seconds())
    rate = alarms / hours
    # a false alarm as likely after the onset as before it "detects" a flight by chance
    chance = float(np.mean(1 - np.exp(-rate / 3600 * np.array(after_s))))
    return {"flights": len(faulty), "detected": detected / len(faulty), "detected_by_chance": chance,
            "false_alarms_per_hour": rate,
            "alarm_time_fraction_before_onset": alarm_rows / rows,
            "median_delay_s": float(np.median(delays)) if delays else None}


#: The server datasets: loader, entities, the documented step of their rows, and whether the
#: rows carry it as timestamps (else they are numbered).
ENTITY_SETS = {"smd": (smd.load_smd, smd.SMD_MACHINES, smd.SMD_STEP, False),
               "asd": (smd.load_asd, smd.ASD_ENTITIES, smd.ASD_STEP, False),
               "smd-timed": (smd.load_smd, smd.SMD_MACHINES, smd.SMD_STEP, True),
               "asd-timed": (smd.load_asd, smd.ASD_ENTITIES, smd.ASD_STEP, True)}


def run_entities(loader, entities, step, timed: bool, name: str, variant: dict) -> dict:
    """Point F1 and AUC-PR per entity, and the default alarms' view: the labelled anomaly runs an
    event overlaps (faults found) and the events that overlap none (false alarms, per day of
    unlabelled time at the documented ``step``)."""
    per = {}
    found = runs = false = 0
    days = 0.0
    for entity in entities:
        data = loader(entity, data_root())
        if timed:
            data = smd.timed(data, step)
        det = make(name, variant, data.train).fit(data.train)
        _, scores, flags, evs = decide(det, data.test)
        labels = data.labels.to_numpy(bool)
        spans = [(data.test.index.get_loc(e.start), data.test.index.get_loc(e.end)) for e in evs]
        truth = event_ranges(labels)
        hit = sum(any(lo <= last and hi >= first for lo, hi in spans) for first, last in truth)
        wrong = sum(not labels[lo:hi + 1].any() for lo, hi in spans)
        normal_days = float((~labels).sum() * step / pd.Timedelta(days=1))
        per[entity] = {"f1": point_metrics(labels, flags.to_numpy())["f1"],
                       "auc_pr": float(average_precision_score(labels, scores.to_numpy())),
                       "faults_found": hit, "faults": len(truth), "false_alarms": wrong, "normal_days": normal_days}
        found, runs, false, days = found + hit, runs + len(truth), false + wrong, days + normal_days
    return {"mean_f1": float(np.mean([v["f1"] for v in per.values()])),
            "mean_auc_pr": float(np.mean([v["auc_pr"] for v in per.values()])),
            "faults_found": found / runs, "false_alarms_per_day": false / days, "entities": per}


#: The columns (docs/benchmarks.md) of the ablation table and of its alarms' view (:func:`markdown`).
TABLE_HEADER = ("| detector variant | arm reference FA/h | arm unseen FA/h | arm unseen alarm time | arm unseen mean recall | "
                "arm unseen min recall | arm lowest type pooled (issue's 4) | session FA/h | session alarm time | "
                "session mean recall | session collisions found | "
                "ALFA detected | ALFA detected by chance | ALFA FA/h | ALFA delay s | SMD F1 / AUC-PR | ASD F1 / AUC-PR | "
                "SMD timed F1 / AUC-PR | ASD timed F1 / AUC-PR |")
ALARMS_HEADER = "| detector variant | SMD found, FA/day | ASD found, FA/day | SMD timed found, FA/day | ASD timed found, FA/day |"


def _mean_recall(scenario: dict, tests: list[str]) -> float:
    """Mean over ``tests`` (condition names of one scenario's results) of their mean event recall."""
    return float(np.mean([np.mean(list(scenario[t]["event_recall"].values())) for t in tests]))


def _unseen(results: dict, scenario: str) -> list[str]:
    """The tested conditions of one scenario's results other than its training condition."""
    return [t for t, v in results.items() if isinstance(v, dict) and "event_recall" in v and t != SCENARIOS[scenario][0]]


def _table_row(key: str, row: dict) -> str:
    """One variant's row of the ablation table (docs/benchmarks.md) (``row``: its results per dataset)."""
    arm, session, alfa = row["conditions"], row["session"], row["alfa"]
    arm_unseen, session_unseen = _unseen(arm, "conditions"), _unseen(session, "session")
    collisions = np.mean([session[t]["event_recall"].get("collision", np.nan) for t in session_unseen])
    delay = "–" if alfa["median_delay_s"] is None else f"{alfa['median_delay_s']:.1f}"

    def f1(d: dict) -> str:
        return f"{d['mean_f1']:.2f} / {d['mean_auc_pr']:.2f}"
    cells = [f"{arm['reference']['false_alarms_per_hour']:.0f}", f"{arm['unseen']['false_alarms_per_hour']:.0f}",
             f"{100 * arm['unseen']['alarm_time_fraction']:.0f}%", f"{_mean_recall(arm, arm_unseen):.2f}",
             f"{arm['unseen']['min_event_recall']:.2f}", f"{min(arm['issue_conditions']['pooled_event_recall'].values()):.2f}",
             f"{session['unseen']['false_alarms_per_hour']:.0f}",
             f"{100 * session['unseen']['alarm_time_fraction']:.0f}%", f"{_mean_recall(session, session_unseen):.2f}",
             f"{collisions:.2f}", f"{100 * alfa['detected']:.0f}%", f"{100 * alfa['detected_by_chance']:.0f}%",
             f"{alfa['false_alarms_per_hour']:.0f}", delay, *(f1(row[d]) for d in ("smd", "asd", "smd-timed", "asd-timed"))]
    return f"| {key} | " + " | ".join(cells) + " |"


def markdown(results: dict, detector: str) -> str:
    """The ablation table (docs/benchmarks.md) and its alarms' view for ``detector``'s variants in
    ``results`` (a results file's ``results``: variant key -> dataset -> result)."""
    keys = [k for k in results if k.split(" ", 1)[0] == detector]
    rule = "|---" * (TABLE_HEADER.count("|") - 1) + "|"
    alarms_rule = "|---" * (ALARMS_HEADER.count("|") - 1) + "|"

    def found(d: dict) -> str:
        return f"{100 * d['faults_found']:.0f}%, {d['false_alarms_per_day']:.2f}"
    alarms = [f"| {k} | " + " | ".join(found(results[k][d]) for d in ("smd", "asd", "smd-timed", "asd-timed")) + " |" for k in keys]
    return "\n".join([TABLE_HEADER, rule, *(_table_row(k, results[k]) for k in keys), "", ALARMS_HEADER, alarms_rule, *alarms])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--detectors", default="pca")
    parser.add_argument("--datasets", default="conditions,session,mixed-sessions,alfa,smd,asd,smd-timed,asd-timed")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--markdown", action="store_true", help="print the tables of docs/benchmarks.md from the results file and stop")
    args = parser.parse_args()
    name_of_file = "conditions" if args.detectors == "pca" else "conditions_" + args.detectors.replace(",", "_")
    earlier = RESULTS / f"{name_of_file}.json"  # a run of some datasets keeps the others' results
    result = {"protocol": __doc__, "results": json.loads(earlier.read_text())["results"] if earlier.exists() else {}}
    if args.markdown:
        print("\n\n".join(markdown(result["results"], name) for name in args.detectors.split(",")))
        return
    ran_on = environment()["machine"]
    for name in args.detectors.split(","):
        for variant in args.variants.split(","):
            key = f"{name} {variant}"
            row = result["results"].setdefault(key, {})
            for dataset in args.datasets.split(","):
                start = time.perf_counter()
                if dataset in SCENARIOS:
                    row[dataset] = run_conditions(name, VARIANTS[variant], *SCENARIOS[dataset])
                elif dataset == "alfa":
                    row[dataset] = run_alfa(name, VARIANTS[variant])
                else:
                    row[dataset] = run_entities(*ENTITY_SETS[dataset], name, VARIANTS[variant])
                row[dataset]["seconds"] = round(time.perf_counter() - start, 1)
                row[dataset]["ran_on"] = ran_on
                print(key, dataset, {k: v for k, v in row[dataset].items() if k not in ("entities",) and not isinstance(v, dict)}
                      if dataset not in SCENARIOS else row[dataset]["unseen"], flush=True)
            path = write_result(name_of_file, result)
    print(f"-> {path}")


if __name__ == "__main__":
    main()
