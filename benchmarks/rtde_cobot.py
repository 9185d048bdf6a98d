"""A Universal Robots-style cobot log (RTDE ``record.py`` columns): the default on new sessions.

The arm simulator shaped most defaults; this checks them on the columns a UR's RTDE recorder
writes, as a user's first model would meet them: fit the default (``anomaly fit``'s PCA, its own
threshold, the alert rules at the data's rate) on one session, then score later sessions. No
label chooses anything.

The log (125 Hz, 54 channels, written space-delimited and read back through
:func:`pipelines.sources.read_table`, as ``anomaly fit`` reads it): six joints on a 6 s
pick-and-place cycle (``target_q``, ``target_qdd``, ``actual_q``, ``actual_qd``,
``actual_current``: gravity, velocity, acceleration and a held part), ``actual_TCP_force`` (the
part's weight on z; a bias drawn per session, 3 N, as a force estimate drifts between sessions),
``joint_temperatures`` read in tenths of a degree, each drawn per session (0.3 degC) and warming
0.12 degC a minute, ``actual_digital_input_bits`` (bit 2: part present), the controller's
``actual_execution_time`` (0.30-0.32 ms, a one-row spike of an exponential 2 ms once in 1000
rows), ``actual_main_voltage`` (48 V sagging with the currents, a level drawn per session),
``robot_mode``, ``safety_mode``, ``joint_mode`` and ``speed_scaling`` (constant).

Protocol: fitted on one session of ``TRAIN_MINUTES`` (10, and 3: a short recording), scored on
three new normal sessions of 10 minutes (false alarms per hour) and three faulty ones whose
second half holds one fault each (found: an alarm starts after the onset; delay to it):
``friction`` (joint 2's current +0.25 A in the direction of motion), ``heating`` (joint 2's
temperature rising 1 degC a minute) and ``following`` (joint 4 lags its target by 0.01 rad).
Each model is also fitted in the same process without the condition channels' change bands
(:func:`anomaly.conditions.change_bands`), with the default severe ratio of 10 instead of the
model's (:func:`anomaly.decisions.rules.fitted_severe_ratio`), without the twin check
(:mod:`anomaly.twins`), and without all three (``before``).
Found by chance: the share of faults that false alarms at the measured rate would "find" in the
5 minutes after the onset (1 - exp(-rate x time)).

Usage: ``python benchmarks/rtde_cobot.py``; writes ``benchmarks/results/rtde_cobot.json``.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import numpy as np
from _common import write_result

from anomaly import make_detector
from anomaly.conditions import ConditionChannels
from anomaly.decisions import DEFAULT_RULES, model_rules
from anomaly.feedback import alarms
from pipelines.sources import read_table

RATE_HZ = 125
TRAIN_MINUTES = (10.0, 3.0)
TEST_MINUTES = 10.0
NORMAL_SEEDS = (11, 12, 13)
FAULTS = {"friction": 21, "heating": 22, "following": 23}  # fault -> seed


def rtde_log(path: Path, seed: int, minutes: float, fault: str = "") -> int:
    """Write one session to ``path`` (space-delimited, as RTDE's ``record.py``); the fault's onset row (half-way) or 0."""
    rng = np.random.default_rng(seed)
    n = int(minutes * 60 * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    onset = n // 2 if fault else 0
    phase = 2 * np.pi * t / 6.0
    q = np.stack([0.5 * np.sin(phase + k) + 0.1 * k for k in range(6)], axis=1)
    qd = np.gradient(q, 1 / RATE_HZ, axis=0)
    qdd = np.gradient(qd, 1 / RATE_HZ, axis=0)
    holding = (phase % (2 * np.pi) > np.pi).astype(float)
    current = np.stack([0.8 * np.cos(q[:, k]) + 0.3 * qd[:, k] + 0.05 * qdd[:, k] + 0.2 * holding * (k in (1, 2)) for k in range(6)], 1)
    actual = q + rng.normal(0, 1e-4, q.shape)
    temps = 30 + np.arange(6) + rng.normal(0, 0.3, 6) + 0.002 * t[:, None]
    if fault == "friction":
        current[onset:, 2] += 0.25 * np.sign(qd[onset:, 2])
    elif fault == "heating":
        temps[onset:, 2] += (t[onset:] - t[onset]) / 60.0
    elif fault == "following":
        actual[onset:, 4] -= 0.01
    columns = {"timestamp": 1000.0 + 5000 * seed + t}
    columns |= {f"target_q_{k}": q[:, k] for k in range(6)} | {f"target_qdd_{k}": qdd[:, k] for k in range(6)}
    columns |= {f"actual_q_{k}": actual[:, k] for k in range(6)}
    columns |= {f"actual_qd_{k}": qd[:, k] + rng.normal(0, 1e-3, n) for k in range(6)}
    columns |= {f"actual_current_{k}": current[:, k] + rng.normal(0, 0.02, n) for k in range(6)}
    bias = rng.normal(0, 3.0, 6)
    columns |= {f"actual_TCP_force_{k}": (20 * holding if k == 2 else 0) + bias[k] + rng.normal(0, 1.0, n) for k in range(6)}
    columns |= {f"joint_temperatures_{k}": np.round(temps[:, k], 1) for k in range(6)}
    columns["actual_digital_input_bits"] = 1 + 4 * holding
    columns["actual_execution_time"] = 0.3 + 0.02 * rng.random(n) + (rng.random(n) < 0.001) * rng.exponential(2.0, n)
    columns["actual_main_voltage"] = 48.0 + rng.normal(0, 0.05) - 0.2 * np.abs(current).mean(axis=1) + rng.normal(0, 0.02, n)
    columns |= {"robot_mode": np.full(n, 7.0), "safety_mode": np.ones(n)} | {f"joint_mode_{k}": np.full(n, 253.0) for k in range(6)}
    columns["speed_scaling"] = np.ones(n)
    with open(path, "w") as out:
        out.write(" ".join(columns) + "\n")
        np.savetxt(out, np.stack(list(columns.values()), axis=1), fmt="%.10g", delimiter=" ")
    return onset


def without(*changes: str):
    """Patches that fit a model without the named changes of 2026-12-06: ``"band"`` (change bands),
    ``"severe"`` (the fitted severe ratio: the default's 10) and ``"twin"`` (the twin check)."""
    stack = ExitStack()
    if "twin" in changes:
        stack.enter_context(mock.patch("anomaly.base.fit_twin_limits", lambda parts, exclude=(): (np.full(parts[0].shape[1], -1),
                                                                                                  np.zeros(parts[0].shape[1]))))
    if "band" in changes:
        stack.enter_context(mock.patch.object(ConditionChannels, "with_change_band", lambda self, values, scale: self))
    if "severe" in changes:
        stack.enter_context(mock.patch("anomaly.base.fitted_severe_ratio", lambda per_log, threshold: DEFAULT_RULES.severe_ratio))
    return stack


#: Result key -> the changes a model is fitted without.
VARIANTS = {"now": (), "no change band": ("band",), "severe ratio 10": ("severe",), "no twin check": ("twin",),
            "before": ("band", "severe", "twin")}


def measure(det, normal: list, faulty: dict) -> dict:
    rules, level = model_rules(det), float(det.threshold_)
    raised = sum(len(alarms(det.score(frame).to_numpy(), level, rules)) for frame in normal)
    hours = sum(len(frame) for frame in normal) / RATE_HZ / 3600
    found, after_s = {}, []
    for name, (frame, onset) in faulty.items():
        late = [a for a, _ in alarms(det.score(frame).to_numpy(), level, rules) if a >= onset]
        found[name] = round((late[0] - onset) / RATE_HZ, 2) if late else None
        after_s.append((len(frame) - onset) / RATE_HZ)
    # a false alarm as likely after the onset as before it "finds" a fault by chance
    chance = float(np.mean(1 - np.exp(-raised / hours / 3600 * np.array(after_s))))
    return {"threshold": level, "severe_ratio": rules.severe_ratio, "false_alarms_per_hour": raised / hours,
            "fault_delay_s": found, "found": sum(v is not None for v in found.values()), "found_by_chance": chance}


def sessions(root: Path) -> tuple[list, dict]:
    """The new sessions' frames and each fault's ``(frame, onset row)``, their logs written under ``root``."""
    normal = []
    for seed in NORMAL_SEEDS:
        rtde_log(root / "normal.csv", seed, TEST_MINUTES)
        normal.append(read_table(root / "normal.csv").frame)
    faulty = {}
    for name, seed in FAULTS.items():
        onset = rtde_log(root / "faulty.csv", seed, TEST_MINUTES, name)
        faulty[name] = (read_table(root / "faulty.csv").frame, onset)
    return normal, faulty


def training_log(root: Path, minutes: float):
    """The training session's frame (seed 0, ``minutes`` long), its log written under ``root``."""
    rtde_log(root / "train.csv", 0, minutes)
    return read_table(root / "train.csv").frame


def main() -> None:
    result = {"protocol": __doc__, "results": {}}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        normal, faulty = sessions(root)
        for minutes in TRAIN_MINUTES:
            train = training_log(root, minutes)
            for key, changes in VARIANTS.items():
                with without(*changes):
                    det = make_detector("pca").fit(train)
                row = measure(det, normal, faulty)
                result["results"][f"{minutes:g} min, {key}"] = row
                print(f"{minutes:g} min, {key}:", {k: v for k, v in row.items() if k != "threshold"}, flush=True)
    write_result("rtde_cobot", result)


if __name__ == "__main__":
    main()
