"""Raster and vector I/O: named-band sources, the grid reader, the handle cache.

``read(sources, grid, bands)`` is the reader contract of docs/architecture.md; see
:mod:`eoforge.io.reader`.
"""

from eoforge.io.handles import HANDLES, FileInfo, FileStamp, HandleCache, file_info, file_stamp
from eoforge.io.products import open_sources
from eoforge.io.reader import as_sources, read
from eoforge.io.source import BandAsset, RasterSource, source_from_file
from eoforge.io.vector import (
    boxes_in_pixels,
    rasterize_labels,
    read_vector,
    to_grid_crs,
    write_vector,
)

__all__ = [
    "HANDLES",
    "BandAsset",
    "FileInfo",
    "FileStamp",
    "HandleCache",
    "RasterSource",
    "as_sources",
    "boxes_in_pixels",
    "file_info",
    "file_stamp",
    "open_sources",
    "rasterize_labels",
    "read",
    "read_vector",
    "source_from_file",
    "to_grid_crs",
    "write_vector",
]
