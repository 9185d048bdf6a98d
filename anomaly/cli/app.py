"""The typer app: every command registered in help order, toolkit errors turned into exit status 2."""

from __future__ import annotations

import functools

import typer

from anomaly import AnomalyError
from anomaly.cli import compare, demo, evaluate, export, fit, score, simulate, stream
from anomaly.cli.console import err

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Anomaly detection on robot sensor data.")


def handles_errors(command):
    """Turn toolkit errors into one ``error:`` line and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AnomalyError as exc:
            err.print(f"error: {exc}", markup=False, highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper


#: The commands in the order ``anomaly --help`` lists them.
COMMANDS = (simulate.simulate, fit.fit, score.score, evaluate.evaluate, export.export, compare.compare, stream.stream, demo.demo)

for _command in COMMANDS:
    app.command()(handles_errors(_command))


def main() -> None:
    """Console-script entry point."""
    app()
