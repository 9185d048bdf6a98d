"""Apply registered faults to a run: physical ones to the noise-free values, sensor ones to the readings."""

from __future__ import annotations

import math

import numpy as np

from datasets.robot_arm.faults import PHYSICAL, REGISTRY, SENSOR, FaultWindow
from datasets.robot_arm.normal import NormalRun
from datasets.robot_arm.physics import CoolingFailure, thermal
from datasets.robot_arm.sensors import CHANNELS, CUR, NOISE_STD, SIGNIFICANCE, TEMP

__all__ = ["inject_physical", "inject_sensor"]


def inject_physical(windows: list[FaultWindow], arm: NormalRun, rng: np.random.Generator) -> np.ndarray:
    """Noise-free readings of the run with its physical faults, and their channel attribution.

    Faults are applied in window order. After each, every channel it moves by more than
    ``SIGNIFICANCE`` x its noise standard deviation joins ``window.channels``, and the
    temperatures are simulated again from the changed currents (and cooling failures): a joint
    whose temperature moves by that much within the window joins as well.

    Parameters
    ----------
    windows : list of FaultWindow
        Time-ordered; physical ones get their channels and possibly a later end.
    arm : NormalRun
        The fault-free run.
    rng : numpy.random.Generator
        Stream of the faults.

    Returns
    -------
    numpy.ndarray of float64, shape (n_rows, 28)
        Noise-free values of all channels, in :data:`~datasets.robot_arm.sensors.CHANNELS` order.
    """
    n = len(arm.t)
    truth = arm.truth()
    current = arm.current.copy()
    temps = arm.temps
    failures: list[CoolingFailure] = []
    thr = SIGNIFICANCE * NOISE_STD
    for w in windows:
        fault = REGISTRY[w.kind]
        if fault.stage != PHYSICAL:
            continue
        # additive change of the noise-free channels on rows w.start .. (room for an extension)
        # (extensions cover holding phases, which a speed override stretches by 1 / speed)
        span = min(n, w.end + 1 + math.ceil(fault.extension_s / arm.speed * arm.rate_hz)) - w.start
        delta = np.zeros((span, len(CHANNELS)))
        failure = fault.inject(w, delta, arm, rng)
        if failure is not None:
            failures.append(failure)
        sl = slice(w.start, w.end + 1)
        delta = delta[: w.end + 1 - w.start]
        moved = np.abs(delta).max(axis=0) > thr
        w.channels.update(np.flatnonzero(moved).tolist())
        truth[sl] += delta  # current/temperature columns are replaced below
        current[sl] += delta[:, CUR]
        new_temps = thermal(current, arm.ambient, arm.temp0, arm.dt, failures)
        dtemp = np.abs(new_temps[sl] - temps[sl]).max(axis=0)
        w.channels.update(TEMP[k] for k in np.flatnonzero(dtemp > thr[TEMP]))
        temps = new_temps
    truth[:, CUR] = current
    truth[:, TEMP] = temps
    return truth


def inject_sensor(windows: list[FaultWindow], meas: np.ndarray, rng: np.random.Generator) -> None:
    """Apply the sensor faults to noisy readings, in window order.

    Parameters
    ----------
    windows : list of FaultWindow
        Sensor ones get their channels.
    meas : numpy.ndarray of float64, shape (n_rows, 28)
        Readings before encoder quantisation; changed in place.
    rng : numpy.random.Generator
        Stream of the faults, after :func:`inject_physical` used it.
    """
    for w in windows:
        fault = REGISTRY[w.kind]
        if fault.stage == SENSOR:
            fault.inject(w, meas, rng)
