"""Alert logic: from a score series to alerts, as a stream state machine and in batch.

Rules (:class:`~anomaly.decisions.rules.DecisionRules`, defaults
:data:`~anomaly.decisions.rules.DEFAULT_RULES`), all counted in steps (rows):

* **hysteresis**: an alert opens when the score is above ``enter`` and stays open while the
  score is above ``exit`` (``exit <= enter``), so a score hovering at the threshold does not
  flicker;
* **minimum duration**: an alert is raised only once ``min_duration`` of its steps were held
  (above ``enter`` at its start or after a gap, above ``exit`` otherwise; the steps of merged
  gaps do not count), or at its first step above ``severe`` (a level far above ``enter``: a
  short, violent event such as a collision). Two blips that the merge gap joins are not an
  alert because of the gap between them. A stream reports "opened" at that step; in batch the
  whole alert, its first steps included, is flagged. Other alerts are dropped without a trace
  (and start no cooldown);
* **merge gap**: once the score has fallen to ``exit`` or below, a return above ``enter``
  after at most ``merge_gap`` steps at or below ``exit`` continues the same alert (the gap
  steps become part of it); only a later return opens a new one;
* **cooldown**: after an alert's last step above ``exit`` (its ``end``), no new alert opens
  during the next ``cooldown`` steps. A return within the merge gap is not a new alert, so it
  still continues the old one: the cooldown only matters if ``cooldown > merge_gap``.

An alert's ``end`` is its last step above the hold level; a stream learns that the alert is
over ``merge_gap + 1`` steps later, when no return can merge any more.

:meth:`AlertLogic.push` advances the machine by one score (O(1) per step).
:meth:`AlertLogic.alerts` and :meth:`AlertLogic.apply` decide a whole series at once with
:func:`~anomaly.decisions.runs.decide_runs`, the code :func:`anomaly.decisions.events` uses,
and leave an ongoing stream alone; both paths give the same alerts (tested on random
scores), so batch events, batch alerts and stream alerts agree.
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass

import numpy as np

from anomaly.decisions.rules import DEFAULT_RULES, DecisionRules, severe_level
from anomaly.decisions.runs import decide_runs, runs_to_flags
from anomaly.errors import ConfigError, DataError, NotFittedError
from anomaly.params import Params
from anomaly.validation import as_like, as_scores, check_number

__all__ = ["AlertChange", "AlertLogic"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AlertChange:
    """What :meth:`AlertLogic.push` reports.

    Attributes
    ----------
    kind : {"opened", "closed"}
        "opened" at the step an alert is raised (its ``min_duration``-th step); "closed" once
        it can no longer continue.
    start : int
        Step (0-based position in the stream) of the alert's first step.
    score : float or None
        "opened": the score at the raising step; "closed": None.
    end : int or None
        "closed": the alert's last step above the hold level (inclusive); "opened": None.
    peak : float or None
        "closed": the highest score inside the alert; "opened": None.
    """

    kind: str
    start: int
    score: float | None = None
    end: int | None = None
    peak: float | None = None


class AlertLogic(Params):
    """Hysteresis, minimum duration, merge gap and cooldown over a score series.

    The constructor only stores its parameters (scikit-learn style; ``get_params``,
    ``set_params`` and ``clone`` work); they are checked by every batch call and checked and
    taken over by :meth:`reset`, which the first :meth:`push` runs, so a changed parameter
    acts on a stream from its next :meth:`reset`.

    Parameters
    ----------
    enter : float
        An alert opens when the score is above this (e.g. a fitted threshold's ``threshold_``).
    exit : float or None, default=None
        An open alert holds while the score is above this; None means ``enter`` (no
        hysteresis). Must be ``<= enter``. :meth:`from_threshold` sets it to
        ``exit_ratio`` times the threshold (``DEFAULT_RULES.exit_ratio`` by default).
    min_duration : int, default ``DEFAULT_RULES.min_duration`` (25)
        Held steps (>= 1) an alert must have before it is raised (merged gaps not counted).
    merge_gap : int, default ``DEFAULT_RULES.merge_gap`` (100)
        Largest number (>= 0) of steps at or below ``exit`` after which a return above
        ``enter`` still continues the alert.
    cooldown : int, default ``DEFAULT_RULES.cooldown`` (500)
        Steps (>= 0) after an alert's end during which no new alert opens.
    severe : float or None, default=None
        A step above this raises its alert at once, before ``min_duration`` (must be
        ``>= enter``); None: never. :meth:`from_threshold` sets it to ``severe_ratio`` times
        the threshold (``DEFAULT_RULES.severe_ratio`` by default).

    Examples
    --------
    >>> logic = AlertLogic(1.0, min_duration=2, merge_gap=0, cooldown=0)
    >>> logic.alerts([0, 5, 5, 0, 5, 0])
    [(1, 2, 5.0)]
    >>> [logic.push(s) for s in [0, 5, 5, 0]][2]
    AlertChange(kind='opened', start=1, score=5.0, end=None, peak=None)
    """

    def __init__(self, enter, *, exit=None, min_duration=DEFAULT_RULES.min_duration,
                 merge_gap=DEFAULT_RULES.merge_gap, cooldown=DEFAULT_RULES.cooldown, severe=None):
        self.enter = enter
        self.exit = exit
        self.min_duration = min_duration
        self.merge_gap = merge_gap
        self.cooldown = cooldown
        self.severe = severe

    @classmethod
    def from_threshold(cls, threshold, exit_ratio: float = DEFAULT_RULES.exit_ratio,
                       severe_ratio: float | None = DEFAULT_RULES.severe_ratio, **rules) -> AlertLogic:
        """Alert logic that enters at a fitted threshold, exits at ``exit_ratio`` times it and
        raises at once above ``severe_ratio`` times it.

        With no rules given this is the stream counterpart of
        ``events(scores > t, scores=scores, threshold=t)`` (:data:`DEFAULT_RULES` both).

        Parameters
        ----------
        threshold : fitted Threshold (or fitted Detector)
            Anything with a ``threshold_`` attribute, e.g. ``det.thresholder_``.
        exit_ratio : float, default ``DEFAULT_RULES.exit_ratio`` (0.8)
            ``exit = exit_ratio * threshold_``, in (0, 1]. For a threshold below 0 this puts
            ``exit`` above ``enter``, which :meth:`reset` rejects.
        severe_ratio : float or None, default ``DEFAULT_RULES.severe_ratio`` (10)
            ``severe = severe_ratio * threshold_`` (>= 1; not used for a threshold <= 0, where
            it would sit below ``enter``); None for no severe level.
        **rules
            ``min_duration``, ``merge_gap``, ``cooldown`` (defaults: :data:`DEFAULT_RULES`).

        Returns
        -------
        AlertLogic

        Raises
        ------
        NotFittedError
            If ``threshold`` has no ``threshold_``.
        ConfigError
            If ``exit_ratio`` is out of range.
        """
        check_number("exit_ratio", exit_ratio, low=0.0, low_open=True, high=1.0)
        if severe_ratio is not None:
            check_number("severe_ratio", severe_ratio, low=1.0)
        if not hasattr(threshold, "threshold_"):
            raise NotFittedError(f"{type(threshold).__name__} has no threshold_: fit it first")
        level = float(threshold.threshold_)
        return cls(level, exit=level * exit_ratio, severe=severe_level(level, severe_ratio), **rules)

    @classmethod
    def at_level(cls, level: float, severe_ratio: float | None = DEFAULT_RULES.severe_ratio, **rules) -> AlertLogic:
        """The default rules (:data:`DEFAULT_RULES`: hold at ``exit_ratio``, severe at
        ``severe_ratio`` times ``level``) entering above a plain number ``level``; at a level
        <= 0 without hysteresis or severe level (the ratios would put them on the wrong side).

        Parameters
        ----------
        level : float
        severe_ratio : float or None, default ``DEFAULT_RULES.severe_ratio``
            A model's (:func:`~anomaly.decisions.model_rules`); None: no severe level.
        **rules
            ``min_duration``, ``merge_gap``, ``cooldown`` (defaults: :data:`DEFAULT_RULES`).
        """
        level = float(level)
        if level <= 0:
            return cls(level, **rules)
        return cls(level, exit=DEFAULT_RULES.exit_ratio * level, severe=severe_level(level, severe_ratio), **rules)

    def _checked(self) -> tuple[float, float, float, DecisionRules]:
        """``(enter, exit, severe, rules)`` from the parameters, checked (``severe`` is inf when None)."""
        enter = float(check_number("enter", self.enter))
        exit_ = enter if self.exit is None else float(check_number("exit", self.exit))
        if exit_ > enter:
            raise ConfigError(f"exit={self.exit!r} is not allowed: must be <= enter={self.enter!r}")
        severe = math.inf if self.severe is None else float(check_number("severe", self.severe))
        if severe < enter:
            raise ConfigError(f"severe={self.severe!r} is not allowed: must be >= enter={self.enter!r}")
        rules = DecisionRules(min_duration=self.min_duration, merge_gap=self.merge_gap, cooldown=self.cooldown)
        return enter, exit_, severe, rules

    # -- the state machine --------------------------------------------------
    def reset(self) -> AlertLogic:
        """Check the parameters and forget the stream: the next :meth:`push` is step 0.

        Returns
        -------
        self

        Raises
        ------
        ConfigError
            If a parameter is out of range or ``exit > enter``.
        """
        enter, exit_, severe, self._rules = self._checked()
        self._levels = (enter, exit_, severe)
        self._t = -1  # current step
        self._start = None  # first step of the current alert; None while idle
        self._last = -1  # last step above the hold level in the current alert
        self._peak = -math.inf
        self._raised = False
        self._severe = False  # a step of the current alert was above the severe level
        self._held = 0  # held steps of the current alert (its merged gaps not counted)
        self._quiet_until = -1  # cooldown: no alert opens at steps <= this
        return self

    def _step(self, score: float) -> AlertChange | None:
        """Advance one step with a finite float ``score``: the whole rule set, once."""
        self._t += 1
        t = self._t
        enter, exit_, severe = self._levels
        min_duration, merge_gap = self._rules.min_duration, self._rules.merge_gap
        if self._start is None:
            if score <= enter or t <= self._quiet_until:
                return None
            self._start, self._peak, self._raised, self._severe, self._held = t, score, False, False, 0
        elif score > (exit_ if t == self._last + 1 else enter):  # hold, or return from a gap
            if score > self._peak:
                self._peak = score
        elif t - self._last > merge_gap:
            return self._close()
        else:
            return None  # inside the merge gap
        self._last = t
        self._held += 1
        self._severe = self._severe or score > severe
        if self._raised or (self._held < min_duration and not self._severe):
            return None
        self._raised = True
        return AlertChange("opened", self._start, score=score)

    def _close(self) -> AlertChange | None:
        """End the current alert; report it only if it was raised, and start its cooldown."""
        change = None
        if self._raised:
            change = AlertChange("closed", self._start, end=self._last, peak=self._peak)
            self._quiet_until = self._last + self._rules.cooldown
        self._start = None
        return change

    # -- stream API ---------------------------------------------------------
    def push(self, score) -> AlertChange | None:
        """Advance the stream by one score.

        Parameters
        ----------
        score : float
            The next anomaly score (finite).

        Returns
        -------
        AlertChange or None
            "opened" at the step an alert is raised, "closed" at the first step at which a
            raised alert can no longer continue, else None.

        Raises
        ------
        DataError
            If ``score`` is not a finite number.
        ConfigError
            On the first push, if a parameter is out of range.
        """
        if not isinstance(score, numbers.Real) or not math.isfinite(score):
            raise DataError(f"score: expected a finite number, got {score!r}")
        if not hasattr(self, "_t"):
            self.reset()
        return self._step(float(score))

    def finish(self) -> AlertChange | None:
        """End of stream: close the current alert now.

        Returns
        -------
        AlertChange or None
            "closed" if a raised alert was open (an alert not yet raised is dropped).
        """
        return self._close() if getattr(self, "_start", None) is not None else None

    def pause(self) -> AlertChange | None:
        """A pause in the stream (:mod:`anomaly.pauses`): close the current alert as
        :meth:`finish` does and drop the cooldown, so that the next session's alerts owe nothing
        to this one's (what :meth:`alerts` does with ``passes``).

        Returns
        -------
        AlertChange or None
            As :meth:`finish`.
        """
        change = self.finish()
        if hasattr(self, "_t"):
            self._quiet_until = self._t
        return change

    # -- batch API ----------------------------------------------------------
    def alerts(self, scores, passes: list[slice] | None = None) -> list[tuple[int, int, float]]:
        """Every raised alert of a finite series, as the stream would report it.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            Finite anomaly scores in time order.
        passes : list of slice, optional
            The sessions of the series (:func:`anomaly.pauses.pass_slices`): an alert ends at a
            pause, as the stream's :meth:`pause` has it. Default: one session.

        Returns
        -------
        list of (start, end, peak)
            ``start``/``end``: positions of the first and last (inclusive) step of each alert;
            ``peak``: its highest score. An alert still open at the end is closed there
            (as :meth:`finish` does).

        Raises
        ------
        DataError
            If ``scores`` is empty, not 1-D or holds NaN/inf.
        ConfigError
            If a parameter is out of range.
        """
        values = as_scores(scores)
        ranges = self._ranges(values, passes)
        logger.debug("%d alerts in %d scores", len(ranges), len(values))
        return [(start, end, float(values[start : end + 1].max())) for start, end in ranges.tolist()]

    def _ranges(self, values: np.ndarray, passes: list[slice] | None = None) -> np.ndarray:
        """``(n_alerts, 2)`` first and last steps of the raised alerts of finite ``values`` (n,)."""
        enter, exit_, severe, rules = self._checked()
        return decide_runs(values > enter, values > exit_, min_duration=rules.min_duration,
                           merge_gap=rules.merge_gap, cooldown=rules.cooldown, severe=values > severe, passes=passes)

    def apply(self, scores):
        """Flag the steps inside raised alerts (merged gaps included).

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            Finite anomaly scores in time order.

        Returns
        -------
        numpy.ndarray or pandas.Series of shape (n,), dtype bool
            A Series with the same index if ``scores`` is a Series.

        Raises
        ------
        DataError, ConfigError
            As :meth:`alerts`.
        """
        values = as_scores(scores)
        return as_like(scores, runs_to_flags(self._ranges(values), len(values)))
