"""The typer app: every command registered in help order, toolkit errors turned into exit status 2."""

from __future__ import annotations

import functools

import typer

from anomaly import AnomalyError
from anomaly.cli import augment, compare, demo, evaluate, export, feedback, fine_tune, fit, info, score, simulate, stream
from anomaly.cli.console import err

app = typer.Typer(add_completion=False, no_args_is_help=True, help="Anomaly detection on robot sensor data.")


#: Libraries of the ``train`` extra: a command that needs one in a base install says so in one line.
TRAINING_LIBRARIES = ("tensorflow", "keras", "scipy", "sklearn", "matplotlib", "tf2onnx", "onnx")


def handles_errors(command):
    """Turn toolkit errors (and a missing training extra) into one ``error:`` line and exit status 2."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except AnomalyError as exc:
            message = str(exc)
        except ModuleNotFoundError as exc:
            if (exc.name or "").split(".")[0] not in TRAINING_LIBRARIES:
                raise
            message = (f"`anomaly {command.__name__.replace('_', '-')}` needs {exc.name}, part of the training extra: "
                       "pip install 'robot-anomaly[train]'")
        err.print(f"error: {message}", markup=False, highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None

    return wrapper


#: The commands in the order ``anomaly --help`` lists them.
COMMANDS = (simulate.simulate, fit.fit, fine_tune.fine_tune, info.info, score.score, evaluate.evaluate, feedback.feedback, export.export,
            compare.compare, stream.stream, augment.augment, demo.demo)

for _command in COMMANDS:
    app.command()(handles_errors(_command))


def main() -> None:
    """Console-script entry point."""
    app()
