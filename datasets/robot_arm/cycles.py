"""Pick-and-place cycle plan of the simulated robot arm.

Each cycle (about 7-8 s) visits home -> above pick -> pick (dwell, gripper closes) -> lift ->
above place -> place (dwell, gripper opens) -> above place -> home, with a random dwell at home.
Move durations, waypoints, dwell times, payload mass and gripper holding current vary slightly
per cycle. The wrist pitch keeps the tool pointing down.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["GRIP_HOLD", "MAX_HOLD_S", "PAYLOAD_KG", "SEGMENTS", "holding_runs", "plan_cycles"]

#: Nominal part mass (kg).
PAYLOAD_KG = 0.8
#: Nominal gripper holding current (A).
GRIP_HOLD = 0.90

#: Segments of one cycle: (from waypoint, to waypoint, nominal duration s, gripper mode).
#: Waypoints: 0 home, 1 above pick, 2 pick, 3 above place, 4 place. Gripper modes: 0 open/idle,
#: 1 closing, 2 holding, 3 opening. The home dwell (duration None) is drawn from ``_HOME_DWELL_S``.
SEGMENTS = (
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
_MIN_CYCLE_S = 0.85 * (sum(s[2] for s in SEGMENTS if s[2] is not None) + _HOME_DWELL_S[0])
#: Longest possible holding phase (s): lift, transfer and lower at +15 %, plus margin.
MAX_HOLD_S = 1.15 * (0.60 + 1.40 + 0.60) + 0.1

_HOME = np.array([0.0, 1.20, -1.90, 0.0, -0.87, 0.0])
_PICK = [-0.60, 0.70, -1.55, 0.10, 0.0, 0.30]
_PLACE = [0.70, 0.75, -1.60, -0.10, 0.0, -0.40]
_WAYPOINT_JITTER = [0.010, 0.008, 0.008, 0.010, 0.0, 0.05]  # rad, per joint


def _tool_down(q: np.ndarray, jitter: np.ndarray) -> np.ndarray:
    """Set the wrist pitch (joint 5) of waypoints ``q`` (C, 6) so the tool points down, in place."""
    q[:, 4] = -np.pi / 2 - (q[:, 1] + q[:, 2]) + jitter
    return q


def plan_cycles(duration_s: float, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Draw enough pick-and-place cycles to cover ``duration_s``.

    Parameters
    ----------
    duration_s : float
        Length of the run (s); a few more cycles than needed are planned.
    rng : numpy.random.Generator
        Stream of the cycle plan.

    Returns
    -------
    dict of str to numpy.ndarray
        Per segment (n_seg = 10 x n_cycles): ``start``, ``dur`` (s, shape (n_seg,)), ``q0`` and
        ``q1`` (joint angles at its ends, shape (n_seg, 6)), ``mode`` (gripper mode) and
        ``cycle`` (cycle number); per cycle: ``payload`` (kg) and ``hold_current`` (A), shape
        (n_cycles,).
    """
    n_cyc = math.ceil(duration_s / _MIN_CYCLE_S) + 2
    n_seg = len(SEGMENTS)
    pick = np.tile(_PICK, (n_cyc, 1))
    pick += rng.normal(0.0, _WAYPOINT_JITTER, (n_cyc, 6))
    place = np.tile(_PLACE, (n_cyc, 1))
    place += rng.normal(0.0, _WAYPOINT_JITTER, (n_cyc, 6))
    lift = rng.normal([0.20, -0.05], [0.01, 0.01], (n_cyc, 2))
    above_pick = pick.copy()
    above_pick[:, 1:3] += lift
    above_place = place.copy()
    above_place[:, 1:3] += lift
    wrist = rng.normal(0.0, 0.004, (n_cyc, 4))
    pick, above_pick = _tool_down(pick, wrist[:, 0]), _tool_down(above_pick, wrist[:, 1])
    place, above_place = _tool_down(place, wrist[:, 2]), _tool_down(above_place, wrist[:, 3])
    wps = np.stack([np.tile(_HOME, (n_cyc, 1)), above_pick, pick, above_place, place], axis=1)  # (C, 5, 6)

    nominal = np.array([np.nan if s[2] is None else s[2] for s in SEGMENTS])
    durs = nominal * (1.0 + np.clip(rng.normal(0.0, 0.04, (n_cyc, n_seg)), -0.1, 0.1))
    durs[:, 0] = rng.uniform(*_HOME_DWELL_S, n_cyc)
    frm = np.array([s[0] for s in SEGMENTS])
    to = np.array([s[1] for s in SEGMENTS])
    payload = PAYLOAD_KG * (1.0 + rng.normal(0.0, 0.03, n_cyc))
    hold_current = GRIP_HOLD * (1.0 + rng.normal(0.0, 0.03, n_cyc))

    dur = durs.ravel()
    return {
        "start": np.concatenate([[0.0], np.cumsum(dur)[:-1]]),
        "dur": dur,
        "q0": wps[:, frm].reshape(-1, 6),
        "q1": wps[:, to].reshape(-1, 6),
        "mode": np.tile([s[3] for s in SEGMENTS], n_cyc),
        "cycle": np.repeat(np.arange(n_cyc), n_seg),
        "payload": payload,
        "hold_current": hold_current,
    }


def holding_runs(holding: np.ndarray) -> np.ndarray:
    """First and last row of each contiguous holding phase.

    Parameters
    ----------
    holding : numpy.ndarray of bool, shape (n_rows,)
        Whether the gripper holds a part.

    Returns
    -------
    numpy.ndarray of int, shape (n_runs, 2)
        ``[first, last]`` row (inclusive) per holding phase, in time order.
    """
    d = np.diff(holding.astype(np.int8), prepend=0, append=0)
    return np.stack([np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1], axis=1)
