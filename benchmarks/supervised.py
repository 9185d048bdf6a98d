"""Supervised heads on error vectors against the unsupervised detector and raw features alone.

Splits use no test label for any choice (threshold from out-of-fold probabilities of the
training logs, see :mod:`anomaly.supervised`):

``alfa``  leave one faulty flight out: train on the 9 normal and 18 faulty flights (labels =
          ``field.data > 0``; the classifiers learn from every 4th row), score the held-out flight; detected = an alert event raised at
          or after the onset, false alarms = events raised before it (per hour of flight before
          the onsets), delay = first event after the onset. 20 Hz, ``DEFAULT_RULES`` in rows.
``skab``  train on the labelled valve1 files, test on valve2, and the reverse: pooled
          point-wise F1, false-alarm rate (FAR) and missed-alarm rate (MAR) of the flags.

Variants: ``errors+raw`` (calibrated PCA errors and window features, the default),
``raw`` (window features only: what the error vectors add), and for ALFA the unsupervised PCA
of ``benchmarks/conditions.py`` (``base``) for reference.

Usage: ``python benchmarks/supervised.py [--datasets alfa,skab] [--max-iter 100]``; writes
``benchmarks/results/supervised.json``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
from _common import RESULTS, data_root, write_result

from anomaly.decisions import events
from anomaly.metrics import point_metrics
from anomaly.supervised import SupervisedDetector, window_features
from datasets.alfa import RATE_HZ, load_alfa
from datasets.skab import load_skab


class RawOnly(SupervisedDetector):
    """The same head on the window features alone (no detector errors)."""

    def features(self, frame):
        return window_features(self.scaled(frame), self.window)


VARIANTS = {"errors+raw": SupervisedDetector, "raw": RawOnly}


def run_alfa(variant, max_iter: int) -> dict:
    normal, faulty = load_alfa(data_root())
    detected, delays, alarms, hours = 0, [], 0, 0.0
    for held in range(len(faulty)):
        train = normal + [f for i, f in enumerate(faulty) if i != held]
        head = variant(rate_hz=RATE_HZ, max_iter=max_iter, train_stride=4).fit([f.frame for f in train], [f.labels for f in train])
        flight = faulty[held]
        probability = head.predict_proba(flight.frame)
        evs = events(probability > head.threshold_, None, probability, threshold=head.threshold_, exit_ratio=1.0)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", default="alfa,skab")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--max-iter", type=int, default=100)
    args = parser.parse_args()
    earlier = RESULTS / "supervised.json"  # a run of some datasets keeps the others' results
    result = {"protocol": __doc__, "max_iter": args.max_iter,
              "results": json.loads(earlier.read_text())["results"] if earlier.exists() else {}}
    for name in args.variants.split(","):
        for dataset in args.datasets.split(","):
            start = time.perf_counter()
            print(name, dataset, flush=True)
            row = (run_alfa if dataset == "alfa" else run_skab)(VARIANTS[name], args.max_iter)
            row["seconds"] = round(time.perf_counter() - start, 1)
            result["results"].setdefault(name, {})[dataset] = row
            print(name, dataset, {k: v for k, v in row.items() if not isinstance(v, dict)}, flush=True)
            path = write_result("supervised", result)
    print(f"-> {path}")


if __name__ == "__main__":
    main()
