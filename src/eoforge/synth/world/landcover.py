"""The land-cover map: the class of the ground at any point and date.

Layers are painted in priority order, each a function of position only:
natural cover, fields, urban ground, harbour quays, lakes and river, harbour
basin, roads, airfield, buildings, then the change events of the date.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from eoforge.synth.world import buildings, events, legend, parcels, roads
from eoforge.synth.world.layout import Layout, make_layout
from eoforge.synth.world.noise import fbm, salt_of
from eoforge.synth.world.phenology import Phenology
from eoforge.synth.world.terrain import elevation, river_distance
from eoforge.synth.world.unique_keys import distinct
from eoforge.synth.world.zones import (
    bare_noise,
    calibrate,
    forest_noise,
    lake_noise,
    urban_potential,
    wetness,
)

F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

FLOODABLE = (legend.GRASSLAND, legend.CROPLAND, legend.WETLAND, legend.BARE_SOIL)


@dataclass(frozen=True)
class Ground:
    """The state of the ground at a set of points and one date.

    Attributes:
        cls: Land-cover class (:data:`eoforge.synth.world.legend.LAND_COVER`), uint8.
        crop: Crop type where the class is cropland, else 0, uint8.
        patch: Per-object random value in [0, 1) (field, roof) or smooth noise elsewhere.
        height: Height of buildings and trees above the terrain, metres.
        terrain: Bare-earth height above sea level, metres.
        phenology: How fields of one crop differ over the season (the layout's).
    """

    cls: U8
    crop: U8
    patch: F64
    height: F64
    terrain: F64
    phenology: Phenology = "uniform"

    def sub(self, rows: slice, cols: slice) -> Ground:
        """The ground of a sub-grid (views, no copies)."""
        return Ground(
            cls=self.cls[rows, cols],
            crop=self.crop[rows, cols],
            patch=self.patch[rows, cols],
            height=self.height[rows, cols],
            terrain=self.terrain[rows, cols],
            phenology=self.phenology,
        )


def design(
    seed: int, width: float, height: float, gsd: float, phenology: Phenology = "uniform"
) -> Layout:
    """Draw and calibrate the scene plan.

    Args:
        seed: Scene seed.
        width: Scene width, metres.
        height: Scene height, metres.
        gsd: Base ground sampling distance, metres.
        phenology: How fields of one crop differ over the season (``uniform``, ``varied``).

    Returns:
        A calibrated :class:`~eoforge.synth.world.layout.Layout`.
    """
    layout = calibrate(make_layout(seed, width, height, gsd))
    return dataclasses.replace(layout, phenology=phenology)


def _natural(layout: Layout, x: F64, y: F64) -> U8:
    cuts = layout.thresholds
    shape = np.broadcast_shapes(x.shape, y.shape)
    cls = np.full(shape, legend.GRASSLAND, dtype=np.uint8)
    cls[forest_noise(layout, x, y) > cuts["forest"]] = legend.FOREST
    cls[bare_noise(layout, x, y) > cuts["bare"]] = legend.BARE_SOIL
    cls[wetness(layout, x, y) > cuts["wet"]] = legend.WETLAND
    return cls


def _paint_fields(layout: Layout, x: F64, y: F64, cls: U8) -> tuple[U8, F64]:
    cells = parcels.locate(layout, x, y)
    (rows, local), inverse = distinct(cells.row, cells.local_col())
    length, shift = parcels.row_geometry(layout, rows)
    found = parcels.params(layout, rows, local + parcels.first_col(cells.u_min, length, shift))
    margin = layout.fields.margin
    in_field = found.exists[inverse]
    core = (
        (cells.along >= margin)
        & (cells.along < cells.length - margin)
        & (cells.across >= margin)
        & (cells.across < layout.fields.row_height - margin)
    )
    cls[in_field & ~core] = legend.GRASSLAND
    cls[in_field & core] = legend.CROPLAND
    crop = np.where(in_field & core, found.crop[inverse], 0).astype(np.uint8)
    patch = np.where(in_field, found.patch[inverse], np.nan)
    return crop, patch


def _paint_water(layout: Layout, x: F64, y: F64, cls: U8) -> None:
    harbour = layout.harbour
    cls[harbour.quay.contains(x, y)] = legend.HARBOUR
    cls[lake_noise(layout, x, y) > layout.thresholds["lake"]] = legend.WATER
    distance, width = river_distance(layout, x, y)
    cls[distance < width / 2] = legend.WATER
    cls[harbour.basin.contains(x, y)] = legend.WATER


def _paint_roads(layout: Layout, x: F64, y: F64, urban: npt.NDArray[np.bool_], cls: U8) -> None:
    major, street = roads.road_masks(layout, x, y)
    on_road = (major | (street & urban)) & ~layout.harbour.basin.contains(x, y)
    cls[on_road] = legend.ROAD


def _paint_airfield(layout: Layout, x: F64, y: F64, cls: U8) -> None:
    field = layout.airfield
    cls[field.runway.contains(x, y, margin=150.0)] = legend.GRASSLAND
    paved = field.runway.contains(x, y) | field.apron.contains(x, y) | field.taxiway.contains(x, y)
    cls[paved] = legend.AIRFIELD


def _apply_events(layout: Layout, x: F64, y: F64, date_index: int, n_dates: int, cls: U8) -> None:
    cut = events.clearcut(layout, x, y, date_index, n_dates)
    cls[cut & (cls == legend.FOREST)] = legend.BARE_SOIL
    flood = events.flooded(layout, x, y, date_index, n_dates)
    cls[flood & np.isin(cls, FLOODABLE)] = legend.WATER


def ground(layout: Layout, x: F64, y: F64, date_index: int = 0, n_dates: int = 1) -> Ground:
    """The ground at points (e.g. pixel centres) on a date.

    Args:
        layout: Calibrated scene plan.
        x: Easting in local metres, shape (1, W) for a grid or any shape for points.
        y: Southing in local metres, shape (H, 1) for a grid or the shape of ``x``.
        date_index: Index of the date in the series.
        n_dates: Number of dates in the series.

    Returns:
        :class:`Ground` with arrays of the broadcast shape.
    """
    cls = _natural(layout, x, y)
    crop, patch = _paint_fields(layout, x, y, cls)
    urban = urban_potential(layout, x, y) > 0.5
    cls[urban] = legend.URBAN
    crop[urban] = 0
    _paint_water(layout, x, y, cls)
    _paint_roads(layout, x, y, urban, cls)
    _paint_airfield(layout, x, y, cls)
    built = buildings.rasterize(layout, x, y, date_index, n_dates)
    cls[built.footprint & ~built.standing] = legend.BARE_SOIL
    cls[built.standing] = legend.BUILDING
    _apply_events(layout, x, y, date_index, n_dates, cls)
    crop[cls != legend.CROPLAND] = 0
    smooth = 0.5 + 0.5 * fbm(x, y, 300.0, salt_of(layout.seed, "patch"), octaves=2)
    patch = np.where(built.footprint, built.roof, np.where(np.isnan(patch), smooth, patch))
    terrain = elevation(layout, x, y)
    trees = 14.0 + 10.0 * fbm(x, y, 400.0, salt_of(layout.seed, "trees"), octaves=3)
    height = np.where(built.standing, built.height, 0.0)
    height = np.where(cls == legend.FOREST, trees, height)
    height = np.where(cls == legend.WETLAND, 0.6, height)
    return Ground(
        cls=cls,
        crop=crop,
        patch=patch,
        height=height,
        terrain=terrain,
        phenology=layout.phenology,
    )
