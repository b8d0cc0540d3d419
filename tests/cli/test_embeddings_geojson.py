"""``eoforge embeddings search --out``: GeoJSON in WGS84 lon/lat, GeoParquet and GPKG native."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import CRS
from tests.embeddings.windows import embedding_bundle, write_scene
from tests.helpers import run_cli

from eoforge.embeddings import embed


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of one UTM 31N scene (24 windows of 160 m)."""
    folder = tmp_path_factory.mktemp("geojson")
    bundle = embedding_bundle(folder / "encoder")
    table = embed(bundle, write_scene(folder / "scene.tif"), folder / "emb")[0]
    with pytest.MonkeyPatch.context() as monkeypatch:
        code = run_cli(["embeddings", "index", str(table.paths["embeddings"]),
                        "--out", str(folder / "index")], monkeypatch)  # fmt: skip
    assert code == 0
    return folder / "index"


def test_search_writes_geojson_in_wgs84_and_keeps_the_native_crs_elsewhere(
    index: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outs = {suffix: tmp_path / f"similar{suffix}" for suffix in (".geojson", ".parquet", ".gpkg")}
    for out in outs.values():
        args = ["embeddings", "search", str(index), "--like", "15", "--k", "5", "--out", str(out)]
        assert run_cli(args, monkeypatch) == 0
    native = gpd.read_parquet(outs[".parquet"])
    assert CRS.from_user_input(native.crs) == CRS.from_epsg(32631)
    assert CRS.from_user_input(gpd.read_file(outs[".gpkg"]).crs) == CRS.from_epsg(32631)
    wgs84 = gpd.read_file(outs[".geojson"])
    assert CRS.from_user_input(wgs84.crs) == CRS.from_epsg(4326)
    assert list(wgs84.id) == list(native.id)
    # lon/lat of the windows near 600 km E, 5700 km N of zone 31N: about 4.4 E, 51.4 N
    minx, miny, maxx, maxy = wgs84.total_bounds
    assert 4.3 < minx < maxx < 4.5 and 51.3 < miny < maxy < 51.5
    back = wgs84.to_crs(32631)
    for mine, theirs in zip(back.geometry, native.geometry, strict=True):
        assert mine.centroid.distance(theirs.centroid) < 0.01  # metres, after the round trip
