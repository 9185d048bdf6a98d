"""SKAB's protocol, shared by the SKAB benchmarks.

Per valve1/valve2 file: fit on the first 400 rows (always normal), threshold from the
training scores only (``SkabUCL``: 1.5 x their 99th percentile), flags through a causal
persistence rule, point-wise confusion counts pooled over the 20 files. Scored on the rows
after the training part, or on whole files (training rows included) as SKAB's notebooks do.

A second decision rule is SKAB's notebooks' own: :func:`anomaly.decisions.window_consensus`
over windows of 60 steps (a step is flagged when every 60-step window covering it has a mean
score above the threshold), with the same threshold rule fitted on the window means of the
training scores. It looks 59 steps ahead: a batch rule. The notebooks' loop also never flags
a file's first 59 and last 118 rows (``range(N_STEPS - 1, len(X) - N_STEPS + 1)`` over window
starts); the row "consensus=60, SKAB's loop" reproduces that to compare with the published
figures, though a detector cannot know where a log will end.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from _common import data_root

from anomaly.decisions import persistence, window_consensus, window_means
from anomaly.metrics import auc_pr, baselines, point_metrics
from datasets.skab import TRAIN_ROWS, load_skab

PERSISTENCE = 10
CONSENSUS_WIDTH = 60  # N_STEPS of SKAB's notebooks
PUBLISHED = {  # SKAB leaderboard (README of waico/SKAB): F1, FAR, MAR
    "pca": {"method": "T-squared+Q (PCA)", "f1": 0.76, "far": 0.2662, "mar": 0.2492},
    "conv-ae": {"method": "Conv-AE", "f1": 0.78, "far": 0.1355, "mar": 0.2802},
    "lstm-ae": {"method": "LSTM-AE", "f1": 0.74, "far": 0.2996, "mar": 0.2592},
    "lstm-vae": {"method": "LSTM-VAE", "f1": 0.56, "far": 0.0913, "mar": 0.5503},
}


@dataclass
class Scored:
    """One file scored by one detector: labels, scores, raw flags and window-consensus flags
    for every row."""

    name: str
    y: np.ndarray
    scores: np.ndarray
    flags: np.ndarray
    consensus_flags: np.ndarray


def score_files(make) -> list[Scored]:
    """Fit ``make()`` on the first rows of each file and score the whole file."""
    out = []
    for f in load_skab(data_root()):
        det = make().fit(f.frame.iloc[:TRAIN_ROWS])
        scores = det.score(f.frame).to_numpy()
        rule = det.thresholder_
        window_rule = type(rule)(**rule.get_params()).fit(window_means(det.decision_scores_, CONSENSUS_WIDTH))
        consensus = window_consensus(scores, window_rule.threshold_, CONSENSUS_WIDTH)
        out.append(Scored(f.name, f.anomaly.to_numpy(), scores, rule.apply(scores), consensus))
    return out


def skab_loop_edges(flags: np.ndarray) -> np.ndarray:
    """``flags`` with the rows SKAB's notebooks never flag cleared: the first ``N - 1`` and the
    last ``2N - 2`` (N = 60)."""
    out = flags.copy()
    out[: CONSENSUS_WIDTH - 1] = False
    out[len(out) - 2 * CONSENSUS_WIDTH + 2 :] = False
    return out


def pooled(files: list[Scored], k: int | str, *, whole_file: bool = False) -> dict:
    """Pooled point metrics with persistence ``k`` (``"consensus"``: the window-consensus
    flags; ``"skab-loop"``: those with SKAB's loop edges), plus pooled and per-file-mean AUC-PR."""
    first = 0 if whole_file else TRAIN_ROWS
    ys = [f.y[first:] for f in files]
    decided = {"consensus": lambda f: f.consensus_flags, "skab-loop": lambda f: skab_loop_edges(f.consensus_flags)}
    flags = [decided[k](f)[first:] if k in decided else persistence(f.flags[first:], k) for f in files]
    scores = [f.scores[first:] for f in files]
    y = np.concatenate(ys)
    return {
        **point_metrics(y, np.concatenate(flags)),
        "auc_pr_pooled": auc_pr(y, np.concatenate(scores)),  # files' score scales differ: see per-file mean
        "auc_pr_mean_per_file": float(np.mean([auc_pr(t, s) for t, s in zip(ys, scores)])),
    }


def variants(files: list[Scored]) -> dict[str, dict]:
    """The reported rows of one detector: persistence 10 and 1 and window consensus, on test
    rows and on whole files."""
    rules = {f"persistence={k}": k for k in (PERSISTENCE, 1)} | {
        f"consensus={CONSENSUS_WIDTH}": "consensus", f"consensus={CONSENSUS_WIDTH}, SKAB's loop": "skab-loop"}
    return {
        f"{label}{', whole file' if whole else ''}": pooled(files, k, whole_file=whole)
        for whole in (False, True)
        for label, k in rules.items()
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
