"""The package re-exports every public metric name, and the glued modules it replaced are gone."""

from __future__ import annotations

import importlib

import pytest

import anomaly.metrics

#: Every public name of the former anomaly.metrics, anomaly.range_metrics, anomaly.hitrate and
#: anomaly.evaluation modules, with the module of the package where it lives now.
HOMES = {
    "point_metrics": "point", "auc_roc": "point", "auc_pr": "point",
    "event_metrics": "events",
    "point_adjust": "adjust", "point_adjusted_f1": "adjust", "point_adjusted_report": "adjust",
    "range_precision_recall": "tatbul",
    "range_auc": "volume", "vus": "volume", "VUS_MAX_WINDOW": "volume", "VUS_STEPS": "volume",
    "nab_score": "nab", "nab_scores": "nab", "NAB_PROFILES": "nab",
    "Segment": "attribution", "hit_rate": "attribution", "hit_rate_report": "attribution",
    "random_hit_rate": "attribution",
    "evaluate": "summary", "range_report": "summary",
    "baselines": "evaluation", "evaluate_outputs": "evaluation", "fault_recall": "evaluation",
    "metric_table": "report", "tables": "report", "to_markdown": "report", "DEFAULT_COLUMNS": "report",
    "RANGE_COLUMNS": "report",
}


@pytest.mark.parametrize("name, module", sorted(HOMES.items()))
def test_every_public_name_is_re_exported_from_its_home(name, module):
    home = importlib.import_module(f"anomaly.metrics.{module}")
    assert name in home.__all__
    assert getattr(anomaly.metrics, name) is getattr(home, name)


def test_all_lists_exactly_the_public_names():
    assert sorted(anomaly.metrics.__all__) == sorted(HOMES)


def test_submodules_are_not_shadowed_by_re_exported_names():
    for module in set(HOMES.values()) | {"common"}:
        assert importlib.import_module(f"anomaly.metrics.{module}").__name__ == f"anomaly.metrics.{module}"
        assert getattr(anomaly.metrics, module).__name__ == f"anomaly.metrics.{module}"


@pytest.mark.parametrize("old", ["anomaly.range_metrics", "anomaly.hitrate", "anomaly.evaluation"])
def test_the_glued_modules_are_gone(old):
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(old)
