"""CLI test helpers: run ``anomaly`` in process and read its one-line errors."""

from __future__ import annotations

from typer.testing import CliRunner

from anomaly.cli import app

runner = CliRunner()


def invoke(*args, input: str | None = None):
    """``anomaly ARGS...`` in process (arguments turned into strings, ``input`` on stdin); the click Result."""
    return runner.invoke(app, [str(a) for a in args], input=input)


def one_error_line(result) -> str:
    """The single ``error:`` line of a run that exited with status 2."""
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    return lines[0]
