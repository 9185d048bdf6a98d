"""SKAB's protocol, shared by the SKAB benchmarks.

Per valve1/valve2 file: fit on the first 400 rows (always normal), threshold from the
training scores only (``SkabUCL``: 1.5 x their 99th percentile), flags through a causal
persistence rule, point-wise confusion counts pooled over the 20 files. Scored on the rows
after the training part, or on whole files (training rows included) as SKAB's notebooks do.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from _common import data_root

from anomaly import persistence
from anomaly.metrics import auc_pr, baselines, point_metrics
from datasets.skab import TRAIN_ROWS, load_skab

PERSISTENCE = 10
PUBLISHED = {  # SKAB leaderboard (README of waico/SKAB): F1, FAR, MAR
    "pca": {"method": "T-squared+Q (PCA)", "f1": 0.76, "far": 0.2662, "mar": 0.2492},
    "conv-ae": {"method": "Conv-AE", "f1": 0.78, "far": 0.1355, "mar": 0.2802},
    "lstm-ae": {"method": "LSTM-AE", "f1": 0.74, "far": 0.2996, "mar": 0.2592},
    "lstm-vae": {"method": "LSTM-VAE", "f1": 0.56, "far": 0.0913, "mar": 0.5503},
}


@dataclass
class Scored:
    """One file scored by one detector: labels, scores and raw flags for every row."""

    name: str
    y: np.ndarray
    scores: np.ndarray
    flags: np.ndarray


def score_files(make) -> list[Scored]:
    """Fit ``make()`` on the first rows of each file and score the whole file."""
    out = []
    for f in load_skab(data_root()):
        det = make().fit(f.frame.iloc[:TRAIN_ROWS])
        scores = det.score(f.frame).to_numpy()
        out.append(Scored(f.name, f.anomaly.to_numpy(), scores, det.thresholder_.apply(scores)))
    return out


def pooled(files: list[Scored], k: int, *, whole_file: bool = False) -> dict:
    """Pooled point metrics with persistence ``k``, plus pooled and per-file-mean AUC-PR."""
    first = 0 if whole_file else TRAIN_ROWS
    ys = [f.y[first:] for f in files]
    flags = [persistence(f.flags[first:], k) for f in files]
    scores = [f.scores[first:] for f in files]
    y = np.concatenate(ys)
    return {
        **point_metrics(y, np.concatenate(flags)),
        "auc_pr_pooled": auc_pr(y, np.concatenate(scores)),  # files' score scales differ: see per-file mean
        "auc_pr_mean_per_file": float(np.mean([auc_pr(t, s) for t, s in zip(ys, scores)])),
    }


def variants(files: list[Scored]) -> dict[str, dict]:
    """The reported rows of one detector: persistence 10 and 1, on test rows and on whole files."""
    return {
        f"persistence={k}{', whole file' if whole else ''}": pooled(files, k, whole_file=whole)
        for whole in (False, True)
        for k in (PERSISTENCE, 1)
    }


def baseline_rows() -> dict[str, dict]:
    """Random and flag-everything rows on the test rows."""
    y = np.concatenate([f.anomaly.iloc[TRAIN_ROWS:].to_numpy() for f in load_skab(data_root())])
    return {f"baseline:{name}": {key: m[key] for key in ("f1", "far", "mar", "auc_pr")} for name, m in baselines(y).items()}


def print_rows(rows: dict[str, dict]) -> None:
    """One line per row: F1, FAR %, MAR %, AUC-PR."""
    print(f"{'method':52s} {'F1':>6s} {'FAR %':>7s} {'MAR %':>7s} {'AUC-PR':>7s}")
    for name, m in rows.items():
        auc = m.get("auc_pr_pooled", m.get("auc_pr", float("nan")))
        print(f"{name:52s} {m['f1']:6.2f} {100 * m['far']:7.2f} {100 * m['mar']:7.2f} {auc:7.3f}")
