"""Where benchmark data lives: an explicit argument, else ``$ANOMALY_DATA_DIR``."""

from __future__ import annotations

import os
from pathlib import Path

from anomaly.errors import DataError

ENV_VAR = "ANOMALY_DATA_DIR"


def data_dir(path: str | Path | None, subfolder: str) -> Path:
    """Resolve ``<root>/<subfolder>`` where root is ``path`` or ``$ANOMALY_DATA_DIR``.

    ``path`` may also point at the subfolder itself.

    Raises
    ------
    DataError
        If no root is given or the folder does not exist.
    """
    root = path if path is not None else os.environ.get(ENV_VAR)
    if root is None:
        raise DataError(f"no data directory: pass one (--data-dir) or set {ENV_VAR} to the folder holding {subfolder}/")
    root = Path(root)
    for candidate in (root / subfolder, root):
        if candidate.is_dir() and candidate.name == subfolder:
            return candidate
    raise DataError(f"{root / subfolder}: data folder not found")
