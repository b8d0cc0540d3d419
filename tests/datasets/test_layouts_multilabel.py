"""Multi-label layouts: BigEarthNet v2.0 (Zstandard tars, metadata.parquet) into v1-style
patch folders with Sentinel-1 partners; safe extraction of ``.tar.zst`` archives."""

from __future__ import annotations

import io
import json
import os
import tarfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import zstandard
from pydantic import TypeAdapter
from tests.datasets.fixtures import bigearthnet_v2
from tests.datasets.fixtures.common import Fixture
from tests.datasets.prepared import download_and_prepare

from eoforge.data import BigEarthNetDataset
from eoforge.datasets import get
from eoforge.datasets.bigearthnet_labels import CLASSES_19
from eoforge.datasets.extract import safe_extract
from eoforge.errors import ConfigError, UnsafeArchiveError
from eoforge.experiment.config import DataConfig

TRAIN_PATCH = "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_57"
TRAIN_S1 = "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_61_39"


def test_bigearthnet_v2_prepares_the_official_splits(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("bigearthnet-v2"), bigearthnet_v2.write, tmp_path)
    assert [s.name for s in done.splits] == ["train", "val", "test"]
    assert {s.name: s.count for s in done.splits} == fixture.counts
    for split in done.splits:
        found = {k: v for k, v in split.class_counts.items() if v}
        assert found == fixture.class_counts[split.name]
        assert set(split.class_counts) == set(CLASSES_19)
    assert done.unit == "patches" and done.unassigned == 1  # the cloudy patch
    patch = done.splits[0].path / TRAIN_PATCH
    assert sorted(p.name for p in patch.iterdir()) == sorted(
        [f"{TRAIN_PATCH}_{b}.tif" for b in bigearthnet_v2.BANDS]
        + [f"{TRAIN_PATCH}_labels_metadata.json"]
    )
    source = next(done.folder.glob(f"extracted/*/BigEarthNet-S2/*/{TRAIN_PATCH}"))
    assert os.path.samefile(patch / f"{TRAIN_PATCH}_B8A.tif", source / f"{TRAIN_PATCH}_B8A.tif")
    meta = json.loads((patch / f"{TRAIN_PATCH}_labels_metadata.json").read_text())
    assert meta == {
        "labels_19": [
            "Urban fabric",
            "Industrial or commercial units",
            "Complex cultivation patterns",
        ],
        "corresponding_s1_patch": TRAIN_S1,
    }
    s1 = done.folder / "eoforge" / "s1" / TRAIN_S1
    assert sorted(p.name for p in s1.iterdir()) == [
        f"{TRAIN_S1}_VH.tif",
        f"{TRAIN_S1}_VV.tif",
        f"{TRAIN_S1}_labels_metadata.json",
    ]
    s1_meta = json.loads((s1 / f"{TRAIN_S1}_labels_metadata.json").read_text())
    assert s1_meta["corresponding_s2_patch"] == TRAIN_PATCH
    extracted = [p.name for p in (done.folder / "extracted").iterdir()]
    assert len(extracted) == 2 and not any("Reference_Maps" in n for n in extracted)  # packed
    assert len(list((done.folder / "eoforge" / "s1").iterdir())) == sum(fixture.counts.values())
    manifest = json.loads(done.manifest.read_text())
    data = TypeAdapter(DataConfig).validate_python(manifest["data"])
    assert data.kind == "bigearthnet" and manifest["data"]["num_classes"] == 19
    # one Sentinel-1 folder serves training and validation
    assert manifest["data"]["root_s1"] == str((done.folder / "eoforge" / "s1").resolve())
    assert data.root_s1 is not None  # type: ignore[union-attr]


def test_bigearthnet_v2_splits_read_back_with_sentinel1(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("bigearthnet-v2"), bigearthnet_v2.write, tmp_path)
    for split in done.splits:
        ds = BigEarthNetDataset(
            split.path,
            root_s1=done.folder / "eoforge" / "s1",
            bands=["S2.B04", "S2.B11"],
        )
        assert len(ds) == fixture.counts[split.name]
        for i, folder in enumerate(ds.patches):
            s1_name, _, labels = bigearthnet_v2.PATCHES[folder.name]
            assert ds.s1_patches is not None and ds.s1_patches[i].name == s1_name
            sample = ds[i]
            assert tuple(sample["image"].shape) == (4, 12, 12)  # B04, B11, VV, VH
            expected = np.zeros(19, np.float32)
            expected[[CLASSES_19.index(label) for label in labels]] = 1
            assert np.array_equal(sample["label"].numpy(), expected)
    with pytest.raises(ConfigError, match="19-class labels only") as info:
        BigEarthNetDataset(done.splits[0].path, bands=["S2.B04"], num_classes=43)[0]
    assert "data.num_classes: 19" in str(info.value)


def _edited(
    edit: Callable[[dict[str, tuple[str, str, list[str]]]], None],
) -> Callable[[Path], Fixture]:
    """The fixture with metadata.parquet rewritten after ``edit`` changes its rows."""

    def write(folder: Path) -> Fixture:
        fixture = bigearthnet_v2.write(folder)
        patches = dict(bigearthnet_v2.PATCHES)
        edit(patches)
        bigearthnet_v2.metadata(folder, patches)
        return fixture

    return write


def test_bigearthnet_v2_metadata_naming_a_missing_patch_is_refused(tmp_path: Path) -> None:
    missing = "S2B_MSIL2A_20180525T94031_N9999_R036_T35VNK_11_22"

    def add(patches: dict[str, tuple[str, str, list[str]]]) -> None:
        patches[missing] = (TRAIN_S1, "train", ["Pastures"])

    with pytest.raises(ConfigError, match=f"S2 patch {missing}") as info:
        download_and_prepare(get("bigearthnet-v2"), _edited(add), tmp_path)
    assert "BigEarthNet-S2.tar.zst" in str(info.value) and "metadata.parquet" in str(info.value)


def test_bigearthnet_v2_s1_patch_paired_twice_is_refused(tmp_path: Path) -> None:
    def pair_twice(patches: dict[str, tuple[str, str, list[str]]]) -> None:
        other = "S2A_MSIL2A_20170613T101031_N9999_R022_T33UUP_26_58"
        _, split, labels = patches[other]
        patches[other] = (TRAIN_S1, split, labels)

    with pytest.raises(ConfigError, match=f"pairs the S1 patch {TRAIN_S1}") as info:
        download_and_prepare(get("bigearthnet-v2"), _edited(pair_twice), tmp_path)
    assert "metadata.parquet" in str(info.value)


def test_bigearthnet_v2_unknown_label_names_the_metadata(tmp_path: Path) -> None:
    def rename(patches: dict[str, tuple[str, str, list[str]]]) -> None:
        s1_name, split, _ = patches[TRAIN_PATCH]
        patches[TRAIN_PATCH] = (s1_name, split, ["Continuous urban fabric"])  # a v1 name

    with pytest.raises(ConfigError, match="outside the 19-class nomenclature") as info:
        download_and_prepare(get("bigearthnet-v2"), _edited(rename), tmp_path)
    assert "metadata.parquet" in str(info.value) and TRAIN_PATCH in str(info.value)


def test_bigearthnet_v2_patch_without_a_band_file_is_refused(tmp_path: Path) -> None:
    def write(folder: Path) -> Fixture:
        fixture = bigearthnet_v2.write(folder)
        members = bigearthnet_v2.s2_members(list(bigearthnet_v2.PATCHES), np.random.default_rng(0))
        kept = {k: v for k, v in members.items() if not k.endswith(f"{TRAIN_PATCH}_B09.tif")}
        bigearthnet_v2.write_tar_zst(folder / "BigEarthNet-S2.tar.zst", kept)
        return fixture

    with pytest.raises(ConfigError, match=f"no band file {TRAIN_PATCH}_B09.tif") as info:
        download_and_prepare(get("bigearthnet-v2"), write, tmp_path)
    assert f"{TRAIN_PATCH}/{TRAIN_PATCH}_B09.tif" in str(info.value)


def _tar_zst(path: Path, members: list[tarfile.TarInfo], data: bytes = b"x") -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tf:
        for info in members:
            if info.isfile():
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
            else:
                tf.addfile(info)
    path.write_bytes(zstandard.ZstdCompressor().compress(buffer.getvalue()))
    return path


def test_a_tar_zst_extracts_into_place(tmp_path: Path) -> None:
    archive = _tar_zst(tmp_path / "a.tar.zst", [tarfile.TarInfo("top/dir/file.txt")], b"hello")
    target = safe_extract(archive, tmp_path / "out" / "a")
    assert (target / "top" / "dir" / "file.txt").read_bytes() == b"hello"
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["a"]


def _link(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([tarfile.TarInfo("good.txt"), tarfile.TarInfo("../escaped.txt")], "'..'"),
        ([tarfile.TarInfo("good.txt"), tarfile.TarInfo("/tmp/escaped.txt")], "absolute"),
        ([_link("up", "../../etc"), tarfile.TarInfo("good.txt")], "outside"),
    ],
    ids=["dotdot", "absolute", "symlink"],
)
def test_an_unsafe_tar_zst_is_refused_and_leaves_nothing(
    tmp_path: Path, members: list[tarfile.TarInfo], why: str
) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    archive = _tar_zst(folder / "bad.tar.zst", members)
    with pytest.raises(UnsafeArchiveError, match=why) as info:
        safe_extract(archive, folder / "out")
    assert "bad.tar.zst" in str(info.value)
    assert sorted(p.name for p in folder.iterdir()) == ["bad.tar.zst"]  # nothing extracted
    assert not (tmp_path / "escaped.txt").exists()


def test_a_truncated_tar_zst_is_refused(tmp_path: Path) -> None:
    archive = _tar_zst(tmp_path / "t.tar.zst", [tarfile.TarInfo("a.bin")], bytes(100_000))
    archive.write_bytes(archive.read_bytes()[:-40])
    with pytest.raises(UnsafeArchiveError, match="corrupt"):
        safe_extract(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()
