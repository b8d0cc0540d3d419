"""Small raster writers shared by tests (real GeoTIFFs through rasterio)."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from affine import Affine

from eoforge.cli.main import main


def write_tif(
    path: Path,
    data: np.ndarray,
    transform: Affine | Sequence[float],
    crs: Any,
    *,
    nodata: float | None = None,
    descriptions: Sequence[str] | None = None,
    tiled: bool = True,
    **profile: Any,
) -> Path:
    """Write ``data`` ``[C,H,W]`` (or ``[H,W]``) as a GeoTIFF and return its path."""
    arr = data[None] if data.ndim == 2 else data
    aff = transform if isinstance(transform, Affine) else Affine(*transform)
    opts: dict[str, Any] = {
        "driver": "GTiff",
        "height": arr.shape[1],
        "width": arr.shape[2],
        "count": arr.shape[0],
        "dtype": arr.dtype,
        "crs": crs,
        "transform": aff,
        "nodata": nodata,
    }
    if tiled and arr.shape[1] >= 16 and arr.shape[2] >= 16:
        opts.update(
            tiled=True,
            blockxsize=16 * max(1, min(arr.shape[2] // 16, 16)),
            blockysize=16 * max(1, min(arr.shape[1] // 16, 16)),
        )
    opts.update(profile)
    with rasterio.open(path, "w", **opts) as dst:
        dst.write(arr)
        if descriptions:
            for i, d in enumerate(descriptions, start=1):
                dst.set_band_description(i, d)
    return path


def coord_image(height: int, width: int, bands: int = 3) -> np.ndarray:
    """uint16 ``[bands,H,W]`` whose value encodes band, row and column: b*10000 + r*100 + c."""
    b, r, c = np.meshgrid(np.arange(bands), np.arange(height), np.arange(width), indexing="ij")
    return (b * 10000 + r * 100 + c).astype(np.uint16)


def run_cli(args: list[str], monkeypatch: pytest.MonkeyPatch, columns: int = 300) -> int:
    """Run ``eoforge ARGS`` in this process through the real entry point; its exit status."""
    monkeypatch.setattr(sys, "argv", ["eoforge", *args])
    monkeypatch.setenv("COLUMNS", str(columns))
    try:
        main()
    except SystemExit as stopped:
        return int(stopped.code or 0)
    return 0
