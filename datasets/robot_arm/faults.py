"""Fault types of the simulated robot arm: one function per type, registered in :data:`REGISTRY`.

Each fault type of :data:`FAULT_TYPES` is injected as one :class:`~datasets.robot_arm.FaultEvent`
with a duration range suited to its kind (``FaultType.duration_s``; collisions last 0.2-0.5 s,
the others 5-90 s). ``FaultEvent.channels`` is the ground truth for attribution: exactly the
channels that this fault moves, during the event, by more than half their noise standard deviation
compared with the same run without it (physical knock-on effects included, e.g. friction raises the
joint's current and, if noticeably, its temperature). All other channels are bit-identical during
the event, except temperatures, which then differ by less than that bound. Temperature is slow:
after a thermal effect the temperature relaxes back with its time constant (minutes); the fault
stays labelled while a joint it heated is more than 0.25 degC (5 x noise) off the fault-free run,
up to the row before the next fault; heat that outlasts a later fault becomes an extra event of
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

Adding a fault type means adding one function decorated with :func:`physical_fault` (it changes
the noise-free run; channel attribution and thermal knock-on are derived by
:func:`datasets.robot_arm.inject.inject_physical`) or :func:`sensor_fault` (it changes the
readings after noise, before encoder quantisation). Types are listed in definition order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from datasets.robot_arm.cycles import MAX_HOLD_S, holding_runs
from datasets.robot_arm.normal import NormalRun
from datasets.robot_arm.physics import CoolingFailure, K
from datasets.robot_arm.sensors import (
    ACC,
    CHANNELS,
    CUR,
    GRIP,
    N_JOINTS,
    NOISE_STD,
    POS,
    TEMP,
    VEL,
)

__all__ = [
    "FAULT_TYPES",
    "PHYSICAL",
    "REGISTRY",
    "SENSOR",
    "FaultType",
    "FaultWindow",
    "physical_fault",
    "sensor_fault",
]

#: Stage of a physical fault: it changes the noise-free run (``inject(window, delta, arm, rng)``).
PHYSICAL = "physical"
#: Stage of a sensor fault: it changes the noisy readings (``inject(window, meas, rng)``).
SENSOR = "sensor"


@dataclass
class FaultWindow:
    """Rows of one fault while it is simulated (mutable: faults may extend it and add channels).

    Attributes
    ----------
    kind : str
        Fault type.
    start, end : int
        First and last row (inclusive).
    channels : set of int
        Indices into :data:`~datasets.robot_arm.sensors.CHANNELS` the fault touches.
    """

    kind: str
    start: int
    end: int
    channels: set[int] = field(default_factory=set)


@dataclass(frozen=True)
class FaultType:
    """One registered fault type.

    Attributes
    ----------
    name : str
        Name used in :data:`FAULT_TYPES`.
    stage : str
        :data:`PHYSICAL` or :data:`SENSOR`.
    duration_s : tuple of float
        Range (s) its duration is drawn from.
    extension_s : float
        How far (s) it may run past its drawn window (faults acting on whole holding phases).
    inject : callable
        Physical: ``inject(window, delta, arm, rng) -> CoolingFailure or None`` writes the change
        of the noise-free channels on rows ``window.start ..`` into ``delta`` (shape (span, 28)),
        may extend ``window.end`` and returns a cooling failure for the thermal model, if any.
        Sensor: ``inject(window, meas, rng) -> None`` changes the readings ``meas`` (shape
        (n_rows, 28)) in place. Both add the channels they touch to ``window.channels``.
    """

    name: str
    stage: str
    duration_s: tuple[float, float]
    extension_s: float
    inject: Callable


#: Registered fault types by name, in canonical order.
REGISTRY: dict[str, FaultType] = {}


def physical_fault(name: str, *, duration_s: tuple[float, float], extension_s: float = 0.0) -> Callable:
    """Register the decorated function as the physical fault type ``name`` (see :class:`FaultType`)."""

    def register(inject: Callable) -> Callable:
        REGISTRY[name] = FaultType(name, PHYSICAL, duration_s, extension_s, inject)
        return inject

    return register


def sensor_fault(name: str, *, duration_s: tuple[float, float]) -> Callable:
    """Register the decorated function as the sensor fault type ``name`` (see :class:`FaultType`)."""

    def register(inject: Callable) -> Callable:
        REGISTRY[name] = FaultType(name, SENSOR, duration_s, 0.0, inject)
        return inject

    return register


#: Faults acting on whole holding phases may run past their drawn window by up to this (s).
_HOLD_EXTENSION_S = MAX_HOLD_S + 0.5


@physical_fault("collision", duration_s=(0.2, 0.5))
def collision(w: FaultWindow, delta: np.ndarray, arm: NormalRun, rng: np.random.Generator) -> None:
    """Joints 1-3 knocked off their path with a current spike; the accelerometer rings.

    Parameters
    ----------
    w : FaultWindow
    delta : numpy.ndarray, shape (span, 28)
        Change of the noise-free channels from row ``w.start``; written.
    arm : NormalRun
    rng : numpy.random.Generator
    """
    sl = slice(0, w.end + 1 - w.start)  # rows of delta
    m = w.end - w.start + 1
    u = (np.arange(m) + 0.5) / m
    bump = np.sin(np.pi * u) ** 2
    dur = m / arm.rate_hz
    joints = rng.choice(3, size=int(rng.integers(1, 3)), replace=False)  # base, shoulder, elbow
    i_scale = np.array([1.5, 3.5, 2.0])
    for k in joints:
        sign = rng.choice([-1.0, 1.0])
        dev = sign * rng.uniform(0.005, 0.03)  # rad, servo compliance
        delta[sl, POS[k]] = dev * bump
        delta[sl, VEL[k]] = dev * (np.pi / dur) * np.sin(2.0 * np.pi * u)
        delta[sl, CUR[k]] = -sign * rng.uniform(2.0, 4.0) * i_scale[k] * bump
        w.channels.update((POS[k], VEL[k], CUR[k]))
    direction = rng.uniform(0.3, 1.0, 3) * rng.choice([-1.0, 1.0], 3)
    direction /= np.linalg.norm(direction)
    freq = min(25.0, 0.3 * arm.rate_hz)
    ring = np.cos(2.0 * np.pi * freq * (arm.t[w.start : w.end + 1] - arm.t[w.start]) + rng.uniform(-0.5, 0.5))
    amp = rng.uniform(15.0, 40.0)
    delta[sl, ACC[0]] = amp * direction[0] * np.sin(np.pi * u) * ring
    delta[sl, ACC[1]] = amp * direction[1] * np.sin(np.pi * u) * ring
    delta[sl, ACC[2]] = amp * direction[2] * np.sin(np.pi * u) * ring
    w.channels.update(ACC)


@physical_fault("friction", duration_s=(20.0, 60.0))
def friction(w: FaultWindow, delta: np.ndarray, arm: NormalRun, rng: np.random.Generator) -> None:
    """Viscous and Coulomb friction of one joint x2.5-4.

    Parameters
    ----------
    w : FaultWindow
    delta : numpy.ndarray, shape (span, 28)
        Change of the noise-free channels from row ``w.start``; written.
    arm : NormalRun
    rng : numpy.random.Generator
    """
    k = int(rng.integers(N_JOINTS))
    factor = rng.uniform(2.5, 4.0)
    delta[: w.end + 1 - w.start, CUR[k]] = (factor - 1.0) * arm.friction[w.start : w.end + 1, k] / K[k]
    w.channels.add(CUR[k])


@sensor_fault("sensor_freeze", duration_s=(5.0, 30.0))
def sensor_freeze(w: FaultWindow, meas: np.ndarray, rng: np.random.Generator) -> None:
    """One channel repeats its last reading (the row before the window).

    Freezing before encoder quantisation gives the same readings as freezing after it:
    quantisation acts on each value alone, and no other fault touches these rows.

    Parameters
    ----------
    w : FaultWindow
    meas : numpy.ndarray, shape (n_rows, 28)
        Readings; changed in place.
    rng : numpy.random.Generator
    """
    c = int(rng.integers(len(CHANNELS)))
    w.channels.add(c)
    meas[w.start : w.end + 1, c] = meas[w.start - 1, c]


@sensor_fault("noise_burst", duration_s=(5.0, 20.0))
def noise_burst(w: FaultWindow, meas: np.ndarray, rng: np.random.Generator) -> None:
    """One to three channels get 8-25x their usual noise.

    Parameters
    ----------
    w : FaultWindow
    meas : numpy.ndarray, shape (n_rows, 28)
        Readings; changed in place.
    rng : numpy.random.Generator
    """
    cols = np.sort(rng.choice(len(CHANNELS), size=int(rng.integers(1, 4)), replace=False))
    gain = rng.uniform(8.0, 25.0, cols.size)
    meas[w.start : w.end + 1, cols] += rng.standard_normal((w.end - w.start + 1, cols.size)) * gain * NOISE_STD[cols]
    w.channels.update(cols.tolist())


@sensor_fault("encoder_drift", duration_s=(20.0, 60.0))
def encoder_drift(w: FaultWindow, meas: np.ndarray, rng: np.random.Generator) -> None:
    """One joint's position reading drifts linearly up to 0.02-0.08 rad away from the truth.

    Parameters
    ----------
    w : FaultWindow
    meas : numpy.ndarray, shape (n_rows, 28)
        Readings; changed in place.
    rng : numpy.random.Generator
    """
    k = int(rng.integers(N_JOINTS))
    total = rng.uniform(0.02, 0.08) * rng.choice([-1.0, 1.0])
    m = w.end - w.start + 1
    meas[w.start : w.end + 1, POS[k]] += total * np.arange(1, m + 1) / m
    w.channels.add(POS[k])


@physical_fault("payload_change", duration_s=(15.0, 45.0), extension_s=_HOLD_EXTENSION_S)
def payload_change(w: FaultWindow, delta: np.ndarray, arm: NormalRun, rng: np.random.Generator) -> None:
    """Parts 1-2.5 kg heavier during the holding phases that begin in the window (to their ends).

    Parameters
    ----------
    w : FaultWindow
        Its end is extended to the end of the last holding phase begun in it.
    delta : numpy.ndarray, shape (span, 28)
        Change of the noise-free channels from row ``w.start``; written.
    arm : NormalRun
    rng : numpy.random.Generator

    Raises
    ------
    RuntimeError
        If no holding phase begins in the window (windows are longer than a cycle).
    """
    extra = rng.uniform(1.0, 2.5)
    runs = holding_runs(arm.holding)
    runs = runs[(runs[:, 0] >= w.start) & (runs[:, 0] <= w.end)]
    if len(runs) == 0:
        raise RuntimeError(f"{w.kind} window has no holding phase")
    rows = np.concatenate([np.arange(a, b + 1) for a, b in runs])
    w.end = max(w.end, int(rows[-1]))
    delta[np.ix_(rows - w.start, CUR)] = extra * arm.sens[rows] / K
    w.channels.update((CUR[1], CUR[2]))


@physical_fault("gripper_slip", duration_s=(10.0, 30.0), extension_s=_HOLD_EXTENSION_S)
def gripper_slip(w: FaultWindow, delta: np.ndarray, arm: NormalRun, rng: np.random.Generator) -> None:
    """Holding current drops to ~55 % and oscillates; in half of the runs the part is lost.

    Parameters
    ----------
    w : FaultWindow
        Its end is extended to the end of the holding phase in progress.
    delta : numpy.ndarray, shape (span, 28)
        Change of the noise-free channels from row ``w.start``; written.
    arm : NormalRun
    rng : numpy.random.Generator
    """
    runs = holding_runs(arm.holding)
    runs = runs[(runs[:, 1] >= w.start) & (runs[:, 0] <= w.end)]
    freq = rng.uniform(3.0, 6.0)
    lost = bool(rng.random() < 0.5)
    t, grip = arm.t, arm.grip
    for a, b in runs:
        a = max(int(a), w.start)
        rows = np.arange(a, b + 1)
        new = grip[rows] * (0.55 + 0.2 * np.sin(2.0 * np.pi * freq * (t[rows] - t[a])))
        if lost:
            after = rows >= a + int(rng.uniform(0.2, 0.6) * (b - a + 1))
            new[after] = 0.25 + 0.02 * np.sin(2.0 * np.pi * freq * t[rows[after]])
            lost_rows = rows[after]
            delta[np.ix_(lost_rows - w.start, CUR)] = -(arm.payload[lost_rows, None] * arm.sens[lost_rows]) / K
        delta[rows - w.start, GRIP] = new - grip[rows]
        w.end = max(w.end, int(b))
    w.channels.add(GRIP)


@physical_fault("overheating", duration_s=(30.0, 90.0))
def overheating(w: FaultWindow, delta: np.ndarray, arm: NormalRun, rng: np.random.Generator) -> CoolingFailure:
    """Cooling failure of one joint: thermal resistance x2-4 plus 4-10 W no longer carried away.

    Parameters
    ----------
    w : FaultWindow
    delta : numpy.ndarray, shape (span, 28)
        Left unchanged: only the thermal model sees this fault.
    arm : NormalRun
    rng : numpy.random.Generator

    Returns
    -------
    CoolingFailure
    """
    k = int(rng.integers(N_JOINTS))
    factor = rng.uniform(2.0, 4.0)
    extra_w = rng.uniform(4.0, 10.0)
    w.channels.add(TEMP[k])
    return CoolingFailure(k, w.start, w.end, factor, extra_w)


#: Injectable fault types, in canonical order.
FAULT_TYPES: tuple[str, ...] = tuple(REGISTRY)
