"""Alert logic: from a score series to alerts, one state machine for batch and stream.

Rules, all counted in steps (rows):

* **hysteresis**: an alert opens when the score is above ``enter`` and stays open while the
  score is above ``exit`` (``exit <= enter``), so a score hovering at the threshold does not
  flicker;
* **minimum duration**: an alert is raised only once it has lasted ``min_duration`` steps.
  A stream reports "opened" at that step; in batch the whole alert, its first steps
  included, is flagged. Shorter alerts are dropped without a trace (and start no cooldown);
* **merge gap**: once the score has fallen to ``exit`` or below, a return above ``enter``
  after at most ``merge_gap`` steps at or below ``exit`` continues the same alert (the gap
  steps become part of it); only a later return opens a new one;
* **cooldown**: after an alert's last step above ``exit`` (its ``end``), no new alert opens
  during the next ``cooldown`` steps. A return within the merge gap is not a new alert, so it
  still continues the old one: the cooldown only matters if ``cooldown > merge_gap``.

An alert's ``end`` is its last step above the hold level; a stream learns that the alert is
over ``merge_gap + 1`` steps later, when no return can merge any more.

:meth:`AlertLogic.push` advances the machine by one score. :meth:`AlertLogic.alerts` and
:meth:`AlertLogic.apply` run the very same step function over a whole series (on a fresh
copy of the machine, so an ongoing stream is left alone).
"""

from __future__ import annotations

import logging
import math
import numbers
from dataclasses import dataclass

import numpy as np
from sklearn.base import BaseEstimator, clone

from anomaly.errors import ConfigError, DataError, NotFittedError
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


class AlertLogic(BaseEstimator):
    """Hysteresis, minimum duration, merge gap and cooldown over a score series.

    The constructor only stores its parameters (scikit-learn style; ``get_params``,
    ``set_params`` and ``clone`` work); they are checked and taken over by :meth:`reset`,
    which the first :meth:`push` and every batch call run, so a changed parameter acts on a
    stream from its next :meth:`reset`.

    Parameters
    ----------
    enter : float
        An alert opens when the score is above this (e.g. a fitted threshold's ``threshold_``).
    exit : float or None, default=None
        An open alert holds while the score is above this; None means ``enter``. Must be
        ``<= enter``.
    min_duration : int, default=1
        Steps (>= 1) an alert must last, merged gaps included, before it is raised.
    merge_gap : int, default=0
        Largest number (>= 0) of steps at or below ``exit`` after which a return above
        ``enter`` still continues the alert.
    cooldown : int, default=0
        Steps (>= 0) after an alert's end during which no new alert opens.

    Examples
    --------
    >>> logic = AlertLogic(1.0, min_duration=2)
    >>> logic.alerts([0, 5, 5, 0, 5, 0])
    [(1, 2, 5.0)]
    >>> [logic.push(s) for s in [0, 5, 5, 0]][2]
    AlertChange(kind='opened', start=1, score=5.0, end=None, peak=None)
    """

    def __init__(self, enter, *, exit=None, min_duration=1, merge_gap=0, cooldown=0):
        self.enter = enter
        self.exit = exit
        self.min_duration = min_duration
        self.merge_gap = merge_gap
        self.cooldown = cooldown

    @classmethod
    def from_threshold(cls, threshold, exit_ratio: float = 0.8, **rules) -> "AlertLogic":
        """Alert logic that enters at a fitted threshold and exits at ``exit_ratio`` times it.

        Parameters
        ----------
        threshold : fitted Threshold (or fitted Detector)
            Anything with a ``threshold_`` attribute, e.g. ``det.thresholder_``.
        exit_ratio : float, default=0.8
            ``exit = exit_ratio * threshold_``, in (0, 1]. For a threshold below 0 this puts
            ``exit`` above ``enter``, which :meth:`reset` rejects.
        **rules
            ``min_duration``, ``merge_gap``, ``cooldown``.

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
        if not hasattr(threshold, "threshold_"):
            raise NotFittedError(f"{type(threshold).__name__} has no threshold_: fit it first")
        level = float(threshold.threshold_)
        return cls(level, exit=level * exit_ratio, **rules)

    # -- the state machine --------------------------------------------------
    def reset(self) -> "AlertLogic":
        """Check the parameters and forget the stream: the next :meth:`push` is step 0.

        Returns
        -------
        self

        Raises
        ------
        ConfigError
            If a parameter is out of range or ``exit > enter``.
        """
        enter = float(check_number("enter", self.enter))
        exit_ = enter if self.exit is None else float(check_number("exit", self.exit))
        if exit_ > enter:
            raise ConfigError(f"exit={self.exit!r} is not allowed: must be <= enter={self.enter!r}")
        self._levels = (enter, exit_)
        self._rules = (
            check_number("min_duration", self.min_duration, low=1, integer=True),
            check_number("merge_gap", self.merge_gap, low=0, integer=True),
            check_number("cooldown", self.cooldown, low=0, integer=True),
        )
        self._t = -1  # current step
        self._start = None  # first step of the current alert; None while idle
        self._last = -1  # last step above the hold level in the current alert
        self._peak = -math.inf
        self._raised = False
        self._quiet_until = -1  # cooldown: no alert opens at steps <= this
        return self

    def _step(self, score: float) -> AlertChange | None:
        """Advance one step with a finite float ``score``: the whole rule set, once."""
        self._t += 1
        t = self._t
        enter, exit_ = self._levels
        min_duration, merge_gap, _ = self._rules
        if self._start is None:
            if score <= enter or t <= self._quiet_until:
                return None
            self._start, self._peak, self._raised = t, score, False
        elif score > (exit_ if t == self._last + 1 else enter):  # hold, or return from a gap
            if score > self._peak:
                self._peak = score
        elif t - self._last > merge_gap:
            return self._close()
        else:
            return None  # inside the merge gap
        self._last = t
        if self._raised or t - self._start + 1 < min_duration:
            return None
        self._raised = True
        return AlertChange("opened", self._start, score=score)

    def _close(self) -> AlertChange | None:
        """End the current alert; report it only if it was raised, and start its cooldown."""
        change = None
        if self._raised:
            change = AlertChange("closed", self._start, end=self._last, peak=self._peak)
            self._quiet_until = self._last + self._rules[2]
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

    # -- batch API ----------------------------------------------------------
    def alerts(self, scores) -> list[tuple[int, int, float]]:
        """Every raised alert of a finite series, as the stream would report it.

        Parameters
        ----------
        scores : array-like or pandas.Series of shape (n,)
            Finite anomaly scores in time order.

        Returns
        -------
        list of (start, end, peak)
            ``start``/``end``: positions of the first and last (inclusive) step of each alert;
            ``peak``: its highest score. An alert still open at the end is closed there.

        Raises
        ------
        DataError
            If ``scores`` is empty, not 1-D or holds NaN/inf.
        ConfigError
            If a parameter is out of range.
        """
        values = as_scores(scores)
        machine = clone(self).reset()
        closed = [c for c in map(machine._step, values.tolist()) if c is not None and c.kind == "closed"]
        last = machine.finish()
        if last is not None:
            closed.append(last)
        logger.debug("%d alerts in %d scores", len(closed), len(values))
        return [(c.start, c.end, c.peak) for c in closed]

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
        found = self.alerts(scores)
        flags = np.zeros(len(scores), dtype=bool)
        for start, end, _ in found:
            flags[start : end + 1] = True
        return as_like(scores, flags)
