"""Catalog built from synthetic GeoTIFFs: grouping, queries, save/load, reading back."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely.geometry
from odc.geo.geobox import GeoBox
from pyproj import Transformer
from tests.helpers import coord_image, write_tif

from eoforge.catalog import Catalog
from eoforge.errors import CatalogError, NotGeoreferencedError
from eoforge.geo.grid import make_grid
from eoforge.io.reader import read

PATTERN = r"(?P<sensor>S2[AB]|L8)_(?P<date>\d{8})(?:_(?P<band>B\d\w))?"
SIZE = 32
RES = 10.0
X0, Y0 = 500000.0, 5000000.0  # the same easting/northing in two UTM zones: 3 E and 9 E


def _transform() -> tuple[float, ...]:
    return (RES, 0.0, X0, 0.0, -RES, Y0)


@pytest.fixture()
def scenes(tmp_path: Path) -> Path:
    """Two band-per-file S2 scenes in UTM 31N, one multi-band L8 scene in UTM 32N, labels."""
    root = tmp_path / "data"
    zone31 = root / "zone31"
    zone31.mkdir(parents=True)
    for sensor, day in (("S2A", "20200105"), ("S2B", "20200220")):
        for b, band in enumerate(("B02", "B03", "B04")):
            data = coord_image(SIZE, SIZE, 1)[0] + 1000 * (b + 1)
            write_tif(zone31 / f"{sensor}_{day}_{band}.tif", data, _transform(), "EPSG:32631")
    zone32 = root / "zone32"
    zone32.mkdir()
    write_tif(
        zone32 / "L8_20200310.tif",
        coord_image(SIZE, SIZE, 3),
        _transform(),
        "EPSG:32632",
        nodata=0,
    )
    labels = root / "labels"
    labels.mkdir()
    mask = np.zeros((SIZE, SIZE), np.uint8)
    mask[:10, :10] = 1
    write_tif(labels / "buildings_mask.tif", mask, _transform(), "EPSG:32631")
    box = shapely.geometry.box(X0 + 20, Y0 - 100, X0 + 60, Y0 - 20)
    gpd.GeoDataFrame({"cls": [1]}, geometry=[box], crs="EPSG:32631").to_file(
        labels / "buildings.geojson"
    )
    with rasterio.open(
        root / "plain.png", "w", driver="PNG", width=8, height=8, count=1, dtype="uint8"
    ) as dst:
        dst.write(np.zeros((1, 8, 8), np.uint8))
    return root


def _catalog(root: Path) -> Catalog:
    return Catalog.from_paths([root], pattern=PATTERN, progress=False)


def test_groups_band_files_and_reads_names(scenes: Path) -> None:
    catalog = _catalog(scenes)
    frame = catalog.frame.set_index("id")
    assert sorted(frame.index) == sorted(
        ["S2A_20200105", "S2B_20200220", "L8_20200310", "buildings_mask", "buildings"]
    )
    s2a = frame.loc["S2A_20200105"]
    assert s2a["kind"] == "image"
    assert list(s2a["bands"]) == ["S2.B02", "S2.B03", "S2.B04"]
    assert s2a["sensor"] == "S2"
    assert s2a["datetime"] == pd.Timestamp("2020-01-05", tz="UTC")
    assert s2a["epsg"] == 32631
    assert s2a["resolution"] == pytest.approx(RES)
    assert frame.loc["L8_20200310", "sensor"] == "L8"
    assert frame.loc["L8_20200310", "epsg"] == 32632
    assert len(frame.loc["L8_20200310", "bands"]) == 3
    assert frame.loc["buildings_mask", "kind"] == "label_raster"
    assert frame.loc["buildings", "kind"] == "label_vector"
    # The footprint is the UTM square in lon/lat: 31N at 3 E, 32N at 9 E, both at 45.15 N.
    lon, lat = frame.loc["S2A_20200105", "geometry"].centroid.coords[0]
    assert lon == pytest.approx(3.0, abs=0.01) and lat == pytest.approx(45.152, abs=0.001)
    lon32 = frame.loc["L8_20200310", "geometry"].centroid.x
    assert lon32 == pytest.approx(9.0, abs=0.01)
    assert [s.path for s in catalog.skipped] == [str(scenes / "plain.png")]
    assert "no coordinate reference system" in catalog.skipped[0].reason


def test_query_bbox_in_web_mercator_and_utm(scenes: Path) -> None:
    catalog = _catalog(scenes)
    to_3857 = Transformer.from_crs("EPSG:32631", "EPSG:3857", always_xy=True)
    (x0, x1), (y0, y1) = to_3857.transform([X0 + 40, X0 + 200], [Y0 - 200, Y0 - 40])
    hits = catalog.query(
        bbox=(min(x0, x1), min(y0, y1), max(x0, x1), max(y0, y1)), bbox_crs="EPSG:3857"
    )
    assert sorted(hits.frame["id"]) == sorted(
        ["S2A_20200105", "S2B_20200220", "buildings_mask", "buildings"]
    )
    utm = catalog.query(bbox=(X0 + 10, Y0 - 50, X0 + 30, Y0 - 10), bbox_crs="EPSG:32632")
    assert list(utm.frame["id"]) == ["L8_20200310"]
    # A box just east of the scene (in its own UTM zone) touches nothing.
    east = catalog.query(bbox=(X0 + 400, Y0 - 50, X0 + 500, Y0 - 10), bbox_crs=32631)
    assert len(east) == 0


def test_query_time_sensor_bands_kind(scenes: Path) -> None:
    catalog = _catalog(scenes)
    feb = catalog.query(start="2020-02-01", end="2020-02-20")  # the end date is inclusive
    assert list(feb.frame["id"]) == ["S2B_20200220"]
    exact = catalog.query(
        start=datetime(2020, 1, 5, tzinfo=UTC), end=datetime(2020, 1, 5, tzinfo=UTC)
    )
    assert list(exact.frame["id"]) == ["S2A_20200105"]
    assert sorted(catalog.query(sensor="S2").frame["id"]) == ["S2A_20200105", "S2B_20200220"]
    assert list(catalog.query(sensor="landsat-8").frame["id"]) == ["L8_20200310"]
    with_red = catalog.query(bands=["red", "S2.B03"])  # aliases resolve per row's sensor
    assert sorted(with_red.frame["id"]) == ["S2A_20200105", "S2B_20200220"]
    assert list(catalog.query(kind="label_vector").frame["id"]) == ["buildings"]
    both = catalog.query(sensor="S2", start="2020-01-01", end="2020-01-31", bands=["B04"])
    assert list(both.frame["id"]) == ["S2A_20200105"]
    with pytest.raises(CatalogError, match="unknown catalog kind"):
        catalog.query(kind="scene")


def test_save_load_round_trip_and_read_same_pixels(scenes: Path, tmp_path: Path) -> None:
    catalog = _catalog(scenes)
    out = catalog.save(tmp_path / "out" / "catalog.parquet")
    assert out.is_file() and not list(out.parent.glob(".*tmp"))
    loaded = Catalog.load(out)
    columns = [c for c in catalog.frame.columns if c != "geometry"]
    pd.testing.assert_frame_equal(loaded.frame[columns], catalog.frame[columns])
    assert all(loaded.frame.geometry.geom_equals_exact(catalog.frame.geometry, 1e-9))
    assert loaded.frame.crs == "EPSG:4326"
    assert loaded.skipped == catalog.skipped
    entries = {e.id: e for e in loaded}
    assert entries["S2B_20200220"].datetime == datetime(2020, 2, 20, tzinfo=UTC)
    assert entries["buildings"].source is None
    sources = {s.name: s for s in loaded.sources(kind="image")}
    assert set(sources) == {"S2A_20200105", "S2B_20200220", "L8_20200310"}
    s2 = sources["S2B_20200220"]
    grid = make_grid((SIZE, SIZE), _transform(), "EPSG:32631")
    array, valid = read(s2, grid, ["S2.B02", "S2.B04"])
    with rasterio.open(scenes / "zone31" / "S2B_20200220_B04.tif") as ds:
        expected = ds.read(1).astype(np.float32)
    np.testing.assert_array_equal(array[1], expected)
    np.testing.assert_array_equal(array[0], expected - 2000)
    assert valid.all()
    l8 = sources["L8_20200310"]
    l8_array, l8_valid = read(l8, make_grid((SIZE, SIZE), _transform(), "EPSG:32632"), l8.bands)
    with rasterio.open(scenes / "zone32" / "L8_20200310.tif") as ds:
        raw = ds.read().astype(np.float32)
    np.testing.assert_array_equal(l8_array[:, l8_valid], raw[:, l8_valid])
    assert (~l8_valid).sum() == 1  # coord_image is 0 (= nodata) at band 0, row 0, col 0


def test_explicit_files_raise_folders_skip(scenes: Path) -> None:
    with pytest.raises(NotGeoreferencedError, match=r"plain\.png"):
        Catalog.from_paths([scenes / "plain.png"], progress=False)
    with pytest.raises(NotGeoreferencedError):
        Catalog.from_paths([scenes], strict=True, progress=False)
    lenient = Catalog.from_paths([scenes / "plain.png"], strict=False, progress=False)
    assert len(lenient) == 0 and len(lenient.skipped) == 1


def test_explicit_band_files_group_into_one_scene(scenes: Path) -> None:
    files = sorted((scenes / "zone31").glob("S2A_*"))
    catalog = Catalog.from_paths(files, pattern=PATTERN, progress=False)
    assert len(catalog) == 1
    assert catalog["S2A_20200105"].bands == ("S2.B02", "S2.B03", "S2.B04")


def test_load_rejects_other_parquet(tmp_path: Path) -> None:
    other = tmp_path / "labels.parquet"
    gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.geometry.Point(0, 0)], crs=4326).to_parquet(
        other
    )
    with pytest.raises(CatalogError, match="not an eoforge catalog"):
        Catalog.load(other)
    text = tmp_path / "notes.parquet"
    text.write_text("hello")
    with pytest.raises(CatalogError, match="eoforge index"):
        Catalog.load(text)


def test_invalid_pattern_is_reported(scenes: Path) -> None:
    with pytest.raises(CatalogError, match="unknown named groups: tile"):
        Catalog.from_paths([scenes], pattern=r"(?P<tile>\d+)", progress=False)


def test_concat_keeps_ids_unique(scenes: Path) -> None:
    one = _catalog(scenes)
    both = Catalog.concat([one, one])
    assert len(both) == 2 * len(one)
    assert both.frame["id"].is_unique
    assert isinstance(both.frame, gpd.GeoDataFrame)
    assert isinstance(make_grid((1, 1), _transform(), 32631), GeoBox)
