"""Tests of eoforge.io.vector: reading, grid placement, rasterization, boxes, writing."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import numpy as np
import numpy.typing as npt
import pyproj
import pytest
import rasterio
import shapely
from affine import Affine
from odc.geo.geobox import GeoBox

from eoforge.errors import (
    ConfigError,
    EmptyFileError,
    LabelsOutsideSceneError,
    MissingFileError,
    NotGeoreferencedError,
    UnreadableFileError,
)
from eoforge.io.vector import (
    boxes_in_pixels,
    rasterize_labels,
    read_vector,
    to_grid_crs,
    write_vector,
)

UTM16N = "EPSG:32616"
UTM31N = "EPSG:32631"
UTM32N = "EPSG:32632"
WGS84 = "EPSG:4326"


# --------------------------------------------------------------------------- helpers


def grid_of(path: Path) -> GeoBox:
    with rasterio.open(path) as src:
        return GeoBox(src.shape, src.transform, src.crs.to_wkt())


def read_mask(path: Path) -> npt.NDArray[np.bool_]:
    with rasterio.open(path) as src:
        return np.asarray(src.read(1) > 0)


def iou(a: npt.NDArray[np.bool_], b: npt.NDArray[np.bool_]) -> float:
    return float((a & b).sum() / (a | b).sum())


def pixel_centres(grid: GeoBox) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    rows, cols = np.mgrid[0 : grid.shape[0], 0 : grid.shape[1]]
    t = grid.transform
    x = t.a * (cols + 0.5) + t.b * (rows + 0.5) + t.c
    y = t.d * (cols + 0.5) + t.e * (rows + 0.5) + t.f
    return x, y


def pixel_grid(height: int, width: int, crs: str = UTM31N) -> GeoBox:
    """A north-up grid with 1 m pixels whose world coordinates are easy to reason about."""
    return GeoBox((height, width), Affine(1, 0, 0, 0, -1, height), crs)


def frame(geoms: list[shapely.Geometry], crs: str, **columns: list[object]) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(dict(columns), geometry=geoms, crs=crs)


def wrap_angle(angle: float) -> float:
    return (angle + math.pi / 2) % math.pi - math.pi / 2


def rotated_rectangle_world(
    grid: GeoBox, centre: tuple[float, float], size: tuple[float, float], angle: float
) -> shapely.Polygon:
    """A rectangle given in pixel units (angle counter-clockwise on screen), in world coords."""
    cx, cy = centre
    w, h = size
    u = np.array([math.cos(angle), -math.sin(angle)])  # rows grow downwards
    v = np.array([math.sin(angle), math.cos(angle)])
    corners = [
        np.array([cx, cy]) + su * u * w / 2 + sv * v * h / 2
        for su, sv in ((-1, -1), (1, -1), (1, 1), (-1, 1))
    ]
    return shapely.Polygon([grid.transform @ (float(x), float(y)) for x, y in corners])


def parse_dota(path: Path) -> list[tuple[npt.NDArray[np.float64], str]]:
    """DOTA v1 label lines ``x1 y1 x2 y2 x3 y3 x4 y4 class difficult`` (pixels, y down)."""
    quads = []
    for line in path.read_text().splitlines():
        parts = line.split()
        if len(parts) < 9 or ":" in parts[0]:
            continue  # imagesource:/gsd: header lines
        quads.append((np.array(parts[:8], dtype=float).reshape(4, 2), parts[8]))
    return quads


# --------------------------------------------------------------------------- real samples


def test_spacenet_buildings_match_pixel_centre_reference(real_data: Path) -> None:
    folder = real_data / "spacenet"
    grid = grid_of(folder / "sample_geotiff.tif")
    mask = rasterize_labels(folder / "geotiff_labels.geojson", grid)
    assert mask.shape == (900, 900)
    assert mask.dtype == np.uint8
    # Independent reference: GEOS point-in-polygon on every pixel centre.
    buildings = shapely.union_all(gpd.read_file(folder / "geotiff_labels.geojson").geometry)
    x, y = pixel_centres(grid)
    reference = shapely.contains_xy(buildings, x, y)
    measured = iou(mask > 0, reference)
    print(f"spacenet buildings vs pixel-centre reference: IoU={measured:.5f}")
    assert measured >= 0.999
    assert 33_000 < int((mask > 0).sum()) < 34_500


def test_spacenet_buildings_match_solaris_mask(real_data: Path) -> None:
    # solaris' footprint mask rasterized from the same geojson onto the same 900x900 pixel grid
    # (0/255, no georeferencing: its pixels line up with sample_geotiff.tif's).
    folder = real_data / "spacenet"
    reference_path = folder / "sample_fp_mask_from_geojson.tif"
    if not reference_path.is_file():
        pytest.skip(f"{reference_path.name} not found in {folder}")
    with rasterio.open(reference_path) as src:
        raw = src.read(1)
    assert raw.shape == (900, 900) and set(np.unique(raw).tolist()) == {0, 255}
    reference = raw > 0
    labels = folder / "geotiff_labels.geojson"
    grid = grid_of(folder / "sample_geotiff.tif")
    mask = rasterize_labels(labels, grid)
    measured = iou(mask > 0, reference)
    print(f"spacenet buildings vs solaris' mask: IoU={measured:.5f}")
    # Both burn pixels whose centre lies inside a footprint: the same 33,818 pixels.
    np.testing.assert_array_equal(mask > 0, reference)
    # all_touched burns a one-pixel fringe more, never fewer pixels.
    touched = rasterize_labels(labels, grid, all_touched=True) > 0
    assert (touched | reference).sum() == touched.sum() > reference.sum()


def test_spacenet_road_centre_lines_lie_in_the_reference_mask(real_data: Path) -> None:
    folder = real_data / "spacenet"
    grid = grid_of(folder / "road_mask_input.tif")
    assert grid.crs == "EPSG:4326"
    reference = read_mask(folder / "sample_road_raster_mask.tif")
    roads = folder / "sample_roads_for_masking.geojson"
    for all_touched in (False, True):
        centre = rasterize_labels(roads, grid, all_touched=all_touched) > 0
        recall = float((centre & reference).sum() / centre.sum())
        print(f"road centre lines (all_touched={all_touched}): {centre.sum()} px, recall={recall}")
        assert centre.sum() > 3_900
        assert recall >= 0.999
    # The reference buffers each centre line by 2 m (4 m wide roads). Buffering in the
    # local UTM zone and burning onto the EPSG:4326 grid must reproduce it.
    lines = read_vector(roads)
    metric = lines.to_crs(lines.estimate_utm_crs())
    buffered = gpd.GeoDataFrame(geometry=metric.buffer(2.0), crs=metric.crs)
    widened = rasterize_labels(buffered, grid) > 0
    measured = iou(widened, reference)
    print(f"2 m buffered roads vs sample_road_raster_mask.tif: IoU={measured:.5f}")
    assert measured >= 0.99


def test_dota_axis_aligned_boxes_contain_every_corner(real_data: Path) -> None:
    quads = parse_dota(real_data / "dota" / "labelTxt" / "P1888.txt")
    assert len(quads) == 64
    names = sorted({name for _, name in quads})
    classes = {name: i + 1 for i, name in enumerate(names)}
    height, width = 557, 712
    # A pixel grid whose y axis points down (identity transform) and a north-up grid
    # (y up) where a pixel's world y is height - row: both must give the same boxes.
    pixel_down = GeoBox((height, width), Affine.identity(), UTM31N)
    north_up = GeoBox((height, width), Affine(1, 0, 0, 0, -1, height), UTM31N)
    kinds = [name for _, name in quads]
    down = frame([shapely.Polygon(q) for q, _ in quads], UTM31N, kind=kinds)
    up = frame(
        [shapely.Polygon(np.c_[q[:, 0], height - q[:, 1]]) for q, _ in quads], UTM31N, kind=kinds
    )
    boxes, labels = boxes_in_pixels(down, pixel_down, "kind", classes=classes)
    boxes_up, labels_up = boxes_in_pixels(up, north_up, "kind", classes=classes)
    np.testing.assert_allclose(boxes_up, boxes, atol=1e-4)
    np.testing.assert_array_equal(labels_up, labels)
    np.testing.assert_array_equal(labels, [classes[name] for name in kinds])
    corners = np.stack([q for q, _ in quads])  # [N, 4, 2]
    assert boxes.shape == (64, 4) and boxes.dtype == np.float32
    assert (corners[..., 0] >= boxes[:, None, 0] - 1e-4).all()
    assert (corners[..., 0] <= boxes[:, None, 2] + 1e-4).all()
    assert (corners[..., 1] >= boxes[:, None, 1] - 1e-4).all()
    assert (corners[..., 1] <= boxes[:, None, 3] + 1e-4).all()
    # Tight: each box edge touches a corner.
    np.testing.assert_allclose(boxes[:, :2], corners.min(axis=1), atol=1e-3)
    np.testing.assert_allclose(boxes[:, 2:], corners.max(axis=1), atol=1e-3)

    oriented, _ = boxes_in_pixels(up, north_up, "kind", oriented=True, classes=classes)
    cx, cy, w, h, angle = (oriented[:, i : i + 1].astype(float) for i in range(5))
    along = (corners[..., 0] - cx) * np.cos(angle) - (corners[..., 1] - cy) * np.sin(angle)
    across = (corners[..., 0] - cx) * np.sin(angle) + (corners[..., 1] - cy) * np.cos(angle)
    assert (np.abs(along) <= w / 2 + 1e-3).all()
    assert (np.abs(across) <= h / 2 + 1e-3).all()
    assert (w >= h).all()
    assert ((angle >= -math.pi / 2) & (angle < math.pi / 2)).all()
    aligned_area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    assert ((w * h)[:, 0] <= aligned_area + 1e-2).all()


# --------------------------------------------------------------------------- round trips


def _round_trip_scene() -> list[tuple[str, GeoBox, gpd.GeoDataFrame]]:
    """Labels in a CRS other than the grid's: EPSG:4326 on UTM 31N, UTM 32N on UTM 31N."""
    scenes = []
    for name, grid_origin, label_crs in (
        ("wgs84-on-utm31", (499_000.0, 4_984_000.0), WGS84),
        ("utm32-on-utm31", (785_000.0, 4_990_000.0), UTM32N),  # near 6 E, the zone edge
    ):
        x0, y0 = grid_origin
        grid = GeoBox((120, 160), Affine(10, 0, x0, 0, -10, y0), UTM31N)
        shapes = [
            shapely.box(x0 + 103.7, y0 - 611.3, x0 + 877.1, y0 - 143.9),
            shapely.Polygon(
                [(x0 + 400.2, y0 - 900.6), (x0 + 1490.3, y0 - 350.1), (x0 + 1200.8, y0 - 1150.4)]
            ),
            shapely.box(x0 + 300.4, y0 - 420.9, x0 + 520.6, y0 - 260.2),
            shapely.box(x0 - 500.5, y0 - 700.3, x0 + 60.2, y0 - 500.7),  # crosses the west edge
        ]
        to_labels = pyproj.Transformer.from_crs(UTM31N, label_crs, always_xy=True).transform
        geoms = [
            shapely.transform(shapely.segmentize(g, 20.0), to_labels, interleaved=False)
            for g in shapes
        ]
        labels = frame(
            geoms, label_crs, kind=["field", "water", "house", "field"], rank=[1, 2, 3, 4]
        )
        scenes.append((name, grid, labels))
    return scenes


def _write_shapefile(gdf: gpd.GeoDataFrame, path: Path) -> None:
    gdf.to_file(path, driver="ESRI Shapefile", engine="pyogrio")


WRITERS: dict[str, Callable[[gpd.GeoDataFrame, Path], object]] = {
    "geojson": write_vector,
    "gpkg": write_vector,
    "parquet": write_vector,
    "fgb": write_vector,
    "shp": _write_shapefile,
}


@pytest.mark.parametrize("suffix", sorted(WRITERS))
def test_round_trip_through_each_format_gives_the_same_raster(tmp_path: Path, suffix: str) -> None:
    classes = {"field": 1, "water": 2, "house": 3}
    for name, grid, labels in _round_trip_scene():
        expected = rasterize_labels(labels, grid, "kind", classes=classes)
        counts = np.bincount(expected.ravel(), minlength=4)
        assert (counts > 100).all(), (name, counts)
        assert expected[0, 0] == 0 and expected[-1, -1] == 0
        path = tmp_path / f"{name}.{suffix}"
        WRITERS[suffix](labels, path)
        back = read_vector(path)
        assert back.crs == labels.crs
        assert back.attrs["source"] == str(path)
        got = rasterize_labels(path, grid, "kind", classes=classes)
        np.testing.assert_array_equal(got, expected, err_msg=f"{name} via .{suffix}")
        on_grid = to_grid_crs(back, grid)
        assert on_grid.crs == pyproj.CRS(UTM31N)
        assert list(on_grid["kind"]) == ["field", "water", "house", "field"]


def test_write_vector_leaves_no_partial_file(tmp_path: Path) -> None:
    good = frame([shapely.box(0, 0, 1, 1)], WGS84, kind=["a"])
    for suffix in ("geojson", "parquet"):
        path = write_vector(good, tmp_path / "out" / f"labels.{suffix}")
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
        # No vector format stores complex numbers, so this write fails half-way.
        bad = frame([shapely.box(5, 5, 6, 6)], WGS84, value=[1 + 2j])
        with pytest.raises((NotImplementedError, ValueError, TypeError)):
            write_vector(bad, path)
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name]
        assert read_vector(path)["kind"].tolist() == ["a"]
        path.unlink()
    with pytest.raises(ConfigError, match=r"\.csv"):
        write_vector(good, tmp_path / "labels.csv")
    with pytest.raises(NotGeoreferencedError):
        write_vector(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]), tmp_path / "x.gpkg")


# --------------------------------------------------------------------------- burn order


def _overlapping_squares() -> gpd.GeoDataFrame:
    # File order: small (class 2), big (class 1), medium (class 3).
    return frame(
        [shapely.box(8, 8, 12, 12), shapely.box(0, 0, 20, 20), shapely.box(6, 6, 16, 16)],
        UTM31N,
        cls=[2, 1, 3],
        z=[1.0, 5.0, 3.0],
        priority=[9, 0, 4],
    )


@pytest.mark.parametrize(
    ("burn_order", "centre", "medium_only", "corner"),
    [
        ("area", 2, 3, 1),  # largest first: small stays on top
        ("file", 3, 3, 1),  # later rows win: medium was written last
        ("z", 1, 1, 1),  # ascending z: big (z=5) burns last and covers everything
        ("priority", 2, 3, 1),  # small has the highest priority
    ],
)
def test_burn_order_picks_the_documented_winner(
    burn_order: str, centre: int, medium_only: int, corner: int
) -> None:
    grid = pixel_grid(20, 20)
    mask = rasterize_labels(_overlapping_squares(), grid, "cls", burn_order=burn_order)
    # Pixel (row, col) has its centre at world (col + 0.5, 20 - row - 0.5).
    assert mask[9, 9] == centre  # world (9.5, 10.5): inside all three
    assert mask[6, 7] == medium_only  # world (7.5, 13.5): big and medium
    assert mask[19, 0] == corner  # world (0.5, 0.5): big only
    assert int((mask > 0).sum()) == 400


def test_area_ties_and_lines_keep_file_order() -> None:
    grid = pixel_grid(10, 10)
    squares = frame(
        [
            shapely.box(0, 0, 6, 6),
            shapely.box(3, 3, 9, 9),
            shapely.LineString([(0, 4.5), (10, 4.5)]),
        ],
        UTM31N,
        cls=[1, 2, 3],
    )
    mask = rasterize_labels(squares, grid, "cls")
    assert mask[4, 4] == 2  # equal areas: the later square wins ...
    assert mask[5, 4] == 3  # ... and the line (area 0) burns last, on top
    assert int((mask == 3).sum()) == 10


def test_all_touched_burns_more_pixels_of_thin_lines() -> None:
    grid = pixel_grid(40, 40)
    roads = frame(
        [
            shapely.LineString([(0.3, 0.2), (39.7, 26.1)]),
            shapely.LineString([(2.2, 37.5), (30.9, 12.4)]),
        ],
        UTM31N,
    )
    default = rasterize_labels(roads, grid) > 0
    touched = rasterize_labels(roads, grid, all_touched=True) > 0
    print(f"thin lines: default {default.sum()} px, all_touched {touched.sum()} px")
    # GDAL traces lines differently in the two modes, so the default is not exactly a subset.
    assert (touched & default).sum() >= 0.98 * default.sum()
    assert touched.sum() >= 1.4 * default.sum()
    assert default.sum() >= 40 + 29  # at least one pixel per column crossed
    point = rasterize_labels(frame([shapely.Point(3.5, 2.5)], UTM31N), grid)
    assert int(point.sum()) == 1 and point[37, 3] == 1


def test_rasterize_options_and_errors() -> None:
    grid = pixel_grid(20, 20)
    squares = _overlapping_squares()
    mask = rasterize_labels(squares, grid, "cls", fill=255, dtype="int16")
    assert mask.dtype == np.int16
    far = frame([shapely.box(100, 100, 110, 110)], UTM31N)
    np.testing.assert_array_equal(rasterize_labels(far, grid, fill=7, allow_empty=True), 7)
    with pytest.raises(ConfigError, match="burn_order 'height'"):
        rasterize_labels(squares, grid, burn_order="height")
    with pytest.raises(ConfigError, match=r"fit uint8"):
        rasterize_labels(squares.assign(cls=[2, 300, 1]), grid, "cls")
    with pytest.raises(ConfigError, match=r"must hold integers.*classes="):
        rasterize_labels(squares.assign(cls=["a", "b", "c"]), grid, "cls")
    with pytest.raises(ConfigError, match=r"no class column 'klass'.*cls"):
        rasterize_labels(squares, grid, "klass")


# --------------------------------------------------------------------------- boxes


BOX_GRID = GeoBox((100, 120), Affine(0.5, 0, 733601.0, 0, -0.5, 3725139.0), UTM16N)


@pytest.mark.parametrize(
    ("size", "angle", "expected_size", "expected_angle"),
    [
        ((30.0, 10.0), 0.5, (30.0, 10.0), 0.5),
        ((30.0, 10.0), -1.2, (30.0, 10.0), -1.2),
        ((30.0, 10.0), 0.0, (30.0, 10.0), 0.0),
        ((30.0, 10.0), 1.5, (30.0, 10.0), 1.5),
        ((30.0, 10.0), 2.0, (30.0, 10.0), 2.0 - math.pi),  # same rectangle, angle wrapped
        ((12.0, 40.0), 0.3, (40.0, 12.0), 0.3 + math.pi / 2),  # h > w: sides swapped
        ((16.0, 16.0), 1.0, (16.0, 16.0), 1.0 - math.pi / 2),  # square: angle in [-pi/4, pi/4)
    ],
)
def test_oriented_box_recovers_rotated_rectangle(
    size: tuple[float, float],
    angle: float,
    expected_size: tuple[float, float],
    expected_angle: float,
) -> None:
    centre = (60.3, 45.7)
    polygon = rotated_rectangle_world(BOX_GRID, centre, size, angle)
    boxes, labels = boxes_in_pixels(frame([polygon], UTM16N), BOX_GRID, oriented=True)
    assert boxes.shape == (1, 5) and boxes.dtype == np.float32
    assert labels.tolist() == [1] and labels.dtype == np.int64
    cx, cy, w, h, got = boxes[0].astype(float)
    assert abs(cx - centre[0]) <= 1e-3 and abs(cy - centre[1]) <= 1e-3
    assert abs(w - expected_size[0]) <= 1e-3 and abs(h - expected_size[1]) <= 1e-3
    assert -math.pi / 2 <= got < math.pi / 2
    assert abs(wrap_angle(got - wrap_angle(expected_angle))) <= 1e-3


def test_oriented_angle_is_counter_clockwise_from_east_on_north_up_grids() -> None:
    x0, y0 = BOX_GRID.transform @ (60.0, 50.0)
    # A long thin rectangle whose long side points north-east (45 degrees from east).
    road = shapely.LineString([(x0 - 5, y0 - 5), (x0 + 5, y0 + 5)]).buffer(0.5, cap_style="flat")
    ((cx, cy, w, h, angle),) = boxes_in_pixels(frame([road], UTM16N), BOX_GRID, oriented=True)[0]
    assert abs(angle - math.pi / 4) <= 1e-3
    assert abs(cx - 60.0) <= 1e-3 and abs(cy - 50.0) <= 1e-3
    assert abs(w - 2 * math.hypot(10, 10)) <= 1e-3 and abs(h - 2.0) <= 1e-3  # 0.5 m pixels


def test_boxes_partly_outside_are_clipped_or_kept_and_outside_dropped() -> None:
    grid = pixel_grid(100, 100)
    # World = (col, 100 - row): the first polygon spans cols -10..20, rows 30..40.
    labels = frame(
        [shapely.box(-10, 60, 20, 70), shapely.box(150, 10, 160, 20), shapely.box(40, 40, 50, 45)],
        UTM31N,
        kind=["ship", "plane", "plane"],
    )
    classes = {"plane": 1, "ship": 2}
    boxes, labels_out = boxes_in_pixels(labels, grid, "kind", classes=classes)
    np.testing.assert_allclose(boxes, [[0, 30, 20, 40], [40, 55, 50, 60]], atol=1e-5)
    assert labels_out.tolist() == [2, 1]
    oriented, labels_oriented = boxes_in_pixels(
        labels, grid, "kind", classes=classes, oriented=True
    )
    np.testing.assert_allclose(oriented, [[5, 35, 30, 10, 0], [45, 57.5, 10, 5, 0]], atol=1e-4)
    assert labels_oriented.tolist() == [2, 1]
    empty_boxes, empty_labels = boxes_in_pixels(labels.iloc[[1]], grid, allow_empty=True)
    assert empty_boxes.shape == (0, 4) and empty_labels.shape == (0,)
    with pytest.raises(LabelsOutsideSceneError):
        boxes_in_pixels(labels.iloc[[1]], grid)
    with pytest.raises(ConfigError, match="boxes need polygons"):
        boxes_in_pixels(frame([shapely.Point(5, 5)], UTM31N), grid)


def test_boxes_of_labels_in_another_crs() -> None:
    polygon = rotated_rectangle_world(BOX_GRID, (30.0, 20.0), (20.0, 8.0), 0.0)
    labels = frame([polygon], UTM16N).to_crs(WGS84)
    boxes, _ = boxes_in_pixels(labels, BOX_GRID)
    np.testing.assert_allclose(boxes, [[20, 16, 40, 24]], atol=1e-3)


# --------------------------------------------------------------------------- reading


def test_read_vector_cleans_geometries(tmp_path: Path) -> None:
    path = tmp_path / "dirty.geojson"
    path.write_text(
        '{"type": "FeatureCollection", "features": ['
        '{"type": "Feature", "properties": {"kind": "none"}, "geometry": null},'
        '{"type": "Feature", "properties": {"kind": "bowtie"}, "geometry": {"type": "Polygon",'
        ' "coordinates": [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]}},'
        '{"type": "Feature", "properties": {"kind": "empty"}, "geometry": {"type": "Polygon",'
        ' "coordinates": []}},'
        '{"type": "Feature", "properties": {"kind": "ok"}, "geometry": {"type": "Polygon",'
        ' "coordinates": [[[5, 5], [6, 5], [6, 6], [5, 6], [5, 5]]]}}]}'
    )
    gdf = read_vector(path)
    assert gdf.crs == WGS84  # RFC 7946 default
    assert gdf["kind"].tolist() == ["bowtie", "ok"]
    assert gdf.index.tolist() == [1, 3]
    assert gdf.is_valid.all()
    assert gdf.geom_type.tolist() == ["MultiPolygon", "Polygon"]
    assert gdf.geometry.iloc[0].area == pytest.approx(2.0)
    assert gdf.attrs["source"] == str(path)


def test_read_vector_empty_layer_and_columns(tmp_path: Path) -> None:
    path = tmp_path / "empty.geojson"
    path.write_text('{"type": "FeatureCollection", "features": []}')
    empty = read_vector(path)
    assert len(empty) == 0 and empty.crs == WGS84
    np.testing.assert_array_equal(rasterize_labels(empty, pixel_grid(4, 4)), 0)
    labels = frame([shapely.box(0, 0, 1, 1)], UTM31N, kind=["a"], rank=[3], note=["x"])
    for suffix in ("gpkg", "parquet"):
        written = write_vector(labels, tmp_path / f"labels.{suffix}")
        assert list(read_vector(written, columns=["rank"]).columns) == ["rank", "geometry"]
        with pytest.raises(ConfigError, match="no column"):
            read_vector(written, columns=["height"])


def test_read_vector_layers_of_a_geopackage(tmp_path: Path) -> None:
    path = tmp_path / "two.gpkg"
    frame([shapely.box(0, 0, 1, 1)], UTM31N, kind=["a"]).to_file(path, layer="roads")
    frame([shapely.box(0, 0, 2, 2)], UTM31N, kind=["b"]).to_file(path, layer="buildings")
    with pytest.raises(ConfigError, match=r"2 layers \(buildings, roads\).*layer="):
        read_vector(path)
    with pytest.raises(ConfigError, match="no layer 'trees'"):
        read_vector(path, layer="trees")
    assert read_vector(path, layer="buildings")["kind"].tolist() == ["b"]


# --------------------------------------------------------------------------- errors


def test_labels_outside_the_scene_name_file_bounds_and_crss(tmp_path: Path) -> None:
    path = write_vector(
        frame([shapely.box(2.0, 45.0, 2.01, 45.01)], WGS84), tmp_path / "far.geojson"
    )
    with pytest.raises(LabelsOutsideSceneError) as caught:
        rasterize_labels(path, BOX_GRID)
    message = str(caught.value)
    print(message)
    assert str(path) in message
    assert "EPSG:4326" in message and "EPSG:32616" in message
    assert "(2, 45, 2.01, 45.01)" in message  # labels bounds
    assert "(733601, 3725089, 733661, 3725139)" in message  # grid bounds
    assert "Fix:" in message
    on_grid = to_grid_crs(read_vector(path), BOX_GRID, allow_empty=True)
    assert len(on_grid) == 0 and on_grid.crs == pyproj.CRS(UTM16N)


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.geojson"
    with pytest.raises(MissingFileError, match=r"nowhere\.geojson.*does not exist") as caught:
        read_vector(path)
    assert isinstance(caught.value, FileNotFoundError)
    with pytest.raises(MissingFileError):
        rasterize_labels(path, BOX_GRID)


@pytest.mark.parametrize("suffix", ["geojson", "gpkg", "parquet", "shp", "fgb"])
def test_zero_byte_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"labels.{suffix}"
    path.touch()
    with pytest.raises(EmptyFileError, match=r"empty \(0 bytes\).*Fix:"):
        read_vector(path)


@pytest.mark.parametrize("suffix", ["geojson", "gpkg", "parquet", "shp", "fgb"])
def test_garbage_file(tmp_path: Path, suffix: str) -> None:
    path = tmp_path / f"labels.{suffix}"
    path.write_bytes(b"this is not a vector file\x00\x01\x02" * 40)
    with pytest.raises(UnreadableFileError, match=rf"labels\.{suffix}.*Fix:") as caught:
        read_vector(path)
    assert not isinstance(caught.value, EmptyFileError)


def test_parquet_without_geometry_metadata(tmp_path: Path) -> None:
    path = tmp_path / "plain.parquet"
    frame([shapely.box(0, 0, 1, 1)], WGS84, kind=["a"]).drop(columns="geometry").to_parquet(path)
    with pytest.raises(UnreadableFileError, match="without GeoParquet 'geo' metadata"):
        read_vector(path)


def test_unknown_class_value_lists_known_ones(tmp_path: Path) -> None:
    labels = frame(
        [shapely.box(0, 0, 5, 5), shapely.box(5, 5, 9, 9), shapely.box(1, 1, 2, 2)],
        UTM31N,
        kind=["house", "shed", "shed"],
    )
    path = write_vector(labels, tmp_path / "labels.gpkg")
    with pytest.raises(ConfigError) as caught:
        rasterize_labels(path, pixel_grid(10, 10), "kind", classes={"house": 1, "road": 2})
    message = str(caught.value)
    assert "labels.gpkg" in message
    assert "missing from classes: shed (2 features)" in message
    assert "known values: house, road" in message
    with pytest.raises(ConfigError, match="missing from classes: shed"):
        boxes_in_pixels(path, pixel_grid(10, 10), "kind", classes={"house": 1})


def test_shapefile_without_prj(tmp_path: Path) -> None:
    path = tmp_path / "buildings.shp"
    frame([shapely.box(0, 0, 1, 1)], UTM31N, kind=["a"]).to_file(path)
    assert read_vector(path).crs == UTM31N
    path.with_suffix(".prj").unlink()
    with pytest.raises(NotGeoreferencedError, match=r"buildings\.prj is missing.*Fix:"):
        read_vector(path)
    with pytest.raises(NotGeoreferencedError, match="no CRS"):
        to_grid_crs(gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)]), BOX_GRID)
