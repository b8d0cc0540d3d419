"""Class maps become polygons per class, dissolved across blocks, with areas and confidence."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio import features
from shapely.geometry import box, shape
from tests.helpers import write_tif

from eoforge.errors import (
    ConfigError,
    CRSMismatchError,
    MissingFileError,
    UnsupportedDtypeError,
)
from eoforge.predict.vectors import polygonize_map

UTM = "EPSG:32631"
T = Affine(10, 0, 600000, 0, -10, 5700000)  # 10 m pixels


def _class_map(path: Path, classes: np.ndarray, transform: Affine = T, crs: str = UTM) -> Path:
    write_tif(path, classes.astype(np.uint8), transform, crs, nodata=255)
    with rasterio.open(path, "r+") as dst:
        dst.update_tags(1, CLASS_0="other", CLASS_2="wheat", CLASS_3="maize", CLASS_4="forest")
    return path


def _fields() -> np.ndarray:
    """200x200 map: a rectangle, an L, a ring with a hole, noise, a nodata strip."""
    m = np.zeros((200, 200), np.uint8)
    m[40:170, 30:60] = 2  # rectangle crossing rows 64 and 128
    m[10:30, 20:190] = 3  # L: a long bar across columns 64 and 128 ...
    m[10:120, 170:190] = 3  # ... and its leg down across row 64
    m[100:180, 80:160] = 4  # ring crossing both directions
    m[120:160, 100:140] = 0  # its hole, crossing row 128 and column 128
    rng = np.random.default_rng(1)
    m[175:200, 0:80] = rng.choice([0, 2, 3], size=(25, 80))  # speckle across column 64
    m[60:64, 60:165] = 255  # nodata strip ending at a block edge
    return m


def _reference(classes: np.ndarray, connectivity: int = 4) -> dict[int, list[int]]:
    """Pixel counts of the regions per class, polygonizing the whole map at once."""
    found: dict[int, list[int]] = {}
    mask = classes != 255
    for geom, value in features.shapes(classes, mask=mask, connectivity=connectivity):
        found.setdefault(int(value), []).append(round(shape(geom).area))
    return {k: sorted(v) for k, v in found.items()}


def _by_class(frame: gpd.GeoDataFrame) -> dict[int, list[int]]:
    return {
        int(k): sorted(int(p) for p in group["pixels"]) for k, group in frame.groupby("class_id")
    }


@pytest.mark.parametrize("connectivity", [4, 8])
def test_blocks_give_the_same_polygons_as_the_whole_map(tmp_path: Path, connectivity: int) -> None:
    m = _fields()
    src = _class_map(tmp_path / "classes.tif", m)
    small = polygonize_map(src, tmp_path / "small", block=64, connectivity=connectivity)  # type: ignore[arg-type]
    whole = polygonize_map(src, tmp_path / "whole", block=512, connectivity=connectivity)  # type: ignore[arg-type]
    a, b = gpd.read_parquet(small.parquet), gpd.read_parquet(whole.parquet)
    expected = _reference(m, connectivity)
    assert _by_class(a) == expected
    assert _by_class(b) == expected
    assert small.counts == whole.counts == {k: len(v) for k, v in expected.items()}
    assert a.area.sum() == pytest.approx(b.area.sum()) == pytest.approx(100 * (m != 255).sum())
    assert np.allclose(a["area_m2"], a["pixels"] * 100.0)
    assert a.geometry.is_valid.all()


def test_fields_crossing_blocks_are_one_polygon_with_their_hole(tmp_path: Path) -> None:
    m = _fields()
    out = polygonize_map(_class_map(tmp_path / "c.tif", m), tmp_path / "v", block=64)
    frame = gpd.read_parquet(out.parquet)
    assert out.counts[4] == 1  # the ring
    ring = frame[frame.class_id == 4].iloc[0]
    assert ring.class_name == "forest"
    assert ring.pixels == 80 * 80 - 40 * 40
    assert ring.geometry.geom_type == "Polygon"
    assert len(ring.geometry.interiors) == 1
    assert shapely.Polygon(ring.geometry.interiors[0]).area == pytest.approx(40 * 40 * 100)
    assert ring.geometry.bounds == pytest.approx((600800, 5698200, 601600, 5699000))
    l_shape = frame[(frame.class_id == 3) & (frame.pixels == 20 * 170 + 90 * 20)]
    assert len(l_shape) == 1
    assert len(frame[(frame.class_id == 2) & (frame.pixels == 130 * 30)]) == 1
    assert set(frame.class_name) == {"other", "wheat", "maize", "forest"}


def test_diagonal_pixels_stay_apart_with_4_connectivity(tmp_path: Path) -> None:
    m = np.zeros((40, 40), np.uint8)
    m[18:20, 18:20] = 2  # touches the next square only at the corner (20, 20),
    m[20:22, 20:22] = 2  # which is also the corner of four blocks
    src = _class_map(tmp_path / "c.tif", m)
    four = polygonize_map(src, tmp_path / "four", block=20, connectivity=4)
    eight = polygonize_map(src, tmp_path / "eight", block=20, connectivity=8)
    assert four.counts[2] == 2
    assert eight.counts[2] == 1
    joined = gpd.read_parquet(eight.parquet).query("class_id == 2").iloc[0]
    assert joined.pixels == 8
    assert joined.geometry.geom_type == "MultiPolygon"


@pytest.mark.parametrize("dtype", ["uint8", "float32"])
def test_mean_confidence_of_a_merged_polygon(tmp_path: Path, dtype: str) -> None:
    m = _fields()
    rng = np.random.default_rng(2)
    raw = rng.integers(0, 256, m.shape)
    conf = raw.astype(np.uint8) if dtype == "uint8" else (raw / 255.0).astype(np.float32)
    src = _class_map(tmp_path / "c.tif", m)
    cpath = write_tif(tmp_path / "conf.tif", conf, T, UTM)
    out = polygonize_map(src, tmp_path / "v", confidence=cpath, block=64)
    frame = gpd.read_parquet(out.parquet)
    ring = frame[frame.class_id == 4].iloc[0]
    under = np.zeros(m.shape, bool)
    under[100:180, 80:160] = True
    under[120:160, 100:140] = False
    assert ring.mean_confidence == pytest.approx(raw[under].mean() / 255.0, rel=1e-6)
    rect = frame[(frame.class_id == 2) & (frame.pixels == 130 * 30)].iloc[0]
    assert rect.mean_confidence == pytest.approx(raw[40:170, 30:60].mean() / 255.0, rel=1e-6)
    assert frame.mean_confidence.between(0, 1).all()


def test_nodata_makes_no_polygons(tmp_path: Path) -> None:
    m = np.full((100, 100), 255, np.uint8)
    out = polygonize_map(_class_map(tmp_path / "c.tif", m), tmp_path / "v", block=32)
    assert out.counts == {}
    assert out.total == 0
    assert len(gpd.read_parquet(out.parquet)) == 0
    assert json.loads(out.geojson.read_text())["features"] == []
    m[10:20, 10:20] = 7
    out = polygonize_map(_class_map(tmp_path / "d.tif", m), tmp_path / "w", block=32, skip=(255, 7))
    assert out.counts == {}


def test_geojson_is_wgs84_over_the_right_ground(tmp_path: Path) -> None:
    m = np.full((200, 200), 255, np.uint8)
    m[40:170, 30:60] = 2
    out = polygonize_map(_class_map(tmp_path / "c.tif", m), tmp_path / "v", block=64)
    doc = json.loads(out.geojson.read_text())
    assert "crs" not in doc or "CRS84" in json.dumps(doc["crs"])
    (feature,) = doc["features"]
    assert feature["properties"]["class_name"] == "wheat"
    assert feature["properties"]["area_m2"] == pytest.approx(130 * 30 * 100)
    ground = box(600300, 5698300, 600600, 5699600)  # cols 30..60, rows 40..170
    to_wgs = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    expected = shapely.transform(ground, lambda xy: np.column_stack(to_wgs.transform(*xy.T)))
    got = shape(feature["geometry"])
    assert got.bounds == pytest.approx(expected.bounds, abs=1e-6)
    assert 4.4 < got.centroid.x < 4.5 and 51.4 < got.centroid.y < 51.5  # near Antwerp
    back = gpd.read_parquet(out.parquet)
    assert CRS(back.crs) == CRS(UTM)
    assert back.geometry.iloc[0].equals(ground)
    assert gpd.read_file(out.geojson).crs.to_epsg() == 4326


def test_simplify_reduces_vertices_and_keeps_area(tmp_path: Path) -> None:
    yy, xx = np.mgrid[0:200, 0:200]
    m = np.where((yy - 100) ** 2 + (xx - 100) ** 2 < 70**2, 2, 0).astype(np.uint8)
    m[(yy - 100) ** 2 + (xx - 100) ** 2 < 30**2] = 3
    src = _class_map(tmp_path / "c.tif", m)
    plain = gpd.read_parquet(polygonize_map(src, tmp_path / "a", block=64).parquet)
    simple = gpd.read_parquet(polygonize_map(src, tmp_path / "b", block=64, simplify=15).parquet)
    assert len(simple) == len(plain) == 3
    vertices = shapely.get_num_coordinates
    assert vertices(simple.geometry.values).sum() < 0.5 * vertices(plain.geometry.values).sum()
    disc = simple[simple.class_id == 3].geometry.iloc[0]
    assert disc.area == pytest.approx(np.pi * 300**2, rel=0.03)
    for a, b in zip(
        plain.sort_values("class_id").area, simple.sort_values("class_id").area, strict=True
    ):
        assert b == pytest.approx(a, rel=0.03)
    assert simple.geometry.is_valid.all()
    # neighbours still share their edges: no gaps or overlaps in the covered area
    assert shapely.union_all(simple.geometry.values).area == pytest.approx(simple.area.sum())
    assert list(simple.area_m2) == list(plain.area_m2)  # attributes describe the pixels


def test_min_area_drops_small_polygons(tmp_path: Path) -> None:
    m = _fields()
    out = polygonize_map(_class_map(tmp_path / "c.tif", m), tmp_path / "v", block=64, min_area=500)
    frame = gpd.read_parquet(out.parquet)
    assert (frame.area_m2 >= 500).all()
    assert out.total == len(frame) < sum(len(v) for v in _reference(m).values())


def test_geographic_map_has_areas_in_square_metres(tmp_path: Path) -> None:
    # 0.0001° pixels near 51°N; the same field measured on UTM 31N
    geo = Affine(0.0001, 0, 2.40, 0, -0.0001, 51.50)
    m = np.full((200, 200), 255, np.uint8)
    m[20:180, 40:190] = 2
    out = polygonize_map(
        _class_map(tmp_path / "c.tif", m, geo, "EPSG:4326"), tmp_path / "v", block=64
    )
    field = gpd.read_parquet(out.parquet).iloc[0]
    utm_area = gpd.GeoSeries([field.geometry], crs="EPSG:4326").to_crs(UTM).area.iloc[0]
    assert field.area_m2 == pytest.approx(utm_area, rel=0.01)
    assert field.pixels == 160 * 150


def test_bad_confidence_grid_fails_and_leaves_no_files(tmp_path: Path) -> None:
    m = _fields()
    src = _class_map(tmp_path / "c.tif", m)
    out_dir = tmp_path / "out"
    shifted = write_tif(
        tmp_path / "shifted.tif", np.zeros((200, 200), np.uint8), T @ Affine.translation(1, 0), UTM
    )
    with pytest.raises(ConfigError, match="not on the grid") as info:
        polygonize_map(src, out_dir / "v", confidence=shifted)
    assert "shifted.tif" in str(info.value)
    other_crs = write_tif(tmp_path / "crs.tif", np.zeros((200, 200), np.uint8), T, "EPSG:32632")
    with pytest.raises(CRSMismatchError):
        polygonize_map(src, out_dir / "v", confidence=other_crs)
    wrong_type = write_tif(tmp_path / "int.tif", np.zeros((200, 200), np.int16), T, UTM)
    with pytest.raises(UnsupportedDtypeError):
        polygonize_map(src, out_dir / "v", confidence=wrong_type)
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_failed_write_publishes_nothing(tmp_path: Path) -> None:
    src = _class_map(tmp_path / "c.tif", _fields())
    (tmp_path / "v.geojson").mkdir()  # the GeoJSON cannot take its name
    with pytest.raises(ConfigError, match="folder"):
        polygonize_map(src, tmp_path / "v", block=64)
    assert not (tmp_path / "v.parquet").exists()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(locked, os.W_OK):  # running as root: permissions are not enforced
            pytest.skip("cannot make a read-only folder here")
        with pytest.raises(PermissionError):
            polygonize_map(src, locked / "v", block=64)
        assert list(locked.iterdir()) == []
    finally:
        locked.chmod(stat.S_IRWXU)


def test_input_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(MissingFileError, match=r"nope\.tif"):
        polygonize_map(tmp_path / "nope.tif", tmp_path / "v")
    two = write_tif(tmp_path / "two.tif", np.zeros((2, 32, 32), np.uint8), T, UTM)
    with pytest.raises(ConfigError, match="2 bands"):
        polygonize_map(two, tmp_path / "v")
    floats = write_tif(tmp_path / "f.tif", np.zeros((32, 32), np.float32), T, UTM)
    with pytest.raises(UnsupportedDtypeError, match=r"f\.tif"):
        polygonize_map(floats, tmp_path / "v")
    src = _class_map(tmp_path / "c.tif", np.zeros((32, 32), np.uint8))
    with pytest.raises(ConfigError, match="block"):
        polygonize_map(src, tmp_path / "v", block=0)
    assert not list(tmp_path.glob("v.*"))


def test_crs_without_wgs84_link_fails_before_writing(tmp_path: Path) -> None:
    local = 'LOCAL_CS["site grid",UNIT["metre",1],AXIS["Easting",EAST],AXIS["Northing",NORTH]]'
    src = write_tif(tmp_path / "local.tif", np.zeros((32, 32), np.uint8), T, local)
    with pytest.raises(CRSMismatchError, match="EPSG:4326"):
        polygonize_map(src, tmp_path / "v")
    assert not list(tmp_path.glob("*v.*"))
