"""SSL4EO-S12 and SpectralEarth: unlabelled archives in, one split ``all`` of links out."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from tests.datasets.fixtures import spectralearth, ssl4eo_s12
from tests.datasets.prepared import download_and_prepare

from eoforge.datasets import DatasetEntry, download, get
from eoforge.datasets.prepare import prepare
from eoforge.errors import ConfigError, DownloadError, MissingFileError
from eoforge.sensors import get_band


def _without_manual(entry: DatasetEntry) -> DatasetEntry:
    """``entry`` with its files fetched like any other (the test serves them itself)."""
    files = tuple(f.model_copy(update={"manual": ""}) for f in entry.files)
    return entry.model_copy(update={"files": files})


def test_ssl4eo_s12_entry_lists_every_part_with_its_md5() -> None:
    entry = get("ssl4eo-s12")
    assert entry.task == "self_supervised" and not entry.trainable
    assert entry.later.startswith("foundation models (self-supervised pretraining)")
    names = [f.filename for f in entry.files]
    assert len(names) == 10 + 12 + 12
    assert names[:2] == ["s1_grd.tar.gz.partaa", "s1_grd.tar.gz.partab"]
    assert names[-1] == "s2_l2a.tar.gz.partal"
    assert all(f.md5 and f.url.endswith(f"/{f.filename}") and not f.extract for f in entry.files)
    assert entry.splits == ("all",)
    for band in entry.bands:
        get_band(band)


def test_ssl4eo_s12_prepare_joins_parts_and_links_locations(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("ssl4eo-s12"), ssl4eo_s12.write, tmp_path)
    assert done.unit == "locations"
    [split] = done.splits
    assert split.name == "all" and split.count == fixture.counts["all"] == 3
    assert split.class_counts == fixture.class_counts["all"] == {"s1": 3, "s2c": 2, "s2a": 2}
    assert done.unassigned == 0
    assert sorted(p.name for p in split.path.iterdir()) == ["s1", "s2a", "s2c"]
    link = split.path / "s1" / "0000002"
    assert link.is_symlink() and not Path(link.readlink()).is_absolute()
    assert link.resolve() == (done.folder / "extracted" / "s1_grd" / "s1" / "0000002").resolve()
    acquisition = next((split.path / "s2a" / "0000001").iterdir())
    assert sorted(p.stem for p in acquisition.iterdir()) == sorted(ssl4eo_s12.band_files("s2a"))
    # the joined archive is gone; the published parts stay for verify
    assert not [p for p in done.folder.iterdir() if p.name.endswith(".joined")]
    assert (done.folder / "s2_l1c.tar.gz.partal").is_file()
    assert json.loads(done.manifest.read_text())["data"] == {}


def test_ssl4eo_s12_acquisition_missing_a_band_is_refused(tmp_path: Path) -> None:
    drop = "s2c/0000001/20210123T135111_20210123T135113_T21KXT/B10.tif"
    with pytest.raises(ConfigError, match=r"20210123T135111_20210123T135113_T21KXT.*B10\.tif"):
        download_and_prepare(get("ssl4eo-s12"), lambda p: ssl4eo_s12.write(p, drop=drop), tmp_path)


def test_ssl4eo_s12_missing_part_says_what_to_download(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("ssl4eo-s12"), ssl4eo_s12.write, tmp_path)
    for name in ("s1_grd", "s2_l1c", "s2_l2a"):
        (done.folder / "extracted" / name).rename(done.folder / f"old-{name}")
    (done.folder / "s2_l1c.tar.gz.partac").unlink()
    with pytest.raises(MissingFileError, match=r"s2_l1c\.tar\.gz\.partac"):
        prepare(done.entry, tmp_path / "data")


def test_spectralearth_entry_has_the_202_kept_enmap_bands() -> None:
    entry = get("spectralearth")
    assert entry.task == "self_supervised" and not entry.trainable
    assert "spectral science" in entry.later
    assert len(entry.bands) == 202 and len(set(entry.bands)) == 202
    assert entry.bands[:2] == ("ENMAP.B001", "ENMAP.B002")
    assert entry.bands[125:127] == ("ENMAP.B126", "ENMAP.B142")
    assert entry.bands[144:146] == ("ENMAP.B160", "ENMAP.B168")
    assert entry.bands[-1] == "ENMAP.B224"
    for band in entry.bands:
        assert get_band(band).gsd_m == 30.0
    [file] = entry.files
    assert file.manual and file.checksum is None


def test_spectralearth_download_asks_for_the_file_by_hand(tmp_path: Path) -> None:
    with pytest.raises(DownloadError, match="without an account"):
        download(get("spectralearth"), tmp_path)


def test_spectralearth_prepare_links_patch_folders(tmp_path: Path) -> None:
    entry = _without_manual(get("spectralearth"))
    fixture, done = download_and_prepare(entry, spectralearth.write, tmp_path)
    assert done.unit == "patches"
    [split] = done.splits
    assert split.name == "all" and split.count == fixture.counts["all"] == 3
    assert split.class_counts == {} and done.unassigned == 0
    assert sorted(p.name for p in split.path.iterdir()) == sorted(spectralearth.PATCHES)
    second = split.path / "ENMAP01-L2A-DT0000004950_20221103T162438Z_001-0000_0002"
    assert second.is_symlink() and len(list(second.glob("*.tif"))) == 2


def test_spectralearth_patches_of_another_band_count_are_refused(tmp_path: Path) -> None:
    entry = _without_manual(get("spectralearth"))
    with pytest.raises(ConfigError, match=r"20221103T162438Z\.tif has 224 bands, not the 202"):
        download_and_prepare(entry, lambda p: spectralearth.write(p, bands=224), tmp_path)
