"""Streaming a supervised head row by row: milliseconds a row, now against the reference path.

A head (``anomaly.supervised.SupervisedDetector``, its defaults: a PCA detector, 20-row window
features, 200 boosting iterations) is fitted on the simulated arm (28 channels at 100 Hz): two
normal ``reference`` runs and two faulty runs with every fault type, labelled by the
simulator. A fresh faulty run of 60 s is then pushed row by row through
``pipelines.stream.scorer.StreamScorer`` (hop 1), as ``anomaly stream`` does, twice: with the
stream step's fast paths (the newest rows' window features computed on their windows,
``anomaly.supervised.window_features``; every tree walked at once for a few rows,
``anomaly.trees.add_leaf_values_of_few_rows``) and, in the same process, without them (pandas'
rolling windows over the step's rows and one tree after another, as before 2026-12-08). Both
are compared with the batch scores of the same run.

Usage: ``python benchmarks/head_stream.py``; writes ``benchmarks/results/head_stream.json``.
"""

from __future__ import annotations

import time
from unittest import mock

import numpy as np
from _common import write_result

from anomaly.supervised import SupervisedDetector
from datasets.robot_arm.conditions import conditions_scenario
from pipelines.stream.scorer import StreamScorer

STREAM_SECONDS = 60


def stream(head, frame) -> tuple[np.ndarray, np.ndarray]:
    """Each row's seconds in ``push`` (n,) and its streamed score (n,; NaN while warming up)."""
    scorer, seconds, scores = StreamScorer(head), np.empty(len(frame)), np.full(len(frame), np.nan)
    for i, (timestamp, values) in enumerate(zip(frame.index, frame.to_numpy())):
        start = time.perf_counter()
        step = scorer.push(timestamp, values)
        seconds[i] = time.perf_counter() - start
        if step is not None:
            scores[i] = step.scores[0]
    return seconds, scores


def summary(seconds: np.ndarray, scores: np.ndarray, batch: np.ndarray) -> dict:
    scored = np.isfinite(scores)
    return {"ms_per_row_mean": float(seconds.mean() * 1e3), "ms_per_row_p50": float(np.percentile(seconds, 50) * 1e3),
            "ms_per_row_p99": float(np.percentile(seconds, 99) * 1e3), "rows": int(len(seconds)),
            "max_abs_difference_from_batch": float(np.abs(scores[scored] - batch[scored]).max())}


def main() -> None:
    logs = [conditions_scenario("reference", duration_s=300, seed=seed) for seed in (0, 1)] + \
           [conditions_scenario("reference", duration_s=300, faults="all", seed=seed) for seed in (2, 3)]
    start = time.perf_counter()
    head = SupervisedDetector().fit([run.frame for run in logs], [run.labels["is_anomaly"] for run in logs])
    fit_s = time.perf_counter() - start
    frame = conditions_scenario("reference", duration_s=300, faults="all", seed=100).frame.iloc[: STREAM_SECONDS * 100]
    batch = head.evaluate_frame(frame)[1].to_numpy()
    now = summary(*stream(head, frame), batch)
    with mock.patch("anomaly.trees.FEW_ROWS", 0), mock.patch("anomaly.supervised.NEWEST_CELLS", 0):
        reference = summary(*stream(head, frame), batch)
    result = {"fit_seconds": fit_s, "trees": int(len(head.classifier_.arrays["tree_sizes"])), "window": head.window,
              "now": now, "reference": reference, "speedup_mean": reference["ms_per_row_mean"] / now["ms_per_row_mean"]}
    for name in ("now", "reference"):
        r = result[name]
        print(f"{name:9s} {r['ms_per_row_mean']:.2f} ms a row (p50 {r['ms_per_row_p50']:.2f}, p99 {r['ms_per_row_p99']:.2f}), "
              f"largest difference from batch {r['max_abs_difference_from_batch']:.1e}")
    print(f"{result['trees']} trees; {result['speedup_mean']:.1f}x; fit {fit_s:.0f} s")
    print("->", write_result("head_stream", {"protocol": __doc__.split("Usage:")[0].strip(), "results": result}))


if __name__ == "__main__":
    main()
