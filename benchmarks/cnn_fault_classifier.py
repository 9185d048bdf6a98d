"""Fault-type classification on the simulated arm: CNN on event sequences vs ErrorClassifier.

Same protocol as ``benchmarks/fault_classifier.py``: a detector (PCA, or a dense autoencoder
with window 16 and 10 epochs) fitted on 300 s of normal operation (seed 0); training events =
every labelled fault segment of eight 600 s logs with all fault types (seeds 1-8), test
events = those of four more logs (seeds 9-12); ground-truth segments (classification of
known events). ``ErrorClassifier`` gets the per-channel feature table
(``segment_features``), ``CNNClassifier`` the same events as 64-step sequences of
``log1p(error)`` and scaled signal per channel plus log10(event rows)
(``segment_sequences``). Feature sets: errors + signals, errors only. The CNN is trained
without and with data augmentation (``anomaly.augment``: jitter, scaling, magnitude warp,
time warp, window slice; 4 augmented copies of the training events, one random method per
event and copy), 3 seeds each (initialisation, shuffling, augmentation draws). Reported:
macro-F1 over the 8 fault types and recall per fault type.

Run: ``python benchmarks/cnn_fault_classifier.py`` -> ``benchmarks/results/cnn_fault_classifier.json``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
import pandas as pd
from _common import write_result
from fault_classifier import AMBIENT, DETECTORS, evaluate, labelled_runs

from anomaly import make_detector
from anomaly.augment import METHODS
from anomaly.classify import detector_views, segment_features
from anomaly.cnn_classifier import CNNClassifier, segment_sequences
from datasets.robot_arm import simulate

SEEDS = (0, 1, 2)
LENGTH = 64
CNN_VARIANTS = {"cnn": {}, "cnn + augmentation": {"augment": tuple(METHODS), "augment_copies": 4}}


def events(det, seeds) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, list[str]]:
    """Per-channel features, sequences with signals, sequences of errors only, and kinds."""
    tables, with_signals, errors_only, kinds = [], [], [], []
    for frame, segments, run_kinds in labelled_runs(seeds):
        views = detector_views(det, frame)
        tables.append(segment_features(*views, segments))
        with_signals.append(segment_sequences(*views, segments, length=LENGTH))
        errors_only.append(segment_sequences(*views, segments, length=LENGTH, signals=False))
        kinds += run_kinds
    return pd.concat(tables, ignore_index=True), np.concatenate(with_signals), np.concatenate(errors_only), kinds


def summarise(runs: list[dict]) -> dict:
    """Mean and spread over seeds of macro-F1 and per-fault recall."""
    faults = runs[0]["recall_per_fault"]
    return {
        "macro_f1_mean": float(np.mean([r["macro_f1"] for r in runs])),
        "macro_f1_std": float(np.std([r["macro_f1"] for r in runs])),
        "macro_f1_runs": [r["macro_f1"] for r in runs],
        "recall_per_fault_mean": {k: float(np.mean([r["recall_per_fault"][k] for r in runs])) for k in faults},
        "runs": runs,
    }


def main() -> None:
    started = time.perf_counter()
    train_normal = simulate(300, seed=0, ambient_c=AMBIENT).frame
    results = {}
    for name, params in DETECTORS.items():
        det = make_detector(name, **params).fit(train_normal)
        F_train, S_train, E_train, y_train = events(det, range(1, 9))
        F_test, S_test, E_test, y_test = events(det, range(9, 13))
        for features, (seq_train, seq_test) in (("errors+signals", (S_train, S_test)), ("errors only", (E_train, E_test))):
            cols = [c for c in F_train.columns if features == "errors+signals" or c.startswith("error") or c == "length"]
            key = f"{name}, {features}"
            results[key] = {"ErrorClassifier": evaluate(F_train[cols], y_train, F_test[cols], y_test)}
            print(f"{key:28s} ErrorClassifier        macro-F1 {results[key]['ErrorClassifier']['macro_f1']:.3f}", file=sys.stderr)
            for variant, options in CNN_VARIANTS.items():
                runs = [evaluate(seq_train, y_train, seq_test, y_test, CNNClassifier(random_state=seed, **options))
                        for seed in SEEDS]
                results[key][variant] = r = summarise(runs)
                print(f"{key:28s} {variant:22s} macro-F1 {r['macro_f1_mean']:.3f} ± {r['macro_f1_std']:.3f} "
                      f"({', '.join(f'{v:.3f}' for v in r['macro_f1_runs'])})", file=sys.stderr)
    settings = {"sequence_length": LENGTH, "cnn": CNNClassifier().get_params(), "variants": CNN_VARIANTS,
                "seeds": SEEDS, "n_train_events": len(y_train), "n_test_events": len(y_test),
                "seconds": round(time.perf_counter() - started, 1)}
    path = write_result("cnn_fault_classifier", {"protocol": __doc__.split("Run:")[0].strip(), "settings": settings,
                                                 "results": results})
    print(f"-> {path} ({settings['seconds']} s)")


if __name__ == "__main__":
    main()
