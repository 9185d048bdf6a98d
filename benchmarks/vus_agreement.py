"""VUS-ROC / VUS-PR: ours (``anomaly.metrics.vus``) against the reference implementation.

The reference is ``generate_curve(..., version="opt")`` of the authors' TSB-AD package (PyPI
``TSB-AD``; ``get_metrics`` computes VUS with it), installed into its own virtual environment
so that the project's dependencies stay untouched::

    python3 -m venv /tmp/tsbad-venv
    /tmp/tsbad-venv/bin/pip install --no-deps TSB-AD
    /tmp/tsbad-venv/bin/pip install numpy scikit-learn

``TSB_AD.evaluation.basic_metrics``, which holds it, imports only numpy and scikit-learn.
Each input (labels, scores, buffer size, thresholds) goes to the reference, run in that venv
by subprocess, through a temporary ``.npz`` file read with ``allow_pickle=False``. Both sides
get the same parameters: TSB-AD's defaults (``slidingWindow=100``, ``thre=250``, also ours)
unless a case says otherwise. Inputs: synthetic series (seeded) with one and several ranges,
scores from perfect to random, edge cases (ranges touching the series' ends, buffers that
merge, one-row ranges, tied scores, a series shorter than the threshold count), and SKAB
valve1/0 scored by |z| of ``Current`` against its first 400 (anomaly-free) rows.

Run: ``.venv/bin/python benchmarks/vus_agreement.py [reference venv's python]``
-> ``benchmarks/results/vus_agreement.json``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import data_root, write_result

from anomaly.metrics import VUS_MAX_WINDOW, VUS_STEPS, vus
from datasets.paths import data_dir
from datasets.skab import TRAIN_ROWS, read_skab_file

DEFAULT_REFERENCE = "/tmp/tsbad-venv/bin/python"

REFERENCE = """
import json, sys
from importlib.metadata import version
import numpy as np
from TSB_AD.evaluation.basic_metrics import generate_curve

data = np.load(sys.argv[1], allow_pickle=False)
out = {"version": version("TSB-AD"), "cases": {}}
for key in sorted({name.rsplit("_", 1)[0] for name in data.files}):
    window, steps = (int(v) for v in data[key + "_p"])
    *_, vus_roc, vus_pr = generate_curve(data[key + "_y"].astype(int), data[key + "_s"], window, "opt", steps)
    out["cases"][key] = {"vus_roc": float(vus_roc), "vus_pr": float(vus_pr)}
print(json.dumps(out))
"""


def _labels(n: int, *ranges: tuple[int, int]) -> np.ndarray:
    """(n,) bool labels, True on each inclusive ``(start, end)``."""
    out = np.zeros(n, dtype=bool)
    for start, end in ranges:
        out[start : end + 1] = True
    return out


def inputs() -> dict[str, tuple[np.ndarray, np.ndarray, int, int]]:
    """Name -> (labels, scores, max_window, steps)."""
    rng = np.random.default_rng(0)
    n = 3000
    one = _labels(n, (1200, 1299))
    many = _labels(n, *((s, s + 39) for s in (200, 900, 1500, 2600)))
    edges = _labels(n, (0, 29), (1000, 1000), (1040, 1059), (2950, 2999))
    skab = read_skab_file(data_dir(data_root(), "skab") / "data" / "valve1" / "0.csv", "valve1/0")
    current = skab.frame["Current"].to_numpy(np.float64)
    z = np.abs((current - current[:TRAIN_ROWS].mean()) / current[:TRAIN_ROWS].std())
    short = _labels(120, (30, 44), (90, 95))
    default = (VUS_MAX_WINDOW, VUS_STEPS)
    return {
        "one_range_perfect": (one, one.astype(float), *default),
        "one_range_noisy": (one, one + rng.normal(0, 0.5, n), *default),
        "one_range_random": (one, rng.random(n), *default),
        "one_range_constant": (one, np.ones(n), *default),
        "many_ranges_late": (many, np.roll(many.astype(float), 15) + rng.random(n) * 0.3, *default),
        "many_ranges_random": (many, rng.random(n), *default),
        "edge_and_merging_ranges_noisy": (edges, edges + rng.normal(0, 0.7, n), *default),
        "edge_ranges_tied_scores": (edges, np.round(edges + rng.normal(0, 0.7, n)), *default),
        "short_series_window_20_steps_100": (short, short + rng.normal(0, 0.8, 120), 20, 100),
        "skab_valve1_0_abs_z_current": (skab.anomaly.to_numpy(bool), z, *default),
    }


def reference_values(cases: dict, python: str) -> tuple[dict, str, float]:
    """Reference VUS per case, the TSB-AD version and the seconds it took."""
    arrays = {}
    for key, (labels, scores, window, steps) in cases.items():
        arrays.update({f"{key}_y": labels.astype(np.int8), f"{key}_s": scores.astype(np.float64),
                       f"{key}_p": np.array([window, steps])})
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inputs.npz"
        np.savez(path, **arrays)
        start = time.perf_counter()
        done = subprocess.run([python, "-c", REFERENCE, str(path)], capture_output=True, text=True, timeout=3600)
        seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"reference failed:\n{done.stderr[-2000:]}")
    out = json.loads(done.stdout.strip().splitlines()[-1])
    return out["cases"], out["version"], seconds


def main(python: str) -> None:
    if not Path(python).exists():
        raise SystemExit(f"{python}: no reference interpreter; set it up as the docstring says:\n{__doc__}")
    cases = inputs()
    reference, version, reference_s = reference_values(cases, python)
    start = time.perf_counter()
    ours = {k: vus(y, s, max_window=w, steps=t) for k, (y, s, w, t) in cases.items()}
    ours_s = time.perf_counter() - start
    rows = {}
    for key, (labels, _, window, steps) in cases.items():
        diff = max(abs(ours[key][m] - reference[key][m]) for m in ("vus_roc", "vus_pr"))
        rows[key] = {"n": len(labels), "max_window": window, "steps": steps,
                     "ours_vus_roc": ours[key]["vus_roc"], "reference_vus_roc": reference[key]["vus_roc"],
                     "ours_vus_pr": ours[key]["vus_pr"], "reference_vus_pr": reference[key]["vus_pr"],
                     "abs_difference": diff}
        print(f"{key:34s} VUS-ROC {ours[key]['vus_roc']:.6f} ref {reference[key]['vus_roc']:.6f} | "
              f"VUS-PR {ours[key]['vus_pr']:.6f} ref {reference[key]['vus_pr']:.6f} | diff {diff:.1e}")
    max_diff = max(row["abs_difference"] for row in rows.values())
    print(f"max |ours - reference| = {max_diff:.2e} over {len(rows)} inputs; "
          f"ours {ours_s:.2f} s, reference {reference_s:.2f} s")
    path = write_result("vus_agreement", {
        "protocol": __doc__.split("Run:")[0].strip(), "reference": f"TSB-AD {version}",
        "cases": rows, "max_abs_difference": max_diff, "seconds": {"ours": ours_s, "reference": reference_s}})
    print(f"-> {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else DEFAULT_REFERENCE)
