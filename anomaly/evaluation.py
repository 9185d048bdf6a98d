"""Evaluate several detectors' outputs on one labelled run, always beside trivial baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly.metrics import baselines, evaluate, metric_table

RANGE_COLUMNS = ("f1", "pa_f1", "pa_f1_random", "range_f1", "vus_pr", "vus_roc", "nab_standard")


def fault_recall(flags: np.ndarray, fault_type: pd.Series) -> dict[str, float]:
    """Fraction of each fault type's rows that are flagged.

    Parameters
    ----------
    flags : ndarray of bool, shape (n_steps,)
    fault_type : pandas.Series of str, shape (n_steps,)
        Fault name per row; ``""`` (or NaN) for normal rows.
    """
    kinds = fault_type.fillna("").astype(str).to_numpy()
    return {kind: float(flags[kinds == kind].mean()) for kind in sorted(set(kinds)) if kind}


def evaluate_outputs(y_true, outputs: dict[str, tuple[np.ndarray, np.ndarray]], *, fault_type: pd.Series | None = None, seed: int = 0) -> dict:
    """Metrics for each detector's ``(scores, flags)`` plus the random and all-anomalous baselines.

    Returns
    -------
    dict
        ``"metrics"``: name -> metric dict (baselines named ``baseline:random`` and
        ``baseline:all-anomalous``); ``"fault_recall"``: name -> fault type -> recall (only
        when ``fault_type`` is given).
    """
    from anomaly.range_metrics import range_report

    truth = np.asarray(y_true, dtype=bool)
    metrics = {name: {**evaluate(truth, scores, flags), **range_report(truth, scores, flags, seed=seed)}
               for name, (scores, flags) in outputs.items()}
    metrics.update({f"baseline:{name}": m for name, m in baselines(truth, seed=seed).items()})
    result = {"metrics": metrics}
    if fault_type is not None:
        result["fault_recall"] = {name: fault_recall(np.asarray(flags, dtype=bool), fault_type) for name, (_, flags) in outputs.items()}
    return result


def tables(result: dict) -> dict[str, pd.DataFrame]:
    """The printable tables of an :func:`evaluate_outputs` result: ``"metrics"``, ``"range_metrics"``
    (detectors only: the baselines' rows there would need their own range reports) and, if
    present, ``"fault_recall"`` and ``"robustness"`` (added by ``anomaly compare --robustness``)."""
    out = {"metrics": metric_table(result["metrics"])}
    detectors = {k: v for k, v in result["metrics"].items() if not k.startswith("baseline:") and "vus_pr" in v}
    if detectors:
        out["range_metrics"] = metric_table(detectors, columns=RANGE_COLUMNS)
    if "fault_recall" in result:
        out["fault_recall"] = pd.DataFrame(result["fault_recall"]).T
    if "robustness" in result:  # anomaly.generative.robustness.summarise per detector
        table = pd.DataFrame.from_dict(result["robustness"], orient="index")
        counts = ["n_excerpts", "missed_unperturbed", "not_evaded"]
        table[counts] = table[counts].astype(int).astype(str)  # shown as counts, not as 3-decimal floats
        out["robustness"] = table
    return out


def to_markdown(table: pd.DataFrame, *, digits: int = 3) -> str:
    """Render a table as GitHub Markdown without extra dependencies."""
    cols = [str(table.index.name or "")] + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for name, row in table.iterrows():
        cells = [f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else str(v) for v in row]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)
