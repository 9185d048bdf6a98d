"""Sensor checks: a frozen, noisy or oscillating sensor found and named, at no false alarm on real data.

Every number is the default decision (``anomaly fit``'s PCA, its own threshold and the alert
rules of ``anomaly.decisions``) of one fitted model per data set, with every sensor check
(``all``, the default), with one of them alone (``stuck``: :mod:`anomaly.stuck`, ``noise``:
:mod:`anomaly.noise`, ``oscillation``: :mod:`anomaly.oscillation`; the others' limits zeroed)
and with none (what every model did before them). The twin check (:mod:`anomaly.twins`) is on
in ``all`` only; none of these data sets has twins. No label chooses anything.

``faults``  the simulated arm, trained on the three ``reference`` runs; per fault kind
            (``sensor_freeze``: a random channel repeats its last reading for 5-30 s;
            ``noise_burst``: one to three channels get 8-25x their usual noise for 5-20 s;
            ``gripper_slip``: the holding current drops to ~55 % and swings at 3-6 Hz) 40
            runs of 120 s (seeds 300-339) with one fault each: event recall (an alarm overlaps
            the fault), HitRate@150 % of the calibrated errors over the fault's rows, and how
            often a faulty channel is the first of ``top_channels`` at the alarm's first row
            inside the fault.
``normal``  false alarms per hour on the arm's normal runs at every condition of
            ``benchmarks/conditions.py`` (3 seeds x 300 s each), and on ALFA's 19 faulty
            flights before their onsets (fitted on the 9 normal flights).
``real``    point F1 and AUC-PR on SMD (3 machines) and ASD (6 servers), and ALFA's detected
            flights, as ``benchmarks/conditions.py`` measures them; per entity, how many test
            rows are past a limit of each check and how many of those are labelled anomalous.
``cost``    ``det.score`` of 1,000,000 rows x 28 channels (a 10,000 s normal run of the arm) and
            the stream scorer's rows per second over 20,000 rows, ``all`` against ``none`` and
            against ``all`` without the oscillation check, best of 3 in the same process
            (ratios: with / without).

Usage: ``python benchmarks/sensor_checks.py``; writes ``benchmarks/results/sensor_checks.json``.
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np
from _common import best_seconds, data_root, write_result
from sklearn.metrics import average_precision_score

from anomaly import make_detector
from anomaly.decisions import events, model_rules
from anomaly.metrics import point_metrics
from anomaly.metrics.attribution import hit_rate_report
from anomaly.sensor_checks import SENSOR_CHECK_NAMES
from datasets import smd
from datasets.alfa import load_alfa
from datasets.robot_arm import segments_from_faults
from datasets.robot_arm.conditions import SCENARIOS, TEST_SEEDS, conditions_scenario, training_runs
from pipelines.stream.scorer import StreamScorer

FAULT_SEEDS = range(300, 340)
#: variant -> the checks it keeps on
VARIANTS = {"all": SENSOR_CHECK_NAMES, "stuck": ("stuck",), "noise": ("noise",), "oscillation": ("oscillation",), "none": ()}
#: the fault kinds of ``faults``
FAULT_KINDS = ("sensor_freeze", "noise_burst", "gripper_slip")


def variant(det, name: str):
    """The same fitted detector with only the checks of ``name`` on (a copy: ``without_sensor_checks``)."""
    return det.without_sensor_checks(tuple(c for c in SENSOR_CHECK_NAMES if c not in VARIANTS[name]))


def alarms(det, frame):
    errors, scores, flags = det.evaluate_frame(frame)
    return errors, events(flags, errors, scores, threshold=det.threshold_, **asdict(model_rules(det)))


def run_faults(det, kind: str) -> dict:
    found, hits, named = [], [], []
    for seed in FAULT_SEEDS:
        run = conditions_scenario("reference", duration_s=120, faults=(kind,), seed=seed, start="2026-01-03")
        errors, evs = alarms(det, run.frame)
        calibrated = errors.copy()
        calibrated[:] = det.head_.calibrated(errors.to_numpy())
        for segment, fault in zip(segments_from_faults(run), run.faults):
            inside = [e for e in evs if e.start <= fault.end and e.end >= fault.start]
            found.append(bool(inside))
            hits.append(hit_rate_report(calibrated, [segment], p=1.5)["hit_rate"])
            if inside:
                first = max(inside[0].start, fault.start)
                named.append(calibrated.loc[first:].iloc[0].idxmax() in segment.channels)
    return {"faults": len(found), "event_recall": float(np.mean(found)), "hitrate@150%": float(np.mean(hits)),
            "named_first": float(np.mean(named)) if named else None}


def run_normal(det, alfa_det) -> dict:
    out = {}
    for condition in SCENARIOS["conditions"][1]:
        count = sum(len(alarms(det, conditions_scenario(condition, duration_s=300, seed=s, start="2026-01-02").frame)[1])
                    for s in TEST_SEEDS)
        out[condition] = count / (3 * 300 / 3600)
    _, faulty = load_alfa(data_root())
    count, hours = 0, 0.0
    for flight in faulty:
        _, evs = alarms(alfa_det, flight.frame)
        count += sum(e.start < flight.onset for e in evs)
        hours += (flight.onset - flight.frame.index[0]).total_seconds() / 3600
    out["alfa_before_onsets"] = count / hours
    return out


def rows_past(det, frame, labels) -> dict:
    """Test rows past a limit of each check alone, and of them labelled anomalous."""
    out = {}
    for name in ("stuck", "noise", "oscillation"):
        none, alone = variant(det, "none"), variant(det, name)
        past = alone.score(frame).to_numpy() != none.score(frame).to_numpy()
        out[name] = {"rows_past_a_limit": int(past.sum()), "of_them_anomalous": int((past & labels).sum())}
    return out


def run_real() -> dict:
    out = {"alfa": {}}
    normal, faulty = load_alfa(data_root())
    det = make_detector("pca").fit([f.frame for f in normal])
    for name in VARIANTS:
        model = variant(det, name)
        out["alfa"][name] = {"detected": sum(any(e.start >= f.onset for e in alarms(model, f.frame)[1]) for f in faulty) / len(faulty)}
    for dataset, loader, entities in (("smd", smd.load_smd, smd.SMD_MACHINES), ("asd", smd.load_asd, smd.ASD_ENTITIES)):
        rows, per = {name: [] for name in VARIANTS}, []
        for entity in entities:
            data = loader(entity, data_root())
            det = make_detector("pca").fit(data.train)
            labels = data.labels.to_numpy(bool)
            for name in VARIANTS:
                model = variant(det, name)
                scores, flags = model.score(data.test).to_numpy(), model.predict(data.test).to_numpy()
                rows[name].append({"f1": point_metrics(labels, flags)["f1"], "auc_pr": float(average_precision_score(labels, scores))})
            per.append({"entity": entity, "anomaly_rate": float(labels.mean()), **rows_past(det, data.test, labels)})
        out[dataset] = {name: {k: float(np.mean([r[k] for r in v])) for k in ("f1", "auc_pr")} for name, v in rows.items()}
        out[dataset]["entities"] = per
    return out


def run_cost(det) -> dict:
    models = {"all": det, "none": variant(det, "none"), "no oscillation": det.without_sensor_checks(("oscillation",))}
    frame = conditions_scenario("reference", duration_s=10_000, seed=5).frame  # one continuous run (runs put end to end jump)
    batch = {name: best_seconds(lambda m=model: m.score(frame), 3) for name, model in models.items()}
    rows = frame.iloc[:20_000]

    def stream(model):
        scorer = StreamScorer(model)
        for timestamp, row in zip(rows.index, rows.to_numpy()):
            scorer.push(timestamp, row)

    per_row = {name: best_seconds(lambda m=model: stream(m), 3) for name, model in models.items()}
    return {"batch_seconds": batch, "batch_ratio": batch["all"] / batch["none"],
            "oscillation_batch_ratio": batch["all"] / batch["no oscillation"],
            "stream_rows_per_s": {k: len(rows) / v for k, v in per_row.items()}, "stream_ratio": per_row["all"] / per_row["none"],
            "oscillation_stream_ratio": per_row["all"] / per_row["no oscillation"]}


def main() -> None:
    det = make_detector("pca").fit(training_runs("reference"))
    alfa_det = make_detector("pca").fit([f.frame for f in load_alfa(data_root())[0]])
    result = {"protocol": __doc__, "faults": {}, "normal": {}}
    for name in VARIANTS:
        arm, alfa = variant(det, name), variant(alfa_det, name)
        result["faults"][name] = {kind: run_faults(arm, kind) for kind in FAULT_KINDS}
        result["normal"][name] = run_normal(arm, alfa)
        print(name, result["faults"][name], result["normal"][name], flush=True)
    result["real"] = run_real()
    print(result["real"], flush=True)
    result["cost"] = run_cost(det)
    print(result["cost"], flush=True)
    print("->", write_result("sensor_checks", result))


if __name__ == "__main__":
    main()
