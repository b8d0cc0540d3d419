"""Large-scale zoning of the ground: urban potential, arable land, forest, wetness, lakes.

Each zone is a smooth noise field; the cut that turns it into a class is a
quantile of that field over the whole scene (sampled coarsely once), so every
class is present in every scene whatever its size, and every block uses the
same cuts.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import numpy.typing as npt

from eoforge.synth.world.layout import Layout
from eoforge.synth.world.noise import fbm, salt_of, uniform_ints
from eoforge.synth.world.terrain import river_distance

F64 = npt.NDArray[np.float64]

#: Share of the scene above each zone's cut.
ZONE_SHARES = {"agri": 0.5, "forest": 0.45, "bare": 0.06, "wet": 0.1, "lake": 0.035}


def agri_noise(layout: Layout, x: F64, y: F64) -> F64:
    """Arable-land suitability, higher means fields (unitless, about [-1, 1])."""
    return fbm(x, y, 3500.0, salt_of(layout.seed, "zone.agri"), octaves=3)


def forest_noise(layout: Layout, x: F64, y: F64) -> F64:
    """Forest suitability of non-arable land (unitless)."""
    return fbm(x, y, 1600.0, salt_of(layout.seed, "zone.forest"), octaves=4)


def bare_noise(layout: Layout, x: F64, y: F64) -> F64:
    """Bare-ground likelihood (unitless)."""
    return fbm(x, y, 700.0, salt_of(layout.seed, "zone.bare"), octaves=3)


def wetness(layout: Layout, x: F64, y: F64) -> F64:
    """Wetness: high near the river and in noisy hollows (unitless)."""
    distance, _ = river_distance(layout, x, y)
    noise = fbm(x, y, 900.0, salt_of(layout.seed, "zone.wet"), octaves=3)
    out: F64 = np.exp(-((distance / 450.0) ** 2)) + 0.7 * noise
    return out


def lake_noise(layout: Layout, x: F64, y: F64) -> F64:
    """Lake likelihood, suppressed near the town, harbour and airfield (unitless)."""
    noise = fbm(x, y, 1300.0, salt_of(layout.seed, "zone.lake"), octaves=3)
    tx, ty, tr = layout.town
    runway = layout.airfield.runway
    keep_out = np.maximum(
        np.exp(-(((x - tx) ** 2 + (y - ty) ** 2) / (1.6 * tr) ** 2)),
        np.exp(-(((x - runway.cx) ** 2 + (y - runway.cy) ** 2) / layout.airfield.zone_radius**2)),
    )
    out: F64 = noise - 2.0 * keep_out
    return out


def _villages(
    layout: Layout, x0: float, y0: float, x1: float, y1: float
) -> list[tuple[float, float, float]]:
    """Village centres and radii (metres) whose influence may reach the box."""
    spacing = layout.village_spacing
    reach = 1500.0
    ix = np.arange(math.floor((x0 - reach) / spacing), math.floor((x1 + reach) / spacing) + 1)
    iy = np.arange(math.floor((y0 - reach) / spacing), math.floor((y1 + reach) / spacing) + 1)
    gx, gy = np.meshgrid(ix, iy)
    salt = salt_of(layout.seed, "villages")
    present = uniform_ints(salt, gx, gy, 0) < 0.35
    jx = uniform_ints(salt, gx, gy, 1)
    jy = uniform_ints(salt, gx, gy, 2)
    radius = 250.0 + 450.0 * uniform_ints(salt, gx, gy, 3)
    out = []
    for i, j, r in zip(
        (gx + 0.2 + 0.6 * jx)[present], (gy + 0.2 + 0.6 * jy)[present], radius[present], strict=True
    ):
        out.append((float(i * spacing), float(j * spacing), float(r)))
    return out


def urban_potential(layout: Layout, x: F64, y: F64) -> F64:
    """Urban potential: above 0.5 the ground is urban (unitless, about [0, 1.3]).

    Args:
        layout: Scene plan.
        x: Easting in metres.
        y: Southing in metres.

    Returns:
        Array of the broadcast shape.
    """
    shape = np.broadcast_shapes(x.shape, y.shape)
    tx, ty, tr = layout.town
    centres = [
        (tx, ty, tr),
        *_villages(layout, float(x.min()), float(y.min()), float(x.max()), float(y.max())),
    ]
    best: F64 = np.zeros(shape, dtype=np.float64)
    for cx, cy, r in centres:
        d2 = (x - cx) ** 2 + (y - cy) ** 2
        np.maximum(best, np.exp(-math.log(2.0) * d2 / (r * r)), out=best)
    runway = layout.airfield.runway
    near_airfield = np.hypot(x - runway.cx, y - runway.cy) < layout.airfield.zone_radius
    texture = 0.4 * fbm(x, y, 700.0, salt_of(layout.seed, "zone.urban"), octaves=3)
    out: F64 = np.where(near_airfield, 0.0, best + texture * best)
    return out


def calibrate(layout: Layout, samples: int = 96) -> Layout:
    """Fill the layout's zone cuts from quantiles over a coarse sample of the scene.

    Args:
        layout: Scene plan (thresholds ignored).
        samples: Samples per axis.

    Returns:
        The same plan with ``thresholds`` set.
    """
    x = ((np.arange(samples) + 0.5) * layout.width / samples)[None, :]
    y = ((np.arange(samples) + 0.5) * layout.height / samples)[:, None]
    fields = {
        "agri": agri_noise(layout, x, y),
        "forest": forest_noise(layout, x, y),
        "bare": bare_noise(layout, x, y),
        "wet": wetness(layout, x, y),
        "lake": lake_noise(layout, x, y),
    }
    cuts = {
        name: float(np.quantile(values, 1.0 - ZONE_SHARES[name])) for name, values in fields.items()
    }
    # Lakes never cover more than the lake share, even where the keep-out zones dominate.
    cuts["lake"] = max(cuts["lake"], 0.25)
    return dataclasses.replace(layout, thresholds=cuts)
