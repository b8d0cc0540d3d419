"""Vector labels and objects agree with the rasters."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import rasterio
from rasterio.features import rasterize
from rasterio.transform import rowcol

from eoforge.synth import SceneManifest
from eoforge.synth.world import legend


def test_every_building_rasterizes_onto_building_class(scene: SceneManifest) -> None:
    frame = gpd.read_parquet(scene.root / "vectors/buildings.parquet")
    standing = frame[frame["built"].isna()]
    assert len(standing) > 20
    with rasterio.open(scene.find("landcover", scene.dates[0])) as ds:
        cls, transform, crs = ds.read(1), ds.transform, ds.crs
    assert frame.crs == crs
    covered = 0
    for i, geom in enumerate(standing.geometry):
        mask = rasterize([(geom, 1)], out_shape=cls.shape, transform=transform, fill=0).astype(bool)
        covered += bool(mask.any())
        assert np.all(cls[mask] == legend.BUILDING), standing.iloc[i]["building_id"]
    assert covered > 0.8 * len(standing)


def test_fields_carry_their_crop(scene: SceneManifest) -> None:
    frame = gpd.read_parquet(scene.root / "vectors/fields.parquet")
    with rasterio.open(scene.root / "labels/croptype.tif") as ds:
        crop, transform = ds.read(1), ds.transform
    agree = total = 0
    for geom, code in zip(frame.geometry, frame["crop_code"], strict=True):
        mask = rasterize([(geom, 1)], out_shape=crop.shape, transform=transform, fill=0).astype(
            bool
        )
        values = crop[mask]
        values = values[values > 0]
        agree += int((values == code).sum())
        total += values.size
    assert total > 1000 and agree / total > 0.98


def test_objects_lie_on_their_class(scene: SceneManifest) -> None:
    objects = gpd.read_parquet(scene.root / "vectors/objects.parquet")
    wanted = {"ship": legend.WATER, "plane": legend.AIRFIELD, "small-vehicle": legend.ROAD}
    assert set(objects["label"]) == set(wanted)
    for site in ("harbour", "airfield"):
        with rasterio.open(scene.root / f"vhr/{site}_labels.tif") as ds:
            cls, transform = ds.read(1), ds.transform
            for row in objects.itertuples():
                corners = [*list(row.geometry.exterior.coords)[:4], (row.cx, row.cy)]
                r, c = rowcol(transform, [p[0] for p in corners], [p[1] for p in corners])
                inside = [
                    (a, b)
                    for a, b in zip(r, c, strict=True)
                    if 0 <= a < cls.shape[0] and 0 <= b < cls.shape[1]
                ]
                if len(inside) < 5:
                    continue
                if row.label == "small-vehicle":
                    inside = inside[-1:]
                assert all(cls[a, b] == wanted[row.label] for a, b in inside), row


def test_dota_files_list_objects_in_pixels(scene: SceneManifest) -> None:
    text = (scene.root / "vhr/harbour.txt").read_text().splitlines()
    assert text[0].startswith("imagesource") and text[1] == "gsd:0.5"
    boxes = [line.split() for line in text[2:]]
    assert any(b[8] == "ship" for b in boxes)
    for b in boxes:
        coords = np.array(b[:8], dtype=float)
        assert coords.min() >= 0 and coords.max() <= 1024
        assert b[9] == "0"


def test_roads_connected_to_town(scene: SceneManifest) -> None:
    roads = gpd.read_parquet(scene.root / "vectors/roads.parquet")
    assert {"major", "street"} <= set(roads["kind"])
    merged = roads.geometry.buffer(1.0).union_all()
    parts = list(getattr(merged, "geoms", [merged]))
    longest = max(parts, key=lambda g: g.area)
    assert longest.area > 0.8 * merged.area


def test_geojson_and_parquet_hold_the_same_vectors(scene: SceneManifest) -> None:
    for stem in ("buildings", "fields", "roads", "objects"):
        parquet = gpd.read_parquet(scene.root / f"vectors/{stem}.parquet")
        geojson = gpd.read_file(scene.root / f"vectors/{stem}.geojson", engine="pyogrio")
        assert len(parquet) == len(geojson) > 0
        assert geojson.crs == parquet.crs
