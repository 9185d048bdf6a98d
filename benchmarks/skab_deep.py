"""Every neural detector on SKAB with SKAB's protocol, beside SKAB's published rows.

Protocol (see ``_skab.py``): per valve1/valve2 file, fit on the first 400 rows (no
validation split: early stopping watches the training loss), threshold = 1.5 x the 99th
percentile of the training scores, persistence 10 (and none), pooled point-wise metrics,
on the rows after training and on whole files. Windows of 16 steps scored with stride 1.
Same settings for every model; nothing tuned on the test rows.

Run: ``python benchmarks/skab_deep.py`` -> ``benchmarks/results/skab_deep.json`` (~15 min on 2 cores).
"""

from __future__ import annotations

import sys
import time

from _common import write_result
from _skab import PUBLISHED, baseline_rows, print_rows, score_files, variants

from anomaly import SkabUCL, make_detector

WINDOW = 16
COMMON = {"window": WINDOW, "epochs": 50, "patience": 5, "validation_fraction": 0.0, "random_state": 0}
MODELS = {
    "dense-ae": {**COMMON, "stride": 1},
    "conv-ae": {**COMMON, "stride": 1, "filters": (32, 16), "kernel_size": 5},
    "lstm-ae": {**COMMON, "stride": 1, "units": (32,), "latent": 8},
    "lstm-vae": {**COMMON, "stride": 1, "units": (32,), "latent": 8},
    "vae-gan": {**COMMON, "stride": 1, "units": (32,), "latent": 8},
    "lstm-forecast": {**COMMON, "units": (32,)},
}


def main(names: list[str]) -> None:
    rows, timings = {}, {}
    for name in names:
        start = time.perf_counter()
        files = score_files(lambda name=name: make_detector(name, **MODELS[name], threshold=SkabUCL(q=99.0, factor=1.5)))
        timings[name] = round(time.perf_counter() - start, 1)
        rows.update({f"{name} {variant}": m for variant, m in variants(files).items()})
        print(f"{name}: {timings[name]} s", file=sys.stderr)
    published = {f"published: {p['method']}": p for key, p in PUBLISHED.items() if key != "pca"}
    result = {
        "protocol": __doc__.split("Run:")[0].strip(),
        "settings": MODELS,
        "published": published,
        "ours": rows,
        "baselines": baseline_rows(),
        "seconds_per_model_all_files": timings,
    }
    path = write_result("skab_deep", result)
    print_rows({**published, **rows, **result["baselines"]})
    print(f"-> {path}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
