"""Change-detection layouts: S2Looking, OSCD, DSIFN-CD and BRIGHT from their published
layouts (tiny fixtures served over HTTP) to eoforge's prepared splits."""

from __future__ import annotations

import io
import json
import os
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio
from pydantic import TypeAdapter
from rasterio.errors import NotGeoreferencedWarning
from tests.datasets.fixtures import bright, dsifn, oscd, s2looking
from tests.datasets.fixtures.common import Fixture, local_entry
from tests.datasets.prepared import download_and_prepare

from eoforge.data import ChangeTripletDataset
from eoforge.datasets import DatasetEntry, download, get
from eoforge.datasets.prepare import Prepared
from eoforge.errors import ConfigError, DownloadError
from eoforge.experiment.config import DataConfig

pytestmark = pytest.mark.filterwarnings("ignore", category=NotGeoreferencedWarning)

GENERATORS: dict[str, Callable[[Path], Fixture]] = {
    "s2looking": s2looking.write,
    "oscd": oscd.write,
    "dsifn-cd": dsifn.write,
    "bright": bright.write,
}


def _placed(entry: DatasetEntry, write: Callable[[Path], Fixture]) -> Callable[[Path], Fixture]:
    """``write``, then the files that need an account placed by hand in the data folder (as
    ``download`` asks a user to), so that ``download`` only verifies them."""

    def generate(source: Path) -> Fixture:
        fixture = write(source)
        folder = source.parent / "data" / f"{entry.name}-fixture"
        folder.mkdir(parents=True, exist_ok=True)
        for file in entry.files:
            if file.manual:
                os.link(fixture.files[file.filename], folder / file.filename)
        return fixture

    return generate


def _prepare(
    name: str, tmp_path: Path, write: Callable[[Path], Fixture] | None = None
) -> tuple[Fixture, Prepared]:
    entry = get(name)
    return download_and_prepare(entry, _placed(entry, write or GENERATORS[name]), tmp_path)


def _edit_zip(path: Path, drop: str = "", replace: dict[str, bytes] | None = None) -> None:
    """Rewrite a fixture zip without the members ending in ``drop``, with ``replace``d ones."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist() if not (drop and n.endswith(drop))}
    members.update(replace or {})
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for member, data in members.items():
            zf.writestr(member, data)
    path.write_bytes(buffer.getvalue())


def _edited(
    write: Callable[[Path], Fixture], drop: str = "", replace: dict[str, bytes] | None = None
) -> Callable[[Path], Fixture]:
    def generate(source: Path) -> Fixture:
        fixture = write(source)
        for path in fixture.files.values():
            _edit_zip(path, drop, {k: v for k, v in (replace or {}).items() if k in _names(path)})
        return fixture

    return generate


def _names(path: Path) -> set[str]:
    with zipfile.ZipFile(path) as zf:
        return set(zf.namelist())


def _read(path: Path) -> np.ndarray:
    with rasterio.open(path) as ds:
        return ds.read()


@pytest.mark.parametrize("name", list(GENERATORS))
def test_prepare_gives_the_official_splits_and_pixel_counts(name: str, tmp_path: Path) -> None:
    fixture, done = _prepare(name, tmp_path)
    assert [s.name for s in done.splits] == list(get(name).splits)
    assert {s.name: s.count for s in done.splits} == fixture.counts
    for split in done.splits:
        assert {k: v for k, v in split.class_counts.items() if v} == fixture.class_counts[
            split.name
        ]
    assert done.unit == "pixels"
    assert done.unassigned == fixture.unassigned == 0
    manifest = json.loads(done.manifest.read_text())
    assert manifest["class_count_unit"] == "pixels"
    assert {k: v["count"] for k, v in manifest["splits"].items()} == fixture.counts


@pytest.mark.parametrize("name", ["s2looking", "oscd", "dsifn-cd"])
def test_trainable_splits_load_with_change_triplet(name: str, tmp_path: Path) -> None:
    fixture, done = _prepare(name, tmp_path)
    data = TypeAdapter(DataConfig).validate_python(done.config)
    assert data.kind == "change_triplet"
    assert json.loads(done.manifest.read_text())["data"]["bands"] == list(done.entry.bands)
    for split in done.splits:
        ds = ChangeTripletDataset(split.path, bands=list(done.entry.bands))
        assert len(ds) == fixture.counts[split.name]
        changed = 0
        for i in range(len(ds)):
            sample = ds[i]
            assert sample["image"].shape[:2] == (2, len(done.entry.bands))
            changed += int(sample["mask"].sum())
        assert changed == fixture.class_counts[split.name]["change"]


def test_s2looking_colour_labels_become_single_band_change_masks(tmp_path: Path) -> None:
    _, done = _prepare("s2looking", tmp_path)
    train = done.splits[0].path
    assert sorted(p.name for p in (train / "A").iterdir()) == ["1.png", "2.png", "3.png"]
    assert sorted(p.name for p in (train / "label").iterdir()) == ["1.tif", "2.tif", "3.tif"]
    extracted = next(done.folder.glob("extracted/*/S2Looking/train"))
    for stem in ("1", "2", "3"):
        label = _read(train / "label" / f"{stem}.tif")
        assert label.shape[0] == 1 and set(np.unique(label)) == {0, 255}
        new = _read(extracted / "label1" / f"{stem}.png")[0]
        demolished = _read(extracted / "label2" / f"{stem}.png")[0]
        np.testing.assert_array_equal(label[0] > 0, (new > 0) | (demolished > 0))
        # images are hard links to the extracted files, not copies
        assert (train / "A" / f"{stem}.png").stat().st_ino == (
            extracted / "Image1" / f"{stem}.png"
        ).stat().st_ino


def test_s2looking_single_band_labels_are_linked_as_they_are(tmp_path: Path) -> None:
    fixture, done = _prepare(
        "s2looking", tmp_path, lambda p: s2looking.write(p, colour_labels=False)
    )
    label_dir = done.splits[2].path / "label"
    assert sorted(p.name for p in label_dir.iterdir()) == ["5.png", "6.png"]
    assert (label_dir / "5.png").stat().st_nlink > 1
    assert done.splits[2].class_counts == fixture.class_counts["test"]


def test_s2looking_image_without_partner_names_the_file(tmp_path: Path) -> None:
    write = _edited(s2looking.write, drop="train/Image2/2.png")
    with pytest.raises(ConfigError, match=r"2\.png of Image1/ has no partner in Image2/") as info:
        _prepare("s2looking", tmp_path, write)
    assert info.value.path is not None and info.value.path.endswith("train/Image2/2.png")


def test_manual_files_are_asked_for_when_missing(tmp_path: Path) -> None:
    entry = get("dsifn-cd")
    fixture = dsifn.write(tmp_path)
    local = local_entry(entry, fixture, "http://127.0.0.1:9")
    with pytest.raises(DownloadError, match="Baidu") as info:
        download(local, tmp_path / "data")
    assert "DSIFN-CD.zip" in str(info.value)


def test_dsifn_test_masks_are_tiffs_linked_beside_jpeg_pairs(tmp_path: Path) -> None:
    _, done = _prepare("dsifn-cd", tmp_path)
    test = done.splits[2].path
    assert sorted(p.name for p in (test / "A").iterdir()) == ["0.jpg", "1.jpg"]
    assert sorted(p.name for p in (test / "B").iterdir()) == ["0.jpg", "1.jpg"]
    assert sorted(p.name for p in (test / "label").iterdir()) == ["0.tif", "1.tif"]
    assert sorted(p.name for p in (done.splits[0].path / "label").iterdir()) == [
        "0.png",
        "1.png",
        "2.png",
    ]


def test_dsifn_pair_without_mask_names_the_file(tmp_path: Path) -> None:
    write = _edited(dsifn.write, drop="test/mask/1.tif")
    with pytest.raises(ConfigError, match=r"1\.jpg of t1/ has no change mask in mask/") as info:
        _prepare("dsifn-cd", tmp_path, write)
    assert info.value.path is not None and "test/mask/1" in info.value.path


def test_oscd_stacks_the_13_bands_in_s2_order_with_binary_labels(tmp_path: Path) -> None:
    _, done = _prepare("oscd", tmp_path)
    train, test = done.splits
    assert sorted(p.name for p in (train.path / "A").iterdir()) == ["aguasclaras.tif", "bercy.tif"]
    with rasterio.open(test.path / "B" / "dubai.tif") as ds:
        assert ds.count == 13 and ds.crs == "EPSG:32633" and ds.res == (10.0, 10.0)
        stacked = ds.read()
    for k, band in enumerate(oscd.BANDS):
        np.testing.assert_array_equal(stacked[k], oscd.band_values("dubai", 2, band, False))
    label = _read(test.path / "label" / "dubai.tif")
    assert label.shape == (1, oscd.SIZE, oscd.SIZE) and set(np.unique(label)) == {0, 1}
    assert int(label.sum()) == 3 * 5


def test_oscd_coarse_bands_are_resampled_to_the_10m_grid(tmp_path: Path) -> None:
    fixture, done = _prepare("oscd", tmp_path, lambda p: oscd.write(p, native_grid=True))
    stacked = _read(done.splits[0].path / "A" / "bercy.tif")
    assert stacked.shape == (13, oscd.SIZE, oscd.SIZE)
    b01 = oscd.band_values("bercy", 1, "B01", True)  # 60 m: 2x2 pixels
    np.testing.assert_array_equal(stacked[0], np.kron(b01, np.ones((6, 6), np.uint16)))
    b11 = oscd.band_values("bercy", 1, "B11", True)  # 20 m: 6x6 pixels
    np.testing.assert_array_equal(stacked[11], np.kron(b11, np.ones((2, 2), np.uint16)))
    assert done.splits[0].class_counts == fixture.class_counts["train"]


def test_oscd_reads_the_tiff_masks_without_cm_png(tmp_path: Path) -> None:
    fixture, done = _prepare("oscd", tmp_path, lambda p: oscd.write(p, png_masks=False))
    for split in done.splits:
        assert split.class_counts == fixture.class_counts[split.name]


def test_oscd_split_list_naming_a_missing_city_names_it(tmp_path: Path) -> None:
    cities = ",".join([*oscd.CITIES["test"], "norcia"])
    replace = {f"{oscd.PREFIX}Images/test.txt": cities.encode()}
    with pytest.raises(ConfigError, match=r"test\.txt names the city norcia") as info:
        _prepare("oscd", tmp_path, _edited(oscd.write, replace=replace))
    assert info.value.path is not None and info.value.path.endswith("norcia")


def test_bright_links_pre_post_and_target_per_split(tmp_path: Path) -> None:
    _, done = _prepare("bright", tmp_path)
    assert done.config["kind"] == "group_chips"  # pre/ and post/ as two input groups
    train, val, test = (s.path for s in done.splits)
    for kind in ("pre", "post", "target"):
        assert sorted(p.name for p in (train / kind).iterdir()) == [
            f"{i}.tif" for i in sorted(bright.IDS["train"])
        ]
    assert sorted(p.name for p in (val / "pre").iterdir()) == ["turkey-earthquake_00000413.tif"]
    assert sorted(p.name for p in test.iterdir()) == ["post", "pre"]
    assert _read(train / "post" / "libya-flood_00000003.tif").shape[0] == 1
    assert _read(train / "pre" / "libya-flood_00000003.tif").shape[0] == 3


def test_bright_counts_samples_no_list_names(tmp_path: Path) -> None:
    fixture, done = _prepare("bright", tmp_path, lambda p: bright.write(p, unlisted=2))
    assert done.unassigned == fixture.unassigned == 2
    assert [s.count for s in done.splits] == [3, 1, 2]


def test_bright_split_list_naming_a_missing_sample_names_the_file(tmp_path: Path) -> None:
    write = _edited(bright.write, drop="libya-flood_00000003_post_disaster.tif")
    message = r"train_setlevel\.txt names libya-flood_00000003"
    with pytest.raises(ConfigError, match=message) as info:
        _prepare("bright", tmp_path, write)
    assert info.value.path is not None
    assert info.value.path.endswith("libya-flood_00000003_post_disaster.tif")
