"""A float COG built tile by tile from pieces of finished pixels, in any order."""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rio_cogeo.cogeo import cog_validate

import eoforge.predict.cog_tiles as cog_tiles
from eoforge.errors import MissingFileError
from eoforge.geo import make_grid
from eoforge.predict.cog_tiles import TiledCog, parallel_encoding
from eoforge.predict.overviews import cog_overview_factors, exact_factors

TILE = 64
SCALE = 4
T = Affine(2.5, 0, 600000, 0, -2.5, 5700000)


def _cog(folder: Path, h: int, w: int, bands: int = 2) -> TiledCog:
    factors = cog_overview_factors(h, w, TILE)
    exact = len(exact_factors(factors, SCALE))
    return TiledCog(folder, h, w, bands, tuple(factors), exact, "ZSTD", 1, TILE)


def _pieces(h: int, w: int, seed: int) -> list[tuple[int, int, int, int]]:
    """A partition of ``h x w`` into rectangles on multiples of SCALE, in a random order."""
    rng = np.random.default_rng(seed)
    rows = [0, *sorted(set(rng.integers(1, h // SCALE, 5) * SCALE)), h]
    cols = [0, *sorted(set(rng.integers(1, w // SCALE, 6) * SCALE)), w]
    rects = [(r0, c0, r1, c1) for r0, r1 in pairwise(rows) for c0, c1 in pairwise(cols)]
    return [rects[i] for i in rng.permutation(len(rects))]


def _values(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    values = np.stack([np.sin(x / 17) * np.cos(y / 11), x / w + rng.normal(0, 0.01, (h, w))])
    values[:, 40:80, 100:160] = np.nan  # no valid input there
    values[1, 7, :] = np.nan
    return values.astype(np.float32)


def _nanmean(a: np.ndarray, f: int) -> np.ndarray:
    """Means of the valid pixels over ``f x f`` squares (odd edges: what is there)."""
    n, h, w = a.shape
    padded = np.full((n, -(-h // f) * f, -(-w // f) * f), np.nan, np.float32)
    padded[:, :h, :w] = a
    blocks = padded.reshape(n, padded.shape[1] // f, f, padded.shape[2] // f, f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN squares: NaN
        return np.nanmean(blocks, axis=(2, 4)).astype(np.float32)


@pytest.mark.parametrize("seed", [0, 1])
def test_pieces_in_any_order_make_the_raster_and_its_overviews(tmp_path: Path, seed: int) -> None:
    h, w = 360, 1000  # edge tiles; levels of odd size past the exact ones (125 -> 63 -> 32)
    values = _values(h, w)
    cog = _cog(tmp_path / "work", h, w)
    assert cog.factors == (2, 4, 8, 16) and cog.exact == 2
    for r0, c0, r1, c1 in _pieces(h, w, seed):
        cog.add((r0, c0, r1, c1), values[:, r0:r1, c0:c1])
    assert not list((tmp_path / "work" / "frag").rglob("*.npy"))  # every tile completed
    grid = make_grid((h, w), T, "EPSG:32631")
    out = cog.publish(tmp_path / "out.tif", grid, float("nan"), ("a", "b"))
    assert cog_validate(str(out), quiet=True)[0]
    with rasterio.open(out) as ds:
        assert ds.overviews(1) == [2, 4, 8, 16] and ds.descriptions == ("a", "b")
        assert ds.transform == T and ds.crs == "EPSG:32631"
        np.testing.assert_array_equal(ds.read(), values)
        levels = {f: ds.read(out_shape=(2, -(-h // f), -(-w // f))) for f in (2, 4, 8, 16)}
    np.testing.assert_allclose(levels[2], _nanmean(values, 2), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(levels[4], _nanmean(values, 4), rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(
        levels[8], _nanmean(levels[4], 2), rtol=1e-6, atol=1e-8
    )  # from the 4x level
    np.testing.assert_allclose(levels[16], _nanmean(levels[8], 2), rtol=1e-6, atol=1e-8)
    assert np.isnan(levels[4][0, 10:20, 25:40]).all()  # nodata stays nodata


def test_encoding_on_a_pool_writes_the_same_file(tmp_path: Path) -> None:
    h, w = 256, 320
    values = _values(h, w)
    grid = make_grid((h, w), T, "EPSG:32631")
    files = []
    for name, threads in (("one", 1), ("pool", 2)):
        cog = _cog(tmp_path / name, h, w)
        with parallel_encoding(threads):
            for r0, c0, r1, c1 in _pieces(h, w, 5):
                cog.add((r0, c0, r1, c1), values[:, r0:r1, c0:c1])
        files.append(cog.publish(tmp_path / f"{name}.tif", grid, float("nan"), ("a", "b")))
    assert files[0].read_bytes() == files[1].read_bytes()


def test_a_piece_added_again_changes_nothing(tmp_path: Path) -> None:
    """A resumed run computes a block again: its tiles and fragments are written again."""
    h, w = 192, 256
    values = _values(h, w)
    grid = make_grid((h, w), T, "EPSG:32631")
    pieces = _pieces(h, w, 2)
    cog = _cog(tmp_path / "work", h, w)
    for r0, c0, r1, c1 in [*pieces, *pieces[:3]]:
        cog.add((r0, c0, r1, c1), values[:, r0:r1, c0:c1])
    out = cog.publish(tmp_path / "out.tif", grid, float("nan"), ("a", "b"))
    with rasterio.open(out) as ds:
        np.testing.assert_array_equal(ds.read(), values)


def test_a_missing_tile_is_named_and_nothing_is_published(tmp_path: Path) -> None:
    h, w = 128, 128
    values = _values(h, w)
    cog = _cog(tmp_path / "work", h, w)
    cog.add((0, 0, h, w - 64), values[:, :, : w - 64])  # the right half never comes
    with pytest.raises(MissingFileError, match="tile of the prediction is missing") as error:
        cog.publish(tmp_path / "out.tif", make_grid((h, w), T, "EPSG:32631"), np.nan, ("a", "b"))
    assert "L0" in str(error.value) and "predict again" in str(error.value)
    assert not [p for p in tmp_path.iterdir() if p.suffix == ".tif" or p.name.startswith(".")]


def test_a_pool_closed_meanwhile_encodes_in_the_calling_thread(tmp_path: Path) -> None:
    """Another prediction in this process ended and closed the encoders: nothing is lost."""
    h, w = 128, 192
    values = _values(h, w)
    closed = ThreadPoolExecutor(2)
    closed.shutdown()
    cog = _cog(tmp_path / "work", h, w)
    cog_tiles._ENCODING.pool = closed
    try:
        for r0, c0, r1, c1 in _pieces(h, w, 4):
            cog.add((r0, c0, r1, c1), values[:, r0:r1, c0:c1])
    finally:
        cog_tiles._ENCODING.pool = None
    out = cog.publish(tmp_path / "out.tif", make_grid((h, w), T, "EPSG:32631"), np.nan, ("a", "b"))
    with rasterio.open(out) as ds:
        np.testing.assert_array_equal(ds.read(), values)
