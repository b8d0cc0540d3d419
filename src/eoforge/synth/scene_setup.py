"""A scene's set-up: what is fixed before the first block is rendered.

From validated :class:`~eoforge.synth.scene_options.SynthOptions` it derives,
once, the base grid, the calibrated plan of the ground, the acquisition dates
and each optical sensor's acquisitions (sun and clouds). Everything after it
reads the :class:`SceneSetup` and never changes it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from affine import Affine
from odc.geo.geobox import GeoBox
from pyproj import Transformer

from eoforge.synth.render.acquisition import Acquisition, acquisition_dates, acquisitions
from eoforge.synth.scene_options import SynthOptions, projected_crs
from eoforge.synth.world.landcover import design
from eoforge.synth.world.layout import Layout
from eoforge.synth.world.vessels import Vessel, fleets


@dataclass(frozen=True)
class SceneSetup:
    """The scene-wide state shared by every renderer and writer.

    Attributes:
        options: Validated options.
        root: Output folder.
        layout: Calibrated plan.
        geobox: Base grid (``size`` x ``size`` pixels of ``gsd`` metres).
        dates: Acquisition dates.
        latitude: Scene centre latitude, degrees.
        s2: Sentinel-2 acquisitions (one per date).
        l8: Landsat acquisitions (one per date).
        vessels: The vessels of each date's Sentinel-1 image (empty tuples without vessels).
    """

    options: SynthOptions
    root: Path
    layout: Layout
    geobox: GeoBox
    dates: list[dt.date]
    latitude: float
    s2: list[Acquisition]
    l8: list[Acquisition]
    vessels: tuple[tuple[Vessel, ...], ...] = ()

    def grid(self, factor: int) -> GeoBox:
        """A grid ``factor`` times coarser than the base grid, same origin, covering it."""
        if factor == 1:
            return self.geobox
        height, width = self.geobox.shape
        t = self.geobox.transform
        transform = Affine(t.a * factor, 0.0, t.c, 0.0, t.e * factor, t.f)
        return GeoBox(
            (math.ceil(height / factor), math.ceil(width / factor)), transform, self.geobox.crs
        )

    def stamp(self, index: int) -> str:
        """Date of index ``index`` as YYYYMMDD."""
        return self.dates[index].strftime("%Y%m%d")


def base_geobox(options: SynthOptions) -> GeoBox:
    """The scene grid: ``size`` x ``size`` pixels of ``gsd`` metres centred on ``center``.

    Args:
        options: Validated options.

    Returns:
        A GeoBox whose origin is snapped to whole pixels.
    """
    crs = projected_crs(options.crs)
    to_crs = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    cx, cy = to_crs.transform(*options.center)
    half = options.size * options.gsd / 2
    x0 = math.floor((cx - half) / options.gsd) * options.gsd
    y0 = math.floor((cy + half) / options.gsd) * options.gsd
    transform = Affine(options.gsd, 0.0, x0, 0.0, -options.gsd, y0)
    return GeoBox((options.size, options.size), transform, crs.to_string())


def set_up_scene(options: SynthOptions, root: Path) -> SceneSetup:
    """Plan the scene: grid, layout, dates, sun and clouds, and the vessels if asked.

    Args:
        options: Validated options.
        root: Output folder.

    Returns:
        The :class:`SceneSetup`.
    """
    geobox = base_geobox(options)
    extent = options.size * options.gsd
    layout = design(options.seed, extent, extent, options.gsd, options.phenology)
    dates = acquisition_dates(options.dates)
    lat = options.center[1]
    return SceneSetup(
        options=options,
        root=root,
        layout=layout,
        geobox=geobox,
        dates=dates,
        latitude=lat,
        s2=acquisitions(layout, "s2", dates, lat, options.clouds),
        l8=acquisitions(layout, "l8", dates, lat, options.clouds),
        vessels=fleets(layout, len(dates), options.vessels),
    )
