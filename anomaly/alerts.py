"""Alert logic: from a score stream to alerts, one state machine for batch and stream.

Rules (all in steps, i.e. rows):

* **hysteresis**: an alert opens when the score exceeds ``enter`` and stays open while it
  stays above ``exit`` (<= ``enter``), so a score hovering at the threshold does not flicker;
* **minimum duration**: an alert is raised only once it has lasted ``min_duration`` steps
  (in batch, all its steps are flagged; in a stream, "opened" is reported at that step);
* **merge gap**: an alert that falls below ``exit`` and rises above ``enter`` again within
  ``merge_gap`` steps continues the same alert;
* **cooldown**: after an alert closes, no new alert opens for ``cooldown`` steps.

:meth:`AlertLogic.push` advances the machine by one score; :meth:`AlertLogic.alerts` and
:meth:`AlertLogic.apply` run the very same :meth:`push` over a whole series.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError
from anomaly.validation import as_scores


@dataclass(frozen=True)
class AlertChange:
    """What :meth:`AlertLogic.push` reports: an alert ``"opened"`` or ``"closed"``.

    ``start`` is the alert's first step; ``end`` (last step above ``exit``) and ``peak``
    (highest score) are set when it closes.
    """

    kind: str
    start: int
    end: int | None = None
    peak: float | None = None


class AlertLogic:
    """Hysteresis, minimum duration, merge gap and cooldown over a score series.

    Parameters
    ----------
    enter : float
        Score above which an alert opens (e.g. a fitted threshold's ``threshold_``).
    exit : float or None, default=None
        Score at or below which an open alert ends; None means ``enter``. Must be <= enter.
    min_duration : int, default=1
        Steps an alert must last before it is raised.
    merge_gap : int, default=0
        Steps below ``exit`` that do not end an alert if the score comes back above ``enter``.
    cooldown : int, default=0
        Steps after an alert closes during which no alert opens.
    """

    def __init__(self, enter, *, exit=None, min_duration=1, merge_gap=0, cooldown=0):
        self.enter = enter
        self.exit = exit
        self.min_duration = min_duration
        self.merge_gap = merge_gap
        self.cooldown = cooldown

    @classmethod
    def from_threshold(cls, threshold, *, exit_ratio: float = 1.0, **rules) -> "AlertLogic":
        """Alert logic entering at a fitted threshold's ``threshold_`` and exiting at ``exit_ratio`` x it."""
        return cls(threshold.threshold_, exit=threshold.threshold_ * exit_ratio, **rules)

    def _check(self) -> None:
        exit_level = self.enter if self.exit is None else self.exit
        if not np.isfinite(self.enter) or not np.isfinite(exit_level) or exit_level > self.enter:
            raise ConfigError(f"enter={self.enter!r} and exit={self.exit!r} must be finite with exit <= enter")
        for name in ("min_duration", "merge_gap", "cooldown"):
            value = getattr(self, name)
            if not isinstance(value, (int, np.integer)) or value < (1 if name == "min_duration" else 0):
                raise ConfigError(f"{name}={value!r} must be an integer >= {1 if name == 'min_duration' else 0}")

    def reset(self) -> "AlertLogic":
        """Forget the stream: the next :meth:`push` is step 0."""
        self._check()
        self._exit = self.enter if self.exit is None else self.exit
        self._step = -1
        self._start = None  # first step of the candidate or open alert
        self._last_above = None  # last step above exit inside it
        self._peak = -np.inf
        self._raised = False
        self._quiet_until = -1  # cooldown: no alert opens at steps <= this
        return self

    def push(self, score: float) -> AlertChange | None:
        """Advance one step; returns an :class:`AlertChange` when an alert opens or closes."""
        if not hasattr(self, "_step"):
            self.reset()
        self._step += 1
        step, change = self._step, None
        if self._start is not None:
            in_gap = step - self._last_above > 1  # already below exit since the last step
            if score > (self.enter if in_gap else self._exit):
                self._last_above, self._peak = step, max(self._peak, score)
            elif step - self._last_above > self.merge_gap:
                change = self._close()
        if self._start is None and score > self.enter and step > self._quiet_until:
            self._start, self._last_above, self._peak, self._raised = step, step, score, False
        if self._start is not None and not self._raised and self._last_above - self._start + 1 >= self.min_duration:
            self._raised = True
            change = AlertChange("opened", self._start, peak=self._peak)
        return change

    def _close(self) -> AlertChange | None:
        change = AlertChange("closed", self._start, self._last_above, float(self._peak)) if self._raised else None
        if self._raised:
            self._quiet_until = self._last_above + self.cooldown
        self._start = None
        return change

    def finish(self) -> AlertChange | None:
        """Close an alert still open at the end of a finite series (batch use)."""
        return self._close() if getattr(self, "_start", None) is not None else None

    def alerts(self, scores) -> list[tuple[int, int, float]]:
        """``(start, end, peak)`` of every raised alert in ``scores`` (n,), positions inclusive."""
        values = as_scores(scores)
        self.reset()
        found = [c for c in map(self.push, values) if c is not None and c.kind == "closed"]
        last = self.finish()
        found += [last] if last is not None else []
        return [(c.start, c.end, c.peak) for c in found]

    def apply(self, scores):
        """Bool flag per step, shape (n,): inside a raised alert. A Series keeps its index."""
        flags = np.zeros(len(scores), dtype=bool)
        for start, end, _ in self.alerts(scores):
            flags[start : end + 1] = True
        return pd.Series(flags, index=scores.index, name="alert") if isinstance(scores, pd.Series) else flags
