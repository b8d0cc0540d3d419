"""Scenes to predict: what the user points at, grouped into sources that provide a bundle's bands.

A path may be a raster file, a product folder, a folder of scenes, or a STAC
JSON (item, collection, catalog, ItemCollection). Sources that provide every
band the model needs are scenes on their own; sources that provide only some
(a Sentinel-2 product beside a Sentinel-1 one) are grouped with those of the
same day and footprint. Change models get pairs of dates.
"""

from __future__ import annotations

import itertools
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.catalog import Catalog
from eoforge.errors import ConfigError
from eoforge.geo.grid import grid_from_bounds, make_grid
from eoforge.io import open_sources
from eoforge.io.handles import HANDLES
from eoforge.io.source import RasterSource


@dataclass(frozen=True)
class Scene:
    """One scene to predict.

    Attributes:
        name: Used for output file names.
        dates: Sources per date (one date; two for change models, earlier first).
    """

    name: str
    dates: tuple[tuple[RasterSource, ...], ...]

    def grid(self, bands: Sequence[str], gsd: float | None) -> GeoBox:
        """The scene's grid: that of its first band's file, at ``gsd`` metres if given."""
        first = next(s for s in self.dates[0] if s.resolve(bands[0]) is not None)
        grid = first.grid(bands[0])
        if not gsd or grid.crs is None:
            return grid
        b = grid.boundingbox
        if grid.crs.geographic:
            return _degree_grid(grid, gsd)
        if abs(abs(grid.resolution.x) - gsd) > 1e-6:
            return grid_from_bounds((b.left, b.bottom, b.right, b.top), grid.crs, gsd)
        return grid


def _degree_grid(grid: GeoBox, gsd: float) -> GeoBox:
    """``grid`` resampled to about ``gsd`` metres in degrees (kept when already within 5 %)."""
    b = grid.boundingbox
    lat = math.radians((b.bottom + b.top) / 2)
    dy = gsd / 111_320.0
    dx = dy / max(math.cos(lat), 1e-6)
    if abs(abs(grid.resolution.y) / dy - 1) < 0.05 and abs(abs(grid.resolution.x) / dx - 1) < 0.05:
        return grid
    height = max(1, math.ceil((b.top - b.bottom) / dy))
    width = max(1, math.ceil((b.right - b.left) / dx))
    return make_grid((height, width), Affine(dx, 0, b.left, 0, -dy, b.top), grid.crs)


def find_sources(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[RasterSource]:
    """Every image source under ``paths`` (files, folders, STAC JSON)."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[RasterSource] = []
    for item in paths:
        path = Path(item)
        if path.suffix.lower() == ".json":
            found.extend(Catalog.from_stac(path).sources(kind="image"))
        else:
            found.extend(open_sources(path))
    return found


def group_scenes(
    sources: Sequence[RasterSource], bands: Sequence[str], *, dates: int = 1
) -> list[Scene]:
    """Group ``sources`` into scenes that provide all of ``bands``.

    Args:
        sources: Candidate sources (others, e.g. label rasters, are ignored).
        bands: Band names the model needs.
        dates: 1, or 2 for change models (consecutive scenes of one footprint pair up).

    Raises:
        ConfigError: No source provides the bands, or a change model gets no pair.
    """
    useful = [s for s in sources if any(s.resolve(b) for b in bands)]
    singles: list[tuple[RasterSource, ...]] = []
    groups: dict[tuple[object, ...], list[RasterSource]] = {}
    for source in useful:
        if all(source.resolve(b) for b in bands):
            singles.append((source,))
        else:
            groups.setdefault(_key(source), []).append(source)
    for members in groups.values():
        if all(any(s.resolve(b) for s in members) for b in bands):
            singles.append(tuple(members))
    if not singles:
        have = sorted({b for s in useful for b in s.bands}) or ["none of them"]
        raise ConfigError(
            f"no scene provides all the model's bands ({', '.join(bands)}); "
            f"the inputs provide {', '.join(have[:12])}.",
            fix="point at scenes of the sensors the model was trained on.",
        )
    if dates == 1:
        return [Scene(_name(group), (group,)) for group in singles]
    return _pairs(singles)


def _key(source: RasterSource) -> tuple[object, ...]:
    grid = source.grid()
    b = grid.boundingbox
    day = source.datetime.date().isoformat() if source.datetime is not None else None
    return (day, str(grid.crs), round(b.left), round(b.bottom), round(b.right), round(b.top))


def _name(group: tuple[RasterSource, ...]) -> str:
    first = group[0]
    if len(group) == 1 or first.datetime is None:
        return first.name
    return f"{first.name}_{first.datetime:%Y%m%d}"


def _when(group: tuple[RasterSource, ...]) -> tuple[float, str]:
    when = group[0].datetime
    return (when.timestamp() if when is not None else math.inf, group[0].name)


def _pairs(singles: list[tuple[RasterSource, ...]]) -> list[Scene]:
    by_place: dict[tuple[object, ...], list[tuple[RasterSource, ...]]] = {}
    for group in singles:
        by_place.setdefault(_key(group[0])[1:], []).append(group)
    scenes = []
    for groups in by_place.values():
        ordered = sorted(groups, key=_when)
        for before, after in itertools.pairwise(ordered):
            scenes.append(Scene(f"{_name(before)}_to_{_name(after)}", (before, after)))
    if not scenes:
        raise ConfigError(
            "a change model needs two dates of the same place; found one.",
            fix="pass both dates (files, folders or a STAC collection holding both).",
        )
    return scenes


def output_grid(path: str | os.PathLike[str]) -> GeoBox:
    """The grid of a raster file, for ``--grid``."""
    return HANDLES.grid(os.fspath(path))
