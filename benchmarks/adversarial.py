"""Adversarial robustness of detectors on the simulated robot arm: how small a perturbation
hides a real fault, and how small a perturbation raises a false alarm.

Train: 300 s of normal operation (seed 0, ambient 28 degC); every detector with the
settings of ``benchmarks/robot_arm_deep.py`` (window 16, 10 epochs) and its default
threshold (99th percentile of normal scores). Faults: every injected fault of two 600 s logs
with all fault types (seeds 1-2). For each fault, the excerpt is the 32 rows centred on the
row where the detector's score peaks inside the fault (``anomaly.generative.robustness``),
scored on its own. Evasion epsilon: the smallest L-infinity perturbation, in scaled units
(training standard deviations), with which PGD (100 steps) brings every score of the excerpt
to or below the threshold, bisected geometrically to 5 % (``smallest_epsilon``), searched up
to 32. Beside it, the size of the fault itself: the L-infinity distance (same units) between
the excerpt and the same rows of the fault-free run of the same seed (the simulator makes
them identical outside the fault's effects); removing the fault needs at most that.
False alarms: 8 unflagged 32-row excerpts of a 300 s normal log (seed 3), smallest
perturbation that raises one score above the threshold. Also: whether one FGSM step of the
PGD epsilon suffices.

Run: ``python benchmarks/adversarial.py`` -> ``benchmarks/results/adversarial.json``.
"""

from __future__ import annotations

import sys
import time

import numpy as np
from _common import write_result
from robot_arm_deep import AMBIENT
from robot_arm_deep import MODELS as ARM_MODELS

from anomaly import make_detector
from anomaly.generative.adversarial import fgsm, smallest_epsilon
from anomaly.generative.robustness import fault_excerpts
from datasets.robot_arm import simulate

LENGTH = 32
MAX_EPSILON = 32.0
MODELS = {name: ARM_MODELS[name] for name in ("pca", "dense-ae", "conv-ae", "lstm-ae", "lstm-vae")}  # the arm benchmark's settings


def fault_cases(seeds) -> list[dict]:
    """Every fault of the faulty logs, with its rows and the fault-free run of the same seed."""
    cases = []
    for seed in seeds:
        run = simulate(600, faults="all", seed=seed, ambient_c=AMBIENT)
        clean = simulate(600, seed=seed, ambient_c=AMBIENT).frame
        for f in run.faults:
            a, b = run.frame.index.get_loc(f.start), run.frame.index.get_loc(f.end) + 1
            cases.append({"seed": seed, "kind": f.kind, "rows": (a, b), "frame": run.frame, "clean": clean})
    return cases


def attack_faults(det, cases) -> list[dict]:
    out, scores = [], {}
    for case in cases:
        frame = case["frame"]
        if case["seed"] not in scores:
            scores[case["seed"]] = det.score(frame).to_numpy()
        mask = np.zeros(len(frame), bool)
        mask[slice(*case["rows"])] = True
        ((a, b),) = fault_excerpts(scores[case["seed"]], mask, LENGTH)
        excerpt = frame.iloc[a:b]
        size = float(np.abs((excerpt.to_numpy() - case["clean"].iloc[a:b].to_numpy()) / det.scaler_.scale_).max())
        start = time.perf_counter()
        result = smallest_epsilon(det, excerpt, goal="evade", max_epsilon=MAX_EPSILON)
        status = "missed_unperturbed" if result.epsilon == 0.0 else ("not_evaded" if result.epsilon is None else "evaded")
        fgsm_ok = None
        if status == "evaded":
            fgsm_ok = bool(det.score(fgsm(det, excerpt, result.epsilon, goal="evade")).max() <= det.threshold_)
        out.append({"seed": case["seed"], "kind": case["kind"], "status": status,
                    "epsilon": result.epsilon if status == "evaded" else None, "fault_linf": size,
                    "max_score_before": result.max_score_before, "max_score_after": result.max_score_after,
                    "fgsm_at_pgd_epsilon": fgsm_ok, "pgd_runs": result.pgd_runs,
                    "seconds": round(time.perf_counter() - start, 2)})
    return out


def attack_normal(det, normal, n: int = 8) -> list[float | None]:
    flags = det.predict(normal).to_numpy()
    starts = [a for a in range(0, len(normal) - LENGTH, LENGTH) if not flags[a : a + LENGTH].any()]
    picked = [starts[i] for i in np.linspace(0, len(starts) - 1, n).round().astype(int)]
    return [smallest_epsilon(det, normal.iloc[a : a + LENGTH], goal="alarm", max_epsilon=MAX_EPSILON).epsilon for a in picked]


def median_or_none(values) -> float | None:
    """Median with None (not reached) counted as infinite; None when the median is infinite."""
    if not values:
        return None
    m = float(np.median([np.inf if v is None else v for v in values]))
    return m if np.isfinite(m) else None


def summarise(faults: list[dict], alarms: list) -> dict:
    detected = [r for r in faults if r["status"] != "missed_unperturbed"]
    evaded = [r for r in detected if r["status"] == "evaded"]
    kinds = sorted({r["kind"] for r in faults})
    return {
        "median_evasion_epsilon": median_or_none([r["epsilon"] for r in detected]),
        "median_fault_linf_of_detected": float(np.median([r["fault_linf"] for r in detected])) if detected else None,
        "median_ratio_evasion_to_fault": (float(np.median([r["epsilon"] / r["fault_linf"] for r in evaded if r["fault_linf"] > 0]))
                                          if any(r["fault_linf"] > 0 for r in evaded) else None),
        "detected_where_the_fault_changed_nothing": sum(r["fault_linf"] == 0 for r in detected),
        "faults": len(faults), "detected_unperturbed": len(detected), "evaded": len(evaded),
        "not_evaded": len(detected) - len(evaded),
        "fgsm_success_at_pgd_epsilon": float(np.mean([r["fgsm_at_pgd_epsilon"] for r in evaded])) if evaded else None,
        "per_fault_type": {k: {"median_evasion_epsilon": median_or_none([r["epsilon"] for r in detected if r["kind"] == k]),
                               "detected": sum(r["kind"] == k for r in detected),
                               "median_fault_linf": float(np.median([r["fault_linf"] for r in faults if r["kind"] == k]))}
                           for k in kinds},
        "median_false_alarm_epsilon": median_or_none(alarms),
        "false_alarm_epsilons": alarms,
    }


def main(names) -> None:
    train = simulate(300, seed=0, ambient_c=AMBIENT).frame
    normal = simulate(300, seed=3, ambient_c=AMBIENT, start="2026-01-02").frame
    cases = fault_cases([1, 2])
    results = {}
    for name in names:
        start = time.perf_counter()
        det = make_detector(name, **MODELS[name]).fit(train)
        fit_s = time.perf_counter() - start
        start = time.perf_counter()
        faults = attack_faults(det, cases)
        alarms = attack_normal(det, normal)
        results[name] = {**summarise(faults, alarms), "fit_s": round(fit_s, 1),
                         "attack_s": round(time.perf_counter() - start, 1), "fault_excerpts": faults}
        r = results[name]
        print(f"{name:10s} evasion eps median {r['median_evasion_epsilon']} (fault L-inf {r['median_fault_linf_of_detected']}, "
              f"{r['evaded']}/{r['detected_unperturbed']} evaded of {r['faults']}) false-alarm eps median "
              f"{r['median_false_alarm_epsilon']}  [{r['attack_s']} s]", file=sys.stderr)
    path = write_result("adversarial", {"protocol": __doc__.split("Run:")[0].strip(), "settings": MODELS,
                                        "excerpt_rows": LENGTH, "max_epsilon": MAX_EPSILON, "models": results})
    print(f"-> {path}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(MODELS))
