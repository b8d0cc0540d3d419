"""Scenes to predict: what the user points at, grouped into sources that provide a bundle's bands.

A path may be a raster file, a product folder, a folder of scenes, or a STAC
JSON (item, collection, catalog, ItemCollection). Sources that provide every
band the model needs are scenes on their own; sources that provide only some
(a Sentinel-2 product beside a Sentinel-1 one) are grouped with those of the
same day and footprint (undated sources only with those of the same folder
when a band would otherwise come twice, e.g. two date folders of band files).
Change models get pairs of dates; multi-frame super-resolution models get
every date of a footprint in one scene (a stack, in date order; undated
sources by name), named by what its members' names share (``lr_0`` ...
``lr_7`` give ``lr``).

Scene names (the stem of the output files) are stable and unique: a single
product or multi-band file keeps its own name (a STAC item's id, a product
folder's name, a file's stem); several files together (or one named by its
band, ``S2.B02.tif``) take their folder's name, with the folder above it in
front when that name holds no letter (a date folder ``s2/20240301`` gives
``s2-20240301``, as synth's STAC item ids); sources of folders with one name
(``s1/20240301``, ``s2/20240301``) take that name, other groups the first
source's name and the date. Names that would repeat take more of their folder
path in front, then a number.
"""

from __future__ import annotations

import itertools
import math
import os
import re
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
from eoforge.sensors.indices import is_index_name


@dataclass(frozen=True)
class Scene:
    """One scene to predict.

    Attributes:
        name: Used for output file names.
        dates: Sources per date (one date; two for change models; every revisit
            for multi-frame models), earlier first.
    """

    name: str
    dates: tuple[tuple[RasterSource, ...], ...]

    def grid(self, bands: Sequence[str], gsd: float | None) -> GeoBox:
        """The scene's grid: that of its first band's file, at ``gsd`` metres if given."""
        band = next(b for b in bands if not is_index_name(b))  # indices are computed
        first = next(s for s in self.dates[0] if s.resolve(band) is not None)
        grid = first.grid(band)
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


STAC_IN_FOLDER = Path("stac") / "collection.json"
"""Where a synthetic scene folder keeps its STAC catalog."""


def find_sources(
    paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]],
) -> list[RasterSource]:
    """Every image source under ``paths`` (files, folders, STAC JSON).

    A folder holding ``stac/collection.json`` (an ``eoforge synth`` scene) is read
    through that catalog, so its sources carry their acquisition times (time-series
    bundles order and match dates by them).
    """
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    found: list[RasterSource] = []
    for item in paths:
        path = Path(item)
        if path.is_dir() and (path / STAC_IN_FOLDER).is_file():
            path = path / STAC_IN_FOLDER
        if path.suffix.lower() == ".json":
            found.extend(Catalog.from_stac(path).sources(kind="image"))
        else:
            found.extend(open_sources(path))
    return found


def group_scenes(
    sources: Sequence[RasterSource],
    bands: Sequence[str],
    *,
    dates: int = 1,
    stack: bool = False,
) -> list[Scene]:
    """Group ``sources`` into scenes that provide all of ``bands``.

    Args:
        sources: Candidate sources (others, e.g. label rasters, are ignored).
        bands: Band names the model needs.
        dates: 1, or 2 for change models (consecutive scenes of one footprint pair up).
        stack: Multi-frame models: one scene per footprint holding all its dates,
            in date order (``dates`` is then ignored).

    Raises:
        ConfigError: No source provides the bands, or a change model gets no pair.
    """
    # spectral indices named as bands are computed from the stored ones when read
    stored = [b for b in bands if not is_index_name(b)]
    if not stored:
        raise ConfigError(
            f"the model's bands ({', '.join(bands)}) are all spectral indices: scenes are "
            "matched by stored bands.",
            fix="train with at least one stored band beside the indices (e.g. S2.B08).",
        )
    bands = stored
    useful = [s for s in sources if any(s.resolve(b) for b in bands)]
    singles: list[tuple[RasterSource, ...]] = []
    groups: dict[tuple[object, ...], list[RasterSource]] = {}
    for source in useful:
        if all(source.resolve(b) for b in bands):
            singles.append((source,))
        else:
            groups.setdefault(_key(source), []).append(source)
    for members in groups.values():
        for part in _split_repeats(members):
            if all(any(s.resolve(b) for s in part) for b in bands):
                singles.append(tuple(part))
    if not singles:
        have = sorted({b for s in useful for b in s.bands}) or ["none of them"]
        raise ConfigError(
            f"no scene provides all the model's bands ({', '.join(bands)}); "
            f"the inputs provide {', '.join(have[:12])}.",
            fix="point at scenes of the sensors the model was trained on.",
        )
    names = _unique_names(singles)
    if stack:
        return _stacks(singles, names)
    if dates == 1:
        return [Scene(name, (group,)) for name, group in zip(names, singles, strict=True)]
    return _pairs(singles, names)


def _key(source: RasterSource) -> tuple[object, ...]:
    grid = source.grid()
    b = grid.boundingbox
    day = source.datetime.date().isoformat() if source.datetime is not None else None
    return (day, str(grid.crs), round(b.left), round(b.bottom), round(b.right), round(b.top))


def _folder(source: RasterSource) -> Path:
    """The folder holding the source's first band file (absolute)."""
    return Path(next(iter(source.assets.values())).path).absolute().parent


def _repeats(members: Sequence[RasterSource]) -> bool:
    names = [band for source in members for band in source.bands]
    return len(names) != len(set(names))


def _split_repeats(members: list[RasterSource]) -> list[list[RasterSource]]:
    """``members`` as one group, or split where a band would come from two sources.

    Undated sources of one footprint are split by folder name first (``s1/20240301``
    and ``s2/20240301`` stay together), then by folder.
    """
    if not _repeats(members):
        return [members]
    by_name: dict[str, list[RasterSource]] = {}
    for source in members:
        by_name.setdefault(_folder(source).name, []).append(source)
    parts: list[list[RasterSource]] = []
    for named in by_name.values():
        if not _repeats(named):
            parts.append(named)
            continue
        by_folder: dict[Path, list[RasterSource]] = {}
        for source in named:
            by_folder.setdefault(_folder(source), []).append(source)
        parts.extend(by_folder.values())
    return parts


def _candidates(group: tuple[RasterSource, ...]) -> list[str]:
    """Names for ``group``, shortest first; each next one has one more folder in front."""
    first = group[0]
    folders = sorted({_folder(source) for source in group})
    common = Path(os.path.commonpath(folders))
    above = [p for p in common.parts if p not in ("/", "\\", "")]
    if len(group) == 1 and first.name not in first.bands:
        base = first.name
    elif len(folders) == 1:  # a folder of band files (or one, named by its band): the folder's
        base = above.pop() if above else first.name
        if not any(c.isalpha() for c in base) and above:
            base = f"{above.pop()}-{base}"
    elif len({f.name for f in folders}) == 1:  # s1/20240301 and s2/20240301
        base = folders[0].name
    else:
        base = first.name if first.datetime is None else f"{first.name}_{first.datetime:%Y%m%d}"
    names = [base]
    for part in reversed(above):
        names.append(f"{part}-{names[-1]}")
    return names


def _unique_names(groups: Sequence[tuple[RasterSource, ...]]) -> list[str]:
    """A name per group, in order (see the module's notes), none repeated."""
    candidates = [_candidates(group) for group in groups]
    depth = [0] * len(groups)
    while True:
        chosen = [names[min(d, len(names) - 1)] for names, d in zip(candidates, depth, strict=True)]
        counts = {name: chosen.count(name) for name in chosen}
        longer = [
            i
            for i, name in enumerate(chosen)
            if counts[name] > 1 and depth[i] + 1 < len(candidates[i])
        ]
        if not longer:
            break
        for i in longer:
            depth[i] += 1
    seen: dict[str, int] = {}
    for i, name in enumerate(list(chosen)):  # the same folder twice: numbered in input order
        if counts[name] > 1:
            seen[name] = seen.get(name, 0) + 1
            chosen[i] = f"{name}_{seen[name]}"
    return chosen


def _when(group: tuple[RasterSource, ...], name: str) -> tuple[float, str]:
    when = group[0].datetime
    return (when.timestamp() if when is not None else math.inf, name)


def _pairs(singles: list[tuple[RasterSource, ...]], names: list[str]) -> list[Scene]:
    """Consecutive dates of each footprint, earlier first (undated: by name)."""
    by_place: dict[tuple[object, ...], list[int]] = {}
    for i, group in enumerate(singles):
        by_place.setdefault(_key(group[0])[1:], []).append(i)
    scenes = []
    for members in by_place.values():
        ordered = sorted(members, key=lambda i: _when(singles[i], names[i]))
        for before, after in itertools.pairwise(ordered):
            pair = (singles[before], singles[after])
            scenes.append(Scene(f"{names[before]}_to_{names[after]}", pair))
    if not scenes:
        raise ConfigError(
            "a change model needs two dates of the same place; found one.",
            fix="pass both dates (files, folders or a STAC collection holding both).",
        )
    return scenes


def _by_place(singles: list[tuple[RasterSource, ...]], names: list[str]) -> list[list[int]]:
    """Indexes of ``singles`` per footprint, each in date order (undated: by name)."""
    places: dict[tuple[object, ...], list[int]] = {}
    for i, group in enumerate(singles):
        places.setdefault(_key(group[0])[1:], []).append(i)
    return [sorted(m, key=lambda i: _when(singles[i], names[i])) for m in places.values()]


def _shared_name(names: list[str]) -> str:
    """What ``names`` share in front, less a number cut short and separators.

    ``lr_0`` ... ``lr_7`` give ``lr``; ``s2-20240301`` and ``s2-20241031`` give ``s2``;
    a single name stays whole; nothing shared gives the first name.
    """
    prefix = os.path.commonprefix(names)  # noqa: RUF071  # scene names, not paths
    if len(names) > 1 and prefix[-1:].isdigit():
        prefix = re.sub(r"\d+$", "", prefix)  # a number that goes on in some name
    return prefix.rstrip("_-. ") or names[0]


def _stacks(singles: list[tuple[RasterSource, ...]], names: list[str]) -> list[Scene]:
    """One scene per footprint with every date, named by the members' common prefix."""
    stacks = _by_place(singles, names)
    chosen = [_shared_name([names[i] for i in members]) for members in stacks]
    seen: dict[str, int] = {}
    for i, name in enumerate(list(chosen)):
        if chosen.count(name) > 1:
            seen[name] = seen.get(name, 0) + 1
            chosen[i] = f"{name}_{seen[name]}"
    return [
        Scene(name, tuple(singles[i] for i in members))
        for name, members in zip(chosen, stacks, strict=True)
    ]


def output_grid(path: str | os.PathLike[str]) -> GeoBox:
    """The grid of a raster file, for ``--grid``."""
    return HANDLES.grid(os.fspath(path))
