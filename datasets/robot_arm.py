"""Simulated 6-joint robot arm doing pick-and-place: the toolkit's embedded default data set.

Physics model (plausible, deliberately not a full rigid-body simulation)
------------------------------------------------------------------------
* **Kinematics.** Joint 1 is the base yaw, joints 2/3 shoulder and elbow pitch, joint 4 the
  forearm roll, joint 5 wrist pitch and joint 6 the tool roll. Each cycle (about 7-8 s) visits
  home -> above pick -> pick (dwell, gripper closes) -> lift -> above place -> place (dwell,
  gripper opens) -> above place -> home, with a random dwell at home. Every move is a
  minimum-jerk (quintic) profile, so position, velocity and acceleration are smooth. Move
  durations, waypoints, dwell times, payload mass and gripper holding current vary slightly
  per cycle. The wrist pitch keeps the tool pointing down.
* **Joint torque / current.** ``tau = I(q) qdd + G(q, m_payload) + b qd + c tanh(qd / v_s)``
  (configuration-dependent inertia incl. reflected rotor inertia, gravity torque of links,
  gripper and payload on joints 2, 3 and 5, viscous and smoothed Coulomb friction);
  ``current = tau / K`` with a joint-side torque constant ``K`` (N m/A). The payload counts
  only while the gripper holds the part.
* **Temperature.** First-order thermal model per joint: ``C dT/dt = R_w I^2 + P_0 - (T - T_amb)
  / R_th`` with time constants of 3-6 min, starting at the duty cycle's steady state above an
  ambient of 25-32 degC (or ``ambient_c``).
* **Gripper current.** Low when open, moderate while the fingers move, high while holding,
  smoothed with a 30 ms first-order lag.
* **Accelerometer** (tool frame, m/s^2): specific force ``a_tool - g`` rotated into the tool
  frame (tool pitch from joints 2/3/5, roll from joints 4+6); ``acc_z`` is about +9.81 at rest.
* **Sensors.** Absolute encoders (quantised to 2^19 counts/rev plus 1e-5 rad noise), velocity
  from the drive (0.005 rad/s noise), currents with noise of 2-3 % of their range, temperatures
  0.05 degC, accelerometer 0.05 m/s^2.

Faults
------
Each fault type of :data:`FAULT_TYPES` is injected as one :class:`FaultEvent` with a duration
range suited to its kind (``_DURATION_S``; collisions last 0.2-0.5 s, the others 5-90 s).
``FaultEvent.channels`` is the ground truth for attribution: exactly the channels that this fault
moves, during the event, by more than half their noise standard deviation compared with the same
run without it (physical knock-on effects included, e.g. friction raises the joint's current and,
if noticeably, its temperature). All other channels are bit-identical during the event, except
temperatures, which then differ by less than that bound. Temperature is slow: after a thermal
effect the temperature relaxes back with its time constant (minutes); the fault stays labelled
while a joint it heated is more than 0.25 degC (5 x noise) off the fault-free run, up to the
row before the next fault; heat that outlasts a later fault becomes an extra event of
the same kind on the still-hot temperature channels. So no abnormal row is labelled normal, and
a run with several faults may list one kind more than once.

* ``collision`` (0.2-0.5 s): one or two of joints 1-3 are pushed off their path (5-30 mrad, with
  the matching velocity), the servo answers with a current spike of 2-4x the joint's typical
  current, the accelerometer rings (15-40 m/s^2 on all three axes).
* ``friction`` (20-60 s): viscous and Coulomb friction of one joint x2.5-4; its current rises
  while it moves, its temperature creeps up.
* ``sensor_freeze`` (5-30 s): one channel repeats its last reading.
* ``noise_burst`` (5-20 s): one to three channels get 8-25x their usual noise.
* ``encoder_drift`` (20-60 s): one joint's position reading drifts linearly up to 0.02-0.08 rad
  away from the truth; velocity and current come from the drive and are unaffected.
* ``payload_change`` (15-45 s, extended to the end of the last holding phase begun in it): the
  parts are 1-2.5 kg heavier; currents of joints 2 and 3 rise while holding (1 and 5 a little,
  via inertia), temperatures may follow.
* ``gripper_slip`` (10-30 s, extended to the end of the holding phase in progress): the holding
  current drops to ~55 % and oscillates at 3-6 Hz; in about half of the runs the part is lost
  during each transfer, the gripper current falls to 0.25 A and the payload term leaves the
  joint currents.
* ``overheating`` (30-90 s): cooling failure of one joint (thermal resistance x2-4 plus 4-10 W no
  longer carried away); only its temperature changes.

Randomness comes from ``numpy.random.default_rng(seed)`` spawned into independent streams for
the cycle plan, the sensor noise and the faults, so a run with faults is identical to the
fault-free run of the same seed outside the effects of its faults.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from anomaly.errors import DataError
from anomaly.hitrate import Segment

__all__ = ["CHANNELS", "FAULT_TYPES", "FaultEvent", "SimulatedRun", "segments_from_faults", "simulate"]

logger = logging.getLogger(__name__)

#: Names of the 28 float32 channels of :attr:`SimulatedRun.frame`, in column order. Units: rad,
#: rad/s, A, degC for each joint; A for the gripper; m/s^2 for the tool accelerometer.
CHANNELS: list[str] = [
    f"j{i}_{kind}" for i in range(1, 7) for kind in ("pos", "vel", "current", "temp")
] + ["gripper_current", "acc_x", "acc_y", "acc_z"]

#: Injectable fault types, in canonical order.
FAULT_TYPES: tuple[str, ...] = (
    "collision",
    "friction",
    "sensor_freeze",
    "noise_burst",
    "encoder_drift",
    "payload_change",
    "gripper_slip",
    "overheating",
)

_N_JOINTS = 6
_CH = {name: i for i, name in enumerate(CHANNELS)}
_POS = [_CH[f"j{k}_pos"] for k in range(1, 7)]
_VEL = [_CH[f"j{k}_vel"] for k in range(1, 7)]
_CUR = [_CH[f"j{k}_current"] for k in range(1, 7)]
_TEMP = [_CH[f"j{k}_temp"] for k in range(1, 7)]
_GRIP = _CH["gripper_current"]
_ACC = [_CH["acc_x"], _CH["acc_y"], _CH["acc_z"]]

# --- robot parameters --------------------------------------------------------------------
_G = 9.81
_L2, _L3, _LT = 0.45, 0.40, 0.15  # upper arm, forearm, wrist centre -> payload (m)
_R0 = 0.10  # base axis -> shoulder horizontal offset (m)
_M2, _LC2 = 8.0, 0.20  # upper arm mass (kg), centre of mass distance (m)
_M3, _LC3 = 5.0, 0.18  # forearm
_MW, _LCW = 2.0, 0.06  # wrist + gripper, CoM beyond the wrist centre along the tool axis
_PAYLOAD_KG = 0.8  # nominal part mass

_K = np.array([10.0, 16.0, 9.0, 3.0, 3.0, 1.5])  # joint-side torque constant (N m / A)
_I0 = np.array([2.0, 2.5, 0.8, 0.05, 0.05, 0.02])  # reflected rotor + fixed inertia (kg m^2)
_B = np.array([2.5, 3.0, 1.5, 0.3, 0.3, 0.12])  # viscous friction (N m s / rad)
_C = np.array([3.0, 4.0, 2.0, 0.4, 0.4, 0.15])  # Coulomb friction (N m)
_V_SMOOTH = 0.02  # rad/s, tanh smoothing of sign(qd)
_R_W = np.array([0.5, 0.35, 0.6, 1.5, 1.5, 2.5])  # winding resistance (ohm)
_P0 = np.array([0.5, 0.8, 0.5, 0.2, 0.2, 0.1])  # current-independent losses (W)
_R_TH = np.array([1.2, 1.0, 1.4, 3.0, 3.0, 4.0])  # thermal resistance to ambient (K/W)
_TAU_TH = np.array([300.0, 360.0, 300.0, 200.0, 200.0, 180.0])  # thermal time constant (s)

_GRIP_IDLE, _GRIP_MOVE_CLOSE, _GRIP_MOVE_OPEN, _GRIP_HOLD = 0.05, 0.55, 0.45, 0.90  # A
_GRIP_TAU = 0.03  # s

_ENC_Q = 2.0 * np.pi / 2**19  # encoder quantum (rad)

#: Sensor noise standard deviation per channel, in the channel's unit.
_NOISE_STD = np.empty(len(CHANNELS))
_NOISE_STD[_POS] = 1e-5
_NOISE_STD[_VEL] = 5e-3
_NOISE_STD[_CUR] = [0.09, 0.07, 0.035, 0.009, 0.01, 0.008]  # ~2-3 % of each range
_NOISE_STD[_TEMP] = 0.05
_NOISE_STD[_GRIP] = 0.02
_NOISE_STD[_ACC] = 0.05

#: A channel counts as touched by a fault when its noise-free value moves by more than this
#: fraction of its noise standard deviation during the event.
_SIGNIFICANCE = 0.5

# --- cycle plan --------------------------------------------------------------------------
# segments per cycle: (from waypoint, to waypoint, nominal duration s, gripper mode)
# waypoints: 0 home, 1 above pick, 2 pick, 3 above place, 4 place
# gripper modes: 0 open/idle, 1 closing, 2 holding, 3 opening
_SEGMENTS = (
    (0, 0, None, 0),  # dwell at home (random duration)
    (0, 1, 1.10, 0),
    (1, 2, 0.60, 0),
    (2, 2, 0.45, 1),
    (2, 1, 0.60, 2),  # lift
    (1, 3, 1.40, 2),
    (3, 4, 0.60, 2),
    (4, 4, 0.35, 3),
    (4, 3, 0.60, 0),
    (3, 0, 1.10, 0),
)
_HOME_DWELL_S = (0.3, 0.9)
_MIN_CYCLE_S = 0.85 * (sum(s[2] for s in _SEGMENTS if s[2] is not None) + _HOME_DWELL_S[0])
_MAX_HOLD_S = 1.15 * (0.60 + 1.40 + 0.60) + 0.1

# --- faults ------------------------------------------------------------------------------
#: Duration range (s) of each fault type.
_DURATION_S = {
    "collision": (0.2, 0.5),
    "friction": (20.0, 60.0),
    "sensor_freeze": (5.0, 30.0),
    "noise_burst": (5.0, 20.0),
    "encoder_drift": (20.0, 60.0),
    "payload_change": (15.0, 45.0),
    "gripper_slip": (10.0, 30.0),
    "overheating": (30.0, 90.0),
}
#: Faults acting on whole holding phases may run past their drawn window by up to this (s).
_EXTENSION_S = {"payload_change": _MAX_HOLD_S + 0.5, "gripper_slip": _MAX_HOLD_S + 0.5}
_THERMAL_LABEL_C = 0.25  # a fault stays labelled while a joint it heated is this much off (5 x noise)
_GAP_S = 5.0  # minimum normal operation between faults and before the end of the run
_SENSOR_FAULTS = ("sensor_freeze", "noise_burst", "encoder_drift")


@dataclass(frozen=True)
class FaultEvent:
    """One injected fault.

    Attributes
    ----------
    kind : str
        One of :data:`FAULT_TYPES`.
    start : pandas.Timestamp
        Timestamp of the first anomalous row.
    end : pandas.Timestamp
        Timestamp of the last anomalous row (inclusive).
    channels : tuple of str
        Channels this fault really changes (ground truth for attribution), in :data:`CHANNELS`
        order: those it moves by more than half their noise standard deviation during the event.
    """

    kind: str
    start: pd.Timestamp
    end: pd.Timestamp
    channels: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class SimulatedRun:
    """Result of :func:`simulate`.

    Attributes
    ----------
    frame : pandas.DataFrame, shape (n_rows, 28)
        Sensor readings, float32 columns equal to :data:`CHANNELS`, indexed by a
        ``DatetimeIndex`` named ``"timestamp"`` with frequency ``1 / rate_hz``.
    labels : pandas.DataFrame, shape (n_rows, 3)
        Same index; ``is_anomaly`` (bool), ``fault_type`` (str, ``""`` on normal rows) and
        ``fault_channels`` (touched channel names joined by ``";"``, ``""`` on normal rows).
    faults : list of FaultEvent
        Injected faults, ordered by time.
    rate_hz : float
        Sample rate (Hz).
    """

    frame: pd.DataFrame
    labels: pd.DataFrame
    faults: list[FaultEvent] = field(default_factory=list)
    rate_hz: float = 100.0

    def to_frame(self) -> pd.DataFrame:
        """Return readings and labels side by side, e.g. for writing to CSV or Parquet.

        Returns
        -------
        pandas.DataFrame, shape (n_rows, 31)
            The 28 channel columns followed by ``is_anomaly``, ``fault_type`` and
            ``fault_channels``; same index as :attr:`frame`.
        """
        return pd.concat([self.frame, self.labels], axis=1)


@dataclass
class _Window:
    kind: str
    start: int  # first row
    end: int  # last row (inclusive)
    channels: set[int] = field(default_factory=set)


def simulate(
    duration_s: float = 600.0,
    *,
    rate_hz: float = 100.0,
    faults: Sequence[str] | str = (),
    seed: int | None = 0,
    start: str | pd.Timestamp = "2026-01-01T00:00:00",
    ambient_c: float | None = None,
) -> SimulatedRun:
    """Simulate the robot arm, optionally with labelled faults.

    Parameters
    ----------
    duration_s : float, default 600.0
        Length of the run (s); the frame has ``round(duration_s * rate_hz)`` rows.
    rate_hz : float, default 100.0
        Sample rate (Hz).
    faults : sequence of str or str, default ()
        Fault types to inject, each entry once (repeat a name to inject it several times), at
        random non-overlapping positions after the first 10 % of the run, separated by at least
        5 s of normal operation. ``"all"`` injects every type of :data:`FAULT_TYPES` once; a
        single type name may be passed as a plain string.
    seed : int or None, default 0
        Seed of ``numpy.random.default_rng``. The same seed gives an identical run; the normal
        behaviour does not depend on ``faults``.
    start : str or pandas.Timestamp, default "2026-01-01T00:00:00"
        Timestamp of the first row.
    ambient_c : float or None, default None
        Ambient temperature (degC). None draws one in [25, 32) from the seed, so runs with
        different seeds are like different days; pass a value for runs of one shift.
        Joint temperatures start at the steady state of the duty cycle (+-0.05 degC).

    Returns
    -------
    SimulatedRun
        Readings, row labels and the list of fault events.

    Raises
    ------
    ValueError
        On an unknown fault name, non-positive duration or rate, or when the faults cannot fit
        into ``duration_s``.
    """
    kinds = _parse_faults(faults)
    if not (np.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"duration_s must be a positive number, got {duration_s!r}")
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz must be a positive number, got {rate_hz!r}")
    rate_hz = float(rate_hz)
    n = int(round(duration_s * rate_hz))
    if n < 2:
        raise ValueError(f"duration_s * rate_hz must give at least 2 rows, got {n}")
    dt = 1.0 / rate_hz
    t = np.arange(n) * dt

    rng_plan, rng_noise, rng_fault = np.random.default_rng(seed).spawn(3)
    windows = _place_faults(kinds, n, rate_hz, duration_s, rng_fault)

    # ---------------- normal behaviour (depends on rng_plan only) ----------------
    drawn_ambient = rng_plan.uniform(25.0, 32.0)  # drawn even when given, so the streams stay aligned
    ambient = drawn_ambient if ambient_c is None else float(ambient_c)
    temp_offset = rng_plan.uniform(-0.05, 0.05, _N_JOINTS)
    plan = _plan_cycles(duration_s, rng_plan)
    q, qd, qdd, seg, tau = _trajectory(t, plan)
    mode = plan["mode"][seg]
    cycle = plan["cycle"][seg]
    holding = mode == 2
    payload = np.where(holding, plan["payload"][cycle], 0.0)
    grip = _gripper_current(mode, tau, plan["hold_current"][cycle], dt)
    sens = _payload_sensitivity(q, qdd)  # d tau / d m_payload, (n, 6)
    tau_fixed = _fixed_torque(q, qdd)  # everything but payload and friction
    friction = _B * qd + _C * np.tanh(qd / _V_SMOOTH)
    current = (tau_fixed + payload[:, None] * sens + friction) / _K
    # The arm has been running before the log starts: temperatures begin at the thermal
    # steady state of this duty cycle (not at ambient), so runs of one cell are comparable.
    temp0 = ambient + _R_TH * (_R_W * current**2 + _P0).mean(axis=0) + temp_offset
    acc = _accelerometer(q, qd, qdd)
    noise = rng_noise.standard_normal((n, len(CHANNELS)), dtype=np.float32)

    truth = np.zeros((n, len(CHANNELS)))
    truth[:, _POS] = q
    truth[:, _VEL] = qd
    truth[:, _GRIP] = grip
    truth[:, _ACC] = acc

    # ---------------- physical faults ----------------
    thermal_overrides: list[tuple[int, int, int, float, float]] = []
    temps = _thermal(current, ambient, temp0, dt, thermal_overrides)
    cur_f = current.copy()
    thr = _SIGNIFICANCE * _NOISE_STD
    for w in windows:
        if w.kind in _SENSOR_FAULTS:
            continue
        # additive change of the noise-free channels on rows w.start .. (room for an extension)
        span = min(n, w.end + 1 + int(math.ceil(_EXTENSION_S.get(w.kind, 0.0) * rate_hz))) - w.start
        delta = np.zeros((span, len(CHANNELS)))
        if w.kind == "collision":
            _collision(w, delta, t, rate_hz, rng_fault)
        elif w.kind == "friction":
            k = int(rng_fault.integers(_N_JOINTS))
            factor = rng_fault.uniform(2.5, 4.0)
            delta[: w.end + 1 - w.start, _CUR[k]] = (factor - 1.0) * friction[w.start : w.end + 1, k] / _K[k]
            w.channels.add(_CUR[k])
        elif w.kind == "payload_change":
            extra = rng_fault.uniform(1.0, 2.5)
            rows = _holding_rows(holding, w)
            w.end = max(w.end, int(rows[-1]))
            delta[np.ix_(rows - w.start, _CUR)] = extra * sens[rows] / _K
            w.channels.update((_CUR[1], _CUR[2]))
        elif w.kind == "gripper_slip":
            _gripper_slip(w, delta, t, holding, grip, payload, sens, rng_fault)
        elif w.kind == "overheating":
            k = int(rng_fault.integers(_N_JOINTS))
            thermal_overrides.append((k, w.start, w.end, rng_fault.uniform(2.0, 4.0), rng_fault.uniform(4.0, 10.0)))
            w.channels.add(_TEMP[k])
        sl = slice(w.start, w.end + 1)
        delta = delta[: w.end + 1 - w.start]
        moved = np.abs(delta).max(axis=0) > thr
        w.channels.update(np.flatnonzero(moved).tolist())
        truth[sl] += delta  # current/temperature columns are replaced below
        cur_f[sl] += delta[:, _CUR]
        new_temps = _thermal(cur_f, ambient, temp0, dt, thermal_overrides)
        dtemp = np.abs(new_temps[sl] - temps[sl]).max(axis=0)
        w.channels.update(_TEMP[k] for k in np.flatnonzero(dtemp > thr[_TEMP]))
        temps = new_temps
    truth[:, _CUR] = cur_f
    truth[:, _TEMP] = temps
    _extend_thermal_labels(windows, temps, _thermal(current, ambient, temp0, dt, []), n)

    # ---------------- measurement ----------------
    meas = truth
    meas += noise * _NOISE_STD.astype(np.float32)
    del noise
    frozen: list[_Window] = []
    for w in windows:
        sl = slice(w.start, w.end + 1)
        if w.kind == "encoder_drift":
            k = int(rng_fault.integers(_N_JOINTS))
            total = rng_fault.uniform(0.02, 0.08) * rng_fault.choice([-1.0, 1.0])
            m = w.end - w.start + 1
            meas[sl, _POS[k]] += total * np.arange(1, m + 1) / m
            w.channels.add(_POS[k])
        elif w.kind == "noise_burst":
            cols = np.sort(rng_fault.choice(len(CHANNELS), size=int(rng_fault.integers(1, 4)), replace=False))
            gain = rng_fault.uniform(8.0, 25.0, cols.size)
            meas[sl, cols] += rng_fault.standard_normal((w.end - w.start + 1, cols.size)) * gain * _NOISE_STD[cols]
            w.channels.update(cols.tolist())
        elif w.kind == "sensor_freeze":
            w.channels.add(int(rng_fault.integers(len(CHANNELS))))
            frozen.append(w)
    meas[:, _POS] = np.round(meas[:, _POS] / _ENC_Q) * _ENC_Q
    for w in frozen:
        (c,) = w.channels
        meas[w.start : w.end + 1, c] = meas[w.start - 1, c]

    return _assemble(meas, windows, n, rate_hz, start)


# =========================================================================================
# helpers
# =========================================================================================


def _extend_thermal_labels(windows: list[_Window], temps: np.ndarray, clean_temps: np.ndarray, n: int) -> None:
    """Keep faults labelled while the joints they heated are still off (heat takes minutes to leave).

    A fault's own label is extended while its joints are more than ``_THERMAL_LABEL_C`` off
    the fault-free run, up to the row before the next fault. Heat that outlasts a later fault
    becomes extra events of the same kind on the still-hot temperature channels, so no
    abnormal row is labelled normal.
    """
    hot = np.abs(temps - clean_temps) > _THERMAL_LABEL_C  # (n, 6)
    thermal = []
    for i, w in enumerate(windows):
        joints = [k for k in range(_N_JOINTS) if _TEMP[k] in w.channels]
        if not joints:
            continue
        thermal.append(w)
        limit = max(w.end, (windows[i + 1].start if i + 1 < len(windows) else n) - 1)
        settled = np.flatnonzero(~hot[w.end + 1 : limit + 1, joints].any(axis=1))
        w.end = w.end + int(settled[0]) if settled.size else limit
    if not thermal:
        return
    covered = np.zeros(n, dtype=bool)
    for w in windows:
        covered[w.start : w.end + 1] = True
    tail = hot.any(axis=1) & ~covered & (np.arange(n) > thermal[0].end)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], tail.astype(np.int8), [0]))))
    for start, stop in zip(edges[::2], edges[1::2]):
        cause = max((w for w in thermal if w.end < start), key=lambda w: w.end)
        joints = np.flatnonzero(hot[start:stop].any(axis=0))
        windows.append(_Window(cause.kind, int(start), int(stop - 1), {_TEMP[k] for k in joints}))
    windows.sort(key=lambda w: w.start)


def _parse_faults(faults: Sequence[str] | str) -> list[str]:
    if isinstance(faults, str):
        faults = list(FAULT_TYPES) if faults == "all" else [faults]
    kinds = list(faults)
    for k in kinds:
        if k not in FAULT_TYPES:
            raise ValueError(f"unknown fault type {k!r}; expected 'all' or names from FAULT_TYPES = {FAULT_TYPES}")
    return kinds


def _place_faults(kinds: list[str], n: int, rate_hz: float, duration_s: float, rng: np.random.Generator) -> list[_Window]:
    """Random non-overlapping fault windows (row indices), time-ordered."""
    if not kinds:
        return []
    k = len(kinds)
    lo = int(math.ceil(0.1 * n))
    gap = int(math.ceil(_GAP_S * rate_hz))
    hi = n - gap  # exclusive end of the usable region
    avail = hi - lo
    dmin = np.array([_DURATION_S[x][0] for x in kinds])
    dmax = np.array([_DURATION_S[x][1] for x in kinds])
    ext = np.array([_EXTENSION_S.get(x, 0.0) for x in kinds])
    need_rows = int(np.sum(np.maximum(1, np.round(dmin * rate_hz)) + np.ceil(ext * rate_hz))) + gap * (k - 1)
    if need_rows > avail:
        raise ValueError(
            f"cannot fit faults {kinds} into duration_s={duration_s:g}: they need at least "
            f"{need_rows / rate_hz:.1f} s after the first 10 % of the run (plus {_GAP_S:g} s at the end), "
            f"only {max(avail, 0) / rate_hz:.1f} s available"
        )
    ext_rows = np.ceil(ext * rate_hz).astype(int)
    rows_min = np.maximum(1, np.round(dmin * rate_hz)).astype(int)
    rows = np.maximum(rows_min, np.round(rng.uniform(dmin, dmax) * rate_hz).astype(int))
    spare = avail - need_rows  # rows beyond the minimum durations
    if int((rows - rows_min).sum()) > spare:  # shrink towards the minimum durations
        rows = rows_min + np.floor((rows - rows_min) * (spare / (rows - rows_min).sum())).astype(int)
    res = rows + ext_rows
    slack = avail - int(res.sum()) - gap * (k - 1)
    order = rng.permutation(k)
    cuts = np.sort(rng.integers(0, slack + 1, k))
    windows = []
    pos = lo
    prev_cut = 0
    for j, i in enumerate(order):
        pos += int(cuts[j] - prev_cut)
        prev_cut = int(cuts[j])
        windows.append(_Window(kinds[i], pos, pos + int(rows[i]) - 1))
        pos += int(res[i]) + gap
    return windows


def _plan_cycles(duration_s: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Per-segment start times, durations, endpoints and gripper modes of all cycles."""
    n_cyc = int(math.ceil(duration_s / _MIN_CYCLE_S)) + 2
    n_seg = len(_SEGMENTS)
    home = np.array([0.0, 1.20, -1.90, 0.0, -0.87, 0.0])

    def down(q: np.ndarray, jitter: np.ndarray) -> np.ndarray:  # wrist pitch keeps the tool down
        q[:, 4] = -np.pi / 2 - (q[:, 1] + q[:, 2]) + jitter
        return q

    pick = np.tile([-0.60, 0.70, -1.55, 0.10, 0.0, 0.30], (n_cyc, 1))
    pick += rng.normal(0.0, [0.010, 0.008, 0.008, 0.010, 0.0, 0.05], (n_cyc, 6))
    place = np.tile([0.70, 0.75, -1.60, -0.10, 0.0, -0.40], (n_cyc, 1))
    place += rng.normal(0.0, [0.010, 0.008, 0.008, 0.010, 0.0, 0.05], (n_cyc, 6))
    lift = rng.normal([0.20, -0.05], [0.01, 0.01], (n_cyc, 2))
    above_pick = pick.copy()
    above_pick[:, 1:3] += lift
    above_place = place.copy()
    above_place[:, 1:3] += lift
    wrist = rng.normal(0.0, 0.004, (n_cyc, 4))
    pick, above_pick = down(pick, wrist[:, 0]), down(above_pick, wrist[:, 1])
    place, above_place = down(place, wrist[:, 2]), down(above_place, wrist[:, 3])
    wps = np.stack([np.tile(home, (n_cyc, 1)), above_pick, pick, above_place, place], axis=1)  # (C, 5, 6)

    nominal = np.array([np.nan if s[2] is None else s[2] for s in _SEGMENTS])
    durs = nominal * (1.0 + np.clip(rng.normal(0.0, 0.04, (n_cyc, n_seg)), -0.1, 0.1))
    durs[:, 0] = rng.uniform(*_HOME_DWELL_S, n_cyc)
    frm = np.array([s[0] for s in _SEGMENTS])
    to = np.array([s[1] for s in _SEGMENTS])
    payload = _PAYLOAD_KG * (1.0 + rng.normal(0.0, 0.03, n_cyc))
    hold_current = _GRIP_HOLD * (1.0 + rng.normal(0.0, 0.03, n_cyc))

    dur = durs.ravel()
    return {
        "start": np.concatenate([[0.0], np.cumsum(dur)[:-1]]),
        "dur": dur,
        "q0": wps[:, frm].reshape(-1, 6),
        "q1": wps[:, to].reshape(-1, 6),
        "mode": np.tile([s[3] for s in _SEGMENTS], n_cyc),
        "cycle": np.repeat(np.arange(n_cyc), n_seg),
        "payload": payload,
        "hold_current": hold_current,
    }


def _trajectory(t: np.ndarray, plan: dict[str, np.ndarray]):
    """Minimum-jerk joint trajectory sampled at ``t``: q, qd, qdd (n, 6), segment index, phase."""
    seg = np.searchsorted(plan["start"], t, side="right") - 1
    T = plan["dur"][seg]
    tau = np.clip((t - plan["start"][seg]) / T, 0.0, 1.0)
    s = tau**3 * (10.0 - 15.0 * tau + 6.0 * tau**2)
    ds = 30.0 * tau**2 * (1.0 - tau) ** 2
    dds = 60.0 * tau * (1.0 - tau) * (1.0 - 2.0 * tau)
    q0 = plan["q0"][seg]
    dq = plan["q1"][seg] - q0
    q = q0 + dq * s[:, None]
    qd = dq * (ds / T)[:, None]
    qdd = dq * (dds / T**2)[:, None]
    return q, qd, qdd, seg, tau


def _angles(q: np.ndarray):
    th2 = q[:, 1]
    th3 = th2 + q[:, 2]
    th5 = th3 + q[:, 4]
    return th2, th3, th5


def _fixed_torque(q: np.ndarray, qdd: np.ndarray) -> np.ndarray:
    """Inertial + gravity torque (N m) of the arm without payload, (n, 6)."""
    th2, th3, th5 = _angles(q)
    c2, c3, c5 = np.cos(th2), np.cos(th3), np.cos(th5)
    s2, s3, s5 = np.sin(th2), np.sin(th3), np.sin(th5)
    # horizontal distances from the base axis
    r_m2 = _R0 + _LC2 * c2
    r_m3 = _R0 + _L2 * c2 + _LC3 * c3
    r_mw = _R0 + _L2 * c2 + _L3 * c3 + _LCW * c5
    inertia = np.empty_like(q)
    inertia[:, 0] = _I0[0] + _M2 * r_m2**2 + _M3 * r_m3**2 + _MW * r_mw**2
    d3 = (_L2 * c2 + _LC3 * c3) ** 2 + (_L2 * s2 + _LC3 * s3) ** 2
    dw = (_L2 * c2 + _L3 * c3 + _LCW * c5) ** 2 + (_L2 * s2 + _L3 * s3 + _LCW * s5) ** 2
    inertia[:, 1] = _I0[1] + _M2 * _LC2**2 + _M3 * d3 + _MW * dw
    inertia[:, 2] = _I0[2] + _M3 * _LC3**2 + _MW * ((_L3 * c3 + _LCW * c5) ** 2 + (_L3 * s3 + _LCW * s5) ** 2)
    inertia[:, 3] = _I0[3]
    inertia[:, 4] = _I0[4] + _MW * _LCW**2
    inertia[:, 5] = _I0[5]
    grav = np.zeros_like(q)
    grav[:, 1] = _G * (_M2 * _LC2 * c2 + _M3 * (_L2 * c2 + _LC3 * c3) + _MW * (_L2 * c2 + _L3 * c3 + _LCW * c5))
    grav[:, 2] = _G * (_M3 * _LC3 * c3 + _MW * (_L3 * c3 + _LCW * c5))
    grav[:, 4] = _G * _MW * _LCW * c5
    return inertia * qdd + grav


def _payload_sensitivity(q: np.ndarray, qdd: np.ndarray) -> np.ndarray:
    """Torque per kg of payload at the tool tip (N m / kg), (n, 6)."""
    th2, th3, th5 = _angles(q)
    c2, c3, c5 = np.cos(th2), np.cos(th3), np.cos(th5)
    s2, s3, s5 = np.sin(th2), np.sin(th3), np.sin(th5)
    x = _L2 * c2 + _L3 * c3 + _LT * c5  # tool tip relative to the shoulder
    z = _L2 * s2 + _L3 * s3 + _LT * s5
    out = np.zeros_like(q)
    out[:, 0] = (_R0 + x) ** 2 * qdd[:, 0]
    out[:, 1] = (x**2 + z**2) * qdd[:, 1] + _G * x
    out[:, 2] = ((_L3 * c3 + _LT * c5) ** 2 + (_L3 * s3 + _LT * s5) ** 2) * qdd[:, 2] + _G * (_L3 * c3 + _LT * c5)
    out[:, 4] = _LT**2 * qdd[:, 4] + _G * _LT * c5
    return out


def _accelerometer(q: np.ndarray, qd: np.ndarray, qdd: np.ndarray) -> np.ndarray:
    """Specific force at the tool in the tool frame (m/s^2), (n, 3)."""
    th = np.stack(_angles(q), axis=1)  # absolute pitch angles of upper arm, forearm, tool
    thd = np.stack([qd[:, 1], qd[:, 1] + qd[:, 2], qd[:, 1] + qd[:, 2] + qd[:, 4]], axis=1)
    thdd = np.stack([qdd[:, 1], qdd[:, 1] + qdd[:, 2], qdd[:, 1] + qdd[:, 2] + qdd[:, 4]], axis=1)
    lengths = np.array([_L2, _L3, _LT])
    c, s = np.cos(th), np.sin(th)
    r = _R0 + (lengths * c).sum(axis=1)
    rd = -(lengths * s * thd).sum(axis=1)
    rdd = -(lengths * (c * thd**2 + s * thdd)).sum(axis=1)
    zdd = (lengths * (-s * thd**2 + c * thdd)).sum(axis=1)
    phid, phidd = qd[:, 0], qdd[:, 0]
    # specific force in the cylindrical basis (radial, tangential, up)
    f_r = rdd - r * phid**2
    f_t = 2.0 * rd * phid + r * phidd
    f_z = zdd + _G
    beta = th[:, 2]  # tool axis pitch, -pi/2 = pointing down
    sb, cb = np.sin(beta), np.cos(beta)
    fx0 = -sb * f_r + cb * f_z  # sensor x before roll (radial when pointing down)
    fy0 = f_t
    fz = -cb * f_r - sb * f_z  # sensor z = -tool axis (up when pointing down)
    gamma = q[:, 3] + q[:, 5]
    cg, sg = np.cos(gamma), np.sin(gamma)
    return np.stack([cg * fx0 + sg * fy0, -sg * fx0 + cg * fy0, fz], axis=1)


def _lowpass(x: np.ndarray, tau_s: float, dt: float) -> np.ndarray:
    a = math.exp(-dt / tau_s)
    y, _ = lfilter([1.0 - a], [1.0, -a], x, zi=[a * x[0]])
    return y


def _gripper_current(mode: np.ndarray, tau: np.ndarray, hold: np.ndarray, dt: float) -> np.ndarray:
    raw = np.full(mode.shape, _GRIP_IDLE)
    closing = mode == 1
    raw[closing] = np.where(tau[closing] < 0.55, _GRIP_MOVE_CLOSE, hold[closing])
    raw[mode == 2] = hold[mode == 2]
    opening = mode == 3
    raw[opening] = np.where(tau[opening] < 0.6, _GRIP_MOVE_OPEN, _GRIP_IDLE)
    return _lowpass(raw, _GRIP_TAU, dt)


def _thermal(current: np.ndarray, ambient: float, temp0: np.ndarray, dt: float, overrides) -> np.ndarray:
    """Joint temperatures (degC), (n, 6); overrides: (joint, start, end, R_th factor, extra W)."""
    n = current.shape[0]
    power = _R_W * current**2 + _P0
    cap = _TAU_TH / _R_TH
    out = np.empty_like(current)
    for k in range(_N_JOINTS):
        # piecewise-constant parameters: (first row, R_th, extra power)
        pieces = [(0, _R_TH[k], 0.0)]
        for j, s, e, factor, extra in sorted(o for o in overrides if o[0] == k):
            pieces += [(s, _R_TH[k] * factor, extra), (e + 1, _R_TH[k], 0.0)]
        x_prev = temp0[k] - ambient
        for i, (s, r_th, extra) in enumerate(pieces):
            e = pieces[i + 1][0] if i + 1 < len(pieces) else n
            if e <= s:
                continue
            a = math.exp(-dt / (r_th * cap[k]))
            y, _ = lfilter([(1.0 - a) * r_th], [1.0, -a], power[s:e, k] + extra, zi=[a * x_prev])
            out[s:e, k] = y
            x_prev = y[-1]
    return out + ambient


def _collision(w: _Window, delta: np.ndarray, t: np.ndarray, rate_hz: float, rng: np.random.Generator) -> None:
    sl = slice(0, w.end + 1 - w.start)  # rows of delta
    m = w.end - w.start + 1
    u = (np.arange(m) + 0.5) / m
    bump = np.sin(np.pi * u) ** 2
    dur = m / rate_hz
    joints = rng.choice(3, size=int(rng.integers(1, 3)), replace=False)  # base, shoulder, elbow
    i_scale = np.array([1.5, 3.5, 2.0])
    for k in joints:
        sign = rng.choice([-1.0, 1.0])
        dev = sign * rng.uniform(0.005, 0.03)  # rad, servo compliance
        delta[sl, _POS[k]] = dev * bump
        delta[sl, _VEL[k]] = dev * (np.pi / dur) * np.sin(2.0 * np.pi * u)
        delta[sl, _CUR[k]] = -sign * rng.uniform(2.0, 4.0) * i_scale[k] * bump
        w.channels.update((_POS[k], _VEL[k], _CUR[k]))
    direction = rng.uniform(0.3, 1.0, 3) * rng.choice([-1.0, 1.0], 3)
    direction /= np.linalg.norm(direction)
    freq = min(25.0, 0.3 * rate_hz)
    ring = np.cos(2.0 * np.pi * freq * (t[w.start : w.end + 1] - t[w.start]) + rng.uniform(-0.5, 0.5))
    amp = rng.uniform(15.0, 40.0)
    delta[sl, _ACC[0]] = amp * direction[0] * np.sin(np.pi * u) * ring
    delta[sl, _ACC[1]] = amp * direction[1] * np.sin(np.pi * u) * ring
    delta[sl, _ACC[2]] = amp * direction[2] * np.sin(np.pi * u) * ring
    w.channels.update(_ACC)


def _holding_runs(holding: np.ndarray) -> np.ndarray:
    """(n_runs, 2) first and last row of each contiguous holding phase."""
    d = np.diff(holding.astype(np.int8), prepend=0, append=0)
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1], axis=1)


def _holding_rows(holding: np.ndarray, w: _Window) -> np.ndarray:
    """Rows of the holding phases that begin inside the window (to their ends)."""
    runs = _holding_runs(holding)
    sel = runs[(runs[:, 0] >= w.start) & (runs[:, 0] <= w.end)]
    if len(sel) == 0:  # cannot happen: windows are longer than a cycle
        raise RuntimeError(f"{w.kind} window has no holding phase")
    return np.concatenate([np.arange(a, b + 1) for a, b in sel])


def _gripper_slip(w, delta, t, holding, grip, payload, sens, rng) -> None:
    runs = _holding_runs(holding)
    sel = runs[(runs[:, 1] >= w.start) & (runs[:, 0] <= w.end)]
    freq = rng.uniform(3.0, 6.0)
    lost = bool(rng.random() < 0.5)
    for a, b in sel:
        a = max(int(a), w.start)
        rows = np.arange(a, b + 1)
        new = grip[rows] * (0.55 + 0.2 * np.sin(2.0 * np.pi * freq * (t[rows] - t[a])))
        if lost:
            after = rows >= a + int(rng.uniform(0.2, 0.6) * (b - a + 1))
            new[after] = 0.25 + 0.02 * np.sin(2.0 * np.pi * freq * t[rows[after]])
            lost_rows = rows[after]
            delta[np.ix_(lost_rows - w.start, _CUR)] = -(payload[lost_rows, None] * sens[lost_rows]) / _K
        delta[rows - w.start, _GRIP] = new - grip[rows]
        w.end = max(w.end, int(b))
    w.channels.add(_GRIP)


def _assemble(meas: np.ndarray, windows: list[_Window], n: int, rate_hz: float, start) -> SimulatedRun:
    step = pd.Timedelta(seconds=1.0 / rate_hz)
    index = pd.date_range(start=pd.Timestamp(start).as_unit("ns"), periods=n, freq=step, name="timestamp")
    frame = pd.DataFrame(meas.astype(np.float32), index=index, columns=list(CHANNELS))
    is_anomaly = np.zeros(n, dtype=bool)
    ftype = np.full(n, "", dtype=object)
    fchan = np.full(n, "", dtype=object)
    events = []
    for w in sorted(windows, key=lambda w: w.start):
        chans = tuple(CHANNELS[c] for c in sorted(w.channels))
        sl = slice(w.start, w.end + 1)
        is_anomaly[sl] = True
        ftype[sl] = w.kind
        fchan[sl] = ";".join(chans)
        events.append(FaultEvent(w.kind, index[w.start], index[w.end], chans))
        logger.debug("injected %s at rows %d..%d on %s", w.kind, w.start, w.end, chans)
    labels = pd.DataFrame({"is_anomaly": is_anomaly, "fault_type": ftype, "fault_channels": fchan}, index=index)
    logger.info("simulated robot arm: %d rows at %g Hz, %d fault(s)", n, rate_hz, len(events))
    return SimulatedRun(frame=frame, labels=labels, faults=events, rate_hz=rate_hz)


def segments_from_faults(run) -> list:
    """Cause segments of a simulated run, in row positions with an exclusive end.

    Parameters
    ----------
    run : datasets.robot_arm.SimulatedRun
        Its ``faults`` have timestamps ``start``/``end`` (inclusive) found in ``run.frame.index``.

    Returns
    -------
    list of anomaly.hitrate.Segment
        ``Segment(position of start, position of end + 1, channels)`` per fault, in order.

    Raises
    ------
    DataError
        If a fault's timestamp is not in the frame's index.
    """
    index = run.frame.index
    try:
        return [Segment(index.get_loc(f.start), index.get_loc(f.end) + 1, tuple(f.channels)) for f in run.faults]
    except KeyError as missing:
        raise DataError(f"fault timestamp {missing} is not in the run's index") from None
