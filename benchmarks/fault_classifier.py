"""Fault-type classification on the simulated robot arm, on unseen seeds.

A detector is fitted on 300 s of normal operation (seed 0). Training events: every labelled
fault segment of eight 600 s logs with all fault types (seeds 1-8); test events: those of four
more logs (seeds 9-12). Each event becomes features from the detector's error vectors and the
scaled raw signals (``anomaly.classify.segment_features``); ``ErrorClassifier`` learns the
fault type. Reported: macro-F1, F1 per fault type and the confusion matrix, for features of
errors + signals and of errors only, laid out per channel or as the top-3 channels by error
share (channel-independent). Ground-truth segments are used (classification of known
events, not detection).

Run: ``python benchmarks/fault_classifier.py`` -> ``benchmarks/results/fault_classifier.json``.
"""

from __future__ import annotations

import sys

import pandas as pd
from _common import write_result
from sklearn.metrics import confusion_matrix, f1_score, recall_score

from anomaly import make_detector
from anomaly.classify import ErrorClassifier, detector_features
from datasets.robot_arm import simulate

AMBIENT = 28.0
DETECTORS = {"pca": {}, "dense-ae": {"window": 16, "epochs": 10, "random_state": 0}}


def labelled_runs(seeds):
    """Yield (frame, segments, fault kinds) of a 600 s log with every fault type per seed;
    segments are (start, end_exclusive) row positions of the labelled faults."""
    for seed in seeds:
        run = simulate(600, faults="all", seed=seed, ambient_c=AMBIENT)
        index = run.frame.index
        yield run.frame, [(index.get_loc(f.start), index.get_loc(f.end) + 1) for f in run.faults], [f.kind for f in run.faults]


def events_of(det, seeds, ranked) -> tuple[pd.DataFrame, list[str]]:
    tables, kinds = [], []
    for frame, segments, run_kinds in labelled_runs(seeds):
        tables.append(detector_features(det, frame, segments, ranked=ranked))
        kinds += run_kinds
    return pd.concat(tables, ignore_index=True), kinds


def evaluate(X_train, y_train, X_test, y_test, classifier=None) -> dict:
    """Fit ``classifier`` (default: an ErrorClassifier) and score it on the test events."""
    pred = (classifier if classifier is not None else ErrorClassifier()).fit(X_train, y_train).predict(X_test)
    labels = sorted(set(y_train) | set(y_test))
    return {
        "macro_f1": float(f1_score(y_test, pred, average="macro", labels=labels)),
        "f1_per_fault": dict(zip(labels, map(float, f1_score(y_test, pred, average=None, labels=labels)))),
        "recall_per_fault": dict(zip(labels, map(float, recall_score(y_test, pred, average=None, labels=labels, zero_division=0)))),
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_test, pred, labels=labels).tolist()},
        "n_train_events": len(y_train),
        "n_test_events": len(y_test),
    }


def main() -> None:
    train_normal = simulate(300, seed=0, ambient_c=AMBIENT).frame
    results = {}
    for name, params in DETECTORS.items():
        det = make_detector(name, **params).fit(train_normal)
        for layout, ranked in (("per channel", None), ("top-3 ranked", 3)):
            X_train, y_train = events_of(det, range(1, 9), ranked)
            X_test, y_test = events_of(det, range(9, 13), ranked)
            for features in ("errors+signals", "errors only"):
                cols = [c for c in X_train.columns if features == "errors+signals" or c.startswith("error") or c == "length"]
                key = f"{name}, {layout}, {features}"
                results[key] = r = evaluate(X_train[cols], y_train, X_test[cols], y_test)
                print(f"{key:42s} macro-F1 {r['macro_f1']:.3f} ({r['n_train_events']} train / {r['n_test_events']} test events) "
                      + " ".join(f"{k[:9]} {v:.2f}" for k, v in r["f1_per_fault"].items()), file=sys.stderr)
    path = write_result("fault_classifier", {"protocol": __doc__.split("Run:")[0].strip(), "results": results})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
