"""How large a perturbation hides a detected fault: the median evasion epsilon.

For each labelled fault segment, :func:`fault_excerpts` takes the ``length`` rows centred on
the row where the detector's score peaks inside the segment (its strongest alarm for that
fault); :func:`evasion_robustness` then runs
:func:`~anomaly.generative.adversarial.smallest_epsilon` with goal "evade" on each excerpt,
scored on its own. An excerpt that raises no alarm even unperturbed is counted as already
missed, not as epsilon 0.
"""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from anomaly.errors import DataError
from anomaly.generative.adversarial import smallest_epsilon
from anomaly.validation import check_number


def labelled_segments(labels) -> list[tuple[int, int]]:
    """Runs of True in a boolean array (n,) as ``(start, end_exclusive)`` row positions."""
    flags = np.asarray(labels, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[False], flags, [False]]).astype(np.int8)))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def fault_excerpts(scores, labels, length: int, *, max_excerpts: int = 8) -> list[tuple[int, int]]:
    """Row ranges of ``length`` rows centred on each labelled segment's highest score.

    Parameters
    ----------
    scores : array-like of shape (n_steps,)
    labels : array-like of bool, shape (n_steps,)
    length : int
        Rows per excerpt (<= n_steps); an excerpt near an end is shifted inside the frame.
    max_excerpts : int, default=8
        With more segments, this many are taken, evenly spread over the segments in time order.

    Returns
    -------
    list of (start, end_exclusive)
    """
    values, flags = np.asarray(scores, dtype=np.float64), np.asarray(labels, dtype=bool)
    if values.shape != flags.shape or values.ndim != 1:
        raise DataError(f"scores and labels must be 1-D of equal length, got {values.shape} and {flags.shape}")
    check_number("length", length, low=1, high=len(values), integer=True)
    check_number("max_excerpts", max_excerpts, low=1, integer=True)
    segments = labelled_segments(flags)
    if len(segments) > max_excerpts:
        segments = [segments[i] for i in np.linspace(0, len(segments) - 1, max_excerpts).round().astype(int)]
    out = []
    for a, b in segments:
        peak = a + int(np.argmax(values[a:b]))
        start = min(max(peak - length // 2, 0), len(values) - length)
        out.append((start, start + length))
    return out


def default_length(detector) -> int:
    """Excerpt rows: two windows for window models, at least 32 rows."""
    return max(32, 2 * int(getattr(detector, "window", 1)))


def evasion_robustness(detector, frame: pd.DataFrame, labels, *, length: int | None = None, max_excerpts: int = 8,
                       **attack) -> dict:
    """Smallest evading perturbations of a detector on the labelled faults of one frame.

    Parameters
    ----------
    detector : fitted detector
    frame : pandas.DataFrame of shape (n_steps, n_channels)
    labels : array-like of bool, shape (n_steps,)
    length : int or None
        Excerpt rows; None: :func:`default_length`.
    max_excerpts : int, default=8
    **attack
        Passed to :func:`~anomaly.generative.adversarial.smallest_epsilon` (``max_epsilon``,
        ``rtol``, ``steps``, ...).

    Returns
    -------
    dict
        ``excerpts``: one record per excerpt, ``{"start": row, "status": "evaded" |
        "missed_unperturbed" | "not_evaded", "epsilon": float or None}``, plus
        :func:`summarise` of them.
    """

    length = default_length(detector) if length is None else length
    records = []
    scores = detector.without_sensor_checks().score(frame).to_numpy()  # the score the attacks move (no sensor checks)
    for a, b in fault_excerpts(scores, labels, length, max_excerpts=max_excerpts):
        eps = smallest_epsilon(detector, frame.iloc[a:b], goal="evade", **attack).epsilon
        status = "missed_unperturbed" if eps == 0.0 else ("not_evaded" if eps is None else "evaded")
        records.append({"start": a, "status": status, "epsilon": eps if status == "evaded" else None})
    return {"excerpts": records, **summarise(records)}


def summarise(records: list[dict]) -> dict:
    """Median evasion epsilon over the excerpts that raised an alarm unperturbed.

    A "not_evaded" excerpt counts as an infinite epsilon: ``median_evasion_epsilon`` is None
    when no excerpt raised an alarm or when more than half of those were not evaded.
    """
    detected = [np.inf if r["status"] == "not_evaded" else r["epsilon"] for r in records if r["status"] != "missed_unperturbed"]
    median = float(np.median(detected)) if detected else np.inf
    return {
        "median_evasion_epsilon": median if np.isfinite(median) else None,
        "n_excerpts": len(records),
        "missed_unperturbed": len(records) - len(detected),
        "not_evaded": sum(r["status"] == "not_evaded" for r in records),
    }


class RobustnessCollector:
    """``on_fit`` callback for :func:`pipelines.compare.run_detectors`: attacks every fitted
    detector on the labelled faults of its split's test data, up to ``max_excerpts`` excerpts
    per detector over all splits (taken from the first splits with faults).

    ``**attack`` goes to :func:`evasion_robustness`. :meth:`summary` gives, per detector,
    :func:`summarise` of its excerpts.
    """

    def __init__(self, *, max_excerpts: int = 8, **attack):
        self.max_excerpts, self.attack = max_excerpts, attack
        self.records: dict[str, list[dict]] = {}

    def __call__(self, name: str, split, detector) -> None:
        done = self.records.setdefault(name, [])
        left = self.max_excerpts - len(done)
        if left > 0 and np.asarray(split.labels, dtype=bool).any():
            done.extend(evasion_robustness(detector, split.test, split.labels, max_excerpts=left, **self.attack)["excerpts"])

    def summary(self) -> dict[str, dict]:
        return {name: summarise(records) for name, records in self.records.items()}

    def settings(self) -> dict:
        """The attack settings in effect (for a report's metadata)."""

        defaults = {k: p.default for k, p in inspect.signature(smallest_epsilon).parameters.items()
                    if k in ("max_epsilon", "min_epsilon", "rtol", "steps")}
        return {"goal": "evade", "norm": "L-infinity, scaled units", "max_excerpts": self.max_excerpts,
                "length": "max(32, 2 x window)", **defaults, **self.attack}
