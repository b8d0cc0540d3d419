"""Windows of scenes, rasters and catalogs → the caption table on disk, and bad input."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyarrow.parquet as pq
import pytest
import rasterio
from shapely.geometry import LineString, Point, box
from tests.helpers import write_tif

from eoforge.captions import (
    CaptionOptions,
    caption_windows,
    read_captions,
    verify,
    write_captions,
)
from eoforge.catalog import Catalog
from eoforge.errors import (
    ConfigError,
    LabelsOutsideSceneError,
    NotGeoreferencedError,
    UnreadableFileError,
)

CRS = "EPSG:32631"


def _class_raster(path: Path, labels: np.ndarray, nodata: int | None = 0) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    write_tif(
        path,
        labels[None].astype(np.uint8),
        crs=CRS,
        transform=(10, 0, 600000, 0, -10, 5000000),
        nodata=nodata,
    )
    return path


def _legend(path: Path) -> Path:
    entries = [
        {"value": 1, "name": "water", "color": [0, 0, 255]},
        {"value": 2, "name": "forest", "color": [0, 128, 0]},
    ]
    path.write_text(json.dumps({"landcover": entries}))
    return path


def test_table_schema_metadata_and_read_back(flood_scene: Path, tmp_path: Path) -> None:
    made = caption_windows(flood_scene, CaptionOptions(window=64, per_window=2, seed=3))
    out = write_captions(made.frame, made.meta, tmp_path / "c.parquet")
    assert not list(tmp_path.glob(".*partial*"))  # written under a temporary name, then renamed
    schema = pq.read_schema(out)
    assert str(schema.field("window_id").type) == "int64"
    assert str(schema.field("time").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("scene").type) in ("string", "large_string")
    meta = json.loads(schema.metadata[b"eoforge:captions"])
    assert meta["version"] == 1 and meta["seed"] == 3 and meta["window_px"] == 64
    assert meta["gsd"] == 10.0
    assert [c["name"] for c in meta["classes"]][:3] == ["water", "forest", "grassland"]
    assert meta["classes"][0]["colour"] == "#2673ca"
    assert "landcover_" in meta["labels"] and "buildings.parquet" in meta["labels"]
    table = read_captions(out)
    frame = table.frame
    assert len(table) == len(made.frame) == 2 * 16 * 3  # 3 dates x 16 windows x 2 captions
    assert made.windows == 48 and made.skipped == 0
    assert frame.crs == rasterio.open(next((flood_scene / "labels").glob("*.tif"))).crs
    assert frame.groupby("window_id").size().eq(2).all()
    assert set(frame["scene"]) == {"flood"}
    assert sorted({t.date().isoformat() for t in frame["time"]}) == [
        "2024-03-01",
        "2024-07-01",
        "2024-10-31",
    ]
    first = frame.iloc[0]
    assert first.geometry.bounds[2] - first.geometry.bounds[0] == pytest.approx(640.0)
    for i in range(len(table)):
        assert verify(frame["caption"].iloc[i], table.facts(i)).ok
    gdf = gpd.read_parquet(out)
    assert list(gdf.columns) == ["window_id", "scene", "time", "caption", "facts", "geometry"]


def test_same_seed_same_table_other_seed_other_words(flood_scene: Path) -> None:
    opts = CaptionOptions(window=64, per_window=3, dates=[dt.date(2024, 7, 1)])
    a = caption_windows(flood_scene, opts).frame
    b = caption_windows(flood_scene, opts).frame
    c = caption_windows(
        flood_scene, CaptionOptions(window=64, per_window=3, seed=1, dates=opts.dates)
    ).frame
    assert a["caption"].tolist() == b["caption"].tolist()
    assert a["facts"].tolist() == c["facts"].tolist()
    differ = sum(x != y for x, y in zip(a["caption"], c["caption"], strict=True))
    assert differ > len(a) * 0.8
    # the captions of one window differ from each other
    assert a.groupby("window_id")["caption"].nunique().eq(3).all()


def test_change_captions_of_the_flood(flood_scene: Path) -> None:
    made = caption_windows(
        flood_scene,
        CaptionOptions(
            window=64, per_window=3, sentences=3, change=(dt.date(2024, 3, 1), dt.date(2024, 7, 1))
        ),
    )
    text = " ".join(made.frame["caption"])
    assert "spread over" in text and "Between 1 March 2024 and 1 July 2024" in text
    facts = [json.loads(f)["change"] for f in made.frame["facts"]]
    water = [g for f in facts for g in f["gains"] if g["name"] == "water"]
    assert water and max(g["share"] for g in water) > 0.1  # the middle date's flood
    assert {t.date() for t in made.frame["time"]} == {dt.date(2024, 7, 1)}


def test_a_class_raster_with_a_legend_and_nodata(tmp_path: Path) -> None:
    labels = np.full((64, 64), 2, dtype=np.uint8)
    labels[:, 40:] = 1
    labels[:32, :32] = 0  # a quarter of nodata: the north-west window is skipped
    raster = _class_raster(tmp_path / "labels" / "landcover_20240601.tif", labels)
    _legend(tmp_path / "legend.json")
    made = caption_windows(raster, CaptionOptions(window=32, per_window=1, min_valid=0.5))
    assert made.windows == 3 and made.skipped == 1
    assert set(made.frame["scene"]) == {"landcover_20240601"}
    assert made.frame["time"].iloc[0].isoformat() == "2024-06-01T00:00:00+00:00"
    # coarser gsd: 20 m windows of 16 px read the raster decimated by nearest neighbour
    coarse = caption_windows(
        raster, CaptionOptions(window=16, gsd=20.0, per_window=1, min_valid=0.0)
    )
    assert coarse.meta.gsd == 20.0 and coarse.windows == 3 and coarse.skipped == 1  # no valid px
    assert coarse.frame.geometry.iloc[0].bounds[2] - coarse.frame.geometry.iloc[0].bounds[0] == 320


def test_a_stac_catalog_of_a_scene(flood_scene: Path, tmp_path: Path) -> None:
    made = caption_windows(
        flood_scene / "stac" / "collection.json", CaptionOptions(window=128, per_window=1)
    )
    assert set(made.frame["scene"]) == {"labels-20240301", "labels-20240701", "labels-20241031"}
    assert made.windows == 12
    catalog = Catalog.from_stac(flood_scene / "stac" / "collection.json")
    saved = catalog.save(tmp_path / "catalog.parquet")
    again = caption_windows(
        saved, CaptionOptions(window=128, per_window=1, dates=[dt.date(2024, 7, 1)])
    )
    assert set(again.frame["scene"]) == {"labels-20240701"} and again.windows == 4
    with pytest.raises(ConfigError, match=r"no label raster with the band 'lulc'.*landcover"):
        caption_windows(flood_scene / "stac" / "collection.json", CaptionOptions(labels="lulc"))


def test_unknown_class_values_are_refused(tmp_path: Path) -> None:
    labels = np.full((32, 32), 2, dtype=np.uint8)
    labels[5, 5] = 7
    raster = _class_raster(tmp_path / "lc.tif", labels)
    _legend(tmp_path / "legend.json")
    with pytest.raises(
        ConfigError, match=r"lc.tif: .*values the legend does not name: \[7\].*Fix: add them"
    ):
        caption_windows(raster, CaptionOptions(window=32))


def test_windows_outside_the_labels_are_refused(tmp_path: Path) -> None:
    raster = _class_raster(tmp_path / "lc.tif", np.full((32, 32), 1, dtype=np.uint8))
    _legend(tmp_path / "legend.json")
    with pytest.raises(LabelsOutsideSceneError, match="does not fit in the labels"):
        caption_windows(raster, CaptionOptions(window=64))
    with pytest.raises(LabelsOutsideSceneError, match="no window lies inside the bounds"):
        caption_windows(raster, CaptionOptions(window=16, bounds=(0, 0, 100, 100)))
    inside = caption_windows(
        raster, CaptionOptions(window=16, bounds=(600000, 4999680, 600160, 5000000))
    )
    assert inside.windows == 2  # the western column of windows


def test_change_dates_missing_are_named(flood_scene: Path) -> None:
    with pytest.raises(
        ConfigError, match=r"no scene has labels on both.*2024-03-01, 2024-07-01, 2024-10-31"
    ):
        caption_windows(
            flood_scene, CaptionOptions(change=(dt.date(2024, 1, 1), dt.date(2024, 7, 1)))
        )
    with pytest.raises(ConfigError, match="not in order"):
        caption_windows(
            flood_scene, CaptionOptions(change=(dt.date(2024, 7, 1), dt.date(2024, 3, 1)))
        )


def _scene_raster(tmp_path: Path) -> Path:
    raster = _class_raster(tmp_path / "lc.tif", np.full((32, 32), 2, dtype=np.uint8))
    _legend(tmp_path / "legend.json")
    return raster


def test_vector_layers_counted_and_bad_layers_refused(tmp_path: Path) -> None:
    raster = _scene_raster(tmp_path)
    x0, y1 = 600000, 5000000
    ships = gpd.GeoDataFrame(
        {"class": ["ship", "ship", "buoy"]},
        geometry=[Point(x0 + 50, y1 - 50), Point(x0 + 60, y1 - 70), Point(x0 + 250, y1 - 250)],
        crs=CRS,
    )
    ships.to_parquet(tmp_path / "marine.parquet")
    made = caption_windows(
        raster, CaptionOptions(window=16, per_window=1, vectors=[tmp_path / "marine.parquet"])
    )
    counts = [json.loads(f)["counts"] for f in made.frame["facts"]]
    assert counts[0] == [
        {"layer": "marine", "noun": "buoy", "count": 0, "areas": [], "kinds": {}},
        {"layer": "marine", "noun": "ship", "count": 2, "areas": [], "kinds": {}},
    ]
    assert [c[1]["count"] for c in counts] == [2, 0, 0, 0]
    assert [c[0]["count"] for c in counts] == [0, 0, 0, 1]

    ships.drop(columns="class").to_parquet(tmp_path / "things.parquet")
    with pytest.raises(ConfigError, match=r"things.parquet: .*no class column.*--vector-class"):
        caption_windows(raster, CaptionOptions(window=16, vectors=[tmp_path / "things.parquet"]))
    gpd.GeoDataFrame({"class": ["ship"]}, geometry=[Point(x0, y1)]).to_parquet(
        tmp_path / "nocrs.parquet"
    )
    with pytest.raises(NotGeoreferencedError, match=r"nocrs.parquet: the vector layer has no CRS"):
        caption_windows(raster, CaptionOptions(window=16, vectors=[tmp_path / "nocrs.parquet"]))
    mixed = gpd.GeoDataFrame(
        {"class": ["a", "b"]},
        geometry=[Point(x0, y1), LineString([(x0, y1), (x0 + 9, y1)])],
        crs=CRS,
    )
    mixed.to_parquet(tmp_path / "mixed.parquet")
    with pytest.raises(UnreadableFileError, match="mixes geometry types"):
        caption_windows(raster, CaptionOptions(window=16, vectors=[tmp_path / "mixed.parquet"]))
    with pytest.raises(ConfigError, match="has no column 'kind'"):
        caption_windows(
            raster,
            CaptionOptions(window=16, vectors=[tmp_path / "marine.parquet"], vector_class="kind"),
        )


def test_a_layer_in_another_crs_is_moved(tmp_path: Path) -> None:
    raster = _scene_raster(tmp_path)
    roads = gpd.GeoDataFrame(
        {"kind": ["major"]},
        geometry=[LineString([(600000 - 10, 4999900), (600330, 4999900)])],
        crs=CRS,
    ).to_crs("EPSG:4326")
    roads.to_parquet(tmp_path / "roads.parquet")
    made = caption_windows(
        raster, CaptionOptions(window=16, per_window=1, vectors=[tmp_path / "roads.parquet"])
    )
    facts = [json.loads(f) for f in made.frame["facts"]]
    lengths = [f["lines"][0]["metres"] for f in facts]
    assert lengths[:2] == [pytest.approx(160, abs=0.5)] * 2 and lengths[2:] == [0, 0]
    assert facts[0]["crossings"] == [{"name": "major road", "axis": "west-east", "source": "roads"}]


def test_read_captions_refuses_other_files(tmp_path: Path) -> None:
    frame = gpd.GeoDataFrame({"caption": ["x"]}, geometry=[box(0, 0, 1, 1)], crs=CRS)
    frame.to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(
        UnreadableFileError, match=r"plain.parquet: not a caption table.*eoforge:captions"
    ):
        read_captions(tmp_path / "plain.parquet")
    (tmp_path / "junk.parquet").write_text("not parquet")
    with pytest.raises(UnreadableFileError, match="not a Parquet file"):
        read_captions(tmp_path / "junk.parquet")
    with pytest.raises(FileNotFoundError):
        read_captions(tmp_path / "missing.parquet")


def test_change_between_rasters_on_other_grids_is_refused(tmp_path: Path) -> None:
    _class_raster(tmp_path / "labels" / "landcover_20240101.tif", np.full((32, 32), 1, np.uint8))
    other = np.full((40, 40), 1, np.uint8)
    _class_raster(tmp_path / "labels" / "landcover_20240601.tif", other)
    _legend(tmp_path / "legend.json")
    with pytest.raises(ConfigError, match=r"landcover_20240101.tif: .*different grids"):
        caption_windows(
            tmp_path,
            CaptionOptions(window=16, change=(dt.date(2024, 1, 1), dt.date(2024, 6, 1))),
        )


def test_labels_in_degrees_are_measured_in_metres(tmp_path: Path) -> None:
    raster = tmp_path / "lc.tif"
    # 0.0001 deg pixels near 45 N: about 7.9 m east-west, 11.1 m north-south
    write_tif(raster, np.full((1, 32, 32), 2, np.uint8), crs="EPSG:4326",
              transform=(0.0001, 0, 4.85, 0, -0.0001, 45.75), nodata=0)  # fmt: skip
    _legend(tmp_path / "legend.json")
    road = gpd.GeoDataFrame(
        {"kind": ["major"]}, geometry=[LineString([(4.849, 45.7495), (4.8545, 45.7495)])], crs=4326
    )
    road.to_parquet(tmp_path / "roads.parquet")
    made = caption_windows(
        raster, CaptionOptions(window=32, per_window=1, vectors=[tmp_path / "roads.parquet"])
    )
    (facts,) = [json.loads(f) for f in made.frame["facts"]]
    # 32 pixels of 0.0001 deg of longitude at 45.75 N: 32 * 7.77 m
    assert facts["lines"][0]["metres"] == pytest.approx(32 * 0.0001 * 111_320 * 0.6978, rel=0.01)
    assert facts["crossings"][0]["axis"] == "west-east"
    assert made.frame.crs == "EPSG:4326"
