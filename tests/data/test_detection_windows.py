"""Boxes on georeferenced windows of a synthetic VHR scene, by the visibility rule."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
import torch
from odc.geo.geobox import GeoBox

from eoforge.data.bad_files import BadFiles
from eoforge.data.detection import DetectionChipDataset, detection_collate
from eoforge.data.detection_windows import (
    CLASS_ID,
    ROW,
    DetectionWindows,
    boxes_for_window,
    checked_objects,
    visible_fractions,
)
from eoforge.data.windows import Window
from eoforge.datasets.layouts.objects import from_dota_line, write_objects
from eoforge.errors import ConfigError, NotGeoreferencedError
from eoforge.geo.grid import make_grid, sub_grid
from eoforge.synth.scene import generate_scene

CLASSES = ("ship", "small-vehicle", "plane")
RGB = ("RGB.red", "RGB.green", "RGB.blue")


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("vhr")
    generate_scene(out, size=128, seed=0, sensors="vhr", dates=1, clouds=0.0)
    return out


def _harbour(scene: Path) -> tuple[GeoBox, gpd.GeoDataFrame]:
    with rasterio.open(scene / "vhr" / "harbour.tif") as ds:
        grid = make_grid(ds.shape, ds.transform, ds.crs)
    return grid, gpd.read_parquet(scene / "vectors" / "objects.parquet")


def _ship_pixels(frame: gpd.GeoDataFrame, grid: GeoBox) -> tuple[float, float, float, float]:
    """Centre and sides (pixels of ``grid``) of the first object, an unrotated ship."""
    ship = frame.iloc[0]
    assert ship["label"] == "ship" and ship["angle_deg"] == 0
    t = grid.transform
    cx, cy = ~t @ (ship["cx"], ship["cy"])
    return cx, cy, ship["length_m"] / t.a, ship["width_m"] / -t.e


def test_a_window_holding_an_object_gives_its_box(scene: Path) -> None:
    grid, frame = _harbour(scene)
    cx, cy, length, width = _ship_pixels(frame, grid)
    top, left = int(cy) - 40, int(cx) - 60
    window = sub_grid(grid, top, left, 128, 128)
    boxes, labels = boxes_for_window(frame, window, oriented=False, classes=CLASSES)
    expected = [cx - length / 2 - left, cy - width / 2 - top, cx + length / 2 - left]
    row = next(i for i, b in enumerate(boxes) if abs(b[0] - expected[0]) < 1e-2)
    np.testing.assert_allclose(boxes[row], [*expected, cy + width / 2 - top], atol=1e-3)
    assert labels[row] == 0 and boxes.dtype == np.float32 and labels.dtype == np.int64
    oriented, _ = boxes_for_window(frame, window, oriented=True, classes=CLASSES)
    np.testing.assert_allclose(oriented[row], [cx - left, cy - top, length, width, 0.0], atol=1e-3)


def test_a_window_cutting_an_object_keeps_it_by_the_visible_share(scene: Path) -> None:
    grid, frame = _harbour(scene)
    cx, cy, length, _ = _ship_pixels(frame, grid)
    right = cx + length / 2
    # windows starting one pixel either side of the ship's middle: it shows just over half
    # (kept, clipped at x = 0) or just under half (dropped)
    for left in (math.floor(cx), math.ceil(cx)):
        share = (right - left) / length
        window = sub_grid(grid, int(cy) - 40, left, 128, 128)
        positions, fractions = visible_fractions(frame, window)
        assert fractions[list(positions).index(0)] == pytest.approx(share, abs=1e-6)
        boxes, _ = boxes_for_window(frame, window, oriented=False, classes=CLASSES)
        kept = [b for b in boxes if abs(b[2] - (right - left)) < 1e-2 and b[0] == 0]
        assert len(kept) == (1 if share >= 0.5 else 0)
        oriented, _ = boxes_for_window(
            frame, window, oriented=True, classes=CLASSES, min_visible=0.4
        )
        whole = [b for b in oriented if abs(b[0] - (cx - left)) < 1e-2 and b[2] > 50]
        assert len(whole) == 1  # at 0.4 both keep it, whole: its length stays length
        assert whole[0][2] == pytest.approx(length, abs=1e-3)
    assert (right - math.floor(cx)) / length >= 0.5 > (right - math.ceil(cx)) / length


def test_detection_windows_read_images_and_boxes(scene: Path) -> None:
    grid, frame = _harbour(scene)
    windows = [sub_grid(grid, 384, 192, 128, 128), sub_grid(grid, 0, 896, 128, 128)]
    data = DetectionWindows(
        scene / "vhr" / "harbour.tif",
        scene / "vectors" / "objects.parquet",
        windows,
        bands=RGB,
        oriented=False,
        class_attribute="label",
        classes=CLASSES,
    )
    sample = data[0]
    assert sample["image"].shape == (3, 128, 128) and bool(sample["valid"].all())
    with rasterio.open(scene / "vhr" / "harbour.tif") as ds:
        pixels = ds.read(window=((384, 512), (192, 320)))
    np.testing.assert_array_equal(sample["image"].numpy(), pixels.astype(np.float32))
    expected, labels = boxes_for_window(frame, windows[0], oriented=False, classes=CLASSES)
    np.testing.assert_array_equal(sample["boxes"].numpy(), expected)
    assert sample["labels"].tolist() == labels.tolist() and len(labels) > 0
    assert list(sample["transform"])[:3] == [grid.transform.a, 0.0, grid.transform.c + 96]
    batch = detection_collate([data[0], data[1]])
    assert batch["image"].shape == (2, 3, 128, 128) and len(batch["boxes"]) == 2
    assert isinstance(batch["crs"][0], str) and torch.equal(batch["boxes"][0], sample["boxes"])
    with pytest.raises(ConfigError, match="of an unknown class"):
        DetectionWindows(
            scene / "vhr" / "harbour.tif",
            frame,
            windows,
            bands=RGB,
            oriented=False,
            class_attribute="label",
            classes=("ship",),
        )


def test_windows_agree_with_chips_of_the_same_image(scene: Path, tmp_path: Path) -> None:
    """The scene's DOTA labels chipped in pixels give the boxes the map polygons give."""
    grid, frame = _harbour(scene)
    label_file = scene / "vhr" / "harbour.txt"
    rows = [
        from_dota_line(line, "harbour.tif", CLASSES, label_file, n)
        for n, line in enumerate(label_file.read_text().splitlines(), start=1)
        if len(line.split()) >= 9
    ]
    (tmp_path / "images").mkdir()
    shutil.copy(scene / "vhr" / "harbour.tif", tmp_path / "images" / "harbour.tif")
    write_objects(tmp_path / "objects.csv", rows)
    chips = DetectionChipDataset(tmp_path, oriented=False, classes=CLASSES, patch_size=256)
    assert len(chips) == 16
    compared = 0
    for chip in chips.chips:
        window = sub_grid(grid, chip.top, chip.left, 256, 256)
        boxes, labels = boxes_for_window(frame, window, oriented=False, classes=CLASSES)
        # the label file rounds corners to 0.1 px
        order = np.lexsort(boxes.T[::-1])
        chip_order = np.lexsort(chip.boxes.T[::-1])
        np.testing.assert_allclose(chip.boxes[chip_order], boxes[order], atol=0.06)
        assert chip.labels[chip_order].tolist() == labels[order].tolist()
        compared += len(labels)
    assert compared >= 20


def _flat_scene(tmp_path: Path) -> tuple[Path, GeoBox]:
    """A 1-band 60 x 100 px GeoTIFF at 1 m in UTM 31N."""
    grid = make_grid((60, 100), rasterio.transform.from_origin(500_000, 4_000_000, 1, 1), 32631)
    path = tmp_path / "flat.tif"
    with rasterio.open(
        path, "w", driver="GTiff", count=1, height=60, width=100, dtype="float32",
        crs="EPSG:32631", transform=grid.transform,
    ) as ds:  # fmt: skip
        ds.write(np.ones((1, 60, 100), np.float32))
        ds.set_band_description(1, "S2.B04")
    return path, grid


def _boxes(grid: GeoBox, pixel_boxes: list[tuple[int, int, int, int]]) -> list[shapely.Polygon]:
    t = grid.transform
    return [shapely.box(t.c + c0, t.f - r1, t.c + c1, t.f - r0) for c0, r0, c1, r1 in pixel_boxes]


def test_overlapping_tiles_count_each_object_in_the_tile_showing_most_of_it(
    tmp_path: Path,
) -> None:
    path, grid = _flat_scene(tmp_path)
    # tiles of 60 x 60 px at columns 0 and 40 overlap on columns 40-59
    tiles = [Window(sub_grid(grid, 0, 0, 60, 60)), Window(sub_grid(grid, 0, 40, 60, 60))]
    # object 0 inside tile 0 only; 1 on columns 45-65 (15 of 20 columns in tile 0, all 20
    # in tile 1); 2 on columns 50-58 (whole in both: the first tile owns it)
    frame = gpd.GeoDataFrame(
        {"label": ["ship", "plane", "ship"]},
        geometry=_boxes(grid, [(5, 5, 15, 10), (45, 20, 65, 30), (50, 40, 58, 50)]),
        crs="EPSG:32631",
    )
    data = DetectionWindows(
        path, frame, tiles, bands=["S2.B04"], oriented=False, class_attribute="label",
        classes=CLASSES, min_visible=0.5,
    )  # fmt: skip
    before = data[0]
    assert before["labels"].tolist() == [0, 2, 0] and "difficult" not in before
    data.count_once(tiles)
    first, second = data[0], data[1]
    assert first["labels"].tolist() == [0, 2, 0]
    assert first["difficult"].tolist() == [False, True, False]  # object 1 belongs to tile 1
    np.testing.assert_allclose(first["boxes"][1].numpy(), [45, 20, 60, 30])  # clipped
    assert second["labels"].tolist() == [2, 0]
    assert second["difficult"].tolist() == [False, True]
    np.testing.assert_allclose(second["boxes"][0].numpy(), [5, 20, 25, 30])


def test_object_layers_without_crs_or_with_bad_rows(tmp_path: Path) -> None:
    _, grid = _flat_scene(tmp_path)
    polygons = _boxes(grid, [(5, 5, 15, 10), (20, 20, 30, 30)])
    frame = gpd.GeoDataFrame({"label": ["ship", "ship"]}, geometry=polygons)
    with pytest.raises(NotGeoreferencedError, match="has no CRS"):
        checked_objects(frame, "label", CLASSES)
    frame = frame.set_crs("EPSG:32631")
    frame.loc[1, "geometry"] = shapely.LineString([(500_020, 3_999_980), (500_030, 3_999_970)])
    with pytest.raises(ConfigError, match=r"1 of 2 objects cannot be boxes \(1 not polygons\)"):
        checked_objects(frame, "label", CLASSES)
    log = tmp_path / "skipped.tsv"
    kept = checked_objects(frame, "label", CLASSES, BadFiles("skip", log))
    assert kept[ROW].tolist() == [0] and kept[CLASS_ID].tolist() == [0]
    assert "1 of 2 objects cannot be boxes" in log.read_text()
