"""``eoforge models``: the architectures eoforge builds and the tasks each serves."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

HELP = """List the model architectures and the tasks each one serves.

Use a name as model.arch in an experiment config; model.backbone picks the
timm or segmentation-models-pytorch encoder.

Examples:

  eoforge models
"""


def models() -> None:
    """List architectures (see ``eoforge models --help``)."""
    from eoforge.models import list_models

    table = Table(title="eoforge architectures")
    table.add_column("arch")
    table.add_column("tasks")
    table.add_column("description")
    found = list_models()
    for info in found:
        table.add_row(info.name, ", ".join(info.tasks), info.description)
    console = Console()
    console.print(table)
    console.print(f"{len(found)} architectures; nothing written")


def register(app: typer.Typer) -> None:
    """Add ``models`` to the ``eoforge`` command."""
    app.command("models", help=HELP)(models)
