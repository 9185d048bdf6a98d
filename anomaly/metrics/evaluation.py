"""Evaluate several detectors' outputs on one labelled run, always beside trivial baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly.metrics.summary import evaluate, range_report
from anomaly.validation import as_flags, check_number

__all__ = ["baselines", "evaluate_outputs", "fault_recall"]


def baselines(y_true, *, seed=0) -> dict[str, dict]:
    """Metrics of trivial detectors, to compare real detectors against.

    Parameters
    ----------
    y_true : array-like of shape (n,)
        Binary labels.
    seed : int, default 0
        Seed of the random baseline, >= 0.

    Returns
    -------
    dict of str to dict
        ``"random"``: uniform random scores, flagged above the quantile that makes the
        flag rate equal the true anomaly rate; ``"all-anomalous"``: constant scores,
        every row flagged. Values are :func:`~anomaly.metrics.summary.evaluate` dicts.

    Raises
    ------
    DataError
        If ``y_true`` is empty or non-binary.
    ConfigError
        If ``seed`` is not an integer >= 0.
    """
    check_number("seed", seed, low=0, integer=True)
    truth = as_flags(y_true, "y_true")
    random_scores = np.random.default_rng(seed).random(len(truth))
    random_flags = random_scores > np.quantile(random_scores, 1 - truth.mean())
    ones = np.ones(len(truth))
    return {"random": evaluate(truth, random_scores, random_flags),
            "all-anomalous": evaluate(truth, ones, ones.astype(bool))}


def fault_recall(flags: np.ndarray, fault_type: pd.Series) -> dict[str, float]:
    """Fraction of each fault type's rows that are flagged.

    Parameters
    ----------
    flags : numpy.ndarray of bool, shape (n_steps,)
    fault_type : pandas.Series of str, shape (n_steps,)
        Fault name per row; ``""`` (or NaN) for normal rows.

    Returns
    -------
    dict of str to float
        Fault type (sorted) -> recall in [0, 1]; normal rows are left out.
    """
    kinds = fault_type.fillna("").astype(str).to_numpy()
    return {kind: float(flags[kinds == kind].mean()) for kind in sorted(set(kinds)) if kind}


def evaluate_outputs(y_true, outputs: dict[str, tuple[np.ndarray, np.ndarray]], *, fault_type: pd.Series | None = None,
                     seed: int = 0) -> dict:
    """Metrics for each detector's ``(scores, flags)`` plus the random and all-anomalous baselines.

    Parameters
    ----------
    y_true : array-like of shape (n_steps,)
        Binary labels.
    outputs : dict of str to (scores, flags)
        Detector name -> finite scores of shape (n_steps,) and binary flags of shape (n_steps,).
    fault_type : pandas.Series of str, shape (n_steps,), optional
        Fault name per row (see :func:`fault_recall`).
    seed : int, default 0
        Seed of the random baseline and of the random flags beside point-adjusted F1.

    Returns
    -------
    dict
        ``"metrics"``: name -> metric dict (:func:`~anomaly.metrics.summary.evaluate` and
        :func:`~anomaly.metrics.summary.range_report` keys for detectors; baselines named
        ``baseline:random`` and ``baseline:all-anomalous``); ``"fault_recall"``: name ->
        fault type -> recall (only when ``fault_type`` is given).
    """
    truth = np.asarray(y_true, dtype=bool)
    metrics = {name: {**evaluate(truth, scores, flags), **range_report(truth, scores, flags, seed=seed)}
               for name, (scores, flags) in outputs.items()}
    metrics.update({f"baseline:{name}": m for name, m in baselines(truth, seed=seed).items()})
    result = {"metrics": metrics}
    if fault_type is not None:
        result["fault_recall"] = {name: fault_recall(np.asarray(flags, dtype=bool), fault_type)
                                  for name, (_, flags) in outputs.items()}
    return result
