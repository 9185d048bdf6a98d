"""Decisions: from flags and scores to events and alerts, by one set of rules.

* :mod:`~anomaly.decisions.runs` -- runs of flagged rows and the steps every rule is made of
  (:func:`event_ranges`, :func:`decide_runs`, ...);
* :mod:`~anomaly.decisions.rules` -- :class:`DecisionRules` and :data:`DEFAULT_RULES`, the
  defaults of batch events and stream alerts alike, and :func:`rules_at` / :func:`model_rules`
  to scale them to a sampling rate;
* :mod:`~anomaly.decisions.events` -- :func:`events`: batch events with peak and channel
  attribution;
* :mod:`~anomaly.decisions.alerts` -- :class:`AlertLogic`: the stream state machine (and its
  batch form);
* :mod:`~anomaly.decisions.persistence` -- :func:`persistence`, the causal k-in-a-row rule;
* :mod:`~anomaly.decisions.consensus` -- :func:`window_consensus`, SKAB's batch-only rule.
"""

from anomaly.decisions.alerts import AlertChange, AlertLogic
from anomaly.decisions.consensus import window_consensus, window_means
from anomaly.decisions.events import Event, events
from anomaly.decisions.persistence import persistence
from anomaly.decisions.rules import DEFAULT_RULES, DecisionRules, model_rules, rules_at
from anomaly.decisions.runs import (
    decide_runs,
    drop_short,
    event_ranges,
    hysteresis,
    merge_runs,
    runs_to_flags,
)

__all__ = [
    "DEFAULT_RULES",
    "AlertChange",
    "AlertLogic",
    "DecisionRules",
    "Event",
    "decide_runs",
    "drop_short",
    "event_ranges",
    "events",
    "hysteresis",
    "merge_runs",
    "model_rules",
    "persistence",
    "rules_at",
    "runs_to_flags",
    "window_consensus",
    "window_means",
]
