"""``eoforge train``: train a model from an experiment config and export its bundle."""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from eoforge.cli import ui

if TYPE_CHECKING:
    from eoforge.experiment import TrainResult

HELP = """Train a model from a YAML experiment config and export its bundle.

The config has sections data, model, task, optim and trainer (see
configs/*.yaml). The run folder (trainer.output_dir) receives config.yaml,
checkpoints/last.ckpt (every trainer.checkpoint_every_n_steps steps and at
each epoch end), logs/version_<n>/metrics.csv and bundle/ (weights,
bundle.json, experiment.yaml). Relative paths in the config start at the
working directory. trainer.accelerator defaults to auto: a GPU when one is
visible, else the CPU.

While training, one progress bar shows the epoch, the step, the training
loss and the monitored validation metric; at the end a table lists the final
validation metrics, the bundle and the run folder. Under --quiet there is no
progress bar and no table, only the "wrote ..." line; --debug also shows
Lightning's own notes and warnings.

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
    # Imported here, not at the top: torch and Lightning would slow every `eoforge` start-up.
    from eoforge.experiment import load_config
    from eoforge.experiment import train as run_training
    from eoforge.experiment.progress import framework_notes_hidden

    overrides = list(set_ or [])
    if devices is not None:
        overrides.append(f"trainer.devices={devices}")
    if strategy is not None:
        overrides.append(f"trainer.strategy={strategy}")
    experiment = load_config(config, overrides)
    # Lightning's start-up notes and known-harmless warnings are noise; --debug shows them.
    quieted: AbstractContextManager[None] = (
        nullcontext() if ui.is_debug() else framework_notes_hidden()
    )
    with quieted:
        result = run_training(
            experiment,
            resume=resume,
            progress=progress and not ui.is_quiet(),
            console=ui.console(),
        )
    ui.console().print(summary_table(config, result))
    if result.skipped:
        ui.result(
            f"skipped {len(result.skipped)} bad file(s) (data.on_bad_file: skip), listed in "
            f"{result.run_dir / 'skipped_files.tsv'}"
        )
    written = [f"bundle {result.bundle}"]
    if result.checkpoint is not None:
        written.append(f"checkpoint {result.checkpoint}")
    if result.log_dir is not None:
        written.append(f"logs {result.log_dir}")
    ui.result(f"wrote {', '.join(written)}")


def summary_table(config: Path, result: TrainResult) -> Table:
    """The final validation metrics (per-class ones left out), the bundle and the run folder."""
    table = Table(title=f"{config} trained in {result.seconds:.0f} s", show_header=False)
    table.add_column("name", style="bold")
    table.add_column("value", overflow="fold")
    for name, value in result.summary_metrics("val").items():
        marker = "  (monitored)" if name == result.monitor else ""
        table.add_row(name, f"{value:.4f}{marker}")
    table.add_section()
    table.add_row("bundle", str(result.bundle))
    table.add_row("run folder", str(result.run_dir))
    return table


def register(app: typer.Typer) -> None:
    """Add ``train`` to the ``eoforge`` command."""
    app.command("train", help=HELP)(train)
