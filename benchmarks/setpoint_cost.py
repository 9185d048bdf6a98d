"""What set-point channels cost: PCA with ``conditions="auto"`` (the six joint temperatures of
the simulated arm are set-point channels) against the same PCA without condition channels
(``conditions=None``), in one process.

* **stream**: rows per second through :class:`pipelines.stream.StreamScorer` (hop 1, alert
  logic on), 4,000 rows of a 24 degC run, best of 5 interleaved repetitions;
* **batch**: ``det.score`` on a 600 s run (60,000 rows), best of 5.

Run: ``python benchmarks/setpoint_cost.py`` -> ``benchmarks/results/setpoint_cost.json``.
"""

from __future__ import annotations

import time

import numpy as np
from _common import write_result

import anomaly
from datasets.robot_arm import simulate
from pipelines.stream.scorer import StreamScorer

REPEATS = 5


def stream_rows_per_s(det, test) -> float:
    rows = test.to_numpy(np.float32)
    scorer, start = StreamScorer(det), time.perf_counter()
    for timestamp, row in zip(test.index, rows):
        scorer.push(timestamp, row)
    return len(rows) / (time.perf_counter() - start)


def batch_rows_per_s(det, run) -> float:
    start = time.perf_counter()
    det.score(run)
    return len(run) / (time.perf_counter() - start)


def main() -> None:
    train = simulate(120, seed=0).frame
    stream_test = simulate(40, seed=3, ambient_c=24.0).frame
    batch_test = simulate(600, seed=4).frame
    detectors = {"set-point channels": anomaly.PCADetector().fit(train),
                 "no condition channels": anomaly.PCADetector(conditions=None).fit(train)}
    assert len(detectors["set-point channels"].conditions_.setpoints) == 6
    best = {name: {"stream": 0.0, "batch": 0.0} for name in detectors}
    for _ in range(REPEATS):
        for name, det in detectors.items():
            best[name]["stream"] = max(best[name]["stream"], stream_rows_per_s(det, stream_test))
            best[name]["batch"] = max(best[name]["batch"], batch_rows_per_s(det, batch_test))
    ratio = {kind: best["set-point channels"][kind] / best["no condition channels"][kind] for kind in ("stream", "batch")}
    path = write_result("setpoint_cost", {"protocol": __doc__.split("Run:")[0].strip(), "rows_per_s": best,
                                          "ratio_setpoints_to_none": ratio})
    for name, values in best.items():
        print(f"{name:24s} stream {values['stream']:8,.0f} rows/s   batch {values['batch']:10,.0f} rows/s")
    print(f"ratio (set-point / none): stream {ratio['stream']:.2f}, batch {ratio['batch']:.2f} -> {path}")


if __name__ == "__main__":
    main()
