"""``eoforge info``: what a raster, product folder, vector, MTL/MTD, STAC or catalog holds."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from odc.geo.geobox import GeoBox
from rich.console import Console
from rich.table import Table

from eoforge.catalog import Catalog
from eoforge.catalog.rows import bounds_polygon_wgs84
from eoforge.catalog.stac import is_stac_file
from eoforge.catalog.stats import source_stats
from eoforge.catalog.storage import is_catalog_file
from eoforge.cli import ui
from eoforge.geo.format import bounds_label, crs_label
from eoforge.geo.grid import bounds_in, grid_rotation, grid_skew, pixel_size
from eoforge.io.handles import HANDLES, check_path, file_info
from eoforge.io.products import open_sources
from eoforge.io.source import RasterSource
from eoforge.io.vector import read_vector
from eoforge.sensors import parse_landsat_mtl, parse_s2_mtd

HELP = """Describe a raster, a product folder, a vector file, product metadata or a catalog.

For rasters: driver, size, grid (CRS, transform, pixel size, orientation,
bounds in the native CRS and EPSG:4326), block size, dtype, nodata, bands by name with
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


def _bands_table(source: RasterSource, stats: bool) -> Table:
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


def _orientation(grid: GeoBox) -> str:
    """``"north up"``, or how the pixel lattice is turned, skewed or flipped on the map."""
    a = grid.affine
    if a.b == 0 and a.d == 0 and a.a > 0 and a.e < 0:
        return "north up"
    parts = []
    angle = grid_rotation(grid)
    if angle != 0:
        parts.append(f"rotated grid: rows turned {angle:.6g}° counter-clockwise from east")
    skew = grid_skew(grid)
    if skew > 1e-9:
        parts.append(f"skewed: rows and columns {90 - skew:.6g}° apart")
    if a.a * a.e - a.b * a.d > 0:
        parts.append("flipped: row numbers grow northwards")
    return "; ".join(parts)


def _grid_fields(grid: GeoBox) -> list[tuple[str, Any]]:
    a = grid.affine
    crs = grid.crs
    native = bounds_in(grid, crs)
    wgs84 = bounds_polygon_wgs84(native, crs).bounds
    # The length of the transform's column vectors, not |a| x |e|, which shrink on
    # rotated grids (8.66 x 8.66 for 10 m pixels turned 30 degrees).
    width, height = pixel_size(grid)
    size = f"{width:.6g} x {height:.6g}"
    units = crs.units[0] if crs is not None else "pixels"
    return [
        ("CRS", crs_label(crs)),
        ("transform", f"({a.a:g}, {a.b:g}, {a.c:.6f}, {a.d:g}, {a.e:g}, {a.f:.6f})"),
        ("pixel size", f"{size} ({units})"),
        ("orientation", _orientation(grid)),
        ("bounds (native)", bounds_label(native, crs)),
        ("bounds (EPSG:4326)", bounds_label(wgs84, "EPSG:4326")),
    ]


def _source_fields(source: RasterSource) -> list[tuple[str, Any]]:
    when = source.datetime.isoformat() if source.datetime else "-"
    return [("sensor", source.sensor or "-"), ("level", source.level or "-"), ("datetime", when)]


def show_raster(console: Console, path: Path, stats: bool) -> None:
    """Header, grid, bands (with radiometry) and statistics of one raster file."""
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
    sources = open_sources(path)
    console.print(f"[bold]{path}[/]: {len(sources)} source(s)")
    for source in sources:
        console.rule(source.name)
        _fields(console, [*_source_fields(source), *_grid_fields(source.grid())])
        console.print(_bands_table(source, stats))


def show_vector(console: Console, path: Path) -> None:
    """CRS, bounds, feature count, geometry types and columns of a vector file."""
    gdf = read_vector(path)
    types = gdf.geom_type.value_counts().to_dict()
    bounds = tuple(float(v) for v in gdf.total_bounds)
    finite = len(gdf) > 0 and all(math.isfinite(v) for v in bounds)
    _fields(
        console,
        [
            ("path", path),
            ("CRS", crs_label(gdf.crs)),
            ("features", len(gdf)),
            ("geometry types", ", ".join(f"{k} ({v})" for k, v in types.items()) or "-"),
            ("bounds (native)", bounds_label(bounds, gdf.crs) if finite else "-"),
            (
                "bounds (EPSG:4326)",
                bounds_label(bounds_polygon_wgs84(bounds, gdf.crs).bounds, "EPSG:4326")
                if finite
                else "-",
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


def show_catalog(console: Console, catalog: Catalog, title: str) -> None:
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
