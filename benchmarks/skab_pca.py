"""PCA on SKAB with SKAB's own protocol, side by side with SKAB's published T-squared+Q row.

Protocol (SKAB ``core/utils.py`` and notebooks): for each valve1/valve2 file, fit on the
first 400 rows (always normal), threshold = 1.5 x the 99th percentile of the training
residuals (``SkabUCL``), then a 10-step persistence rule; score the remaining rows (one row
also scores whole files, training rows included, as SKAB's notebooks do); pool the
point-wise confusion counts over all 20 files. No test label is used for fitting anything.

Run: ``python benchmarks/skab_pca.py`` -> ``benchmarks/results/skab_pca.json``.
"""

from __future__ import annotations

import numpy as np
from _common import data_root, write_result

from anomaly import PCADetector, SkabUCL, persistence
from anomaly.metrics import auc_pr, baselines, point_metrics
from datasets.skab import TRAIN_ROWS, load_skab

PUBLISHED = {"T-squared+Q (PCA), SKAB leaderboard": {"f1": 0.76, "far": 0.2662, "mar": 0.2492}}
PERSISTENCE = 10


def run(statistic: str, k: int, *, whole_file: bool = False) -> dict:
    """Pooled metrics; ``whole_file`` also counts the 400 training rows, as SKAB's notebooks do."""
    first = 0 if whole_file else TRAIN_ROWS
    truth, flags, scores, per_file = [], [], [], []
    for f in load_skab(data_root()):
        det = PCADetector(statistic=statistic, threshold=SkabUCL(q=99.0, factor=1.5)).fit(f.frame.iloc[:TRAIN_ROWS])
        test = f.frame.iloc[first:]
        s = det.score(test).to_numpy()
        flag = persistence(det.thresholder_.apply(s), k)
        y = f.anomaly.iloc[first:].to_numpy()
        truth.append(y), flags.append(flag), scores.append(s)
        per_file.append({"file": f.name, "n_components": det.n_components_, **point_metrics(y, flag)})
    y, flag = np.concatenate(truth), np.concatenate(flags)
    # AUC-PR pools scores of files whose scales differ; reported per-file mean as well.
    return {
        **point_metrics(y, flag),
        "auc_pr_pooled": auc_pr(y, np.concatenate(scores)),
        "auc_pr_mean_per_file": float(np.mean([auc_pr(t, s) for t, s in zip(truth, scores)])),
        "per_file": per_file,
    }


def main() -> None:
    rows = {}
    for statistic in ("combined", "spe", "t2"):
        for k in (PERSISTENCE, 1):
            rows[f"pca-{statistic} persistence={k}"] = run(statistic, k)
    for k in (PERSISTENCE, 1):
        rows[f"pca-combined persistence={k}, whole file"] = run("combined", k, whole_file=True)
    y = np.concatenate([f.anomaly.iloc[TRAIN_ROWS:].to_numpy() for f in load_skab(data_root())])
    base = {f"baseline:{name}": {key: m[key] for key in ("f1", "far", "mar", "auc_pr")} for name, m in baselines(y).items()}
    result = {"protocol": __doc__.split("Run:")[0].strip(), "published": PUBLISHED, "ours": rows, "baselines": base}
    path = write_result("skab_pca", result)
    print(f"{'method':40s} {'F1':>6s} {'FAR %':>7s} {'MAR %':>7s} {'AUC-PR':>7s}")
    for name, m in PUBLISHED.items():
        print(f"{name:40s} {m['f1']:6.2f} {100 * m['far']:7.2f} {100 * m['mar']:7.2f} {'':>7s}")
    for name, m in {**rows, **base}.items():
        print(f"{name:40s} {m['f1']:6.2f} {100 * m['far']:7.2f} {100 * m['mar']:7.2f} {m.get('auc_pr_pooled', m.get('auc_pr', float('nan'))):7.3f}")
    print(f"-> {path}")


if __name__ == "__main__":
    main()
