"""``eoforge report``: a self-contained HTML report of a finished run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

HELP = """Write an HTML report of a finished run: imagery, maps, accuracy, training, timings.

RUN_DIR is a run folder holding run.json, as `eoforge demo` writes it. The
report goes to RUN_DIR/report.html (one file, figures embedded, safe to mail
or archive) and its figures to RUN_DIR/report/*.png. Inputs the run lacks,
such as a Sentinel-1 scene, give a section that says so.

Examples:

  eoforge demo --out runs/demo

  eoforge report runs/demo

  eoforge report runs/demo && xdg-open runs/demo/report.html
"""


def report(
    run_dir: Annotated[
        Path, typer.Argument(help="Run folder holding run.json (written by eoforge demo).")
    ],
) -> None:
    """Write the report of a run (see ``eoforge report --help``)."""
    # Deferred for the CLI's start-up time: the report imports matplotlib.
    from eoforge.evaluate.report import FIGURE_FOLDER, write_report

    console = Console()
    with console.status("[bold]drawing the report[/] ..."):
        target = write_report(run_dir)
    console.print(f"wrote {target}", soft_wrap=True, highlight=False)
    console.print(f"figures in {target.parent / FIGURE_FOLDER}", soft_wrap=True, highlight=False)


def register(app: typer.Typer) -> None:
    """Add ``report`` to the ``eoforge`` command."""
    app.command("report", help=HELP)(report)
