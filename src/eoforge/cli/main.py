"""Entry point of the ``eoforge`` command.

Each sub-command lives in its own module with a ``register(app)`` function;
this module only wires them and turns :class:`eoforge.errors.EoforgeError`
into a one-line message and a non-zero exit status.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.console import Console

from eoforge import __version__
from eoforge.errors import EoforgeError

app = typer.Typer(
    name="eoforge",
    help="Deep learning on Earth-observation imagery.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)
_state = {"debug": False}


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"eoforge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Print the version and exit.",
        ),
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show full tracebacks on errors.")] = False,
) -> None:
    """Deep learning on Earth-observation imagery."""
    _state["debug"] = debug


def _register_all() -> None:
    from eoforge.cli import demo, evaluate, index, info, models, predict, synth, train

    for module in (info, index, synth, demo, train, evaluate, models, predict):
        module.register(app)


def main() -> None:
    """Run the ``eoforge`` command line."""
    _register_all()
    try:
        app(standalone_mode=False)
    except EoforgeError as exc:
        if _state["debug"]:
            raise
        err_console.print(f"[bold red]error:[/] {exc}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        err_console.print("aborted")
        sys.exit(1)
    except Exception as exc:  # click usage errors and the like
        import click

        if isinstance(exc, click.ClickException):
            exc.show()
            sys.exit(exc.exit_code)
        raise


if __name__ == "__main__":
    main()
