"""Scene-wide plan drawn once from the seed: where the river, town, harbour and airfield go.

Everything here is a handful of numbers; the per-pixel ground is computed from
them by :mod:`eoforge.synth.world.landcover`, block by block. Sizes are in metres and
scale with the scene extent within realistic bounds, so a 2.5 km test scene
and a 400 km benchmark scene both hold every feature.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from eoforge.synth.world.geometry import OrientedRect
from eoforge.synth.world.noise import salt_of
from eoforge.synth.world.phenology import Phenology


@dataclass(frozen=True)
class River:
    """A meandering river running north to south: centre x = x0 + sum of sines of y.

    Attributes:
        x0: Mean centre-line x, metres.
        amplitudes: Meander amplitudes, metres.
        wavelengths: Meander wavelengths along y, metres.
        phases: Phases, radians.
        width: Mean width, metres.
    """

    x0: float
    amplitudes: tuple[float, ...]
    wavelengths: tuple[float, ...]
    phases: tuple[float, ...]
    width: float

    def centre_x(self, y: float) -> float:
        """Centre-line x (metres) at southing ``y`` (metres)."""
        return self.x0 + sum(
            a * math.sin(2 * math.pi * y / w + p)
            for a, w, p in zip(self.amplitudes, self.wavelengths, self.phases, strict=True)
        )


@dataclass(frozen=True)
class RoadGrid:
    """A rotated lattice of streets (in urban areas) and major roads (everywhere).

    Attributes:
        angle: Rotation of the lattice, radians.
        spacing: Distance between streets (block size), metres.
        major_every: Every how many street lines a major road runs.
        offset_u: Lattice offset along the first axis, metres.
        offset_v: Lattice offset along the second axis, metres.
        street_width: Street width, metres.
        major_width: Major road width, metres.
    """

    angle: float
    spacing: float
    major_every: int
    offset_u: float
    offset_v: float
    street_width: float = 9.0
    major_width: float = 14.0


@dataclass(frozen=True)
class FieldGrid:
    """A rotated brick pattern of arable fields.

    Attributes:
        angle: Rotation, radians.
        row_height: Field size across rows, metres.
        min_length: Shortest field along rows, metres.
        max_length: Longest field along rows, metres.
        margin: Grass margin inside each field edge, metres.
    """

    angle: float
    row_height: float
    min_length: float
    max_length: float
    margin: float = 4.0


@dataclass(frozen=True)
class Airfield:
    """Runway, apron and taxiway of the scene's airfield (all oriented rectangles)."""

    runway: OrientedRect
    apron: OrientedRect
    taxiway: OrientedRect

    @property
    def zone_radius(self) -> float:
        """Radius (metres) around the runway centre kept free of lakes and buildings."""
        return self.runway.length / 2 + 250.0


@dataclass(frozen=True)
class Harbour:
    """A basin dug from the river bank towards the town, with quays around it."""

    basin: OrientedRect
    quay: OrientedRect


@dataclass(frozen=True)
class Layout:
    """The scene-wide plan.

    Attributes:
        seed: Scene seed.
        width: Scene width, metres.
        height: Scene height, metres.
        gsd: Ground sampling distance of the base grid, metres.
        river: The river.
        town: Main town centre x, y and radius (metres).
        harbour: The harbour.
        airfield: The airfield.
        roads: Road lattice.
        fields: Field pattern.
        village_spacing: Lattice spacing for extra villages, metres.
        thresholds: Quantile thresholds of the zone noises (filled by calibration).
        phenology: How fields of one crop differ over the season, ``uniform`` or
            ``varied`` (:mod:`eoforge.synth.world.phenology`).
    """

    seed: int
    width: float
    height: float
    gsd: float
    river: River
    town: tuple[float, float, float]
    harbour: Harbour
    airfield: Airfield
    roads: RoadGrid
    fields: FieldGrid
    village_spacing: float = 6000.0
    thresholds: dict[str, float] = field(default_factory=dict)
    phenology: Phenology = "uniform"


def _clip(value: float, low: float, high: float) -> float:
    return float(min(max(value, low), high))


def _river(rng: np.random.Generator, width: float, height: float) -> River:
    size = min(width, height)
    return River(
        x0=width * rng.uniform(0.24, 0.32),
        amplitudes=(
            _clip(0.05 * size, 60, 6000) * rng.uniform(0.7, 1.2),
            _clip(0.025 * size, 30, 2500) * rng.uniform(0.6, 1.2),
            _clip(0.01 * size, 10, 800) * rng.uniform(0.5, 1.2),
        ),
        wavelengths=(height * 0.9, height * 0.37, height * 0.17),
        phases=tuple(float(p) for p in rng.uniform(0, 2 * math.pi, 3)),
        width=rng.uniform(45.0, 70.0),
    )


def _harbour(river: River, town_y: float, rng: np.random.Generator) -> Harbour:
    bank = river.centre_x(town_y) + river.width / 2
    length = rng.uniform(220.0, 380.0)
    basin_w = rng.uniform(110.0, 150.0)
    start = bank - river.width / 2
    basin = OrientedRect(
        start + (river.width / 2 + length) / 2, town_y, river.width / 2 + length, basin_w, 0.0
    )
    quay_len = length + 45.0
    quay = OrientedRect(bank + quay_len / 2, town_y, quay_len, basin_w + 90.0, 0.0)
    return Harbour(basin=basin, quay=quay)


def _airfield(width: float, height: float, gsd: float, rng: np.random.Generator) -> Airfield:
    size = min(width, height)
    length = _clip(0.28 * size, 600.0, 3000.0)
    runway_w = max(45.0, 3 * gsd)
    angle = rng.uniform(-0.5, 0.5)
    cx = width * rng.uniform(0.7, 0.78)
    cy = height * rng.uniform(0.7, 0.78)
    runway = OrientedRect(cx, cy, length, runway_w, angle)
    offset = runway_w / 2 + 140.0
    nx, ny = -math.sin(angle), math.cos(angle)
    apron = OrientedRect(cx + nx * offset, cy + ny * offset, 0.4 * length, 100.0, angle)
    taxi_len = offset
    taxiway = OrientedRect(
        cx + nx * taxi_len / 2,
        cy + ny * taxi_len / 2,
        taxi_len,
        max(22.0, 2 * gsd),
        angle + math.pi / 2,
    )
    return Airfield(runway=runway, apron=apron, taxiway=taxiway)


def make_layout(seed: int, width: float, height: float, gsd: float) -> Layout:
    """Draw the scene-wide plan from the seed.

    Args:
        seed: Scene seed.
        width: Scene width in metres.
        height: Scene height in metres.
        gsd: Base ground sampling distance in metres.

    Returns:
        A :class:`Layout` without calibrated thresholds.
    """
    rng = np.random.default_rng(salt_of(seed, "layout"))
    river = _river(rng, width, height)
    size = min(width, height)
    town_radius = _clip(0.16 * size, 500.0, 2500.0)
    town_y = height * rng.uniform(0.32, 0.42)
    harbour = _harbour(river, town_y, rng)
    town_x = harbour.quay.cx + harbour.quay.length / 2 + 0.5 * town_radius
    airfield = _airfield(width, height, gsd, rng)
    spacing = rng.uniform(110.0, 140.0)
    road_angle = rng.uniform(-0.35, 0.35)
    roads = RoadGrid(
        angle=road_angle,
        spacing=spacing,
        major_every=int(rng.integers(14, 20)),
        # The lattice is anchored on the town centre, so a major crossing lies downtown
        # and the town's streets connect to the regional network.
        offset_u=town_x * math.cos(road_angle) + town_y * math.sin(road_angle),
        offset_v=-town_x * math.sin(road_angle) + town_y * math.cos(road_angle),
        street_width=max(9.0, gsd),
        major_width=max(14.0, 1.4 * gsd),
    )
    fields = FieldGrid(
        angle=rng.uniform(-0.6, 0.6),
        row_height=rng.uniform(170.0, 280.0),
        min_length=150.0,
        max_length=480.0,
    )
    return Layout(
        seed=seed,
        width=width,
        height=height,
        gsd=gsd,
        river=river,
        town=(town_x, town_y, town_radius),
        harbour=harbour,
        airfield=airfield,
        roads=roads,
        fields=fields,
    )
