"""``eoforge models``: the architectures eoforge builds, and published checkpoint import."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from eoforge.cli import ui
from eoforge.errors import ConfigError

HELP = """List the model architectures and the tasks each one serves.

Use a name as model.arch in an experiment config; model.backbone picks the
timm or segmentation-models-pytorch encoder. The list is the result, so
it prints under --quiet too. `eoforge models import` turns a published
foundation-model checkpoint into an embedding bundle.

Examples:

  eoforge models

  eoforge models | grep segmentation

  eoforge models import B13_rn50_moco_0099_ckpt_ep100.pth --out ssl4eo_rn50
"""

IMPORT_HELP = """Import a published checkpoint as an embedding bundle.

Reads a LOCAL file (nothing is downloaded; PyTorch files are read with
weights_only, a file needing unpickling is refused), recognises its layout
(or uses --importer) and writes BUNDLE_DIR with weights.safetensors,
bundle.json (bands, normalisation, input size) and imported.json (importer,
licence, dropped keys, notes), ready for `eoforge embed`.

Importers: ssl4eo_resnet (SSL4EO-S12 / SoftCon ResNet, MoCo or DINO),
ssl4eo_vit (SSL4EO-S12 ViT-S/16, DINO or MAE), softcon_vit (SoftCon ViT/14),
prithvi (Prithvi-100M / EO-2.0, single date), dofa (DOFA ViT; needs --bands),
satmae (SatMAE group-channel ViT, 10 Sentinel-2 bands), satlas_resnet and
satlas_swin (SatlasPretrain ResNet-50/152 and Swin-v2 backbones).

--bands picks and orders the input bands: the checkpoint's own bands are
selected exactly, others are adapted from the nearest ones. Published
statistics are stored converted to the units eoforge reads the bands in
(Sentinel-2 and Landsat as reflectance); without them, give --mean and --std
in those units. DOFA
takes each band's wavelength from the sensor registry; bands without an optical
one (SAR) need --wavelengths in µm.

Examples:

  eoforge models import B13_rn50_moco.pth --out rn50 --bands S2.B04,S2.B03,S2.B02

  eoforge models import dofa_base.pth --out dofa --bands S2.B02,S2.B03,S2.B04,S2.B08 \\
      --mean 0,0,0,0 --std 1,1,1,1
"""

app = typer.Typer(help=HELP, invoke_without_command=True)


@app.callback()
def models(ctx: typer.Context) -> None:
    """List architectures (see ``eoforge models --help``)."""
    if ctx.invoked_subcommand is not None:
        return
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


def _numbers(text: str | None, option: str) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(v) for v in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} is not a list of numbers.",
            fix=f"give {option} as comma-separated numbers, one per band.",
        ) from None


@app.command("import", help=IMPORT_HELP)
def import_command(
    checkpoint: Annotated[Path, typer.Argument(help="Local checkpoint file.")],
    out: Annotated[Path, typer.Option("--out", help="Bundle folder to write.")],
    importer: Annotated[
        str | None, typer.Option("--importer", help="Importer name (default: detected).")
    ] = None,
    bands: Annotated[
        str | None, typer.Option("--bands", help="Comma-separated input bands (default: all).")
    ] = None,
    mean: Annotated[str | None, typer.Option("--mean", help="Per-band means.")] = None,
    std: Annotated[str | None, typer.Option("--std", help="Per-band standard deviations.")] = None,
    wavelengths: Annotated[
        str | None,
        typer.Option("--wavelengths", help="DOFA: per-band wavelengths in µm (e.g. for SAR)."),
    ] = None,
) -> None:
    """Import a published checkpoint (see ``eoforge models import --help``)."""
    # Deferred for the CLI's start-up time: the importers import PyTorch (seconds).
    from eoforge.models import Normalization, import_checkpoint, save_imported_bundle

    means, stds = _numbers(mean, "--mean"), _numbers(std, "--std")
    if (means is None) != (stds is None):
        raise ConfigError("give both --mean and --std, or neither.", fix="add the missing one.")
    with ui.status(f"importing {checkpoint}"):
        wanted = [b.strip() for b in bands.split(",")] if bands else None
        waves = _numbers(wavelengths, "--wavelengths")
        options = {"wavelengths_um": waves} if waves is not None else None
        imported = import_checkpoint(checkpoint, importer, wanted, options)
        norm = None
        if means is not None and stds is not None:
            if len(means) != len(imported.spec.in_bands) or len(stds) != len(means):
                raise ConfigError(
                    f"--mean has {len(means)} and --std {len(stds)} values for "
                    f"{len(imported.spec.in_bands)} bands.",
                    fix="give one value per band, in --bands order.",
                )
            norm = Normalization(mean=means, std=stds)
        folder = save_imported_bundle(imported, out, norm, source=str(checkpoint))
    ui.console().print(imported.summary())
    ui.console().print(f"licence of the weights: {imported.licence}")
    ui.result(f"wrote {folder} ({imported.spec.arch}, bands {','.join(imported.spec.in_bands)})")


def register(main: typer.Typer) -> None:
    """Add ``models`` (and ``models import``) to the ``eoforge`` command."""
    main.add_typer(app, name="models", short_help="List the model architectures and their tasks.")
