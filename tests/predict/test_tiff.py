"""Float32 TIFF tiles encoded in Python and files assembled from them, read back by GDAL."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import rasterio
import zstandard
from affine import Affine
from rio_cogeo.cogeo import cog_validate

from eoforge.predict.tiff import (
    COMPRESSION,
    Chunk,
    Codec,
    Image,
    encode_tile,
    gdal_tags,
    nodata_tag,
    read_tags,
    write_tiled_tiff,
)

T = Affine(2.5, 0, 600000, 0, -2.5, 5700000)
CRS = "EPSG:32631"
TILE = 64


def _image(folder: Path, values: np.ndarray, codec: Codec, reduced: bool, tags: tuple) -> Image:
    """Encode ``values`` ``[n, h, w]`` tile by tile into one file; the image pointing at it."""
    n, h, w = values.shape
    rows, cols = -(-h // TILE), -(-w // TILE)
    path = folder / f"{h}x{w}.{codec}.tiles"
    chunks, data = [], bytearray()
    for b in range(n):
        for i in range(rows):
            for j in range(cols):
                tile = np.full((TILE, TILE), np.nan, np.float32)
                part = values[b, i * TILE : (i + 1) * TILE, j * TILE : (j + 1) * TILE]
                tile[: part.shape[0], : part.shape[1]] = part
                encoded = encode_tile(tile, codec, 1)
                chunks.append(Chunk(path, 3 + len(data), len(encoded)))  # after a 3-byte head
                data += encoded
    path.write_bytes(b"abc" + bytes(data))
    return Image(h, w, n, tuple(chunks), reduced, tags)


def _values(n: int, h: int, w: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    smooth = 0.2 + 0.05 * np.sin(x / 9.0) * np.cos(y / 7.0)
    values = (smooth + rng.normal(0, 0.01, (n, h, w))).astype(np.float32)
    values[0, 3:9, 5:40] = np.nan  # nodata survives the predictor
    values[-1, -1, -1] = -1e30  # extremes too
    return values


@pytest.mark.parametrize("codec", ["ZSTD", "DEFLATE"])
@pytest.mark.parametrize("bigtiff", [False, True])
def test_gdal_reads_the_tiles_georeferencing_and_overviews_written(
    tmp_path: Path, codec: Codec, bigtiff: bool
) -> None:
    full = _values(3, 150, 200)  # edge tiles on both axes
    half = _values(3, 75, 100, seed=1)
    names = ("S2.B02", "S2.B03", "S2.B04")
    tags = gdal_tags(rasterio.crs.CRS.from_string(CRS).to_wkt(), T, 3, float("nan"), names)
    images = [
        _image(tmp_path, full, codec, False, tags),
        _image(tmp_path, half, codec, True, (nodata_tag(float("nan")),)),
    ]
    out = tmp_path / "out.tif"
    write_tiled_tiff(out, images, tile=TILE, compression=COMPRESSION[codec], bigtiff=bigtiff)
    assert out.read_bytes()[:4] == (b"II+\0" if bigtiff else b"II*\0")
    with rasterio.open(out) as ds:
        assert ds.shape == (150, 200) and ds.count == 3 and ds.dtypes[0] == "float32"
        assert ds.crs == CRS and ds.transform == T
        assert ds.descriptions == names
        assert np.isnan(ds.nodata)
        assert ds.block_shapes[0] == (TILE, TILE)
        structure = ds.tags(ns="IMAGE_STRUCTURE")
        assert structure["COMPRESSION"] == codec and structure["PREDICTOR"] == "3"
        assert structure["INTERLEAVE"] == "BAND"
        assert ds.overviews(1) == [2]
        np.testing.assert_array_equal(ds.read(), full)  # bit for bit, NaN included
        np.testing.assert_array_equal(ds.read(out_shape=(3, 75, 100)), half)  # the overview
    assert cog_validate(str(out), quiet=True)[0]  # directories first, coarse data first


def test_the_predictor_is_libtiffs(tmp_path: Path) -> None:
    """Before compression, a tile's bytes are the ones libtiff (through GDAL) writes."""
    values = _values(1, TILE, TILE)
    gdal = tmp_path / "gdal.tif"
    profile = {"driver": "GTiff", "width": TILE, "height": TILE, "count": 1, "dtype": "float32"}
    profile |= {"tiled": True, "blockxsize": TILE, "blockysize": TILE}
    with rasterio.open(gdal, "w", **profile, compress="zstd", zstd_level=1, predictor=3) as ds:
        ds.write(values)
    raw = gdal.read_bytes()
    tags = {t.code: t for t in read_tags(raw)}
    (offset,) = struct.unpack("<I", tags[324].data)
    (length,) = struct.unpack("<I", tags[325].data)
    unzstd = zstandard.ZstdDecompressor()
    theirs = unzstd.decompress(raw[offset : offset + length], max_output_size=4 * TILE * TILE)
    ours = unzstd.decompress(encode_tile(values[0], "ZSTD", 1))
    assert ours == theirs  # the predictor's bytes are the same; only the codec may differ


def test_gdal_tags_are_the_georeferencing_of_the_grid() -> None:
    tags = {t.code: t for t in gdal_tags(rasterio.crs.CRS.from_string(CRS).to_wkt(), T, 2, 0.0, ())}
    assert 34735 in tags  # GeoKeyDirectory
    assert struct.unpack("<3d", tags[33550].data) == (2.5, 2.5, 0.0)  # pixel size
    assert struct.unpack("<6d", tags[33922].data)[3:5] == (600000.0, 5700000.0)  # corner
    assert tags[42113].data.rstrip(b"\0") == b"0"  # GDAL's nodata text
