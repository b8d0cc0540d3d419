"""Catalogs from a static STAC catalog and an ItemCollection written with pystac."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pystac
import pytest
import shapely.geometry
from pystac.extensions.eo import Band, EOExtension
from pystac.extensions.projection import ProjectionExtension
from tests.helpers import coord_image, write_tif

from eoforge.catalog import Catalog
from eoforge.geo.grid import make_grid
from eoforge.io.reader import read

TRANSFORM = (10.0, 0.0, 600000.0, 0.0, -10.0, 5100000.0)
SIZE = 16


def _item(folder: Path, item_id: str, day: int, *, with_proj: bool) -> pystac.Item:
    """An S2 item with single-band B04/B08 assets and a two-band SWIR asset."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, offset in (("B04", 100), ("B08", 200)):
        write_tif(
            folder / f"{name}.tif", coord_image(SIZE, SIZE, 1)[0] + offset, TRANSFORM, "EPSG:32633"
        )
    write_tif(folder / "swir.tif", coord_image(SIZE, SIZE, 2) + 7, TRANSFORM, "EPSG:32633")
    footprint = shapely.geometry.box(15.0, 46.0, 15.002, 46.0015)
    item = pystac.Item(
        id=item_id,
        geometry=shapely.geometry.mapping(footprint),
        bbox=list(footprint.bounds),
        datetime=datetime(2021, 6, day, 10, 30, tzinfo=UTC),
        properties={"platform": "sentinel-2a", "processing:level": "L2A"},
    )
    specs = {
        "B04": [Band.create(name="B04", common_name="red")],
        "B08": [Band.create(name="B08", common_name="nir")],
        "swir": [Band.create(name="B11"), Band.create(name="B12")],
    }
    for key, bands in specs.items():
        asset = pystac.Asset(f"./{key}.tif", media_type=pystac.MediaType.COG, roles=["data"])
        item.add_asset(key, asset)
        EOExtension.ext(asset, add_if_missing=True).bands = bands
    item.add_asset(
        "thumbnail",
        pystac.Asset("./thumb.png", media_type=pystac.MediaType.PNG, roles=["thumbnail"]),
    )
    if with_proj:
        proj = ProjectionExtension.ext(item, add_if_missing=True)
        proj.epsg = 32633
        proj.transform = list(TRANSFORM)
    return item


def _static_catalog(root: Path) -> Path:
    catalog = pystac.Catalog(id="test", description="two S2 items")
    for i, (item_id, proj) in enumerate((("item-a", True), ("item-b", False))):
        catalog.add_item(_item(root / item_id, item_id, 10 + i, with_proj=proj))
    catalog.normalize_hrefs(str(root))
    catalog.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


def test_static_catalog_indexes_band_names(tmp_path: Path) -> None:
    path = _static_catalog(tmp_path / "stac")
    assert '"href": "./B04.tif"' in (tmp_path / "stac/item-a/item-a.json").read_text()
    catalog = Catalog.from_stac(path)
    assert sorted(catalog.frame["id"]) == ["item-a", "item-b"]
    for entry in catalog:
        assert entry.bands == ("S2.B04", "S2.B08", "S2.B11", "S2.B12")
        assert entry.sensor == "S2" and entry.level == "L2A" and entry.epsg == 32633
        assert entry.resolution == pytest.approx(10.0)
    a = catalog["item-a"]
    assert a.datetime == datetime(2021, 6, 10, 10, 30, tzinfo=UTC)
    assert a.footprint.bounds == pytest.approx((15.0, 46.0, 15.002, 46.0015))
    source = a.source
    assert source is not None
    assert source.assets["S2.B12"].path == str((tmp_path / "stac/item-a/swir.tif").resolve())
    assert source.assets["S2.B12"].index == 2
    grid = make_grid((SIZE, SIZE), TRANSFORM, "EPSG:32633")
    array, valid = read(source, grid, ["nir", "S2.B11", "S2.B12"])
    base = coord_image(SIZE, SIZE, 2).astype(np.float32)
    np.testing.assert_array_equal(array[0], base[0] + 200)
    np.testing.assert_array_equal(array[1:], base + 7)
    assert valid.all()
    # item-b has no proj:epsg: its CRS was read from the GeoTIFF.
    assert "UTM zone 33N" in catalog["item-b"].crs


def test_item_collection_and_cli_dispatch(tmp_path: Path) -> None:
    items = [
        _item(tmp_path / "scenes" / i, i, 20 + n, with_proj=True) for n, i in enumerate(("x", "y"))
    ]
    collection = pystac.ItemCollection(items)
    data = collection.to_dict()
    for feature, item_id in zip(data["features"], ("x", "y"), strict=True):
        for asset in feature["assets"].values():
            asset["href"] = f"scenes/{item_id}/{asset['href'].lstrip('./')}"
    path = tmp_path / "items.json"
    path.write_text(json.dumps(data))
    catalog = Catalog.from_stac(path)
    assert list(catalog.frame["id"]) == ["x", "y"]
    y = catalog["y"].source
    assert y is not None and y.assets["S2.B04"].path == str(tmp_path / "scenes/y/B04.tif")
    assert catalog.query(start="2021-06-21", end="2021-06-21").frame["id"].tolist() == ["y"]
    # from_paths recognises STAC JSON given explicitly.
    merged = Catalog.from_paths([path], progress=False)
    assert merged.frame["id"].tolist() == ["x", "y"]


def test_canonical_eo_band_names_win_over_common_names(tmp_path: Path) -> None:
    import rasterio
    from rasterio.transform import from_origin

    paths = {}
    for name in ("S2.B05", "S2.B06", "S2.B07"):
        paths[name] = tmp_path / f"{name}.tif"
        with rasterio.open(
            paths[name],
            "w",
            driver="GTiff",
            width=8,
            height=8,
            count=1,
            dtype="uint16",
            crs="EPSG:32631",
            transform=from_origin(500000, 5600000, 20, 20),
        ) as dst:
            dst.write(np.ones((1, 8, 8), np.uint16))
    when = datetime(2024, 5, 1, tzinfo=UTC)
    point = {"type": "Point", "coordinates": [3.0, 50.5]}
    item = pystac.Item("s2", point, None, when, {"platform": "sentinel-2a"})
    for name, path in paths.items():
        asset = pystac.Asset(path.name, media_type=pystac.MediaType.GEOTIFF, roles=["data"])
        asset.extra_fields["eo:bands"] = [{"name": name, "common_name": "rededge"}]
        item.add_asset(name, asset)
    item.set_self_href(str(tmp_path / "item.json"))
    item.save_object(include_self_link=True)
    (row,) = list(Catalog.from_stac(tmp_path / "item.json"))
    assert sorted(row.bands) == ["S2.B05", "S2.B06", "S2.B07"]
