"""Fault-type classification on the simulated robot arm, on unseen seeds and unseen operating conditions.

Split (``datasets.robot_arm.conditions``): training conditions ``reference``, ``cold``,
``heavy``, ``program-b`` and ``cold-start``; test conditions ``warm-drift``, ``slow-80``,
``sensor-bias`` and ``combined`` (speed, ambient drift and sensor spread never seen in
training). A ``PCADetector(aggregate="calibrated", statistic="spe")`` is fitted on one 300 s
normal run per training condition (seeds 500-504). Training events: every labelled fault
segment of 60 runs of 600 s with every fault type (seeds 1-60, the training conditions in
turn); test events: those of 40 such runs (seeds 100-139, the test conditions in turn).
Ground-truth segments are used (classification of known events, not detection).

Features (``anomaly.classify``): ``event_features`` (calibrated errors and causal window
features of the scaled signals, summarised over the event, against the 3 s before it and the
60 s of error history), pooled over channel groups (joint positions, velocities, currents,
temperatures, the gripper, the accelerometer: a fault on another joint gives the same
features) or per channel; beside them the earlier ``segment_features`` (error mean/peak/share,
signal mean/std per channel, or the top-3 channels by error share) on the same split and
detector (its raw per-channel errors are those of the earlier default ``PCADetector()``: the
statistic and the aggregation act after them). ``ErrorClassifier`` (gradient boosting) learns
the fault type. The layout, the feature set and its window lengths were chosen
by leave-one-condition-out cross-validation on the training runs (reported as ``cv_macro_f1``);
no test run or test condition chose anything.

Reported per variant: macro-F1, precision/recall/F1 per fault type, the confusion matrix (rows:
true type, columns: predicted, in ``labels`` order), macro-F1 per test condition and split into
injected faults and after-effects. An after-effect is an extra labelled event the simulator
adds when a joint heated by a fault (friction, overheating, payload) is still hot after a
later fault ends: it carries the type of the fault that heated that joint, though its rows show
only a cooling joint.

Run: ``python benchmarks/fault_classifier.py`` -> ``benchmarks/results/fault_classifier.json``.
"""

from __future__ import annotations

import itertools
import sys
import time

import numpy as np
import pandas as pd
from _common import write_result
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support

from anomaly.classify import ErrorClassifier, detector_event_features, detector_features
from anomaly.detectors.pca import PCADetector
from datasets.robot_arm import segments_from_faults
from datasets.robot_arm.conditions import CONDITIONS, conditions_scenario

#: Ambient (degC) of the ``reference`` condition; ``cnn_fault_classifier.py`` fits on it.
AMBIENT = CONDITIONS["reference"]["ambient_c"]
#: Detectors of ``benchmarks/cnn_fault_classifier.py``.
DETECTORS = {"pca": {}, "dense-ae": {"window": 16, "epochs": 10, "random_state": 0}}

TRAIN_CONDITIONS = ("reference", "cold", "heavy", "program-b", "cold-start")
TEST_CONDITIONS = ("warm-drift", "slow-80", "sensor-bias", "combined")
NORMAL_SEEDS = range(500, 505)
TRAIN_SEEDS = range(1, 61)
TEST_SEEDS = range(100, 140)


def channel_groups(channels) -> dict[str, str]:
    """Group of each arm channel: ``pos``, ``vel``, ``current``, ``temp`` (over the joints), ``gripper``, ``acc``."""
    return {c: c.split("_", 1)[1] if c.startswith("j") else ("gripper" if c.startswith("gripper") else "acc")
            for c in channels}


def labelled_runs(seeds, conditions=("reference",)):
    """Yield (frame, segments, fault kinds) of a 600 s log with every fault type per seed, the
    ``conditions`` in turn; segments are (start, end_exclusive) row positions of the labelled faults."""
    for seed, condition in zip(seeds, itertools.cycle(conditions)):
        run = conditions_scenario(condition, faults="all", seed=seed)
        yield run.frame, [(s.start, s.end) for s in segments_from_faults(run)], [f.kind for f in run.faults]


def feature_tables(extractors: dict, seeds, conditions) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Features of every labelled event per extractor (``fn(frame, segments) -> DataFrame``), and the
    events' ``kind``, ``condition`` and ``after_effect`` (a kind already seen in its run)."""
    tables, events = {name: [] for name in extractors}, []
    for (frame, segments, kinds), condition in zip(labelled_runs(seeds, conditions), itertools.cycle(conditions)):
        for name, extract in extractors.items():
            tables[name].append(extract(frame, segments))
        events.append(pd.DataFrame({"kind": kinds, "condition": condition,
                                    "after_effect": [k in kinds[:j] for j, k in enumerate(kinds)]}))
    return {k: pd.concat(v, ignore_index=True) for k, v in tables.items()}, pd.concat(events, ignore_index=True)


def macro_f1(truth: np.ndarray, pred: np.ndarray) -> dict:
    """Macro-F1 over the fault types present in ``truth``, accuracy and the number of events."""
    return {"macro_f1": float(f1_score(truth, pred, average="macro", labels=sorted(set(truth)), zero_division=0)),
            "accuracy": float(np.mean(truth == pred)), "n_events": len(truth)}


def evaluate(X_train, y_train, X_test, y_test, classifier=None, *, test_events: pd.DataFrame | None = None) -> dict:
    """Fit ``classifier`` (default: an ErrorClassifier) and score it on the test events; with
    ``test_events`` (``condition`` and ``after_effect`` per test event) also macro-F1 per test
    condition and for injected faults and after-effects apart."""
    pred = (classifier if classifier is not None else ErrorClassifier()).fit(X_train, y_train).predict(X_test)
    labels = sorted(set(y_train) | set(y_test))
    precision, recall, f1, support = precision_recall_fscore_support(y_test, pred, labels=labels, zero_division=0)
    result = {
        "macro_f1": float(f1_score(y_test, pred, average="macro", labels=labels, zero_division=0)),
        "per_fault": {k: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(n)}
                      for k, p, r, f, n in zip(labels, precision, recall, f1, support)},
        "f1_per_fault": dict(zip(labels, map(float, f1))),
        "recall_per_fault": dict(zip(labels, map(float, recall))),
        "confusion": {"labels": labels, "matrix": confusion_matrix(y_test, pred, labels=labels).tolist()},
        "n_train_events": len(y_train),
        "n_test_events": len(y_test),
    }
    if test_events is not None:
        truth, after, condition = np.asarray(y_test), test_events["after_effect"].to_numpy(), test_events["condition"].to_numpy()
        result["per_condition"] = {c: macro_f1(truth[condition == c], pred[condition == c]) for c in dict.fromkeys(condition)}
        result["injected_faults"] = macro_f1(truth[~after], pred[~after])
        result["after_effects"] = macro_f1(truth[after], pred[after])
    return result


def cross_validate(X: pd.DataFrame, train: pd.DataFrame) -> float:
    """Macro-F1 of leave-one-condition-out predictions on the training events (what chose the features)."""
    pred = np.empty(len(train), dtype=object)
    for condition in TRAIN_CONDITIONS:
        held = (train["condition"] == condition).to_numpy()
        pred[held] = ErrorClassifier().fit(X[~held], train["kind"][~held]).predict(X[held])
    return float(f1_score(train["kind"], pred.astype(str), average="macro"))


def main() -> None:
    started = time.perf_counter()
    normals = [conditions_scenario(c, duration_s=300, seed=s).frame for c, s in zip(TRAIN_CONDITIONS, NORMAL_SEEDS)]
    det = PCADetector(aggregate="calibrated", statistic="spe").fit(normals)
    groups = channel_groups(det.schema_.channels)
    extractors = {
        "event_features, grouped": lambda f, s: detector_event_features(det, f, s, groups=groups),
        "event_features, per channel": lambda f, s: detector_event_features(det, f, s),
        "segment_features, per channel": lambda f, s: detector_features(det, f, s),
        "segment_features, top-3 ranked": lambda f, s: detector_features(det, f, s, ranked=3),
    }
    X_train, train = feature_tables(extractors, TRAIN_SEEDS, TRAIN_CONDITIONS)
    X_test, test = feature_tables(extractors, TEST_SEEDS, TEST_CONDITIONS)
    results = {}
    for key in extractors:
        r = evaluate(X_train[key], train["kind"], X_test[key], test["kind"], test_events=test)
        results[key] = r = {**r, "n_features": X_train[key].shape[1], "cv_macro_f1": cross_validate(X_train[key], train)}
        print(f"{key:48s} macro-F1 {r['macro_f1']:.3f} (cv {r['cv_macro_f1']:.3f}; injected {r['injected_faults']['macro_f1']:.3f}, "
              f"after-effects {r['after_effects']['accuracy']:.2f} acc) " + " ".join(f"{k[:9]} {v:.2f}" for k, v in r["f1_per_fault"].items()),
              file=sys.stderr)
    path = write_result("fault_classifier", {
        "protocol": __doc__.split("Run:")[0].strip(),
        "split": {"train_conditions": TRAIN_CONDITIONS, "test_conditions": TEST_CONDITIONS,
                  "normal_seeds": list(NORMAL_SEEDS), "train_seeds": list(TRAIN_SEEDS), "test_seeds": list(TEST_SEEDS),
                  "n_train_events": len(train), "n_test_events": len(test),
                  "test_after_effects": int(test["after_effect"].sum())},
        "headline": "event_features, grouped",
        "runtime_s": time.perf_counter() - started,
        "results": results,
    })
    print(f"-> {path} ({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
