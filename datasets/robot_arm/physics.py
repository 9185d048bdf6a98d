"""Joint torques, motor currents, temperatures and gripper current of the simulated robot arm.

A plausible model, deliberately not a full rigid-body simulation:

* **Joint torque / current.** ``tau = I(q) qdd + G(q, m_payload) + b qd + c tanh(qd / v_s)``
  (configuration-dependent inertia incl. reflected rotor inertia, gravity torque of links,
  gripper and payload on joints 2, 3 and 5, viscous and smoothed Coulomb friction);
  ``current = tau / K`` with a joint-side torque constant ``K`` (N m/A). The payload counts
  only while the gripper holds the part.
* **Temperature.** First-order thermal model per joint: ``C dT/dt = R_w I^2 + P_0 - (T - T_amb)
  / R_th`` with time constants of 3-6 min, starting at the duty cycle's steady state above an
  ambient of 25-32 degC (or ``ambient_c``); the ambient may drift linearly within a run, or the
  joints may start cold, at ambient.
* **Gripper current.** Low when open, moderate while the fingers move, high while holding,
  smoothed with a 30 ms first-order lag.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import NamedTuple

import numpy as np

from datasets.robot_arm.motion import L2, L3, LT, R0, G, pitch_angles
from datasets.robot_arm.sensors import N_JOINTS

__all__ = [
    "CoolingFailure",
    "K",
    "fixed_torque",
    "friction_torque",
    "gripper_current",
    "joint_current",
    "lowpass",
    "payload_sensitivity",
    "steady_temperature",
    "thermal",
]

_M2, _LC2 = 8.0, 0.20  # upper arm mass (kg), centre of mass distance (m)
_M3, _LC3 = 5.0, 0.18  # forearm
_MW, _LCW = 2.0, 0.06  # wrist + gripper, CoM beyond the wrist centre along the tool axis

#: Joint-side torque constant per joint (N m / A), shape (6,).
K = np.array([10.0, 16.0, 9.0, 3.0, 3.0, 1.5])
_I0 = np.array([2.0, 2.5, 0.8, 0.05, 0.05, 0.02])  # reflected rotor + fixed inertia (kg m^2)
_B = np.array([2.5, 3.0, 1.5, 0.3, 0.3, 0.12])  # viscous friction (N m s / rad)
_C = np.array([3.0, 4.0, 2.0, 0.4, 0.4, 0.15])  # Coulomb friction (N m)
_V_SMOOTH = 0.02  # rad/s, tanh smoothing of sign(qd)
_R_W = np.array([0.5, 0.35, 0.6, 1.5, 1.5, 2.5])  # winding resistance (ohm)
_P0 = np.array([0.5, 0.8, 0.5, 0.2, 0.2, 0.1])  # current-independent losses (W)
_R_TH = np.array([1.2, 1.0, 1.4, 3.0, 3.0, 4.0])  # thermal resistance to ambient (K/W)
_TAU_TH = np.array([300.0, 360.0, 300.0, 200.0, 200.0, 180.0])  # thermal time constant (s)

_GRIP_IDLE, _GRIP_MOVE_CLOSE, _GRIP_MOVE_OPEN = 0.05, 0.55, 0.45  # A
_GRIP_TAU = 0.03  # s


class CoolingFailure(NamedTuple):
    """Changed cooling of one joint over rows ``start .. end`` (inclusive)."""

    joint: int
    start: int
    end: int
    r_th_factor: float  # thermal resistance to ambient is multiplied by this
    extra_w: float  # heat (W) no longer carried away


def fixed_torque(q: np.ndarray, qdd: np.ndarray) -> np.ndarray:
    """Inertial + gravity torque of the arm without payload.

    Parameters
    ----------
    q, qdd : numpy.ndarray, shape (n_rows, 6)
        Joint angle (rad) and acceleration (rad/s^2).

    Returns
    -------
    numpy.ndarray, shape (n_rows, 6)
        Joint torque (N m), payload and friction excluded.
    """
    th2, th3, th5 = pitch_angles(q)
    c2, c3, c5 = np.cos(th2), np.cos(th3), np.cos(th5)
    s2, s3, s5 = np.sin(th2), np.sin(th3), np.sin(th5)
    # horizontal distances from the base axis
    r_m2 = R0 + _LC2 * c2
    r_m3 = R0 + L2 * c2 + _LC3 * c3
    r_mw = R0 + L2 * c2 + L3 * c3 + _LCW * c5
    inertia = np.empty_like(q)
    inertia[:, 0] = _I0[0] + _M2 * r_m2**2 + _M3 * r_m3**2 + _MW * r_mw**2
    d3 = (L2 * c2 + _LC3 * c3) ** 2 + (L2 * s2 + _LC3 * s3) ** 2
    dw = (L2 * c2 + L3 * c3 + _LCW * c5) ** 2 + (L2 * s2 + L3 * s3 + _LCW * s5) ** 2
    inertia[:, 1] = _I0[1] + _M2 * _LC2**2 + _M3 * d3 + _MW * dw
    inertia[:, 2] = _I0[2] + _M3 * _LC3**2 + _MW * ((L3 * c3 + _LCW * c5) ** 2 + (L3 * s3 + _LCW * s5) ** 2)
    inertia[:, 3] = _I0[3]
    inertia[:, 4] = _I0[4] + _MW * _LCW**2
    inertia[:, 5] = _I0[5]
    grav = np.zeros_like(q)
    grav[:, 1] = G * (_M2 * _LC2 * c2 + _M3 * (L2 * c2 + _LC3 * c3) + _MW * (L2 * c2 + L3 * c3 + _LCW * c5))
    grav[:, 2] = G * (_M3 * _LC3 * c3 + _MW * (L3 * c3 + _LCW * c5))
    grav[:, 4] = G * _MW * _LCW * c5
    return inertia * qdd + grav


def payload_sensitivity(q: np.ndarray, qdd: np.ndarray) -> np.ndarray:
    """Torque per kg of payload at the tool tip, ``d tau / d m_payload``.

    Parameters
    ----------
    q, qdd : numpy.ndarray, shape (n_rows, 6)
        Joint angle (rad) and acceleration (rad/s^2).

    Returns
    -------
    numpy.ndarray, shape (n_rows, 6)
        N m / kg per joint (zero for joints 4 and 6).
    """
    th2, th3, th5 = pitch_angles(q)
    c2, c3, c5 = np.cos(th2), np.cos(th3), np.cos(th5)
    s2, s3, s5 = np.sin(th2), np.sin(th3), np.sin(th5)
    x = L2 * c2 + L3 * c3 + LT * c5  # tool tip relative to the shoulder
    z = L2 * s2 + L3 * s3 + LT * s5
    out = np.zeros_like(q)
    out[:, 0] = (R0 + x) ** 2 * qdd[:, 0]
    out[:, 1] = (x**2 + z**2) * qdd[:, 1] + G * x
    out[:, 2] = ((L3 * c3 + LT * c5) ** 2 + (L3 * s3 + LT * s5) ** 2) * qdd[:, 2] + G * (L3 * c3 + LT * c5)
    out[:, 4] = LT**2 * qdd[:, 4] + G * LT * c5
    return out


def friction_torque(qd: np.ndarray) -> np.ndarray:
    """Viscous plus smoothed Coulomb friction ``b qd + c tanh(qd / v_s)``.

    Parameters
    ----------
    qd : numpy.ndarray, shape (n_rows, 6)
        Joint velocity (rad/s).

    Returns
    -------
    numpy.ndarray, shape (n_rows, 6)
        Friction torque (N m).
    """
    return _B * qd + _C * np.tanh(qd / _V_SMOOTH)


def joint_current(
    torque: np.ndarray, payload: np.ndarray, sensitivity: np.ndarray, friction: np.ndarray
) -> np.ndarray:
    """Motor current ``(tau_fixed + m_payload * d tau / d m + tau_friction) / K``.

    Parameters
    ----------
    torque : numpy.ndarray, shape (n_rows, 6)
        :func:`fixed_torque` (N m).
    payload : numpy.ndarray, shape (n_rows,)
        Held mass (kg), 0 while the gripper holds nothing.
    sensitivity : numpy.ndarray, shape (n_rows, 6)
        :func:`payload_sensitivity` (N m / kg).
    friction : numpy.ndarray, shape (n_rows, 6)
        :func:`friction_torque` (N m).

    Returns
    -------
    numpy.ndarray, shape (n_rows, 6)
        Current (A).
    """
    return (torque + payload[:, None] * sensitivity + friction) / K


def _power(current: np.ndarray) -> np.ndarray:
    """Heat (W) per joint, ``R_w I^2 + P_0``, shape of ``current``."""
    return _R_W * current**2 + _P0


def steady_temperature(current: np.ndarray, ambient: float, ambient_rate: float = 0.0) -> np.ndarray:
    """Joint temperatures at the thermal steady state of a duty cycle.

    Parameters
    ----------
    current : numpy.ndarray, shape (n_rows, 6)
        Motor current (A) over the duty cycle.
    ambient : float
        Ambient temperature (degC).
    ambient_rate : float, default 0.0
        Rate (degC/s) at which the ambient has been changing: a joint then lags its
        equilibrium by ``ambient_rate * tau_th`` (its thermal time constant, 3-6 min).

    Returns
    -------
    numpy.ndarray, shape (6,)
        ``T_amb + R_th * mean(R_w I^2 + P_0) - ambient_rate * tau_th`` (degC).
    """
    steady = ambient + _R_TH * _power(current).mean(axis=0)
    if ambient_rate:
        steady = steady - ambient_rate * _TAU_TH
    return steady


def lowpass(x: np.ndarray, tau_s: float, dt: float) -> np.ndarray:
    """First-order lag with time constant ``tau_s``, starting settled at ``x[0]``.

    Parameters
    ----------
    x : numpy.ndarray, shape (n_rows,)
        Input sampled every ``dt`` seconds.
    tau_s, dt : float
        Time constant and sample interval (s).

    Returns
    -------
    numpy.ndarray, shape (n_rows,)
    """
    from scipy.signal import lfilter  # SciPy's signal module takes most of a second to import: only to simulate

    a = math.exp(-dt / tau_s)
    y, _ = lfilter([1.0 - a], [1.0, -a], x, zi=[a * x[0]])
    return y


def gripper_current(mode: np.ndarray, phase: np.ndarray, hold: np.ndarray, dt: float) -> np.ndarray:
    """Gripper motor current from the gripper mode of each row.

    Parameters
    ----------
    mode : numpy.ndarray of int, shape (n_rows,)
        0 open/idle, 1 closing, 2 holding, 3 opening.
    phase : numpy.ndarray of float, shape (n_rows,)
        Progress through the current segment, 0 .. 1 (the fingers move early in it).
    hold : numpy.ndarray of float, shape (n_rows,)
        Holding current (A) of the row's cycle.
    dt : float
        Sample interval (s).

    Returns
    -------
    numpy.ndarray, shape (n_rows,)
        Current (A), smoothed with a 30 ms lag.
    """
    raw = np.full(mode.shape, _GRIP_IDLE)
    closing = mode == 1
    raw[closing] = np.where(phase[closing] < 0.55, _GRIP_MOVE_CLOSE, hold[closing])
    raw[mode == 2] = hold[mode == 2]
    opening = mode == 3
    raw[opening] = np.where(phase[opening] < 0.6, _GRIP_MOVE_OPEN, _GRIP_IDLE)
    return lowpass(raw, _GRIP_TAU, dt)


def thermal(
    current: np.ndarray,
    ambient: float | np.ndarray,
    temp0: np.ndarray,
    dt: float,
    failures: Iterable[CoolingFailure] = (),
) -> np.ndarray:
    """Joint temperatures of the first-order thermal model.

    Parameters
    ----------
    current : numpy.ndarray, shape (n_rows, 6)
        Motor current (A).
    ambient : float or numpy.ndarray of shape (n_rows,)
        Ambient temperature (degC): constant, or one value per row (a drifting ambient).
    temp0 : numpy.ndarray, shape (6,)
        Temperatures (degC) before the first row.
    dt : float
        Sample interval (s).
    failures : iterable of CoolingFailure, default ()
        Cooling failures to apply (non-overlapping per joint).

    Returns
    -------
    numpy.ndarray, shape (n_rows, 6)
        Temperature (degC).
    """
    from scipy.signal import lfilter

    failures = list(failures)
    n = current.shape[0]
    power = _power(current)
    cap = _TAU_TH / _R_TH
    # A drifting ambient enters as a forcing term: with x = T - ambient[0] the model is
    # x[i] = a x[i-1] + (1 - a) (R_th P[i] + ambient[i] - ambient[0]).
    drifting = np.ndim(ambient) > 0
    base = float(ambient[0]) if drifting else ambient
    offset = np.asarray(ambient, dtype=float) - base if drifting else None
    out = np.empty_like(current)
    for k in range(N_JOINTS):
        # piecewise-constant parameters: (first row, R_th, extra power)
        pieces = [(0, _R_TH[k], 0.0)]
        for _, s, e, factor, extra in sorted(f for f in failures if f.joint == k):
            pieces += [(s, _R_TH[k] * factor, extra), (e + 1, _R_TH[k], 0.0)]
        x_prev = temp0[k] - base
        for i, (s, r_th, extra) in enumerate(pieces):
            e = pieces[i + 1][0] if i + 1 < len(pieces) else n
            if e <= s:
                continue
            a = math.exp(-dt / (r_th * cap[k]))
            if drifting:
                y, _ = lfilter([1.0 - a], [1.0, -a], r_th * (power[s:e, k] + extra) + offset[s:e], zi=[a * x_prev])
            else:
                y, _ = lfilter([(1.0 - a) * r_th], [1.0, -a], power[s:e, k] + extra, zi=[a * x_prev])
            out[s:e, k] = y
            x_prev = y[-1]
    return out + base
