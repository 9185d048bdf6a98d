"""Condition channels: slow or declared channels modelled by their change, not their level.

An ambient temperature, a payload or a new session moves some channels to a new level that is
normal. A model that reconstructs such a channel's absolute level calls every row of a cooler
day anomalous (a motor temperature with 0.05 degC of noise makes a 1.6 degC shift a 30-sigma
event). :class:`ConditionChannels` replaces each condition channel ``x`` by its change over
``lag`` rows, ``x[t] - x[t - lag]``, before the detector sees it: a constant offset cancels, a
slow drift becomes a small constant, a sudden change still shows for ``lag`` rows.

Which channels: the ones declared (``conditions=["j1_temp", ...]``) or, with
``conditions="auto"``, the *slow* channels of the training data (:func:`slow_channels`): in
every training log, most of the channel's variance is slower than the change horizon (a
temperature warming up or following the day, a slowly filling tank). Their level carries the
session (the day, the warm-up), not the robot's behaviour inside it, so another level is a
condition, not a fault. Fast channels (positions, currents, vibration, or any channel that is
noise around a set point) keep their levels: a level shift there is what faults look like. A
temperature that only shows sensor noise around one level in training cannot be told from such
a set point: declare it.
"""

from __future__ import annotations

import re

import numpy as np

from anomaly.errors import ConfigError, SchemaError

#: Change horizon in seconds when the sampling rate is known.
LAG_SECONDS = 10.0
#: Change horizon in rows when it is not (e.g. SMD's unlabelled 1-minute rows).
LAG_ROWS = 100
#: ``conditions="auto"`` takes channels whose fast part (the log minus its moving average over
#: the change horizon) holds less than this share of their variance in every training log.
AUTO_MAX_FAST_SHARE = 0.25


def lag_rows(sampling_rate: float | None) -> int:
    """Rows of the change horizon: :data:`LAG_SECONDS` at ``sampling_rate`` Hz, else :data:`LAG_ROWS`."""
    if sampling_rate and np.isfinite(sampling_rate) and sampling_rate > 0:
        return max(1, int(round(LAG_SECONDS * sampling_rate)))
    return LAG_ROWS


def _fast_part(x: np.ndarray, lag: int) -> np.ndarray:
    """``x`` (n, c) minus its centred moving average over ``lag`` rows (>= 1, < n); only rows
    with a full window, shape (n - lag + 1, c)."""
    sums = np.cumsum(np.vstack([np.zeros((1, x.shape[1])), x]), axis=0)
    means = (sums[lag:] - sums[:-lag]) / lag
    middle = lag // 2
    return x[middle : middle + len(means)] - means


def slow_channels(parts: list[np.ndarray], lag: int) -> np.ndarray:
    """Indices of the channels that are slow in every log of ``parts`` (scaled logs (n_i, c)).

    A channel is slow in a log when its fast part (:func:`_fast_part` over ``lag`` rows) holds
    less than :data:`AUTO_MAX_FAST_SHARE` of its variance. White noise around a set point keeps
    all of it (and is not slow), a cyclic motion of a few seconds nearly all, a warm-up of
    minutes almost none. A log of at most ``2 * lag`` rows is too short to tell and a log in
    which the channel is constant says nothing; a channel with nothing said is not slow.
    """
    slow = np.ones(parts[0].shape[1], dtype=bool)
    seen = np.zeros_like(slow)
    for Z in parts:
        if len(Z) <= 2 * lag:
            continue
        x = Z.astype(np.float64)
        total = x.var(axis=0)
        moving = total > 0
        slow &= (_fast_part(x, lag).var(axis=0) < AUTO_MAX_FAST_SHARE * total) | ~moving
        seen |= moving
    return np.flatnonzero(slow & seen)


#: Name tokens of a temperature channel (case-insensitive): :func:`temperature_channels`.
TEMPERATURE_TOKENS = frozenset({"temp", "temperature", "temperatures", "thermocouple", "thermistor"})


def temperature_channels(channels: tuple[str, ...]) -> list[str]:
    """The channels named as temperatures: a token of the name (split at anything but letters,
    and between a lower- and an upper-case letter) is in :data:`TEMPERATURE_TOKENS`
    (``j1_temp``, ``Temperature``, ``motorTemp``, ``field.temperature``; not ``tempo``).

    ``auto`` does not take them by name (a steady temperature's level is what shows the
    simulator's heating faults); ``anomaly fit`` names the ones it left at their level.
    """
    def tokens(name: str) -> set[str]:
        return {t.lower() for t in re.split(r"[^A-Za-z]+|(?<=[a-z])(?=[A-Z])", name) if t}
    return [name for name in channels if tokens(name) & TEMPERATURE_TOKENS]


def choose(conditions, channels: tuple[str, ...], parts: list[np.ndarray], lag: int) -> np.ndarray:
    """Indices of the condition channels for the ``conditions`` parameter (None, "auto" or names);
    ``lag`` is the change horizon in rows."""
    if conditions is None:
        return np.zeros(0, dtype=np.int64)
    if isinstance(conditions, str):
        if conditions != "auto":
            raise ConfigError(f"conditions={conditions!r} must be None, 'auto' or a list of channel names")
        return slow_channels(parts, lag)
    names = list(conditions)
    missing = [name for name in names if name not in channels]
    if missing:
        raise SchemaError(f"condition channel(s) {missing} not in the data; channels are {list(channels)}")
    return np.array(sorted(channels.index(name) for name in names), dtype=np.int64)


class ConditionChannels:
    """The fitted change transform of a detector.

    Parameters
    ----------
    indices : array-like of int
        Condition channels (positions in the schema).
    n_channels : int
    lag : int
        Rows of the change horizon.
    """

    def __init__(self, indices, n_channels: int, lag: int):
        self.indices = np.asarray(indices, dtype=np.int64)
        self.n_channels = int(n_channels)
        self.lag = int(lag) if len(self.indices) else 0
        self.mask = np.zeros(self.n_channels, dtype=np.float32)
        self.mask[self.indices] = 1.0

    @property
    def history(self) -> int:
        """Rows before the first transformed row (0 when there is no condition channel)."""
        return self.lag

    def transform(self, Z):
        """Rows (n, c) -> (n - lag, c): condition channels become their change over ``lag`` rows
        (NumPy arrays or Keras tensors alike: slicing and arithmetic only)."""
        if not self.lag:
            return Z
        return Z[self.lag :] - Z[: -self.lag] * self.mask

    def to_dict(self) -> dict:
        return {"indices": self.indices.tolist(), "n_channels": self.n_channels, "lag": self.lag}

    @classmethod
    def from_dict(cls, data: dict) -> ConditionChannels:
        return cls(data["indices"], data["n_channels"], data["lag"])
