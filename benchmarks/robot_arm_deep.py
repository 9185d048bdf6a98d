"""Every detector on the simulated robot arm: recall per fault type, false alarms per hour.

Train: 300 s of normal operation (seed 0). Test: three 600 s logs with every fault type
(seeds 1-3) and one 1,800 s normal log (seed 4), all of one shift (ambient 28 degC).
Threshold: each detector's default (``QuietLogs``: at least the 99th percentile of training scores; validation part for
neural models). Recall per fault type = fraction of the fault's labelled rows flagged.
False alarms per hour = alarm events (runs of flags, merged across gaps < 1 s) in the normal
log, per hour: all of them, and those lasting at least 0.25 s (the kind of minimum-duration
rule an alert would use). Same settings for every model.

Run: ``python benchmarks/robot_arm_deep.py [model ...]`` -> ``benchmarks/results/robot_arm_deep.json``
(naming models re-measures those and keeps the other models' earlier entries).
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import pandas as pd
from _common import RESULTS, write_result

from anomaly import events, make_detector
from anomaly.metrics import auc_pr, fault_recall, point_metrics
from datasets.robot_arm import FAULT_TYPES, simulate

AMBIENT = 28.0
NORMAL_S = 1800.0
COMMON = {"window": 16, "epochs": 10, "random_state": 0}
MODELS = {
    "pca": {},
    "dense-ae": {**COMMON},
    "conv-ae": {**COMMON, "filters": (32, 16), "kernel_size": 5},
    "lstm-ae": {**COMMON, "units": (32,), "latent": 8},
    "lstm-vae": {**COMMON, "units": (32,), "latent": 8},
    "vae-gan": {**COMMON, "units": (32,), "latent": 8},
    "lstm-forecast": {**COMMON, "units": (32,)},
    "transformer-ae": {**COMMON, "d_model": 32, "num_heads": 2, "ff_dim": 64, "latent": 8},
}


def earlier_results() -> dict:
    """Per-model results of earlier runs: running a subset of models updates only their entries."""
    path = RESULTS / "robot_arm_deep.json"
    return json.loads(path.read_text())["models"] if path.exists() else {}


def main(names: list[str]) -> None:
    train = simulate(300, seed=0, ambient_c=AMBIENT).frame
    faulty = [simulate(600, faults="all", seed=s, ambient_c=AMBIENT) for s in (1, 2, 3)]
    normal = simulate(NORMAL_S, seed=4, ambient_c=AMBIENT).frame
    y = np.concatenate([run.labels["is_anomaly"].to_numpy() for run in faulty])
    kinds = np.concatenate([run.labels["fault_type"].to_numpy() for run in faulty])
    results = earlier_results()
    for name in names:
        start = time.perf_counter()
        det = make_detector(name, **MODELS[name]).fit(train)
        fit_s = time.perf_counter() - start
        scores = np.concatenate([det.score(run.frame).to_numpy() for run in faulty])
        flags = det.thresholder_.apply(scores)
        normal_flags = det.predict(normal)
        alarms = events(normal_flags, min_duration=1, merge_gap=100, cooldown=0)  # every merged run
        lasting = [a for a in alarms if a.length >= 25]
        results[name] = {
            "measured": time.strftime("%Y-%m-%d"),
            "fit_s": round(fit_s, 1),
            "recall_per_fault": fault_recall(flags, pd.Series(kinds)),
            "false_alarms_per_hour": len(alarms) / (NORMAL_S / 3600),
            "false_alarms_per_hour_min_0.25s": len(lasting) / (NORMAL_S / 3600),
            "far_normal_log": float(normal_flags.mean()),
            **{k: v for k, v in point_metrics(y, flags).items() if k in ("f1", "precision", "recall", "far")},
            "auc_pr": auc_pr(y, scores),
        }
        r = results[name]
        print(f"{name:14s} F1 {r['f1']:.3f} AUC-PR {r['auc_pr']:.3f} false alarms/h {r['false_alarms_per_hour']:7.1f} "
              f"(>= 0.25 s: {r['false_alarms_per_hour_min_0.25s']:5.1f}) | "
              + " ".join(f"{k[:8]} {v:.2f}" for k, v in r["recall_per_fault"].items()), file=sys.stderr)
    path = write_result("robot_arm_deep", {"protocol": __doc__.split("Run:")[0].strip(), "fault_types": list(FAULT_TYPES),
                                           "settings": MODELS, "models": results})
    print(f"-> {path}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
