"""Which sensor: rank channels by their share of the reconstruction error."""

from __future__ import annotations

import numpy as np
import pandas as pd


def top_channels(errors: pd.DataFrame, k: int = 3) -> pd.Series:
    """Names of the ``k`` channels with the largest error at each step.

    Parameters
    ----------
    errors : pandas.DataFrame of shape (n_steps, n_channels)
        Per-step, per-channel error (e.g. from ``Detector.errors``).
    k : int
        How many channels to name (capped at n_channels).

    Returns
    -------
    pandas.Series of str, shape (n_steps,)
        Channel names joined by ``";"``, largest error first; same index as ``errors``.
    """
    values = errors.to_numpy()
    k = max(1, min(k, values.shape[1]))
    part = np.argpartition(-values, k - 1, axis=1)[:, :k]
    order = np.take_along_axis(part, np.argsort(-np.take_along_axis(values, part, axis=1), axis=1), axis=1)
    names = np.asarray(errors.columns, dtype=object)[order]
    joined = names[:, 0].astype(str)
    for j in range(1, k):
        joined = np.char.add(np.char.add(joined, ";"), names[:, j].astype(str))
    return pd.Series(joined.astype(object), index=errors.index, name="top_channels")
