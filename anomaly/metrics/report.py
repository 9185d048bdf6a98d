"""Printable tables of metric dicts: DataFrames and GitHub Markdown."""

from __future__ import annotations

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError

__all__ = ["metric_table", "tables", "to_markdown", "DEFAULT_COLUMNS", "RANGE_COLUMNS"]

#: Columns of :func:`metric_table` by default, and of the ``"metrics"`` table of :func:`tables`.
DEFAULT_COLUMNS = ("f1", "precision", "recall", "far", "mar", "auc_pr", "auc_roc", "event_f1",
                   "mean_delay")
#: Columns of the ``"range_metrics"`` table of :func:`tables`.
RANGE_COLUMNS = ("f1", "pa_f1", "pa_f1_random", "range_f1", "vus_pr", "vus_roc", "nab_standard")


def metric_table(results: dict[str, dict], columns=DEFAULT_COLUMNS) -> pd.DataFrame:
    """Tabulate metric dicts for printing.

    Parameters
    ----------
    results : dict of str to dict
        Name (detector, baseline...) -> metrics dict such as from
        :func:`~anomaly.metrics.summary.evaluate`.
    columns : sequence of str
        Metrics to show, in order.

    Returns
    -------
    pandas.DataFrame of shape (len(results), len(columns))
        One row per name (index named ``"name"``); a metric missing for a name is NaN.

    Raises
    ------
    DataError
        If ``results`` is empty.
    ConfigError
        If a column is not a metric of any result.
    """
    if not results:
        raise DataError("results: empty (need at least one name -> metrics dict)")
    table = pd.DataFrame.from_dict(results, orient="index")
    unknown = [c for c in columns if c not in table.columns]
    if unknown:
        raise ConfigError(f"columns {unknown} are unknown: allowed are {list(table.columns)}")
    table = table[list(columns)]
    table.index.name = "name"
    return table


def tables(result: dict) -> dict[str, pd.DataFrame]:
    """The printable tables of an :func:`~anomaly.metrics.evaluation.evaluate_outputs` result.

    Parameters
    ----------
    result : dict
        ``"metrics"`` (name -> metric dict) and optionally ``"fault_recall"`` (name -> fault
        type -> recall) and ``"robustness"`` (name -> summary dict of
        ``anomaly.generative.robustness.summarise``, added by ``anomaly compare --robustness``).

    Returns
    -------
    dict of str to pandas.DataFrame
        ``"metrics"``: shape (n_names, len(DEFAULT_COLUMNS)); ``"range_metrics"`` (detectors
        only: the baselines' rows there would need their own range reports), shape
        (n_detectors, len(RANGE_COLUMNS)); and, if present in ``result``, ``"fault_recall"``
        (n_detectors, n_fault_types) and ``"robustness"`` (one row per detector).
    """
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
    """Render a table as GitHub Markdown without extra dependencies.

    Parameters
    ----------
    table : pandas.DataFrame of shape (n_rows, n_columns)
        Its index becomes the first column, headed by the index name.
    digits : int, default 3
        Decimals of float cells; other cells are shown with ``str``.

    Returns
    -------
    str
        ``n_rows + 2`` lines (header, rule, rows), without a trailing newline.
    """
    cols = [str(table.index.name or "")] + [str(c) for c in table.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for name, row in table.iterrows():
        cells = [f"{v:.{digits}f}" if isinstance(v, (float, np.floating)) else str(v) for v in row]
        lines.append("| " + " | ".join([str(name), *cells]) + " |")
    return "\n".join(lines)
