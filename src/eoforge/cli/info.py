"""``eoforge info``: what a raster, product folder, vector, MTL/MTD, STAC or catalog holds."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from eoforge.cli import ui

HELP = """Describe a raster, a product folder, a vector file, product metadata or a catalog.

For rasters: driver, size, grid (CRS, transform, resolution, bounds in the
native CRS and EPSG:4326), block size, dtype, nodata, bands by name with
their radiometry, and per-band min/max/mean/std/valid fraction in physical
units, computed on a decimated read. Everything it prints is its result, so
it prints under --quiet too.

Examples:

  eoforge info scene.tif

  eoforge info LC08_L1TP_193024_20200509_20200509_01_RT_MTL.txt

  eoforge info BigEarthNet-S2/S2A_MSIL2A_20170613T101031_87_48/ --no-stats

  eoforge info labels.geojson

  eoforge info catalog.parquet
"""

_VECTOR_SUFFIXES = (".geojson", ".gpkg", ".shp", ".fgb", ".parquet", ".geoparquet", ".json")


def _crs_label(crs: Any) -> str:
    """``"WGS 84 / UTM zone 18N (EPSG:32618)"``, or the name alone for custom CRSs."""
    import pyproj

    proj = pyproj.CRS.from_user_input(crs.to_wkt() if hasattr(crs, "to_wkt") else crs)
    code = proj.to_epsg()
    return f"{proj.name} (EPSG:{code})" if code else f"{proj.name} (no EPSG code)"


def _fmt_bounds(bounds: Sequence[float]) -> str:
    return ", ".join(f"{v:.6f}" if abs(v) < 1000 else f"{v:.2f}" for v in bounds)


def _fields(console: Console, rows: Sequence[tuple[str, Any]]) -> None:
    for key, value in rows:
        console.print(f"[bold]{key}:[/] {value}", soft_wrap=True)


def _radiometry_text(rad: Any) -> str:
    parts = [f"scale={rad.scale:g}", f"offset={rad.offset:g}", f"unit={rad.unit}"]
    if rad.nodata is not None:
        parts.append(f"nodata={rad.nodata:g}")
    if rad.k1 is not None:
        parts.append(f"K1={rad.k1:g} K2={rad.k2:g}")
    return " ".join(parts)


def _bands_table(source: Any, stats: bool) -> Table:
    from eoforge.catalog.stats import source_stats

    table = Table(title=f"bands of {source.name}")
    for column in ("band", "file", "index", "radiometry"):
        table.add_column(column, overflow="fold", no_wrap=column == "band")
    numbers = {s.name: s for s in source_stats(source)} if stats else {}
    if stats:
        for column in ("min", "max", "mean", "std", "valid"):
            table.add_column(column, justify="right")
    for asset in source.assets.values():
        row = [
            asset.name,
            Path(asset.path).name,
            str(asset.index),
            _radiometry_text(asset.radiometry),
        ]
        if stats:
            s = numbers[asset.name]
            row += [f"{s.minimum:.6g}", f"{s.maximum:.6g}", f"{s.mean:.6g}", f"{s.std:.6g}"]
            row.append(f"{100 * s.valid_fraction:.1f}%")
        table.add_row(*row)
    return table


def _grid_fields(grid: Any) -> list[tuple[str, Any]]:
    from eoforge.catalog.rows import bounds_polygon_wgs84
    from eoforge.geo.grid import bounds_in

    a = grid.affine
    native = bounds_in(grid, grid.crs)
    return [
        ("CRS", _crs_label(grid.crs)),
        ("transform", f"({a.a:g}, {a.b:g}, {a.c:.6f}, {a.d:g}, {a.e:g}, {a.f:.6f})"),
        ("resolution", f"{abs(a.a):g} x {abs(a.e):g} ({grid.crs.units[0]})"),
        ("bounds (native)", _fmt_bounds(native)),
        ("bounds (EPSG:4326)", _fmt_bounds(bounds_polygon_wgs84(native, grid.crs).bounds)),
    ]


def _source_fields(source: Any) -> list[tuple[str, Any]]:
    when = source.datetime.isoformat() if source.datetime else "-"
    return [("sensor", source.sensor or "-"), ("level", source.level or "-"), ("datetime", when)]


def show_raster(console: Console, path: Path, stats: bool) -> None:
    """Header, grid, bands (with radiometry) and statistics of one raster file."""
    from eoforge.io.handles import HANDLES, file_info
    from eoforge.io.products import open_sources

    info = file_info(path)  # raises NotGeoreferencedError for plain images
    (source,) = open_sources(path)
    grid = info.grid
    _fields(
        console,
        [
            ("path", path),
            ("driver", HANDLES.get(str(path)).driver),
            ("size", f"{grid.shape.x} x {grid.shape.y} pixels, {info.count} band(s)"),
            *_grid_fields(grid),
            ("block size", f"{info.block_shape[1]} x {info.block_shape[0]}"),
            ("dtype", ", ".join(sorted(set(info.dtypes)))),
            ("nodata", "-" if info.nodata is None else f"{info.nodata:g}"),
            *_source_fields(source),
        ],
    )
    console.print(_bands_table(source, stats))


def show_folder(console: Console, path: Path, stats: bool) -> None:
    """Every source (product) found in a folder, with its grid and bands."""
    from eoforge.io.products import open_sources

    sources = open_sources(path)
    console.print(f"[bold]{path}[/]: {len(sources)} source(s)")
    for source in sources:
        console.rule(source.name)
        _fields(console, [*_source_fields(source), *_grid_fields(source.grid())])
        console.print(_bands_table(source, stats))


def show_vector(console: Console, path: Path) -> None:
    """CRS, bounds, feature count, geometry types and columns of a vector file."""
    from eoforge.catalog.rows import bounds_polygon_wgs84
    from eoforge.io.vector import read_vector

    gdf = read_vector(path)
    types = gdf.geom_type.value_counts().to_dict()
    bounds = tuple(float(v) for v in gdf.total_bounds)
    finite = len(gdf) > 0 and all(math.isfinite(v) for v in bounds)
    _fields(
        console,
        [
            ("path", path),
            ("CRS", _crs_label(gdf.crs)),
            ("features", len(gdf)),
            ("geometry types", ", ".join(f"{k} ({v})" for k, v in types.items()) or "-"),
            ("bounds (native)", _fmt_bounds(bounds) if finite else "-"),
            (
                "bounds (EPSG:4326)",
                _fmt_bounds(bounds_polygon_wgs84(bounds, gdf.crs).bounds) if finite else "-",
            ),
        ],
    )
    table = Table(title="columns")
    table.add_column("column")
    table.add_column("dtype")
    for name, dtype in gdf.dtypes.items():
        table.add_row(str(name), str(dtype))
    console.print(table)


def _value_text(value: Any) -> str:
    if isinstance(value, Mapping):
        return (
            ", ".join(
                f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in value.items()
            )
            or "-"
        )
    if isinstance(value, tuple | list):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def show_metadata(console: Console, path: Path) -> None:
    """Parsed Landsat MTL or Sentinel-2 MTD metadata."""
    from eoforge.sensors import parse_landsat_mtl, parse_s2_mtd

    meta: Any = (
        parse_landsat_mtl(path) if path.name.lower().endswith("mtl.txt") else parse_s2_mtd(path)
    )
    rows = [
        (f.name.replace("_", " "), _value_text(getattr(meta, f.name)))
        for f in dataclasses.fields(meta)
        if f.name != "groups"
    ]
    for extra in ("tile_id", "registry_level"):
        if hasattr(meta, extra):
            rows.append((extra.replace("_", " "), _value_text(getattr(meta, extra))))
    _fields(console, rows)


def show_catalog(console: Console, catalog: Any, title: str) -> None:
    """The rows of a catalog (saved parquet or STAC)."""
    table = Table(title=f"{title}: {len(catalog)} rows, {len(catalog.skipped)} skipped")
    for column in ("id", "kind", "sensor", "level", "datetime", "CRS", "res", "bands", "path"):
        table.add_column(column, overflow="fold")
    for e in catalog:
        table.add_row(
            e.id,
            e.kind,
            e.sensor or "-",
            e.level or "-",
            e.datetime.isoformat() if e.datetime else "-",
            f"EPSG:{e.epsg}" if e.epsg else "custom",
            "-" if math.isnan(e.resolution) else f"{e.resolution:g}",
            ", ".join(e.bands) or "-",
            e.path,
        )
    console.print(table)


def _is_metadata(path: Path) -> bool:
    lower = path.name.lower()
    return lower.endswith("mtl.txt") or (lower.endswith(".xml") and "mtd" in lower)


def info(
    path: Annotated[
        Path,
        typer.Argument(
            help="Raster, product folder, vector file, MTL/MTD file, STAC JSON or catalog parquet."
        ),
    ],
    stats: Annotated[
        bool, typer.Option("--stats/--no-stats", help="Per-band statistics (decimated read).")
    ] = True,
) -> None:
    """Describe a file, folder or catalog (see ``eoforge info --help``)."""
    from eoforge.catalog import Catalog
    from eoforge.catalog.stac import is_stac_file
    from eoforge.catalog.storage import is_catalog_file
    from eoforge.io.handles import check_path

    target = Path(check_path(path))
    console = ui.out()
    suffix = target.suffix.lower()
    if target.is_dir():
        show_folder(console, target, stats)
    elif _is_metadata(target):
        show_metadata(console, target)
    elif suffix in (".parquet", ".geoparquet") and is_catalog_file(target):
        show_catalog(console, Catalog.load(target), str(target))
    elif suffix == ".json" and is_stac_file(target):
        show_catalog(console, Catalog.from_stac(target), f"STAC {target}")
    elif suffix in _VECTOR_SUFFIXES:
        show_vector(console, target)
    else:
        show_raster(console, target, stats)


def register(app: typer.Typer) -> None:
    """Add the ``info`` sub-command to ``app``."""
    app.command(name="info", help=HELP)(info)
