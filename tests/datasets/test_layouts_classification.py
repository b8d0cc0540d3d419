"""Class-folder layouts: RSSCN7 (no official split) prepared into one split ``all``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter
from tests.datasets.fixtures import rsscn7
from tests.datasets.fixtures.common import Fixture, jpeg, write_zip
from tests.datasets.prepared import download_and_prepare

from eoforge.data import ClassFolderDataset
from eoforge.datasets import get
from eoforge.errors import ConfigError
from eoforge.experiment.config import DataConfig


def test_rsscn7_prepares_every_image_into_the_split_all(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("rsscn7"), rsscn7.write, tmp_path)
    assert [s.name for s in done.splits] == ["all"]
    assert {s.name: s.count for s in done.splits} == fixture.counts == {"all": 13}
    assert done.splits[0].class_counts == fixture.class_counts["all"]
    assert done.unit == "images" and done.unassigned == 0
    prepared = done.splits[0].path
    assert sorted(p.name for p in prepared.iterdir()) == sorted(rsscn7.RSSCN7_CLASSES)
    assert sorted(p.name for p in (prepared / "eForest").iterdir()) == [
        "e001.jpg",
        "e002.jpg",
    ]  # Thumbs.db is not an image
    linked = prepared / "eForest" / "e001.jpg"
    source = next(done.folder.glob("extracted/*/RSSCN7-master/eForest/e001.jpg"))
    assert os.path.samefile(linked, source)  # a hard link, not a copy
    manifest = json.loads(done.manifest.read_text())
    assert manifest["splits"]["all"] == {
        "path": "eoforge/all",
        "count": 13,
        "class_counts": fixture.class_counts["all"],
    }


def test_rsscn7_split_reads_back_as_class_folders(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("rsscn7"), rsscn7.write, tmp_path)
    split = done.splits[0]
    ds = ClassFolderDataset(split.path, bands=list(done.entry.bands))
    assert len(ds) == fixture.counts["all"]
    assert ds.classes == list(rsscn7.RSSCN7_CLASSES)
    assert tuple(ds[0]["image"].shape) == (3, 8, 8)
    # training holds out val_fraction of the one split: the section needs only its root
    section = {**done.config, "root": str(split.path), "val_fraction": 0.25}
    data = TypeAdapter(DataConfig).validate_python(section)
    assert data.kind == "class_folder"


def test_rsscn7_manifest_data_section_is_a_valid_config(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("rsscn7"), rsscn7.write, tmp_path)
    manifest = json.loads(done.manifest.read_text())
    data = TypeAdapter(DataConfig).validate_python(manifest["data"])
    assert data.root == done.splits[0].path.resolve()  # type: ignore[union-attr]
    assert "val_root" not in manifest["data"]  # validation: a val_fraction of the one split


def _without(folder_name: str) -> Callable[[Path], Fixture]:
    def write(folder: Path) -> Fixture:
        files, _ = rsscn7.members()
        kept = {k: v for k, v in files.items() if f"/{folder_name}/" not in k}
        archive = write_zip(folder / rsscn7.ARCHIVE, kept)
        return Fixture(files={rsscn7.ARCHIVE: archive}, counts={"all": 0})

    return write


def test_rsscn7_without_a_class_folder_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="gParking") as info:
        download_and_prepare(get("rsscn7"), _without("gParking"), tmp_path)
    assert "extracted/RSSCN7-master" in str(info.value)  # names the extraction folder


def test_rsscn7_with_an_empty_class_folder_names_it(tmp_path: Path) -> None:
    def write(folder: Path) -> Fixture:
        files, _ = rsscn7.members()
        kept = {k: v for k, v in files.items() if "/cIndustry/" not in k}
        kept["RSSCN7-master/cIndustry/notes.txt"] = b"no images here"
        kept["RSSCN7-master/aGrass/a099.jpg"] = jpeg(np.zeros((8, 8, 3), np.uint8))
        archive = write_zip(folder / rsscn7.ARCHIVE, kept)
        return Fixture(files={rsscn7.ARCHIVE: archive}, counts={"all": 0})

    with pytest.raises(ConfigError, match="holds no JPEG images") as info:
        download_and_prepare(get("rsscn7"), write, tmp_path)
    assert "cIndustry" in str(info.value)
