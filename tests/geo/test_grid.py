"""Grid helpers: sub-windows, alignment, tiling, footprints, snapping, sample fields."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS as ProjCRS

from eoforge.geo import (
    bounds_in,
    crs_equal,
    footprint_wgs84,
    grid_from_bounds,
    grid_from_sample,
    grid_to_sample,
    is_pixel_aligned,
    make_grid,
    pixel_window,
    snap_to_grid,
    sub_grid,
    tile_grid,
)

GRID = make_grid((1000, 1200), Affine(10, 0, 500000, 0, -10, 5600000), "EPSG:32631")


def test_sub_grid_is_aligned_and_located() -> None:
    sub = sub_grid(GRID, 100, 250, 64, 32)
    assert sub.affine.c == 502500 and sub.affine.f == 5599000
    assert pixel_window(GRID, sub) == (100, 250, 64, 32)
    assert is_pixel_aligned(GRID, sub)


def test_half_pixel_shift_or_other_resolution_is_not_aligned() -> None:
    shifted = make_grid((10, 10), Affine(10, 0, 500005, 0, -10, 5600000), "EPSG:32631")
    coarser = make_grid((10, 10), Affine(20, 0, 500000, 0, -20, 5600000), "EPSG:32631")
    other_crs = make_grid((10, 10), GRID.affine, "EPSG:32632")
    assert pixel_window(GRID, shifted) is None
    assert pixel_window(GRID, coarser) is None
    assert pixel_window(GRID, other_crs) is None


def test_crs_equality_without_epsg_codes() -> None:
    wkt = ProjCRS.from_epsg(32618).to_wkt()
    wkt_no_code = wkt.replace(',ID["EPSG",32618]', "")
    assert crs_equal(wkt_no_code, "EPSG:32618")
    assert not crs_equal("EPSG:32618", "EPSG:32619")


@pytest.mark.parametrize(("size", "overlap"), [(256, 0), (256, 64), (500, 100), (2000, 10)])
def test_tiles_cover_every_pixel_and_stay_inside(size: int, overlap: int) -> None:
    tiles = tile_grid(GRID, size, overlap)
    cover = np.zeros((1000, 1200), np.int32)
    for t in tiles:
        r, c, h, w = t.window
        assert r >= 0 and c >= 0 and r + h <= 1000 and c + w <= 1200
        assert pixel_window(GRID, t.grid) == t.window
        cover[r : r + h, c : c + w] += 1
    assert cover.min() >= 1
    if size < 1000 and overlap:
        # neighbours share at least `overlap` pixels
        assert tiles[1].window[1] - tiles[0].window[1] <= size - overlap


def test_tile_overlap_must_be_smaller_than_tile() -> None:
    with pytest.raises(ValueError, match="overlap"):
        tile_grid(GRID, 64, 64)


def test_footprint_in_wgs84() -> None:
    poly = footprint_wgs84(GRID)
    lon0, lat0, lon1, lat1 = poly.bounds
    # UTM 31N, easting 500 km is the central meridian 3 degrees E
    assert 2.99 < lon0 < 3.01 and 3.1 < lon1 < 3.2
    assert 50.4 < lat0 < lat1 < 50.6
    assert bounds_in(GRID, "EPSG:4326") == pytest.approx(poly.bounds, abs=1e-9)


def test_snap_request_from_another_crs() -> None:
    target = sub_grid(GRID, 100, 100, 200, 300)
    request = grid_from_bounds(bounds_in(target, "EPSG:32632"), "EPSG:32632", 7)
    snapped = snap_to_grid(request, GRID)
    assert is_pixel_aligned(GRID, snapped)
    left, b, r, t = snapped.boundingbox
    tl, tb, tr, tt = target.boundingbox
    assert left <= tl and b <= tb and r >= tr and t >= tt
    # 32N is rotated ~4.6 degrees here, so the request's box (then re-boxed in 31N) is larger
    assert snapped.shape.x * snapped.shape.y < 1.5 * 200 * 300


def test_grid_from_bounds_snaps_origin() -> None:
    g = grid_from_bounds((500003.0, 5599001.0, 500997.0, 5599999.0), "EPSG:32631", 10)
    assert g.affine.c == 500000 and g.affine.f == 5600000
    assert (g.shape.y, g.shape.x) == (100, 100)


def test_sample_fields_round_trip() -> None:
    sub = sub_grid(GRID, 3, 4, 16, 16)
    fields = grid_to_sample(sub)
    assert isinstance(fields["crs"], str) and len(fields["transform"]) == 6
    back = grid_from_sample(fields["crs"], fields["transform"], (16, 16))
    assert back == sub
