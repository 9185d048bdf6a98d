"""The output table of batch scoring (:func:`score_table`)."""

from __future__ import annotations

import pandas as pd

from anomaly.attribution import top_channels

__all__ = ["score_table"]


def score_table(errors: pd.DataFrame, scores: pd.Series, flags: pd.Series, *, top_k: int = 3,
                with_errors: bool = False, head=None) -> pd.DataFrame:
    """The table ``anomaly score`` writes: score, flag, top_channels (and ``err:<channel>``) per row.

    Parameters
    ----------
    errors : DataFrame (n_steps, n_channels); scores : Series (n_steps,); flags : Series[bool] (n_steps,)
        Aligned on the same index (as :meth:`~anomaly.base.Detector.evaluate_frame` returns them).
    head : ScoreHead, optional
        The detector's ``head_``: ``top_channels`` then ranks its calibrated errors (each
        channel in units of its normal 99th percentile when the aggregate is calibrated).

    Returns
    -------
    pandas.DataFrame of shape (n_steps, 3) or (n_steps, 3 + n_channels)
    """
    ranked = errors if head is None else pd.DataFrame(head.calibrated(errors.to_numpy()), index=errors.index,
                                                      columns=errors.columns)
    table = pd.concat([scores, flags, top_channels(ranked, top_k)], axis=1)
    return pd.concat([table, errors.add_prefix("err:")], axis=1) if with_errors else table
