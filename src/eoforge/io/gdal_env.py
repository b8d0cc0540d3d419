"""GDAL settings eoforge sets so that users do not have to.

They suit cloud-optimised GeoTIFFs on local disks and object stores: no
directory listing on open, merged HTTP range requests, no sidecar files.
Values already set in the environment win, so users can still override them.
The block cache keeps GDAL's default (5 % of RAM per process): random patch
sampling revisits tiles, and a smaller cache makes every revisit a new
decompression. Set ``GDAL_CACHEMAX`` (MB) to bound it with many workers.
Streaming a scene once, in order, is the exception: there the cache only holds
pixels already used and grows with the scene up to that 5 %, so whole-scene
prediction runs inside :func:`streaming_block_cache`.
"""

from __future__ import annotations

import os
from contextlib import AbstractContextManager, nullcontext

import rasterio
import rasterio.env

GDAL_DEFAULTS: dict[str, str] = {
    # Opening a file must not list its folder (slow on large folders and object stores).
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF,.jp2,.JP2,.vrt,.xml",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MULTIPLEX": "YES",
    "GDAL_HTTP_VERSION": "2",
    "VSI_CACHE": "TRUE",
    "VSI_CACHE_SIZE": "25000000",
    # Sidecar .aux.xml files must not be written next to the user's data.
    "GDAL_PAM_ENABLED": "NO",
}


def apply_gdal_defaults() -> dict[str, str]:
    """Set eoforge's GDAL defaults in this process's environment where unset.

    Returns:
        The settings now in force for the keys eoforge manages.
    """
    for key, value in GDAL_DEFAULTS.items():
        os.environ.setdefault(key, value)
    return {key: os.environ[key] for key in GDAL_DEFAULTS}


MIB = 1 << 20
"""Bytes in a MB: an integer ``GDAL_CACHEMAX`` given to :class:`rasterio.Env` counts bytes."""


STREAMING_CACHE_MB = 128
"""Most GDAL block cache while a scene streams (MB)."""


def streaming_cache_mb(width: int, rows: int, bands: int, floor: int = 16) -> int:
    """GDAL block cache a scene streamed block row after block row needs (MB).

    Tiles are read block by block along a row of blocks, and the next row of blocks
    reads again the input rows its tiles share with the previous one: the cache only
    needs the input that one row of blocks spans (decoded at up to 4 bytes per
    band), twice over for input blocks that straddle two block rows. More holds
    only pixels already used, and is memory that grows with the scene's width up
    to :data:`STREAMING_CACHE_MB`.

    Args:
        width: Input columns the plan spans (pixels).
        rows: Input rows one row of blocks spans, tile margins included (pixels).
        bands: Bands read per input pixel (every date and input counted).
        floor: Least cache (MB).

    Returns:
        Between ``floor`` and :data:`STREAMING_CACHE_MB`.
    """
    need = 2 * width * rows * bands * 4
    return max(floor, min(STREAMING_CACHE_MB, -(-need // MIB)))


def streaming_block_cache(megabytes: int = STREAMING_CACHE_MB) -> AbstractContextManager[object]:
    """Bound GDAL's block cache while a scene is read once, tile after tile.

    GDAL keeps decoded blocks up to ``GDAL_CACHEMAX`` (default 5 % of RAM, e.g.
    1.2 GB of 24 GB), so a run that streams a 20,000² scene would otherwise hold
    more memory the larger the scene. The limit is process-wide while the context
    is open (reads from other threads see it too) and restored on exit. A limit the
    user chose wins: with ``GDAL_CACHEMAX`` in the environment or in an open
    ``rasterio.Env`` this changes nothing.

    Args:
        megabytes: Block cache while the context is open, MB.

    Returns:
        A context manager.
    """
    if "GDAL_CACHEMAX" in os.environ:
        return nullcontext()
    if rasterio.env.hasenv() and "GDAL_CACHEMAX" in rasterio.env.getenv():
        return nullcontext()
    # rasterio hands an integer straight to GDALSetCacheMax64, which counts bytes (only
    # the environment variable's small numbers mean MB): 128 would be a 128-byte cache,
    # which re-decodes every block each time it is touched
    env: AbstractContextManager[object] = rasterio.Env(GDAL_CACHEMAX=megabytes * MIB)
    return env
