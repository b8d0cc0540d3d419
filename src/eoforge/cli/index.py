"""``eoforge index``: build a catalog (GeoParquet) from files, folders and STAC."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from eoforge.catalog import Catalog
from eoforge.cli import ui
from eoforge.errors import CatalogError

HELP = """Index scenes and label layers into a GeoParquet catalog.

Folders are walked recursively; band-per-file products (Landsat,
Sentinel-2, BigEarthNet patches) become one scene each. Files in folders
that cannot be indexed (no georeferencing, unreadable) are skipped and
listed; files named explicitly must be indexable. Under --quiet only the
"wrote ..." line is printed.

Examples:

  eoforge index scenes/ --out catalog.parquet

  eoforge index LC08_*_MTL.txt s2_patches/ labels.geojson --out catalog.parquet

  eoforge index tiles/ -o cat.parquet --pattern "(?P<date>\\d{8})_(?P<band>B\\d\\w)"

  eoforge index stac/catalog.json --out cat.parquet --strict
"""

SHOWN_ROWS = 40
SHOWN_SKIPPED = 10


def _summary(catalog: Catalog) -> Table:
    table = Table(title=f"{len(catalog)} rows", show_lines=False)
    for column in ("id", "kind", "sensor", "date", "CRS", "res", "bands"):
        table.add_column(column, overflow="fold")
    for entry in list(catalog)[:SHOWN_ROWS]:
        bands = (
            ", ".join(entry.bands)
            if len(entry.bands) <= 6
            else (f"{', '.join(entry.bands[:5])}, ... ({len(entry.bands)})")
        )
        table.add_row(
            entry.id,
            entry.kind,
            entry.sensor or "-",
            entry.datetime.strftime("%Y-%m-%d") if entry.datetime else "-",
            f"EPSG:{entry.epsg}" if entry.epsg else "custom",
            "-" if entry.resolution != entry.resolution else f"{entry.resolution:g}",
            bands or "-",
        )
    if len(catalog) > SHOWN_ROWS:
        table.caption = f"... and {len(catalog) - SHOWN_ROWS} more rows"
    return table


def _report_skipped(console: Console, catalog: Catalog) -> None:
    if not catalog.skipped:
        return
    console.print(f"skipped {len(catalog.skipped)} file(s) that cannot be indexed:")
    for item in catalog.skipped[:SHOWN_SKIPPED]:
        console.print(f"  {item.path}: {item.reason}", highlight=False, soft_wrap=True)
    if len(catalog.skipped) > SHOWN_SKIPPED:
        console.print(f"  ... and {len(catalog.skipped) - SHOWN_SKIPPED} more (see --strict)")


def _written(catalog: Catalog, out: Path) -> str:
    counts = catalog.frame["kind"].value_counts().to_dict()
    parts = [f"{n} {kind.replace('_', ' ')}" for kind, n in sorted(counts.items())]
    detail = f" ({', '.join(parts)})" if parts else ""
    return f"wrote {len(catalog)} scenes to {out}{detail}"


def index(
    paths: Annotated[
        list[Path],
        typer.Argument(help="Raster files, product folders, MTL/MTD files, vectors, STAC JSON."),
    ],
    out: Annotated[Path, typer.Option("--out", "-o", help="Catalog file to write (.parquet).")],
    pattern: Annotated[
        str | None,
        typer.Option(help="File-name regex with named groups date, sensor, band."),
    ] = None,
    sensor: Annotated[
        str | None, typer.Option(help="Sensor of files that do not reveal it (S2, L8, ...).")
    ] = None,
    strict: Annotated[
        bool, typer.Option("--strict", help="Fail on the first file that cannot be indexed.")
    ] = False,
) -> None:
    """Index into a catalog (see ``eoforge index --help``)."""
    catalog = Catalog.from_paths(
        paths, pattern=pattern, sensor=sensor, strict=strict or None, progress=not ui.is_quiet()
    )
    if len(catalog) == 0:
        first = catalog.skipped[0] if catalog.skipped else None
        raise CatalogError(
            "nothing could be indexed"
            + (
                f" ({len(catalog.skipped)} skipped; first: {first.path}: {first.reason})"
                if first
                else "."
            ),
            fix="point at georeferenced rasters, product folders or vector files.",
        )
    catalog.save(out)
    ui.console().print(_summary(catalog))
    _report_skipped(ui.console(), catalog)
    ui.result(_written(catalog, out))


def register(app: typer.Typer) -> None:
    """Add the ``index`` sub-command to ``app``."""
    app.command(name="index", help=HELP)(index)
