"""The errors layer: where a class map agrees with its reference, computed once as a COG.

Pixel values: 1 where the prediction equals the reference, 2 where it does not,
0 (nodata) where either is nodata or the reference does not cover the pixel.
The reference is read on the prediction's grid (nearest neighbour through a
warped view when the grids differ), block by block, so memory follows the block
size. The result is a tiled COG with nearest-neighbour overviews in the cache
folder, named after the inputs' paths, sizes and modification times; it is
written under a temporary name and renamed, and reused while the inputs are
unchanged. The inputs are only read.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rio_cogeo.cogeo import cog_translate
from rio_cogeo.profiles import cog_profiles

from eoforge.classes import ClassInfo
from eoforge.geo.grid import crs_equal

CORRECT = 1
"""Pixel value of agreement."""

WRONG = 2
"""Pixel value of disagreement."""

ERROR_CLASSES = (
    ClassInfo(id=CORRECT, name="correct", color="#d9d9d9"),
    ClassInfo(id=WRONG, name="wrong", color="#e31a1c"),
)
"""The legend of the errors layer."""


def _key(*paths: Path) -> str:
    digest = hashlib.sha1()
    for path in paths:
        stat = os.stat(path)
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def errors_cog(prediction: Path, reference: Path, cache_dir: Path) -> Path:
    """The errors COG of ``prediction`` against ``reference``, computed if not cached.

    Args:
        prediction: Single-band class map.
        reference: Single-band class map of the same class ids, any grid.
        cache_dir: Folder the COG is written to.

    Returns:
        Path of the uint8 COG (values :data:`CORRECT`, :data:`WRONG`, nodata 0).
    """
    out = cache_dir / f"errors_{_key(prediction, reference)}.tif"
    if out.is_file():
        return out
    cache_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".errors-") as tmp:
        raw = Path(tmp) / "errors.tif"
        with rasterio.open(prediction) as pred, rasterio.open(reference) as ref_file:
            same = (
                crs_equal(pred.crs, ref_file.crs)
                and pred.transform == ref_file.transform
                and pred.shape == ref_file.shape
            )
            ref = (
                ref_file
                if same
                else WarpedVRT(
                    ref_file,
                    crs=pred.crs,
                    transform=pred.transform,
                    width=pred.width,
                    height=pred.height,
                    resampling=Resampling.nearest,
                    nodata=ref_file.nodata if ref_file.nodata is not None else 255,
                )
            )
            profile = {
                "driver": "GTiff",
                "dtype": "uint8",
                "count": 1,
                "width": pred.width,
                "height": pred.height,
                "crs": pred.crs,
                "transform": pred.transform,
                "nodata": 0,
                "tiled": True,
                "blockxsize": 512,
                "blockysize": 512,
                "compress": "deflate",
            }
            with rasterio.open(raw, "w", **profile) as dst:
                for _, window in dst.block_windows(1):
                    p = pred.read(1, window=window, masked=True)
                    r = ref.read(1, window=window, masked=True)
                    block = np.where(p.filled(0) == r.filled(0), CORRECT, WRONG).astype(np.uint8)
                    block[np.ma.getmaskarray(p) | np.ma.getmaskarray(r)] = 0
                    dst.write(block, 1, window=window)
                dst.write_colormap(1, {c.id: c.rgba for c in ERROR_CLASSES})
                dst.update_tags(1, **{f"CLASS_{c.id}": c.name for c in ERROR_CLASSES})
            if ref is not ref_file:
                ref.close()
        final = Path(tmp) / "cog.tif"
        cog_translate(
            raw,
            final,
            cog_profiles.get("deflate"),  # type: ignore[no-untyped-call]
            overview_resampling="nearest",
            quiet=True,
            in_memory=False,
        )
        final.replace(out)
    return out


__all__ = ["CORRECT", "ERROR_CLASSES", "WRONG", "errors_cog"]
