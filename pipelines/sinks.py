"""Atomic writers: outputs appear complete or not at all.

Every writer writes to a hidden temporary file in the target's folder and renames it into
place, so an interrupted or failed run never leaves a half-written result.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from anomaly.errors import DataError
from anomaly.files import atomic_write

TABLE_FORMATS = (".parquet", ".csv")


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write a text file."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def check_table_path(path: str | Path) -> Path:
    """Reject an output path whose extension is not a supported table format (before any work)."""
    path = Path(path)
    if path.suffix.lower() not in TABLE_FORMATS:
        raise DataError(f"{path}: output must end in one of {list(TABLE_FORMATS)}")
    return path


def write_table(frame: pd.DataFrame, path: str | Path, *, index: bool = True) -> Path:
    """Atomically write ``frame`` as Parquet or CSV by extension; ``index=True`` includes the
    index as a column (unnamed: ``index``)."""
    path = check_table_path(path)
    table = frame.reset_index(drop=not index)
    if path.suffix.lower() == ".parquet":
        return atomic_write(path, lambda tmp: table.to_parquet(tmp, index=False))
    return atomic_write(path, lambda tmp: table.to_csv(tmp, index=False))


def write_frames(frames: Iterable[pd.DataFrame], path: str | Path) -> Path:
    """Atomically write consecutive frames as one table, holding one frame at a time.

    The file reads back like :func:`write_table` of the frames concatenated (Parquet: one
    ``pyarrow.parquet.ParquetWriter``, the first frame fixing the column types; CSV: one
    header). If ``frames`` raises, the temporary file is removed and nothing is left behind.

    Raises
    ------
    DataError
        If ``frames`` yields nothing (an empty table is never written).
    """
    path = check_table_path(path)
    write = _write_parquet_frames if path.suffix.lower() == ".parquet" else _write_csv_frames
    return atomic_write(path, lambda tmp: write(frames, tmp, path))


def _write_parquet_frames(frames: Iterable[pd.DataFrame], tmp: Path, path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    writer = None
    try:
        for frame in frames:
            table = pa.Table.from_pandas(frame.reset_index(), preserve_index=False)
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    if writer is None:
        raise DataError(f"{path}: nothing to write")


def _write_csv_frames(frames: Iterable[pd.DataFrame], tmp: Path, path: Path) -> None:
    header = True
    with open(tmp, "w", newline="", encoding="utf-8") as handle:
        for frame in frames:
            frame.reset_index().to_csv(handle, index=False, header=header)
            header = False
    if header:
        raise DataError(f"{path}: nothing to write")
