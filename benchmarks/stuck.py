"""Stuck channels: a frozen sensor found and named, at no false alarm on real data.

Every number is the default decision (``anomaly fit``'s PCA, its own threshold and the alert
rules of ``anomaly.decisions``), with the stuck-channel limits (``on``, the default) and
without them (``off``: the same fitted model with ``stuck_limits_`` zeroed, what every model
did before). No label chooses anything.

``freeze``  the simulated arm, trained on the three ``reference`` runs; 40 runs of 120 s
            (seeds 300-339) with one ``sensor_freeze`` each (a random channel repeats its last
            reading for 5-30 s): event recall (an alarm overlaps the freeze), HitRate@150 %
            of the calibrated errors over the frozen rows, and how often the frozen channel is
            the first of ``top_channels`` at the alarm's first row inside the freeze.
``normal``  false alarms per hour on the arm's normal runs at every condition of
            ``benchmarks/conditions.py`` (3 seeds x 300 s each), and on ALFA's 19 faulty
            flights before their onsets (fitted on the 9 normal flights).
``real``    point F1 and AUC-PR on SMD (3 machines) and ASD (6 servers), and ALFA's detected
            flights, as ``benchmarks/conditions.py`` measures them; plus, per data set, the
            longest run of a qualifying channel in the test data relative to its limit (1.0
            = at the limit), and how many test rows are past a limit and how many of those are
            labelled anomalous.

``cost``    what the runs cost: ``det.score`` of 1,000,000 rows x 28 channels (the arm's normal
            runs repeated) and the stream scorer's rows per second over 20,000 rows, with the
            limits and without, best of 3 in the same process (ratios: with / without).

Usage: ``python benchmarks/stuck.py``; writes ``benchmarks/results/stuck.json``.
"""

from __future__ import annotations

import copy
from dataclasses import asdict

import numpy as np
import pandas as pd
from _common import best_seconds, data_root, write_result
from sklearn.metrics import average_precision_score

from anomaly import make_detector
from anomaly.decisions import events, model_rules
from anomaly.metrics import point_metrics
from anomaly.metrics.attribution import hit_rate_report
from anomaly.stuck import RunLengths, longest_runs
from datasets import smd
from datasets.alfa import load_alfa
from datasets.robot_arm import segments_from_faults
from datasets.robot_arm.conditions import SCENARIOS, TEST_SEEDS, conditions_scenario, training_runs
from pipelines.stream.scorer import StreamScorer

FREEZE_SEEDS = range(300, 340)


def blind(det):
    """The same fitted detector without stuck limits (every model before them)."""
    off = copy.deepcopy(det)
    off.stuck_limits_ = np.zeros_like(det.stuck_limits_)
    return off


def alarms(det, frame):
    errors, scores, flags = det.evaluate_frame(frame)
    return errors, events(flags, errors, scores, threshold=det.threshold_, **asdict(model_rules(det)))


def run_freeze(det) -> dict:
    found, hits, named = [], [], []
    for seed in FREEZE_SEEDS:
        run = conditions_scenario("reference", duration_s=120, faults=("sensor_freeze",), seed=seed, start="2026-01-03")
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


def past_limits(det, frame, labels=None) -> dict:
    """The longest run of a watched channel relative to its limit, rows past a limit (and labelled anomalous)."""
    _, values = det.prepare(frame, "test")
    watched = det.stuck_limits_ > 0
    longest = longest_runs(values[:, watched]) / det.stuck_limits_[watched]
    runs = RunLengths(det.stuck_limits_)
    runs.push(values)
    ratios = runs.take(len(values))
    past = np.zeros(len(values), dtype=bool) if ratios is None else (ratios >= 1.0).any(axis=1)
    out = {"longest_run_to_limit": float(longest.max()) if len(longest) else 0.0, "rows_past_a_limit": int(past.sum())}
    if labels is not None:
        out["of_them_anomalous"] = int((past & labels).sum())
    return out


def run_real() -> dict:
    out = {}
    normal, faulty = load_alfa(data_root())
    det = make_detector("pca").fit([f.frame for f in normal])
    for name, model in (("on", det), ("off", blind(det))):
        detected = sum(any(e.start >= f.onset for e in alarms(model, f.frame)[1]) for f in faulty)
        out.setdefault("alfa", {})[name] = {"detected": detected / len(faulty)}
    out["alfa"]["runs"] = [past_limits(det, f.frame.loc[: f.onset]) for f in faulty]
    out["alfa"]["longest_run_to_limit"] = max(r["longest_run_to_limit"] for r in out["alfa"].pop("runs"))
    for dataset, loader, entities in (("smd", smd.load_smd, smd.SMD_MACHINES), ("asd", smd.load_asd, smd.ASD_ENTITIES)):
        rows = {"on": [], "off": []}
        runs = []
        for entity in entities:
            data = loader(entity, data_root())
            det = make_detector("pca").fit(data.train)
            labels = data.labels.to_numpy(bool)
            for name, model in (("on", det), ("off", blind(det))):
                scores, flags = model.score(data.test).to_numpy(), model.predict(data.test).to_numpy()
                rows[name].append({"f1": point_metrics(labels, flags)["f1"], "auc_pr": float(average_precision_score(labels, scores))})
            runs.append({"entity": entity, **past_limits(det, data.test, labels)})
        out[dataset] = {name: {k: float(np.mean([r[k] for r in v])) for k in ("f1", "auc_pr")} for name, v in rows.items()}
        out[dataset]["entities"] = runs
    return out


def run_cost(det) -> dict:
    off = blind(det)
    frame = pd.concat(training_runs("reference") * 12).iloc[:1_000_000]
    frame.index = pd.date_range("2026-01-01", periods=len(frame), freq="10ms")
    batch = {name: best_seconds(lambda m=model: m.score(frame), 3) for name, model in (("on", det), ("off", off))}
    rows = frame.iloc[:20_000]

    def stream(model):
        scorer = StreamScorer(model)
        for timestamp, row in zip(rows.index, rows.to_numpy()):
            scorer.push(timestamp, row)

    per_row = {name: best_seconds(lambda m=model: stream(m), 3) for name, model in (("on", det), ("off", off))}
    return {"batch_seconds": batch, "batch_ratio": batch["on"] / batch["off"],
            "stream_rows_per_s": {k: len(rows) / v for k, v in per_row.items()}, "stream_ratio": per_row["on"] / per_row["off"]}


def main() -> None:
    det = make_detector("pca").fit(training_runs("reference"))
    alfa_det = make_detector("pca").fit([f.frame for f in load_alfa(data_root())[0]])
    result = {"protocol": __doc__}
    for name, arm, alfa in (("on", det, alfa_det), ("off", blind(det), blind(alfa_det))):
        result.setdefault("freeze", {})[name] = run_freeze(arm)
        result.setdefault("normal", {})[name] = run_normal(arm, alfa)
        print(name, result["freeze"][name], result["normal"][name], flush=True)
    result["real"] = run_real()
    print(result["real"], flush=True)
    result["cost"] = run_cost(det)
    print(result["cost"], flush=True)
    print("->", write_result("stuck", result))


if __name__ == "__main__":
    main()
