"""Surface reflectance of the ground: class spectra, seasons, crops and variability."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from eoforge.synth.render.spectra import class_table, spectrum
from eoforge.synth.world import legend
from eoforge.synth.world.landcover import Ground
from eoforge.synth.world.noise import fbm, salt_of
from eoforge.synth.world.phenology import crop_cover, field_season, forest_leaf_on, grass_green

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

DIFFUSE_SHARE = 0.15


def _mix(a: F32, b: F32, weight: F64 | float) -> F32:
    """Linear mixture ``weight * a + (1 - weight) * b`` of spectra (B,) into (B, ...)."""
    w = np.asarray(weight, dtype=np.float32)
    out: F32 = a.reshape(-1, *([1] * w.ndim)) * w + b.reshape(-1, *([1] * w.ndim)) * (1 - w)
    return out


def _set(refl: F32, mask: npt.NDArray[np.bool_], values: F32) -> None:
    """Write (B, N) or (B,) values into the masked pixels of (B, H, W) reflectance."""
    for band in range(refl.shape[0]):
        refl[band][mask] = values[band]


def surface(ground: Ground, centers: F64, doy: float, x: F64, y: F64, seed: int) -> F32:
    """Surface reflectance of the ground at band centres.

    Args:
        ground: The ground at the pixels, arrays (H, W).
        centers: Band centres in micrometres, shape (B,).
        doy: Day of year of the acquisition.
        x: Easting axis in metres, (1, W).
        y: Southing axis in metres, (H, 1).
        seed: Scene seed.

    Returns:
        float32 reflectance, shape (B, H, W).
    """
    cls = ground.cls
    refl = np.moveaxis(class_table(centers)[cls], -1, 0).copy()
    forest = cls == legend.FOREST
    spec = _mix(
        spectrum("forest_leaf_on", centers),
        spectrum("forest_leaf_off", centers),
        forest_leaf_on(doy),
    )
    _set(refl, forest, spec)
    grass = cls == legend.GRASSLAND
    spec = _mix(spectrum("grass_green", centers), spectrum("grass_dry", centers), grass_green(doy))
    _set(refl, grass, spec)
    _crops(refl, ground, centers, doy)
    _roofs(refl, ground, centers)
    _water(refl, ground, centers, x, y, seed)
    texture = 1.0 + 0.07 * fbm(x, y, 250.0, salt_of(seed, "texture"), octaves=3)
    variability = (texture + 0.1 * (ground.patch - 0.5)).astype(np.float32)
    land = cls != legend.WATER
    refl[:, land] *= variability[land]
    return refl


def _crops(refl: F32, ground: Ground, centers: F64, doy: float) -> None:
    crop = ground.cls == legend.CROPLAND
    if not crop.any():
        return
    green, senescent = crop_cover(ground.crop[crop], ground.patch[crop], doy, ground.phenology)
    soil = 1.0 - green - senescent
    if ground.phenology != "uniform":
        soil = soil * field_season(ground.patch[crop], ground.phenology).soil
    values = (
        spectrum("crop_green", centers)[:, None] * green
        + spectrum("crop_senescent", centers)[:, None] * senescent
        + spectrum("soil", centers)[:, None] * soil
    ).astype(np.float32)
    _set(refl, crop, values)


def _roofs(refl: F32, ground: Ground, centers: F64) -> None:
    roof = ground.cls == legend.BUILDING
    if not roof.any():
        return
    draw = ground.patch[roof]
    tile = draw < 0.3
    values = np.where(
        tile[None, :],
        spectrum("roof_tile", centers)[:, None],
        spectrum("roof_concrete", centers)[:, None] * (0.75 + 0.5 * draw)[None, :],
    ).astype(np.float32)
    _set(refl, roof, values)


def _water(refl: F32, ground: Ground, centers: F64, x: F64, y: F64, seed: int) -> None:
    water = ground.cls == legend.WATER
    if not water.any():
        return
    turbidity = np.clip(
        0.5 + 0.8 * fbm(x, y, 900.0, salt_of(seed, "turbidity"), octaves=3), 0.0, 1.0
    )
    spec = _mix(spectrum("turbid_water", centers), spectrum("water", centers), turbidity)
    values = (
        spec[:, water]
        if spec.ndim == 3
        else np.broadcast_to(spec, (spec.shape[0], int(water.sum())))
    )
    _set(refl, water, np.ascontiguousarray(values))


def illumination(terrain: F64, gsd: float, zenith: float, azimuth: float) -> F32:
    """Topographic illumination factor (cos i / cos z, with a diffuse share).

    Args:
        terrain: Terrain heights on a regular grid, metres, shape (H, W).
        gsd: Grid spacing, metres.
        zenith: Solar zenith, degrees.
        azimuth: Solar azimuth, degrees clockwise from north.

    Returns:
        float32 factor, shape (H, W); 1 on flat ground.
    """
    dz_dy, dz_dx = np.gradient(terrain, gsd)
    z, a = math.radians(zenith), math.radians(azimuth)
    sun = (math.sin(z) * math.sin(a), -math.sin(z) * math.cos(a), math.cos(z))
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1.0)
    cos_i = (-dz_dx * sun[0] - dz_dy * sun[1] + sun[2]) / norm
    direct = np.clip(cos_i, 0.0, None) / math.cos(z)
    factor: F32 = ((1 - DIFFUSE_SHARE) * direct + DIFFUSE_SHARE).astype(np.float32)
    return factor
