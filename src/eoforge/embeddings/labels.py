"""Land-cover labels read onto any grid, strip by strip: a class raster or a vector layer.

Per-cluster land-cover shares (:mod:`.cluster`) need the label class of
every input pixel under a typology map's pixels. :class:`LabelLayer` reads
it on a given grid: a class raster (nearest neighbour, nodata and pixels
outside it unlabelled; class names as eoforge reads them for any class
raster, :func:`~eoforge.evaluate.readers.read_classes`: its ``CLASS_<id>``
tags, else a ``legend.json`` beside it or one folder up, as synth writes,
else ``class <value>``) or a vector layer (GeoJSON, GeoPackage, GeoParquet, ...)
whose ``column`` holds each polygon's class, burnt where a pixel's centre
lies inside a polygon.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.warp import Resampling, reproject

from eoforge.errors import ConfigError, MissingFileError
from eoforge.evaluate.readers import read_classes
from eoforge.geo import make_grid
from eoforge.io import read_vector
from eoforge.io.vector.rasterize import rasterize_labels

PathLike = str | os.PathLike[str]

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")
UNLABELLED = -1


class LabelLayer:
    """Label classes of a raster or vector file, read on any grid.

    Args:
        path: A class raster, or a vector layer with ``column``.
        column: The vector layer's class column (required for vectors).

    Raises:
        MissingFileError: ``path`` does not exist.
        ConfigError: A vector layer without ``column`` (or without that column).
    """

    def __init__(self, path: PathLike, column: str | None = None) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise MissingFileError("label file not found.", path=self.path, fix="check the path.")
        self.raster = self.path.suffix.lower() in RASTER_SUFFIXES
        self.names: dict[int, str] = {}
        if self.raster:
            self.names = {c.id: c.name for c in read_classes(self.path)}
            return
        if column is None:
            raise ConfigError(
                "a vector label layer needs the column that holds each feature's class.",
                path=self.path,
                fix="give the class column (--label-column NAME).",
            )
        self.column = column
        self.frame = read_vector(self.path, columns=[column])
        values = sorted({str(v) for v in self.frame[column].dropna()})
        self.ids = {name: i for i, name in enumerate(values)}
        self.names = {i: name for name, i in self.ids.items()}
        self.frame[column] = self.frame[column].astype(str)
        self._crs: str | None = None

    def name(self, value: int) -> str:
        """The class name of label ``value``."""
        return self.names.get(value, f"class {value}")

    def read(self, transform: Affine, shape: tuple[int, int], crs: str) -> npt.NDArray[np.int64]:
        """Label values on a grid, ``UNLABELLED`` (-1) where there is none.

        Args:
            transform: The grid's affine transform.
            shape: ``(height, width)``.
            crs: The grid's CRS (WKT or any string pyproj reads).
        """
        if self.raster:
            return self._read_raster(transform, shape, crs)
        if self._crs != crs:  # reproject once per CRS, not per strip
            self.frame, self._crs = self.frame.to_crs(CRS.from_user_input(crs)), crs
        grid = make_grid(shape, transform, crs)
        burnt = rasterize_labels(
            self.frame,
            grid,
            self.column,
            classes={name: i + 1 for name, i in self.ids.items()},
            fill=0,
            dtype="int32",
            allow_empty=True,
        )
        return burnt.astype(np.int64) - 1

    def _read_raster(
        self, transform: Affine, shape: tuple[int, int], crs: str
    ) -> npt.NDArray[np.int64]:
        out = np.full(shape, UNLABELLED, np.int64)
        with rasterio.open(self.path) as src:
            reproject(
                rasterio.band(src, 1),
                out,
                dst_transform=transform,
                dst_crs=crs,
                dst_nodata=UNLABELLED,
                src_nodata=src.nodata,
                resampling=Resampling.nearest,
            )
        return out
