"""Float32 TIFF tiles encoded in Python, and a tiled GeoTIFF assembled from encoded tiles.

GDAL's COG driver only copies: it reads a finished raster, compresses it and
writes the file, serially after the prediction. For rasters whose tiles become
final one by one (:mod:`.cog_tiles`), each tile is encoded here as soon as it is
final, beside the model, exactly as libtiff would (the floating-point
predictor, TIFF tag 317 = 3, then ZSTD or DEFLATE), and publishing only writes
the directories and copies the encoded bytes.

Layout of the files written (:func:`write_tiled_tiff`): little-endian TIFF, or
BigTIFF when the data passes 4 GB; band-separate tiles (planar configuration
2, GDAL's ``INTERLEAVE=BAND``: a tile holds one band, so encoding needs no
band shuffle and a one-band read fetches one band); every image file directory
(full resolution, then the overviews, finest first) at the start of the file,
then the tiles' bytes from the coarsest overview to the full resolution, each
level band by band in row-major tile order: the Cloud-Optimized GeoTIFF layout.
Georeferencing, nodata and band descriptions are GDAL's own tags, taken from a
one-pixel GeoTIFF GDAL writes with the same grid (:func:`gdal_tags`).
"""

from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np
import numpy.typing as npt
import zstandard
from affine import Affine
from rasterio.io import MemoryFile

FloatArray = npt.NDArray[np.float32]
Codec = Literal["DEFLATE", "ZSTD"]

COMPRESSION = {"DEFLATE": 8, "ZSTD": 50000}
"""TIFF compression tag values (8: Adobe Deflate, zlib stream; 50000: ZSTD as libtiff writes it)."""

FLOATING_POINT_PREDICTOR = 3

GEO_TAGS = (33550, 33922, 34264, 34735, 34736, 34737, 42112, 42113)
"""Tags copied from GDAL's georeferenced template: ModelPixelScale, ModelTiepoint,
ModelTransformation, the three GeoKey tags, GDAL_METADATA (band descriptions) and
GDAL_NODATA."""

NODATA_TAG = 42113

_SHORT, _LONG, _LONG8 = 3, 4, 16
_TYPE_SIZES = {1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 2, 9: 4, 10: 8, 11: 4, 12: 8, 16: 8}


def encode_tile(tile: FloatArray, codec: Codec, level: int) -> bytes:
    """One band's tile as TIFF tile bytes: the floating-point predictor, then ``codec``.

    The predictor (TIFF Technical Note 3, libtiff's ``fpDiff``) splits each row's
    float32 values into four byte planes, most significant first, and replaces every
    byte by its difference to the previous one along the row; smooth images then
    compress far better.

    Args:
        tile: ``[h, w]`` float32 (a whole tile: edge tiles padded by the caller).
        codec: ``ZSTD`` or ``DEFLATE``.
        level: Compression level.

    Returns:
        The bytes libtiff would write for the tile.
    """
    h, w = tile.shape
    le = tile.astype("<f4", copy=False)
    if le.strides[-1] != 4:  # rows need not be adjacent (a tile of a larger array), pixels must
        le = np.ascontiguousarray(le)
    planes = le.view(np.uint8).reshape(h, w, 4)[:, :, ::-1].transpose(0, 2, 1)
    rows = np.ascontiguousarray(planes).reshape(h, 4 * w)
    diff = np.empty_like(rows)
    diff[:, 0] = rows[:, 0]
    np.subtract(rows[:, 1:], rows[:, :-1], out=diff[:, 1:])
    if codec == "ZSTD":
        return zstandard.ZstdCompressor(level=level).compress(diff.data)
    return zlib.compress(diff.data, level)


@dataclass(frozen=True)
class Tag:
    """A TIFF tag: ``count`` values of TIFF type ``type`` as little-endian ``data``."""

    code: int
    type: int
    count: int
    data: bytes


@dataclass(frozen=True)
class Chunk:
    """Where one tile's encoded bytes are: ``length`` bytes of ``path`` from ``offset``."""

    path: Path
    offset: int
    length: int


@dataclass(frozen=True)
class Image:
    """One image file directory: a tiled, band-separate float32 image.

    Attributes:
        height: Rows (pixels).
        width: Columns (pixels).
        bands: Samples per pixel.
        chunks: One per tile in TIFF order: band by band, tiles row-major.
        reduced: An overview (``NewSubfileType`` 1).
        tags: More tags (georeferencing on the full resolution, nodata on all).
    """

    height: int
    width: int
    bands: int
    chunks: tuple[Chunk, ...]
    reduced: bool
    tags: tuple[Tag, ...] = ()


def write_tiled_tiff(
    path: Path,
    images: Sequence[Image],
    *,
    tile: int,
    compression: int,
    bigtiff: bool | None = None,
) -> None:
    """Write ``images`` (full resolution first, then overviews finest first) as one TIFF.

    Every directory is written first; the tiles' bytes follow, coarsest image first,
    copied from their chunks. BigTIFF when the file would pass 4 GB.

    Args:
        path: The file to write (created or truncated).
        images: The images; their chunks' bytes are already encoded.
        tile: Tile side (pixels).
        compression: TIFF compression tag value (:data:`COMPRESSION`).
        bigtiff: BigTIFF (64-bit offsets) or classic TIFF; None: BigTIFF only when the
            file would pass 4 GB.
    """
    data_bytes = sum(c.length for image in images for c in image.chunks)
    big = bool(bigtiff)
    starts, position = _layout(images, tile, compression, big)
    if bigtiff is None and position + data_bytes >= 2**32:  # past classic TIFF's offsets
        big = True
        starts, position = _layout(images, tile, compression, big)
    offsets: list[list[int]] = [[] for _ in images]
    for i in reversed(range(len(images))):  # data: coarsest overview first
        for chunk in images[i].chunks:
            offsets[i].append(position)
            position += chunk.length
    head = [
        struct.pack("<2sHHHQ", b"II", 43, 8, 0, starts[0])
        if big
        else struct.pack("<2sHI", b"II", 42, starts[0])
    ]
    for i, image in enumerate(images):
        following = starts[i + 1] if i + 1 < len(images) else 0
        tags = _tags(image, offsets[i], tile, compression, big)
        block = _directory(tags, starts[i], following, big)
        head.append(block + b"\0" * (len(block) % 2))
    with path.open("wb", buffering=0) as out:  # unbuffered: tiles are copied by the kernel
        out.write(b"".join(head))
        for i in reversed(range(len(images))):
            for chunk in images[i].chunks:
                _copy(chunk, out)


def _layout(
    images: Sequence[Image], tile: int, compression: int, big: bool
) -> tuple[list[int], int]:
    """Where each directory starts, and where the tiles' data start (bytes).

    A directory's size does not depend on the offsets it holds: laid out with zeros.
    """
    starts, position = [], 16 if big else 8
    for im in images:
        block = _directory(_tags(im, [0] * len(im.chunks), tile, compression, big), 0, 0, big)
        starts.append(position)
        position += len(block) + len(block) % 2
    return starts, position


def _tags(image: Image, offsets: list[int], tile: int, compression: int, big: bool) -> list[Tag]:
    n = image.bands
    tags = [
        *([_ints(254, [1], _LONG)] if image.reduced else []),
        _ints(256, [image.width], _LONG),
        _ints(257, [image.height], _LONG),
        _ints(258, [32] * n),
        _ints(259, [compression]),
        _ints(262, [1]),  # min-is-black
        _ints(277, [n]),
        _ints(284, [2 if n > 1 else 1]),  # band-separate tiles
        _ints(317, [FLOATING_POINT_PREDICTOR]),
        _ints(322, [tile]),
        _ints(323, [tile]),
        _ints(324, offsets, _LONG8 if big else _LONG),
        _ints(325, [c.length for c in image.chunks], _LONG8 if big else _LONG),
        *([_ints(338, [0] * (n - 1))] if n > 1 else []),  # unspecified extra samples
        _ints(339, [3] * n),  # IEEE floating point
        *image.tags,
    ]
    return sorted(tags, key=lambda t: t.code)


def _ints(code: int, values: Sequence[int], type_: int = _SHORT) -> Tag:
    """An integer tag: SHORT (16-bit), LONG (32-bit) or LONG8 (64-bit, BigTIFF) values."""
    fmt = {_SHORT: "H", _LONG: "I", _LONG8: "Q"}[type_]
    return Tag(code, type_, len(values), struct.pack(f"<{len(values)}{fmt}", *values))


def _directory(tags: list[Tag], start: int, following: int, big: bool) -> bytes:
    """An image file directory at ``start`` with its out-of-line values after it."""
    entry, inline = (20, 8) if big else (12, 4)
    count_fmt, next_fmt = ("<Q", "<Q") if big else ("<H", "<I")
    head = struct.calcsize(count_fmt) + entry * len(tags) + struct.calcsize(next_fmt)
    entries, extra = [struct.pack(count_fmt, len(tags))], bytearray()
    for tag in tags:
        if len(tag.data) <= inline:
            value = tag.data.ljust(inline, b"\0")
        else:
            value = struct.pack("<Q" if big else "<I", start + head + len(extra))
            extra += tag.data + b"\0" * (len(tag.data) % 2)  # values start on word boundaries
        fmt = "<HHQ" if big else "<HHI"
        entries.append(struct.pack(fmt, tag.code, tag.type, tag.count) + value)
    entries.append(struct.pack(next_fmt, following))
    return b"".join(entries) + bytes(extra)


def _copy(chunk: Chunk, out: BinaryIO) -> None:
    """Append ``chunk``'s bytes to the unbuffered ``out`` (by the kernel where it can)."""
    with chunk.path.open("rb", buffering=0) as src:
        left, offset = chunk.length, chunk.offset
        if hasattr(os, "copy_file_range"):
            try:
                while left:
                    done = os.copy_file_range(src.fileno(), out.fileno(), left, offset)
                    if done == 0:
                        break
                    left, offset = left - done, offset + done
            except OSError:  # e.g. a file system without it: copy through Python below
                pass
        if left:
            src.seek(offset)
            data = src.read(left)
            if len(data) != left:
                raise OSError(f"{chunk.path} ended before its tile's {chunk.length} bytes")
            out.write(data)


def gdal_tags(
    crs_wkt: str, transform: Affine, bands: int, nodata: float, descriptions: Sequence[str]
) -> tuple[Tag, ...]:
    """GDAL's georeferencing, nodata and band-description tags for a float32 grid.

    GDAL writes a one-pixel GeoTIFF in memory with the grid's CRS and transform; its
    tags (:data:`GEO_TAGS`) are what GDAL would write for the full raster.

    Args:
        crs_wkt: The grid's CRS as WKT.
        transform: The grid's affine transform (pixel corner).
        bands: Band count.
        nodata: Nodata value.
        descriptions: One description (name) per band.

    Returns:
        The tags found, by code.
    """
    profile: dict[str, object] = {
        "driver": "GTiff",
        "width": 1,
        "height": 1,
        "count": bands,
        "dtype": "float32",
        "crs": crs_wkt,
        "transform": transform,
        "nodata": nodata,
        "ENDIANNESS": "LITTLE",
    }
    with MemoryFile() as memory:
        with memory.open(**profile) as ds:
            for i, name in enumerate(descriptions, start=1):
                ds.set_band_description(i, name)
        raw = memory.read()
    return tuple(t for t in read_tags(raw) if t.code in GEO_TAGS)


def read_tags(raw: bytes) -> list[Tag]:
    """The first directory's tags of a little-endian classic TIFF held in ``raw``."""
    if raw[:4] != b"II*\0":
        raise ValueError("not a little-endian classic TIFF")
    (start,) = struct.unpack_from("<I", raw, 4)
    (count,) = struct.unpack_from("<H", raw, start)
    tags = []
    for i in range(count):
        code, type_, n, value = struct.unpack_from("<HHII", raw, start + 2 + 12 * i)
        size = n * _TYPE_SIZES[type_]
        at = start + 2 + 12 * i + 8 if size <= 4 else value
        tags.append(Tag(code, type_, n, raw[at : at + size]))
    return tags


def nodata_tag(nodata: float) -> Tag:
    """GDAL's nodata tag (ASCII, as GDAL prints the value) for the overviews."""
    text = ("nan" if np.isnan(nodata) else repr(float(nodata))).encode() + b"\0"
    return Tag(NODATA_TAG, 2, len(text), text)
