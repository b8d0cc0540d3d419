"""A synthetic imaging-spectrometer granule with methane plumes of known enhancement.

The ground is synth's world (:func:`~eoforge.synth.world.landcover.design` and
:func:`~eoforge.synth.world.landcover.ground`) and its surface reflectance
(:func:`~eoforge.synth.render.reflectance.surface`, the class spectra interpolated
at every band centre; beyond 2,202 nm, the last tabulated centre, each spectrum is
held flat). It is seen by an imaging spectrometer through
:mod:`eoforge.synth.render.hyperspectral` (sun, simple atmosphere, CH4 Beer–Lambert,
per-column gains, noise) with plumes from :mod:`eoforge.synth.world.plumes`.

Written into the output folder:

* ``radiance.tif``: COG, float32 at-sensor radiance (µW cm⁻² sr⁻¹ nm⁻¹), one band per
  spectrometer channel; each band carries ``wavelength`` and ``fwhm`` tags (nm) and the
  description ``"<centre> nm"``; the dataset tags say ``quantity=radiance``, the units,
  ``wavelength_units=nm``, the sensor and the sun and view zenith angles. Columns are
  the detector's cross-track elements (the grid is north-up, flight to the north).
* ``enhancement.tif``: COG, float32 true CH4 enhancement, ppm·m.
* ``plumes.parquet`` (scene CRS) and ``plumes.geojson`` (WGS84): one outline per plume
  where its own enhancement is at least :data:`OUTLINE_PPM_M`, with id, shape, width,
  peak, direction, area and integrated mass enhancement (IME, kg).
* ``hyperspectral.json``: the options and the plumes.

The same options give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import rasterio
import rasterio.errors
import rasterio.features
from affine import Affine
from odc.geo.geobox import GeoBox
from rasterio.shutil import copy as rio_copy
from shapely.geometry import shape
from shapely.ops import unary_union

from eoforge.errors import ConfigError
from eoforge.methane.absorption import air_mass_factor, unit_absorption
from eoforge.sensors import get_sensor
from eoforge.synth.render.hyperspectral import (
    COLUMN_GAIN_SD,
    at_sensor,
    radiance_factor,
    sensor_response,
)
from eoforge.synth.render.reflectance import surface
from eoforge.synth.world.landcover import design, ground
from eoforge.synth.world.plumes import Plume, draw_plumes, enhancement

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

OUTLINE_PPM_M = 200.0
"""A plume's outline: where its own enhancement reaches this value, ppm·m."""

CH4_KG_PER_M2_PER_PPM_M = 6.78e-7
"""Mass of one ppm·m of CH4 per square metre (pure CH4 at 15 °C, 1 atm: 0.678 kg m⁻³ × 1e-6 m)."""

CRS = "EPSG:32631"
ORIGIN = (500_000.0, 4_600_000.0)
STRIP_ROWS = 32

RADIANCE_UNITS = "uW cm-2 sr-1 nm-1"


@dataclass(frozen=True)
class HyperspectralOptions:
    """What :func:`generate_hyperspectral` renders.

    Attributes:
        height: Rows (along-track lines).
        width: Columns (cross-track detector elements).
        seed: Random seed.
        sensor: Registry sensor whose spectral grid is used (``EMIT``, ``ENMAP``,
            ``PRISMA``); ignored when ``bands`` is set.
        bands: A generic spectrometer instead: this many channels evenly spaced over
            400–2,500 nm, FWHM 1.2 × the spacing.
        gsd: Pixel size, metres.
        plumes: Number of plumes.
        snr: Signal-to-noise ratio at a 25 % reflector.
        sun_zenith: Solar zenith, degrees.
        view_zenith: View zenith, degrees.
        doy: Day of year (season of the vegetation).
    """

    height: int = 256
    width: int = 256
    seed: int = 0
    sensor: str = "EMIT"
    bands: int | None = None
    gsd: float = 30.0
    plumes: int = 6
    snr: float = 400.0
    sun_zenith: float = 35.0
    view_zenith: float = 0.0
    doy: float = 180.0

    def __post_init__(self) -> None:
        if min(self.height, self.width) < 16:
            raise ConfigError(
                f"a {self.height} x {self.width} px granule is too small.",
                fix="use at least 16 x 16 px.",
            )
        if self.bands is not None and not 20 <= self.bands <= 1000:
            raise ConfigError(f"bands={self.bands}.", fix="use 20 to 1000 channels.")
        if self.snr <= 0 or self.gsd <= 0 or self.plumes < 0:
            raise ConfigError(
                "snr and gsd must be positive and plumes not negative.", fix="check the options."
            )


def spectral_grid(options: HyperspectralOptions) -> tuple[F64, F64]:
    """Band centres and FWHMs (nm) of the options' spectrometer.

    Raises:
        ConfigError: The sensor has no spectral grid in the registry.
    """
    if options.bands is not None:
        centers = np.linspace(400.0, 2500.0, options.bands)
        fwhm = np.full(options.bands, 1.2 * (centers[1] - centers[0]))
        return centers, fwhm
    sensor = get_sensor(options.sensor)
    bands = [b for b in sensor.bands if b.center_wavelength_nm is not None]
    if len(bands) < 50:
        raise ConfigError(
            f"sensor {sensor.name} has {len(bands)} spectral bands, not an imaging spectrometer.",
            fix="use EMIT, ENMAP or PRISMA, or give a channel count (--bands N).",
        )
    centers = np.array([float(b.center_wavelength_nm or 0.0) for b in bands])
    fwhm = np.array([float(b.bandwidth_nm or 0.0) for b in bands])
    return centers, fwhm


def scene_grid(options: HyperspectralOptions) -> GeoBox:
    """The granule's north-up grid (each seed in its own place)."""
    east = options.seed * (options.width * options.gsd + 1000.0)
    transform = Affine(options.gsd, 0.0, ORIGIN[0] + east, 0.0, -options.gsd, ORIGIN[1])
    return GeoBox((options.height, options.width), transform, CRS)


def generate_hyperspectral(out: str | Path, options: HyperspectralOptions) -> dict[str, Path]:
    """Render a radiance granule with plumes and its truth into folder ``out``.

    Args:
        out: Output folder (created).
        options: What to render.

    Returns:
        ``radiance``, ``enhancement``, ``plumes`` (GeoParquet), ``plumes_geojson`` and
        ``manifest`` → the files written.
    """
    centers, fwhm = spectral_grid(options)  # checked before anything is written
    grid = scene_grid(options)
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)
    air_mass = air_mass_factor(options.sun_zenith, options.view_zenith)
    absorption = unit_absorption(centers, fwhm)
    factor = radiance_factor(centers, fwhm, options.sun_zenith, air_mass)
    plumes = draw_plumes(options.plumes, options.height, options.width, options.seed)
    layout = design(
        options.seed, options.width * options.gsd, options.height * options.gsd, options.gsd
    )
    rng = np.random.default_rng([options.seed, 0x5EED])
    gains = (1.0 + COLUMN_GAIN_SD * rng.standard_normal((centers.size, options.width))).astype(
        np.float32
    )
    x: F64 = ((np.arange(options.width) + 0.5) * options.gsd)[None, :].astype(np.float64)

    def fill(dst: rasterio.io.DatasetWriter) -> None:
        for row0 in range(0, options.height, STRIP_ROWS):
            row1 = min(options.height, row0 + STRIP_ROWS)
            y: F64 = ((np.arange(row0, row1) + 0.5) * options.gsd)[:, None].astype(np.float64)
            refl = surface(ground(layout, x, y), centers / 1000.0, options.doy, x, y, options.seed)
            plume = enhancement(plumes, row0, row1, options.width)
            radiance = at_sensor(refl, plume, factor, absorption, air_mass)
            noisy = sensor_response(
                radiance,
                gains,
                0.25 * factor,
                options.snr,
                np.random.default_rng([options.seed, row0]),
            )
            window = rasterio.windows.Window(0, row0, options.width, row1 - row0)
            dst.write(noisy.astype(np.float32), window=window)
        _describe(dst, centers, fwhm, options)

    radiance_path = _write_cog(root / "radiance.tif", grid, centers.size, fill)
    truth = enhancement(plumes, 0, options.height, options.width)

    def fill_truth(dst: rasterio.io.DatasetWriter) -> None:
        dst.write(truth[None])
        dst.set_band_description(1, "CH4 enhancement (ppm m)")
        dst.update_tags(units="ppm m", quantity="ch4_enhancement")

    truth_path = _write_cog(root / "enhancement.tif", grid, 1, fill_truth)
    frame = plume_outlines(plumes, grid, options.gsd)
    parquet = root / "plumes.parquet"
    frame.to_parquet(parquet, index=False)
    geojson = root / "plumes.geojson"
    geojson.unlink(missing_ok=True)
    frame.to_crs("EPSG:4326").to_file(geojson, driver="GeoJSON", engine="pyogrio")
    manifest = root / "hyperspectral.json"
    manifest.write_text(
        json.dumps(
            {
                "options": asdict(options),
                "air_mass_factor": air_mass,
                "outline_ppm_m": OUTLINE_PPM_M,
                "plumes": [asdict(p) for p in plumes],
            },
            indent=2,
        )
    )
    return {
        "radiance": radiance_path,
        "enhancement": truth_path,
        "plumes": parquet,
        "plumes_geojson": geojson,
        "manifest": manifest,
    }


def plume_outlines(plumes: list[Plume], grid: GeoBox, gsd: float) -> gpd.GeoDataFrame:
    """One outline per plume (its own enhancement ≥ :data:`OUTLINE_PPM_M`), scene CRS."""
    height, width = grid.shape.y, grid.shape.x
    rows = (np.arange(height, dtype=np.float32) + 0.5)[:, None]
    cols = (np.arange(width, dtype=np.float32) + 0.5)[None, :]
    records = []
    for plume in plumes:
        values = plume.render(rows, cols)
        inside = values >= OUTLINE_PPM_M
        if not inside.any():
            continue
        parts = [
            shape(geom)
            for geom, _ in rasterio.features.shapes(
                inside.astype(np.uint8), mask=inside, transform=grid.affine
            )
        ]
        records.append(
            {
                "plume_id": plume.plume_id,
                "shape": plume.shape,
                "sigma_px": plume.sigma_px,
                "peak_ppm_m": round(plume.peak_ppm_m, 1),
                "direction_deg": round(plume.direction_deg, 1),
                "pixels": int(inside.sum()),
                "area_m2": float(inside.sum()) * gsd * gsd,
                "ime_kg": float(values[inside].sum(dtype=np.float64))
                * gsd
                * gsd
                * CH4_KG_PER_M2_PER_PPM_M,
                "geometry": unary_union(parts),
            }
        )
    columns = ["plume_id", "shape", "sigma_px", "peak_ppm_m", "direction_deg", "pixels"]
    if not records:
        return gpd.GeoDataFrame(
            {c: [] for c in [*columns, "area_m2", "ime_kg"]}, geometry=[], crs=CRS
        )
    return gpd.GeoDataFrame(records, geometry="geometry", crs=CRS)


def _write_cog(
    path: Path, grid: GeoBox, count: int, fill: Callable[[rasterio.io.DatasetWriter], None]
) -> Path:
    """A float32 COG at ``path``: a temporary tiled GeoTIFF filled by ``fill``, translated."""
    tmp = path.with_name(f".{path.name}.tmp.tif")
    try:
        with rasterio.open(tmp, "w", **_profile(grid, count)) as dst:
            fill(dst)
        _translate(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def _translate(source: Path, path: Path) -> None:
    """Translate a float32 GeoTIFF into a COG at ``path`` (temporary name, then rename).

    ZSTD level 1: noisy radiance compresses little, and DEFLATE takes ~35 % more CPU
    for the same size; DEFLATE where GDAL lacks ZSTD.
    """
    partial = path.with_name(f".{path.name}.partial")
    common = {"BLOCKSIZE": 256, "PREDICTOR": "YES", "BIGTIFF": "IF_SAFER", "NUM_THREADS": "1"}
    try:
        rio_copy(str(source), str(partial), driver="COG", COMPRESS="ZSTD", LEVEL=1, **common)
    except rasterio.errors.RasterioError:
        rio_copy(str(source), str(partial), driver="COG", COMPRESS="DEFLATE", **common)
    partial.replace(path)


def _profile(grid: GeoBox, count: int) -> dict[str, object]:
    return {
        "driver": "GTiff",
        "dtype": "float32",
        "count": count,
        "height": grid.shape.y,
        "width": grid.shape.x,
        "crs": grid.crs.to_wkt() if grid.crs is not None else None,
        "transform": grid.affine,
        "nodata": float("nan"),
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "interleave": "pixel",
    }


def _describe(
    dst: rasterio.io.DatasetWriter, centers: F64, fwhm: F64, options: HyperspectralOptions
) -> None:
    for i, (center, width) in enumerate(zip(centers, fwhm, strict=True), start=1):
        dst.set_band_description(i, f"{center:.2f} nm")
        dst.update_tags(i, wavelength=f"{center:.3f}", fwhm=f"{width:.3f}")
    dst.update_tags(
        quantity="radiance",
        units=RADIANCE_UNITS,
        wavelength_units="nm",
        sensor="generic" if options.bands is not None else options.sensor.upper(),
        sun_zenith=f"{options.sun_zenith:g}",
        view_zenith=f"{options.view_zenith:g}",
        acquisition=f"synthetic, seed {options.seed}, gsd {options.gsd:g} m",
        columns="cross-track detector elements",
    )
