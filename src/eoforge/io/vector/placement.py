"""Putting a label layer on a grid: reprojection to the grid CRS and clipping."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import shapely
from odc.geo.geobox import GeoBox

from eoforge.errors import (
    CRSMismatchError,
    LabelsOutsideSceneError,
    NotGeoreferencedError,
)
from eoforge.geo.format import bounds_label, crs_label
from eoforge.io.vector.reading import (
    IN_MEMORY,
    PathLike,
    _keep_dimension,
    _repair,
    geometries,
    read_vector,
    source_of,
)


def _grid_crs(grid: GeoBox) -> pyproj.CRS:
    if grid.crs is None:
        raise NotGeoreferencedError(
            "the grid has no CRS, so labels cannot be placed on it.",
            fix="build the GeoBox with the CRS of the scene it describes.",
        )
    return pyproj.CRS.from_wkt(grid.crs.to_wkt())


def _reproject(gdf: gpd.GeoDataFrame, crs: pyproj.CRS) -> npt.NDArray[np.object_]:
    """Valid geometries of ``gdf`` in ``crs``, one per row; non-finite results become empty."""
    if gdf.crs is None:
        raise NotGeoreferencedError(
            "labels have no CRS, so they cannot be placed on the grid.",
            path=source_of(gdf),
            fix="set it with gdf.set_crs(...) (the CRS the coordinates were recorded in).",
        )
    if gdf.crs == crs:
        return _repair(geometries(gdf))
    try:
        geoms = geometries(gdf.geometry.to_crs(crs))
    except pyproj.exceptions.ProjError as exc:
        raise CRSMismatchError(
            f"labels cannot be reprojected from {crs_label(gdf.crs)} to {crs_label(crs)} ({exc}).",
            path=source_of(gdf),
            fix=(
                "check the layer's CRS; if PROJ lacks a transformation, reproject the "
                "labels to the scene's CRS yourself."
            ),
        ) from exc
    finite = np.isfinite(shapely.bounds(geoms)).all(axis=1)
    geoms[~finite] = shapely.Polygon()
    return _repair(geoms)


def _outside_error(
    gdf: gpd.GeoDataFrame, grid: GeoBox, grid_crs: pyproj.CRS
) -> LabelsOutsideSceneError:
    source = source_of(gdf)
    grid_bounds = tuple(grid.extent.boundingbox)[:4]
    label_bounds = tuple(float(v) for v in gdf.total_bounds)
    message = (
        f"{len(gdf)} label features lie entirely outside the grid: labels bounds "
        f"{bounds_label(label_bounds, gdf.crs)} in {crs_label(gdf.crs)}, grid bounds "
        f"{bounds_label(grid_bounds, grid_crs)} in {crs_label(grid_crs)}."
    )
    return LabelsOutsideSceneError(
        message if source else f"labels ({IN_MEMORY}): {message}",
        path=source,
        fix=(
            "check that the labels belong to this scene and that the layer's CRS is right "
            "(a wrong .prj or swapped lon/lat put labels elsewhere)."
        ),
    )


def to_grid_crs(
    gdf: gpd.GeoDataFrame, grid: GeoBox, *, allow_empty: bool = False
) -> gpd.GeoDataFrame:
    """Reproject labels to the grid's CRS and clip them to the grid's footprint.

    CRSs are compared by equality (never by EPSG number); equal CRSs skip the
    reprojection. Clipping keeps each feature's dimension (a polygon touching
    the footprint only along an edge is dropped, not turned into a line).

    Args:
        gdf: Labels with a CRS; ``attrs["source"]`` (set by :func:`read_vector`)
            names the file in error messages.
        grid: The target grid; its footprint (``grid.extent``) is the clip area.
        allow_empty: Return an empty frame instead of raising when no feature
            overlaps the grid (useful for windows that may lie between labels).

    Returns:
        The overlapping features, clipped, in the grid's CRS, in input order,
        with the input's index and ``attrs``.

    Raises:
        LabelsOutsideSceneError: ``gdf`` has features but none overlaps the
            grid (and ``allow_empty`` is false). The message gives both bounds
            and CRSs.
        NotGeoreferencedError: ``gdf`` or ``grid`` has no CRS.
        CRSMismatchError: PROJ cannot transform between the two CRSs.
    """
    positions, geoms = place_on_grid(gdf, grid, allow_empty)
    out = gdf.iloc[positions].copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=out.index, crs=_grid_crs(grid))
    out.attrs = dict(gdf.attrs)
    return out


def place_on_grid(
    gdf: gpd.GeoDataFrame, grid: GeoBox, allow_empty: bool
) -> tuple[npt.NDArray[np.intp], npt.NDArray[np.object_]]:
    """Row positions of the features overlapping ``grid`` and their clipped geometries."""
    crs = _grid_crs(grid)
    geoms = _reproject(gdf, crs)
    footprint = grid.extent.geom
    shapely.prepare(footprint)
    overlapping = np.flatnonzero(shapely.intersects(footprint, geoms))
    clipped = _keep_dimension(
        shapely.intersection(geoms[overlapping], footprint),
        shapely.get_dimensions(geoms[overlapping]),
    )
    kept = ~shapely.is_empty(clipped)
    if len(gdf) and not kept.any() and not allow_empty:
        raise _outside_error(gdf, grid, crs)
    return overlapping[kept], clipped[kept]


def as_frame(labels: PathLike | gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """The layer itself, or the layer read from ``labels`` when it is a path."""
    if isinstance(labels, gpd.GeoDataFrame):
        return labels
    return read_vector(labels)


# --------------------------------------------------------------------------- class values
