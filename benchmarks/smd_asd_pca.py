"""PCA on the 3 SMD machines and 6 ASD servers: point-wise F1 (threshold from training scores
only, no point adjustment) and AUC-PR, beside the random and flag-everything baselines.

Protocol: one model per entity, fitted on ``train/``; threshold = 99th percentile of the
training scores; scored on ``test/`` against ``test_label/``.

Run: ``python benchmarks/smd_asd_pca.py`` -> ``benchmarks/results/smd_asd_pca.json``.
"""

from __future__ import annotations

import numpy as np
from _common import data_root, write_result

from anomaly import PCADetector, Percentile
from anomaly.metrics import auc_pr, baselines, point_metrics
from datasets.smd import ASD_ENTITIES, SMD_MACHINES, load_asd, load_smd

KEYS = ("f1", "precision", "recall", "far")


def run(entity, scaling: str) -> dict:
    det = PCADetector(scaling=scaling, threshold=Percentile(99.0)).fit(entity.train)
    scores = det.score(entity.test).to_numpy()
    y = entity.labels.to_numpy()
    base = baselines(y)
    return {
        "n_components": det.n_components_,
        **{k: v for k, v in point_metrics(y, det.thresholder_.apply(scores)).items() if k in KEYS},
        "auc_pr": auc_pr(y, scores),
        "baseline_random_f1": base["random"]["f1"],
        "baseline_all_anomalous_f1": base["all-anomalous"]["f1"],
        "anomaly_rate": float(y.mean()),
    }


def main() -> None:
    root = data_root()
    entities = {"smd": [load_smd(m, root) for m in SMD_MACHINES], "asd": [load_asd(e, root) for e in ASD_ENTITIES]}
    results = {}
    for scaling in ("standard", "none"):  # SMD/ASD are min-max scaled upstream: does re-scaling help?
        for dataset, group in entities.items():
            rows = {e.name: run(e, scaling) for e in group}
            rows["mean"] = {k: float(np.mean([r[k] for r in rows.values()])) for k in (*KEYS, "auc_pr", "baseline_all_anomalous_f1")}
            results[f"{dataset} scaling={scaling}"] = rows
    path = write_result("smd_asd_pca", {"protocol": __doc__.split("Run:")[0].strip(), "pca": results})
    print(f"{'entity':14s} {'F1':>6s} {'prec':>6s} {'recall':>6s} {'AUC-PR':>7s} {'F1 all-anom':>11s}")
    for title, rows in results.items():
        print(title)
        for name, r in rows.items():
            print(f"{name:14s} {r['f1']:6.3f} {r['precision']:6.3f} {r['recall']:6.3f} {r['auc_pr']:7.3f} {r['baseline_all_anomalous_f1']:11.3f}")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
