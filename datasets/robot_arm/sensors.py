"""Channel layout and sensor model of the simulated robot arm.

* **Channels.** 28 float32 columns (:data:`CHANNELS`): position (rad), velocity (rad/s),
  motor current (A) and temperature (degC) of each of the 6 joints, the gripper current (A)
  and the tool accelerometer (m/s^2).
* **Sensors.** Absolute encoders (quantised to 2^19 counts/rev plus 1e-5 rad noise), velocity
  from the drive (0.005 rad/s noise), currents with noise of 2-3 % of their range, temperatures
  0.05 degC, accelerometer 0.05 m/s^2.
* **Sensor spread within spec** (optional, per run: ``simulate(sensor_bias=...)``): each
  channel gets a constant offset of up to :data:`BIAS_SPEC` and a noise level of
  ``NOISE_STD`` times 0.8-1.25 (:data:`NOISE_SPEC_FACTOR`), as another set of sensors of the
  same type (or the same sensors after a recalibration) would read.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACC",
    "BIAS_SPEC",
    "CHANNELS",
    "CUR",
    "ENC_Q",
    "GRIP",
    "NOISE_SPEC_FACTOR",
    "NOISE_STD",
    "N_JOINTS",
    "POS",
    "SIGNIFICANCE",
    "TEMP",
    "VEL",
    "add_noise",
    "quantise_encoders",
    "sensor_spread",
]

#: Names of the 28 float32 channels of :attr:`SimulatedRun.frame`, in column order. Units: rad,
#: rad/s, A, degC for each joint; A for the gripper; m/s^2 for the tool accelerometer.
CHANNELS: list[str] = [
    f"j{i}_{kind}" for i in range(1, 7) for kind in ("pos", "vel", "current", "temp")
] + ["gripper_current", "acc_x", "acc_y", "acc_z"]

#: Number of joints.
N_JOINTS = 6

_CH = {name: i for i, name in enumerate(CHANNELS)}
#: Column indices of the joint positions, velocities, currents and temperatures (joint 1 first).
POS = [_CH[f"j{k}_pos"] for k in range(1, 7)]
VEL = [_CH[f"j{k}_vel"] for k in range(1, 7)]
CUR = [_CH[f"j{k}_current"] for k in range(1, 7)]
TEMP = [_CH[f"j{k}_temp"] for k in range(1, 7)]
#: Column index of the gripper current.
GRIP = _CH["gripper_current"]
#: Column indices of ``acc_x``, ``acc_y``, ``acc_z``.
ACC = [_CH["acc_x"], _CH["acc_y"], _CH["acc_z"]]

#: Encoder quantum (rad): 2^19 counts per revolution.
ENC_Q = 2.0 * np.pi / 2**19

#: Sensor noise standard deviation per channel, in the channel's unit, shape (28,).
NOISE_STD = np.empty(len(CHANNELS))
NOISE_STD[POS] = 1e-5
NOISE_STD[VEL] = 5e-3
NOISE_STD[CUR] = [0.09, 0.07, 0.035, 0.009, 0.01, 0.008]  # ~2-3 % of each range
NOISE_STD[TEMP] = 0.05
NOISE_STD[GRIP] = 0.02
NOISE_STD[ACC] = 0.05

#: Largest constant offset per channel a sensor within its spec shows, in the channel's unit,
#: shape (28,): encoder zero offset 1e-4 rad (about 20 arcsec, 13 counts), drive velocity
#: offset 1e-3 rad/s, current sensor zero offset 1 % of full scale (0.4 x its noise), winding
#: temperature sensor 0.5 degC (class B Pt100 at 40 degC), gripper current 0.01 A, calibrated
#: MEMS accelerometer zero-g offset 0.2 m/s^2 (20 mg).
BIAS_SPEC = np.empty(len(CHANNELS))
BIAS_SPEC[POS] = 1e-4
BIAS_SPEC[VEL] = 1e-3
BIAS_SPEC[CUR] = 0.4 * NOISE_STD[CUR]
BIAS_SPEC[TEMP] = 0.5
BIAS_SPEC[GRIP] = 0.01
BIAS_SPEC[ACC] = 0.2

#: A sensor within its spec has a noise standard deviation between ``NOISE_STD / factor`` and
#: ``NOISE_STD * factor``.
NOISE_SPEC_FACTOR = 1.25

#: A channel counts as touched by a fault when its noise-free value moves by more than this
#: fraction of its noise standard deviation during the event.
SIGNIFICANCE = 0.5


def add_noise(truth: np.ndarray, rng: np.random.Generator, noise_std: np.ndarray = NOISE_STD) -> np.ndarray:
    """Turn noise-free values into readings by adding Gaussian sensor noise, in place.

    Parameters
    ----------
    truth : numpy.ndarray of float64, shape (n_rows, 28)
        Noise-free channel values; overwritten.
    rng : numpy.random.Generator
        Stream of the sensor noise; one float32 standard normal per cell is drawn.
    noise_std : numpy.ndarray, shape (28,), default NOISE_STD
        Noise standard deviation per channel, in the channel's unit.

    Returns
    -------
    numpy.ndarray of float64, shape (n_rows, 28)
        ``truth`` itself, now holding the noisy readings.
    """
    noise = rng.standard_normal(truth.shape, dtype=np.float32)
    truth += noise * np.asarray(noise_std).astype(np.float32)
    return truth


def sensor_spread(scale: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Draw one run's sensor offsets and noise levels within spec.

    Parameters
    ----------
    scale : float
        Fraction of the spec, 0 .. 1: offsets are uniform in ``+-scale * BIAS_SPEC`` and noise
        factors log-uniform in ``NOISE_SPEC_FACTOR ** (+-scale)``. Draws do not depend on
        ``scale``, so the same stream at half the scale gives half the offsets.
    rng : numpy.random.Generator
        Stream of the operating conditions; 56 uniform numbers are drawn.

    Returns
    -------
    offset : numpy.ndarray, shape (28,)
        Constant offset per channel, in the channel's unit.
    noise_std : numpy.ndarray, shape (28,)
        Noise standard deviation per channel, in the channel's unit.
    """
    u = rng.uniform(-1.0, 1.0, (2, len(CHANNELS)))
    offset = scale * u[0] * BIAS_SPEC
    noise_std = NOISE_STD * NOISE_SPEC_FACTOR ** (scale * u[1])
    return offset, noise_std


def quantise_encoders(meas: np.ndarray) -> None:
    """Round the joint position readings to whole encoder counts (:data:`ENC_Q`), in place.

    Parameters
    ----------
    meas : numpy.ndarray of float64, shape (n_rows, 28)
        Readings; the position columns are replaced.
    """
    meas[:, POS] = np.round(meas[:, POS] / ENC_Q) * ENC_Q
