"""GDAL settings eoforge sets so that users do not have to.

They suit cloud-optimised GeoTIFFs on local disks and object stores: no
directory listing on open, merged HTTP range requests, no sidecar files.
Values already set in the environment win, so users can still override them.
The block cache keeps GDAL's default (5 % of RAM per process): random patch
sampling revisits tiles, and a smaller cache makes every revisit a new
decompression. Set ``GDAL_CACHEMAX`` (MB) to bound it with many workers.
"""

from __future__ import annotations

import os

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
