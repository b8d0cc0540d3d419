"""evaluate_maps: predictions scored against label rasters and vector layers on other grids."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from tests.helpers import write_tif

from eoforge.errors import (
    ConfigError,
    LabelsOutsideSceneError,
    MissingFileError,
    NotGeoreferencedError,
)
from eoforge.evaluate import evaluate_maps

UTM = "EPSG:32631"
X0, Y0 = 600000.0, 5700000.0  # top-left corner of the predictions, near Antwerp
PRED_TRANSFORM = Affine(10, 0, X0, 0, -10, Y0)


def write_class_map(path: Path, classes: np.ndarray, transform: Affine = PRED_TRANSFORM) -> Path:
    """A class map as the predict engine writes it: uint8, nodata 255, tags, colour table."""
    write_tif(path, classes.astype(np.uint8), transform, UTM, nodata=255)
    with rasterio.open(path, "r+") as dst:
        dst.update_tags(1, CLASS_1="water", CLASS_2="forest", CLASS_3="urban")
        dst.write_colormap(1, {1: (0, 0, 255, 255), 2: (0, 128, 0, 255), 3: (200, 0, 0, 255)})
    return path


def confusion(ref: np.ndarray, pred: np.ndarray, ids: list[int]) -> np.ndarray:
    """Independent confusion matrix of flat arrays (rows = reference)."""
    out = np.zeros((len(ids), len(ids)), np.int64)
    index = {v: i for i, v in enumerate(ids)}
    np.add.at(out, ([index[v] for v in ref], [index[v] for v in pred]), 1)
    return out


# --------------------------------------------------------------------------- rasters


def test_label_raster_in_wgs84_partly_covering_the_scene(tmp_path: Path) -> None:
    height, width = 120, 160
    rows, cols = np.mgrid[0:height, 0:width]
    predicted = (1 + (cols // 37) % 3).astype(np.uint8)
    predicted[100:110] = 255

    # Reference: EPSG:4326, pixels of 0.0002° x 0.0001°, blocks of classes, a nodata hole,
    # reaching past the scene's west and north edges but covering only part of it.
    to_wgs84 = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
    lon_w, lat_n = to_wgs84.transform(X0, Y0)
    lon0, lat0, dlon, dlat = lon_w - 0.003, lat_n + 0.002, 0.0002, 0.0001
    r_rows, r_cols = np.mgrid[0:90, 0:60]
    labels = (1 + (r_cols // 10 + r_rows // 15) % 3).astype(np.uint8)
    labels[40:50, 30:40] = 0
    ref = write_tif(
        tmp_path / "labels.tif", labels, (dlon, 0, lon0, 0, -dlat, lat0), 4326, nodata=0
    )

    # Independent expectation: look every pixel centre up in the label array with PROJ.
    # Pixels whose lookup changes within 0.2 label pixels (GDAL's warp approximates the
    # transformation to 0.125 pixel) are made nodata in the prediction, so the answer is exact.
    x, y = PRED_TRANSFORM @ (cols + 0.5, rows + 0.5)
    lon, lat = to_wgs84.transform(x, y)
    fcol, frow = (lon - lon0) / dlon, (lat0 - lat) / dlat

    def lookup(dc: float, dr: float) -> np.ndarray:
        c, r = np.floor(fcol + dc).astype(int), np.floor(frow + dr).astype(int)
        inside = (c >= 0) & (c < 60) & (r >= 0) & (r < 90)
        return np.where(inside, labels[np.clip(r, 0, 89), np.clip(c, 0, 59)], 0)

    expected_ref = lookup(0, 0)
    shifts = [(dc, dr) for dc in (-0.2, 0.2) for dr in (-0.2, 0.2)]
    ambiguous = np.any([lookup(dc, dr) != expected_ref for dc, dr in shifts], axis=0)
    predicted[ambiguous] = 255
    pred = write_class_map(tmp_path / "pred.tif", predicted)
    scored = (expected_ref != 0) & (predicted != 255)
    assert 0 < scored.sum() < scored.size / 2  # partial overlap, but plenty to score
    expected = confusion(expected_ref[scored], predicted[scored], [1, 2, 3])

    score = evaluate_maps(pred, ref, block=7)
    assert score.class_ids == (1, 2, 3)
    np.testing.assert_array_equal(score.confusion_matrix, expected)
    assert score.pixels == scored.sum()
    assert score.class_names == ("water", "forest", "urban")
    assert score.class_colors == ("#0000ff", "#008000", "#c80000")
    tp = np.diag(expected)
    iou = tp / (expected.sum(0) + expected.sum(1) - tp)
    np.testing.assert_allclose(score.iou, iou)
    assert score.miou == pytest.approx(iou.mean())
    assert score.overall_accuracy == pytest.approx(tp.sum() / expected.sum())
    # Blocks are an implementation detail: one block gives the same matrix.
    whole = evaluate_maps(pred, ref, block=4096)
    np.testing.assert_array_equal(whole.confusion_matrix, expected)


def test_identical_maps_score_perfectly(tmp_path: Path) -> None:
    classes = np.repeat(np.array([1, 2, 3, 2], np.uint8), 25)[None].repeat(40, 0)
    pred = write_class_map(tmp_path / "pred.tif", classes)
    score = evaluate_maps(pred, pred)
    assert score.miou == 1.0 and score.overall_accuracy == 1.0 and score.kappa == 1.0
    np.testing.assert_array_equal(score.confusion_matrix, np.diag([1000, 2000, 1000]))
    np.testing.assert_array_equal(score.support, [1000, 2000, 1000])


def test_shifted_boundary_on_a_coarser_aligned_grid(tmp_path: Path) -> None:
    # Reference at 20 m: class 1 west of column 25, class 2 east. On the 10 m prediction
    # that is column 50; the prediction puts the boundary at column 60.
    coarse = np.where(np.arange(50) < 25, 1, 2).astype(np.uint8)[None].repeat(50, 0)
    ref = write_tif(tmp_path / "ref.tif", coarse, Affine(20, 0, X0, 0, -20, Y0), UTM)
    predicted = np.where(np.arange(100) < 60, 1, 2).astype(np.uint8)[None].repeat(100, 0)
    pred = write_class_map(tmp_path / "pred.tif", predicted)

    score = evaluate_maps(pred, ref, block=33)
    # Class 3 ("urban") is declared by the tags but in neither map: listed, not averaged.
    assert score.class_ids == (1, 2, 3)
    np.testing.assert_array_equal(score.confusion_matrix[:2, :2], [[5000, 0], [1000, 4000]])
    np.testing.assert_allclose(score.iou, [5000 / 6000, 4000 / 5000, np.nan])
    np.testing.assert_allclose(score.precision, [5000 / 6000, 1.0, np.nan])
    np.testing.assert_allclose(score.recall, [1.0, 0.8, np.nan])
    np.testing.assert_allclose(score.f1, [2 * 5000 / 11000, 2 * 4000 / 9000, np.nan])
    assert score.miou == pytest.approx((5000 / 6000 + 0.8) / 2)
    assert score.overall_accuracy == pytest.approx(0.9)
    assert score.kappa == pytest.approx((0.9 - 0.5) / 0.5)


def test_swapped_classes_have_zero_iou(tmp_path: Path) -> None:
    truth = np.repeat(np.array([1, 2, 3], np.uint8), 20)[None].repeat(30, 0)
    ref = write_tif(tmp_path / "ref.tif", truth, PRED_TRANSFORM, UTM)
    swapped = np.choose(truth, [0, 2, 1, 3]).astype(np.uint8)
    score = evaluate_maps(write_class_map(tmp_path / "pred.tif", swapped), ref)
    np.testing.assert_allclose(score.iou, [0.0, 0.0, 1.0])
    assert score.miou == pytest.approx(1 / 3)
    assert score.overall_accuracy == pytest.approx(1 / 3)


def test_nodata_and_ignored_values_are_not_scored(tmp_path: Path) -> None:
    truth = np.repeat(np.array([0, 1, 2, 3], np.uint8), 10)[None].repeat(20, 0)
    truth[:5] = 9  # reference nodata
    ref = write_tif(tmp_path / "ref.tif", truth, PRED_TRANSFORM, UTM, nodata=9)
    predicted = np.full((20, 40), 1, np.uint8)
    predicted[:, 35:] = 255  # prediction nodata
    predicted[15:, :] = 3  # ignored in the prediction: not scored either
    pred = write_class_map(tmp_path / "pred.tif", predicted)

    score = evaluate_maps(pred, ref, ignore=[0, 3], classes={1: "ignored: tags win"})
    assert score.class_ids == (1, 2)  # 3 is ignored even though the tags declare it
    # Rows 5..14, columns 10..19 (class 1) and 20..29 (class 2), all predicted 1.
    np.testing.assert_array_equal(score.confusion_matrix, [[100, 0], [100, 0]])
    assert score.pixels == 200 and score.class_names == ("water", "forest")
    assert np.isnan(score.precision[1]) and score.f1[1] == 0.0


def test_regression_matches_numpy(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    predicted = rng.normal(20.0, 5.0, (60, 80)).astype(np.float32)
    predicted[:4] = -9999
    pred = write_tif(tmp_path / "pred.tif", predicted, PRED_TRANSFORM, UTM, nodata=-9999)
    # Same pixel lattice, shifted by 10 rows and 5 columns, reaching past the scene.
    truth = (predicted[10:, 5:] + rng.normal(1.0, 2.0, (50, 75))).astype(np.float32)
    truth = np.pad(truth, ((0, 8), (0, 6)), constant_values=3.0)
    truth[20:25, 30:40] = np.nan
    ref = write_tif(tmp_path / "ref.tif", truth, PRED_TRANSFORM @ Affine.translation(5, 10), UTM)

    score = evaluate_maps(pred, ref, kind="regression", block=9)
    p, t = predicted[10:, 5:].astype(np.float64), truth[:50, :75].astype(np.float64)
    ok = np.isfinite(t)
    error = p[ok] - t[ok]
    assert score.pixels == ok.sum()
    assert score.mae == pytest.approx(np.abs(error).mean(), rel=1e-9)
    assert score.rmse == pytest.approx(np.sqrt((error**2).mean()), rel=1e-9)
    assert score.bias == pytest.approx(error.mean(), rel=1e-9)
    r2 = 1 - (error**2).sum() / ((t[ok] - t[ok].mean()) ** 2).sum()
    assert score.r2 == pytest.approx(r2, rel=1e-9)
    assert score.to_dict()["kind"] == "regression" and "miou" not in score.to_dict()


# --------------------------------------------------------------------------- vector layers


def utm_rectangle(row0: int, col0: int, row1: int, col1: int) -> shapely.Polygon:
    """A rectangle on prediction pixel edges, densified so it stays straight in EPSG:4326."""
    (x0, y0), (x1, y1) = PRED_TRANSFORM @ (col0, row0), PRED_TRANSFORM @ (col1, row1)
    return shapely.segmentize(shapely.box(x0, y1, x1, y0), 5.0)


def write_polygons(
    path: Path, boxes: list[tuple[int, int, int, int]], **fields: list[object]
) -> Path:
    frame = gpd.GeoDataFrame(fields, geometry=[utm_rectangle(*b) for b in boxes], crs=UTM)
    frame.to_crs(4326).to_file(path, driver="GeoJSON")
    return path


def test_geojson_polygons_in_wgs84_against_a_utm_prediction(tmp_path: Path) -> None:
    boxes = [(10, 10, 50, 40), (20, 50, 80, 90), (20, 20, 30, 30)]  # the last sits inside the first
    labels = write_polygons(tmp_path / "labels.geojson", boxes, **{"class": [1, 2, 3]})
    cols = np.arange(100)[None].repeat(100, 0)
    predicted = np.where(cols < 45, 1, 2).astype(np.uint8)
    predicted[25:28] = 3
    predicted[60:, 80:] = 255
    pred = write_class_map(tmp_path / "pred.tif", predicted)

    truth = np.zeros((100, 100), np.uint8)
    for (r0, c0, r1, c1), value in zip(boxes, [1, 2, 3], strict=True):
        truth[r0:r1, c0:c1] = value  # smaller features burn on top
    scored = (truth > 0) & (predicted != 255)
    score = evaluate_maps(pred, labels, label_field="class", block=13)
    expected = confusion(truth[scored], predicted[scored], [1, 2, 3])
    np.testing.assert_array_equal(score.confusion_matrix, expected)
    assert score.pixels == scored.sum()


def test_vector_values_for_regression(tmp_path: Path) -> None:
    labels = write_polygons(
        tmp_path / "heights.gpkg", [(0, 0, 10, 10), (10, 0, 20, 10)], height=[2.5, 7.0]
    )
    pred = write_tif(tmp_path / "pred.tif", np.full((30, 30), 5.0, np.float32), PRED_TRANSFORM, UTM)
    score = evaluate_maps(pred, labels, kind="regression", label_field="height")
    assert score.pixels == 200
    assert score.mae == pytest.approx(2.25) and score.bias == pytest.approx(0.25)
    assert score.rmse == pytest.approx(np.sqrt((2.5**2 + 2.0**2) / 2))


# --------------------------------------------------------------------------- output and errors


def test_save_writes_json_atomically(tmp_path: Path) -> None:
    classes = np.repeat(np.array([1, 2], np.uint8), 10)[None].repeat(10, 0)
    pred = write_class_map(tmp_path / "pred.tif", classes)
    path = evaluate_maps(pred, pred).save(tmp_path / "out" / "metrics.json")
    report = json.loads(path.read_text())
    assert [p.name for p in path.parent.iterdir()] == ["metrics.json"]
    assert report["miou"] == 1.0 and report["overall_accuracy"] == 1.0 and report["pixels"] == 200
    assert report["class_ids"] == [1, 2, 3] and report["class_names"] == [
        "water",
        "forest",
        "urban",
    ]
    urban = report["per_class"][2]
    assert urban == {
        "id": 3,
        "name": "urban",
        "color": "#c80000",
        "iou": None,  # declared by the tags but in neither map
        "f1": None,
        "precision": None,
        "recall": None,
        "support": 0,
    }
    assert report["confusion_matrix"] == [[100, 0, 0], [0, 100, 0], [0, 0, 0]]


def test_no_overlap_names_both_files(tmp_path: Path) -> None:
    pred = write_class_map(tmp_path / "pred.tif", np.ones((20, 20), np.uint8))
    far = write_tif(
        tmp_path / "far.tif", np.ones((5, 5), np.uint8), (0.01, 0, 10.0, 0, -0.01, 45.0), 4326
    )
    with pytest.raises(
        LabelsOutsideSceneError,
        match=r"far.tif: lies entirely outside pred.tif \(bounds \(.*\) in EPSG:32631 \(WGS 84 "
        r"/ UTM zone 31N\)\); far.tif covers \(10, 44.95, 10.05, 45\) in EPSG:4326 \(WGS 84\)",
    ):
        evaluate_maps(pred, far)
    frame = gpd.GeoDataFrame({"class": [1]}, geometry=[shapely.box(10, 45, 10.1, 45.1)], crs=4326)
    frame.to_file(tmp_path / "labels.geojson", driver="GeoJSON")
    with pytest.raises(
        LabelsOutsideSceneError, match=r"labels.geojson: lies entirely outside pred.tif"
    ):
        evaluate_maps(pred, tmp_path / "labels.geojson", label_field="class")


def test_missing_field_lists_the_fields(tmp_path: Path) -> None:
    pred = write_class_map(tmp_path / "pred.tif", np.ones((20, 20), np.uint8))
    labels = write_polygons(tmp_path / "labels.geojson", [(0, 0, 5, 5)], landcover=[1], note=["a"])
    with pytest.raises(ConfigError, match=r"has no field 'class'; its fields are landcover, note"):
        evaluate_maps(pred, labels, label_field="class")
    with pytest.raises(ConfigError, match=r"field 'note' must hold integer class ids"):
        evaluate_maps(pred, labels, label_field="note")


def test_bad_inputs_raise_eoforge_errors(tmp_path: Path) -> None:
    pred = write_class_map(tmp_path / "pred.tif", np.ones((20, 20), np.uint8))
    with pytest.raises(MissingFileError, match=r"nothere\.tif"):
        evaluate_maps(pred, tmp_path / "nothere.tif")
    two = write_tif(tmp_path / "two.tif", np.ones((2, 20, 20), np.uint8), PRED_TRANSFORM, UTM)
    with pytest.raises(ConfigError, match=r"two\.tif: has 2 bands"):
        evaluate_maps(two, pred)
    floats = write_tif(tmp_path / "f.tif", np.ones((20, 20), np.float32), PRED_TRANSFORM, UTM)
    with pytest.raises(ConfigError, match="regression"):
        evaluate_maps(floats, pred)
    bare = tmp_path / "bare.tif"
    with rasterio.open(bare, "w", driver="GTiff", width=4, height=4, count=1, dtype="uint8") as dst:
        dst.write(np.ones((1, 4, 4), np.uint8))
    with pytest.raises(NotGeoreferencedError, match=r"bare\.tif"):
        evaluate_maps(pred, bare)
