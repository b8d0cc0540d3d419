"""Publishing a raster as a Cloud-Optimized GeoTIFF under its final name only when complete."""

from __future__ import annotations

import os
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Literal

import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.errors import RasterioError

OverviewResampling = Literal["nearest", "average", "mode", "bilinear"]
Codec = Literal["DEFLATE", "ZSTD"]

COG_BLOCK = 512
"""Tile side of the published COGs (pixels); overviews are halved until they fit one."""

OVERVIEW_SCRATCH_COMPRESSION = "NONE"
"""Compression of the overviews GDAL's COG driver computes into a scratch file first.

GDAL's default there is ZSTD at its default level 9 (LZW without ZSTD): compressed
once, read back once and compressed again into the COG. Uncompressed it costs disk
(a third of the output's uncompressed bytes, beside the output while it is written)
instead of CPU: bench_sr's 3,072² 4-band float32 x4 output, COG translate 1.10 ->
0.84 CPU-s (same COG bytes). Set through the driver's ``COG_TMP_COMPRESSION``
configuration option (GDAL >= 3.1; a GDAL without it keeps its default).
"""

PIECE_READS: dict[str, str] = {"VSI_CACHE": "FALSE"}
"""GDAL settings while a COG is copied from local files read once (e.g. a VRT of pieces).

eoforge turns on GDAL's per-file read cache for object stores (``VSI_CACHE``, up to
25 MB per open file: :data:`~eoforge.io.gdal_env.GDAL_DEFAULTS`). A mosaic of many
pieces keeps up to 100 of them open, each caching what was read, so publishing held
memory that grew with the output (bench_sr's 2,048² -> 8,192² x4 one-band output:
+377 MB during the copy with it, +56 MB without; the cap would be ~2.5 GB). Local
pieces read in order gain nothing from it.
"""


def write_cog(
    out: Path,
    profile: dict[str, object],
    fill: Callable[[rasterio.io.DatasetWriter], None],
    resampling: OverviewResampling = "average",
    scratch: Path | None = None,
    level: int | None = None,
    codec: Codec = "DEFLATE",
) -> Path:
    """Create a GeoTIFF under a temporary name, let ``fill`` write it, then publish a COG.

    Nothing appears under ``out`` unless every step succeeded.

    Args:
        out: Final path.
        profile: rasterio creation profile of the intermediate GeoTIFF.
        fill: Writes the data (and tags, colour table) into the open dataset.
        resampling: Overview resampling.
        scratch: Folder for the intermediate files (default: beside ``out``).
        level: Compression level of the COG (None: GDAL's default, 6 for DEFLATE, 9 for
            ZSTD). DEFLATE level 1 compresses float32 rasters ~40 % faster for ~7 % more
            bytes.
        codec: ``DEFLATE`` (every GeoTIFF reader) or ``ZSTD`` (GDAL >= 2.3 built with
            zstd, QGIS, rasterio; about half DEFLATE level 1's CPU at level 1, as small
            on float32 with the floating-point predictor). Check
            :func:`has_zstd` before asking for ZSTD.

    Returns:
        ``out``.
    """
    folder = scratch if scratch is not None else out.parent
    tmp = folder / f".{out.name}.{os.getpid()}.partial.tif"
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            fill(dst)
        copy_cog(
            tmp,
            out,
            floating=profile.get("dtype") == "float32",
            resampling=resampling,
            level=level,
            codec=codec,
        )
    finally:
        tmp.unlink(missing_ok=True)
    return out


def copy_cog(
    source: Path,
    out: Path,
    *,
    floating: bool,
    resampling: OverviewResampling = "average",
    level: int | None = None,
    codec: Codec = "DEFLATE",
) -> Path:
    """Publish any raster GDAL reads (a GeoTIFF, a VRT mosaic) as a COG at ``out``.

    The COG is written beside ``out`` under a temporary name and renamed into place
    when complete. Colour table, tags, descriptions, scales and nodata are kept.

    Args:
        source: The raster to copy.
        out: Final path.
        floating: Floating-point data (the COG's predictor is then the floating-point one).
        resampling: Overview resampling.
        level: Compression level (see :func:`write_cog`).
        codec: ``DEFLATE`` or ``ZSTD`` (see :func:`write_cog`).

    Returns:
        ``out``.
    """
    staged = out.with_name(f".{out.name}.{os.getpid()}.cog.tif")
    try:
        # GDAL's COG driver streams block by block (memory bounded for any size) and
        # keeps the colour table, tags, descriptions, scales and nodata.
        extra: dict[str, object] = {} if level is None else {"LEVEL": level}
        with rasterio.Env(COG_TMP_COMPRESSION=OVERVIEW_SCRATCH_COMPRESSION, **PIECE_READS):
            rasterio.shutil.copy(
                str(source),
                str(staged),
                driver="COG",
                COMPRESS=codec,
                PREDICTOR="YES" if floating else "NO",
                BLOCKSIZE=COG_BLOCK,
                OVERVIEW_RESAMPLING=resampling.upper(),
                BIGTIFF="IF_SAFER",
                NUM_THREADS="ALL_CPUS",
                **extra,
            )
        staged.replace(out)
    finally:
        staged.unlink(missing_ok=True)
    return out


@cache
def has_zstd() -> bool:
    """Whether this GDAL writes ZSTD-compressed GeoTIFFs (probed once, in memory)."""
    probe = "/vsimem/eoforge_zstd_probe.tif"
    profile = {"driver": "GTiff", "width": 1, "height": 1, "count": 1, "dtype": "uint8"}
    profile |= {"crs": "EPSG:4326", "transform": Affine(0.5, 0, 10, 0, -0.5, 50)}
    try:
        with rasterio.open(probe, "w", **profile, compress="zstd"):
            pass
    except RasterioError:  # a GDAL built without ZSTD cannot create the file
        return False
    rasterio.shutil.delete(probe)
    return True
