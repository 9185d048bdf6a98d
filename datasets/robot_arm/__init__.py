"""Simulated 6-joint robot arm doing pick-and-place: the toolkit's embedded default data set.

:func:`simulate` returns a :class:`SimulatedRun`: 28 sensor channels (:data:`CHANNELS`), row
labels and the injected :class:`FaultEvent` list (types in :data:`FAULT_TYPES`);
:func:`segments_from_faults` turns the events into cause segments for attribution metrics.
Operating conditions (ambient and its drift, payload, speed override, program, sensor spread
within spec, cold start) are arguments of :func:`simulate`; :data:`CONDITIONS` names a fixed
set of them and :func:`conditions_scenario` simulates one (training on ``"reference"`` with
:data:`TRAIN_SEEDS`, testing on the others with :data:`TEST_SEEDS`).

The model is plausible, deliberately not a full rigid-body simulation. Its parts, one module each:

* :mod:`~datasets.robot_arm.sensors`: channel layout, sensor noise, encoder quantisation.
* :mod:`~datasets.robot_arm.cycles`: the pick-and-place programs and cycle plan, speed override.
* :mod:`~datasets.robot_arm.motion`: minimum-jerk trajectory, kinematics, tool accelerometer.
* :mod:`~datasets.robot_arm.physics`: joint torques and currents, thermal model, gripper current.
* :mod:`~datasets.robot_arm.normal`: the fault-free, noise-free run composed from those.
* :mod:`~datasets.robot_arm.faults`: the fault types, one registered function each, and what
  their labels mean.
* :mod:`~datasets.robot_arm.placement`: where faults go and how long they stay labelled.
* :mod:`~datasets.robot_arm.inject`: applying faults and attributing them to channels.
* :mod:`~datasets.robot_arm.run`: :func:`simulate` and its result; the random streams.
* :mod:`~datasets.robot_arm.conditions`: the named operating conditions and their seeds.
"""

from datasets.robot_arm.conditions import (
    CONDITIONS,
    SCENARIOS,
    TEST_SEEDS,
    TRAIN_SEEDS,
    TRAINING_CONDITION,
    UNSEEN_CONDITIONS,
    condition_settings,
    conditions_scenario,
    training_runs,
)
from datasets.robot_arm.cycles import PAYLOAD_KG, PROGRAMS
from datasets.robot_arm.faults import FAULT_TYPES
from datasets.robot_arm.run import (
    FaultEvent,
    SimulatedRun,
    segments_from_faults,
    simulate,
)
from datasets.robot_arm.sensors import BIAS_SPEC, CHANNELS, NOISE_STD, SIGNIFICANCE

__all__ = [
    "BIAS_SPEC",
    "CHANNELS",
    "CONDITIONS",
    "FAULT_TYPES",
    "NOISE_STD",
    "PAYLOAD_KG",
    "PROGRAMS",
    "SCENARIOS",
    "SIGNIFICANCE",
    "TEST_SEEDS",
    "TRAINING_CONDITION",
    "TRAIN_SEEDS",
    "UNSEEN_CONDITIONS",
    "FaultEvent",
    "SimulatedRun",
    "condition_settings",
    "conditions_scenario",
    "segments_from_faults",
    "simulate",
    "training_runs",
]
