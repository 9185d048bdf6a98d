"""The two consoles (data on stdout, messages on stderr) and tables printed on stdout."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from rich.console import Console
from rich.table import Table as RichTable

err = Console(stderr=True)
out = Console(width=None if sys.stdout.isatty() else 160)


def print_table(table: pd.DataFrame, title: str) -> None:
    """Print a DataFrame as a rich table on stdout."""
    shown = RichTable(title=title, title_justify="left")
    shown.add_column(str(table.index.name or ""))
    for col in table.columns:
        shown.add_column(str(col), justify="right")
    for name, row in table.iterrows():
        shown.add_row(str(name), *[f"{v:.3f}" if isinstance(v, (float, np.floating)) else str(v) for v in row])
    out.print(shown)
