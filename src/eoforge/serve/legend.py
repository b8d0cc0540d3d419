"""Legends of class maps: names, exact colours and areas per class value.

Names and colours come from the raster (``CLASS_<id>`` tags, colour table) and
a ``legend.json`` beside it (:func:`eoforge.evaluate.readers.read_classes`).
Areas count the full-resolution pixels of each value, read block by block once
(overviews are resampled, so their counts are not exact), times the pixel area;
the counts are cached in a JSON file keyed by the raster's path, size and
modification time, so a restart does not read the raster again.
"""

from __future__ import annotations

import json
import math
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import rasterio

from eoforge.classes import ClassInfo, hex_color
from eoforge.evaluate.readers import fallback_color, read_classes
from eoforge.serve.layers import ClassEntry

_LOCK = threading.Lock()

AREA_CACHE = "areas.json"
"""File name of the cached pixel counts in the cache folder."""


def pixel_area_m2(ds: rasterio.io.DatasetReader) -> float:
    """Area of one full-resolution pixel in square metres.

    Projected grids use the transform's determinant (CRS units taken as metres
    or converted by the CRS's linear unit factor); geographic grids use the
    size of a degree at the raster's central latitude.
    """
    t = ds.transform
    det = abs(t.a * t.e - t.b * t.d)
    crs = ds.crs
    if crs is None:
        return float(det)
    if crs.is_geographic:
        south, north = ds.bounds.bottom, ds.bounds.top
        lat = math.radians((south + north) / 2)
        return float(det * 111_320.0 * math.cos(lat) * 110_574.0)
    factor = float(crs.linear_units_factor[1]) if crs.linear_units_factor else 1.0
    return float(det * factor * factor)


def count_values(path: Path, band: int = 1) -> dict[int, int]:
    """Pixels of each value of an integer band at full resolution, read block by block.

    Args:
        path: Single- or multi-band integer raster.
        band: 1-based band index.

    Returns:
        Pixel count per value (nodata included; the caller drops it).
    """
    counts: npt.NDArray[np.int64] = np.zeros(0, dtype=np.int64)
    with rasterio.open(path) as ds:
        for _, window in ds.block_windows(band):
            block = ds.read(band, window=window)
            values = block.ravel()
            if values.dtype.kind == "i" and values.size and values.min() < 0:
                values = values[values >= 0]
            found = np.bincount(values.astype(np.int64, copy=False))
            if found.size > counts.size:
                found[: counts.size] += counts
                counts = found
            else:
                counts[: found.size] += found
    return {int(v): int(n) for v, n in enumerate(counts) if n}


def _stamp_key(path: Path, band: int) -> str:
    stat = os.stat(path)
    return f"{path}|{band}|{stat.st_size}|{stat.st_mtime_ns}"


def cached_counts(path: Path, cache_dir: Path, band: int = 1) -> dict[int, int]:
    """:func:`count_values`, remembered in ``cache_dir/areas.json`` across restarts."""
    key = _stamp_key(path, band)
    cache_file = cache_dir / AREA_CACHE
    with _LOCK:
        try:
            stored: dict[str, Any] = json.loads(cache_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            stored = {}
        if key in stored:
            return {int(k): int(v) for k, v in stored[key].items()}
    counts = count_values(path, band)
    with _LOCK:
        stored[key] = {str(k): v for k, v in counts.items()}
        tmp = cache_file.with_suffix(".tmp")
        try:
            tmp.write_text(json.dumps(stored), encoding="utf-8")
            tmp.replace(cache_file)
        except OSError:  # a read-only cache folder: counts are recomputed next time
            pass
    return counts


def colour_table(path: Path) -> dict[int, tuple[int, int, int, int]]:
    """The raster's colour table of band 1 (empty when it has none)."""
    with rasterio.open(path) as ds:
        try:
            return {int(k): tuple(int(c) for c in v) for k, v in ds.colormap(1).items()}  # type: ignore[misc]
        except ValueError:  # no colour table
            return {}


def class_legend(
    path: Path,
    cache_dir: Path,
    nodata: float | None,
    classes: Sequence[ClassInfo] | None = None,
) -> tuple[list[ClassEntry], npt.NDArray[np.uint8]]:
    """Legend entries (with areas) and the RGBA lookup table of a class map.

    Args:
        path: Single-band integer class raster.
        cache_dir: Folder for the cached pixel counts.
        nodata: The raster's nodata value (transparent, left out of the legend).
        classes: Classes to use instead of those the file names (the errors map).

    Returns:
        Legend entries sorted by value (classes the raster names, plus values it
        holds that no class names), and ``[256, 4]`` uint8 RGBA per value: the
        colour table's colour where the raster has one, else the legend's;
        nodata and values beyond 255 transparent.
    """
    known = list(classes) if classes is not None else read_classes(path)
    table = colour_table(path)
    counts = cached_counts(path, cache_dir)
    with rasterio.open(path) as ds:
        pixel = pixel_area_m2(ds)
    skip = int(nodata) if nodata is not None and float(nodata).is_integer() else None
    by_value = {c.id: c for c in known}
    entries: list[ClassEntry] = []
    values = sorted((set(by_value) | set(counts)) - ({skip} if skip is not None else set()))
    for i, value in enumerate(values):
        info = by_value.get(value)
        if info is None and counts.get(value, 0) == 0:
            continue
        if value in table and table[value][3] > 0:
            color = hex_color(table[value][:3])
        elif info is not None:
            color = info.color
        else:
            color = fallback_color(i)
        name = info.name if info is not None else f"class {value}"
        entries.append(ClassEntry(value, name, color, counts.get(value, 0) * pixel))
    lut = np.zeros((256, 4), dtype=np.uint8)
    for entry in entries:
        if 0 <= entry.value < 256:
            rgba = table.get(entry.value)
            if rgba is None or rgba[3] == 0:
                rgb = ClassInfo(id=entry.value, name="x", color=entry.color).rgb
                rgba = (*rgb, 255)
            lut[entry.value] = rgba
    if skip is not None and 0 <= skip < 256:
        lut[skip] = 0
    return entries, lut


__all__ = [
    "AREA_CACHE",
    "cached_counts",
    "class_legend",
    "colour_table",
    "count_values",
    "pixel_area_m2",
]
