"""Transfer learning on SMD: does pretraining on one server help a server with little data?

For each (source A -> target B) pair of the three SMD machines: an LSTM-AE is pretrained on
A's whole ``train/`` split (the settings of ``benchmarks/smd_asd_deep.py``: window 16, 32
units, latent 8, 5 epochs). On B, a small budget of normal data (the first N rows of B's
``train/``) then trains:

* ``scratch``: a fresh LSTM-AE;
* ``fine-tune``: ``anomaly.transfer.fine_tune`` from A's network, all layers trained;
* ``fine-tune, frozen encoder``: only the decoder trained;
* ``zero-shot``: A's network unchanged (0 epochs), with B's own scaler and threshold.

Budget runs train for up to 30 epochs with early stopping (patience 5), 2 seeds each (the
seed sets initialisation and shuffling; pretraining uses seed 0). Every model gets its own
scaler and threshold from B's budget rows (99th percentile of the held-out last 10 %, or of
all budget rows when there are too few for a split); no test label is used. Two scalings:
``standard`` (per-channel z-score fitted on the budget rows) and ``none`` (SMD is min-max
scaled upstream, so A's and B's inputs already share a range). Evaluation on B's whole
``test/`` split: point-wise F1 (no point adjustment) and AUC-PR. Reference rows: the LSTM-AE
trained on B's whole ``train/`` (the pretrained model of the pair where B is the source),
and flagging every test row.

Run: ``python benchmarks/transfer_smd.py`` -> ``benchmarks/results/transfer_smd.json``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import data_root, write_result

from anomaly import LSTMAutoencoder
from anomaly.metrics import auc_pr, point_metrics
from anomaly.transfer import fine_tune
from datasets.smd import load_smd

PAIRS = (("machine-1-6", "machine-2-1"), ("machine-2-1", "machine-3-4"), ("machine-3-4", "machine-1-6"))
BUDGETS = (500, 2000)
SEEDS = (0, 1)
SCALINGS = ("standard", "none")
MODEL = {"window": 16, "units": (32,), "latent": 8, "batch_size": 256}
PRETRAIN_EPOCHS, BUDGET_EPOCHS = 5, 30
VARIANTS = ("scratch", "fine-tune", "fine-tune, frozen encoder", "zero-shot")


def evaluate(det, entity) -> dict:
    scores = det.score(entity.test).to_numpy()
    y = entity.labels.to_numpy()
    m = point_metrics(y, det.thresholder_.apply(scores))
    return {"f1": m["f1"], "precision": m["precision"], "recall": m["recall"], "auc_pr": auc_pr(y, scores)}


def train(variant: str, pretrained, frame, seed: int):
    if variant == "scratch":
        return LSTMAutoencoder(**MODEL, scaling=pretrained.scaling, epochs=BUDGET_EPOCHS, random_state=seed).fit(frame)
    if variant == "zero-shot":
        return fine_tune(pretrained, frame, epochs=0)
    return fine_tune(pretrained, frame, epochs=BUDGET_EPOCHS, random_state=seed,
                     freeze_encoder=variant.endswith("frozen encoder"))


def summary(runs: list[dict]) -> dict:
    return {f"{k}_{stat}": float(f(np.array([r[k] for r in runs]))) for k in ("f1", "auc_pr")
            for stat, f in (("mean", np.mean), ("std", np.std))}


def compare(machines: dict, scaling: str) -> dict:
    """Every pair, budget and variant with one scaling."""
    pretrained, full = {}, {}
    for name, entity in machines.items():
        pretrained[name] = LSTMAutoencoder(**MODEL, scaling=scaling, epochs=PRETRAIN_EPOCHS, random_state=0).fit(entity.train)
        full[name] = evaluate(pretrained[name], entity)
        print(f"{scaling}: {name} full train: F1 {full[name]['f1']:.3f} AUC-PR {full[name]['auc_pr']:.3f}", file=sys.stderr)
    pairs = {}
    for source, target in PAIRS:
        entity = machines[target]
        result = {"full_target_train": full[target], "budgets": {}}
        for budget in BUDGETS:
            frame = entity.train.iloc[:budget]
            runs = {}
            for variant in VARIANTS:
                seeds = SEEDS[:1] if variant == "zero-shot" else SEEDS  # zero-shot has no random step
                runs[variant] = [evaluate(train(variant, pretrained[source], frame, seed), entity) for seed in seeds]
                s = summary(runs[variant])
                print(f"{scaling}: {source} -> {target}, {budget} rows, {variant:26s} F1 {s['f1_mean']:.3f} ± {s['f1_std']:.3f} "
                      f"AUC-PR {s['auc_pr_mean']:.3f} ± {s['auc_pr_std']:.3f}", file=sys.stderr)
            result["budgets"][budget] = {v: {"runs": r, **summary(r)} for v, r in runs.items()}
        pairs[f"{source} -> {target}"] = result
    means = {
        budget: {v: summary([run for p in pairs.values() for run in p["budgets"][budget][v]["runs"]]) for v in VARIANTS}
        for budget in BUDGETS
    }
    means["full_target_train"] = summary([p["full_target_train"] for p in pairs.values()])
    return {"pairs": pairs, "mean_over_pairs_and_seeds": means}


def main() -> None:
    root = data_root()
    started = time.perf_counter()
    machines = {name: load_smd(name, root) for pair in PAIRS for name in pair}
    flag_everything = {}
    for name, entity in machines.items():
        rate = float(entity.labels.mean())
        flag_everything[name] = {"f1": 2 * rate / (1 + rate), "auc_pr": rate}
    results = {scaling: compare(machines, scaling) for scaling in SCALINGS}
    settings = {"model": MODEL, "pretrain_epochs": PRETRAIN_EPOCHS, "budget_epochs": BUDGET_EPOCHS, "seeds": SEEDS,
                "budgets_rows": BUDGETS, "scalings": SCALINGS, "seconds": round(time.perf_counter() - started, 1)}
    path = write_result("transfer_smd", {"protocol": __doc__.split("Run:")[0].strip(), "settings": settings,
                                         "flag_everything": flag_everything, "scalings": results})
    print(f"-> {path} ({settings['seconds']} s)")


if __name__ == "__main__":
    main()
