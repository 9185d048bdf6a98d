"""Bounded-memory batch scoring of files and datasets.

A file is read in chunks (:mod:`pipelines.chunk_reader`), checked chunk by chunk
(:mod:`pipelines.chunk_checks`), scored, and written block by block to a temporary file that
is renamed into place at the end (:func:`pipelines.sinks.write_frames`). Memory is bounded by
the chunk size, not the file size, and the output equals scoring the whole file at once
(``det.evaluate_frame(read_table(path).frame)``, i.e. what ``anomaly score`` wrote before):

* **windows** -- a window model's error at row ``r`` depends only on rows within one
  ``window`` of ``r``, on the grid of window starts ``0, stride, 2*stride, ...``. Rows are
  scored in pieces ``[k0, k1)`` whose ends lie on that grid; each piece is computed from the
  rows ``[k0 - L, k1 + window)``, ``L`` = ``window`` rounded up to a multiple of the stride, so
  every window covering a kept row is the one the whole-file pass uses, and the flush-with-end
  window of the last piece is the whole file's tail window. (The forecaster, which looks
  ``window`` rows back, needs the same context.) Point-wise detectors (PCA) need none.
* **NaN policy** -- ``ffill``/``interpolate`` hold back rows after the last row that has every
  channel, and fill them together with that row once the next complete row has arrived.
* **flags** -- threshold rules compare each score with a constant, except :class:`Dynamic`,
  whose EWMA state and trailing window are carried from block to block.
* **checks** -- problems are reported with the whole-file path's message, type and file row
  numbers; a file with a problem leaves no output.

Measured in ``tests/pipelines/test_batch.py``: every neural detector's output is bit-identical
to the whole-file pass (overlapping strides included); PCA's differs in the last float32 bits
(its matrix products run on fewer rows at a time; ~2e-7 relative).
"""

from __future__ import annotations

import glob
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from anomaly.attribution import top_channels
from anomaly.errors import AnomalyError, ConfigError, DataError
from pipelines.chunk_checks import FileChecks
from pipelines.chunk_reader import DEFAULT_CHUNK_ROWS, file_kind, open_chunks
from anomaly.scaling import fill_missing
from pipelines.sinks import check_table_path, write_frames

log = logging.getLogger(__name__)

#: ``progress(rows_done, rows_expected_or_None)``, called after each written block.
Progress = Callable[[int, "int | None"], None]


def score_table(errors: pd.DataFrame, scores: pd.Series, flags: pd.Series, *, top_k: int = 3,
                with_errors: bool = False) -> pd.DataFrame:
    """The table ``anomaly score`` writes: score, flag, top_channels (and ``err:<channel>``) per row.

    Parameters
    ----------
    errors : DataFrame (n_steps, n_channels); scores : Series (n_steps,); flags : Series[bool] (n_steps,)
        Aligned on the same index (as :meth:`~anomaly.base.Detector.evaluate_frame` returns them).

    Returns
    -------
    pandas.DataFrame of shape (n_steps, 3) or (n_steps, 3 + n_channels)
    """
    table = pd.concat([scores, flags, top_channels(errors, top_k)], axis=1)
    return pd.concat([table, errors.add_prefix("err:")], axis=1) if with_errors else table


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
    point-wise detectors."""
    context = detector.scoring_context()
    if context.span == 1:
        return 1, 0, 0
    grid = context.stride
    return grid, -(-context.span // grid) * grid, context.span


class _Pieces:
    """Scaled rows in, errors and scores out, in pieces that equal the whole-file pass."""

    def __init__(self, detector):
        self.detector = detector
        self.grid, self.left, self.right = window_context(detector)
        self._Z = np.empty((0, len(detector.schema_.channels)), dtype=np.float32)
        self._index: pd.Index | None = None
        self._first = 0  # file row of self._Z[0]
        self._done = 0  # rows before this one have been delivered

    def push(self, Z: np.ndarray, index: pd.Index) -> Iterator[tuple[pd.Index, np.ndarray, np.ndarray]]:
        """Add rows (n, n_channels); yield ``(index, errors, scores)`` of the rows now final."""
        self._Z = np.concatenate([self._Z, Z]) if len(self._Z) else Z
        self._index = index if self._index is None else self._index.append(index)
        stop = (self._first + len(self._Z) - self.right) // self.grid * self.grid
        if stop > self._done:
            yield self._piece(stop, stop + self.right)

    def finish(self) -> Iterator[tuple[pd.Index, np.ndarray, np.ndarray]]:
        """The rows left at the end of the file (the whole file's tail window among them)."""
        end = self._first + len(self._Z)
        if end > self._done:
            yield self._piece(end, end)

    def _piece(self, stop: int, end: int) -> tuple[pd.Index, np.ndarray, np.ndarray]:
        lo = max(self._done - self.left, 0)
        Z = self._Z[lo - self._first : end - self._first]
        E, S = self.detector.errors_and_scores_scaled(Z)
        keep = slice(self._done - lo, stop - lo)
        index = self._index[self._done - self._first : stop - self._first]
        self._done = stop
        drop = max(stop - self.left, 0) - self._first  # keep the context of the next piece
        self._Z, self._index, self._first = self._Z[drop:], self._index[drop:], self._first + drop
        return index, E[keep], np.asarray(S[keep])


class _Flags:
    """``thresholder.apply`` block by block, equal to applying it to the whole file's scores
    (the rule's :meth:`~anomaly.thresholds.Threshold.apply_chunk` carries any state, e.g.
    ``Dynamic``'s EWMA and trailing window, from block to block)."""

    def __init__(self, rule):
        self.rule, self._state = rule, None

    def __call__(self, scores: np.ndarray) -> np.ndarray:
        flags, self._state = self.rule.apply_chunk(scores, self._state)
        return flags


def iter_scores(detector, path: str | Path, *, timestamp: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                progress: Progress | None = None) -> Iterator[tuple[pd.DataFrame, pd.Series, pd.Series]]:
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
    stream = open_chunks(path, timestamp=timestamp, chunk_rows=int(chunk_rows))
    policy = detector.nan_policy
    checks = FileChecks(source, detector.schema_, policy)
    filler, pieces, flags = _Filler(policy, source), _Pieces(detector), _Flags(detector.thresholder_)
    channels = list(detector.schema_.channels)
    done = 0

    def emit(parts) -> Iterator[tuple[pd.DataFrame, pd.Series, pd.Series]]:
        nonlocal done
        for index, E, S in parts:
            done += len(index)
            yield (pd.DataFrame(E, index=index, columns=channels), pd.Series(S, index=index, name="score"),
                   pd.Series(flags(S), index=index, name="flag"))
            if progress is not None:
                progress(done, stream.expected_rows)

    def scored(blocks) -> Iterator[tuple[pd.DataFrame, pd.Series, pd.Series]]:
        for start, frame in blocks:
            values = checks.values(start, frame)
            if not checks.failed:  # after a problem, only keep checking: the report needs the whole file
                yield from emit(pieces.push(detector.scaler_.transform(values), frame.index))

    for raw in stream:
        frame = checks.chunk(raw)
        if frame is not None:
            yield from scored(filler.push(raw.start, frame))
        if checks.failed and progress is not None:  # checking the rest: show that rows go by
            progress(raw.start + len(raw.body), stream.expected_rows)
    checks.end()
    checks.raise_if_failed()
    yield from scored(filler.flush())
    checks.raise_if_failed()
    yield from emit(pieces.finish())
    if progress is not None:
        progress(done, done)


@dataclass(frozen=True)
class ScoredFile:
    """What happened to one input file.

    Attributes
    ----------
    source, output : Path
    rows : int
        Rows scored (0 when skipped or failed).
    flagged : int
        Rows flagged.
    seconds : float
        Wall time spent on the file.
    skipped : bool
        The output already existed (and ``force`` was off).
    error : AnomalyError or None
        Why the file was rejected (its output was not written).
    """

    source: Path
    output: Path
    rows: int = 0
    flagged: int = 0
    seconds: float = 0.0
    skipped: bool = False
    error: AnomalyError | None = None


def score_file(detector, path: str | Path, output: str | Path, *, timestamp: str | None = None,
               chunk_rows: int = DEFAULT_CHUNK_ROWS, top_k: int = 3, with_errors: bool = False,
               progress: Progress | None = None) -> ScoredFile:
    """Score a CSV or Parquet file into ``output`` (.parquet or .csv) with bounded memory.

    The output holds, per input row, the index (timestamp or row number), ``score``, ``flag``,
    ``top_channels`` (and ``err:<channel>`` with ``with_errors``): :func:`score_table` of the
    blocks of :func:`iter_scores`. It is written to a temporary file in the output's folder
    and renamed at the end, so a failure leaves no output (nor temporary file) behind.

    Raises
    ------
    DataError, SchemaError, ConfigError
        As :func:`iter_scores`; also for an output that is not .parquet/.csv.
    """
    output = check_table_path(output)
    start, counts = time.perf_counter(), [0, 0]

    def tables() -> Iterator[pd.DataFrame]:
        for errors, scores, flags in iter_scores(detector, path, timestamp=timestamp, chunk_rows=chunk_rows, progress=progress):
            counts[0] += len(scores)
            counts[1] += int(flags.sum())
            yield score_table(errors, scores, flags, top_k=top_k, with_errors=with_errors)

    write_frames(tables(), output)
    return ScoredFile(Path(path), output, counts[0], counts[1], time.perf_counter() - start)


# -- datasets: many files, resumable ----------------------------------------------
_GLOB_CHARS = set("*?[")


def _is_table(path: Path) -> bool:
    try:
        file_kind(path)
    except DataError:
        return False
    return path.is_file()


def resolve_inputs(specs: Iterable[str | Path], *, exclude: str | Path | None = None) -> list[Path]:
    """The input files named by files, directories (their CSV/Parquet files) and glob patterns.

    Parameters
    ----------
    specs : iterable of str or Path
        A file name is taken as it is (a missing or unsupported file is reported when it is
        read); a directory gives the CSV/Parquet files directly in it; a pattern with ``*``,
        ``?`` or ``[`` gives the CSV/Parquet files it matches.
    exclude : str or Path, optional
        A folder whose files directories and patterns never yield (the output folder, so
        outputs are not scored again).

    Returns
    -------
    list of Path
        Sorted within each directory or pattern, in spec order, without duplicates.

    Raises
    ------
    DataError
        A directory or pattern without CSV/Parquet files.
    """
    skip = Path(exclude).resolve() if exclude is not None else None
    found: dict[Path, None] = {}
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            files = sorted(p for p in path.iterdir() if _is_table(p))
        elif path.exists() or not _GLOB_CHARS & set(str(spec)):
            found[path] = None
            continue
        else:
            files = sorted(Path(p) for p in glob.glob(str(spec)) if _is_table(Path(p)))
        files = [p for p in files if p.resolve().parent != skip]
        if not files:
            raise DataError(f"{spec}: no CSV or Parquet files {'in this folder' if path.is_dir() else 'match'}")
        found.update(dict.fromkeys(files))
    return list(found)


def output_path(source: Path, out_dir: str | Path, suffix: str = ".parquet") -> Path:
    """``out_dir/<name without extensions>.scores<suffix>`` for an input file."""
    name = source.name[: -len(".gz")] if source.name.lower().endswith(".gz") else source.name
    return Path(out_dir) / f"{Path(name).stem}.scores{suffix}"


def plan(sources: list[Path], out_dir: str | Path, *, suffix: str = ".parquet", force: bool = False) -> list[ScoredFile]:
    """One entry per input: its output path, ``skipped`` when that exists and ``force`` is off.

    Raises
    ------
    ConfigError
        If two inputs would write the same output (e.g. ``a.csv`` and ``a.parquet``).
    """
    jobs, seen = [], {}
    for source in sources:
        output = check_table_path(output_path(source, out_dir, suffix))
        if output in seen:
            raise ConfigError(f"{seen[output]} and {source} would both be scored into {output}; rename one")
        seen[output] = source
        jobs.append(ScoredFile(source, output, skipped=output.exists() and not force))
    return jobs


def score_files(detector, jobs: list[ScoredFile], *, timestamp: str | None = None, chunk_rows: int = DEFAULT_CHUNK_ROWS,
                top_k: int = 3, with_errors: bool = False, progress: Callable[[ScoredFile], Progress | None] | None = None,
                ) -> list[ScoredFile]:
    """Score the planned files one after the other with one detector (skipped ones stay skipped).

    A file with bad input is reported in its entry's ``error`` (no output is written for it)
    and the other files are still scored; a rerun scores only what has no output yet.

    Parameters
    ----------
    progress : callable, optional
        ``progress(job)`` before each file, returning that file's :data:`Progress` callback (or None).

    Returns
    -------
    list of ScoredFile, in the order of ``jobs``
    """
    results = []
    for job in jobs:
        if job.skipped:
            results.append(job)
            continue
        try:
            results.append(score_file(detector, job.source, job.output, timestamp=timestamp, chunk_rows=chunk_rows,
                                      top_k=top_k, with_errors=with_errors, progress=progress(job) if progress else None))
        except AnomalyError as exc:
            log.info("%s not scored: %s", job.source, exc)
            results.append(ScoredFile(job.source, job.output, error=exc))
    return results
