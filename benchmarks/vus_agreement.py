"""VUS-ROC / VUS-PR: ours against the reference implementation in TSB-AD, on the same inputs.

The reference is the authors' TSB-AD package (PyPI ``TSB-AD``), installed into its own
virtual environment so that it does not touch the project's dependencies::

    python3 -m venv /tmp/tsbad-venv
    /tmp/tsbad-venv/bin/pip install --no-deps TSB-AD && /tmp/tsbad-venv/bin/pip install numpy scikit-learn

(only ``TSB_AD/evaluation/basic_metrics.py`` is used: it needs numpy and scikit-learn). Inputs
(label/score pairs) go to the reference through a temporary ``.npz`` file; both sides use
sliding window 100 and 250 thresholds. Inputs: synthetic series with one and several anomaly
ranges and scores from perfect to random, and SKAB valve1/0 scored by |z| of ``Current``.

Run: ``python benchmarks/vus_agreement.py [path to the reference venv's python]``
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

from anomaly.range_metrics import vus
from datasets.skab import load_skab

REFERENCE = """
import json, sys, importlib.util, pathlib, numpy as np
import TSB_AD
path = pathlib.Path(TSB_AD.__file__).parent / "evaluation" / "basic_metrics.py"
spec = importlib.util.spec_from_file_location("basic_metrics", path)
module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
data = np.load(sys.argv[1])
out = {}
for name in data.files:
    if name.endswith("_y"):
        key = name[:-2]
        _, _, _, _, _, _, vus_roc, vus_pr = module.generate_curve(data[name].astype(int), data[key + "_s"], 100, "opt", 250)
        out[key] = [float(vus_roc), float(vus_pr)]
print(json.dumps(out))
"""


def inputs() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    n = 3000
    one = np.zeros(n, bool)
    one[1200:1300] = True
    many = np.zeros(n, bool)
    for start in (200, 900, 1500, 2600):
        many[start : start + 40] = True
    noisy = one + rng.normal(0, 0.5, n)
    skab = load_skab(data_root())[0]
    current = skab.frame["Current"].to_numpy(np.float64)
    return {
        "one_range_perfect": (one, one.astype(float)),
        "one_range_noisy": (one, noisy),
        "one_range_random": (one, rng.random(n)),
        "many_ranges_late": (many, np.roll(many.astype(float), 15) + rng.random(n) * 0.3),
        "many_ranges_random": (many, rng.random(n)),
        "skab_valve1_0_abs_z_current": (skab.anomaly.to_numpy(), np.abs((current - current[:400].mean()) / current[:400].std())),
    }


def main(reference_python: str) -> None:
    cases = inputs()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "inputs.npz"
        np.savez(path, **{f"{k}_y": y for k, (y, _) in cases.items()}, **{f"{k}_s": s for k, (_, s) in cases.items()})
        start = time.perf_counter()
        done = subprocess.run([reference_python, "-c", REFERENCE, str(path)], capture_output=True, text=True, timeout=3600)
        reference_s = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"reference failed: {done.stderr[-2000:]}")
    reference = json.loads(done.stdout.strip().splitlines()[-1])
    start = time.perf_counter()
    ours = {k: vus(y, s) for k, (y, s) in cases.items()}
    ours_s = time.perf_counter() - start
    rows = {}
    for k in cases:
        rows[k] = {"ours_vus_roc": ours[k]["vus_roc"], "reference_vus_roc": reference[k][0],
                   "ours_vus_pr": ours[k]["vus_pr"], "reference_vus_pr": reference[k][1]}
        print(f"{k:32s} VUS-ROC ours {ours[k]['vus_roc']:.6f} ref {reference[k][0]:.6f} | VUS-PR ours {ours[k]['vus_pr']:.6f} ref {reference[k][1]:.6f}")
    max_diff = max(max(abs(r["ours_vus_roc"] - r["reference_vus_roc"]), abs(r["ours_vus_pr"] - r["reference_vus_pr"])) for r in rows.values())
    print(f"max |ours - reference| = {max_diff:.2e}; time ours {ours_s:.2f} s, reference {reference_s:.2f} s")
    path = write_result("vus_agreement", {"protocol": __doc__.split("Run:")[0].strip(), "cases": rows, "max_abs_difference": max_diff,
                                          "seconds": {"ours": ours_s, "reference": reference_s}})
    print(f"-> {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "/tmp/tsbad-venv/bin/python")
