"""Map figures (eoforge.evaluate.maps): quicklooks, class maps and error maps."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from matplotlib.colors import to_rgba
from tests.evaluate.figure_checks import (
    TRANSFORM,
    colours_at,
    date_folder,
    legend_names,
    legend_texts,
    pixels_of,
    png_rgb,
    png_size,
)
from tests.helpers import write_tif

from eoforge.classes import ClassInfo
from eoforge.errors import BandNotFoundError, ConfigError, EoforgeError
from eoforge.evaluate import maps, readers

CLASSES = [
    ClassInfo(id=0, name="nodata", color="#000000"),
    ClassInfo(id=1, name="water", color="#2673ca"),
    ClassInfo(id=2, name="forest", color="#186e24"),
]


# --------------------------------------------------------------------------- stretch


def test_percentile_stretch_maps_2nd_and_98th_percentiles_to_0_and_1() -> None:
    values = np.linspace(0.0, 1000.0, 10_001, dtype=np.float32).reshape(1, 73, 137)
    valid = np.ones(values.shape[1:], bool)
    scaled, limits = maps.percentile_stretch(values, valid, (2, 98))
    low, high = limits[0]
    assert low == pytest.approx(20.0, abs=0.01)
    assert high == pytest.approx(980.0, abs=0.01)
    flat, out = values.ravel(), scaled.ravel()
    assert out[np.argmin(np.abs(flat - low))] == pytest.approx(0.0, abs=1e-3)
    assert out[np.argmin(np.abs(flat - high))] == pytest.approx(1.0, abs=1e-3)
    middle = np.argmin(np.abs(flat - 500.0))
    assert out[middle] == pytest.approx(0.5, abs=1e-3)
    assert out.min() == 0.0 and out.max() == 1.0
    assert scaled.dtype == np.float32 and scaled.shape == values.shape


def test_percentile_stretch_ignores_invalid_and_non_finite_pixels() -> None:
    band = np.tile(np.arange(100, dtype=np.float32), (100, 1))
    band[:, :10] = 1e6  # invalid fill value that must not pull the stretch
    band[0, 50] = np.nan
    valid = np.ones(band.shape, bool)
    valid[:, :10] = False
    scaled, limits = maps.percentile_stretch(band, valid)
    low, high = limits[0]
    assert 10 <= low < 13 and 97 < high <= 99
    assert scaled.shape == band.shape
    empty, empty_limits = maps.percentile_stretch(band[None], np.zeros(band.shape, bool))
    assert empty_limits == [(0.0, 1.0)] and not empty.any()


# --------------------------------------------------------------------------- quicklooks


@pytest.mark.parametrize(
    "bands",
    [["S2.B04", "S2.B03", "S2.B02"], ["S2.B08", "S2.B04", "S2.B03"]],
    ids=["true-colour", "false-colour"],
)
def test_quicklook_composites_by_band_name(scene: Path, tmp_path: Path, bands: list[str]) -> None:
    png = tmp_path / "ql.png"
    fig = maps.quicklook(date_folder(scene, "s2"), bands, title="composite", path=png)
    width, height = png_size(png)
    assert 400 <= width <= 1200 and 400 <= height <= 1200
    ax = fig.axes[0]
    assert "EPSG:32631" in ax.get_xlabel()
    rgba = np.asarray(ax.images[0].get_array())
    assert rgba.shape == (128, 128, 4)
    assert rgba[..., :3].min() == 0.0 and rgba[..., :3].max() == 1.0  # stretched to full range
    left, right, bottom, top = ax.images[0].get_extent()
    with rasterio.open(date_folder(scene, "s2") / "S2.B04.tif") as ds:
        assert (left, top) == pytest.approx((ds.bounds.left, ds.bounds.top))
        assert (right, bottom) == pytest.approx((ds.bounds.right, ds.bounds.bottom))
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file


def test_quicklook_single_sar_band_in_db_has_colour_bar(scene: Path, tmp_path: Path) -> None:
    png = tmp_path / "vv.png"
    fig = maps.quicklook(date_folder(scene, "s1"), ["S1.VV"], unit="dB", path=png)
    png_size(png)
    image = fig.axes[0].images[0]
    low, high = image.get_clim()
    assert low < high < 10.0 and low < -5.0  # backscatter in dB, not linear power
    assert any("dB" in ax.get_ylabel() for ax in fig.axes[1:])


def test_quicklook_shows_invalid_pixels_transparent_over_black(tmp_path: Path) -> None:
    data = np.full((3, 40, 40), 1200, np.uint16)
    data[:, :, :8] = 0  # nodata stripe
    data[0, 20:, 8:] = 3000
    path = write_tif(
        tmp_path / "stack.tif",
        data,
        TRANSFORM,
        "EPSG:32631",
        nodata=0,
        descriptions=["S2.B04", "S2.B03", "S2.B02"],
    )
    png = tmp_path / "stack.png"
    fig = maps.quicklook(path, ["S2.B04", "S2.B03", "S2.B02"], path=png)
    ax = fig.axes[0]
    rgba = np.asarray(ax.images[0].get_array())
    assert (rgba[:, :8, 3] == 0).all() and (rgba[:, 8:, 3] == 1).all()
    assert ax.get_facecolor()[:3] == (0.0, 0.0, 0.0)
    assert "no data" in ax.get_title()
    rendered = png_rgb(png)
    assert pixels_of(rendered, "#000000", 0) > 500  # the no-data stripe, drawn black
    assert pixels_of(rendered, "#ff0000", 8) > 500  # band 4 bright in the lower half: red


def test_quicklook_rejects_two_bands_and_unknown_names(scene: Path) -> None:
    folder = date_folder(scene, "s2")
    with pytest.raises(ConfigError, match="1 band"):
        maps.quicklook(folder, ["S2.B04", "S2.B03"])
    with pytest.raises(BandNotFoundError, match=r"S2\.B99"):
        maps.quicklook(folder, ["S2.B99"])


def test_quicklook_decimates_large_grids(scene: Path) -> None:
    fig = maps.quicklook(date_folder(scene, "s2"), ["S2.B04", "S2.B03", "S2.B02"], max_side=50)
    assert max(np.asarray(fig.axes[0].images[0].get_array()).shape[:2]) <= 50


# --------------------------------------------------------------------------- class maps


def test_class_map_of_label_raster_names_classes_from_legend(scene: Path, tmp_path: Path) -> None:
    labels = next((scene / "labels").glob("landcover_*.tif"))
    png = tmp_path / "labels.png"
    fig = maps.class_map(labels, title="labels", path=png)
    png_size(png)
    texts = legend_texts(fig)
    names = legend_names(fig)
    assert {"water", "forest", "cropland"} <= set(names)
    assert "nodata" not in names
    shares = [float(t.rsplit("(", 1)[1].split(" %")[0]) for t in texts if "no data" not in t]
    assert sum(shares) == pytest.approx(100.0, abs=0.5)
    rendered = png_rgb(png)
    with rasterio.open(labels) as ds:
        present = set(np.unique(ds.read(1)).tolist())
    for item in readers.read_classes(labels):
        if item.id in present and item.id != 0:  # every class on the map is drawn in its colour
            assert pixels_of(rendered, item.color) > 0, item.name


def test_class_map_reads_colour_table_and_class_tags(tmp_path: Path) -> None:
    data = np.zeros((32, 32), np.uint8)
    data[:, 16:] = 1
    data[:4] = 255
    path = write_tif(tmp_path / "pred.tif", data, TRANSFORM, "EPSG:32631", nodata=255)
    with rasterio.open(path, "r+") as ds:
        ds.write_colormap(1, {0: (200, 10, 10, 255), 1: (10, 10, 200, 255)})
        ds.update_tags(1, CLASS_0="bare", CLASS_1="lake")
    assert readers.read_classes(path) == [
        ClassInfo(id=0, name="bare", color="#c80a0a"),
        ClassInfo(id=1, name="lake", color="#0a0ac8"),
    ]
    fig = maps.class_map(path)
    assert legend_names(fig) == ["bare", "lake", "no data"]
    assert legend_texts(fig)[2] == "no data (12.5 % of map)"
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert tuple(rgba[10, 0]) == pytest.approx(to_rgba("#c80a0a"))
    assert rgba[0, 0, 3] == 0.0  # nodata transparent


def test_class_map_of_array_with_given_classes(tmp_path: Path) -> None:
    data = np.array([[0, 1], [2, 2]], np.uint8)
    fig = maps.class_map(data, CLASSES, title="given")
    assert legend_names(fig) == ["water", "forest", "no data"]
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert rgba[0, 0, 3] == 0.0 and tuple(rgba[1, 1]) == pytest.approx(to_rgba("#186e24"))
    assert "pixels" in fig.axes[0].get_xlabel()


def test_class_map_png_shows_class_colours_unknown_magenta_and_nodata_white(
    tmp_path: Path,
) -> None:
    data = np.ones((60, 60), np.uint8)
    data[:, 20:40] = 2
    data[:, 40:50] = 7  # no class describes 7
    data[:, 50:] = 0  # the "nodata" class
    png = tmp_path / "classes.png"
    fig = maps.class_map(data, CLASSES, path=png)
    rendered = png_rgb(png)
    water, forest, unknown = (pixels_of(rendered, c) for c in ("#2673ca", "#186e24", "#ff00ff"))
    assert water > 1000 and forest > 1000 and unknown > 500
    assert water == pytest.approx(forest, rel=0.1)  # equal areas, equal pixels
    assert forest == pytest.approx(2 * unknown, rel=0.15)
    points = [(5.0, 30.0), (30.0, 30.0), (45.0, 30.0), (55.0, 30.0)]
    assert colours_at(fig, png, points) == ["#2673ca", "#186e24", "#ff00ff", "#ffffff"]
    assert legend_texts(fig)[:2] == ["water (40.0 %)", "forest (40.0 %)"]


def test_class_map_generates_classes_for_unnamed_rasters(tmp_path: Path) -> None:
    data = np.array([[3, 3], [9, 255]], np.uint8)
    path = write_tif(tmp_path / "bare.tif", data, TRANSFORM, "EPSG:32631", nodata=255)
    fig = maps.class_map(path)
    assert legend_texts(fig) == ["class 3 (66.7 %)", "class 9 (33.3 %)", "no data (25.0 % of map)"]
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert tuple(rgba[1, 0]) == pytest.approx(to_rgba(readers.FALLBACK_COLORS[1]))


def test_class_map_decimates_large_rasters_keeping_class_values(scene: Path) -> None:
    labels = next((scene / "labels").glob("landcover_*.tif"))
    fig = maps.class_map(labels, max_side=40)
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert max(rgba.shape[:2]) <= 40
    colours = {tuple(int(v) for v in np.round(c * 255)) for c in rgba.reshape(-1, 4)}
    legend = {tuple(round(v * 255) for v in to_rgba(c.color)) for c in readers.read_classes(labels)}
    assert colours <= legend | {(0, 0, 0, 0)}  # nearest: no blended colours


# --------------------------------------------------------------------------- error map


def test_error_map_colours_correct_wrong_and_not_scored() -> None:
    reference = np.array([[1, 1, 2, 255]] * 2, np.uint8)
    prediction = np.array([[1, 2, 2, 1]] * 2, np.uint8)
    fig = maps.error_map(prediction, reference)
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert tuple(rgba[0, 0]) == pytest.approx(to_rgba(maps.CORRECT))
    assert tuple(rgba[0, 1]) == pytest.approx(to_rgba(maps.WRONG))
    assert tuple(rgba[0, 3]) == pytest.approx(to_rgba(maps.NOT_SCORED))
    texts = legend_texts(fig)
    assert texts[0] == "correct (66.7 %)" and texts[1] == "wrong (33.3 %)"
    assert texts[2].startswith("not scored (25.0 %")


def test_error_map_of_paths_uses_nodata_and_checks_grid(tmp_path: Path) -> None:
    reference = np.ones((20, 20), np.uint8)
    reference[:, :5] = 0  # label nodata
    prediction = reference.copy()
    prediction[:, 5:10] = 2
    ref = write_tif(tmp_path / "ref.tif", reference, TRANSFORM, "EPSG:32631", nodata=0)
    pred = write_tif(tmp_path / "pred.tif", prediction, TRANSFORM, "EPSG:32631", nodata=255)
    png = tmp_path / "err.png"
    fig = maps.error_map(pred, ref, path=png)
    png_size(png)
    assert legend_texts(fig)[:2] == ["correct (66.7 %)", "wrong (33.3 %)"]
    rendered = png_rgb(png)
    correct, wrong, blank = (
        pixels_of(rendered, c) for c in (maps.CORRECT, maps.WRONG, maps.NOT_SCORED)
    )
    assert correct == pytest.approx(2 * wrong, rel=0.1) and blank == pytest.approx(wrong, rel=0.1)
    shifted = write_tif(
        tmp_path / "shifted.tif", prediction, TRANSFORM @ Affine.translation(3, 0), "EPSG:32631"
    )
    with pytest.raises(EoforgeError, match="grid"):
        maps.error_map(shifted, ref)


def test_error_map_rejects_mixed_and_mismatched_inputs(tmp_path: Path) -> None:
    data = np.ones((4, 4), np.uint8)
    path = write_tif(tmp_path / "ref.tif", data, TRANSFORM, "EPSG:32631")
    with pytest.raises(ConfigError, match="two arrays or two raster paths"):
        maps.error_map(data, path)
    with pytest.raises(EoforgeError, match="differ in shape"):
        maps.error_map(data, np.ones((4, 5), np.uint8))
