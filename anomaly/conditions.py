"""Condition channels: slow or declared channels modelled by their change, not their level.

An ambient temperature, a payload or a new session moves some channels to a new level that is
normal. A model that reconstructs such a channel's absolute level calls every row of a cooler
day anomalous (a motor temperature with 0.05 degC of noise makes a 1.6 degC shift a 30-sigma
event). :class:`ConditionChannels` replaces each condition channel ``x`` by its change over
``lag`` rows, ``x[t] - x[t - lag]``, before the detector sees it: a constant offset cancels, a
slow drift becomes a small constant, a sudden change still shows for ``lag`` rows.

Which channels: the ones declared (``conditions=["j1_temp", ...]``) or, with
``conditions="auto"``, the *quasi-static* channels of the training data: channels whose lag-1
autocorrelation is below :data:`AUTO_MAX_AUTOCORRELATION`, i.e. white noise around a level
(a temperature at steady state). Their level carries no information inside a session, so any
other level is a condition, not a fault.
"""

from __future__ import annotations

import numpy as np

from anomaly.errors import ConfigError, SchemaError

#: Change horizon in seconds when the sampling rate is known.
LAG_SECONDS = 10.0
#: Change horizon in rows when it is not (e.g. SMD's unlabelled 1-minute rows).
LAG_ROWS = 100
#: ``conditions="auto"`` takes channels whose lag-1 autocorrelation is below this.
AUTO_MAX_AUTOCORRELATION = 0.3


def lag_rows(sampling_rate: float | None) -> int:
    """Rows of the change horizon: :data:`LAG_SECONDS` at ``sampling_rate`` Hz, else :data:`LAG_ROWS`."""
    if sampling_rate and np.isfinite(sampling_rate) and sampling_rate > 0:
        return max(1, int(round(LAG_SECONDS * sampling_rate)))
    return LAG_ROWS


def quasi_static(parts: list[np.ndarray]) -> np.ndarray:
    """Indices of channels that are white noise around a level in every log (lag-1 autocorrelation
    below :data:`AUTO_MAX_AUTOCORRELATION`); ``parts`` are scaled logs (n_i, c)."""
    n_channels = parts[0].shape[1]
    autocorrelation = np.ones(n_channels)
    for Z in parts:
        if len(Z) < 3:
            continue
        x = Z.astype(np.float64) - Z.mean(axis=0)
        denominator = np.maximum((x * x).sum(axis=0), 1e-300)
        autocorrelation = np.minimum(autocorrelation, (x[1:] * x[:-1]).sum(axis=0) / denominator)
    return np.flatnonzero(autocorrelation < AUTO_MAX_AUTOCORRELATION)


def choose(conditions, channels: tuple[str, ...], parts: list[np.ndarray]) -> np.ndarray:
    """Indices of the condition channels for the ``conditions`` parameter (None, "auto" or names)."""
    if conditions is None:
        return np.zeros(0, dtype=np.int64)
    if isinstance(conditions, str):
        if conditions != "auto":
            raise ConfigError(f"conditions={conditions!r} must be None, 'auto' or a list of channel names")
        return quasi_static(parts)
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
