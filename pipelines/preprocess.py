"""Ingestion-side preprocessing: gap detection and multi-rate topic alignment.

Scaling and the NaN policy are part of the model (:mod:`anomaly.scaling`). Gap policy: rows
are never resampled. Sampling gaps (a step longer than 1.5 x the median step) are found by
:func:`find_gaps` and logged, so a user knows windows span them.

Leading rows: a log's first rows can be empty in some channels until that topic's first
message; :func:`drop_leading_rows` (whole files) and :class:`LeadingRows` (files read in
chunks) drop the rows before every channel has had a value, so that no fill policy has to
invent them.

Multi-rate topics (joints at 100 Hz, IMU at 400 Hz, a temperature at 1 Hz) are put on one time
grid by :func:`align_topics`, with an explicit policy for gaps and an :class:`AlignmentReport`.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError, DataError
from anomaly.schema import check_structure

log = logging.getLogger(__name__)

def find_gaps(index: pd.Index, *, factor: float = 1.5) -> list[tuple[object, object]]:
    """Return (before, after) index-label pairs around steps longer than ``factor`` x the median step.

    Only meaningful for a DatetimeIndex or numeric index; an empty list otherwise.
    """
    if len(index) < 3 or not (isinstance(index, pd.DatetimeIndex) or pd.api.types.is_numeric_dtype(index)):
        return []
    raw = index.as_unit("ns").asi8 if isinstance(index, pd.DatetimeIndex) else index.to_numpy(dtype=np.float64)
    step = np.diff(raw)
    median = np.median(step)
    where = np.flatnonzero(step > factor * median)
    return [(index[i], index[i + 1]) for i in where]


def _finite(frame: pd.DataFrame) -> np.ndarray:
    """(n_rows, n_columns) bool: the cell holds a finite number (text cells are parsed as numbers)."""
    if all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
        values = frame.to_numpy(dtype=np.float64)
    else:
        values = frame.apply(pd.to_numeric, errors="coerce").to_numpy(dtype=np.float64)
    return np.isfinite(values)


def leading_incomplete_rows(frame: pd.DataFrame) -> int:
    """Rows at the start of ``frame`` before every column has had its first finite value.

    A log's first rows are often empty in some channels until that topic's first message
    arrives; a fill policy could only invent those values (backward fill), so readers drop
    them instead (:func:`drop_leading_rows`).

    Parameters
    ----------
    frame : pandas.DataFrame of shape (n_rows, n_columns)

    Returns
    -------
    int
        The position of the first row at or after which every column has had a finite
        value; ``n_rows`` when some column never has one (and 0 for a frame without columns).
    """
    if frame.shape[1] == 0 or len(frame) == 0:
        return 0
    seen = np.logical_or.accumulate(_finite(frame), axis=0).all(axis=1)
    return int(np.argmax(seen)) if seen.any() else len(frame)


def drop_leading_rows(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Drop the rows before every column has had a value (:func:`leading_incomplete_rows`).

    Nothing is dropped when some column never has a value (the NaN policy then reports that
    column), so a frame never loses every row here.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows - dropped, n_columns)
    dropped : int
    """
    dropped = leading_incomplete_rows(frame)
    if dropped >= len(frame):
        return frame, 0
    return (frame.iloc[dropped:] if dropped else frame), dropped


class LeadingRows:
    """:func:`drop_leading_rows` for a file read in consecutive chunks.

    Rows are dropped until every column has had a finite value; from then on every row
    passes. If some column never has one, every row is dropped and :attr:`dropped` counts
    them (the whole-file path keeps them and its NaN policy reports the column instead; a
    chunked reader reports that column from its own per-column counts).

    Attributes
    ----------
    dropped : int
        Rows dropped so far.
    """

    def __init__(self):
        self.dropped = 0
        self._seen: np.ndarray | None = None
        self._done = False

    def push(self, frame: pd.DataFrame, start: int = 0) -> tuple[pd.DataFrame, int]:
        """The rows of ``frame`` to keep and the file row of the first kept one.

        Parameters
        ----------
        frame : pandas.DataFrame of shape (n_rows, n_columns)
            The next rows of the file (same columns every call).
        start : int
            File row of ``frame``'s first row.

        Returns
        -------
        frame : pandas.DataFrame of shape (n_kept, n_columns)
        start : int
            ``start`` plus the rows dropped from this frame.
        """
        if self._done or len(frame) == 0:
            return frame, start
        seen = np.logical_or.accumulate(_finite(frame), axis=0)
        if self._seen is not None:
            seen |= self._seen
        complete = seen.all(axis=1)
        if not complete.any():
            self._seen = seen[-1]
            self.dropped += len(frame)
            return frame.iloc[:0], start + len(frame)
        cut = int(np.argmax(complete))
        self._done = True
        self.dropped += cut
        return frame.iloc[cut:], start + cut


GAP_POLICIES = ("drop", "ffill", "error")
#: Largest grid :func:`align_topics` builds (a mistyped rate would otherwise exhaust memory).
MAX_GRID_ROWS = 50_000_000
#: A sample older than this many of its topic's median periods is missing (default tolerance).
TOLERANCE_PERIODS = 1.5


@dataclass(frozen=True)
class TopicAlignment:
    """How one topic was placed on the grid (all counts are grid rows unless stated).

    Attributes
    ----------
    samples : int
        Samples (messages) the topic has.
    period_s : float or None
        Median step between its samples in seconds (None with a single sample).
    tolerance_s : float
        Oldest a sample may be, in seconds, to serve a grid row.
    largest_gap_s : float
        Longest step between two consecutive samples, in seconds (0 with a single sample).
    largest_gap_at : str or None
        ISO time of the sample before that step.
    dropped : int
        Messages estimated lost: for each step longer than 1.5 periods, ``round(step / period) - 1``.
    matched : int
        Rows served by a sample within tolerance.
    filled : int
        Rows with no sample within tolerance that ``gap_policy="ffill"`` filled with an older one.
    missing : int
        Rows with no sample within tolerance left missing (``"drop"`` removes those rows).
    unused : int
        Samples no kept row uses (down-sampling, or dropped rows).
    """

    samples: int
    period_s: float | None
    tolerance_s: float
    largest_gap_s: float
    largest_gap_at: str | None
    dropped: int
    matched: int
    filled: int
    missing: int
    unused: int


@dataclass(frozen=True)
class AlignmentReport:
    """What :func:`align_topics` did; :meth:`to_dict` is JSON-ready output metadata.

    Attributes
    ----------
    rate_hz : float or None
        Grid rate; None when the grid is the timestamps of ``reference``.
    reference : str or None
        The topic whose timestamps form the grid (``rate_hz=None``), else None.
    gap_policy : str
    start, end : str
        ISO times of the first and last grid row (before dropping rows).
    grid_rows, rows, rows_dropped : int
        Rows of the grid, rows kept, and rows removed by ``gap_policy="drop"``.
    topics : dict of str to TopicAlignment
    """

    rate_hz: float | None
    reference: str | None
    gap_policy: str
    start: str
    end: str
    grid_rows: int
    rows: int
    rows_dropped: int
    topics: dict[str, TopicAlignment]

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return asdict(self)


def _tolerances(tolerance, periods: dict[str, float | None], source: str) -> dict[str, float]:
    """Per-topic tolerance in seconds: given (one value or a dict) or TOLERANCE_PERIODS x period."""
    given = tolerance if isinstance(tolerance, dict) else {topic: tolerance for topic in periods}
    unknown = sorted(set(given) - set(periods))
    if unknown:
        raise ConfigError(f"tolerance names unknown topic(s) {unknown}; topics are {list(periods)}")
    result = {}
    for topic, period in periods.items():
        value = given.get(topic)
        if value is None:
            if period is None:
                raise DataError(f"{source}: topic {topic!r} has a single sample, so its period is unknown; pass a tolerance")
            value = TOLERANCE_PERIODS * period
        if not value >= 0:
            raise ConfigError(f"tolerance={value!r} for topic {topic!r} must be >= 0 seconds")
        result[topic] = float(value)
    return result


def _grid(times: dict[str, np.ndarray], periods: dict[str, float | None], rate_hz: float | None, source: str):
    """Grid (int64 ns) over the span every topic covers, and the reference topic if rate_hz is None."""
    first = max(times, key=lambda topic: times[topic][0])
    last = min(times, key=lambda topic: times[topic][-1])
    start, end = times[first][0], times[last][-1]
    if end < start:
        raise DataError(
            f"{source}: topics do not overlap in time: {last!r} ends at {pd.Timestamp(end)} "
            f"before {first!r} starts at {pd.Timestamp(start)}"
        )
    if rate_hz is None:
        reference = min(periods, key=lambda topic: np.inf if periods[topic] is None else periods[topic])
        stamps = times[reference]
        grid = stamps[(stamps >= start) & (stamps <= end)]
        if not len(grid):
            raise DataError(f"{source}: reference topic {reference!r} has no sample in the span all topics cover; pass rate_hz")
        return grid, reference
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise ConfigError(f"rate_hz={rate_hz!r} must be a positive number")
    step = 1e9 / rate_hz
    n = int(np.floor((end - start) / step)) + 1
    if n > MAX_GRID_ROWS:
        raise ConfigError(f"rate_hz={rate_hz!r} over {(end - start) / 1e9:.1f} s gives {n} rows (limit {MAX_GRID_ROWS}); lower the rate")
    return start + np.round(np.arange(n) * step).astype(np.int64), None


def _asof_positions(grid: np.ndarray, stamps: np.ndarray) -> np.ndarray:
    """Position in ``stamps`` of the last sample at or before each grid time (every grid time has one)."""
    left = pd.DataFrame({"t": grid})
    right = pd.DataFrame({"t": stamps, "pos": np.arange(len(stamps))})
    return pd.merge_asof(left, right, on="t", direction="backward")["pos"].to_numpy()


def _gaps(index: pd.DatetimeIndex, period: float | None) -> tuple[float, str | None, int]:
    """(largest step in s, ISO time before it, estimated lost messages) of a topic's timestamps."""
    if period is None:
        return 0.0, None, 0
    steps = np.diff(index.as_unit("ns").asi8) / 1e9
    at = int(np.argmax(steps))
    dropped = sum(max(round((after - before).total_seconds() / period) - 1, 0) for before, after in find_gaps(index))
    return float(steps[at]), index[at].isoformat(), int(dropped)


def align_topics(
    frames: dict[str, pd.DataFrame],
    rate_hz: float | None = None,
    *,
    tolerance: float | dict[str, float] | None = None,
    gap_policy: str = "drop",
    source: str = "input",
) -> tuple[pd.DataFrame, AlignmentReport]:
    """Put topics sampled at different rates on one time grid with as-of joins.

    Each grid row takes, from every topic, its last sample at or before the row's time
    (``pandas.merge_asof``, direction backward). A sample older than the topic's tolerance
    does not count: that cell is a gap, handled by ``gap_policy``.

    Parameters
    ----------
    frames : dict of str to pandas.DataFrame of shape (n_samples_k, n_channels_k)
        One frame per topic, with a strictly increasing DatetimeIndex. Column names must be
        unique across topics.
    rate_hz : float, optional
        Grid rate. The grid runs from the latest first sample to the earliest last sample of
        all topics, every ``1 / rate_hz`` seconds. By default the grid is the timestamps of the
        fastest topic (smallest median period) inside that span, so that topic is not resampled.
    tolerance : float or dict of str to float, optional
        Oldest usable sample in seconds, for all topics or per topic. Default per topic: 1.5 x
        its median period (the step :func:`find_gaps` calls a gap).
    gap_policy : {"drop", "ffill", "error"}, default="drop"
        ``drop``: remove rows where some topic has no sample within tolerance. ``ffill``: use
        the older sample anyway (counted as ``filled``). ``error``: raise on the first gap.
    source : str
        Name used in error messages.

    Returns
    -------
    frame : pandas.DataFrame of shape (n_rows, sum of n_channels_k), float64
        Index: DatetimeIndex named ``timestamp``; columns: the topics' columns in order.
    report : AlignmentReport

    Raises
    ------
    DataError
        No topics, a topic frame that is empty or not time-indexed, topics that do not
        overlap, a gap under ``"error"``, or no row left.
    ConfigError
        Bad ``rate_hz``, ``tolerance`` or ``gap_policy``.
    """
    if gap_policy not in GAP_POLICIES:
        raise ConfigError(f"gap_policy={gap_policy!r} is not one of {list(GAP_POLICIES)}")
    if not frames:
        raise DataError(f"{source}: no topics to align")
    times, periods = {}, {}
    for topic, frame in frames.items():
        check_structure(frame, source=f"{source}: topic {topic!r}")
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise DataError(f"{source}: topic {topic!r} is not indexed by timestamps")
        times[topic] = frame.index.as_unit("ns").asi8
        periods[topic] = float(np.median(np.diff(times[topic]))) / 1e9 if len(frame) > 1 else None
    tolerances = _tolerances(tolerance, periods, source)
    grid, reference = _grid(times, periods, rate_hz, source)
    positions, late = {}, {}
    for topic, stamps in times.items():
        positions[topic] = _asof_positions(grid, stamps)
        late[topic] = grid - stamps[positions[topic]] > round(tolerances[topic] * 1e9)
        if gap_policy == "error" and late[topic].any():
            row = int(np.argmax(late[topic]))
            before = stamps[positions[topic][row]]
            raise DataError(
                f"{source}: topic {topic!r} has no sample within {tolerances[topic]:.6g} s of {pd.Timestamp(grid[row])} "
                f"(last one at {pd.Timestamp(before)}); use gap_policy 'drop' or 'ffill'"
            )
    keep = ~np.logical_or.reduce(list(late.values())) if gap_policy == "drop" else np.ones(len(grid), dtype=bool)
    if not keep.any():
        raise DataError(f"{source}: no grid row has a sample within tolerance from every topic")
    blocks, report = [], {}
    for topic, frame in frames.items():
        pos = positions[topic][keep]
        blocks.append(pd.DataFrame(frame.to_numpy(dtype=np.float64)[pos], columns=frame.columns))
        largest, at, dropped = _gaps(frame.index, periods[topic])
        n_late = int(late[topic].sum())
        report[topic] = TopicAlignment(
            samples=len(frame), period_s=periods[topic], tolerance_s=tolerances[topic], largest_gap_s=largest,
            largest_gap_at=at, dropped=dropped, matched=len(grid) - n_late,
            filled=n_late if gap_policy == "ffill" else 0, missing=n_late if gap_policy == "drop" else 0,
            unused=len(frame) - len(np.unique(pos)),
        )
    aligned = pd.concat(blocks, axis=1)
    aligned.index = pd.DatetimeIndex(grid[keep].astype("datetime64[ns]"), name="timestamp")
    check_structure(aligned, source=source)
    rows = int(keep.sum())
    summary = AlignmentReport(
        rate_hz=rate_hz, reference=reference, gap_policy=gap_policy, start=pd.Timestamp(grid[0]).isoformat(),
        end=pd.Timestamp(grid[-1]).isoformat(), grid_rows=len(grid), rows=rows, rows_dropped=len(grid) - rows, topics=report,
    )
    return aligned, summary
