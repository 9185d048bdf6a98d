"""Fault-free, noise-free behaviour of the simulated robot arm: cycle plan, motion and physics composed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.robot_arm.cycles import PAYLOAD_KG, plan_cycles
from datasets.robot_arm.motion import accelerometer, trajectory
from datasets.robot_arm.physics import (
    fixed_torque,
    friction_torque,
    gripper_current,
    joint_current,
    payload_sensitivity,
    steady_temperature,
    thermal,
)
from datasets.robot_arm.sensors import (
    ACC,
    CHANNELS,
    CUR,
    GRIP,
    N_JOINTS,
    POS,
    TEMP,
    VEL,
)

__all__ = ["NormalRun", "simulate_normal"]


@dataclass(frozen=True, eq=False)
class NormalRun:
    """The arm's fault-free run before sensor noise; physical faults are changes of it.

    Attributes
    ----------
    t : numpy.ndarray, shape (n_rows,)
        Time (s) from the first row.
    dt, rate_hz : float
        Sample interval (s) and rate (Hz).
    q, qd : numpy.ndarray, shape (n_rows, 6)
        Joint angle (rad) and velocity (rad/s).
    holding : numpy.ndarray of bool, shape (n_rows,)
        Whether the gripper holds a part.
    payload : numpy.ndarray, shape (n_rows,)
        Held mass (kg), 0 while not holding.
    grip : numpy.ndarray, shape (n_rows,)
        Gripper current (A).
    sens : numpy.ndarray, shape (n_rows, 6)
        Torque per kg of payload (N m / kg).
    friction : numpy.ndarray, shape (n_rows, 6)
        Friction torque (N m).
    current : numpy.ndarray, shape (n_rows, 6)
        Motor current (A).
    acc : numpy.ndarray, shape (n_rows, 3)
        Tool accelerometer (m/s^2).
    ambient : float or numpy.ndarray of shape (n_rows,)
        Ambient temperature (degC): a float, or one value per row when it drifts.
    temp0 : numpy.ndarray, shape (6,)
        Joint temperatures (degC) before the first row.
    temps : numpy.ndarray, shape (n_rows, 6)
        Joint temperatures (degC).
    speed : float
        Speed override (fraction of the programmed speed): holding phases last up to
        ``MAX_HOLD_S / speed``.
    """

    t: np.ndarray
    dt: float
    rate_hz: float
    q: np.ndarray
    qd: np.ndarray
    holding: np.ndarray
    payload: np.ndarray
    grip: np.ndarray
    sens: np.ndarray
    friction: np.ndarray
    current: np.ndarray
    acc: np.ndarray
    ambient: float | np.ndarray
    temp0: np.ndarray
    temps: np.ndarray
    speed: float = 1.0

    def truth(self) -> np.ndarray:
        """Noise-free readings of all channels.

        Returns
        -------
        numpy.ndarray of float64, shape (n_rows, 28)
            Columns in :data:`~datasets.robot_arm.sensors.CHANNELS` order (a new array).
        """
        truth = np.zeros((len(self.t), len(CHANNELS)))
        truth[:, POS] = self.q
        truth[:, VEL] = self.qd
        truth[:, CUR] = self.current
        truth[:, TEMP] = self.temps
        truth[:, GRIP] = self.grip
        truth[:, ACC] = self.acc
        return truth


def simulate_normal(
    duration_s: float,
    rate_hz: float,
    t: np.ndarray,
    ambient_c: float | None,
    rng: np.random.Generator,
    *,
    ambient_drift_c_per_h: float = 0.0,
    payload_kg: float = PAYLOAD_KG,
    speed: float = 1.0,
    program: str = "A",
    cold_start: bool = False,
) -> NormalRun:
    """Simulate the arm without faults and without sensor noise.

    Parameters
    ----------
    duration_s : float
        Length of the run (s).
    rate_hz : float
        Sample rate (Hz).
    t : numpy.ndarray, shape (n_rows,)
        Sample times (s), ``arange(n_rows) / rate_hz``.
    ambient_c : float or None
        Ambient temperature (degC) at the first row; None uses the one drawn from ``rng``.
    rng : numpy.random.Generator
        Stream of the cycle plan; the result depends on nothing else but the settings below.
    ambient_drift_c_per_h : float, default 0.0
        Linear drift of the ambient temperature (degC per hour) over the run.
    payload_kg : float, default PAYLOAD_KG
        Nominal part mass (kg).
    speed : float, default 1.0
        Speed override (fraction of the programmed speed).
    program : str, default "A"
        Pick-and-place program, a key of :data:`~datasets.robot_arm.cycles.PROGRAMS`.
    cold_start : bool, default False
        The joints start at the ambient temperature (the arm was switched off) instead of the
        thermal steady state of the duty cycle; they warm up over the run.

    Returns
    -------
    NormalRun
    """
    dt = 1.0 / rate_hz
    drawn_ambient = rng.uniform(25.0, 32.0)  # drawn even when given, so the streams stay aligned
    ambient = drawn_ambient if ambient_c is None else float(ambient_c)
    temp_offset = rng.uniform(-0.05, 0.05, N_JOINTS)
    plan = plan_cycles(duration_s, rng, program=program, speed=speed, payload_kg=payload_kg)
    q, qd, qdd, seg, phase = trajectory(t, plan)
    mode = plan["mode"][seg]
    cycle = plan["cycle"][seg]
    holding = mode == 2
    payload = np.where(holding, plan["payload"][cycle], 0.0)
    grip = gripper_current(mode, phase, plan["hold_current"][cycle], dt)
    sens = payload_sensitivity(q, qdd)
    friction = friction_torque(qd)
    current = joint_current(fixed_torque(q, qdd), payload, sens, friction)
    drift_c_per_s = ambient_drift_c_per_h / 3600.0
    if cold_start:
        temp0 = ambient + temp_offset
    else:
        # The arm has been running before the log starts: temperatures begin at the thermal
        # steady state of this duty cycle (not at ambient), so runs of one cell are comparable.
        temp0 = steady_temperature(current, ambient, drift_c_per_s) + temp_offset
    ambient_trace = ambient + drift_c_per_s * t if drift_c_per_s else ambient
    return NormalRun(
        t=t, dt=dt, rate_hz=rate_hz, q=q, qd=qd, holding=holding, payload=payload, grip=grip, sens=sens,
        friction=friction, current=current, acc=accelerometer(q, qd, qdd), ambient=ambient_trace, temp0=temp0,
        temps=thermal(current, ambient_trace, temp0, dt), speed=speed,
    )
