"""Sensor attribution: HitRate@100 % and @150 % of each detector's per-channel errors.

SMD (3 machines) and ASD (6 servers): fit on ``train/``, errors on ``test/``, scored against the
interpretation labels (cause channels of each labelled segment; the loaders turn ASD's
inclusive ends into exclusive ones). Simulated robot arm: fit on 300 s of normal operation,
errors on three 600 s logs with every fault type, scored against each fault's ground-truth
channels. Beside each number, the expected HitRate of a random channel ranking. Neural
models use small settings (window 16, 3 epochs, 32 units) to fit a 2-core machine.

Run: ``python benchmarks/attribution.py [model ...]`` -> ``benchmarks/results/attribution.json``.
"""

from __future__ import annotations

import sys

import numpy as np
from _common import data_root, write_result

from anomaly import make_detector
from anomaly.hitrate import hit_rate, random_hit_rate, segments_from_faults
from datasets.robot_arm import simulate
from datasets.smd import ASD_ENTITIES, SMD_MACHINES, load_asd, load_smd

SMALL = {"window": 16, "epochs": 3, "batch_size": 256, "random_state": 0}
MODELS = {"pca": {}, "dense-ae": SMALL, "conv-ae": {**SMALL, "filters": (32, 16)}, "lstm-ae": {**SMALL, "units": (32,), "latent": 8}}


def cases():
    """(dataset, train frame, [(test frame, segments)])."""
    root = data_root()
    for name, loader, entities in (("smd", load_smd, SMD_MACHINES), ("asd", load_asd, ASD_ENTITIES)):
        for entity in entities:
            e = loader(entity, root)
            yield name, e.train, [(e.test, e.segments)]
    runs = [simulate(600, faults="all", seed=s, ambient_c=28.0) for s in (1, 2, 3)]
    yield "robot-arm", simulate(300, seed=0, ambient_c=28.0).frame, [(r.frame, segments_from_faults(r)) for r in runs]


def main(names: list[str]) -> None:
    rates: dict = {name: {} for name in names}
    randoms: dict = {}
    for dataset, train, tests in cases():
        for name in names:
            det = make_detector(name, **MODELS[name]).fit(train)
            for p in (1.0, 1.5):
                key = f"hitrate@{int(p * 100)}%"
                values = [hit_rate(det.errors(test), segs, p=p) for test, segs in tests]
                rates[name].setdefault(dataset, {}).setdefault(key, []).extend(values)
                randoms.setdefault(dataset, {}).setdefault(key, []).extend(random_hit_rate(train.shape[1], segs, p=p) for _, segs in tests)
    summary = {name: {d: {k: float(np.mean(v)) for k, v in by.items()} for d, by in per.items()} for name, per in rates.items()}
    summary["random ranking"] = {d: {k: float(np.mean(v)) for k, v in by.items()} for d, by in randoms.items()}
    for name, per in summary.items():
        print(f"{name:15s} " + " | ".join(f"{d}: @100 {r['hitrate@100%']:.3f} @150 {r['hitrate@150%']:.3f}" for d, r in per.items()))
    print(f"-> {write_result('attribution', {'protocol': __doc__.split('Run:')[0].strip(), 'settings': {n: MODELS[n] for n in names}, 'mean_hitrate': summary})}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
