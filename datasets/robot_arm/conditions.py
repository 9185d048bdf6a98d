"""Named operating conditions of the simulated arm: a fixed scenario set for "a cooler day, a warm-up, a new session".

A detector is trained on the :data:`TRAINING_CONDITION` (``"reference"``) and measured on the
others (:data:`UNSEEN_CONDITIONS`), none of which is a fault: a model that holds on real robots
should raise no alarms on their normal runs and still find the faults in their faulty runs.

=============== ====================================================================================
name            setting (everything else as ``"reference"``)
=============== ====================================================================================
``reference``   ambient 28 degC, no drift, payload 0.8 kg (nominal), speed 100 %, program A,
                sensors at their nominal offsets (none) and noise, joints at their warm steady state
``cold``        ambient 24 degC: a cooler day, 4 degC below training; every joint temperature
                about 4 degC lower
``warm-drift``  ambient 28 degC at the start, rising by 6 degC per hour (24 -> 30 degC over an hour
                is the same rate): +1 degC over a 10-minute run; temperatures follow with a 3-6 min
                lag (about -0.4 degC against reference in the first minute, +0.5 in the last)
``slow-80``     speed override 80 %: moves last 1.25 x as long, peak joint velocities x 0.8, peak
                accelerations x 0.64; lower inertial and friction currents, slightly cooler joints
``heavy``       parts of 1.2 kg instead of 0.8 kg (+50 %): while holding, joints 2 and 3 carry about
                0.13 and 0.12 A more (2 and 3.4 x their noise); temperatures +0.1 degC
``program-b``   the second pick-and-place program: other pick and place poses, longer reach,
                other move durations and home dwell
``sensor-bias`` sensors of the same type at the edge of their spec (``sensor_bias=1``): per channel
                offsets up to 1e-4 rad, 1e-3 rad/s, 1 % of current full scale, 0.5 degC,
                0.01 A (gripper), 0.2 m/s^2; noise levels x 0.8-1.25; drawn per seed
``cold-start``  the arm was switched off: joints start at ambient (28 degC) and warm up by
                0.5-3.5 degC towards their steady state over the run (time constants 3-6 min)
``combined``    a cold morning warming up, with a slower, heavier job on other sensors: ambient
                24 degC rising 6 degC/h, speed 80 %, parts 1.2 kg, ``sensor_bias=1``
=============== ====================================================================================

Seeds: train on :data:`TRAIN_SEEDS` (reference condition), test every condition on
:data:`TEST_SEEDS`; the two lists are disjoint. A scenario of seed ``s`` is ``simulate(seed=s)``
with the condition's settings, so a condition's run differs from the reference run of the same
seed only by its setting (sensor noise, cycle jitter and fault placement are shared where the
setting leaves them alone); the normal and the faulty run of one seed share their normal behaviour.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from anomaly.errors import ConfigError
from datasets.robot_arm.cycles import PAYLOAD_KG
from datasets.robot_arm.run import SimulatedRun, simulate

__all__ = [
    "CONDITIONS",
    "SCENARIOS",
    "SETTINGS",
    "TEST_SEEDS",
    "TRAINING_CONDITION",
    "TRAIN_SEEDS",
    "UNSEEN_CONDITIONS",
    "condition_settings",
    "conditions_scenario",
    "training_runs",
]

#: Operating-condition parameters of :func:`~datasets.robot_arm.simulate` a scenario sets.
SETTINGS = (
    "ambient_c",
    "ambient_drift_c_per_h",
    "payload_kg",
    "speed_override",
    "program",
    "sensor_bias",
    "cold_start",
)

_REFERENCE = {
    "ambient_c": 28.0,  # degC
    "ambient_drift_c_per_h": 0.0,  # degC per hour
    "payload_kg": PAYLOAD_KG,  # kg (0.8)
    "speed_override": 1.0,  # fraction of programmed speed
    "program": "A",
    "sensor_bias": 0.0,  # fraction of the sensors' spec
    "cold_start": False,
}

#: Named operating conditions: every key of :data:`SETTINGS` per name (see the module docstring).
CONDITIONS: dict[str, dict] = {
    "reference": dict(_REFERENCE),
    "cold": {**_REFERENCE, "ambient_c": 24.0},
    "warm-drift": {**_REFERENCE, "ambient_drift_c_per_h": 6.0},
    "slow-80": {**_REFERENCE, "speed_override": 0.8},
    "heavy": {**_REFERENCE, "payload_kg": 1.2},
    "program-b": {**_REFERENCE, "program": "B"},
    "sensor-bias": {**_REFERENCE, "sensor_bias": 1.0},
    "cold-start": {**_REFERENCE, "cold_start": True},
    "combined": {
        **_REFERENCE,
        "ambient_c": 24.0,
        "ambient_drift_c_per_h": 6.0,
        "speed_override": 0.8,
        "payload_kg": 1.2,
        "sensor_bias": 1.0,
    },
}

#: The condition detectors are trained on.
TRAINING_CONDITION = "reference"
#: The conditions a detector has not seen in training, in :data:`CONDITIONS` order.
UNSEEN_CONDITIONS: tuple[str, ...] = tuple(name for name in CONDITIONS if name != TRAINING_CONDITION)
#: Named scenarios, ``name: (training condition(s), tested conditions)``: one training condition
#: for every run of :data:`TRAIN_SEEDS`, or one per run. ``"conditions"``: trained on the
#: reference, tested on it and every unseen condition. ``"session"``: trained on runs of the arm
#: warming up from cold (its temperatures drift by 0.5-3.5 degC: slow channels), tested where
#: they sit a few training standard deviations away while faults show in the fast channels.
#: ``"mixed-sessions"``: trained on logs of two kinds of session, one warming up and two already
#: warm (their temperatures only sensor noise around a level), tested as ``"session"``.
SCENARIOS: dict[str, tuple[str | tuple[str, ...], tuple[str, ...]]] = {
    "conditions": (TRAINING_CONDITION, (TRAINING_CONDITION, *UNSEEN_CONDITIONS)),
    "session": ("cold-start", ("reference", "cold", "warm-drift")),
    "mixed-sessions": (("cold-start", "reference", "reference"), ("reference", "cold", "warm-drift")),
}
#: Seeds of the training runs (no faults).
TRAIN_SEEDS: tuple[int, ...] = (0, 1, 2)
#: Seeds of the test runs of every condition (normal and faulty), disjoint from :data:`TRAIN_SEEDS`.
TEST_SEEDS: tuple[int, ...] = (100, 101, 102)


def condition_settings(name: str) -> dict:
    """The settings of a named condition.

    Parameters
    ----------
    name : str
        Key of :data:`CONDITIONS`.

    Returns
    -------
    dict
        A new dict with every key of :data:`SETTINGS` (keyword arguments of
        :func:`~datasets.robot_arm.simulate`).

    Raises
    ------
    anomaly.errors.ConfigError
        On an unknown name.
    """
    if name not in CONDITIONS:
        raise ConfigError(f"unknown condition {name!r}; expected one of {', '.join(CONDITIONS)}")
    return dict(CONDITIONS[name])


def conditions_scenario(
    name: str,
    *,
    duration_s: float = 600.0,
    faults: Sequence[str] | str = (),
    seed: int = 0,
    rate_hz: float = 100.0,
    start: str | pd.Timestamp = "2026-01-01T00:00:00",
    **overrides,
) -> SimulatedRun:
    """Simulate one run of a named operating condition.

    Parameters
    ----------
    name : str
        Key of :data:`CONDITIONS`, e.g. ``"reference"`` (training) or ``"cold"``.
    duration_s : float, default 600.0
        Length of the run (s).
    faults : sequence of str or str, default ()
        Fault types to inject, as for :func:`~datasets.robot_arm.simulate` (``"all"`` needs
        about 170 s or more).
    seed : int, default 0
        Seed; use :data:`TRAIN_SEEDS` for training and :data:`TEST_SEEDS` for testing.
    rate_hz : float, default 100.0
        Sample rate (Hz).
    start : str or pandas.Timestamp, default "2026-01-01T00:00:00"
        Timestamp of the first row.
    **overrides
        Settings of :data:`SETTINGS` that replace the condition's.

    Returns
    -------
    SimulatedRun
        Frame (n_rows, 28), labels, faults and ``conditions`` (the effective settings).

    Raises
    ------
    anomaly.errors.ConfigError
        On an unknown name, an override that is not a setting, or a setting out of range;
        as :func:`~datasets.robot_arm.simulate` for faults, duration and rate.
    """
    settings = condition_settings(name)
    unknown = sorted(set(overrides) - set(SETTINGS))
    if unknown:
        raise ConfigError(f"not an operating-condition setting: {', '.join(unknown)}; expected some of {', '.join(SETTINGS)}")
    settings.update(overrides)
    return simulate(duration_s, rate_hz=rate_hz, faults=faults, seed=seed, start=start, **settings)


def training_runs(training: str | tuple[str, ...], *, duration_s: float = 300.0, seed: int = 0) -> list[pd.DataFrame]:
    """The normal training logs of a scenario: one run per seed of :data:`TRAIN_SEEDS` (plus
    ``seed``), of the condition ``training`` or, for a tuple, of its condition at that position.

    Raises
    ------
    anomaly.errors.ConfigError
        On an unknown condition, or a tuple whose length is not that of :data:`TRAIN_SEEDS`.
    """
    names = (training,) * len(TRAIN_SEEDS) if isinstance(training, str) else tuple(training)
    if len(names) != len(TRAIN_SEEDS):
        raise ConfigError(f"{len(names)} training conditions for {len(TRAIN_SEEDS)} training runs")
    return [conditions_scenario(name, duration_s=duration_s, seed=s + seed).frame for name, s in zip(names, TRAIN_SEEDS)]
