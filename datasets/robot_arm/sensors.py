"""Channel layout and sensor model of the simulated robot arm.

* **Channels.** 28 float32 columns (:data:`CHANNELS`): position (rad), velocity (rad/s),
  motor current (A) and temperature (degC) of each of the 6 joints, the gripper current (A)
  and the tool accelerometer (m/s^2).
* **Sensors.** Absolute encoders (quantised to 2^19 counts/rev plus 1e-5 rad noise), velocity
  from the drive (0.005 rad/s noise), currents with noise of 2-3 % of their range, temperatures
  0.05 degC, accelerometer 0.05 m/s^2.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "ACC",
    "CHANNELS",
    "CUR",
    "ENC_Q",
    "GRIP",
    "NOISE_STD",
    "N_JOINTS",
    "POS",
    "SIGNIFICANCE",
    "TEMP",
    "VEL",
    "add_noise",
    "quantise_encoders",
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

#: A channel counts as touched by a fault when its noise-free value moves by more than this
#: fraction of its noise standard deviation during the event.
SIGNIFICANCE = 0.5


def add_noise(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Turn noise-free values into readings by adding Gaussian sensor noise, in place.

    Parameters
    ----------
    truth : numpy.ndarray of float64, shape (n_rows, 28)
        Noise-free channel values; overwritten.
    rng : numpy.random.Generator
        Stream of the sensor noise; one float32 standard normal per cell is drawn.

    Returns
    -------
    numpy.ndarray of float64, shape (n_rows, 28)
        ``truth`` itself, now holding the noisy readings.
    """
    noise = rng.standard_normal(truth.shape, dtype=np.float32)
    truth += noise * NOISE_STD.astype(np.float32)
    return truth


def quantise_encoders(meas: np.ndarray) -> None:
    """Round the joint position readings to whole encoder counts (:data:`ENC_Q`), in place.

    Parameters
    ----------
    meas : numpy.ndarray of float64, shape (n_rows, 28)
        Readings; the position columns are replaced.
    """
    meas[:, POS] = np.round(meas[:, POS] / ENC_Q) * ENC_Q
