"""Scaling fitted on normal data and the missing-value policy: the model core's input edge.

NaN policy (explicit, chosen by the caller):

``"raise"`` (default)
    Any NaN/inf is an error naming the column and row.
``"ffill"``
    Carry the last valid value forward (then backward for leading gaps).
``"interpolate"``
    Linear interpolation in row order (edges filled with the nearest value).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError

log = logging.getLogger(__name__)

SCALINGS = ("standard", "robust", "minmax", "none")
NAN_POLICIES = ("raise", "ffill", "interpolate")


def fill_missing(frame: pd.DataFrame, policy: str = "raise", *, source: str = "input") -> pd.DataFrame:
    """Apply the NaN policy to a frame of shape (n_steps, n_channels).

    Infinite values are treated as missing. With ``"raise"`` the frame is returned unchanged
    (validation later names the first NaN). A column that is entirely missing cannot be
    filled and raises :class:`DataError`.
    """
    if policy not in NAN_POLICIES:
        raise ConfigError(f"nan_policy={policy!r} is not one of {list(NAN_POLICIES)}")
    if policy == "raise":
        return frame
    numeric = frame.apply(pd.to_numeric, errors="coerce") if any(
        not pd.api.types.is_numeric_dtype(t) for t in frame.dtypes
    ) else frame
    numeric = numeric.replace([np.inf, -np.inf], np.nan)
    empty = numeric.columns[numeric.isna().all()]
    if len(empty):
        raise DataError(f"{source}: column {empty[0]!r} has no valid value to fill from")
    if policy == "ffill":
        return numeric.ffill().bfill()
    return numeric.interpolate(method="linear", limit_direction="both")


#: Scalings whose scale :meth:`Scaler.floor_at_resolution` raises to half a channel's resolution.
FLOORED_SCALINGS = ("standard", "robust")
#: :func:`resolution` reads the fitting data in blocks of this many rows.
RESOLUTION_BLOCK = 100_000


def resolution(x: np.ndarray) -> np.ndarray:
    """Each channel's resolution: the smallest change between two consecutive rows.

    A sensor read at a resolution (a temperature in whole or half degrees, a counter, a fan in
    steps of 60 rpm) changes by whole steps and flickers between neighbouring levels when its
    true value sits between them; a steady one that rarely flickers in training has a spread
    far below that one step. Every row counts (in blocks of :data:`RESOLUTION_BLOCK`), so a
    handful of flickers in millions of rows is seen.

    Parameters
    ----------
    x : ndarray of shape (n_steps, n_channels)

    Returns
    -------
    ndarray of shape (n_channels,)
        0 for a channel that never changes (continuous channels give changes near 0 anyway).
    """
    out = np.full(x.shape[1], np.inf)
    for start in range(0, max(len(x) - 1, 0), RESOLUTION_BLOCK):
        changes = np.abs(np.diff(np.asarray(x[start : start + RESOLUTION_BLOCK + 1], dtype=np.float64), axis=0))
        changes[changes <= 0] = np.inf
        np.minimum(out, changes.min(axis=0), out=out)
    return np.where(np.isfinite(out), out, 0.0)


def read_in_steps(steps, spread) -> np.ndarray:
    """Which channels (bool (k,)) of resolution ``steps`` (k,) sit on one level or flicker
    between two: a step and a spread ``spread`` (k,) (standard deviation, or the scale the
    scaler floored at half a step) of at most half of it."""
    steps = np.asarray(steps, dtype=np.float64)
    return (steps > 0) & (2.0 * np.asarray(spread, dtype=np.float64) <= steps * (1.0 + 1e-6))


def no_spread(spread, center) -> np.ndarray:
    """Which channels (bool (c,)) of spread ``spread`` (c,) around ``center`` (c,) are constant."""
    return np.asarray(spread) <= 1e-12 * np.maximum(1.0, np.abs(center))


def shared_resolution(steps, alike, spread) -> np.ndarray:
    """Resolution ``steps`` (k,) of channels (:func:`resolution`) with each ``alike`` channel
    (bool (k,)) that never changed (step 0) given the finest step of the other ``alike`` ones
    read in steps (``spread`` (k,), their standard deviations, at most half their step: their
    readings sit on one level or flicker between two); none: 0.

    The temperatures of one machine are read by sensors of one kind: a joint whose reading
    stayed at one half degree through training is read in half degrees like the others, and
    its first flicker in a later session is one step, not a move in a direction the model
    never saw vary. Beside temperatures read finely (their smallest change is their noise's,
    not a sensor's step) a constant one's step stays unknown.
    """
    steps = np.asarray(steps, dtype=np.float64).copy()
    alike = np.asarray(alike, dtype=bool)
    stepped = alike & read_in_steps(steps, spread)
    if stepped.any():
        steps[alike & (steps == 0)] = steps[stepped].min()
    return steps


def warn_constant(values: np.ndarray, channels, scaler: Scaler) -> None:
    """Log the channels (names ``channels``) constant in the fitting ``values`` (n_steps,
    n_channels): centred but not scaled, or, a temperature beside others read in steps, scaled
    by half their step (:func:`shared_resolution`)."""
    if scaler.method == "none":
        return
    x = np.asarray(values)
    flat = np.flatnonzero(no_spread(np.ptp(x, axis=0), scaler.center_))
    if not len(flat):
        return
    named = [channels[i] if scaler.scale_[i] == 1.0 else f"{channels[i]} (scaled by half the other temperatures' step, "
             f"{float(2 * scaler.scale_[i]):g})" for i in flat]
    log.warning("%d channel(s) are constant in the fitting data, centred and not scaled unless said: %s", len(flat),
                ", ".join(named))


class Scaler:
    """Per-channel scaling fitted on normal data.

    Parameters
    ----------
    method : {"standard", "robust", "minmax", "none"}, default="standard"
        ``standard``: (x - mean) / std; ``robust``: (x - median) / IQR; ``minmax``: to [0, 1]
        on the fitted range; ``none``: identity.

    Attributes
    ----------
    center_ : ndarray of shape (n_channels,), float32
    scale_ : ndarray of shape (n_channels,), float32
        Channels with zero spread get scale 1 (they would otherwise divide by zero).
    """

    def __init__(self, method: str = "standard"):
        self.method = method

    def fit(self, values: np.ndarray, *, warn: bool = True) -> Scaler:
        """Fit on ``values`` of shape (n_steps, n_channels); ``warn``: log how many channels are
        constant (a detector names them itself, :func:`warn_constant`)."""
        if self.method not in SCALINGS:
            raise ConfigError(f"scaling={self.method!r} is not one of {list(SCALINGS)}")
        x = np.asarray(values, dtype=np.float64)
        n = x.shape[1]
        if self.method == "standard":
            center, scale = x.mean(axis=0), x.std(axis=0)
        elif self.method == "robust":
            q25, center, q75 = np.percentile(x, [25, 50, 75], axis=0)
            scale = q75 - q25
        elif self.method == "minmax":
            center, scale = x.min(axis=0), x.max(axis=0) - x.min(axis=0)
        else:
            center, scale = np.zeros(n), np.ones(n)
        flat = no_spread(scale, center)
        if warn and flat.any() and self.method != "none":
            log.warning("%d channel(s) are constant in the fitting data; they are centred but not scaled", flat.sum())
        scale = np.where(flat, 1.0, scale)
        self.center_ = center.astype(np.float32)
        self.scale_ = scale.astype(np.float32)
        return self

    def floor_at_resolution(self, channels, steps, constant=None) -> bool:
        """Scale ``channels`` (indices) by at least half their resolution ``steps`` (same length,
        in the channels' units; :func:`resolution` of the fitting data): one step of a quantised
        reading is then at most two units, however rarely it flickered in training (``standard``
        and ``robust`` only). ``constant`` (bool, same length): channels with no spread in the
        fitting data, whose scale of 1 is a placeholder: scaled by exactly half their step
        when it is known (:func:`shared_resolution`).

        Returns
        -------
        bool
            Whether any scale changed.
        """
        channels = np.asarray(channels, dtype=np.int64)
        if self.method not in FLOORED_SCALINGS or not len(channels):
            return False
        floor = (np.asarray(steps, dtype=np.float64) / 2).astype(np.float32)
        raised = floor > self.scale_[channels]
        if constant is not None:
            raised |= np.asarray(constant, dtype=bool) & (floor > 0)
        self.scale_[channels[raised]] = floor[raised]
        return bool(raised.any())

    def transform(self, values: np.ndarray) -> np.ndarray:
        """Scale ``values`` of shape (n_steps, n_channels); returns float32 of the same shape."""
        if self.method == "none":
            return np.asarray(values, dtype=np.float32)
        out = np.subtract(values, self.center_, dtype=np.float32)
        out /= self.scale_
        return out

    def to_dict(self) -> dict:
        """JSON-serialisable form (method and fitted statistics)."""
        return {"method": self.method, "center": self.center_.tolist(), "scale": self.scale_.tolist()}

    @classmethod
    def from_dict(cls, data: dict) -> Scaler:
        """Inverse of :meth:`to_dict`."""
        scaler = cls(data["method"])
        scaler.center_ = np.asarray(data["center"], dtype=np.float32)
        scaler.scale_ = np.asarray(data["scale"], dtype=np.float32)
        return scaler
