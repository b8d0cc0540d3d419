"""Block-streamed raster writing: temporary tiled GeoTIFFs, then COGs under their final names.

Each output is written block by block into a temporary GeoTIFF inside a
hidden work folder of the scene, then translated into a Cloud-Optimised
GeoTIFF (tiled, DEFLATE, internal overviews) written under a temporary name
and renamed into place, so a crash never leaves a half-written file under its
final name. No creation option stores a date, so the same input gives the
same bytes.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy.typing as npt
import rasterio
from odc.geo.geobox import GeoBox
from rasterio.shutil import copy as rio_copy
from rasterio.windows import Window as RioWindow

from eoforge.synth.world.sampling import Window

TILE = 256


@dataclass(frozen=True)
class RasterSpec:
    """One single-band output raster.

    Attributes:
        path: Final path.
        geobox: Output grid.
        dtype: NumPy dtype name.
        nodata: Nodata value declared in the file.
        description: Band description (the canonical band name for sensor bands).
        scale: Band scale (physical = DN * scale + offset).
        offset: Band offset.
        colormap: Colour table for paletted label rasters, or None.
        resampling: Overview resampling (``"average"``, ``"nearest"``, ``"mode"``).
        units: Physical unit written in the band metadata.
        tags: Extra dataset metadata tags.
    """

    path: Path
    geobox: GeoBox
    dtype: str
    nodata: float
    description: str
    scale: float = 1.0
    offset: float = 0.0
    colormap: dict[int, tuple[int, int, int, int]] | None = None
    resampling: str = "average"
    units: str = ""
    tags: dict[str, str] = field(default_factory=dict)


def windows(geobox: GeoBox, block: int) -> Iterator[Window]:
    """Blocks of a grid, row-major.

    Args:
        geobox: The grid.
        block: Block size in pixels (a multiple of :data:`TILE` keeps writes tile-aligned).

    Yields:
        :class:`~eoforge.synth.world.sampling.Window` objects covering the grid.
    """
    height, width = geobox.shape
    gsd = abs(geobox.resolution.x)
    for row0 in range(0, height, block):
        for col0 in range(0, width, block):
            yield Window(row0, col0, min(block, height - row0), min(block, width - col0), gsd)


def _profile(spec: RasterSpec) -> dict[str, Any]:
    height, width = spec.geobox.shape
    return {
        "driver": "GTiff",
        "height": height,
        "width": width,
        "count": 1,
        "dtype": spec.dtype,
        "crs": None if spec.geobox.crs is None else spec.geobox.crs.to_wkt(),
        "transform": spec.geobox.transform,
        "nodata": spec.nodata,
        "tiled": True,
        "blockxsize": TILE,
        "blockysize": TILE,
        "compress": "zstd",
        "zstd_level": 1,
        "bigtiff": "if_safer",
    }


class BlockWriter:
    """Writes many single-band rasters block by block, then publishes them as COGs.

    Use as a context manager; :meth:`write` stores a block, leaving the
    context publishes every file (or, on error, removes the temporaries).

    Args:
        specs: Outputs keyed by an identifier of the caller's choice.
        workdir: Folder for temporary files (created, and removed when empty).
        published: Called with (files done, files in all) as COGs are published.
    """

    def __init__(
        self,
        specs: dict[str, RasterSpec],
        workdir: Path,
        published: Callable[[int, int], None] | None = None,
    ) -> None:
        self.specs = specs
        self.workdir = workdir
        self.published = published
        self._datasets: dict[str, Any] = {}
        self._order = {key: i for i, key in enumerate(specs)}

    def _tmp(self, key: str) -> Path:
        return self.workdir / f"{self._order[key]:05d}-{self.specs[key].path.name}"

    def __enter__(self) -> BlockWriter:
        self.workdir.mkdir(parents=True, exist_ok=True)
        for key, spec in self.specs.items():
            ds = rasterio.open(self._tmp(key), "w", **_profile(spec))
            ds.set_band_description(1, spec.description)
            ds.scales = (spec.scale,)
            ds.offsets = (spec.offset,)
            if spec.units:
                ds.units = (spec.units,)
            if spec.tags:
                ds.update_tags(**spec.tags)
            if spec.colormap is not None:
                ds.write_colormap(1, spec.colormap)
            self._datasets[key] = ds
        return self

    def write(self, key: str, window: Window, values: npt.NDArray[Any]) -> None:
        """Store one block of one output.

        Args:
            key: Output identifier.
            window: Block position.
            values: Array (height, width), cast to the output dtype.
        """
        spec = self.specs[key]
        rio_window = RioWindow(window.col0, window.row0, window.width, window.height)
        self._datasets[key].write(values.astype(spec.dtype, copy=False), 1, window=rio_window)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        for ds in self._datasets.values():
            ds.close()
        try:
            if exc_type is None:
                for done, (key, spec) in enumerate(self.specs.items(), start=1):
                    publish_cog(self._tmp(key), spec)
                    if self.published is not None:
                        self.published(done, len(self.specs))
        finally:
            for key in self.specs:
                self._tmp(key).unlink(missing_ok=True)
            if self.workdir.exists() and not any(self.workdir.iterdir()):
                self.workdir.rmdir()


def publish_cog(source: Path, spec: RasterSpec) -> None:
    """Translate a tiled GeoTIFF into a COG at ``spec.path`` (temporary name, then rename).

    Args:
        source: The temporary GeoTIFF.
        spec: The output description (path and overview resampling).
    """
    spec.path.parent.mkdir(parents=True, exist_ok=True)
    partial = spec.path.with_name(f".{spec.path.name}.partial")
    predictor = "YES" if spec.colormap is None else "NO"
    rio_copy(
        str(source),
        str(partial),
        driver="COG",
        BLOCKSIZE=TILE,
        COMPRESS="DEFLATE",
        PREDICTOR=predictor,
        OVERVIEW_RESAMPLING=spec.resampling.upper(),
        RESAMPLING=spec.resampling.upper(),
        BIGTIFF="IF_SAFER",
        NUM_THREADS="1",
    )
    os.replace(partial, spec.path)
