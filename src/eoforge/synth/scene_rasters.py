"""Which rasters a scene's options ask for, on which grid, under which paths.

Rasters are grouped by grid: the base grid (factor 1: labels, 10 m
Sentinel-2, cloud mask, Sentinel-1, DEM) and coarse grids (factor 2 and 6:
Sentinel-2 20 m and 60 m bands; factor 3: Landsat at 30 m). Keys name each
raster for the renderer: ``<sensor>/<date index>/<band>``, ``landcover/<t>``,
``change/<t>``, ``s2cloud/<t>``, ``l8cloud/<t>``, ``croptype``, ``dem/<band>``.
"""

from __future__ import annotations

from eoforge.synth.render import bands as B
from eoforge.synth.scene_setup import SceneSetup
from eoforge.synth.write.raster_files import (
    HEIGHT_M,
    L8_SR,
    L8_ST,
    SAR_DB,
    RasterGroup,
    s2_encoding,
)


def _group(setup: SceneSetup, factor: int) -> RasterGroup:
    return RasterGroup(setup.root, factor, setup.grid(factor), setup.dates)


def s2_bands(setup: SceneSetup, factor: int) -> tuple[B.BandSpec, ...]:
    """Sentinel-2 bands written on the grid of the given factor.

    Args:
        setup: The scene set-up (``s2_native`` decides).
        factor: Grid factor: 1 (10 m at a 10 m base), 2 (20 m) or 6 (60 m).

    Returns:
        The bands, in band order; all of them on the base grid when not native.
    """
    if not setup.options.s2_native:
        return B.S2_BANDS if factor == 1 else ()
    return tuple(b for b in B.S2_BANDS if round(b.gsd / 10.0) == factor)


def base_group(setup: SceneSetup) -> RasterGroup:
    """Rasters of the base grid: labels, 10 m S2 and its cloud mask, S1, DEM."""
    group = _group(setup, 1)
    sensors = setup.options.sensors
    s2_enc = s2_encoding(setup.options.s2_offset)
    group.label("croptype", "labels/croptype.tif", "croptype", "labels", None)
    for t in range(len(setup.dates)):
        d = setup.stamp(t)
        group.label(f"landcover/{t}", f"labels/landcover_{d}.tif", "landcover", f"labels-{d}", t)
        if t > 0:
            rel = f"labels/change_{setup.stamp(t - 1)}_{d}.tif"
            group.label(f"change/{t}", rel, "change", f"labels-{d}", t)
        if "s2" in sensors:
            for band in s2_bands(setup, 1):
                group.band(f"s2/{t}/{band.name}", band, f"s2-{d}", t, s2_enc)
            group.label(f"s2cloud/{t}", f"s2/{d}/cloudmask.tif", "cloudmask", f"s2-{d}", t)
        if "s1" in sensors:
            for band in B.S1_BANDS:
                group.band(f"s1/{t}/{band.name}", band, f"s1-{d}", t, SAR_DB)
    if "dsm" in sensors:
        for band in B.DEM_BANDS:
            group.band(f"dem/{band.name}", band, "dem", None, HEIGHT_M)
    return group


def coarse_group(setup: SceneSetup, factor: int) -> RasterGroup:
    """Rasters of a coarse grid: S2 20 m or 60 m bands, or Landsat at 30 m (factor 3)."""
    group = _group(setup, factor)
    s2_enc = s2_encoding(setup.options.s2_offset)
    for t in range(len(setup.dates)):
        d = setup.stamp(t)
        if factor == 3:
            for band in B.L8_OLI_BANDS:
                group.band(f"l8/{t}/{band.name}", band, f"l8-{d}", t, L8_SR)
            group.band(f"l8/{t}/{B.L8_THERMAL.name}", B.L8_THERMAL, f"l8-{d}", t, L8_ST)
            group.label(f"l8cloud/{t}", f"l8/{d}/cloudmask.tif", "cloudmask", f"l8-{d}", t)
            continue
        for band in s2_bands(setup, factor):
            group.band(f"s2/{t}/{band.name}", band, f"s2-{d}", t, s2_enc)
    return group


def raster_groups(setup: SceneSetup) -> list[RasterGroup]:
    """Every raster group the options ask for, base grid first."""
    out = [base_group(setup)]
    if "s2" in setup.options.sensors and setup.options.s2_native:
        out += [coarse_group(setup, 2), coarse_group(setup, 6)]
    if "l8" in setup.options.sensors:
        out.append(coarse_group(setup, 3))
    return out
