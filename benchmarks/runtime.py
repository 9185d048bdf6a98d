"""The scoring runtime on its own: `anomaly stream` in a fresh environment with only the base package.

A new virtual environment gets ``pip install .`` (no extras: NumPy, pandas, pyarrow, ONNX
Runtime, typer/rich, prometheus-client; no TensorFlow, Keras, SciPy, scikit-learn). The models
are trained here (the development environment, with the ``train`` extra) and exported to ONNX:

* ``lstm-ae-8``: LSTM autoencoder, 8 channels, window 32 (issue 13's stream target);
* ``lstm-ae-32``: LSTM autoencoder, 32 channels, window 32 (start-up target).

Measured, each as the best of ``--repeats`` runs, in the fresh environment (``runtime``) and,
as the reference, the same command in this development environment (``full``):

* **stream 500 rows**: ``anomaly stream --model lstm-ae-8`` reading 500 JSON lines from stdin,
  whole process: wall time and peak resident memory (``ru_maxrss`` of the child);
* **start to first score**: ``anomaly stream --model lstm-ae-32 --scores``, stdin fed at once,
  time from the process start to the first score line on stdout (32 rows of warm-up);
* **per-row latency** at hop 1, in process (``StreamScorer.push`` of one row, after the
  warm-up), p50/p99 over 2,000 rows, in the fresh environment;
* **installed size**: the fresh environment's ``site-packages`` (and the development one's).

With ``--before COMMIT`` the two stream measures also run for that commit's code (a temporary
git worktree on ``PYTHONPATH``) in the development environment (``before``): e.g. the last
commit before the runtime split, whose scoring imported TensorFlow.

Usage: ``python benchmarks/runtime.py [--repeats 3] [--before COMMIT]``; needs PyPI for the fresh environment
(kept in ``.runtime-venv``, ignored by git); writes ``benchmarks/results/runtime.json``.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from _common import ROOT, write_result

import anomaly

VENV = ROOT / ".runtime-venv"
WINDOW = 32
ROWS = 500


def frame(n: int, channels: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    phase = np.arange(n)[:, None] / 25.0 + np.arange(channels)
    values = np.sin(phase) + 0.05 * rng.standard_normal((n, channels))
    return pd.DataFrame(values, columns=[f"c{i}" for i in range(channels)], index=pd.date_range("2026-01-01", periods=n, freq="10ms"))


def train(folder: Path) -> dict[str, Path]:
    paths = {}
    for channels in (8, 32):
        det = anomaly.LSTMAutoencoder(window=WINDOW, units=(32,), latent=8, epochs=2, validation_fraction=0.0).fit(frame(4000, channels, 0))
        path = det.save(folder / f"lstm-ae-{channels}")
        det.export_onnx(path / "model.onnx")
        paths[f"lstm-ae-{channels}"] = path
    return paths


def older_copy(model: Path, folder: Path) -> Path:
    """A copy of ``model`` without the parameters added since (``adapt``, ``smooth``; None here), for older code."""
    copy = folder / model.name
    shutil.copytree(model, copy)
    meta = json.loads((copy / "detector.json").read_text())
    for name in ("adapt", "smooth"):
        if meta["params"].pop(name, None) is not None:
            raise SystemExit(f"{model}: {name} is set; older code cannot score it")
    (copy / "detector.json").write_text(json.dumps(meta))
    return copy


def jsonl(n: int, channels: int) -> bytes:
    data = frame(n, channels, 1)
    return b"".join(json.dumps({"timestamp": str(t), **row}).encode() + b"\n"
                    for t, row in zip(data.index, data.round(5).to_dict("records")))


def fresh_environment() -> Path:
    """The runtime environment (created once): only ``pip install .`` of this checkout."""
    python = VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT)], check=True)
    probe = "import importlib.util as u; print([m for m in ('tensorflow', 'keras', 'scipy', 'sklearn') if u.find_spec(m)])"
    present = subprocess.run([str(python), "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    if present != "[]":
        raise SystemExit(f"{VENV} is not a base-only environment: it has {present}")
    return VENV


def anomaly_command(venv: Path, code: Path | None = None) -> list[str]:
    """The ``anomaly`` CLI of ``venv``, or of the checkout ``code`` run by ``venv``'s Python."""
    if code is None:
        return [str(venv / "bin" / "anomaly")]
    return ["env", f"PYTHONPATH={code}", str(venv / "bin" / "python"), "-m", "anomaly.cli"]


# Runs one command and prints its peak resident memory (kB): the launcher's only child is it.
PEAK = "import resource, subprocess, sys; subprocess.run(sys.argv[1:]); print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)"


def stream_whole(command: list[str], model: Path, payload: bytes) -> dict:
    """Wall seconds and peak RSS (MB) of one ``anomaly stream`` process over ``payload``."""
    with tempfile.TemporaryFile() as stdin:
        stdin.write(payload)
        stdin.seek(0)
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", PEAK, *command, "stream", "--model", str(model)], stdin=stdin,
                              capture_output=True)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(done.stderr.decode())
    return {"seconds": seconds, "peak_rss_mb": int(done.stdout.splitlines()[-1]) / 1024}


def first_score(command: list[str], model: Path, payload: bytes) -> float:
    """Seconds from the process start to its first score line."""
    start = time.perf_counter()
    proc = subprocess.Popen([*command, "stream", "--model", str(model), "--scores"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    proc.stdin.write(payload)
    proc.stdin.close()
    line = proc.stdout.readline()
    seconds = time.perf_counter() - start
    proc.stdout.read()
    proc.wait()
    if not line.startswith(b'{"type": "score"'):
        raise SystemExit(f"no score line: {line[:200]!r}")
    return seconds


LATENCY = """
import json, sys, time
import numpy as np
from anomaly import load
from pipelines.stream.scorer import StreamScorer
det = load(sys.argv[1])
scorer = StreamScorer(det)
rows = np.load(sys.argv[2])
times = []
for i, row in enumerate(rows):
    start = time.perf_counter()
    scorer.push(i, row)
    times.append(time.perf_counter() - start)
ms = np.array(times[det.stream_rows(1):]) * 1e3
print(json.dumps({"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)), "engine": type(det.engine_).__name__}))
"""


def per_row_latency(venv: Path, model: Path, folder: Path) -> dict:
    rows = folder / "rows.npy"
    np.save(rows, frame(2000 + WINDOW, 32, 2).to_numpy(np.float32))
    out = subprocess.run([str(venv / "bin" / "python"), "-c", LATENCY, str(model), str(rows)], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def site_packages_mb(venv: Path) -> float:
    lib = next((venv / "lib").glob("python3*/site-packages"))
    return sum(p.stat().st_size for p in lib.rglob("*") if p.is_file()) / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--before", default=None, help="a commit whose code is measured too (in the development environment)")
    args = parser.parse_args()
    venv = fresh_environment()
    full = Path(sys.executable).parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        models = train(folder)
        payload8, payload32 = jsonl(ROWS, 8), jsonl(ROWS, 32)
        result = {}
        runs = [("runtime", venv, None), ("full", full, None)]
        if args.before:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder / "before"), args.before],
                           check=True, capture_output=True)
            runs.append(("before", full, folder / "before"))
        for name, env, code in runs:
            command = anomaly_command(env, code)
            if code is not None:
                (folder / "older").mkdir(exist_ok=True)
                models = {key: older_copy(path, folder / "older") for key, path in models.items()}
            whole = [stream_whole(command, models["lstm-ae-8"], payload8) for _ in range(args.repeats)]
            result[name] = {
                "stream_500_rows_s": min(w["seconds"] for w in whole),
                "stream_500_rows_peak_rss_mb": min(w["peak_rss_mb"] for w in whole),
                "start_to_first_score_s": min(first_score(command, models["lstm-ae-32"], payload32) for _ in range(args.repeats)),
                "site_packages_mb": site_packages_mb(env),
            }
            if code is not None:
                result[name]["commit"] = args.before
            print(name, result[name], flush=True)
        result["runtime"]["per_row_latency_hop1"] = per_row_latency(venv, models["lstm-ae-32"], folder)
        print("latency", result["runtime"]["per_row_latency_hop1"], flush=True)
        if args.before:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(folder / "before")], check=True)
    for reference in ("full", "before"):
        if reference in result:
            result[f"ratios_runtime_over_{reference}"] = {k: result["runtime"][k] / v for k, v in result[reference].items()
                                                          if isinstance(v, float)}
    path = write_result("runtime", {"protocol": __doc__, "results": result})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
