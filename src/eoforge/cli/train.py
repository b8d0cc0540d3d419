"""``eoforge train``: train a model from an experiment config and export its bundle."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from eoforge.cli import ui

HELP = """Train a model from a YAML experiment config and export its bundle.

The config has sections data, model, task, optim and trainer (see
configs/*.yaml). The run folder (trainer.output_dir) receives config.yaml,
checkpoints/last.ckpt (every trainer.checkpoint_every_n_steps steps and at
each epoch end), logs/version_<n>/metrics.csv and bundle/ (weights,
bundle.json, experiment.yaml). Relative paths in the config start at the
working directory. Under --quiet there is no progress bar and no metrics
table, only the "wrote ..." line.

Examples:

  eoforge train configs/landcover_synthetic.yaml

  eoforge train configs/landcover_synthetic.yaml --set trainer.max_epochs=2 --set data.batch_size=4

  eoforge train configs/landcover_synthetic.yaml --resume

  eoforge train configs/levir_cd.yaml --devices 2 --strategy ddp
"""


def train(
    config: Annotated[Path, typer.Argument(help="Experiment config (YAML).")],
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Override a config value: dotted.key=value (repeatable)."),
    ] = None,
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue from <output_dir>/checkpoints/last.ckpt.")
    ] = False,
    devices: Annotated[
        str | None, typer.Option(help="Devices per node (sets trainer.devices).")
    ] = None,
    strategy: Annotated[
        str | None, typer.Option(help="Lightning strategy, e.g. ddp (sets trainer.strategy).")
    ] = None,
    progress: Annotated[bool, typer.Option(help="Show the progress bar.")] = True,
) -> None:
    """Train from a config (see ``eoforge train --help``)."""
    from eoforge.experiment import load_config
    from eoforge.experiment import train as run_training

    overrides = list(set_ or [])
    if devices is not None:
        overrides.append(f"trainer.devices={devices}")
    if strategy is not None:
        overrides.append(f"trainer.strategy={strategy}")
    experiment = load_config(config, overrides)
    # Lightning's start-up notes ("GPU available: ...") are progress too.
    lightning_log = logging.getLogger("lightning.pytorch")
    level = lightning_log.level
    if ui.is_quiet():
        lightning_log.setLevel(logging.WARNING)
    try:
        result = run_training(experiment, resume=resume, progress=progress and not ui.is_quiet())
    finally:
        lightning_log.setLevel(level)
    table = Table(title=f"{config} trained in {result.seconds:.0f} s", show_header=False)
    for name, value in sorted(result.metrics.items()):
        if name.startswith("val/") and "_" not in name.removeprefix("val/"):
            table.add_row(name, f"{value:.4f}")
    ui.console().print(table)
    written = [f"bundle {result.bundle}"]
    if result.checkpoint is not None:
        written.append(f"checkpoint {result.checkpoint}")
    if result.log_dir is not None:
        written.append(f"logs {result.log_dir}")
    ui.result(f"wrote {', '.join(written)}")


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``eoforge`` command."""
    app.command("train", help=HELP)(train)
