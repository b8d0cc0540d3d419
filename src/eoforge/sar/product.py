"""Calibrate a Sentinel-1 GRD product (SAFE folder) into backscatter COGs.

For each polarisation of the product, :func:`calibrate_product`:

1. reads the measurement's digital numbers in blocks of rows and converts
   them with the product's LUTs (:mod:`eoforge.sar.calibration`): sigma0,
   beta0 or gamma0 (ellipsoid), optionally denoised, linear power;
2. keeps them in the radar geometry with the measurement's ground control
   points, or (default) geocodes them onto a map grid (UTM zone of the scene
   centre at 10 m unless told) by GDAL's warper driven by those GCPs
   (bilinear, in linear power). The GCPs sit on the ellipsoid: relief
   displaces pixels (foreshortening, layover) and is not corrected; a DEM-based
   terrain correction (and terrain-flattened gamma0) is not done here;
3. optionally converts to dB (after resampling, so averaging happens in power);
4. writes ``<product>_<POL>.tif`` (float32 COG, band described as ``S1.<POL>``,
   linear nodata 0, dB nodata NaN; tags say the quantity, unit and
   denoising) under a temporary name, renamed when complete; an existing
   output is kept (a rerun resumes where a crash stopped).

The outputs are what eoforge's readers take as Sentinel-1 bands
(``S1.VV``/``S1.VH``): a measurement's raw digital numbers are refused with a
pointer to this conversion (:func:`eoforge.io.source.source_from_file`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject
from rasterio.windows import Window

from eoforge.errors import ConfigError, MetadataError, NotGeoreferencedError, RadiometryError
from eoforge.sar.calibration import (
    QUANTITIES,
    Calibration,
    Noise,
    Quantity,
    calibrate_block,
    parse_calibration,
    parse_noise,
)
from eoforge.sensors.sentinel1 import MeasurementName, measurement_name

Progress = Callable[[int, int], None]
"""Called with (rows done, rows in all) as blocks finish."""


@dataclass(frozen=True)
class Measurement:
    """One polarisation of a product, with its annotation files.

    Attributes:
        name: What the measurement file's name says (path, polarisation...).
        product: Product identifier (the SAFE folder's name without ``.SAFE``).
        calibration: Its calibration LUTs.
        noise: Its noise LUTs, or None when not denoising.
    """

    name: MeasurementName
    product: str
    calibration: Calibration
    noise: Noise | None


def find_measurements(
    path: str | PathLike[str], polarisations: Sequence[str] | None = None, denoise: bool = True
) -> list[Measurement]:
    """The measurements of a SAFE folder (or one measurement file) with their LUTs.

    Args:
        path: A ``*.SAFE`` folder, its ``manifest.safe``, or a ``measurement/*.tiff``.
        polarisations: Keep these (``VV``, ``VH``...); None: all.
        denoise: Also load the noise LUTs.

    Raises:
        MetadataError: No measurement, an SLC product, or unreadable annotations.
        ConfigError: None of the polarisations asked for.
        RadiometryError: A measurement's calibration (or, denoising, noise) file is missing.
    """
    given = Path(path)
    folder = given.parent if given.name.lower() == "manifest.safe" else given
    files = sorted((folder / "measurement").glob("*.tif*")) if folder.is_dir() else [given]
    names = [n for n in (measurement_name(f) for f in files) if n is not None]
    if not names:
        raise MetadataError(
            "no Sentinel-1 measurement found (expected measurement/s1?-*-grd-<pol>-*.tiff).",
            path=str(given),
            fix="give the unzipped .SAFE folder of a Level-1 GRD product.",
        )
    wanted = {p.upper() for p in polarisations} if polarisations else None
    out = []
    for name in names:
        if wanted is not None and name.polarisation not in wanted:
            continue
        if name.kind != "GRD":
            raise MetadataError(
                "a Single Look Complex (SLC) measurement: its bursts must be debursted and "
                "multi-looked before calibration, which eoforge does not do.",
                path=str(name.path),
                fix="use the GRD product of the same acquisition (or ESA SNAP for SLC).",
            )
        for needed, what in [(name.calibration, "calibration"), (name.noise, "noise")]:
            if what == "noise" and not denoise:
                continue
            if not needed.is_file():
                raise RadiometryError(
                    f"the measurement holds digital numbers and its {what} annotation is "
                    f"missing: {needed}.",
                    path=str(name.path),
                    fix="give the whole unzipped .SAFE folder as ESA delivers it"
                    + (" (or --no-denoise to skip the noise LUTs)." if what == "noise" else "."),
                )
        product = name.path.parent.parent.name
        product = product[: -len(".SAFE")] if product.upper().endswith(".SAFE") else name.path.stem
        out.append(
            Measurement(
                name,
                product,
                parse_calibration(name.calibration),
                parse_noise(name.noise) if denoise else None,
            )
        )
    if not out:
        raise ConfigError(
            f"no measurement with polarisation {sorted(wanted or [])}; the product has "
            f"{sorted({n.polarisation for n in names})}.",
            path=str(given),
            fix="ask for one of the product's polarisations.",
        )
    return out


def _utm(lon: float, lat: float) -> CRS:
    zone = math.floor((lon + 180.0) / 6.0) % 60 + 1
    return CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)


def _partial(path: Path) -> Path:
    return path.with_name(f".{path.name}.partial")


def _radar(
    item: Measurement, quantity: Quantity, dst: Path, block_rows: int, progress: Progress | None
) -> None:
    """Calibrated linear values in the radar geometry, GCPs kept, as a tiled GeoTIFF."""
    with rasterio.open(item.name.path) as src:
        gcps, gcp_crs = src.gcps
        if not gcps and src.transform.is_identity:
            raise NotGeoreferencedError(
                "the measurement has neither ground control points nor a geotransform.",
                path=str(item.name.path),
                fix="use the product's original measurement files.",
            )
        profile = {
            "driver": "GTiff",
            "width": src.width,
            "height": src.height,
            "count": 1,
            "dtype": "float32",
            "nodata": 0.0,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
        }
        if not gcps:
            profile.update(crs=src.crs, transform=src.transform)
        cols = np.arange(src.width, dtype=np.float64)
        with rasterio.open(dst, "w", **profile) as out:
            if gcps:
                out.gcps = (gcps, gcp_crs)
            for row in range(0, src.height, block_rows):
                height = min(block_rows, src.height - row)
                window = Window(0, row, src.width, height)
                dn = src.read(1, window=window)
                rows = np.arange(row, row + height, dtype=np.float64)
                a = item.calibration.block(quantity, rows, cols)
                noise = None if item.noise is None else item.noise.block(rows, cols)
                out.write(calibrate_block(dn, a, noise), 1, window=window)
                if progress is not None:
                    progress(row + height, src.height)


def _geocoded_grid(
    radar: rasterio.io.DatasetReader, crs: CRS | None, resolution: float
) -> tuple[CRS, rasterio.Affine, int, int]:
    gcps, gcp_crs = radar.gcps
    if not gcps:  # already on a map grid
        dst_crs = crs or radar.crs
    else:
        lon = float(np.mean([g.x for g in gcps]))
        lat = float(np.mean([g.y for g in gcps]))
        dst_crs = crs or _utm(lon, lat)
    transform, width, height = calculate_default_transform(
        gcp_crs if gcps else radar.crs,
        dst_crs,
        radar.width,
        radar.height,
        gcps=gcps or None,
        left=None if gcps else radar.bounds.left,
        bottom=None if gcps else radar.bounds.bottom,
        right=None if gcps else radar.bounds.right,
        top=None if gcps else radar.bounds.top,
        resolution=resolution,
    )
    return dst_crs, transform, int(width), int(height)


def _geocode(radar: Path, dst: Path, crs: CRS | None, resolution: float) -> None:
    """Warp the radar-geometry raster onto a map grid by its GCPs (GDAL warps in chunks)."""
    with rasterio.open(radar) as src:
        dst_crs, transform, width, height = _geocoded_grid(src, crs, resolution)
        gcps, gcp_crs = src.gcps
        profile = {
            "driver": "GTiff",
            "width": width,
            "height": height,
            "count": 1,
            "dtype": "float32",
            "nodata": 0.0,
            "crs": dst_crs,
            "transform": transform,
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
        }
        with rasterio.open(dst, "w", **profile) as out:
            reproject(
                rasterio.band(src, 1),
                rasterio.band(out, 1),
                src_crs=gcp_crs if gcps else src.crs,
                gcps=gcps or None,
                src_transform=None if gcps else src.transform,
                src_nodata=0.0,
                dst_transform=transform,
                dst_crs=dst_crs,
                dst_nodata=0.0,
                resampling=Resampling.bilinear,
                warp_mem_limit=256,
            )


def _to_db(path: Path, block_rows: int) -> None:
    """Linear power to dB in place (0 and below become NaN: nodata)."""
    with rasterio.open(path, "r+") as ds:
        ds.nodata = float("nan")
        for row in range(0, ds.height, block_rows):
            window = Window(0, row, ds.width, min(block_rows, ds.height - row))
            value = ds.read(1, window=window).astype(np.float64)
            with np.errstate(divide="ignore", invalid="ignore"):
                db = np.where(value > 0, 10.0 * np.log10(value), np.nan)
            ds.write(db.astype(np.float32), 1, window=window)


def calibrate_product(
    path: str | PathLike[str],
    out_dir: str | PathLike[str],
    *,
    quantity: Quantity = "sigma0",
    denoise: bool = True,
    db: bool = False,
    geocode: bool = True,
    crs: str | None = None,
    resolution: float = 10.0,
    polarisations: Sequence[str] | None = None,
    block_rows: int = 256,
    progress: Progress | None = None,
) -> list[Path]:
    """Calibrated backscatter COGs of a GRD product, one per polarisation.

    Args:
        path: The ``.SAFE`` folder (or its manifest, or one measurement file).
        out_dir: Output folder (created).
        quantity: ``sigma0``, ``beta0`` or ``gamma0`` (ellipsoid).
        denoise: Subtract the thermal noise power first.
        db: Write 10 log10 of the linear value (NaN nodata) instead of linear (0 nodata).
        geocode: Warp onto a map grid (else radar geometry with the GCPs).
        crs: Target CRS (e.g. ``EPSG:32631``); None: UTM zone of the scene centre.
        resolution: Target pixel size in CRS units (metres for UTM).
        polarisations: Only these; None: all of the product's.
        block_rows: Rows calibrated at a time (memory: ~40 bytes x width x rows: ~260 MB
            for a 25,000-px-wide IW GRD at the default).
        progress: Called with (rows done, rows) per polarisation's radar pass.

    Returns:
        The written (or already present) COGs, ``<product>_<POL>.tif``.

    Raises:
        ConfigError: An unknown quantity or a bad target CRS.
        MetadataError, RadiometryError, NotGeoreferencedError: See :func:`find_measurements`.
    """
    if quantity not in QUANTITIES:
        raise ConfigError(
            f"unknown backscatter quantity {quantity!r}.",
            path=str(path),
            fix=f"use one of {', '.join(QUANTITIES)}.",
        )
    target_crs = None
    if crs is not None:
        try:
            target_crs = CRS.from_user_input(crs)
        except (rasterio.errors.CRSError, ValueError) as exc:
            raise ConfigError(
                f"cannot use {crs!r} as a CRS: {exc}.",
                path=str(path),
                fix="give an EPSG code such as EPSG:32631.",
            ) from exc
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for item in find_measurements(path, polarisations, denoise):
        final = out / f"{item.product}_{item.name.polarisation}.tif"
        written.append(final)
        if final.exists():
            continue
        radar = _partial(out / f"{item.product}_{item.name.polarisation}_radar.tif")
        warped = _partial(out / f"{item.product}_{item.name.polarisation}_warped.tif")
        partial = _partial(final)
        try:
            _radar(item, quantity, radar, block_rows, progress)
            source = radar
            if geocode:
                _geocode(radar, warped, target_crs, resolution)
                source = warped
            if db:
                _to_db(source, block_rows)
            with rasterio.open(source, "r+") as ds:
                ds.set_band_description(1, f"S1.{item.name.polarisation}")
                ds.set_band_unit(1, "dB" if db else "linear")
                ds.update_tags(
                    EOFORGE_SAR_QUANTITY=quantity,
                    EOFORGE_SAR_UNIT="dB" if db else "linear",
                    EOFORGE_SAR_DENOISED=str(denoise),
                    EOFORGE_SAR_PRODUCT=item.product,
                    EOFORGE_SAR_GEOCODED="ellipsoid GCPs" if geocode else "no (radar geometry)",
                )
            rasterio.shutil.copy(
                source, partial, driver="COG", compress="ZSTD", predictor=3, blocksize=512
            )
            partial.replace(final)
        finally:
            for temp in (radar, warped, partial):
                temp.unlink(missing_ok=True)
    return written
