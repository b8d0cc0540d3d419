"""Search results on disk: GeoJSON in WGS84, GeoParquet and GeoPackage in the index's CRS."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import pytest
import shapely

from eoforge.embeddings.results import write_results
from eoforge.errors import ConfigError


@pytest.fixture
def found() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(
        {
            "rank": [0, 1],
            "score": [0.9, 0.8],
            "time": [pd.Timestamp("2024-07-01", tz="UTC"), pd.NaT],
        },
        geometry=[shapely.box(600000, 5700000, 600640, 5700640)] * 2,
        crs="EPSG:32631",
    )


def test_each_format_in_its_crs_and_no_partial_file(
    found: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    for suffix in (".parquet", ".gpkg", ".geojson"):
        write_results(found, tmp_path / f"hits{suffix}")
    assert gpd.read_parquet(tmp_path / "hits.parquet").crs == found.crs
    assert pyogrio.list_layers(tmp_path / "hits.gpkg")[0][0] == "hits"  # not the staging name
    assert gpd.read_file(tmp_path / "hits.gpkg").crs == found.crs
    lonlat = gpd.read_file(tmp_path / "hits.geojson")
    assert lonlat.crs == "EPSG:4326" and 4 < lonlat.total_bounds[0] < 5
    assert list(lonlat["time"].isna()) == [False, True]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "hits.geojson",
        "hits.gpkg",
        "hits.parquet",
    ]


def test_an_unknown_suffix_is_refused_naming_the_file(
    found: gpd.GeoDataFrame, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"cannot write \.csv") as error:
        write_results(found, tmp_path / "hits.csv")
    assert "hits.csv" in str(error.value) and not any(tmp_path.iterdir())
