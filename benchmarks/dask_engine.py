"""Dask scale-out vs the single-process engine on the same files.

8 Parquet files of 500,000 rows x 32 channels (written chunk by chunk in a temporary folder,
deleted at the end), scored by the LSTM-AE of ``batch_memory.py`` (window 64, ONNX Runtime)
and by PCA (cheap: reading and writing dominate), once with :func:`pipelines.batch.score_files`
in this process and once with :func:`pipelines.dask_engine.score_files_dask` on a local
cluster of 2 worker processes x 1 thread with this process's BLAS threads (the ``anomaly score
--engine dask`` default, :func:`pipelines.dask_engine.local_cluster`). Cluster
start-up and model loading (on each worker, in parallel) are timed apart from the scoring.
Results: the largest absolute difference between the two engines' outputs (scores and
per-channel errors; flags and top channels must be equal), and the speed ratio single-process
time / Dask time, for the scoring alone and end to end.

Run: ``python benchmarks/dask_engine.py`` -> ``benchmarks/results/dask_engine.json``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import write_result
from batch_memory import CHANNELS, TRAIN_ROWS, frame, train, write_file

FILES, ROWS = 8, 500_000


def max_difference(a: list, b: list) -> float:
    """Largest |a - b| over the score and err:* columns of paired output files (flags must match)."""
    worst = 0.0
    for x, y in zip(a, b):
        left, right = pd.read_parquet(x.output), pd.read_parquet(y.output)
        if not left["flag"].equals(right["flag"]) or not left["top_channels"].equals(right["top_channels"]):
            raise AssertionError(f"{x.output.name}: flags or top channels differ between engines")
        numeric = [c for c in left.columns if c == "score" or c.startswith("err:")]
        worst = max(worst, float(np.abs(left[numeric].to_numpy() - right[numeric].to_numpy()).max()))
    return worst


def compare(name: str, model: Path, sources: list[Path], root: Path) -> dict:
    import distributed

    import anomaly
    from pipelines.batch import plan, score_files
    from pipelines.dask_engine import local_cluster, score_files_dask, warm

    load = {"loadavg_before": [round(x, 2) for x in os.getloadavg()]}
    start = time.perf_counter()
    det = anomaly.load(model)
    local_load_s, start = time.perf_counter() - start, time.perf_counter()
    local = score_files(det, plan(sources, root / f"{name}-local", force=True), with_errors=True)
    local_s, start = time.perf_counter() - start, time.perf_counter()
    with local_cluster() as cluster, distributed.Client(cluster) as client:
        startup_s, start = time.perf_counter() - start, time.perf_counter()
        client.run(warm, str(model.resolve()), "auto")  # what score_files_dask does first; cached afterwards
        dask_load_s, start = time.perf_counter() - start, time.perf_counter()
        on_dask = score_files_dask(model, plan(sources, root / f"{name}-dask", force=True), with_errors=True,
                                   scheduler=cluster.scheduler_address)
        dask_s = time.perf_counter() - start
    errors = [r.error for r in local + on_dask if r.error is not None]
    if errors:
        raise RuntimeError(f"{name}: {errors[0]}")
    rows = sum(r.rows for r in local)
    result = {
        "engine": det.engine_.name, "rows": rows,
        "single_process": {"model_load_s": round(local_load_s, 2), "score_s": round(local_s, 2),
                           "rows_per_s": round(rows / local_s)},
        "dask": {"cluster_startup_s": round(startup_s, 2), "model_load_on_workers_s": round(dask_load_s, 2),
                 "score_s": round(dask_s, 2), "rows_per_s": round(rows / dask_s)},
        "speed_ratio_scoring": round(local_s / dask_s, 2),
        "speed_ratio_end_to_end": round((local_load_s + local_s) / (startup_s + dask_load_s + dask_s), 2),
        "max_abs_diff": max_difference(on_dask, local),
        **load, "loadavg_after": [round(x, 2) for x in os.getloadavg()],
    }
    print(name, result, flush=True)
    return result


def main() -> None:
    from anomaly import PCADetector

    root = Path(tempfile.mkdtemp(prefix="dask-engine-"))
    try:
        start = time.perf_counter()
        sources = [write_file(root / f"run{i}.parquet", ROWS, seed=i + 1) for i in range(FILES)]
        lstm = train(root / "lstm-ae")
        pca = PCADetector().fit(frame(0, TRAIN_ROWS, seed=0).set_index("timestamp")).save(root / "pca")
        setup_s = time.perf_counter() - start
        results = {name: compare(name, model, sources, root) for name, model in (("lstm-ae", lstm), ("pca", pca))}
    finally:
        shutil.rmtree(root, ignore_errors=True)
    summary = {"files": FILES, "rows_per_file": ROWS, "channels": CHANNELS, "setup_seconds": round(setup_s, 1),
               "cluster": "2 worker processes x 1 thread", "cpu_count": os.cpu_count(), "models": results}
    print(f"-> {write_result('dask_engine', summary)}")


if __name__ == "__main__":
    main()
