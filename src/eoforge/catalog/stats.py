"""Quick per-band statistics of a scene from a decimated read.

Statistics are for inspection (``eoforge info``), not for normalisation: each
band is read at most ``max_size`` pixels on a side with nearest-neighbour
decimation (GDAL uses overviews when the file has them), then calibrated with
the band's radiometry, so values are physical (reflectance, dB, kelvin...).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from rasterio.enums import Resampling
from rasterio.errors import RasterioError

from eoforge.io.handles import HANDLES, read_failed
from eoforge.io.source import BandAsset, RasterSource

DEFAULT_MAX_SIZE = 512
"""Longest side, in pixels, of the decimated read."""


@dataclass(frozen=True)
class BandStats:
    """Statistics of one band over its valid pixels.

    Attributes:
        name: Band name.
        minimum: Smallest valid value (physical units), NaN if none is valid.
        maximum: Largest valid value.
        mean: Mean of valid values.
        std: Standard deviation of valid values.
        valid_fraction: Share of pixels that are valid, in [0, 1].
        shape: ``(height, width)`` of the decimated read.
    """

    name: str
    minimum: float
    maximum: float
    mean: float
    std: float
    valid_fraction: float
    shape: tuple[int, int]


def _decimated_shape(height: int, width: int, max_size: int) -> tuple[int, int]:
    factor = max(1.0, max(height, width) / max_size)
    return max(1, math.ceil(height / factor)), max(1, math.ceil(width / factor))


def _read(path: str, index: int, max_size: int) -> npt.NDArray[Any]:
    ds = HANDLES.get(path)
    shape = _decimated_shape(ds.height, ds.width, max_size)
    try:
        data: npt.NDArray[Any] = ds.read(index, out_shape=shape, resampling=Resampling.nearest)
    except RasterioError as exc:
        raise read_failed(path, exc) from exc
    return data


def _mask(source: RasterSource, path: str, shape: tuple[int, int], max_size: int) -> Any:
    """Validity from the file's alpha band (True where valid), or None."""
    index = source.mask_assets.get(path)
    if index is None:
        return None
    alpha = _read(path, index, max_size)
    return alpha > 0 if alpha.shape == shape else None


def band_stats(
    source: RasterSource, asset: BandAsset, max_size: int = DEFAULT_MAX_SIZE
) -> BandStats:
    """Statistics of one band of a source from a decimated read.

    Args:
        source: The scene (for its alpha masks).
        asset: The band.
        max_size: Longest side of the decimated read, in pixels.

    Returns:
        The band's statistics in physical units.

    Raises:
        UnreadableFileError: The pixels cannot be decoded.
    """
    dn = _read(asset.path, asset.index, max_size)
    if np.iscomplexobj(dn):
        dn = np.abs(dn)
    values = asset.radiometry.apply(dn)
    valid = asset.radiometry.valid(dn, values)
    alpha = _mask(source, asset.path, dn.shape, max_size)
    if alpha is not None:
        valid &= alpha
    good = values[valid].astype(np.float64)
    shape = (int(dn.shape[0]), int(dn.shape[1]))
    if good.size == 0:
        nan = math.nan
        return BandStats(asset.name, nan, nan, nan, nan, 0.0, shape)
    return BandStats(
        name=asset.name,
        minimum=float(good.min()),
        maximum=float(good.max()),
        mean=float(good.mean()),
        std=float(good.std()),
        valid_fraction=float(valid.mean()),
        shape=shape,
    )


def source_stats(source: RasterSource, max_size: int = DEFAULT_MAX_SIZE) -> list[BandStats]:
    """Statistics of every band of a source, in band order (see :func:`band_stats`)."""
    return [band_stats(source, asset, max_size) for asset in source.assets.values()]
