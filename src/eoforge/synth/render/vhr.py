"""Very-high-resolution RGB chips (0.5 m): the ground, painted objects and building shadows.

A chip is rendered in one piece from the ground at its pixel centres on the
first date; :mod:`eoforge.synth.write.vhr_chips` writes it with its labels.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.synth.render import bands as B
from eoforge.synth.render.acquisition import Acquisition
from eoforge.synth.render.reflectance import surface
from eoforge.synth.world import buildings
from eoforge.synth.world.landcover import ground
from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import fbm, salt_of
from eoforge.synth.world.objects import SceneObject

#: Pixel size of the chips, metres.
VHR_GSD = 0.5
#: Tallest building considered when casting shadows, metres.
MAX_BUILDING = 40.0
#: Share of light left in a building shadow (diffuse sky light).
SHADOW_FACTOR = 0.35
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

OBJECT_COLOUR = {
    "ship": (0.55, 0.55, 0.6),
    "plane": (0.75, 0.75, 0.78),
    "small-vehicle": (0.5, 0.1, 0.1),
}


def chip_origin(layout: Layout, centre: tuple[float, float], size: int) -> tuple[float, float]:
    """Local (x, y) metres of a chip's upper-left corner, kept inside the scene and snapped."""
    half = size * VHR_GSD / 2
    x0 = min(max(centre[0] - half, 0.0), layout.width - 2 * half)
    y0 = min(max(centre[1] - half, 0.0), layout.height - 2 * half)
    return math.floor(x0), math.floor(y0)


def _paint(
    rgb: npt.NDArray[np.float32], x: F64, y: F64, objects: list[SceneObject], seed: int
) -> None:
    rng = np.random.default_rng(salt_of(seed, "vhr.colours"))
    for obj in objects:
        r = obj.rect
        u, v = r.local(x, y)
        if obj.label == "plane":
            body = (np.abs(u) <= r.length / 2) & (np.abs(v) <= r.width / 12)
            wing = (np.abs(u + 0.05 * r.length) <= r.length / 10) & (np.abs(v) <= r.width / 2)
            tail = (np.abs(u + 0.45 * r.length) <= r.length / 20) & (np.abs(v) <= r.width / 6)
            mask = body | wing | tail
        else:
            mask = (np.abs(u) <= r.length / 2) & (np.abs(v) <= r.width / 2)
        colour = np.array(OBJECT_COLOUR[obj.label], dtype=np.float32)
        if obj.label == "small-vehicle":
            colour = rng.uniform(0.05, 0.7, size=3).astype(np.float32)
        for band in range(3):
            rgb[band][mask] = colour[band]


def building_shadow(
    layout: Layout, origin: tuple[float, float], size: int, acq: Acquisition, n_dates: int
) -> npt.NDArray[np.bool_]:
    """Where buildings cast shadows on a chip (first date), shape (size, size).

    A point is shaded when walking from it towards the sun meets a roof
    higher than the sun ray; heights are evaluated once on a padded grid and
    the walk is done with whole-pixel shifts.

    Args:
        layout: Calibrated plan.
        origin: Local (x, y) of the chip's upper-left corner, metres.
        size: Chip size, pixels.
        acq: The acquisition (sun zenith and azimuth).
        n_dates: Number of dates.
    """
    rise = math.tan(math.radians(90.0 - acq.zenith))
    steps = int(MAX_BUILDING / max(rise, 0.2) / VHR_GSD) + 1
    az = math.radians(acq.azimuth)
    towards_sun = (math.sin(az), -math.cos(az))
    pad = steps + 1
    x = (origin[0] + (np.arange(-pad, size + pad) + 0.5) * VHR_GSD).astype(np.float64)[None, :]
    y = (origin[1] + (np.arange(-pad, size + pad) + 0.5) * VHR_GSD).astype(np.float64)[:, None]
    height = buildings.rasterize(layout, x, y, 0, n_dates)
    heights = np.where(height.standing, height.height, 0.0)
    own = heights[pad : pad + size, pad : pad + size]
    shade = np.zeros((size, size), dtype=bool)
    for k in range(1, steps + 1):
        dr = pad + round(k * towards_sun[1])
        dc = pad + round(k * towards_sun[0])
        shade |= heights[dr : dr + size, dc : dc + size] > own + k * VHR_GSD * rise
    return shade


def render_chip(
    layout: Layout,
    origin: tuple[float, float],
    size: int,
    objects: list[SceneObject],
    acq: Acquisition,
    n_dates: int,
) -> tuple[U8, U8]:
    """Render an RGB chip and its land-cover labels.

    Args:
        layout: Calibrated plan.
        origin: Local (x, y) of the upper-left corner, metres.
        size: Chip size in pixels.
        objects: Objects to paint.
        acq: First acquisition (season and sun position).
        n_dates: Number of dates.

    Returns:
        (rgb uint8 (3, size, size), landcover uint8 (size, size)).
    """
    x: F64 = (origin[0] + (np.arange(size) + 0.5) * VHR_GSD).astype(np.float64)[None, :]
    y: F64 = (origin[1] + (np.arange(size) + 0.5) * VHR_GSD).astype(np.float64)[:, None]
    g = ground(layout, x, y, 0, n_dates)
    centers = np.array([b.center for b in B.RGB_BANDS], dtype=np.float64)
    refl = surface(g, centers, acq.doy, x, y, layout.seed)
    grain = 1.0 + 0.12 * fbm(x, y, 6.0, salt_of(layout.seed, "vhr.grain"), octaves=3)
    refl *= grain.astype(np.float32)
    shape = g.cls.shape
    _paint(refl, np.broadcast_to(x, shape), np.broadcast_to(y, shape), objects, layout.seed)
    refl[:, building_shadow(layout, origin, size, acq, n_dates)] *= np.float32(SHADOW_FACTOR)
    rgb = (np.clip(refl / 0.4, 0.0, 1.0) ** (1 / 1.8) * 254 + 1).astype(np.uint8)
    return rgb, g.cls


def chip_geobox(base: GeoBox, origin: tuple[float, float], size: int) -> GeoBox:
    """Grid of a chip from its local origin and the scene grid."""
    t = base.transform
    return GeoBox(
        (size, size),
        Affine(VHR_GSD, 0.0, t.c + origin[0], 0.0, -VHR_GSD, t.f - origin[1]),
        base.crs,
    )
