"""Threshold kinds by name: the CLI's names and the JSON loader that dispatches on ``kind``."""

from __future__ import annotations

from anomaly.errors import ConfigError
from anomaly.thresholds.base import Threshold
from anomaly.thresholds.dynamic import Dynamic
from anomaly.thresholds.fixed import KSigma, Percentile, QuietLogs, SkabUCL, Sustained
from anomaly.thresholds.per_channel import PerChannel
from anomaly.thresholds.pot import POT

__all__ = ["THRESHOLDS", "threshold_from_dict"]

THRESHOLDS: dict[str, type[Threshold]] = {
    "percentile": Percentile,
    "ksigma": KSigma,
    "skab-ucl": SkabUCL,
    "pot": POT,
    "dynamic": Dynamic,
    "sustained": Sustained,
    "quiet-logs": QuietLogs,
}
"""CLI name -> threshold class for a detector's scores (n,). ``PerChannel`` is not here: it
thresholds the per-channel error matrix (n, n_channels), not a score."""

KINDS: dict[str, type[Threshold]] = {cls.__name__: cls for cls in (*THRESHOLDS.values(), PerChannel)}
"""Class name (the ``kind`` of :meth:`Threshold.to_dict`) -> class, for every saved kind."""


def threshold_from_dict(d: dict) -> Threshold:
    """Rebuild a threshold of any kind from :meth:`Threshold.to_dict` output.

    Dispatches on ``d["kind"]`` to that class's :meth:`Threshold.from_dict`.

    Parameters
    ----------
    d : dict
        ``{"kind": class name, "params": {...}, "threshold_": float or None,
        "state": {...}}``.

    Returns
    -------
    Threshold
        Fitted if ``d`` holds a fitted state, else unfitted.

    Raises
    ------
    ConfigError
        If ``d`` is malformed, ``kind`` is unknown, a parameter is unknown or out of
        range, ``threshold_`` is not a finite number or None, or the fitted state is
        missing or malformed.
    """
    if not isinstance(d, dict) or not {"kind", "params"} <= d.keys() or not isinstance(d["params"], dict):
        raise ConfigError(f"threshold dict {d!r} is malformed: need keys 'kind' and 'params' (a dict)")
    cls = KINDS.get(d["kind"]) if isinstance(d["kind"], str) else None
    if cls is None:
        raise ConfigError(f"threshold kind {d['kind']!r} is unknown: allowed are {sorted(KINDS)}")
    return cls.from_dict(d)
