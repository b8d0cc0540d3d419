"""Build catalog rows from files and folders, skipping (or raising on) what cannot be indexed.

Folders are walked recursively. In each folder, band files that the sensor
registry recognises (Landsat ``*_B4.TIF``, BigEarthNet ``*_B04.tif``, ...)
are grouped into one product each, other rasters are scenes of their own,
vector files become label layers, and a user file-name pattern (see
:mod:`eoforge.catalog.pattern`) takes precedence for the files it matches.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from rasterio.errors import RasterioError
from rich.console import Console
from rich.progress import Progress

from eoforge.catalog.pattern import NameMatch, compile_pattern, match_name, scene_name
from eoforge.catalog.rows import raster_row, vector_row
from eoforge.catalog.stac import is_stac_file, stac_rows
from eoforge.catalog.storage import catalog_rows, is_catalog_file
from eoforge.errors import EoforgeError, MissingFileError, UnreadableFileError
from eoforge.io.handles import check_path
from eoforge.io.products import open_sources, sources_from_band_files
from eoforge.io.source import RASTER_SUFFIXES, BandAsset, RasterSource, source_from_file
from eoforge.sensors import identify_band_file
from eoforge.sensors.names import band_sort_key, canonical_band, registry_sensor

Row = dict[str, Any]

IMAGE_SUFFIXES = (*RASTER_SUFFIXES, ".png", ".jpg", ".jpeg")
"""Raster files a folder walk tries (plain images are tried so their skip reason is reported)."""

VECTOR_SUFFIXES = (".geojson", ".gpkg", ".shp", ".fgb", ".parquet", ".geoparquet")
"""Vector label files a folder walk indexes."""

PROGRESS_THRESHOLD = 50
"""Work units from which a progress bar is shown."""


@dataclass(frozen=True)
class SkippedFile:
    """A file (or product) that could not be indexed.

    Attributes:
        path: The file, or the folder of a band-per-file product.
        reason: The one-line error message, which names a fix.
    """

    path: str
    reason: str


@dataclass
class BuildResult:
    """Rows built and files skipped."""

    rows: list[Row] = field(default_factory=list)
    skipped: list[SkippedFile] = field(default_factory=list)


@dataclass(frozen=True)
class _Unit:
    """One thing to index: a file, a product or a pattern scene."""

    label: str
    explicit: bool
    make: Callable[[], list[Row]]


def build_rows(
    paths: Sequence[str | os.PathLike[str]] | str | os.PathLike[str],
    *,
    pattern: str | None = None,
    sensor: str | None = None,
    strict: bool | None = None,
    progress: bool = True,
) -> BuildResult:
    """Index files and folders into catalog rows.

    Args:
        paths: Files (rasters, vectors, Landsat MTL / Sentinel-2 MTD files,
            STAC JSON, catalog parquet) and folders (walked recursively).
        pattern: File-name regex with named groups ``date``, ``sensor``, ``band``.
        sensor: Sensor of files that do not reveal theirs (registry name or
            spacecraft, e.g. ``"S2"``, ``"S2A"``, ``"landsat-8"``).
        strict: True raises on any file that cannot be indexed; False skips
            every such file; None (default) raises for files given explicitly
            and skips files found by walking a folder.
        progress: Show a rich progress bar (on stderr) for large inputs.

    Returns:
        The rows and the skipped files with their reasons.

    Raises:
        MissingFileError: A given path does not exist.
        EoforgeError: A file that cannot be indexed, per ``strict``.
    """
    items = [paths] if isinstance(paths, str | os.PathLike) else list(paths)
    regex = None if pattern is None else compile_pattern(pattern)
    units = _plan(items, regex, sensor)
    result = BuildResult()
    for unit in _tracked(units, progress):
        try:
            result.rows.extend(unit.make())
        except (EoforgeError, RasterioError) as exc:
            error = _as_eoforge(exc, unit.label)
            if strict or (strict is None and unit.explicit):
                raise error from exc
            fix = f" Fix: {error.fix}" if error.fix else ""
            result.skipped.append(SkippedFile(error.path or unit.label, f"{error.reason}{fix}"))
    return result


def _as_eoforge(exc: Exception, label: str) -> EoforgeError:
    if isinstance(exc, EoforgeError):
        return exc
    return UnreadableFileError(
        f"cannot be read ({str(exc).splitlines()[0][:200]}).",
        path=label,
        fix="check that the file is complete and in a format GDAL reads.",
    )


def _tracked(units: list[_Unit], progress: bool) -> Iterable[_Unit]:
    if not progress or len(units) < PROGRESS_THRESHOLD:
        yield from units
        return
    with Progress(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("indexing", total=len(units))
        for unit in units:
            yield unit
            bar.advance(task)


def _plan(items: Sequence[str | os.PathLike[str]], regex: Any, sensor: str | None) -> list[_Unit]:
    files: list[Path] = []
    units: list[_Unit] = []
    for item in items:
        path = Path(check_path(item))
        if path.is_dir():
            units.extend(_walk(path, regex, sensor))
        else:
            files.append(path)
    return _file_units(files, regex, sensor, explicit=True) + units


def _walk(root: Path, regex: Any, sensor: str | None) -> list[_Unit]:
    units: list[_Unit] = []
    for folder, subdirs, names in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        files = [Path(folder) / n for n in sorted(names) if _walkable(Path(folder) / n)]
        units.extend(_file_units(files, regex, sensor, explicit=False))
    return units


def _walkable(path: Path) -> bool:
    suffix = path.suffix.lower()
    if suffix in (".parquet", ".geoparquet"):
        return not is_catalog_file(path)  # our own output must not be indexed as labels
    return suffix in IMAGE_SUFFIXES or suffix in VECTOR_SUFFIXES


def _file_units(
    files: Sequence[Path], regex: Any, sensor: str | None, *, explicit: bool
) -> list[_Unit]:
    units: list[_Unit] = []
    rasters: list[Path] = []
    for path in files:
        special = _special_unit(path, sensor, explicit)
        if special is not None:
            units.append(special)
        elif path.suffix.lower() in VECTOR_SUFFIXES:
            units.append(_Unit(str(path), explicit, partial(_vector_rows, path)))
        else:
            rasters.append(path)
    if regex is not None:
        rasters, pattern_units = _pattern_units(rasters, regex, sensor, explicit)
        units.extend(pattern_units)
    return units + _raster_units(rasters, sensor, explicit)


def _special_unit(path: Path, sensor: str | None, explicit: bool) -> _Unit | None:
    """Units for metadata files, STAC JSON and catalogs (only when given explicitly)."""
    if not explicit:
        return None
    lower = path.name.lower()
    is_mtd = lower.endswith(".xml") and (lower.startswith("mtd") or lower.endswith("_mtd.xml"))
    if lower.endswith("mtl.txt") or is_mtd:
        return _Unit(str(path), True, partial(_metadata_rows, path, sensor))
    if path.suffix.lower() == ".json" and is_stac_file(path):
        return _Unit(str(path), True, partial(stac_rows, path))
    if path.suffix.lower() in (".parquet", ".geoparquet") and is_catalog_file(path):
        return _Unit(str(path), True, partial(catalog_rows, path))
    return None


def _vector_rows(path: Path) -> list[Row]:
    return [vector_row(path)]


def _raster_units(files: Sequence[Path], sensor: str | None, explicit: bool) -> list[_Unit]:
    """Band files of known products grouped per product; other rasters one unit each."""
    groups: dict[str, list[Path]] = {}
    units: list[_Unit] = []
    for path in files:
        band_file = identify_band_file(path) if path.suffix.lower() in RASTER_SUFFIXES else None
        if band_file is None:
            units.append(_Unit(str(path), explicit, partial(_file_rows, path, sensor)))
        else:
            groups.setdefault(str(band_file.product), []).append(path)
    for members in groups.values():
        label = str(members[0]) if len(members) == 1 else str(members[0].parent)
        units.append(_Unit(label, explicit, partial(_band_file_rows, members, sensor)))
    return units


def _with_sensor(source: RasterSource, sensor: str | None) -> RasterSource:
    if source.sensor is not None or sensor is None:
        return source
    return replace(source, sensor=registry_sensor(sensor) or sensor)


def _file_rows(path: Path, sensor: str | None) -> list[Row]:
    source = source_from_file(path, sensor=registry_sensor(sensor))
    return [raster_row(_with_sensor(source, sensor))]


def _band_file_rows(files: Sequence[Path], sensor: str | None) -> list[Row]:
    sources, _ = sources_from_band_files(files)
    return [raster_row(_with_sensor(s, sensor)) for s in sources]


def _metadata_rows(path: Path, sensor: str | None) -> list[Row]:
    """Rows of the product a Landsat MTL or Sentinel-2 MTD file describes."""
    lower = path.name.lower()
    if lower.startswith("mtd"):  # MTD_MSIL1C.xml at the root of a SAFE folder
        return [raster_row(_with_sensor(s, sensor)) for s in open_sources(path.parent)]
    cut = len("_mtl.txt") if lower.endswith("_mtl.txt") else len("_mtd.xml")
    prefix = path.name[:-cut]
    for suffix in RASTER_SUFFIXES:
        for candidate in (path.with_name(prefix + suffix), path.with_name(prefix + suffix.upper())):
            if candidate.is_file():
                return _file_rows(candidate, sensor)
    band_files = [
        p
        for p in sorted(path.parent.iterdir())
        if p.name.startswith(prefix + "_") and p.suffix.lower() in RASTER_SUFFIXES
    ]
    sources, _ = sources_from_band_files(band_files)
    if not sources:
        raise MissingFileError(
            f"no raster of this product lies beside the metadata file (looked for {prefix}.tif "
            f"and {prefix}_B*.tif).",
            path=path,
            fix="keep the band files in the metadata file's folder, or index them directly.",
        )
    return [raster_row(_with_sensor(s, sensor)) for s in sources]


def _pattern_units(
    files: Sequence[Path], regex: Any, sensor: str | None, explicit: bool
) -> tuple[list[Path], list[_Unit]]:
    """Units for files the pattern matches; returns the unmatched files too."""
    scenes: dict[str, list[NameMatch]] = {}
    rest: list[Path] = []
    for path in files:
        found = match_name(regex, path)
        if found is None:
            rest.append(path)
        else:
            scenes.setdefault(found.scene_key, []).append(found)
    units = [
        _Unit(key, explicit, partial(_pattern_rows, key, matches, sensor))
        for key, matches in scenes.items()
    ]
    return rest, units


def _pattern_rows(key: str, matches: Sequence[NameMatch], sensor: str | None) -> list[Row]:
    first = matches[0]
    owner = registry_sensor(sensor) or registry_sensor(first.sensor)
    label = sensor or first.sensor
    if first.band is None:
        source = source_from_file(first.path, sensor=owner)
        source = replace(source, name=scene_name(key), datetime=first.datetime or source.datetime)
        return [raster_row(replace(source, sensor=owner or label or source.sensor))]
    assets: dict[str, BandAsset] = {}
    for found in matches:
        name = canonical_band(str(found.band), owner)
        single = source_from_file(found.path, [name], sensor=owner, calibrate=False)
        asset = next(iter(single.assets.values()))
        assets[asset.name] = asset
    ordered = {name: assets[name] for name in sorted(assets, key=band_sort_key)}
    source = RasterSource(
        assets=ordered, name=scene_name(key), sensor=owner or label, datetime=first.datetime
    )
    return [raster_row(source)]
