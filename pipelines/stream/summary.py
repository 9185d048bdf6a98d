"""The counts of one stream run (:class:`Summary`)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from pipelines.messages import REASONS

__all__ = ["Summary"]


@dataclass
class Summary:
    """Counts of one stream run.

    Attributes
    ----------
    rows_in : int
        Messages received (blank lines and a CSV header not counted).
    rows_scored : int
        Rows that got a score (the others: skipped, warm-up, or an incomplete last group).
    skipped : Counter
        Skipped messages by reason (:data:`pipelines.messages.REASONS`).
    alerts : int
        Events raised.
    ended_by : str
        "end of input", the signal's name, or "output closed".
    """

    rows_in: int = 0
    rows_scored: int = 0
    skipped: Counter = field(default_factory=Counter)
    alerts: int = 0
    ended_by: str = ""

    def line(self) -> str:
        """One line for stderr."""
        detail = ", ".join(f"{reason} {self.skipped[reason]}" for reason in REASONS if self.skipped[reason])
        skipped = sum(self.skipped.values())
        return (f"stream ended ({self.ended_by}): {self.rows_in} rows in, {self.rows_scored} scored, "
                f"{skipped} skipped{f' ({detail})' if detail else ''}, {self.alerts} alerts")
