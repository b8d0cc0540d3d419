"""A small synthetic scene in which every input alone confuses some pair of classes.

Fusion of several sensors is only worth its cost where no sensor alone tells
the classes apart. :func:`generate_fusion_task` writes a scene (COGs, a STAC
collection and ``legend.json``, read through the catalog like any
``eoforge synth`` scene) whose classes are built so that:

========================  ==============================  =============================
input                     cannot separate                  because (by construction)
========================  ==============================  =============================
Sentinel-2 (10 m)         grassland / wetland              both draw one spectrum mix
                          building / paved                 roofs and paved lots draw
                                                           the same materials
aerial RGB (2.5 m)        grassland / wetland,             as Sentinel-2 (and no
                          building / paved                 shadows: sun overhead)
Sentinel-1 (10 m)         grassland / bare soil            one roughness, one sigma0
                          building / paved                 double bounce spread over
                                                           the block (PSF, layover)
height, nDSM (2.5 m)      water, grassland, wetland,       all flat: 0 m plus noise
                          bare soil, paved
========================  ==============================  =============================

Only the three together separate all seven classes (wetland needs S1 + S2,
building needs height + an optical input); RGB + height separates every class
but grassland / wetland, which a recipe merges into one.

The world (on the 2.5 m grid, ``FINE`` pixels per 10 m pixel):

* water (lakes, ~10 %): the top decile of a smooth fractal field (features
  ~700 m); urban districts (~30 % of the land): the top of another (~900 m);
  forest (~28 % of the rest) likewise (~500 m); the remaining open land is cut
  into cells of a jittered Voronoi tessellation (~100 m apart, boundaries
  warped by ~15 m) that are grassland (40 %), wetland (35 %) or bare soil (25 %),
  drawn per cell independently of their neighbours (no context cue).
* urban districts: a street grid of 80 m period with 10 m streets; each
  70 m block holds 2 x 2 parcels whose rectangle, inset 2.5 or 5 m per side, is
  a building (60 % of them) or a paved lot; everything else in the district
  (streets, margins) is paved.
* height (nDSM, m): buildings a flat roof at 4-24 m per building; forest a
  canopy of 10-22 m (smooth) with 5 m crowns (+-3 m); every other class 0 m;
  low vegetation 0-0.4 m on grassland and wetland alike; then Gaussian noise of
  0.3 m everywhere (photogrammetric DSM noise).
* reflectance (the end-member spectra of :mod:`eoforge.synth.render.spectra`
  at the Sentinel-2 band centres): water a mix of clear and turbid water;
  forest leaf-on canopy with +-12 % texture; grassland and wetland both
  ``grass_green`` mixed with up to 60 % ``grass_dry`` per cell (one draw
  from the same law for both) with +-6 % texture; bare soil ``soil`` at 0.8-1.2
  brightness per cell; roofs and paved lots alike one of ``roof_concrete``,
  ``concrete``, ``asphalt``, ``roof_tile`` (equal odds) at 0.85-1.15
  brightness per parcel; streets and margins ``asphalt`` (60 %) or
  ``concrete`` per block.
* backscatter (sigma0 dB, VV / VH): water -22 / -28, forest -7.5 / -13,
  grassland and bare soil alike -11 / -18.5, wetland -5.5 / -15.5 (flooded
  vegetation: double bounce raises VV), building and paved alike -5 / -12;
  a uniform offset of standard deviation 0.8 dB per open-land cell (one law
  for grassland, wetland and bare soil), +-1 dB of 200 m texture on land, and
  the incidence ramp of :mod:`eoforge.synth.render.sar`.

Sensors: Sentinel-2 L2A-like bands B02, B03, B04, B08, B11, B12 (uint16,
reflectance = DN / 10000) are the 2.5 m reflectance averaged over each 10 m
pixel plus Gaussian noise of 0.005; Sentinel-1 VV/VH (float32 dB) the mean
linear sigma0 of each 10 m pixel times Gamma speckle of 4.4 looks; RGB
(uint8 DN = reflectance / 0.3 * 255, noise 2 DN) and the nDSM (float32 m,
``DEM.ndsm``) on the 2.5 m grid. Labels: ``labels/landcover.tif`` at 10 m (the
most frequent 2.5 m class of each pixel) and ``labels/landcover_fine.tif`` at
2.5 m, legend families ``landcover`` and ``landcover_fine`` (same codes,
:data:`CLASSES`). Noise and speckle come from
:func:`~eoforge.synth.render.sensor_noise.tiled_draw`; same seed, same files.
Scenes of different seeds lie side by side (never overlapping), so several can
be listed in one split.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import rasterio
from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.classes import ClassInfo
from eoforge.errors import ConfigError
from eoforge.io.gdal_env import MIB
from eoforge.synth.render.bands import BANDS_BY_NAME
from eoforge.synth.render.sar import FAR_INCIDENCE, INCIDENCE_SLOPE, NEAR_INCIDENCE, to_db
from eoforge.synth.render.sensor_noise import tiled_draw
from eoforge.synth.render.spectra import REFLECTANCE, SPECTRAL_CENTERS
from eoforge.synth.world.noise import fbm, salt_of, uniform_ints, value_noise
from eoforge.synth.world.sampling import Window
from eoforge.synth.write.atomic import write_bytes_atomic
from eoforge.synth.write.cogs import BlockWriter, RasterSpec
from eoforge.synth.write.manifest import WrittenFile
from eoforge.synth.write.raster_files import HEIGHT_M, SAR_DB, Encoding, RasterGroup, as_uint16
from eoforge.synth.write.stac import write_catalog

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]
U8 = npt.NDArray[np.uint8]

GSD = 10.0
"""Pixel size of the Sentinel grids and of ``labels/landcover.tif``, metres."""
FINE = 4
"""2.5 m pixels per 10 m pixel (RGB, nDSM and ``labels/landcover_fine.tif``)."""
CRS = "EPSG:32631"
ORIGIN = (600_000.0, 5_100_000.0)
"""Upper-left corner of the seed-0 scene; seed ``s`` lies ``s`` scene widths (+ 1 km) east."""
DATE = dt.date(2024, 7, 1)
MIN_SIZE, MAX_SIZE = 64, 1024
"""Scene sides in 10 m pixels (1024: a 4096 px world at 2.5 m, ~1.5 GB while generating)."""

NODATA, WATER, FOREST, GRASSLAND, WETLAND, BARE_SOIL, PAVED, BUILDING = range(8)
CLASSES: tuple[ClassInfo, ...] = (
    ClassInfo(id=NODATA, name="nodata", color="#000000", description="outside the scene"),
    ClassInfo(id=WATER, name="water", color="#2673ca", description="lakes"),
    ClassInfo(id=FOREST, name="forest", color="#186e24", description="closed tree cover"),
    ClassInfo(
        id=GRASSLAND, name="grassland", color="#96cd5a", description="dry meadow (S2 = wetland)"
    ),
    ClassInfo(
        id=WETLAND,
        name="wetland",
        color="#4ec4a8",
        description="flooded meadow: S2 as grassland, bright VV (double bounce)",
    ),
    ClassInfo(
        id=BARE_SOIL, name="bare_soil", color="#c8a064", description="bare soil (S1 = grassland)"
    ),
    ClassInfo(
        id=PAVED,
        name="paved",
        color="#a0a0a0",
        description="streets and paved lots: optical and S1 as buildings, 0 m high",
    ),
    ClassInfo(id=BUILDING, name="building", color="#c81e1e", description="buildings, 4-24 m high"),
)
CONFUSED: dict[str, tuple[tuple[str, str], ...]] = {
    "s2": (("grassland", "wetland"), ("building", "paved")),
    "rgb": (("grassland", "wetland"), ("building", "paved")),
    "s1": (("grassland", "bare_soil"), ("building", "paved")),
    "height": (
        ("water", "grassland"),
        ("grassland", "wetland"),
        ("grassland", "bare_soil"),
        ("bare_soil", "paved"),
    ),
}
"""Per input, pairs of classes it cannot tell apart by construction (see the module doc)."""

S2_WRITTEN = ("S2.B02", "S2.B03", "S2.B04", "S2.B08", "S2.B11", "S2.B12")
S2_COLUMNS = {"S2.B02": 1, "S2.B03": 2, "S2.B04": 3, "S2.B08": 7, "S2.B11": 10, "S2.B12": 11}
"""Column of :data:`~eoforge.synth.render.spectra.SPECTRAL_CENTERS` of each written band."""
RGB_WRITTEN = ("RGB.red", "RGB.green", "RGB.blue")
RGB_CENTERS = (0.640, 0.550, 0.470)
RGB_FULL_SCALE = 0.3
"""Reflectance written as DN 255 in the RGB bands."""
S2_NOISE = 0.005
RGB_NOISE_DN = 2.0
HEIGHT_NOISE_M = 0.3
LOOKS = 4.4
NOISE_TILE = 256
URBAN_MATERIALS = ("roof_concrete", "concrete", "asphalt", "roof_tile")
SIGMA0_DB: dict[int, tuple[float, float]] = {
    WATER: (-22.0, -28.0),
    FOREST: (-7.5, -13.0),
    GRASSLAND: (-11.0, -18.5),
    BARE_SOIL: (-11.0, -18.5),
    WETLAND: (-5.5, -15.5),
    PAVED: (-5.0, -12.0),
    BUILDING: (-5.0, -12.0),
}
STREET_PERIOD, STREET_WIDTH = 80.0, 10.0
CELL_SPACING = 100.0
BUILDING_SHARE = 0.6
"""Share of the parcels that are buildings (the others are paved lots)."""
S2_ENCODING = Encoding("uint16", 0, 1e-4, 0.0, "reflectance")
RGB_ENCODING = Encoding("uint8", 0, 1.0, 0.0, "DN")


@dataclass(frozen=True)
class FusionWorld:
    """The ground of a scene on the 2.5 m grid.

    Attributes:
        classes: uint8 ``[H, W]`` class codes (:data:`CLASSES`).
        height: float32 ``[H, W]`` height above ground, metres (before noise).
        reflectance: float32 ``[12, H, W]`` surface reflectance at
            :data:`~eoforge.synth.render.spectra.SPECTRAL_CENTERS`.
        sigma0_db: float64 ``[2, H, W]`` mean VV, VH backscatter, dB (before speckle).
    """

    classes: U8
    height: F32
    reflectance: F32
    sigma0_db: F64


def _mix(a: str, b: str, weight: F64) -> F32:
    """``[12, ...]`` spectra of ``a`` mixed with ``b`` by ``weight`` (any shape)."""
    first = np.asarray(REFLECTANCE[a], np.float64).reshape(-1, *([1] * weight.ndim))
    second = np.asarray(REFLECTANCE[b], np.float64).reshape(-1, *([1] * weight.ndim))
    return (first * (1 - weight) + second * weight).astype(np.float32)


def _voronoi(x: F64, y: F64, salt: int) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Cell indices ``(ix, iy)`` of a jittered-grid Voronoi tessellation, boundaries warped."""
    warp_x = x + 15.0 * fbm(x, y, 120.0, salt_of(salt, "warp-x"), octaves=3)
    warp_y = y + 15.0 * fbm(x, y, 120.0, salt_of(salt, "warp-y"), octaves=3)
    gx, gy = warp_x / CELL_SPACING, warp_y / CELL_SPACING
    cx, cy = np.floor(gx).astype(np.int64), np.floor(gy).astype(np.int64)
    best = np.full(gx.shape, np.inf)
    best_x, best_y = np.zeros(gx.shape, np.int64), np.zeros(gx.shape, np.int64)
    for dy in (-1, 0, 1):
        for dx in (-1, 0, 1):
            ix, iy = cx + dx, cy + dy
            px = ix + uniform_ints(salt_of(salt, "jitter-x"), ix, iy)
            py = iy + uniform_ints(salt_of(salt, "jitter-y"), ix, iy)
            distance = (gx - px) ** 2 + (gy - py) ** 2
            closer = distance < best
            best = np.where(closer, distance, best)
            best_x = np.where(closer, ix, best_x)
            best_y = np.where(closer, iy, best_y)
    return best_x, best_y


def _top(field: F64, share: float, within: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Pixels of ``within`` where ``field`` is in its top ``share`` there."""
    if not within.any():
        return within
    out: npt.NDArray[np.bool_] = within & (field > np.quantile(field[within], 1.0 - share))
    return out


def build_world(size: int, seed: int) -> FusionWorld:
    """The ground of a ``size`` x ``size`` (10 m pixels) scene on its 2.5 m grid.

    Args:
        size: Scene side in 10 m pixels.
        seed: Scene seed.

    Returns:
        The :class:`FusionWorld` (arrays ``size * FINE`` pixels across).
    """
    side = size * FINE
    fine = GSD / FINE
    east = seed * (size * GSD + 1000.0)
    x = (np.arange(side, dtype=np.float64)[None, :] + 0.5) * fine + east
    y = (np.arange(side, dtype=np.float64)[:, None] + 0.5) * fine
    shape = (side, side)
    key = salt_of(seed, "fusion-task")
    every = np.ones(shape, bool)
    water = _top(fbm(x, y, 700.0, salt_of(key, "water")), 0.10, every)
    urban = _top(fbm(x, y, 900.0, salt_of(key, "urban")), 0.30, ~water)
    forest = _top(fbm(x, y, 500.0, salt_of(key, "forest")), 0.28, ~water & ~urban)
    open_land = ~water & ~urban & ~forest

    classes = np.zeros(shape, np.uint8)
    height = np.zeros(shape, np.float32)
    refl = np.zeros((SPECTRAL_CENTERS.size, *shape), np.float32)
    db = np.zeros((2, *shape), np.float64)
    land_texture = fbm(x, y, 200.0, salt_of(key, "s1-texture"), octaves=3)

    # water
    turbid = np.clip(0.5 + 0.5 * fbm(x, y, 300.0, salt_of(key, "turbid")), 0, 1) * 0.6
    classes[water] = WATER
    refl[:, water] = _mix("water", "turbid_water", np.broadcast_to(turbid, shape)[water])

    # forest
    canopy = 16.0 + 6.0 * fbm(x, y, 150.0, salt_of(key, "canopy"))
    crowns = 3.0 * (2.0 * value_noise(x, y, 5.0, salt_of(key, "crowns")) - 1.0)
    texture = 1.0 + 0.12 * fbm(x, y, 40.0, salt_of(key, "forest-texture"), octaves=3)
    classes[forest] = FOREST
    height[forest] = np.broadcast_to(canopy + crowns, shape)[forest]
    leaf = np.asarray(REFLECTANCE["forest_leaf_on"], np.float32)[:, None]
    refl[:, forest] = leaf * np.broadcast_to(texture, shape)[forest][None]

    # open land: Voronoi cells of grassland, wetland or bare soil
    ix, iy = _voronoi(np.broadcast_to(x, shape), np.broadcast_to(y, shape), key)
    pick = uniform_ints(salt_of(key, "cell-class"), ix, iy)
    cell_class = np.where(pick < 0.40, GRASSLAND, np.where(pick < 0.75, WETLAND, BARE_SOIL))
    dry = 0.6 * uniform_ints(salt_of(key, "cell-dry"), ix, iy)
    bright = 0.8 + 0.4 * uniform_ints(salt_of(key, "cell-bright"), ix, iy)
    jitter_vv = 0.8 * (2 * uniform_ints(salt_of(key, "cell-vv"), ix, iy) - 1) * math.sqrt(3)
    jitter_vh = 0.8 * (2 * uniform_ints(salt_of(key, "cell-vh"), ix, iy) - 1) * math.sqrt(3)
    grass_texture = 1.0 + 0.06 * fbm(x, y, 30.0, salt_of(key, "grass-texture"), octaves=3)
    low = 0.4 * np.clip(0.5 + 0.5 * fbm(x, y, 20.0, salt_of(key, "low-vegetation")), 0, 1)
    classes[open_land] = cell_class[open_land]
    vegetated = open_land & (cell_class != BARE_SOIL)
    refl[:, vegetated] = (
        _mix("grass_green", "grass_dry", dry[vegetated])
        * (np.broadcast_to(grass_texture, shape)[vegetated][None])
    )
    height[vegetated] = np.broadcast_to(low, shape)[vegetated]
    soil = open_land & (cell_class == BARE_SOIL)
    refl[:, soil] = np.asarray(REFLECTANCE["soil"], np.float32)[:, None] * bright[soil][None]

    # urban: street grid, parcels of buildings or paved lots, the rest paved
    _urban(urban, x - east, y, key, classes, height, refl)

    # backscatter
    for value, (vv, vh) in SIGMA0_DB.items():
        where = classes == value
        db[0][where], db[1][where] = vv, vh
    db[0][open_land] += jitter_vv[open_land]
    db[1][open_land] += jitter_vh[open_land]
    land = classes != WATER
    db[:, land] += np.broadcast_to(land_texture, shape)[land][None]
    theta = NEAR_INCIDENCE + (FAR_INCIDENCE - NEAR_INCIDENCE) * (x - east) / (side * fine)
    db += INCIDENCE_SLOPE * (theta - 0.5 * (NEAR_INCIDENCE + FAR_INCIDENCE))[None]
    return FusionWorld(classes, height, refl, db)


def _urban(
    urban: npt.NDArray[np.bool_],
    x: F64,
    y: F64,
    key: int,
    classes: U8,
    height: F32,
    refl: F32,
) -> None:
    """Fill the urban districts in place: streets, parcels (buildings or paved lots), margins."""
    shape = classes.shape
    shift = STREET_PERIOD * np.array(
        [
            uniform_ints(salt_of(key, "street-x"), np.zeros(1, np.int64), np.zeros(1, np.int64))[0],
            uniform_ints(salt_of(key, "street-y"), np.zeros(1, np.int64), np.zeros(1, np.int64))[0],
        ]
    )
    gx = np.broadcast_to(x + shift[0], shape)
    gy = np.broadcast_to(y + shift[1], shape)
    bx, by = (
        np.floor(gx / STREET_PERIOD).astype(np.int64),
        np.floor(gy / STREET_PERIOD).astype(np.int64),
    )
    # position inside the block past the street, 0..70 m
    u, v = gx - bx * STREET_PERIOD - STREET_WIDTH, gy - by * STREET_PERIOD - STREET_WIDTH
    half = (STREET_PERIOD - STREET_WIDTH) / 2
    inside = (u >= 0) & (v >= 0)
    px, py = (
        np.clip(np.floor(u / half), 0, 1).astype(np.int64),
        np.clip(np.floor(v / half), 0, 1).astype(np.int64),
    )
    cx, cy = 2 * bx + px, 2 * by + py  # parcel index
    su, sv = u - px * half, v - py * half  # position inside the parcel, 0..35 m
    insets = [
        2.5 * (1 + np.floor(2 * uniform_ints(salt_of(key, f"inset-{side}"), cx, cy)))
        for side in ("w", "e", "n", "s")
    ]
    in_parcel = (
        inside
        & (su >= insets[0])
        & (su < half - insets[1])
        & (sv >= insets[2])
        & (sv < half - insets[3])
    )
    is_building = uniform_ints(salt_of(key, "parcel-kind"), cx, cy) < BUILDING_SHARE
    material = np.floor(len(URBAN_MATERIALS) * uniform_ints(salt_of(key, "material"), cx, cy))
    bright = 0.85 + 0.3 * uniform_ints(salt_of(key, "parcel-bright"), cx, cy)
    roof = 4.0 + 20.0 * uniform_ints(salt_of(key, "roof"), cx, cy)
    street_concrete = uniform_ints(salt_of(key, "street-material"), bx, by) < 0.4
    street_bright = 0.9 + 0.2 * uniform_ints(salt_of(key, "street-bright"), bx, by)

    parcel = urban & in_parcel
    classes[urban] = PAVED
    classes[parcel & is_building] = BUILDING
    height[parcel & is_building] = roof[parcel & is_building]
    for index, name in enumerate(URBAN_MATERIALS):
        where = parcel & (material == index)
        refl[:, where] = np.asarray(REFLECTANCE[name], np.float32)[:, None] * bright[where][None]
    for concrete, name in ((False, "asphalt"), (True, "concrete")):
        where = urban & ~in_parcel & (street_concrete == concrete)
        spectrum = np.asarray(REFLECTANCE[name], np.float32)[:, None]
        refl[:, where] = spectrum * street_bright[where][None]


def _block_mean(values: npt.NDArray[np.floating], factor: int) -> F64:
    """Mean over ``factor`` x ``factor`` blocks of the last two axes."""
    *lead, h, w = values.shape
    shaped = values.reshape(*lead, h // factor, factor, w // factor, factor)
    out: F64 = shaped.mean(axis=(-3, -1), dtype=np.float64)
    return out


def majority(classes: U8, factor: int) -> U8:
    """The most frequent code of each ``factor`` x ``factor`` block (lowest code on ties)."""
    h, w = classes.shape
    blocks = classes.reshape(h // factor, factor, w // factor, factor)
    counts = np.stack([(blocks == k).sum(axis=(1, 3)) for k in range(len(CLASSES))])
    out: U8 = counts.argmax(axis=0).astype(np.uint8)
    return out


def _grid(size: int, seed: int, gsd: float) -> GeoBox:
    east = seed * (size * GSD + 1000.0)
    transform = Affine(gsd, 0.0, ORIGIN[0] + east, 0.0, -gsd, ORIGIN[1])
    pixels = round(size * GSD / gsd)
    return GeoBox((pixels, pixels), transform, CRS)


def _legend(root: Path) -> WrittenFile:
    entries = [
        {"value": c.id, "name": c.name, "color": list(c.rgb), "description": c.description}
        for c in CLASSES
    ]
    document = {
        "landcover": entries,
        "landcover_fine": entries,
        "label_nodata": {"landcover": NODATA, "landcover_fine": NODATA},
        "confused": {k: [list(p) for p in v] for k, v in CONFUSED.items()},
    }
    write_bytes_atomic(root / "legend.json", json.dumps(document, indent=2).encode())
    return WrittenFile(
        "legend.json",
        "json",
        "",
        "labels",
        "legend",
        media_type="application/json",
        roles=("metadata",),
    )


def _label(group: RasterGroup, key: str, rel: str, family: str) -> None:
    """Register a paletted uint8 label raster ``rel`` of legend family ``family``."""
    colours = {c.id: (*c.rgb, 255) for c in CLASSES}
    group.specs[key] = RasterSpec(
        group.root / rel,
        group.grid,
        "uint8",
        NODATA,
        family,
        colormap=colours,
        resampling="nearest",
    )
    shape = (int(group.grid.shape[0]), int(group.grid.shape[1]))
    group.files.append(
        WrittenFile(
            rel,
            "label",
            "labels",
            "labels",
            family,
            gsd=abs(group.grid.resolution.x),
            shape=shape,
            transform=tuple(group.grid.transform)[:6],
            dtype="uint8",
            nodata=NODATA,
            roles=("labels",),
        )
    )


def generate_fusion_task(out: str | Path, size: int = 256, seed: int = 0) -> Path:
    """Write a scene whose classes need several inputs together (see the module doc).

    Args:
        out: Output folder (created; files of the same names are replaced).
        size: Scene side in 10 m pixels, 64 to 1024, a multiple of 8 (so that
            every coarser grid up to 80 m is whole pixels).
        seed: Scene seed (same seed, same files; other seeds lie further east).

    Returns:
        The STAC collection file (``out/stac/collection.json``).

    Raises:
        ConfigError: ``size`` is out of range or not a multiple of 8.
    """
    if not MIN_SIZE <= size <= MAX_SIZE or size % 8:
        raise ConfigError(
            f"fusion task size {size} is not a multiple of 8 in [{MIN_SIZE}, {MAX_SIZE}] "
            "(the whole 2.5 m world is held in memory).",
            fix="use e.g. --size 256 (2.56 km at 10 m).",
        )
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    world = build_world(size, seed)
    coarse, fine = _grid(size, seed, GSD), _grid(size, seed, GSD / FINE)
    dates = [DATE]
    stamp = DATE.strftime("%Y%m%d")
    ten, two = RasterGroup(root, 1, coarse, dates), RasterGroup(root, FINE, fine, dates)
    values: dict[str, npt.NDArray[np.generic]] = {}
    window = (0, 0, size, size)
    reflectance = _block_mean(world.reflectance, FINE)
    for band in S2_WRITTEN:
        ten.band(band, BANDS_BY_NAME[band], f"s2-{stamp}", 0, S2_ENCODING)
        noise = tiled_draw(seed, f"fusion-task.s2.{band}", 0, window, NOISE_TILE)
        reflect = reflectance[S2_COLUMNS[band]] + S2_NOISE * noise
        values[band] = as_uint16(reflect, S2_ENCODING.scale, S2_ENCODING.offset)
    linear = _block_mean(10 ** (world.sigma0_db / 10), FINE)
    for index, band in enumerate(("S1.VV", "S1.VH")):
        ten.band(band, BANDS_BY_NAME[band], f"s1-{stamp}", 0, SAR_DB)
        speckle = tiled_draw(seed, f"fusion-task.s1.{band}", 0, window, NOISE_TILE, "gamma", LOOKS)
        values[band] = to_db(linear[index].astype(np.float32), speckle)
    fine_window = (0, 0, size * FINE, size * FINE)
    for band, center in zip(RGB_WRITTEN, RGB_CENTERS, strict=True):
        two.band(band, BANDS_BY_NAME[band], "rgb", None, RGB_ENCODING)
        at = np.interp(center, SPECTRAL_CENTERS, np.arange(SPECTRAL_CENTERS.size))
        low = int(np.floor(at))
        weight = at - low
        reflect = world.reflectance[low] * (1 - weight) + world.reflectance[low + 1] * weight
        noise = tiled_draw(seed, f"fusion-task.rgb.{band}", 0, fine_window, NOISE_TILE)
        dn = np.rint(reflect / RGB_FULL_SCALE * 255 + RGB_NOISE_DN * noise)
        values[band] = np.clip(dn, 1, 255).astype(np.uint8)
    two.band("DEM.ndsm", BANDS_BY_NAME["DEM.ndsm"], "dem", None, HEIGHT_M)
    noise = tiled_draw(seed, "fusion-task.height", 0, fine_window, NOISE_TILE)
    values["DEM.ndsm"] = (world.height + HEIGHT_NOISE_M * noise).astype(np.float32)
    _label(ten, "landcover", "labels/landcover.tif", "landcover")
    values["landcover"] = majority(world.classes, FINE)
    _label(two, "landcover_fine", "labels/landcover_fine.tif", "landcover_fine")
    values["landcover_fine"] = world.classes
    with rasterio.Env(GDAL_CACHEMAX=64 * MIB, GDAL_TIFF_INTERNAL_MASK=True):
        for group in (ten, two):
            side = int(group.grid.shape[0])
            with BlockWriter(group.specs, root / ".work") as writer:
                for key in group.specs:
                    writer.write(
                        key, Window(0, 0, side, side, abs(group.grid.resolution.x)), values[key]
                    )
    files = [*ten.files, *two.files, _legend(root)]
    title = f"eoforge synthetic fusion task (seed {seed}): each input alone is ambiguous"
    return write_catalog(root, files, coarse, dates, title)
