"""Metrics for anomaly detection, one concept per module; every public name is re-exported here.

* :mod:`~anomaly.metrics.point`: row-wise precision/recall/F1, FAR, MAR, AUC-ROC, AUC-PR.
* :mod:`~anomaly.metrics.events`: event-wise precision/recall/F1 and detection delay.
* :mod:`~anomaly.metrics.adjust`: point adjustment, never reported without its random baseline.
* :mod:`~anomaly.metrics.tatbul`: range precision/recall (Tatbul et al., NeurIPS 2018).
* :mod:`~anomaly.metrics.volume`: range-AUC and VUS-ROC/VUS-PR (Paparrizos et al., VLDB 2022).
* :mod:`~anomaly.metrics.nab`: the normalised NAB score (Lavin & Ahmad 2015).
* :mod:`~anomaly.metrics.attribution`: HitRate@P% of per-channel errors, :class:`Segment`.
* :mod:`~anomaly.metrics.summary`: one output's metrics as flat dicts (``evaluate``,
  ``range_report``).
* :mod:`~anomaly.metrics.evaluation`: several detectors on one labelled run beside the
  random and all-anomalous ``baselines``.
* :mod:`~anomaly.metrics.report`: metric tables as DataFrames and Markdown.
* :mod:`~anomaly.metrics.common`: the shared conventions (``y_true``/``y_pred``/``scores`` of
  shape (n,), matched by position; a ratio with a zero denominator is 0.0).
"""

from anomaly.metrics.adjust import point_adjust, point_adjusted_f1, point_adjusted_report
from anomaly.metrics.attribution import Segment, hit_rate, hit_rate_report, random_hit_rate
from anomaly.metrics.evaluation import baselines, evaluate_outputs, fault_recall
from anomaly.metrics.events import event_metrics
from anomaly.metrics.nab import NAB_PROFILES, nab_score, nab_scores
from anomaly.metrics.point import auc_pr, auc_roc, point_metrics
from anomaly.metrics.report import DEFAULT_COLUMNS, RANGE_COLUMNS, metric_table, tables, to_markdown
from anomaly.metrics.summary import evaluate, range_report
from anomaly.metrics.tatbul import range_precision_recall
from anomaly.metrics.volume import VUS_MAX_WINDOW, VUS_STEPS, range_auc, vus

__all__ = [
    "DEFAULT_COLUMNS",
    "NAB_PROFILES",
    "RANGE_COLUMNS",
    "Segment",
    "VUS_MAX_WINDOW",
    "VUS_STEPS",
    "auc_pr",
    "auc_roc",
    "baselines",
    "evaluate",
    "evaluate_outputs",
    "event_metrics",
    "fault_recall",
    "hit_rate",
    "hit_rate_report",
    "metric_table",
    "nab_score",
    "nab_scores",
    "point_adjust",
    "point_adjusted_f1",
    "point_adjusted_report",
    "point_metrics",
    "random_hit_rate",
    "range_auc",
    "range_precision_recall",
    "range_report",
    "tables",
    "to_markdown",
    "vus",
]
