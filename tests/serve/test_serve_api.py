"""The viewer's HTTP API through a real server on 127.0.0.1: layers, tiles, points, vectors."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import morecantile
import numpy as np
import pytest
import rasterio
from affine import Affine
from PIL import Image
from pyproj import Transformer
from tests.serve.serve_fixtures import (
    CLASS_NODATA,
    CLASSES,
    GSD,
    SIZE,
    class_map,
    get_json,
    live_server,
    raw_get,
    utm_transform,
    write_band,
    write_class_map,
)

from eoforge.serve.discover import discover
from eoforge.serve.vectors import feature_collection
from eoforge.synth.scene import generate_scene
from eoforge.synth.scene_options import SynthOptions

TMS = morecantile.tms.get("WebMercatorQuad")


def png_rgba(body: bytes) -> np.ndarray:
    image = Image.open(io.BytesIO(body))
    assert image.size == (256, 256)
    return np.asarray(image.convert("RGBA"))


def lonlat_of_pixel(row: float, col: float) -> tuple[float, float]:
    x, y = utm_transform() @ (col, row)
    lon, lat = Transformer.from_crs("EPSG:32631", "EPSG:4326", always_xy=True).transform(x, y)
    return float(lon), float(lat)


def layer_by_id(layers: dict, layer_id: str) -> dict:
    return next(layer for layer in layers["layers"] if layer["id"] == layer_id)


def test_run_folder_layers(run_server: str, tiny_run: Path) -> None:
    data = get_json(run_server, "/api/layers")
    assert data["title"] == "run"
    kinds = [(layer["kind"], layer["name"]) for layer in data["layers"]]
    assert kinds == [
        ("scene", "S2 2024-07-01"),
        ("reference", "reference labels"),
        ("classes", "predicted classes"),
        ("errors", "errors"),
        ("confidence", "confidence"),
        ("vector", "predicted polygons"),
    ]
    scene = data["layers"][0]
    assert scene["date"] == "2024-07-01" and scene["visible"]
    assert [r["id"] for r in scene["renders"]] == ["truecolor", "falsecolor", "band"]
    assert scene["bands"] == ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
    lo, hi = scene["stretch"]
    assert 0.1 <= lo < hi <= 0.21  # reflectance: DN 1000..1900 times 1e-4
    # bounds: the UTM square's corners in degrees
    w, s, e, n = data["bounds"]
    lon0, lat0 = lonlat_of_pixel(0, 0)
    assert w <= lon0 <= e and s <= lat0 <= n
    assert e - w == pytest.approx(SIZE * GSD / (111_320 * math.cos(math.radians(lat0))), rel=0.05)
    classes = layer_by_id(data, "predicted-classes")
    labels = class_map(1)
    counts = {v: int((labels == v).sum()) for v in CLASSES}
    assert classes["classes"] == [
        {
            "value": v,
            "name": name,
            "color": "#{:02x}{:02x}{:02x}".format(*rgb),
            "area_m2": counts[v] * GSD * GSD,
        }
        for v, (name, rgb) in CLASSES.items()
    ]
    errors = layer_by_id(data, "errors")
    truth = class_map(2)
    valid = (labels != CLASS_NODATA) & (truth != CLASS_NODATA)
    wrong = int((valid & (labels != truth)).sum())
    areas = {c["name"]: c["area_m2"] for c in errors["classes"]}
    assert areas == {"correct": (valid.sum() - wrong) * 100.0, "wrong": wrong * 100.0}
    assert data["report"]["metrics"]["miou"] == 0.5
    assert data["report"]["per_class"]["forest"] == {"iou": 0.5, "f1": 0.6}
    assert data["report"]["link"] == "/files/run/report.html"
    status, body, kind = raw_get(run_server, data["report"]["link"])
    assert status == 200 and b"report" in body and kind.startswith("text/html")
    vector = layer_by_id(data, "predicted-polygons")
    assert vector["tiles"] is None and vector["properties"] == ["class", "area_m2"]
    # nothing was written into the run folder but the cache
    written = {p.relative_to(tiny_run).parts[0] for p in tiny_run.rglob("*") if p.is_file()}
    assert written == {"scenes", "predictions", "evaluation", "report.html", "run.json", ".serve"}


def test_class_tile_matches_the_raster_through_its_colour_table(
    run_server: str, tiny_run: Path
) -> None:
    labels = class_map(1)
    lon, lat = lonlat_of_pixel(SIZE / 2, SIZE / 2)
    tile = TMS.tile(lon, lat, 16)  # 1.7 m tile pixels over 10 m source pixels
    status, body, kind = raw_get(
        run_server, f"/api/tiles/predicted-classes/16/{tile.x}/{tile.y}.png"
    )
    assert status == 200 and kind == "image/png"
    rgba = png_rgba(body)
    # the source pixel under each tile pixel's centre, computed independently with pyproj
    bounds = TMS.xy_bounds(tile)
    res = (bounds.right - bounds.left) / 256
    cols, rows = np.meshgrid(np.arange(256) + 0.5, np.arange(256) + 0.5)
    mx, my = bounds.left + cols * res, bounds.top - rows * res
    ux, uy = Transformer.from_crs("EPSG:3857", "EPSG:32631", always_xy=True).transform(mx, my)
    src_col, src_row = ~utm_transform() @ (ux, uy)
    src_col, src_row = np.floor(src_col).astype(int), np.floor(src_row).astype(int)
    inside = (src_col >= 0) & (src_col < SIZE) & (src_row >= 0) & (src_row < SIZE)
    expected = np.zeros((256, 256, 4), dtype=np.uint8)
    values = labels[src_row.clip(0, SIZE - 1), src_col.clip(0, SIZE - 1)]
    for v, (_, rgb) in CLASSES.items():
        expected[inside & (values == v)] = (*rgb, 255)
    assert inside.sum() > 1000
    same = np.all(rgba == expected, axis=-1)
    assert same.mean() > 0.99  # pixels on source pixel edges may round either way
    assert {tuple(c) for c in rgba.reshape(-1, 4)} <= {
        (*rgb, 255) for _, rgb in CLASSES.values()
    } | {(0, 0, 0, 0)}


def test_tile_pixels_are_the_cog_pixels_on_an_aligned_grid(tmp_path: Path) -> None:
    """A class map on the Web Mercator grid of zoom 17: every tile pixel is one source pixel."""
    tile = morecantile.Tile(x=67_300, y=46_500, z=17)
    bounds = TMS.xy_bounds(tile)
    res = (bounds.right - bounds.left) / 256
    transform = Affine(res, 0, bounds.left, 0, -res, bounds.top)
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 3, (256, 256)).astype(np.uint8)
    labels[100:120, 30:90] = CLASS_NODATA
    path = write_class_map(tmp_path / "aligned_classes.tif", labels)
    with rasterio.open(path, "r+") as ds:
        ds.crs, ds.transform = rasterio.crs.CRS.from_epsg(3857), transform
    with live_server([path]) as base:
        layer = get_json(base, "/api/layers")["layers"][0]
        assert layer["kind"] == "classes" and layer["maxzoom"] == 17
        status, body, _ = raw_get(base, f"/api/tiles/{layer['id']}/17/{tile.x}/{tile.y}.png")
        assert status == 200
        rgba = png_rgba(body)
        lut = np.zeros((256, 4), dtype=np.uint8)
        for v, (_, rgb) in CLASSES.items():
            lut[v] = (*rgb, 255)
        np.testing.assert_array_equal(rgba, lut[labels])
        # the neighbour tile holds no data: transparent
        status, body, _ = raw_get(base, f"/api/tiles/{layer['id']}/17/{tile.x + 1}/{tile.y}.png")
        assert status == 200 and png_rgba(body)[..., 3].max() == 0


def test_scene_renders(run_server: str, tiny_run: Path) -> None:
    lon, lat = lonlat_of_pixel(SIZE / 2, SIZE / 2)
    tile = TMS.tile(lon, lat, 14)
    url = f"/api/tiles/s2-2024-07-01/14/{tile.x}/{tile.y}.png"
    bodies = {}
    for query in ("", "?render=falsecolor", "?render=band&band=S2.B08&colormap=magma"):
        status, body, _ = raw_get(run_server, url + query)
        assert status == 200, body
        bodies[query] = png_rgba(body)
    true = bodies[""]
    assert true[..., 3].max() == 255 and (true[..., 3] == 0).any()  # data and outside
    assert not np.array_equal(true, bodies["?render=falsecolor"])
    # a fixed stretch of the red band: DN (1600 + noise) * 1e-4 over [0.16, 0.2) -> 0..255
    status, body, _ = raw_get(
        run_server, url + "?render=band&band=S2.B04&stretch=0.16,0.2&colormap=greys_r"
    )
    gray = png_rgba(body)
    shown = gray[..., 3] == 255
    with rasterio.open(tiny_run / "scenes/unseen/s2/20240701/S2.B04.tif") as ds:
        dn = ds.read(1)
    assert gray[shown][:, 0].mean() == pytest.approx(
        ((dn * 1e-4 - 0.16) / 0.04 * 255).mean(), abs=12
    )


def test_point_query_returns_the_class_under_the_point(run_server: str, tiny_run: Path) -> None:
    row, col = 20, 40
    lon, lat = lonlat_of_pixel(row + 0.5, col + 0.5)
    data = get_json(run_server, f"/api/point?lon={lon}&lat={lat}")
    layers = {entry["id"]: entry for entry in data["layers"]}
    with rasterio.open(tiny_run / "predictions/unseen_classes.tif") as ds:
        value = int(next(ds.sample([utm_transform() @ (col + 0.5, row + 0.5)]))[0])
    assert layers["predicted-classes"]["value"] == value
    assert layers["predicted-classes"]["class"] == CLASSES[value][0]
    truth = int(class_map(2)[row, col])
    assert layers["reference-labels"]["class"] == CLASSES[truth][0]
    assert layers["errors"]["class"] == ("correct" if truth == value else "wrong")
    with rasterio.open(tiny_run / "predictions/unseen_confidence.tif") as ds:
        conf = int(ds.read(1)[row, col])
    assert layers["confidence"]["value"] == pytest.approx(conf / 200)
    with rasterio.open(tiny_run / "scenes/unseen/s2/20240701/S2.B08.tif") as ds:
        nir = int(ds.read(1)[row, col])
    assert layers["s2-2024-07-01"]["bands"]["S2.B08"] == pytest.approx(nir * 1e-4)
    # outside every layer: no entry; nodata corner: the class maps are left out
    assert get_json(run_server, "/api/point?lon=10&lat=10")["layers"] == []
    lon, lat = lonlat_of_pixel(1.5, 1.5)
    corner = {e["id"] for e in get_json(run_server, f"/api/point?lon={lon}&lat={lat}")["layers"]}
    assert "predicted-classes" not in corner and "s2-2024-07-01" in corner


def test_vectors_bbox_and_cap(run_server: str, tiny_run: Path) -> None:
    everything = get_json(run_server, "/api/vectors/predicted-polygons.geojson")
    assert everything["type"] == "FeatureCollection" and len(everything["features"]) == 30
    assert everything["truncated"] is False
    ring = everything["features"][0]["geometry"]["coordinates"][0]
    assert all(4 < x < 5 and 45 < y < 46 for x, y in ring)  # degrees, not UTM metres
    lon, lat = lonlat_of_pixel(20.5, 1)  # first boxes only: 100 m boxes sliding by 10 m
    box = f"{lon - 1e-5},{lat - 1e-5},{lon + 1e-5},{lat + 1e-5}"
    some = get_json(run_server, f"/api/vectors/predicted-polygons.geojson?bbox={box}")
    assert 0 < len(some["features"]) < 30
    capped = feature_collection(Path(tiny_run / "predictions/unseen_classes.parquet"), limit=5)
    assert len(capped["features"]) == 5 and capped["truncated"] and capped["total"] == 30


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/api/tiles/nope/1/0/0.png", 404),
        ("/api/tiles/errors/1/2/0.png", 400),
        ("/api/tiles/errors/31/0/0.png", 400),
        ("/api/tiles/errors/-1/0/0.png", 400),
        ("/api/tiles/errors/a/0/0.png", 422),
        ("/api/tiles/errors/3/0/0.png?render=truecolor", 400),
        ("/api/tiles/s2-2024-07-01/3/0/0.png?stretch=5,1", 400),
        ("/api/tiles/s2-2024-07-01/3/0/0.png?stretch=nan,1", 400),
        ("/api/tiles/s2-2024-07-01/3/0/0.png?render=band&band=B99", 400),
        ("/api/tiles/s2-2024-07-01/3/0/0.png?render=band&colormap=nope", 400),
        ("/api/tiles/s2-2024-07-01/3/0/0.png?render=x", 400),
        ("/api/tiles/predicted-polygons/3/0/0.png", 400),
        ("/api/point?lon=200&lat=0", 400),
        ("/api/point?lon=abc&lat=0", 422),
        ("/api/point?lon=nan&lat=0", 400),
        ("/api/vectors/predicted-polygons.geojson?bbox=1,2,3", 400),
        ("/api/vectors/predicted-polygons.geojson?bbox=5,0,1,1", 400),
        ("/api/vectors/errors.geojson", 400),
        ("/api/vectors/nope.geojson", 404),
    ],
)
def test_bad_requests_are_4xx(run_server: str, path: str, status: int) -> None:
    got, body, kind = raw_get(run_server, path)
    assert got == status, body
    assert kind == "application/json" and "detail" in json.loads(body)


@pytest.fixture(scope="module")
def synth_dates(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``eoforge synth --dates 3`` (64 px, Sentinel-2 only)."""
    out = tmp_path_factory.mktemp("synth") / "synth"
    generate_scene(out, SynthOptions(size=64, dates=3, sensors=("s2",), vectors=False, clouds=0.0))
    return out


def test_dated_band_folders_form_one_time_series(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    for date in ("20240301", "20240701"):
        for band in ("B02", "B03", "B04"):
            data = rng.integers(500, 3000, (SIZE, SIZE)).astype(np.uint16)
            write_band(tmp_path / "s2" / date / f"S2.{band}.tif", data, nodata=0, scale=1e-4)
    served = discover([tmp_path])
    assert [(la.kind, la.group, la.date, la.visible) for la in served.layers] == [
        ("scene", "S2 scene", "2024-03-01", True),
        ("scene", "S2 scene", "2024-07-01", False),
    ]


@pytest.mark.slow
def test_time_series_of_synthetic_dates(synth_dates: Path) -> None:
    served = discover([synth_dates])
    scenes = [layer for layer in served.layers if layer.kind == "scene"]
    assert len(scenes) == 3 and len({s.group for s in scenes}) == 1
    assert len({s.date for s in scenes}) == 3 and all(s.truecolor for s in scenes)
    assert [s.visible for s in scenes].count(True) == 1
    landcover = [la for la in served.layers if la.group == "labels/landcover.tif"]
    assert len(landcover) == 3 and all(la.kind == "classes" and la.classes for la in landcover)
    assert served.cache_dir == synth_dates / ".serve"


@pytest.mark.slow
def test_stac_collection_items_as_dated_scenes(synth_dates: Path) -> None:
    served = discover([synth_dates / "stac" / "collection.json"])
    scenes = [layer for layer in served.layers if layer.kind == "scene"]
    folders = sorted(p.name for p in (synth_dates / "s2").iterdir())  # YYYYMMDD
    assert sorted(s.date.replace("-", "") for s in scenes if s.date) == folders
    assert {s.group for s in scenes} == {"S2 scene"}
    for scene in scenes:
        assert scene.truecolor == ("S2.B04", "S2.B03", "S2.B02")
        assert scene.band("S2.B04").path.parent.name == scene.date.replace("-", "")  # type: ignore[union-attr]
    labels = [la for la in served.layers if la.kind in ("classes", "reference")]
    assert labels and all(la.classes for la in labels)


@pytest.fixture(scope="module")
def predictions_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A predictions folder: classes, a probability stack, a regression map, a GeoJSON."""
    folder = tmp_path_factory.mktemp("maps")
    labels = class_map(1)
    write_class_map(folder / "scene_classes.tif", labels)
    rng = np.random.default_rng(7)
    probs = rng.integers(0, 201, (3, SIZE, SIZE)).astype(np.uint8)
    path = write_band(folder / "scene_probabilities.tif", probs, nodata=255)
    with rasterio.open(path, "r+") as ds:
        for i, (name, _) in enumerate(CLASSES.values(), start=1):
            ds.set_band_description(i, f"p({name})")
        ds.scales = (1 / 200,) * 3
    heights = np.linspace(0, 30, SIZE * SIZE, dtype=np.float32).reshape(SIZE, SIZE)
    write_band(folder / "scene_values.tif", heights, nodata=-9999.0, description="height")
    lon, lat = lonlat_of_pixel(10, 10)
    feature = {
        "type": "Feature",
        "properties": {"name": "a point", "score": 0.5},
        "geometry": {"type": "Point", "coordinates": [lon, lat]},
    }
    (folder / "points.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": [feature]})
    )
    return folder


def test_predictions_folder_kinds_points_and_ramps(predictions_folder: Path) -> None:
    with live_server([predictions_folder]) as base:
        data = get_json(base, "/api/layers")
        kinds = {layer["name"]: layer for layer in data["layers"]}
        assert {n: la["kind"] for n, la in kinds.items()} == {
            "scene_classes.tif": "classes",
            "scene_probabilities.tif": "probability",
            "scene_values.tif": "regression",
            "points.geojson": "vector",
        }
        prob = kinds["scene_probabilities.tif"]
        assert prob["bands"] == ["water", "forest", "crop"] and prob["colormap"] == "viridis"
        values = kinds["scene_values.tif"]
        lo, hi = values["stretch"]
        assert 0 <= lo < 1 and 29 < hi <= 30  # 2-98 % of a 0..30 ramp
        row, col = 30, 5
        lon, lat = lonlat_of_pixel(row + 0.5, col + 0.5)
        found = {e["id"]: e for e in get_json(base, f"/api/point?lon={lon}&lat={lat}")["layers"]}
        with rasterio.open(predictions_folder / "scene_probabilities.tif") as ds:
            stored = ds.read()[:, row, col]
        expected = {name: stored[i] / 200 for i, (name, _) in enumerate(CLASSES.values())}
        assert found[prob["id"]]["probabilities"] == pytest.approx(expected)
        assert found[prob["id"]]["class"] == max(expected, key=lambda k: expected[k])
        height = float(np.linspace(0, 30, SIZE * SIZE, dtype=np.float32)[row * SIZE + col])
        assert found[values["id"]]["value"] == pytest.approx(height)
        tile = TMS.tile(lon, lat, 15)
        for query in ("?band=forest&colormap=magma&stretch=0,1", ""):
            status, body, _ = raw_get(
                base, f"/api/tiles/{prob['id']}/15/{tile.x}/{tile.y}.png{query}"
            )
            assert status == 200 and png_rgba(body)[..., 3].max() == 255
        status, body, _ = raw_get(base, f"/api/tiles/{values['id']}/15/{tile.x}/{tile.y}.png")
        assert status == 200 and png_rgba(body)[..., 3].max() == 255
        points = get_json(base, kinds["points.geojson"]["geojson"])
        assert points["features"][0]["properties"] == {"name": "a point", "score": 0.5}
