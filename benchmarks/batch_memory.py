"""Peak memory and speed of bounded-memory batch scoring on 1,000,000- and 10,000,000-row files.

An LSTM autoencoder (window 64, 32 channels, one LSTM layer of 32 units, latent 16) is trained
for 2 epochs on 4,000 rows and exported to ONNX. Two Parquet files of 32 float32 channels plus
a timestamp column are written chunk by chunk (never held whole) in a temporary folder, which
is deleted at the end. Each measurement runs in a fresh subprocess that loads the model and
calls :func:`pipelines.batch.score_file` (default chunk of 65,536 rows); it reports rows/s and
peak resident memory (``VmHWM`` from ``/proc/self/status``: Linux keeps ``ru_maxrss`` across
fork + exec, so in a child it would report the parent's peak), plus the resident memory right
after loading the model (TensorFlow and the model: the fixed cost).

The 1,000,000-row file is scored with both engines (Keras, ONNX Runtime); the faster one
scores the 10,000,000-row file. For reference, the whole-file path (``read_table`` +
``evaluate_frame`` + ``write_table``, what ``anomaly score`` did before) on the 1,000,000-row
file. Target: peak under 1.5 GB for both files, not growing with file size.

Run: ``python benchmarks/batch_memory.py`` -> ``benchmarks/results/batch_memory.json``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, write_result

CHANNELS, WINDOW, TRAIN_ROWS, WRITE_ROWS = 32, 64, 4_000, 500_000
SIZES = (1_000_000, 10_000_000)
MODEL = {"window": WINDOW, "units": (32,), "latent": 16, "epochs": 2, "random_state": 0}


def frame(start: int, rows: int, seed: int) -> pd.DataFrame:
    """Rows ``start .. start + rows`` of a smooth 32-channel log at 100 Hz with noise, (rows, 1 + 32)."""
    rng = np.random.default_rng([seed, start])
    t = np.arange(start, start + rows)[:, None] / 50.0
    phases = np.random.default_rng(seed).uniform(0, 6, CHANNELS)
    values = np.sin(t * np.linspace(0.5, 2.0, CHANNELS) + phases) + 0.1 * rng.standard_normal((rows, CHANNELS))
    table = pd.DataFrame(values.astype(np.float32), columns=[f"c{i}" for i in range(CHANNELS)])
    table.insert(0, "timestamp", pd.Timestamp("2026-01-01") + pd.to_timedelta(np.arange(start, start + rows) * 10, unit="ms"))
    return table


def write_file(path: Path, rows: int, seed: int) -> Path:
    """A Parquet file of ``rows`` rows, written ``WRITE_ROWS`` at a time."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    for start in range(0, rows, WRITE_ROWS):
        table = pa.Table.from_pandas(frame(start, min(WRITE_ROWS, rows - start), seed), preserve_index=False)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()
    return path


def train(directory: Path) -> Path:
    """Fit the LSTM-AE on normal rows, save it and export ONNX; returns the model directory."""
    from anomaly import make_detector

    det = make_detector("lstm-ae", **MODEL).fit(frame(0, TRAIN_ROWS, seed=0).set_index("timestamp"))
    det.save(directory)
    det.export_onnx(directory / "model.onnx")
    return directory


def _memory_mb() -> dict:
    status = Path("/proc/self/status").read_text()
    fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
    return {"vm_hwm_mb": int(fields["VmHWM"].split()[0]) / 1024, "vm_rss_mb": int(fields["VmRSS"].split()[0]) / 1024}


def child(mode: str, model: str, data: str, output: str, engine: str) -> dict:
    """One measurement (runs in its own process)."""
    import anomaly

    det = anomaly.load(model, engine=engine)
    after_load = _memory_mb()["vm_rss_mb"]
    start = time.perf_counter()
    if mode == "stream":
        from pipelines.batch import score_file

        rows = score_file(det, data, output).rows
    else:
        from pipelines.batch import score_table
        from pipelines.sinks import write_table
        from pipelines.sources import read_table

        errors, scores, flags = det.evaluate_frame(read_table(data).frame, source=data)
        write_table(score_table(errors, scores, flags), output)
        rows = len(scores)
    seconds = time.perf_counter() - start
    memory = _memory_mb()
    return {"mode": mode, "engine": det.engine_.name, "rows": rows, "seconds": round(seconds, 2),
            "rows_per_s": round(rows / seconds), "peak_rss_mb": round(memory["vm_hwm_mb"], 1),
            "rss_after_model_load_mb": round(after_load, 1)}


def measure(mode: str, model: Path, data: Path, engine: str) -> dict:
    """Run :func:`child` in a fresh interpreter; record the load average around it."""
    before = os.getloadavg()
    output = data.with_suffix(".scores.parquet")
    done = subprocess.run([sys.executable, __file__, "--child", mode, str(model), str(data), str(output), engine],
                          capture_output=True, text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{mode}/{engine} on {data.name} failed:\n{done.stderr[-3000:]}")
    output.unlink(missing_ok=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["loadavg_before"], result["loadavg_after"] = [round(x, 2) for x in before], [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result), flush=True)
    return result


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="batch-memory-"))
    try:
        start = time.perf_counter()
        model = train(tmp / "model")
        files = {rows: write_file(tmp / f"run-{rows}.parquet", rows, seed=1) for rows in SIZES}
        setup_s = time.perf_counter() - start
        small, big = files[SIZES[0]], files[SIZES[1]]
        runs = [measure("stream", model, small, engine) for engine in ("keras", "onnx")]
        fastest = max(runs, key=lambda r: r["rows_per_s"])["engine"]
        runs.append(measure("stream", model, big, fastest))
        runs.append(measure("whole-file", model, small, fastest))
        sizes_mb = {rows: round(path.stat().st_size / 2**20, 1) for rows, path in files.items()}
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    streamed = {r["rows"]: r for r in runs if r["mode"] == "stream" and r["engine"] == fastest}
    result = {
        "model": {"detector": "lstm-ae", **{k: list(v) if isinstance(v, tuple) else v for k, v in MODEL.items()},
                  "channels": CHANNELS, "train_rows": TRAIN_ROWS},
        "chunk_rows": 65_536,
        "file_mb": sizes_mb,
        "setup_seconds": round(setup_s, 1),
        "engine_used_for_10M": fastest,
        "runs": runs,
        "target_peak_mb": 1536,
        "peak_mb_1M": streamed[SIZES[0]]["peak_rss_mb"],
        "peak_mb_10M": streamed[SIZES[1]]["peak_rss_mb"],
        "target_met": all(r["peak_rss_mb"] < 1536 for r in streamed.values()),
        "cpu_count": os.cpu_count(),
    }
    print(f"-> {write_result('batch_memory', result)}")


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(child(*sys.argv[2:7])))
    else:
        main()
