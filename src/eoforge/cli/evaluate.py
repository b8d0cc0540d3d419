"""``eoforge evaluate``: score a model bundle on a dataset, print and save the metrics."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

HELP = """Score a model bundle on a dataset and save the metrics as JSON.

DATA is an experiment config (its validation data, scored as training
scored it), a synthetic or STAC scene folder for geo bundles (scored whole,
every pixel of the label raster once, classes mapped as in training), or
the dataset root for chip bundles (class folders, LEVIR-CD layout,
images/ + masks/). The bundle's normalisation is used; the metrics are the
training metrics' code.

Examples:

  eoforge synth --out scenes/unseen --size 512 --sensors s2 --dates 1 --clouds 0 --seed 7

  eoforge evaluate runs/landcover/bundle scenes/unseen

  eoforge evaluate runs/levir/bundle configs/levir_cd.yaml --out levir-metrics.json
"""


def evaluate(
    bundle: Annotated[Path, typer.Argument(help="Bundle folder written by eoforge train.")],
    data: Annotated[Path, typer.Argument(help="Config file, scene folder or dataset root.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Metrics JSON (default: evaluation.json beside the bundle)."),
    ] = None,
) -> None:
    """Evaluate a bundle (see ``eoforge evaluate --help``)."""
    from eoforge.experiment.evaluate import evaluate as run_evaluation

    target = out if out is not None else bundle.parent / "evaluation.json"
    metrics = run_evaluation(bundle, data, target)
    console = Console()
    table = Table(title=f"{bundle} on {data}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(f"wrote {target}", soft_wrap=True)


def register(app: typer.Typer) -> None:
    """Add ``evaluate`` to the ``eoforge`` command."""
    app.command("evaluate", help=HELP)(evaluate)
