"""Joint trajectory, kinematics and tool accelerometer of the simulated robot arm.

* **Kinematics.** Joint 1 is the base yaw, joints 2/3 shoulder and elbow pitch, joint 4 the
  forearm roll, joint 5 wrist pitch and joint 6 the tool roll. Every move of the cycle plan
  (:mod:`datasets.robot_arm.cycles`) is a minimum-jerk (quintic) profile, so position,
  velocity and acceleration are smooth.
* **Accelerometer** (tool frame, m/s^2): specific force ``a_tool - g`` rotated into the tool
  frame (tool pitch from joints 2/3/5, roll from joints 4+6); ``acc_z`` is about +9.81 at rest.
"""

from __future__ import annotations

import numpy as np

__all__ = ["L2", "L3", "LT", "R0", "G", "accelerometer", "pitch_angles", "trajectory"]

#: Gravity (m/s^2).
G = 9.81
#: Link lengths (m): upper arm, forearm, wrist centre -> payload.
L2, L3, LT = 0.45, 0.40, 0.15
#: Horizontal offset base axis -> shoulder (m).
R0 = 0.10


def trajectory(t: np.ndarray, plan: dict[str, np.ndarray]):
    """Sample the minimum-jerk joint trajectory of a cycle plan.

    Parameters
    ----------
    t : numpy.ndarray of float, shape (n_rows,)
        Sample times (s) from 0, increasing.
    plan : dict of str to numpy.ndarray
        Output of :func:`datasets.robot_arm.cycles.plan_cycles`.

    Returns
    -------
    q, qd, qdd : numpy.ndarray, shape (n_rows, 6)
        Joint angle (rad), velocity (rad/s) and acceleration (rad/s^2).
    seg : numpy.ndarray of int, shape (n_rows,)
        Index of the plan segment each row lies in.
    phase : numpy.ndarray of float, shape (n_rows,)
        Progress through that segment, 0 .. 1.
    """
    seg = np.searchsorted(plan["start"], t, side="right") - 1
    T = plan["dur"][seg]
    phase = np.clip((t - plan["start"][seg]) / T, 0.0, 1.0)
    s = phase**3 * (10.0 - 15.0 * phase + 6.0 * phase**2)
    ds = 30.0 * phase**2 * (1.0 - phase) ** 2
    dds = 60.0 * phase * (1.0 - phase) * (1.0 - 2.0 * phase)
    q0 = plan["q0"][seg]
    dq = plan["q1"][seg] - q0
    q = q0 + dq * s[:, None]
    qd = dq * (ds / T)[:, None]
    qdd = dq * (dds / T**2)[:, None]
    return q, qd, qdd, seg, phase


def pitch_angles(q: np.ndarray):
    """Absolute pitch angles (rad) of the upper arm, forearm and tool axis.

    Parameters
    ----------
    q : numpy.ndarray, shape (n_rows, 6)
        Joint angles (rad).

    Returns
    -------
    th2, th3, th5 : numpy.ndarray, shape (n_rows,)
        ``q2``, ``q2 + q3`` and ``q2 + q3 + q5``; -pi/2 is pointing down.
    """
    th2 = q[:, 1]
    th3 = th2 + q[:, 2]
    th5 = th3 + q[:, 4]
    return th2, th3, th5


def accelerometer(q: np.ndarray, qd: np.ndarray, qdd: np.ndarray) -> np.ndarray:
    """Specific force at the tool in the tool frame.

    Parameters
    ----------
    q, qd, qdd : numpy.ndarray, shape (n_rows, 6)
        Joint angle (rad), velocity (rad/s) and acceleration (rad/s^2).

    Returns
    -------
    numpy.ndarray, shape (n_rows, 3)
        ``acc_x``, ``acc_y``, ``acc_z`` (m/s^2); about (0, 0, +9.81) at rest, tool down.
    """
    th = np.stack(pitch_angles(q), axis=1)  # absolute pitch angles of upper arm, forearm, tool
    thd = np.stack([qd[:, 1], qd[:, 1] + qd[:, 2], qd[:, 1] + qd[:, 2] + qd[:, 4]], axis=1)
    thdd = np.stack([qdd[:, 1], qdd[:, 1] + qdd[:, 2], qdd[:, 1] + qdd[:, 2] + qdd[:, 4]], axis=1)
    lengths = np.array([L2, L3, LT])
    c, s = np.cos(th), np.sin(th)
    r = R0 + (lengths * c).sum(axis=1)
    rd = -(lengths * s * thd).sum(axis=1)
    rdd = -(lengths * (c * thd**2 + s * thdd)).sum(axis=1)
    zdd = (lengths * (-s * thd**2 + c * thdd)).sum(axis=1)
    phid, phidd = qd[:, 0], qdd[:, 0]
    # specific force in the cylindrical basis (radial, tangential, up)
    f_r = rdd - r * phid**2
    f_t = 2.0 * rd * phid + r * phidd
    f_z = zdd + G
    beta = th[:, 2]  # tool axis pitch, -pi/2 = pointing down
    sb, cb = np.sin(beta), np.cos(beta)
    fx0 = -sb * f_r + cb * f_z  # sensor x before roll (radial when pointing down)
    fy0 = f_t
    fz = -cb * f_r - sb * f_z  # sensor z = -tool axis (up when pointing down)
    gamma = q[:, 3] + q[:, 5]
    cg, sg = np.cos(gamma), np.sin(gamma)
    return np.stack([cg * fx0 + sg * fy0, -sg * fx0 + cg * fy0, fz], axis=1)
