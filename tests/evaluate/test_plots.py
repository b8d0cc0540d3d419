"""Figures of scenes, class maps, errors and training runs (eoforge.evaluate.plots)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from matplotlib.colors import to_rgba
from PIL import Image
from tests.helpers import write_tif

from eoforge.errors import BandNotFoundError, ConfigError, EoforgeError
from eoforge.evaluate import plots
from eoforge.synth import generate_scene

TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
CLASSES = [(0, "nodata", "#000000"), (1, "water", "#2673ca"), (2, "forest", "#186e24")]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("scene")
    generate_scene(out, size=128, seed=3, sensors="s2,s1", dates=1, clouds=0.0, vectors=False)
    return out


def _date_folder(scene: Path, sensor: str) -> Path:
    return next((scene / sensor).iterdir())


def _png_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        image.verify()  # raises on a truncated or corrupt PNG
    with Image.open(path) as image:
        assert image.format == "PNG"
        return image.size


def _legend_texts(fig: object) -> list[str]:
    legends = list(getattr(fig, "legends", [])) + [
        ax.get_legend() for ax in getattr(fig, "axes", []) if ax.get_legend() is not None
    ]
    return [t.get_text() for legend in legends for t in legend.get_texts()]


# --------------------------------------------------------------------------- stretch


def test_percentile_stretch_maps_2nd_and_98th_percentiles_to_0_and_1() -> None:
    values = np.linspace(0.0, 1000.0, 10_001, dtype=np.float32).reshape(1, 73, 137)
    valid = np.ones(values.shape[1:], bool)
    scaled, limits = plots.percentile_stretch(values, valid, (2, 98))
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
    scaled, limits = plots.percentile_stretch(band, valid)
    low, high = limits[0]
    assert 10 <= low < 13 and 97 < high <= 99
    assert scaled.shape == band.shape
    empty, empty_limits = plots.percentile_stretch(band[None], np.zeros(band.shape, bool))
    assert empty_limits == [(0.0, 1.0)] and not empty.any()


# --------------------------------------------------------------------------- quicklooks


@pytest.mark.parametrize(
    "bands",
    [["S2.B04", "S2.B03", "S2.B02"], ["S2.B08", "S2.B04", "S2.B03"]],
    ids=["true-colour", "false-colour"],
)
def test_quicklook_composites_by_band_name(scene: Path, tmp_path: Path, bands: list[str]) -> None:
    png = tmp_path / "ql.png"
    fig = plots.quicklook(_date_folder(scene, "s2"), bands, title="composite", path=png)
    width, height = _png_size(png)
    assert 400 <= width <= 1200 and 400 <= height <= 1200
    ax = fig.axes[0]
    assert "EPSG:32631" in ax.get_xlabel()
    rgba = np.asarray(ax.images[0].get_array())
    assert rgba.shape == (128, 128, 4)
    assert rgba[..., :3].min() == 0.0 and rgba[..., :3].max() == 1.0  # stretched to full range
    left, right, bottom, top = ax.images[0].get_extent()
    with rasterio.open(_date_folder(scene, "s2") / "S2.B04.tif") as ds:
        assert (left, top) == pytest.approx((ds.bounds.left, ds.bounds.top))
        assert (right, bottom) == pytest.approx((ds.bounds.right, ds.bounds.bottom))
    assert not list(tmp_path.glob(".*tmp"))  # atomic write left no temporary file


def test_quicklook_single_sar_band_in_db_has_colour_bar(scene: Path, tmp_path: Path) -> None:
    png = tmp_path / "vv.png"
    fig = plots.quicklook(_date_folder(scene, "s1"), ["S1.VV"], unit="dB", path=png)
    _png_size(png)
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
    fig = plots.quicklook(path, ["S2.B04", "S2.B03", "S2.B02"])
    ax = fig.axes[0]
    rgba = np.asarray(ax.images[0].get_array())
    assert (rgba[:, :8, 3] == 0).all() and (rgba[:, 8:, 3] == 1).all()
    assert ax.get_facecolor()[:3] == (0.0, 0.0, 0.0)
    assert "no data" in ax.get_title()


def test_quicklook_rejects_two_bands_and_unknown_names(scene: Path) -> None:
    folder = _date_folder(scene, "s2")
    with pytest.raises(ConfigError, match="1 band"):
        plots.quicklook(folder, ["S2.B04", "S2.B03"])
    with pytest.raises(BandNotFoundError, match=r"S2\.B99"):
        plots.quicklook(folder, ["S2.B99"])


def test_quicklook_decimates_large_grids(scene: Path) -> None:
    fig = plots.quicklook(_date_folder(scene, "s2"), ["S2.B04", "S2.B03", "S2.B02"], max_side=50)
    assert max(np.asarray(fig.axes[0].images[0].get_array()).shape[:2]) <= 50


# --------------------------------------------------------------------------- class maps


def test_class_map_of_label_raster_names_classes_from_legend(scene: Path, tmp_path: Path) -> None:
    labels = next((scene / "labels").glob("landcover_*.tif"))
    png = tmp_path / "labels.png"
    fig = plots.class_map(labels, title="labels", path=png)
    _png_size(png)
    texts = _legend_texts(fig)
    names = [t.split(" (")[0] for t in texts]
    assert {"water", "forest", "cropland"} <= set(names)
    assert "nodata" not in names
    shares = [float(t.rsplit("(", 1)[1].split(" %")[0]) for t in texts if "no data" not in t]
    assert sum(shares) == pytest.approx(100.0, abs=0.5)


def test_class_map_reads_colour_table_and_class_tags(tmp_path: Path) -> None:
    data = np.zeros((32, 32), np.uint8)
    data[:, 16:] = 1
    data[:4] = 255
    path = write_tif(tmp_path / "pred.tif", data, TRANSFORM, "EPSG:32631", nodata=255)
    with rasterio.open(path, "r+") as ds:
        ds.write_colormap(1, {0: (200, 10, 10, 255), 1: (10, 10, 200, 255)})
        ds.update_tags(1, CLASS_0="bare", CLASS_1="lake")
    assert plots.read_classes(path) == [(0, "bare", "#c80a0a"), (1, "lake", "#0a0ac8")]
    fig = plots.class_map(path)
    assert [t.split(" (")[0] for t in _legend_texts(fig)] == ["bare", "lake", "no data"]
    assert _legend_texts(fig)[2] == "no data (12.5 % of map)"
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert tuple(rgba[10, 0]) == pytest.approx(to_rgba("#c80a0a"))
    assert rgba[0, 0, 3] == 0.0  # nodata transparent


def test_class_map_of_array_with_given_classes(tmp_path: Path) -> None:
    data = np.array([[0, 1], [2, 2]], np.uint8)
    fig = plots.class_map(data, CLASSES, title="given")
    assert [t.split(" (")[0] for t in _legend_texts(fig)] == ["water", "forest", "no data"]
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert rgba[0, 0, 3] == 0.0 and tuple(rgba[1, 1]) == pytest.approx(to_rgba("#186e24"))
    assert "pixels" in fig.axes[0].get_xlabel()


# --------------------------------------------------------------------------- error map


def test_error_map_colours_correct_wrong_and_not_scored() -> None:
    reference = np.array([[1, 1, 2, 255]] * 2, np.uint8)
    prediction = np.array([[1, 2, 2, 1]] * 2, np.uint8)
    fig = plots.error_map(prediction, reference)
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert tuple(rgba[0, 0]) == pytest.approx(to_rgba(plots.CORRECT))
    assert tuple(rgba[0, 1]) == pytest.approx(to_rgba(plots.WRONG))
    assert tuple(rgba[0, 3]) == pytest.approx(to_rgba(plots.NOT_SCORED))
    texts = _legend_texts(fig)
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
    fig = plots.error_map(pred, ref, path=png)
    _png_size(png)
    assert _legend_texts(fig)[:2] == ["correct (66.7 %)", "wrong (33.3 %)"]
    shifted = write_tif(
        tmp_path / "shifted.tif", prediction, TRANSFORM @ Affine.translation(3, 0), "EPSG:32631"
    )
    with pytest.raises(EoforgeError, match="grid"):
        plots.error_map(shifted, ref)


# --------------------------------------------------------------------------- confusion matrix


def test_confusion_matrix_annotates_ratios_and_counts(tmp_path: Path) -> None:
    matrix = [[90, 10, 0], [5, 45, 0], [0, 0, 0]]
    png = tmp_path / "cm.png"
    fig = plots.confusion_matrix(matrix, ["water", "forest", "urban"], path=png)
    _png_size(png)
    ax = fig.axes[0]
    texts = [t.get_text() for t in ax.texts]
    assert "0.90\n90" in texts and "0.10\n10" in texts and "0.90\n45" in texts
    assert ax.get_xlabel() == "prediction" and ax.get_ylabel() == "reference"
    assert [t.get_text() for t in ax.get_xticklabels()] == ["water", "forest", "urban"]
    ratios = plots.normalized_matrix(matrix, "true")
    assert ratios.sum(axis=1) == pytest.approx([1.0, 1.0, 0.0])
    assert plots.normalized_matrix(matrix, "pred")[:, 0] == pytest.approx([90 / 95, 5 / 95, 0])


def test_confusion_matrix_rejects_mismatched_names() -> None:
    with pytest.raises(ConfigError, match="2 class names"):
        plots.confusion_matrix(np.eye(3), ["a", "b"])
    with pytest.raises(ConfigError, match="normalize"):
        plots.normalized_matrix(np.eye(2), "rows")


# --------------------------------------------------------------------------- learning curves


def _write_metrics_csv(path: Path) -> Path:
    """Rows as Lightning's CSVLogger writes them: train and val logged on separate rows."""
    header = ["epoch", "step", "train/loss", "val/loss", "val/miou", "lr-AdamW"]
    rows = []
    step = 0
    for epoch in range(4):
        for part in range(2):
            rows.append([epoch, step, 1.0 / (epoch + 1) + 0.1 * part, "", "", 1e-3])
            step += 1
        rows.append([epoch, step, "", 1.2 / (epoch + 1), 0.4 + 0.1 * epoch, ""])
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_learning_curves_from_lightning_csv(tmp_path: Path) -> None:
    csv_path = _write_metrics_csv(tmp_path / "metrics.csv")
    png = tmp_path / "lc.png"
    fig = plots.learning_curves(csv_path, path=png)
    width, height = _png_size(png)
    assert width > height
    loss_ax, metric_ax = fig.axes
    lines = {line.get_label(): line for line in loss_ax.get_lines()}
    assert set(lines) == {"train/loss", "val/loss"}
    train = lines["train/loss"]
    assert list(train.get_xdata()) == [0, 1, 2, 3]
    assert train.get_ydata()[0] == pytest.approx(1.05)  # mean of the epoch's step rows
    (miou,) = metric_ax.get_lines()
    assert miou.get_label() == "val/miou"
    assert list(miou.get_ydata()) == pytest.approx([0.4, 0.5, 0.6, 0.7])
    assert metric_ax.get_ylim() == (0.0, 1.0)
    assert loss_ax.get_xlabel() == "epoch"


def test_learning_curves_from_mapping_without_metrics() -> None:
    columns = {
        "step": [0, 1, 2],
        "train/loss_step": [3.0, 2.0, 1.0],
        "train/loss_epoch": [math.nan, math.nan, 2.0],
    }
    fig = plots.learning_curves(columns)
    loss_ax, metric_ax = fig.axes
    assert [line.get_label() for line in loss_ax.get_lines()] == ["train/loss_epoch"]
    assert "no metrics logged" in [t.get_text() for t in metric_ax.texts]


def test_read_metrics_csv_blank_cells_are_nan(tmp_path: Path) -> None:
    columns = plots.read_metrics_csv(_write_metrics_csv(tmp_path / "metrics.csv"))
    assert np.isnan(columns["val/loss"][0]) and columns["val/loss"][2] == pytest.approx(1.2)
    with pytest.raises(EoforgeError, match="does not exist"):
        plots.read_metrics_csv(tmp_path / "missing.csv")


def test_class_map_decimates_large_rasters_keeping_class_values(scene: Path) -> None:
    labels = next((scene / "labels").glob("landcover_*.tif"))
    fig = plots.class_map(labels, max_side=40)
    rgba = np.asarray(fig.axes[0].images[0].get_array())
    assert max(rgba.shape[:2]) <= 40
    colours = {tuple(int(v) for v in np.round(c * 255)) for c in rgba.reshape(-1, 4)}
    legend = {tuple(round(v * 255) for v in to_rgba(c[2])) for c in plots.read_classes(labels)}
    assert colours <= legend | {(0, 0, 0, 0)}  # nearest: no blended colours
