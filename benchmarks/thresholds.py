"""Which threshold wins where: point F1 and FAR per threshold rule, same detector, per dataset.

The detector (PCA, T-squared+Q) is fitted once per split; every threshold rule registered in
``anomaly.thresholds.THRESHOLDS`` that works on scores is then fitted on the same normal
training scores and applied to the same test scores. Datasets: the simulated robot arm,
SKAB (per-file protocol), the 3 SMD machines and the 6 ASD servers; metrics pool each
dataset's test rows. No test label is used to fit anything.

Run: ``python benchmarks/thresholds.py`` -> ``benchmarks/results/thresholds.json``.
"""

from __future__ import annotations

import numpy as np
from _common import data_root, write_result

from anomaly import PCADetector
from anomaly.metrics import point_metrics
from anomaly.thresholds import THRESHOLDS
from pipelines.compare import dataset_splits

SCORE_RULES = {name: cls for name, cls in THRESHOLDS.items() if name != "per-channel"}


def main() -> None:
    results = {}
    for dataset in ("robot-arm", "skab", "smd", "asd"):
        splits = dataset_splits(dataset, data_dir=data_root())
        truth, flags = [], {name: [] for name in SCORE_RULES}
        for split in splits:
            det = PCADetector().fit(split.train)
            train_scores, test_scores = det.decision_scores_, det.score(split.test).to_numpy()
            truth.append(split.labels)
            for name, rule in SCORE_RULES.items():
                flags[name].append(rule().fit(train_scores).apply(test_scores))
        y = np.concatenate(truth)
        results[dataset] = {}
        for name in SCORE_RULES:
            m = point_metrics(y, np.concatenate(flags[name]))
            results[dataset][name] = {k: m[k] for k in ("f1", "precision", "recall", "far")}
        print(dataset, " ".join(f"{n}: F1 {r['f1']:.3f} FAR {r['far']:.3f}" for n, r in results[dataset].items()))
    path = write_result("thresholds", {"protocol": __doc__.split("Run:")[0].strip(), "detector": "PCADetector()", "results": results})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
