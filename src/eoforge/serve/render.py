"""XYZ tiles of a layer as 256-pixel RGBA PNGs in Web Mercator.

Every band is read through rio-tiler (:meth:`rio_tiler.io.Reader.tile`: the
overview that fits the zoom, a window of the file reprojected to the tile with
nearest neighbour, never the whole file), so memory per tile is bounded by the
tile and GDAL's block cache. What the pixels become depends on the kind:

* scenes: three bands (true or false colour) or one band through a ramp, after
  scale and offset, stretched linearly between ``lo`` and ``hi``;
* class maps (classes, reference, errors): the layer's lookup table, the
  raster's own colour table, value for value; nodata transparent;
* confidence, probability, regression: one band through a ramp.

Pixels outside the data or invalid in any drawn band are transparent.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
from PIL import Image
from rio_tiler.errors import TileOutsideBounds

from eoforge.serve.handles import reader
from eoforge.serve.layers import CLASS_KINDS, BandRef, Layer
from eoforge.serve.params import BadRequestError, ramp

TILE = 256
"""Tile side in pixels."""

DEFAULT_RAMP = "viridis"
"""Ramp of single bands and value layers that name none."""


@cache
def empty_png() -> bytes:
    """A fully transparent tile."""
    return encode_png(np.zeros((TILE, TILE, 4), dtype=np.uint8))


def encode_png(rgba: npt.NDArray[np.uint8]) -> bytes:
    """``[H, W, 4]`` uint8 RGBA as PNG bytes (fast zlib level)."""
    buffer = io.BytesIO()
    Image.fromarray(rgba, mode="RGBA").save(buffer, format="PNG", compress_level=2)
    return buffer.getvalue()


def read_tile(
    refs: Sequence[BandRef], z: int, x: int, y: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.bool_]] | None:
    """Bands of one tile in data units and where any of them is invalid.

    Args:
        refs: Bands to read (any files, any CRS).
        z: Web Mercator zoom.
        x: Tile column.
        y: Tile row.

    Returns:
        ``([C, 256, 256] float64 values, [256, 256] bool invalid)``, or None when
        the tile lies outside the data.
    """
    values: list[npt.NDArray[np.float64]] = []
    invalid = np.zeros((TILE, TILE), dtype=bool)
    by_file: dict[Path, list[BandRef]] = {}
    for ref in refs:  # bands of one file are read in one call (one warp of the window)
        by_file.setdefault(ref.path, []).append(ref)
    read: dict[BandRef, npt.NDArray[np.float64]] = {}
    for path, group in by_file.items():
        src = reader(path)
        if not src.tile_exists(x, y, z):
            return None
        try:
            img = src.tile(x, y, z, tilesize=TILE, indexes=[ref.index for ref in group])
        except TileOutsideBounds:
            return None
        for ref, band in zip(group, img.array, strict=True):
            invalid |= np.ma.getmaskarray(band)
            read[ref] = np.asarray(band.data, dtype=np.float64) * ref.scale + ref.offset
    values = [read[ref] for ref in refs]
    return np.stack(values), invalid


def read_class_tile(
    ref: BandRef, z: int, x: int, y: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.bool_]] | None:
    """Stored class values of one tile (nearest neighbour) and where they are invalid."""
    src = reader(ref.path)
    if not src.tile_exists(x, y, z):
        return None
    try:
        img = src.tile(x, y, z, tilesize=TILE, indexes=ref.index)
    except TileOutsideBounds:
        return None
    band = img.array[0]
    return np.asarray(band.data, dtype=np.int64), np.ma.getmaskarray(band)


def stretch_bytes(values: npt.NDArray[np.float64], lo: float, hi: float) -> npt.NDArray[np.uint8]:
    """Values mapped linearly to 0..255 between ``lo`` and ``hi`` (clipped)."""
    scaled = (values - lo) * (255.0 / (hi - lo))
    return np.clip(np.nan_to_num(scaled, nan=0.0), 0, 255).astype(np.uint8)


def _scene_bands(layer: Layer, render: str, band: str | None) -> list[BandRef]:
    if render == "truecolor" and layer.truecolor is not None:
        names: Sequence[str] = layer.truecolor
    elif render == "falsecolor" and layer.falsecolor is not None:
        names = layer.falsecolor
    elif render == "band":
        names = [band or layer.bands[0].name]
    else:
        raise BadRequestError(f"render={render!r} is not available for layer {layer.id!r}.")
    refs = []
    for name in names:
        ref = layer.band(name)
        if ref is None:
            raise BadRequestError(
                f"band={name!r} is not a band of layer {layer.id!r}: "
                f"use one of {', '.join(b.name for b in layer.bands)}."
            )
        refs.append(ref)
    return refs


def render_tile(
    layer: Layer,
    z: int,
    x: int,
    y: int,
    *,
    render: str | None = None,
    band: str | None = None,
    stretch: tuple[float, float] | None = None,
    colormap: str | None = None,
) -> bytes:
    """One tile of a raster layer as PNG bytes.

    Args:
        layer: A raster layer.
        z: Web Mercator zoom (checked by the caller).
        x: Tile column.
        y: Tile row.
        render: Scenes: ``truecolor``, ``falsecolor`` or ``band``; default the
            first the scene offers.
        band: The band of ``render=band`` or of a probability stack.
        stretch: ``(lo, hi)`` in data units; default the layer's.
        colormap: Ramp name for one-band renders; default the layer's or viridis.

    Returns:
        PNG bytes of a 256 x 256 RGBA image (transparent outside the data).

    Raises:
        BadRequestError: A parameter the layer cannot use.
    """
    if layer.kind in CLASS_KINDS:
        if render not in (None, "") or band not in (None, ""):
            raise BadRequestError(f"layer {layer.id!r} is a class map: it takes no render or band.")
        got = read_class_tile(layer.bands[0], z, x, y)
        if got is None:
            return empty_png()
        values, invalid = got
        outside = (values < 0) | (values > 255)
        rgba = np.asarray(layer.lut)[np.clip(values, 0, 255)]
        rgba[invalid | outside] = 0
        return encode_png(rgba.astype(np.uint8))
    if layer.kind == "scene":
        mode = render or ("truecolor" if layer.truecolor is not None else "band")
        refs = _scene_bands(layer, mode, band)
    else:
        if render not in (None, ""):
            raise BadRequestError(f"render={render!r}: layer {layer.id!r} is not a scene.")
        mode = "band"
        if band:
            ref = layer.band(band)
            if ref is None:
                raise BadRequestError(
                    f"band={band!r} is not a band of layer {layer.id!r}: "
                    f"use one of {', '.join(b.name for b in layer.bands)}."
                )
            refs = [ref]
        else:
            refs = [layer.bands[0]]
    lut = ramp(colormap or layer.colormap or DEFAULT_RAMP) if mode == "band" else None
    got_tile = read_tile(refs, z, x, y)
    if got_tile is None:
        return empty_png()
    data, invalid = got_tile
    lo, hi = stretch or _default_stretch(layer, mode, refs[0].name)
    scaled = stretch_bytes(data, lo, hi)
    if lut is not None:
        rgba = lut[scaled[0]].copy()
    else:
        rgba = np.empty((TILE, TILE, 4), dtype=np.uint8)
        rgba[..., :3] = np.moveaxis(scaled, 0, -1)
        rgba[..., 3] = 255
    rgba[invalid] = 0
    return encode_png(rgba)


def _default_stretch(layer: Layer, mode: str, band: str) -> tuple[float, float]:
    if mode == "band" and band in layer.band_stretch:
        return layer.band_stretch[band]
    if layer.stretch is not None:
        return layer.stretch
    return (0.0, 1.0)


__all__ = [
    "DEFAULT_RAMP",
    "TILE",
    "empty_png",
    "encode_png",
    "read_class_tile",
    "read_tile",
    "render_tile",
    "stretch_bytes",
]
