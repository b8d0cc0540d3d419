"""Tiny GeoTIFFs for the data tests, written with rasterio into a temporary folder.

Helpers are fixtures (not an importable module) so the tests run whatever
the import mode.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.transform import from_origin

from eoforge.io.source import RasterSource, source_from_file

UTM31 = "EPSG:32631"
# Near the zone 31/32 boundary (about 5.9 E, 45.1 N) so both UTM zones describe the area well.
ORIGIN_31 = (730_000.0, 5_000_000.0)

TifWriter = Callable[..., Path]


@pytest.fixture()
def tif(tmp_path: Path) -> TifWriter:
    """``tif(name, data, transform, crs, nodata=None)`` writes ``data`` ``[C,H,W]`` or ``[H,W]``."""

    def write(
        name: str, data: np.ndarray, transform: Affine, crs: str, nodata: float | None = None
    ) -> Path:
        arr = data[None] if data.ndim == 2 else data
        path = tmp_path / name
        profile = {"driver": "GTiff", "height": arr.shape[1], "width": arr.shape[2]}
        with rasterio.open(
            path,
            "w",
            **profile,
            count=arr.shape[0],
            dtype=arr.dtype,
            crs=crs,
            transform=transform,
            nodata=nodata,
        ) as dst:
            dst.write(arr)
        return path

    return write


@pytest.fixture()
def rowcol_source(tif: TifWriter) -> RasterSource:
    """2 bands, 64 x 96 px at 10 m in UTM 31N: band S2.B02 = row, band S2.B03 = column."""
    rows, cols = np.indices((64, 96), dtype=np.float32)
    transform = from_origin(*ORIGIN_31, 10, 10)
    path = tif("rowcol.tif", np.stack([rows, cols]), transform, UTM31)
    return source_from_file(path, bands=["S2.B02", "S2.B03"])
