"""Publishing a raster as a Cloud-Optimized GeoTIFF under its final name only when complete."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import rasterio
import rasterio.shutil

OverviewResampling = Literal["nearest", "average", "mode", "bilinear"]


def write_cog(
    out: Path,
    profile: dict[str, object],
    fill: Callable[[rasterio.io.DatasetWriter], None],
    resampling: OverviewResampling = "average",
    scratch: Path | None = None,
    level: int | None = None,
) -> Path:
    """Create a GeoTIFF under a temporary name, let ``fill`` write it, then publish a COG.

    Nothing appears under ``out`` unless every step succeeded.

    Args:
        out: Final path.
        profile: rasterio creation profile of the intermediate GeoTIFF.
        fill: Writes the data (and tags, colour table) into the open dataset.
        resampling: Overview resampling.
        scratch: Folder for the intermediate files (default: beside ``out``).
        level: DEFLATE level of the COG (None: GDAL's default, 6). Level 1 compresses
            float32 rasters ~40 % faster for ~7 % more bytes.

    Returns:
        ``out``.
    """
    folder = scratch if scratch is not None else out.parent
    tmp = folder / f".{out.name}.{os.getpid()}.partial.tif"
    staged = out.with_name(f".{out.name}.{os.getpid()}.cog.tif")
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            fill(dst)
        # GDAL's COG driver streams block by block (memory bounded for any size) and
        # keeps the colour table, tags, descriptions, scales and nodata.
        extra = {} if level is None else {"LEVEL": level}
        rasterio.shutil.copy(
            str(tmp),
            str(staged),
            driver="COG",
            COMPRESS="DEFLATE",
            PREDICTOR="YES" if profile.get("dtype") == "float32" else "NO",
            BLOCKSIZE=512,
            OVERVIEW_RESAMPLING=resampling.upper(),
            BIGTIFF="IF_SAFER",
            NUM_THREADS="ALL_CPUS",
            **extra,
        )
        staged.replace(out)
    finally:
        tmp.unlink(missing_ok=True)
        staged.unlink(missing_ok=True)
    return out
