"""The chunk engine: a file scored block by block, equal to the whole-file pass (:func:`iter_scores`).

How the pieces, the NaN policy and the flags carry across blocks: see :mod:`pipelines.batch`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.errors import ConfigError
from anomaly.guard import RelationDrift, condition_hint, describe, flood_note, joined, led_rows, over_rows, rate_note, relation_note
from anomaly.pauses import is_pause, pass_slices, pause_length
from anomaly.recentring import add_followed
from anomaly.scaling import fill_missing
from anomaly.schema import sampling_rate
from anomaly.windows import check_holds_a_window
from pipelines.chunk_checks import FileChecks
from pipelines.chunk_reader import DEFAULT_CHUNK_ROWS, open_chunks
from pipelines.preprocess import LeadingRows

__all__ = ["Progress", "iter_scores", "window_context"]

#: ``progress(rows_done, rows_expected_or_None)``, called after each written block.
Progress = Callable[[int, "int | None"], None]


class _Filler:
    """The detector's NaN policy applied block by block, equal to :func:`fill_missing` on the whole file.

    ``ffill`` needs the last valid value of each channel and ``interpolate`` the next one, so
    rows after the last complete row (every channel finite) wait for the next complete row
    and are filled with the previous complete row prepended. A long stretch with a channel
    missing is held in memory until it ends.
    """

    def __init__(self, policy: str, source: str):
        self.policy, self.source = policy, source
        self._anchor: pd.DataFrame | None = None  # last complete row already delivered
        self._pending: pd.DataFrame | None = None
        self._pending_start = 0

    def push(self, start: int, frame: pd.DataFrame) -> Iterator[tuple[int, pd.DataFrame]]:
        """Yield ``(first file row, filled rows)`` blocks that are ready."""
        if self.policy == "raise":
            yield start, frame
            return
        if self._pending is not None:
            frame, start = pd.concat([self._pending, frame]), self._pending_start
        complete = np.isfinite(frame.to_numpy(dtype=np.float64)).all(axis=1)
        if not complete.any():
            self._pending, self._pending_start = frame, start
            return
        cut = int(np.flatnonzero(complete)[-1]) + 1
        ready, rest = frame.iloc[:cut], frame.iloc[cut:]
        self._pending, self._pending_start = (rest if len(rest) else None), start + cut
        yield start, self._fill(ready)
        self._anchor = ready.iloc[-1:]

    def flush(self) -> Iterator[tuple[int, pd.DataFrame]]:
        if self._pending is not None:
            yield self._pending_start, self._fill(self._pending)
            self._pending = None

    def _fill(self, rows: pd.DataFrame) -> pd.DataFrame:
        if self._anchor is None:
            filled = fill_missing(rows, self.policy, source=self.source)
        else:
            filled = fill_missing(pd.concat([self._anchor, rows]), self.policy, source=self.source).iloc[1:]
        return filled.set_axis(rows.index, axis=0)


def window_context(detector) -> tuple[int, int, int]:
    """``(grid, left, right)``: piece ends lie on multiples of ``grid``; a piece needs ``left``
    rows before it and ``right`` after it (see the module docstring). ``(1, 0, 0)`` for
    point-wise detectors without condition channels (whose change horizon adds ``history``
    rows before every piece)."""
    context = detector.scoring_context()
    if context.span == 1 and not context.history:
        return 1, 0, 0
    grid = context.stride
    return grid, -(-(context.span + context.history) // grid) * grid, context.span


class _Pieces:
    """Scaled rows in, errors and scores out, in pieces that equal the whole-file pass (a pass
    per session where the timestamps pause, as :meth:`anomaly.base.Detector.score` has it)."""

    def __init__(self, detector):
        self.detector = detector
        self.grid, self.left, self.right = window_context(detector)
        self._rate = detector.schema_.sampling_rate
        self._pause = pause_length(self._rate)
        self._done = 0  # rows before this one have been delivered
        self._last = None  # timestamp of the last row pushed
        self.passes = 0  # passes started; every piece yielded belongs to the last one
        self._drifts: dict[str, RelationDrift] = {}  # channels re-centring followed by their relation, passes ended
        self._follow_starts: dict[int, object] = {}  # the current pass's: channel -> index label of its first shift
        self._pass = None
        self._start_pass()

    def drifts(self) -> list[RelationDrift]:
        """The channels re-centring followed by their relation so far (:meth:`anomaly.base.Detector.relation_drifts`)."""
        found = {name: replace(d) for name, d in self._drifts.items()}  # copies: the current pass's rows add to them
        self._count_follows(found)
        return list(found.values())

    def _count_follows(self, found: dict[str, RelationDrift]) -> None:
        """Add the current pass's follows to ``found``."""
        recentring = None if self._pass is None else self._pass.recentring
        if recentring is None:
            return
        add_followed(found, recentring, self.rows - self._origin, self.detector.schema_.channels, self.detector.scaler_.scale_,
                     lambda f: self._follow_starts[f.channel])

    def _start_pass(self) -> None:
        """Forget the rows of the pass so far (all delivered) and start a new one."""
        self._count_follows(self._drifts)
        self._follow_starts = {}
        self.passes += 1
        self._Z = np.empty((0, len(self.detector.schema_.channels)), dtype=np.float32)
        self._index: pd.Index | None = None
        self._first = self._origin = self._done  # file row of self._Z[0] and of the pass's first row (the stride grid's start)
        self._pass = self.detector.start_pass()

    def push(self, Z: np.ndarray, index: pd.Index) -> Iterator[tuple[pd.Index, np.ndarray, np.ndarray]]:
        """Add scaled rows (n, n_channels); yield ``(index, errors, scores)`` of the rows now final."""
        for number, rows in enumerate(pass_slices(index, self._rate)):
            if number or (len(index) and is_pause(self._last, index[rows.start], self._pause)):
                yield from self.finish()
                self._start_pass()
            yield from self._push_pass(Z[rows], index[rows])
        if len(index):
            self._last = index[-1]

    def _push_pass(self, Z: np.ndarray, index: pd.Index) -> Iterator[tuple[pd.Index, np.ndarray, np.ndarray]]:
        """:meth:`push` for rows of the current pass."""
        before = self.rows - self._origin  # rows of the pass before these
        Z = self.detector.pass_rows(Z, self._pass)
        if self._pass is not None and self._pass.recentring is not None:
            for f in self._pass.recentring.take_new():  # the window that ended its first shift ended in these rows
                self._follow_starts[f.channel] = index[f.row - before]
        self._Z = np.concatenate([self._Z, Z]) if len(self._Z) else Z
        self._index = index if self._index is None else self._index.append(index)
        stop = self._origin + (self._first - self._origin + len(self._Z) - self.right) // self.grid * self.grid
        if stop > self._done:
            yield self._piece(stop, stop + self.right)

    @property
    def rows(self) -> int:
        """Rows pushed so far (all passes)."""
        return self._first + len(self._Z)

    def finish(self) -> Iterator[tuple[pd.Index, np.ndarray, np.ndarray]]:
        """The rows left at the end of the pass (its tail window among them)."""
        if (end := self.rows) > self._done:
            yield self._piece(end, end)

    def _piece(self, stop: int, end: int) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        lo = max(self._done - self.left, self._origin)
        Z = self._Z[lo - self._first : end - self._first]
        E, X = self.detector.errors_and_extra_scaled(Z)
        keep = slice(self._done - lo, stop - lo)
        E, S = self.detector.scores_of_errors(E[keep], None if X is None else X[keep], self._pass)
        index = self._index[self._done - self._first : stop - self._first]
        self._done = stop
        drop = max(stop - self.left, self._origin) - self._first  # keep the context of the next piece
        self._Z, self._index, self._first = self._Z[drop:], self._index[drop:], self._first + drop
        return index, E, np.asarray(S)


class _Flags:
    """``thresholder.apply`` block by block, equal to applying it to each pass of the whole
    file's scores (the rule's :meth:`~anomaly.thresholds.Threshold.apply_chunk` carries any
    state, e.g. ``Dynamic``'s EWMA and trailing window, from block to block, and starts afresh
    with each pass)."""

    def __init__(self, rule):
        self.rule, self._state, self._pass = rule, None, None

    def __call__(self, scores: np.ndarray, number: int) -> np.ndarray:
        """Flags (n,) of the next scores (n,), all of pass ``number``."""
        if number != self._pass:
            self._state, self._pass = None, number
        flags, self._state = self.rule.apply_chunk(scores, self._state)
        return flags


def iter_scores(detector, path: str | Path, *, timestamp: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                progress: Progress | None = None, drop_leading: bool | None = False,
                stats: dict | None = None) -> Iterator[tuple[pd.DataFrame, pd.Series, pd.Series]]:
    """Score a CSV or Parquet file block by block with bounded memory.

    Parameters
    ----------
    detector : fitted Detector
    path : str or Path
    timestamp : str, optional
        Timestamp column (default: detected as :func:`pipelines.sources.read_table` does).
    chunk_rows : int
        Rows read at a time; memory grows with it, results do not depend on it.
    progress : callable, optional
        ``progress(rows_done, rows_expected)`` after each block (expected: None if unknown).
    drop_leading : bool or None, default=False
        Drop the rows before every channel has had a value, as
        ``read_table(path, drop_leading=True)`` does (:class:`pipelines.preprocess.LeadingRows`);
        None: drop them when the detector's NaN policy fills gaps (``ffill``/``interpolate``).
    stats : dict, optional
        Filled at the end: ``leading_rows_dropped`` and ``outside_envelope`` (the validity
        guard's one line, empty when the file lies inside the training envelope and at the
        model's sampling rate; its run median is the median of the blocks' medians, its rate
        the median of the blocks' rates; inside the envelope, the flood note of
        :func:`anomaly.guard.flood_note`).

    Yields
    ------
    errors : DataFrame (n_block, n_channels); scores : Series (n_block,); flags : Series[bool] (n_block,)
        Consecutive blocks whose concatenation equals ``detector.evaluate_frame(frame)`` for the
        whole file's frame.

    Raises
    ------
    DataError, SchemaError
        The whole-file path's error for a bad file (raised after the file has been read to
        its end, so that the report is the same; nothing is yielded once a problem is found).
    ConfigError
        If ``chunk_rows`` is not a positive integer.
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)) or chunk_rows < 1:
        raise ConfigError(f"chunk_rows={chunk_rows!r} must be an integer >= 1")
    detector.check_fitted()
    source = str(path)
    stream = open_chunks(path, timestamp=timestamp, chunk_rows=int(chunk_rows), exclude=detector.schema_.ignored)
    policy = detector.nan_policy
    checks = FileChecks(source, detector.schema_, policy)
    filler, pieces, flags = _Filler(policy, source), _Pieces(detector), _Flags(detector.thresholder_)
    channels = list(detector.schema_.channels)
    done = 0

    led = np.zeros(len(channels), dtype=np.int64)  # flagged rows each channel leads (the guard's flood note)
    over = np.zeros(len(channels), dtype=np.int64)  # flagged rows each channel is over its own limit in (the same)

    def emit(parts) -> Iterator[tuple[pd.DataFrame, pd.Series, pd.Series]]:
        nonlocal done, led, over
        for index, E, S in parts:
            done += len(index)
            flagged = flags(S, pieces.passes)
            ranked = detector.head_.calibrated(E)
            led += led_rows(ranked, flagged)
            over += over_rows(ranked, flagged)
            yield (pd.DataFrame(E, index=index, columns=channels), pd.Series(S, index=index, name="score"),
                   pd.Series(flagged, index=index, name="flag"))
            if progress is not None:
                progress(done, stream.expected_rows)

    medians, rates = [], []  # per block: the validity guard's run median is the median of block medians; the rate likewise
    outside, counted = [], []  # per block: rows outside each channel's range and rows (the guard's share outside)

    def scored(blocks) -> Iterator[tuple[pd.DataFrame, pd.Series, pd.Series]]:
        for start, frame in blocks:
            values = checks.values(start, frame)
            if not checks.failed and len(values):
                medians.append(np.median(values, axis=0))
                if (rate := sampling_rate(frame.index)) is not None:
                    rates.append(rate)
                outside.append(detector.envelope_.outside_counts(values))
                counted.append(len(values))
            if not checks.failed:  # after a problem, only keep checking: the report needs the whole file
                yield from emit(pieces.push(detector.scaler_.transform(values), frame.index))

    leading = LeadingRows() if (policy != "raise" if drop_leading is None else drop_leading) else None
    for raw in stream:
        frame = checks.chunk(raw)
        start = raw.start
        if frame is not None and leading is not None:
            frame, start = leading.push(frame, start)
        if frame is not None and len(frame):
            yield from scored(filler.push(start, frame))
        if checks.failed and progress is not None:  # checking the rest: show that rows go by
            progress(raw.start + len(raw.body), stream.expected_rows)
    checks.end()
    checks.raise_if_failed()
    yield from scored(filler.flush())
    checks.raise_if_failed()
    check_holds_a_window(pieces.rows, detector.scoring_context().span, source)  # as the whole-file pass
    yield from emit(pieces.finish())
    if stats is not None:
        stats["leading_rows_dropped"] = leading.dropped if leading is not None else 0
        share = np.sum(outside, axis=0) / max(sum(counted), 1)
        level = detector.level_channels()
        excursions = detector.envelope_.check_median(np.median(medians, axis=0), share, level) if medians else []
        declared = detector.declared_conditions()
        envelope = describe(excursions) or flood_note(led, done, detector.schema_.channels, level, detector.setpoint_channels(),
                                                   over, declared)
        hint = condition_hint(excursions, led.sum() / max(done, 1), channels, level,  # every flagged row leads one channel
                              recentred=bool(detector.recentre_rows_), declared=declared)
        rate = rate_note(detector.schema_.sampling_rate, float(np.median(rates)) if rates else None)
        stats["outside_envelope"] = joined(envelope, hint, relation_note(pieces.drifts(), done), rate)
    if progress is not None:
        progress(done, done)
