"""Grids and geometry: a window is a grid (CRS + affine transform + shape).

Grids are :class:`odc.geo.geobox.GeoBox` objects. The helpers here cover what
eoforge needs on top of odc-geo: pixel-aligned sub-windows, tiling with overlap,
footprints in EPSG:4326, snapping requests onto a source grid, turning a
grid into the ``crs``/``transform`` fields of a sample, and writing CRSs and
bounds for people (:func:`crs_label`, :func:`bounds_label`).
"""

from eoforge.geo.format import bounds_label, crs_label
from eoforge.geo.grid import (
    Tile,
    bounds_in,
    crs_equal,
    crs_of,
    footprint_wgs84,
    grid_from_bounds,
    grid_from_sample,
    grid_rotation,
    grid_skew,
    grid_to_sample,
    is_pixel_aligned,
    make_grid,
    pixel_size,
    pixel_window,
    snap_to_grid,
    sub_grid,
    tile_grid,
)

__all__ = [
    "Tile",
    "bounds_in",
    "bounds_label",
    "crs_equal",
    "crs_label",
    "crs_of",
    "footprint_wgs84",
    "grid_from_bounds",
    "grid_from_sample",
    "grid_rotation",
    "grid_skew",
    "grid_to_sample",
    "is_pixel_aligned",
    "make_grid",
    "pixel_size",
    "pixel_window",
    "snap_to_grid",
    "sub_grid",
    "tile_grid",
]
