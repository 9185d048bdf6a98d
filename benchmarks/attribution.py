"""Sensor attribution: HitRate@100 % and @150 % of each detector's per-channel errors.

Protocol
--------
* SMD (machine-1-6, machine-2-1, machine-3-4) and ASD (omi-1 .. omi-6): one model per entity,
  fitted on ``train/`` (neural models hold out the last 10 % for early stopping), per-channel
  errors ``det.errors(test)``, scored against the interpretation labels (cause channels of
  each labelled segment; the loader turns ASD's inclusive ends into exclusive ones).
* Simulated robot arm: one model fitted on ``simulate(300, seed=0, ambient_c=28)``, errors on
  ``simulate(600, faults="all", seed=s, ambient_c=28)`` for s = 1, 2, 3, scored against each
  injected fault's ground-truth channels (``FaultEvent.channels``, via
  ``segments_from_faults``).
* HitRate@P (``anomaly.metrics``): at every step of a labelled segment (detected or not) the
  top floor(P x |causes|) channels by error (ties share places), hit = share of the causes
  among them; mean over the segment's steps, then over its segments -> one value per entity
  (or arm run); a data set's value is the mean over its 3 SMD machines, 6 ASD servers or 3
  arm runs. The arm's values are also broken down by fault kind (mean over its segments).
* Random ranking: the expected HitRate of a uniformly random channel order, analytically
  ``min(floor(P |causes|), n_channels) / n_channels`` per segment, aggregated the same way.
* Models: PCA with its defaults; neural models with small settings for a 2-core machine
  (window 16, 3 epochs, batch 256, one 32-unit layer, latent 8; conv-ae filters (32, 16),
  kernel 5), random_state 0. Short training: a floor for these architectures, not their best.

Run: ``python benchmarks/attribution.py [model ...]`` -> ``benchmarks/results/attribution.json``.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from _common import RESULTS, data_root, write_result

from anomaly import make_detector
from anomaly.metrics import hit_rate_report, random_hit_rate
from datasets.robot_arm import segments_from_faults, simulate
from datasets.smd import ASD_ENTITIES, SMD_MACHINES, load_asd, load_smd

logger = logging.getLogger("attribution")

SMALL = {"window": 16, "epochs": 3, "batch_size": 256, "random_state": 0}
MODELS = {
    "pca": {},
    "dense-ae": {**SMALL, "hidden": (32,), "latent": 8},
    "conv-ae": {**SMALL, "filters": (32, 16), "kernel_size": 5},
    "lstm-ae": {**SMALL, "units": (32,), "latent": 8},
    "lstm-vae": {**SMALL, "units": (32,), "latent": 8},
    "vae-gan": {**SMALL, "units": (32,), "latent": 8},
    "lstm-forecast": {**SMALL, "units": (32,)},
}
PS = (1.0, 1.5)
AMBIENT = 28.0


def key(p: float) -> str:
    """Result key of P as a fraction: 1.5 -> ``"hitrate@150%"``."""
    return f"hitrate@{round(p * 100)}%"


@dataclass
class Log:
    """One scored log: its frame, cause segments and (arm only) the fault kind of each segment."""

    name: str
    frame: pd.DataFrame
    segments: list
    kinds: list | None = None


@dataclass
class Case:
    """One fitted model's worth of data: a training frame and the logs it is tested on."""

    dataset: str
    train: pd.DataFrame
    tests: list[Log]


def cases() -> list[Case]:
    """The 3 SMD machines, 6 ASD servers (one case each) and the robot arm (one case, 3 logs)."""
    root = data_root()
    found = [Case(dataset, e.train, [Log(e.name, e.test, e.segments)])
             for dataset, loader, names in (("smd", load_smd, SMD_MACHINES), ("asd", load_asd, ASD_ENTITIES))
             for e in (loader(name, root) for name in names)]
    runs = [simulate(600, faults="all", seed=s, ambient_c=AMBIENT) for s in (1, 2, 3)]
    found.append(Case("robot-arm", simulate(300, seed=0, ambient_c=AMBIENT).frame,
                      [Log(f"seed-{s}", r.frame, segments_from_faults(r), [f.kind for f in r.faults])
                       for s, r in zip((1, 2, 3), runs)]))
    return found


def random_rows(all_cases: list[Case]) -> dict:
    """Expected HitRate of a random ranking, per data set and entity."""
    out: dict = {}
    for case in all_cases:
        for test in case.tests:
            out.setdefault(case.dataset, {})[test.name] = {
                key(p): random_hit_rate(test.frame.shape[1], test.segments, p=p) for p in PS}
    return out


def evaluate(name: str, all_cases: list[Case]) -> tuple[dict, dict, float]:
    """HitRate per data set and entity, the arm's per-kind values, and the seconds taken."""
    per_entity: dict = {}
    kinds: dict = {}
    start = time.perf_counter()
    for case in all_cases:
        det = make_detector(name, **MODELS[name]).fit(case.train)
        for test in case.tests:
            errors = det.errors(test.frame)
            reports = {p: hit_rate_report(errors, test.segments, p=p) for p in PS}
            per_entity.setdefault(case.dataset, {})[test.name] = {key(p): r["hit_rate"] for p, r in reports.items()}
            for p, r in reports.items():
                for kind, segment in zip(test.kinds or (), r["segments"]):
                    kinds.setdefault(kind, {}).setdefault(key(p), []).append(segment["hit_rate"])
        logger.info("%s: %s done after %.0f s", name, case.dataset if len(case.tests) > 1 else case.tests[0].name,
                    time.perf_counter() - start)
    by_kind = {kind: {k: float(np.mean(v)) for k, v in values.items()} for kind, values in sorted(kinds.items())}
    return per_entity, by_kind, time.perf_counter() - start


def summarise(per_entity: dict) -> dict:
    """Mean over each data set's entities (or arm runs)."""
    return {dataset: {key(p): float(np.mean([row[key(p)] for row in rows.values()])) for p in PS}
            for dataset, rows in per_entity.items()}


def table(means: dict) -> str:
    """Markdown table: one row per detector, cells ``@100 % / @150 %`` per data set."""
    datasets = ("smd", "asd", "robot-arm")
    lines = ["| detector | SMD | ASD | robot arm |", "|---|---|---|---|"]
    for name, row in means.items():
        cells = " | ".join(f"{row[d][key(1.0)]:.3f} / {row[d][key(1.5)]:.3f}" for d in datasets)
        lines.append(f"| {name} | {cells} |")
    return "\n".join(lines)


def main(names: list[str]) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    all_cases = cases()
    earlier = RESULTS / "attribution.json"  # a run of some models keeps the others' results
    old = json.loads(earlier.read_text()) if earlier.exists() else {}
    means, entities, kinds, seconds, settings = (dict(old.get(k, {})) for k in
                                                 ("mean_hitrate", "per_entity", "robot_arm_by_fault_kind", "seconds", "settings"))
    for name in names:
        entities[name], kinds[name], seconds[name] = evaluate(name, all_cases)
        means[name] = summarise(entities[name])
    entities["random ranking"] = random_rows(all_cases)
    means["random ranking"] = summarise(entities["random ranking"])
    print("HitRate@100 % / @150 %, mean over entities\n" + table(means))
    path = write_result("attribution", {
        "protocol": __doc__.split("Run:")[0].strip(),
        "settings": {**settings, **{name: MODELS[name] for name in names}},
        "mean_hitrate": means,
        "per_entity": entities,
        "robot_arm_by_fault_kind": kinds,
        "seconds": {name: round(s, 1) for name, s in seconds.items()},
    })
    print(f"-> {path}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
