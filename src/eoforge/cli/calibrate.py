"""``eoforge calibrate``: Sentinel-1 GRD digital numbers to backscatter COGs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, TextColumn, TimeRemainingColumn

from eoforge.cli import ui

HELP = """Sentinel-1 GRD products (.SAFE) to calibrated backscatter COGs.

Each polarisation's digital numbers become sigma0 (default), beta0 or gamma0
(ellipsoid) with the product's own calibration LUTs, thermal noise removed
(--no-denoise to keep it), geocoded onto a map grid by the measurement's
ground control points (UTM zone of the scene centre at 10 m unless --crs /
--resolution say otherwise; relief is not corrected: no DEM is used), linear
power (nodata 0) or --db (nodata NaN). Each product writes
<product>_<POL>.tif per polarisation, which eoforge reads as S1.VV / S1.VH;
finished files are kept on a rerun. docs/sar.md gives the formulas.

Examples:

  eoforge calibrate S1A_IW_GRDH_1SDV_20240101T054512_..._8B2D.SAFE --out s1

  eoforge calibrate products/*.SAFE --out s1 --quantity gamma0 --db --crs EPSG:32631
"""


def calibrate(
    products: Annotated[list[Path], typer.Argument(help=".SAFE folders (or their manifest.safe).")],
    out: Annotated[Path, typer.Option("--out", help="Output folder.")] = Path("sigma0"),
    quantity: Annotated[str, typer.Option(help="sigma0, beta0 or gamma0 (ellipsoid).")] = "sigma0",
    denoise: Annotated[
        bool, typer.Option("--denoise/--no-denoise", help="Subtract the thermal noise.")
    ] = True,
    db: Annotated[bool, typer.Option("--db", help="Write dB instead of linear power.")] = False,
    geocode: Annotated[
        bool,
        typer.Option("--geocode/--radar-geometry", help="Warp onto a map grid, or keep the GCPs."),
    ] = True,
    crs: Annotated[str | None, typer.Option(help="Target CRS (default: UTM of the scene).")] = None,
    resolution: Annotated[float, typer.Option(help="Target pixel size, CRS units.")] = 10.0,
    polarisations: Annotated[
        str | None, typer.Option(help="Comma-separated, e.g. VV,VH (default: all).")
    ] = None,
) -> None:
    """Calibrate products (see ``eoforge calibrate --help``)."""
    from eoforge.sar import calibrate_product  # (keeps `eoforge --version` fast)

    pols = [p.strip() for p in polarisations.split(",")] if polarisations else None
    columns = (TextColumn("{task.description}"), BarColumn(), TimeRemainingColumn())
    written: list[Path] = []
    with ui.progress(*columns) as bar:
        for product in products:
            task = bar.add_task(product.name[:48], total=None)

            def report(done: int, total: int, task: int = task) -> None:
                bar.update(task, completed=done, total=total)  # type: ignore[arg-type]

            written += calibrate_product(
                product,
                out,
                quantity=quantity,  # type: ignore[arg-type]  # checked inside
                denoise=denoise,
                db=db,
                geocode=geocode,
                crs=crs,
                resolution=resolution,
                polarisations=pols,
                progress=report,
            )
    for path in written:
        ui.result(f"wrote {path}")


def register(app: typer.Typer) -> None:
    """Add ``calibrate`` to the ``eoforge`` command."""
    app.command("calibrate", help=HELP)(calibrate)
