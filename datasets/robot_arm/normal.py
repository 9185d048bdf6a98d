"""Fault-free, noise-free behaviour of the simulated robot arm: cycle plan, motion and physics composed."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from datasets.robot_arm.cycles import plan_cycles
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
    ambient : float
        Ambient temperature (degC).
    temp0 : numpy.ndarray, shape (6,)
        Joint temperatures (degC) before the first row.
    temps : numpy.ndarray, shape (n_rows, 6)
        Joint temperatures (degC).
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
    ambient: float
    temp0: np.ndarray
    temps: np.ndarray

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
    duration_s: float, rate_hz: float, t: np.ndarray, ambient_c: float | None, rng: np.random.Generator
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
        Ambient temperature (degC); None uses the one drawn from ``rng``.
    rng : numpy.random.Generator
        Stream of the cycle plan; the result depends on nothing else.

    Returns
    -------
    NormalRun
    """
    dt = 1.0 / rate_hz
    drawn_ambient = rng.uniform(25.0, 32.0)  # drawn even when given, so the streams stay aligned
    ambient = drawn_ambient if ambient_c is None else float(ambient_c)
    temp_offset = rng.uniform(-0.05, 0.05, N_JOINTS)
    plan = plan_cycles(duration_s, rng)
    q, qd, qdd, seg, phase = trajectory(t, plan)
    mode = plan["mode"][seg]
    cycle = plan["cycle"][seg]
    holding = mode == 2
    payload = np.where(holding, plan["payload"][cycle], 0.0)
    grip = gripper_current(mode, phase, plan["hold_current"][cycle], dt)
    sens = payload_sensitivity(q, qdd)
    friction = friction_torque(qd)
    current = joint_current(fixed_torque(q, qdd), payload, sens, friction)
    # The arm has been running before the log starts: temperatures begin at the thermal
    # steady state of this duty cycle (not at ambient), so runs of one cell are comparable.
    temp0 = steady_temperature(current, ambient) + temp_offset
    return NormalRun(
        t=t, dt=dt, rate_hz=rate_hz, q=q, qd=qd, holding=holding, payload=payload, grip=grip, sens=sens,
        friction=friction, current=current, acc=accelerometer(q, qd, qdd), ambient=ambient, temp0=temp0,
        temps=thermal(current, ambient, temp0, dt),
    )
