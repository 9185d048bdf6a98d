"""Supervised heads on error vectors against the unsupervised detector and raw features alone.

Splits use no test label for any choice (threshold from out-of-fold probabilities of the
training logs, see :mod:`anomaly.supervised`):

``alfa``  leave one faulty flight out: train on the 9 normal and 18 faulty flights (labels =
          ``field.data > 0``; the classifiers learn from every 4th row), score the held-out flight; detected = an alert event raised at
          or after the onset, false alarms = events raised before it (per hour of flight before
          the onsets), delay = first event after the onset. 20 Hz, ``DEFAULT_RULES`` in rows.
``skab``  train on the labelled valve1 files, test on valve2, and the reverse: pooled
          point-wise F1, false-alarm rate (FAR) and missed-alarm rate (MAR) of the flags.
``smd``   the 3 SMD machines, one head each: trained on the (unlabelled, taken as normal) train
          period and the labelled first 30 % of the test period, scored on the remaining 70 %:
          point F1 (no point adjustment), precision, recall and AUC-PR (average precision) of the
          head's score. Logs: the train period in 3 time-ordered pieces and the labelled 30 % in
          up to 3 time-ordered pieces with about equal numbers of labelled anomaly segments, cut
          in the middle of the normal stretch between two segments; fold ``k`` holds the ``k``-th
          piece of each. A 30 % with a single segment is cut in the middle of that segment into 2
          pieces (2 folds). 1 row per minute (``rate_hz=1/60``); the classifiers learn from every
          ``--smd-stride``-th row; every row of the test period is scored (the causal window
          features of the first 70 % rows see the 30 % rows before them), only the 70 % counted.
          Beside it, the unsupervised PCA of ``benchmarks/smd_asd_pca.py`` (standard scaling,
          99th percentile of the train-period scores) on the same 70 % (``pca``), and the AUC-PR
          of the head's own detector score (``detector_auc_pr``). ``oracle_f1`` is the best F1 of
          any threshold, chosen with the 70 % labels: a ceiling for diagnosis, not a result.

Variants: ``errors+raw`` (calibrated PCA errors and window features, the default),
``raw`` (window features only: what the error vectors add), and for ALFA the unsupervised PCA
of ``benchmarks/conditions.py`` (``base``) for reference.

Usage: ``python benchmarks/supervised.py [--datasets alfa,skab,smd] [--max-iter 100]``; writes
``benchmarks/results/supervised.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict
from functools import partial

import numpy as np
from _common import RESULTS, data_root, write_result

from anomaly import PCADetector, Percentile
from anomaly.decisions import events, rules_at
from anomaly.metrics import auc_pr, point_metrics
from anomaly.supervised import SupervisedDetector, window_features
from datasets.alfa import RATE_HZ, load_alfa
from datasets.skab import load_skab
from datasets.smd import SMD_MACHINES, load_smd


class RawOnly(SupervisedDetector):
    """The same head on the window features alone (no detector errors, so no novelty path)."""

    def _features(self, errors, scores, Z):
        return window_features(Z, self.window)[-len(errors):]


VARIANTS = {"errors+raw": SupervisedDetector, "raw": partial(RawOnly, novelty=False)}


def run_alfa(variant, max_iter: int) -> dict:
    normal, faulty = load_alfa(data_root())
    detected, delays, alarms, hours = 0, [], 0, 0.0
    for held in range(len(faulty)):
        train = normal + [f for i, f in enumerate(faulty) if i != held]
        head = variant(rate_hz=RATE_HZ, max_iter=max_iter, train_stride=4).fit([f.frame for f in train], [f.labels for f in train])
        flight = faulty[held]
        score = head.evaluate_frame(flight.frame)[1]  # the head's score: probability, or the novelty path's
        evs = events(score > head.threshold_, None, score, threshold=head.threshold_,
                     **dict(asdict(rules_at(RATE_HZ)), exit_ratio=1.0))
        raised_after = [e for e in evs if e.start >= flight.onset]
        alarms += len(evs) - len(raised_after)
        hours += (flight.onset - flight.frame.index[0]).total_seconds() / 3600
        if raised_after:
            detected += 1
            delays.append((raised_after[0].start - flight.onset).total_seconds())
        outcome = f"found after {delays[-1]:.1f} s" if raised_after else "missed"
        print(f"  {flight.name}: threshold {head.threshold_:.3f}, {len(evs) - len(raised_after)} false, {outcome}", flush=True)
    return {"flights": len(faulty), "detected": detected / len(faulty), "false_alarms_per_hour": alarms / hours,
            "median_delay_s": float(np.median(delays)) if delays else None}


def run_skab(variant, max_iter: int) -> dict:
    files = {group: load_skab(data_root(), groups=(group,)) for group in ("valve1", "valve2")}
    out = {}
    for train, test in (("valve1", "valve2"), ("valve2", "valve1")):
        head = variant(rate_hz=1.0, max_iter=max_iter, folds=min(3, len(files[train]))).fit(
            [f.frame for f in files[train]], [f.anomaly for f in files[train]])
        truth = np.concatenate([f.anomaly.to_numpy(bool) for f in files[test]])
        flags = np.concatenate([head.predict(f.frame).to_numpy() for f in files[test]])
        m = point_metrics(truth, flags)
        far = float((flags & ~truth).sum() / max((~truth).sum(), 1))
        mar = float((~flags & truth).sum() / max(truth.sum(), 1))
        out[f"{train}->{test}"] = {"f1": m["f1"], "far": far, "mar": mar, "threshold": head.threshold_}
        print(f"  {train}->{test}: F1 {m['f1']:.3f} FAR {far:.1%} MAR {mar:.1%}", flush=True)
    out["mean_f1"] = float(np.mean([v["f1"] for v in out.values()]))
    return out


#: Share of each SMD test period whose labels are given for training (time order).
SMD_LABELLED = 0.3
SMD_PIECES = 3
SMD_KEYS = ("f1", "precision", "recall", "auc_pr")


def segment_bounds(y: np.ndarray) -> list[tuple[int, int]]:
    """(start, end) with an exclusive end of every run of True in ``y``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], y.astype(np.int8), [0]])))
    return list(zip(edges[::2].tolist(), edges[1::2].tolist()))


def labelled_cuts(y: np.ndarray, pieces: int) -> list[int]:
    """Rows where the labelled stretch ``y`` is cut into time-ordered pieces that each hold a segment.

    Up to ``pieces`` pieces with about equal numbers of segments, cut in the middle of the
    normal rows between two segments; a single segment is cut in its middle (2 pieces).
    """
    segs = segment_bounds(y)
    if not segs:
        raise ValueError("the labelled stretch holds no anomaly")
    if len(segs) == 1:
        return [(segs[0][0] + segs[0][1]) // 2]
    n = min(pieces, len(segs))
    last = [round(k * len(segs) / n) - 1 for k in range(1, n)]  # index of each piece's last segment
    return [(segs[j][1] + segs[j + 1][0]) // 2 for j in last]


def split(frame, y, cuts):
    bounds = [0, *cuts, len(frame)]
    return [(frame.iloc[a:b], y[a:b]) for a, b in zip(bounds, bounds[1:])]


def best_f1(y, scores) -> float:
    """The highest point F1 of any threshold on ``scores``: chosen with the labels scored, a ceiling, not a result."""
    from sklearn.metrics import precision_recall_curve

    precision, recall, _ = precision_recall_curve(y, scores)
    return float(np.max(2 * precision * recall / np.maximum(precision + recall, 1e-12)))


def scores_70(y, flags, scores) -> dict:
    m = point_metrics(y, flags)
    return {**{k: float(m[k]) for k in ("f1", "precision", "recall")}, "auc_pr": auc_pr(y, scores),
            "flagged": float(np.mean(flags)), "oracle_f1": best_f1(y, scores)}


def run_smd(variant, max_iter: int, stride: int = 1) -> dict:
    out = {}
    for machine in SMD_MACHINES:
        start = time.perf_counter()
        e = load_smd(machine, data_root())
        y = e.labels.to_numpy(bool)
        cut = int(SMD_LABELLED * len(y))
        labelled = split(e.test.iloc[:cut], y[:cut], labelled_cuts(y[:cut], SMD_PIECES))
        folds = len(labelled)
        train_len = len(e.train)
        normal = split(e.train, np.zeros(train_len, bool), [k * train_len // folds for k in range(1, folds)])
        logs = labelled + normal  # log i is in fold i % folds: fold k = the k-th labelled and the k-th train piece
        head = variant(rate_hz=1 / 60, max_iter=max_iter, folds=folds, train_stride=stride).fit(
            [f for f, _ in logs], [t for _, t in logs])
        fitted = time.perf_counter() - start
        score = head.evaluate_frame(e.test)[1].to_numpy()[cut:]  # the head's score
        row = {"labelled_segments": len(segment_bounds(y[:cut])), "labelled_anomalous_rows": int(y[:cut].sum()),
               "test_segments": len(segment_bounds(y[cut:])), "test_anomaly_rate": float(y[cut:].mean()),
               "folds": folds, "threshold": head.threshold_, "validation": head.validation_,
               **scores_70(y[cut:], score > head.threshold_, score)}
        inner = head.detector_.score(e.test).to_numpy()[cut:]  # the head's own PCA (train + labelled-normal rows)
        row["detector_auc_pr"] = auc_pr(y[cut:], inner)
        pca = PCADetector(scaling="standard", threshold=Percentile(99.0)).fit(e.train)
        scores = pca.score(e.test).to_numpy()[cut:]
        row["pca"] = scores_70(y[cut:], pca.thresholder_.apply(scores), scores)
        row["seconds_fit"] = round(fitted, 1)
        row["seconds"] = round(time.perf_counter() - start, 1)
        out[machine] = row
        print(f"  {machine}: {folds} folds, threshold {head.threshold_:.3f} ({head.validation_}), "
              f"F1 {row['f1']:.3f} P {row['precision']:.3f} R {row['recall']:.3f} AUC-PR {row['auc_pr']:.3f} "
              f"flagged {row['flagged']:.1%} oracle F1 {row['oracle_f1']:.3f} head's PCA AUC-PR {row['detector_auc_pr']:.3f} "
              f"| PCA F1 {row['pca']['f1']:.3f} AUC-PR {row['pca']['auc_pr']:.3f} "
              f"| fit {fitted:.0f} s, all {row['seconds']:.0f} s", flush=True)
    rows = [out[m] for m in SMD_MACHINES]
    keys = (*SMD_KEYS, "oracle_f1")
    out["mean"] = {**{k: float(np.mean([r[k] for r in rows])) for k in keys},
                   "pca": {k: float(np.mean([r["pca"][k] for r in rows])) for k in keys}}
    out["stride"] = stride
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="alfa,skab")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--max-iter", type=int, default=100)
    parser.add_argument("--smd-stride", type=int, default=1, help="SMD: the classifiers learn from every n-th row")
    args = parser.parse_args()
    earlier = RESULTS / "supervised.json"  # a run of some datasets keeps the others' results
    result = {"protocol": __doc__, "max_iter": args.max_iter,
              "results": json.loads(earlier.read_text())["results"] if earlier.exists() else {}}
    for name in args.variants.split(","):
        for dataset in args.datasets.split(","):
            start = time.perf_counter()
            print(name, dataset, flush=True)
            if dataset == "smd":
                row = run_smd(VARIANTS[name], args.max_iter, args.smd_stride)
            else:
                row = (run_alfa if dataset == "alfa" else run_skab)(VARIANTS[name], args.max_iter)
            row["seconds"] = round(time.perf_counter() - start, 1)
            result["results"].setdefault(name, {})[dataset] = row
            print(name, dataset, {k: v for k, v in row.items() if not isinstance(v, dict)}, flush=True)
            path = write_result("supervised", result)
    print(f"-> {path}")


if __name__ == "__main__":
    main()
