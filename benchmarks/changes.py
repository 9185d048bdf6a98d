"""PCA with each row's changes (``PCADetector(changes=N)``, dynamic PCA): SMD and ASD per entity,
and what the changes cost to score.

Protocol: the default PCA (``conditions="auto"``, channel limits, the ``QuietLogs`` threshold), one
model per entity fitted on ``train/``; point F1 of ``det.predict`` (its own threshold, no test
label) and AUC-PR of the scores on ``test/`` (no point adjustment), for ``changes`` 0 (the
default: each row alone), 1, 2, 4 and 8. Two machines' new sessions with ``changes`` 0 and 4,
as their own benchmarks measure them: the conveyor drive (10 Hz, ``benchmarks/other_machine.py``,
trained on its two wandering sessions: false alarms per hour and faults found per test
condition) and the UR-style cobot log (125 Hz, ``benchmarks/rtde_cobot.py``, the 10-minute
model: false alarms per hour on three new sessions, and each fault's delay). Cost: scoring
30,000 rows of the simulated arm (28 channels, 100 Hz) with ``changes=4`` against
``changes=0``, best of 3, in one process. The arm, its unseen conditions and ALFA with
``changes=4`` are the ``pca +conditions+changes`` row of ``benchmarks/conditions.py``.

Run: ``python benchmarks/changes.py`` -> ``benchmarks/results/changes.json``.
"""

from __future__ import annotations

import numpy as np
from _common import best_seconds, data_root, write_result
from sklearn.metrics import average_precision_score

from anomaly import PCADetector
from anomaly.metrics import point_metrics
from datasets.robot_arm import simulate
from datasets.smd import ASD_ENTITIES, SMD_MACHINES, load_asd, load_smd

CHANGES = (0, 1, 2, 4, 8)


def entity_scores(data, changes: int) -> dict:
    det = PCADetector(changes=changes).fit(data.train)
    labels = data.labels.to_numpy(bool)
    return {"f1": point_metrics(labels, det.predict(data.test).to_numpy())["f1"],
            "auc_pr": float(average_precision_score(labels, det.score(data.test).to_numpy())),
            "n_components": det.n_components_, "features": int(det.mean_.shape[0])}


def machines() -> dict:
    """The conveyor's and the cobot log's new sessions with changes 0 and 4 (see the protocol)."""
    import tempfile
    from pathlib import Path

    import other_machine
    import rtde_cobot

    out = {}
    for changes in (0, 4):
        conveyor = other_machine.run("wandering", False, params={"changes": changes})["tests"]
        out[f"conveyor changes={changes}"] = {name: {k: row[k] for k in ("false_alarms_per_hour", "found", "faults")}
                                              for name, row in conveyor.items()}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        normal, faulty = rtde_cobot.sessions(root)
        train = rtde_cobot.training_log(root, max(rtde_cobot.TRAIN_MINUTES))
        for changes in (0, 4):
            row = rtde_cobot.measure(PCADetector(changes=changes).fit(train), normal, faulty)
            out[f"cobot changes={changes}"] = {k: row[k] for k in ("false_alarms_per_hour", "fault_delay_s", "found")}
    return out


def scoring_cost() -> dict:
    train, test = simulate(120, seed=0).frame, simulate(300, seed=1).frame
    seconds = {changes: best_seconds(lambda det=PCADetector(changes=changes).fit(train): det.score(test), 3)
               for changes in (0, 4)}
    return {"rows": len(test), "seconds_changes_0": seconds[0], "seconds_changes_4": seconds[4],
            "ratio": seconds[4] / seconds[0]}


def main() -> None:
    root = data_root()
    results = {}
    for dataset, loader, entities in (("smd", load_smd, SMD_MACHINES), ("asd", load_asd, ASD_ENTITIES)):
        data = [loader(e, root) for e in entities]
        for changes in CHANGES:
            rows = {d.name: entity_scores(d, changes) for d in data}
            rows["mean"] = {k: float(np.mean([r[k] for r in rows.values()])) for k in ("f1", "auc_pr")}
            results[f"{dataset} changes={changes}"] = rows
            print(f"{dataset} changes={changes}: F1 {rows['mean']['f1']:.3f} AUC-PR {rows['mean']['auc_pr']:.3f}", flush=True)
    other = machines()
    for name, row in other.items():
        print(name, row, flush=True)
    cost = scoring_cost()
    print(f"scoring {cost['rows']} arm rows: changes=4 {cost['ratio']:.2f}x changes=0")
    path = write_result("changes", {"protocol": __doc__.split("Run:")[0].strip(), "results": results, "machines": other,
                                    "cost": cost})
    print(f"-> {path}")


if __name__ == "__main__":
    main()
