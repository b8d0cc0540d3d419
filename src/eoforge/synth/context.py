"""Everything a block renderer needs to know about the scene, computed once."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from pathlib import Path

from affine import Affine
from odc.geo.geobox import GeoBox
from pyproj import Transformer

from eoforge.synth.clouds import make_deck
from eoforge.synth.landcover import design
from eoforge.synth.layout import Layout
from eoforge.synth.options import SynthOptions, projected_crs
from eoforge.synth.phenology import acquisition_dates, day_of_year, sun_position
from eoforge.synth.render_optical import Acquisition


@dataclass(frozen=True)
class SceneContext:
    """The scene-wide state shared by all passes.

    Attributes:
        options: Validated options.
        root: Output folder.
        layout: Calibrated plan.
        geobox: Base grid.
        dates: Acquisition dates.
        latitude: Scene centre latitude, degrees.
        s2: Sentinel-2 acquisitions (one per date).
        l8: Landsat acquisitions (one per date).
    """

    options: SynthOptions
    root: Path
    layout: Layout
    geobox: GeoBox
    dates: list[dt.date]
    latitude: float
    s2: list[Acquisition]
    l8: list[Acquisition]

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


def _acquisitions(
    layout: Layout, stream: str, options: SynthOptions, dates: list[dt.date], lat: float
) -> list[Acquisition]:
    out = []
    for index, date in enumerate(dates):
        zenith, azimuth = sun_position(date, lat)
        deck = make_deck(layout, stream, index, options.clouds, zenith, azimuth)
        out.append(Acquisition(float(day_of_year(date)), zenith, azimuth, deck, options.seed))
    return out


def make_context(options: SynthOptions, root: Path) -> SceneContext:
    """Plan the scene: grid, layout, dates, sun and clouds.

    Args:
        options: Validated options.
        root: Output folder.

    Returns:
        The :class:`SceneContext`.
    """
    geobox = base_geobox(options)
    extent = options.size * options.gsd
    layout = design(options.seed, extent, extent, options.gsd)
    dates = acquisition_dates(options.dates)
    lat = options.center[1]
    return SceneContext(
        options=options,
        root=root,
        layout=layout,
        geobox=geobox,
        dates=dates,
        latitude=lat,
        s2=_acquisitions(layout, "s2", options, dates, lat),
        l8=_acquisitions(layout, "l8", options, dates, lat),
    )
