"""Warped reads through kept-open views give what a per-call reprojection gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from tests.helpers import write_tif

from eoforge.errors import OutsideSourcesError
from eoforge.geo import make_grid
from eoforge.io import HANDLES, read, source_from_file
from eoforge.io.reader import _read_warped
from eoforge.io.warped import BLOCK_COLS, BLOCK_ROWS, VIEWS, WarpedViews, anchored_blocks

UTM31, UTM32 = "EPSG:32631", "EPSG:32632"
# A file in UTM 32N near the zone edge; requests on a 10 m UTM 31N lattice.
T32 = Affine(10, 0, 280_000, 0, -10, 5_610_000)


def _field(height: int, width: int) -> np.ndarray:
    """Patches of 6 px plus a gradient: bilinear weights show in the values."""
    rng = np.random.default_rng(0)
    patches = rng.uniform(-20, 0, (2, height // 6 + 1, width // 6 + 1)).repeat(6, 1).repeat(6, 2)
    yy, xx = np.mgrid[0:height, 0:width]
    return (patches[:, :height, :width] + 0.01 * xx + 0.02 * yy).astype(np.float32)


def _grid_31(path: Path, row: int, col: int, size: int):
    """A ``size``-px 10 m grid in UTM 31N whose corner is near the file's pixel (row, col)."""
    with rasterio.open(path) as ds:
        x, y = ds.transform @ (col, row)
    x31, y31 = rasterio.warp.transform(UTM32, UTM31, [x], [y])
    left, top = round(x31[0] / 10) * 10, round(y31[0] / 10) * 10
    return make_grid((size, size), Affine(10, 0, left, 0, -10, top), UTM31)


def _close(got: np.ndarray, want: np.ndarray, field: np.ndarray) -> None:
    """Equal up to GDAL's approximate transformer: both warpers place pixels within 0.125 px.

    A shift of 0.125 px moves a bilinear value by at most 0.125 of the largest step
    between neighbouring pixels; most pixels move far less.
    """
    step = max(np.abs(np.diff(field, axis=1)).max(), np.abs(np.diff(field, axis=2)).max())
    diff = np.abs(got - want)
    assert diff.max() <= 0.125 * step
    assert np.median(diff) < 0.01


def _reprojected(path: Path, grid, bands: int) -> tuple[np.ndarray, np.ndarray]:
    """The per-call path: calibrated window, NaN where invalid, reprojected onto the grid."""
    source = source_from_file(path)
    assets = [source.assets[k] for k in list(source.assets)[:bands]]
    out = _read_warped(
        source, HANDLES.get(str(path)), assets, HANDLES.grid(str(path)), grid, Resampling.bilinear
    )
    assert out is not None
    return np.nan_to_num(out), np.isfinite(out).all(axis=0)


@pytest.fixture()
def backscatter(tmp_path: Path) -> Path:
    return write_tif(
        tmp_path / "s1.tif", _field(160, 160), T32, UTM32, descriptions=["S1.VV", "S1.VH"]
    )


def test_inside_the_footprint_equals_per_call_reprojection(backscatter: Path) -> None:
    grid = _grid_31(backscatter, 40, 40, 48)
    got, valid = read(backscatter, grid, ["S1.VV", "S1.VH"])
    want, want_valid = _reprojected(backscatter, grid, 2)
    assert valid.all() and want_valid.all()
    _close(got, want, _field(160, 160))
    assert got.std() > 3  # the patches came through, not a constant


def test_across_the_edge_outside_pixels_are_invalid(backscatter: Path) -> None:
    # The grid reaches past the file's right edge: those pixels are invalid, the rest match.
    grid = _grid_31(backscatter, 60, 130, 48)
    got, valid = read(backscatter, grid, ["S1.VV", "S1.VH"])
    want, want_valid = _reprojected(backscatter, grid, 2)
    assert 0.2 < valid.mean() < 0.9
    assert (valid != want_valid).mean() < 0.02  # the two warpers may differ on the edge pixel
    both = valid & want_valid
    _close(got[:, both], want[:, both], _field(160, 160))
    assert (got[:, ~valid] == 0).all()


def test_nodata_never_blends_in(tmp_path: Path) -> None:
    # uint16 reflectance DN with a hole of nodata (0): the hole stays invalid, its
    # neighbours keep their values (a blend with 0 would pull them far down).
    data = np.full((1, 120, 120), 3000, np.uint16)
    data[0, 50:70, 50:70] = 0
    path = write_tif(tmp_path / "b04.tif", data, T32, UTM32, nodata=0, descriptions=["S2.B04"])
    grid = _grid_31(path, 30, 30, 60)
    got, valid = read(path, grid, ["S2.B04"])
    want, want_valid = _reprojected(path, grid, 1)
    assert 0.8 < valid.mean() < 0.95
    assert (valid != want_valid).sum() <= 0.02 * valid.size
    np.testing.assert_allclose(got[0][valid & want_valid], want[0][valid & want_valid], rtol=1e-5)
    assert np.allclose(got[0][valid], got[0][valid].max())  # every valid pixel is the plain value


def test_a_grid_beside_the_file_overlaps_nothing(backscatter: Path) -> None:
    grid = _grid_31(backscatter, 0, 400, 16)
    with pytest.raises(OutsideSourcesError):
        read(backscatter, grid, ["S1.VV"])


def test_a_rewritten_file_is_warped_afresh(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "r.tif", np.ones((1, 64, 64), np.float32), T32, UTM32)
    grid = _grid_31(path, 20, 20, 16)
    before, _ = read(path, grid, ["band1"])
    write_tif(path, np.full((1, 64, 64), 5, np.float32), T32, UTM32)
    after, _ = read(path, grid, ["band1"])
    np.testing.assert_allclose(before, 1.0)
    np.testing.assert_allclose(after, 5.0)


def test_views_are_bounded(backscatter: Path) -> None:
    views = WarpedViews(max_open=2)
    src_grid = HANDLES.grid(str(backscatter))
    for shift in range(4):  # four lattices (corner phases 0..3 m): four views, two kept
        grid = _grid_31(backscatter, 40, 40, 8)
        aff = grid.affine @ Affine.translation(shift / 10, 0)
        moved = make_grid((8, 8), aff, UTM31)
        got = views.read(str(backscatter), src_grid, [1], None, moved, Resampling.bilinear)
        assert got is not None and got[1]
    assert len(views._views) == 2
    views.clear()
    assert len(views._views) == 0 and VIEWS is not views


def test_reads_into_the_callers_array_and_fill_nan_outside(backscatter: Path) -> None:
    views = WarpedViews()
    src_grid = HANDLES.grid(str(backscatter))
    inside = _grid_31(backscatter, 40, 40, 24)
    fresh = views.read(str(backscatter), src_grid, [1, 2], None, inside, Resampling.bilinear)
    target = np.full((2, 24, 24), -1.0, np.float32)
    into = views.read(str(backscatter), src_grid, [1, 2], None, inside, Resampling.bilinear, target)
    assert fresh is not None and into is not None
    assert into[0] is target and into[1]
    np.testing.assert_array_equal(target, fresh[0])
    # Across the file's edge: the part outside is NaN in the caller's array too.
    edge = _grid_31(backscatter, 60, 150, 24)
    target = np.zeros((2, 24, 24), np.float32)
    got = views.read(str(backscatter), src_grid, [1, 2], None, edge, Resampling.bilinear, target)
    assert got is not None and got[0] is target
    assert np.isnan(target).any() and np.isfinite(target).any()
    views.clear()


def test_anchored_views_lay_blocks_from_the_anchor_and_read_the_same(backscatter: Path) -> None:
    src_grid = HANDLES.grid(str(backscatter))
    grid = _grid_31(backscatter, 40, 40, 32)
    plain, anchored = WarpedViews(), WarpedViews()
    want = plain.read(str(backscatter), src_grid, [1, 2], None, grid, Resampling.bilinear)
    x, y = grid.affine.c - 30, grid.affine.f + 70  # a scene corner 3 px left of, 7 px above
    with anchored_blocks(UTM31, x, y):
        got = anchored.read(str(backscatter), src_grid, [1, 2], None, grid, Resampling.bilinear)
    assert want is not None and got is not None
    (view,) = anchored._views.values()
    origin = view.vrt.transform
    cols, rows = (origin.c - x) / 10, (y - origin.f) / 10
    assert cols <= 0 and rows <= 0  # the view still starts before the file's footprint
    assert cols % BLOCK_COLS == 0 and rows % BLOCK_ROWS == 0  # on the anchor's block lattice
    (other,) = plain._views.values()
    assert other.vrt.transform != origin
    _close(got[0], want[0], _field(160, 160))
    # An anchor in another CRS leaves the layout alone.
    again = WarpedViews()
    with anchored_blocks(UTM32, x, y):
        again.read(str(backscatter), src_grid, [1], None, grid, Resampling.bilinear)
    assert next(iter(again._views.values())).vrt.transform == other.vrt.transform
    for views in (plain, anchored, again):
        views.clear()
