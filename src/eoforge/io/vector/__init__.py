"""Vector labels: read them, put them on a grid, burn them into masks, turn them into boxes.

A label layer is a :class:`geopandas.GeoDataFrame` read from GeoJSON, GeoPackage,
Shapefile, GeoParquet or FlatGeobuf. It is placed on a grid (an
:class:`odc.geo.geobox.GeoBox`: CRS + affine transform + shape) by reprojecting it
to the grid's CRS and clipping it to the grid's footprint; from there it becomes
either a class mask ``[H, W]`` (semantic segmentation) or boxes in pixel
coordinates (object detection).

Pixel coordinates used here are those of the grid: ``x`` is the column and ``y``
the row, both measured in pixels from the top-left corner of the top-left pixel
(pixel edges, not centres), so pixel ``(row, col)`` covers ``[col, col + 1) x
[row, row + 1)``. The grid's affine transform maps them to world coordinates
whatever its orientation (north-up grids with a negative y resolution, y-down
pixel grids, rotated grids).

The source file of a layer is kept in ``gdf.attrs["source"]`` so that errors
raised later (e.g. labels outside the scene) can name it.
"""

from eoforge.io.vector.boxes import boxes_in_pixels
from eoforge.io.vector.placement import to_grid_crs
from eoforge.io.vector.rasterize import rasterize_labels
from eoforge.io.vector.reading import read_vector
from eoforge.io.vector.writing import write_vector

__all__ = [
    "boxes_in_pixels",
    "rasterize_labels",
    "read_vector",
    "to_grid_crs",
    "write_vector",
]
