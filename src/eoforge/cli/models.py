"""``eoforge models``: the architectures eoforge builds and the tasks each serves."""

from __future__ import annotations

import typer
from rich.table import Table

from eoforge.cli import ui

HELP = """List the model architectures and the tasks each one serves.

Use a name as model.arch in an experiment config; model.backbone picks the
timm or segmentation-models-pytorch encoder. The list is the result, so
it prints under --quiet too.

Examples:

  eoforge models

  eoforge models | grep segmentation
"""


def models() -> None:
    """List architectures (see ``eoforge models --help``)."""
    # Deferred for the CLI's start-up time: the model registry imports PyTorch (seconds).
    from eoforge.models import list_models

    table = Table(title="eoforge architectures")
    table.add_column("arch")
    table.add_column("tasks")
    table.add_column("description")
    found = list_models()
    for info in found:
        table.add_row(info.name, ", ".join(info.tasks), info.description)
    ui.out().print(table)
    ui.result(f"{len(found)} architectures; nothing written")


def register(app: typer.Typer) -> None:
    """Add ``models`` to the ``eoforge`` command."""
    app.command("models", help=HELP)(models)
