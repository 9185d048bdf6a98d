"""Pick-and-place cycle plans of the simulated robot arm: programs A and B.

Each cycle (about 7-8 s at full speed) visits home -> above pick -> pick (dwell, gripper
closes) -> lift -> above place -> place (dwell, gripper opens) -> above place -> home, with a
random dwell at home. Move durations, waypoints, dwell times, payload mass and gripper holding
current vary slightly per cycle. The wrist pitch keeps the tool pointing down.

Two programs (:data:`PROGRAMS`) share this structure and differ in their pick and place poses,
lift and move durations: ``"A"`` (the default; pick on the left, place on the right) and
``"B"`` (pick from the right, place in front, a longer reach). A speed override (0.6-1.0)
stretches every move by ``1 / speed`` (joint velocities scale by ``speed``, accelerations by
``speed**2``); the dwells (gripper closing/opening, waiting at home) keep their durations.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = [
    "GRIP_HOLD",
    "MAX_HOLD_S",
    "MAX_PAYLOAD_KG",
    "MIN_SPEED",
    "PAYLOAD_KG",
    "PROGRAMS",
    "SEGMENTS",
    "Program",
    "holding_runs",
    "plan_cycles",
]

#: Nominal part mass (kg).
PAYLOAD_KG = 0.8
#: Nominal gripper holding current (A).
GRIP_HOLD = 0.90
#: Largest nominal part mass (kg) accepted: the arm's rated payload.
MAX_PAYLOAD_KG = 5.0
#: Lowest speed override (fraction of the programmed speed) :func:`plan_cycles` supports.
MIN_SPEED = 0.6

#: Segments of one cycle of program A: (from waypoint, to waypoint, nominal duration s, gripper
#: mode). Waypoints: 0 home, 1 above pick, 2 pick, 3 above place, 4 place. Gripper modes: 0
#: open/idle, 1 closing, 2 holding, 3 opening. The home dwell (duration None) is drawn from the
#: program's ``home_dwell_s``.
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


@dataclass(frozen=True)
class Program:
    """One pick-and-place program of the arm.

    Attributes
    ----------
    name : str
        Key in :data:`PROGRAMS`.
    segments : tuple of (int, int, float or None, int)
        As :data:`SEGMENTS`: from and to waypoint, nominal duration (s; None for the home
        dwell), gripper mode. A segment whose two waypoints differ is a move (stretched by
        the speed override); the others are dwells.
    home, pick, place : tuple of float, length 6
        Joint angles (rad) of the home, pick and place poses; joint 5 of pick and place is
        replaced so the tool points down.
    lift : tuple of float, length 2
        Mean change of joints 2 and 3 (rad) from pick/place to the poses above them.
    home_dwell_s : tuple of float
        Range (s) of the random dwell at home.
    """

    name: str
    segments: tuple
    home: tuple
    pick: tuple
    place: tuple
    lift: tuple
    home_dwell_s: tuple

    def min_cycle_s(self, speed: float = 1.0) -> float:
        """Lower bound (s) of a cycle's duration at speed override ``speed`` (with margin)."""
        moves = sum(s[2] / speed if s[0] != s[1] else s[2] for s in self.segments if s[2] is not None)
        return 0.85 * (moves + self.home_dwell_s[0])

    def hold_s(self) -> float:
        """Nominal duration (s) of the holding phase at full speed."""
        return sum(s[2] for s in self.segments if s[3] == 2)


#: The arm's programs by name: ``"A"`` (default) and ``"B"``.
PROGRAMS: dict[str, Program] = {
    "A": Program(
        "A",
        SEGMENTS,
        home=(0.0, 1.20, -1.90, 0.0, -0.87, 0.0),
        pick=(-0.60, 0.70, -1.55, 0.10, 0.0, 0.30),
        place=(0.70, 0.75, -1.60, -0.10, 0.0, -0.40),
        lift=(0.20, -0.05),
        home_dwell_s=(0.3, 0.9),
    ),
    "B": Program(
        "B",
        (
            (0, 0, None, 0),
            (0, 1, 1.25, 0),
            (1, 2, 0.70, 0),
            (2, 2, 0.45, 1),
            (2, 1, 0.70, 2),  # lift
            (1, 3, 1.20, 2),
            (3, 4, 0.65, 2),
            (4, 4, 0.40, 3),
            (4, 3, 0.55, 0),
            (3, 0, 0.95, 0),
        ),
        home=(0.0, 1.20, -1.90, 0.0, -0.87, 0.0),
        pick=(0.85, 0.55, -1.30, -0.05, 0.0, -0.20),
        place=(-0.25, 0.85, -1.75, 0.10, 0.0, 0.50),
        lift=(0.25, -0.08),
        home_dwell_s=(0.5, 1.2),
    ),
}

#: Longest possible holding phase (s) at full speed over all programs: lift, transfer and
#: lower at +15 %, plus margin. At speed override ``s`` it is at most ``MAX_HOLD_S / s``.
MAX_HOLD_S = max(1.15 * p.hold_s() + 0.1 for p in PROGRAMS.values())
_WAYPOINT_JITTER = [0.010, 0.008, 0.008, 0.010, 0.0, 0.05]  # rad, per joint


def _tool_down(q: np.ndarray, jitter: np.ndarray) -> np.ndarray:
    """Set the wrist pitch (joint 5) of waypoints ``q`` (C, 6) so the tool points down, in place."""
    q[:, 4] = -np.pi / 2 - (q[:, 1] + q[:, 2]) + jitter
    return q


def plan_cycles(
    duration_s: float,
    rng: np.random.Generator,
    *,
    program: str = "A",
    speed: float = 1.0,
    payload_kg: float = PAYLOAD_KG,
) -> dict[str, np.ndarray]:
    """Draw enough pick-and-place cycles to cover ``duration_s``.

    Parameters
    ----------
    duration_s : float
        Length of the run (s); a few more cycles than needed are planned.
    rng : numpy.random.Generator
        Stream of the cycle plan.
    program : str, default "A"
        Key of :data:`PROGRAMS`.
    speed : float, default 1.0
        Speed override, :data:`MIN_SPEED` .. 1.0: every move lasts ``1 / speed`` times longer.
    payload_kg : float, default PAYLOAD_KG
        Nominal part mass (kg); each cycle's part varies by 3 % (1 sigma) around it.

    Returns
    -------
    dict of str to numpy.ndarray
        Per segment (n_seg = 10 x n_cycles): ``start``, ``dur`` (s, shape (n_seg,)), ``q0`` and
        ``q1`` (joint angles at its ends, shape (n_seg, 6)), ``mode`` (gripper mode) and
        ``cycle`` (cycle number); per cycle: ``payload`` (kg) and ``hold_current`` (A), shape
        (n_cycles,).
    """
    prog = PROGRAMS[program]
    segments = prog.segments
    n_cyc = math.ceil(duration_s / prog.min_cycle_s(speed)) + 2
    n_seg = len(segments)
    pick = np.tile(prog.pick, (n_cyc, 1))
    pick += rng.normal(0.0, _WAYPOINT_JITTER, (n_cyc, 6))
    place = np.tile(prog.place, (n_cyc, 1))
    place += rng.normal(0.0, _WAYPOINT_JITTER, (n_cyc, 6))
    lift = rng.normal(list(prog.lift), [0.01, 0.01], (n_cyc, 2))
    above_pick = pick.copy()
    above_pick[:, 1:3] += lift
    above_place = place.copy()
    above_place[:, 1:3] += lift
    wrist = rng.normal(0.0, 0.004, (n_cyc, 4))
    pick, above_pick = _tool_down(pick, wrist[:, 0]), _tool_down(above_pick, wrist[:, 1])
    place, above_place = _tool_down(place, wrist[:, 2]), _tool_down(above_place, wrist[:, 3])
    wps = np.stack([np.tile(prog.home, (n_cyc, 1)), above_pick, pick, above_place, place], axis=1)  # (C, 5, 6)

    # moves (two different waypoints) stretched by the speed override; x / 1.0 == x keeps full speed exact
    nominal = np.array([np.nan if s[2] is None else (s[2] / speed if s[0] != s[1] else s[2]) for s in segments])
    durs = nominal * (1.0 + np.clip(rng.normal(0.0, 0.04, (n_cyc, n_seg)), -0.1, 0.1))
    durs[:, 0] = rng.uniform(*prog.home_dwell_s, n_cyc)
    frm = np.array([s[0] for s in segments])
    to = np.array([s[1] for s in segments])
    payload = payload_kg * (1.0 + rng.normal(0.0, 0.03, n_cyc))
    hold_current = GRIP_HOLD * (1.0 + rng.normal(0.0, 0.03, n_cyc))

    dur = durs.ravel()
    return {
        "start": np.concatenate([[0.0], np.cumsum(dur)[:-1]]),
        "dur": dur,
        "q0": wps[:, frm].reshape(-1, 6),
        "q1": wps[:, to].reshape(-1, 6),
        "mode": np.tile([s[3] for s in segments], n_cyc),
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
