"""Files the figures read (eoforge.evaluate.readers): class rasters, their classes, bands, logs."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from tests.evaluate.figure_checks import TRANSFORM, date_folder
from tests.helpers import write_tif

from eoforge.classes import ClassInfo
from eoforge.errors import BandNotFoundError, EoforgeError, MissingFileError, UnreadableFileError
from eoforge.evaluate import readers


def _class_raster(path: Path, data: np.ndarray, **tags: str) -> Path:
    write_tif(path, data, TRANSFORM, "EPSG:32631", nodata=255)
    if tags:
        with rasterio.open(path, "r+") as ds:
            ds.update_tags(1, **tags)
    return path


# --------------------------------------------------------------------------- classes


def test_read_classes_names_from_tags_and_colours_from_table(tmp_path: Path) -> None:
    data = np.zeros((32, 32), np.uint8)
    data[:, 16:] = 1
    path = _class_raster(tmp_path / "pred.tif", data, CLASS_0="bare", CLASS_1="lake")
    with rasterio.open(path, "r+") as ds:
        ds.write_colormap(1, {0: (200, 10, 10, 255), 1: (10, 10, 200, 255)})
    assert readers.read_classes(path) == [
        ClassInfo(id=0, name="bare", color="#c80a0a"),
        ClassInfo(id=1, name="lake", color="#0a0ac8"),
    ]


def test_read_classes_of_synthetic_labels_come_from_legend_json(scene: Path) -> None:
    labels = next((scene / "labels").glob("landcover_*.tif"))
    legend = json.loads((scene / "legend.json").read_text())["landcover"]
    classes = {c.id: c for c in readers.read_classes(labels)}
    assert set(classes) == {entry["value"] for entry in legend}
    water = classes[1]
    assert (water.name, water.color, water.rgb) == ("water", "#2673ca", (38, 115, 202))
    assert water.description == next(e["description"] for e in legend if e["value"] == 1)
    assert classes[0].name == "nodata"


def test_legend_json_family_by_file_name_and_bad_entries_skipped(tmp_path: Path) -> None:
    legend = {
        "landcover": [{"value": 1, "name": "water", "color": [0, 0, 255]}],
        "croptype": [
            {"value": 3, "name": "wheat", "color": "#F5DEB3", "description": "winter wheat"},
            {"value": 4, "name": "maize", "color": "not a colour"},
            {"value": -1, "name": "negative", "color": [1, 2, 3]},
            {"name": "no value", "color": [1, 2, 3]},
            "not an entry",
        ],
    }
    (tmp_path / "legend.json").write_text(json.dumps(legend))
    folder = tmp_path / "labels"
    folder.mkdir()
    path = _class_raster(folder / "croptype_2024.tif", np.full((16, 16), 3, np.uint8))
    assert readers.legend_classes(path) == {
        3: ClassInfo(id=3, name="wheat", color="#f5deb3", description="winter wheat")
    }
    other = _class_raster(folder / "other.tif", np.ones((16, 16), np.uint8))
    assert [c.name for c in readers.read_classes(other)] == ["water"]  # first family


def test_read_classes_tags_win_over_legend_and_unknown_get_fallback_colours(
    tmp_path: Path,
) -> None:
    (tmp_path / "legend.json").write_text(
        json.dumps({"x": [{"value": 1, "name": "water", "color": [0, 0, 255], "description": "d"}]})
    )
    data = np.array([[1, 5], [5, 255]], np.uint8)
    path = _class_raster(tmp_path / "x.tif", data, CLASS_1="lake", CLASS_5="urban")
    lake, urban = readers.read_classes(path)
    assert lake == ClassInfo(id=1, name="lake", color="#0000ff")  # legend colour, tag name
    assert urban == ClassInfo(id=5, name="urban", color=readers.FALLBACK_COLORS[1])


def test_read_classes_of_a_raster_naming_none_is_empty(tmp_path: Path) -> None:
    assert readers.read_classes(_class_raster(tmp_path / "x.tif", np.ones((4, 4), np.uint8))) == []
    (tmp_path / "legend.json").write_text("{broken")
    assert readers.legend_classes(tmp_path / "x.tif") == {}


# --------------------------------------------------------------------------- class rasters


def test_read_class_raster_decimates_by_nearest_keeping_bounds(tmp_path: Path) -> None:
    data = (np.arange(60 * 100).reshape(60, 100) % 7).astype(np.uint8)
    path = _class_raster(tmp_path / "big.tif", data)
    full = readers.read_class_raster(path)
    assert full.labels.shape == (60, 100) and full.nodata == 255
    np.testing.assert_array_equal(full.labels, data)
    small = readers.read_class_raster(path, max_side=50)
    assert small.labels.shape == (30, 50)
    assert set(np.unique(small.labels)) <= set(range(7))  # ids only, nothing blended
    assert small.grid.boundingbox == pytest.approx(full.grid.boundingbox)
    assert small.grid.resolution.x == pytest.approx(20.0)


def test_read_class_raster_rejects_float_values(tmp_path: Path) -> None:
    path = write_tif(tmp_path / "f.tif", np.ones((8, 8), np.float32), TRANSFORM, "EPSG:32631")
    with pytest.raises(EoforgeError, match="not class ids"):
        readers.read_class_raster(path)


def test_read_class_pair_collects_nodata_and_checks_grid(tmp_path: Path) -> None:
    data = np.ones((20, 20), np.uint8)
    ref = write_tif(tmp_path / "ref.tif", data, TRANSFORM, "EPSG:32631", nodata=0)
    pred = write_tif(tmp_path / "pred.tif", data, TRANSFORM, "EPSG:32631", nodata=255)
    pair = readers.read_class_pair(pred, ref)
    assert pair.nodata == {0, 255}
    assert pair.prediction.shape == pair.reference.shape == (20, 20)
    shifted = write_tif(
        tmp_path / "shifted.tif", data, TRANSFORM @ Affine.translation(3, 0), "EPSG:32631"
    )
    with pytest.raises(EoforgeError, match="grid"):
        readers.read_class_pair(shifted, ref)


# --------------------------------------------------------------------------- bands


def test_read_display_bands_by_name_with_units(scene: Path) -> None:
    s2 = readers.read_display_bands(date_folder(scene, "s2"), ["S2.B04", "S2.B03"])
    assert s2.values.shape == (2, 128, 128) and s2.values.dtype == np.float32
    assert s2.valid.shape == (128, 128) and s2.valid.all()
    assert 0.0 <= float(np.median(s2.values)) <= 1.0  # reflectance, not digital numbers
    small = readers.read_display_bands(date_folder(scene, "s2"), ["S2.B04"], max_side=32)
    assert small.values.shape == (1, 32, 32)
    assert small.grid.boundingbox == pytest.approx(s2.grid.boundingbox)
    with pytest.raises(BandNotFoundError, match=r"S2\.B99"):
        readers.read_display_bands(date_folder(scene, "s2"), ["S2.B99"])


def test_read_display_bands_of_a_stack_file(tmp_path: Path) -> None:
    data = np.full((2, 40, 30), 1200, np.uint16)
    data[:, :, :5] = 0
    path = write_tif(
        tmp_path / "stack.tif", data, TRANSFORM, "EPSG:32631", nodata=0,
        descriptions=["S2.B04", "S2.B03"],
    )  # fmt: skip
    read = readers.read_display_bands(path, ["S2.B03"])
    assert read.values.shape == (1, 40, 30)
    assert not read.valid[:, :5].any() and read.valid[:, 5:].all()
    assert len(read.units) == 1


# --------------------------------------------------------------------------- training logs


def test_read_metrics_csv_blank_cells_are_nan(tmp_path: Path) -> None:
    path = tmp_path / "metrics.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["epoch", "train/loss", "val/loss"])
        writer.writerows([[0, 1.0, ""], [0, "", 1.2], [1, "oops"]])
    columns = readers.read_metrics_csv(path)
    assert np.isnan(columns["val/loss"][0]) and columns["val/loss"][1] == pytest.approx(1.2)
    assert np.isnan(columns["train/loss"][2]) and np.isnan(columns["val/loss"][2])
    with pytest.raises(MissingFileError, match="does not exist"):
        readers.read_metrics_csv(tmp_path / "missing.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(UnreadableFileError, match="no header"):
        readers.read_metrics_csv(tmp_path / "empty.csv")
