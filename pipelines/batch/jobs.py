"""File jobs: one file scored into its output (:func:`score_file`), and datasets of many files, resumable."""

from __future__ import annotations

import glob
import logging
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from anomaly.errors import AnomalyError, ConfigError, DataError
from pipelines.batch.chunks import Progress, iter_scores
from pipelines.batch.table import score_table
from pipelines.chunk_reader import DEFAULT_CHUNK_ROWS, file_kind
from pipelines.sinks import check_table_path, write_frames

__all__ = ["ScoredFile", "output_path", "plan", "resolve_inputs", "score_file", "score_files"]

log = logging.getLogger(__name__)


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
    outside_envelope : str
        The validity guard's line when the file lies outside the training envelope, else "".
    leading_rows_dropped : int
        Rows before every channel had a value, not scored (``drop_leading``).
    """

    source: Path
    output: Path
    rows: int = 0
    flagged: int = 0
    seconds: float = 0.0
    skipped: bool = False
    error: AnomalyError | None = None
    leading_rows_dropped: int = 0
    outside_envelope: str = ""


def score_file(detector, path: str | Path, output: str | Path, *, timestamp: str | None = None,
               chunk_rows: int = DEFAULT_CHUNK_ROWS, top_k: int = 3, with_errors: bool = False,
               progress: Progress | None = None, drop_leading: bool | None = False) -> ScoredFile:
    """Score a CSV or Parquet file into ``output`` (.parquet or .csv) with bounded memory.

    The output holds, per input row, the index (timestamp or row number), ``score``, ``flag``,
    ``top_channels`` (and ``err:<channel>`` with ``with_errors``): :func:`score_table` of the
    blocks of :func:`iter_scores`. It is written to a temporary file in the output's folder
    and renamed at the end, so a failure leaves no output (nor temporary file) behind.
    ``drop_leading`` as for :func:`iter_scores`: those rows get no output row and are counted
    in ``leading_rows_dropped``.

    Raises
    ------
    DataError, SchemaError, ConfigError
        As :func:`iter_scores`; also for an output that is not .parquet/.csv.
    """
    output = check_table_path(output)
    start, counts, stats = time.perf_counter(), [0, 0], {}

    def tables() -> Iterator[pd.DataFrame]:
        for errors, scores, flags in iter_scores(detector, path, timestamp=timestamp, chunk_rows=chunk_rows, progress=progress,
                                                 drop_leading=drop_leading, stats=stats):
            counts[0] += len(scores)
            counts[1] += int(flags.sum())
            yield score_table(errors, scores, flags, top_k=top_k, with_errors=with_errors, head=detector.head_)

    write_frames(tables(), output)
    return ScoredFile(Path(path), output, counts[0], counts[1], time.perf_counter() - start,
                      leading_rows_dropped=stats.get("leading_rows_dropped", 0), outside_envelope=stats.get("outside_envelope", ""))


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
                drop_leading: bool | None = False) -> list[ScoredFile]:
    """Score the planned files one after the other with one detector (skipped ones stay skipped).

    A file with bad input is reported in its entry's ``error`` (no output is written for it)
    and the other files are still scored; a rerun scores only what has no output yet.

    Parameters
    ----------
    progress : callable, optional
        ``progress(job)`` before each file, returning that file's :data:`Progress` callback (or None).
    drop_leading : bool or None, default=False
        As for :func:`iter_scores`.

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
                                      top_k=top_k, with_errors=with_errors, progress=progress(job) if progress else None,
                                      drop_leading=drop_leading))
        except AnomalyError as exc:
            log.info("%s not scored: %s", job.source, exc)
            results.append(ScoredFile(job.source, job.output, error=exc))
    return results
