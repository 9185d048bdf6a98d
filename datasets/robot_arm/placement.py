"""Where faults go in a run and how long they stay labelled."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from anomaly.errors import ConfigError
from datasets.robot_arm.faults import FAULT_TYPES, REGISTRY, FaultWindow
from datasets.robot_arm.sensors import N_JOINTS, TEMP

__all__ = ["GAP_S", "THERMAL_LABEL_C", "extend_thermal_labels", "parse_faults", "place_faults"]

#: Minimum normal operation (s) between faults and before the end of the run.
GAP_S = 5.0
#: A fault stays labelled while a joint it heated is this much (degC, 5 x noise) off the fault-free run.
THERMAL_LABEL_C = 0.25


def parse_faults(faults: Sequence[str] | str) -> list[str]:
    """Fault types to inject, one entry per fault.

    Parameters
    ----------
    faults : sequence of str or str
        Names from :data:`~datasets.robot_arm.faults.FAULT_TYPES`; ``"all"`` for each type once;
        a single name may be a plain string.

    Returns
    -------
    list of str

    Raises
    ------
    anomaly.errors.ConfigError
        On an unknown name.
    """
    if isinstance(faults, str):
        faults = list(FAULT_TYPES) if faults == "all" else [faults]
    kinds = list(faults)
    for k in kinds:
        if k not in FAULT_TYPES:
            raise ConfigError(f"unknown fault type {k!r}; expected 'all' or names from FAULT_TYPES = {FAULT_TYPES}")
    return kinds


def place_faults(
    kinds: list[str], n: int, rate_hz: float, duration_s: float, rng: np.random.Generator, speed: float = 1.0
) -> list[FaultWindow]:
    """Random non-overlapping fault windows after the first 10 % of the run.

    Each window gets a duration drawn from its type's range (shrunk towards the minimum when
    the run is short), room for its type's extension, and at least :data:`GAP_S` of normal
    operation before the next window and before the end of the run.

    Parameters
    ----------
    kinds : list of str
        Fault types, one per window.
    n : int
        Number of rows.
    rate_hz : float
        Sample rate (Hz).
    duration_s : float
        Length of the run (s), for the error message.
    rng : numpy.random.Generator
        Stream of the faults.
    speed : float, default 1.0
        Speed override of the run: extensions (holding phases) are ``1 / speed`` times longer.

    Returns
    -------
    list of FaultWindow
        Ordered by time, no channels yet.

    Raises
    ------
    anomaly.errors.ConfigError
        When the faults cannot fit into the run.
    """
    if not kinds:
        return []
    k = len(kinds)
    lo = math.ceil(0.1 * n)
    gap = math.ceil(GAP_S * rate_hz)
    hi = n - gap  # exclusive end of the usable region
    avail = hi - lo
    dmin = np.array([REGISTRY[x].duration_s[0] for x in kinds])
    dmax = np.array([REGISTRY[x].duration_s[1] for x in kinds])
    ext = np.array([REGISTRY[x].extension_s for x in kinds]) / speed
    need_rows = int(np.sum(np.maximum(1, np.round(dmin * rate_hz)) + np.ceil(ext * rate_hz))) + gap * (k - 1)
    if need_rows > avail:
        raise ConfigError(
            f"cannot fit faults {kinds} into duration_s={duration_s:g}: they need at least "
            f"{need_rows / rate_hz:.1f} s after the first 10 % of the run (plus {GAP_S:g} s at the end), "
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
        windows.append(FaultWindow(kinds[i], pos, pos + int(rows[i]) - 1))
        pos += int(res[i]) + gap
    return windows


def extend_thermal_labels(windows: list[FaultWindow], temps: np.ndarray, clean_temps: np.ndarray, n: int) -> None:
    """Keep faults labelled while the joints they heated are still off (heat takes minutes to leave).

    A fault's own label is extended while its joints are more than :data:`THERMAL_LABEL_C` off
    the fault-free run, up to the row before the next fault. Heat that outlasts a later fault
    becomes extra events on the still-hot temperature channels, so no abnormal row is labelled
    normal, of the kind of the latest fault that heated one of those joints (of the latest
    thermal fault before them when none named them).

    Parameters
    ----------
    windows : list of FaultWindow
        Time-ordered windows after the physical faults; ends are extended and extra windows
        inserted in place (the list stays time-ordered).
    temps, clean_temps : numpy.ndarray, shape (n_rows, 6)
        Joint temperatures (degC) with and without the faults.
    n : int
        Number of rows.
    """
    hot = np.abs(temps - clean_temps) > THERMAL_LABEL_C  # (n, 6)
    thermal = []
    for i, w in enumerate(windows):
        joints = [k for k in range(N_JOINTS) if TEMP[k] in w.channels]
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
        joints = np.flatnonzero(hot[start:stop].any(axis=0))
        before = [w for w in thermal if w.end < start]
        heated = [w for w in before if any(TEMP[k] in w.channels for k in joints)]
        cause = max(heated or before, key=lambda w: w.end)
        windows.append(FaultWindow(cause.kind, int(start), int(stop - 1), {TEMP[k] for k in joints}))
    windows.sort(key=lambda w: w.start)
