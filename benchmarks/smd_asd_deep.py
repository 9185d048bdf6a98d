"""Every detector on the 3 SMD machines and 6 ASD servers, beside PCA.

Protocol: one model per entity, fitted on ``train/`` (neural models: last 10 % held out, in
time order, for early stopping and the threshold), threshold = 99th percentile of normal
scores (no test label used), point-wise F1 without point adjustment, and AUC-PR on
``test/``. SMD/ASD are min-max scaled upstream; models use standard scaling, as PCA's
main row does. Short training (5 epochs) to fit a 2-core CI-size machine: numbers are a
floor for these architectures, not their best.

Run: ``python benchmarks/smd_asd_deep.py [model ...]`` -> ``benchmarks/results/smd_asd_deep.json``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import data_root, write_result

from anomaly import make_detector
from anomaly.metrics import auc_pr, point_metrics
from datasets.smd import ASD_ENTITIES, SMD_MACHINES, load_asd, load_smd

COMMON = {"window": 16, "epochs": 5, "batch_size": 256, "random_state": 0}
MODELS = {
    "pca": {},
    "dense-ae": {**COMMON},
    "conv-ae": {**COMMON, "filters": (32, 16), "kernel_size": 5},
    "lstm-ae": {**COMMON, "units": (32,), "latent": 8},
    "lstm-vae": {**COMMON, "units": (32,), "latent": 8},
    "vae-gan": {**COMMON, "units": (32,), "latent": 8},
    "lstm-forecast": {**COMMON, "units": (32,)},
}


def main(names: list[str]) -> None:
    root = data_root()
    entities = {"smd": [load_smd(m, root) for m in SMD_MACHINES], "asd": [load_asd(e, root) for e in ASD_ENTITIES]}
    results = {}
    for name in names:
        results[name] = {}
        for dataset, group in entities.items():
            rows = {}
            for entity in group:
                start = time.perf_counter()
                det = make_detector(name, **MODELS[name]).fit(entity.train)
                scores = det.score(entity.test).to_numpy()
                y = entity.labels.to_numpy()
                m = point_metrics(y, det.thresholder_.apply(scores))
                rows[entity.name] = {"f1": m["f1"], "precision": m["precision"], "recall": m["recall"],
                                     "auc_pr": auc_pr(y, scores), "seconds": round(time.perf_counter() - start, 1)}
            rows["mean"] = {k: float(np.mean([r[k] for r in rows.values()])) for k in ("f1", "auc_pr")}
            results[name][dataset] = rows
            print(f"{name:14s} {dataset}: mean F1 {rows['mean']['f1']:.3f} mean AUC-PR {rows['mean']['auc_pr']:.3f}", file=sys.stderr)
    path = write_result("smd_asd_deep", {"protocol": __doc__.split("Run:")[0].strip(), "settings": MODELS, "models": results})
    print(f"-> {path}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
