"""ISPRS Potsdam: orthophotos and colour-coded label images linked as image/mask pairs."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import numpy as np
import pytest
from pydantic import TypeAdapter
from tests.datasets.fixtures import isprs
from tests.datasets.fixtures.common import tif
from tests.datasets.prepared import download_and_prepare

from eoforge.data import ImageMaskDataset
from eoforge.datasets import DatasetEntry, get
from eoforge.datasets.entries.segmentation import POTSDAM_TEST, POTSDAM_TRAIN
from eoforge.datasets.layouts.segmentation import colour_counts
from eoforge.datasets.prepare import Prepared
from eoforge.errors import ConfigError
from eoforge.experiment.config import DataConfig


def _served(entry: DatasetEntry) -> DatasetEntry:
    """``entry`` with its files fetched over HTTP although the real ones are placed by hand."""
    files = tuple(f.model_copy(update={"manual": ""}) for f in entry.files)
    return entry.model_copy(update={"files": files})


def _prepare(tmp_path: Path, **options: str) -> tuple[isprs.Fixture, Prepared]:
    write = functools.partial(isprs.write, **options)
    return download_and_prepare(_served(get("isprs-potsdam")), write, tmp_path)


def test_potsdam_entry_asks_for_the_files_by_hand_and_lists_38_tiles() -> None:
    entry = get("isprs-potsdam")
    assert [f.filename for f in entry.files] == ["2_Ortho_RGB.zip", "5_Labels_all.zip"]
    assert all(f.manual and f.checksum is None for f in entry.files)
    assert len(POTSDAM_TRAIN) == 24 and len(POTSDAM_TEST) == 14
    assert not set(POTSDAM_TRAIN) & set(POTSDAM_TEST)
    assert [(c.name, c.color) for c in entry.classes] == [
        ("impervious_surfaces", "#ffffff"),
        ("building", "#0000ff"),
        ("low_vegetation", "#00ffff"),
        ("tree", "#00ff00"),
        ("car", "#ffff00"),
        ("clutter", "#ff0000"),
    ]


def test_potsdam_links_the_listed_tiles_as_image_mask_pairs(tmp_path: Path) -> None:
    fixture, done = _prepare(tmp_path)
    assert [s.name for s in done.splits] == ["train", "test"]
    assert {s.name: s.count for s in done.splits} == fixture.counts == {"train": 24, "test": 14}
    assert {s.name: s.class_counts for s in done.splits} == fixture.class_counts
    assert done.unit == "pixels" and done.unassigned == 0
    test = done.splits[1].path
    names = sorted(p.name for p in (test / "images").iterdir())
    assert names == sorted(f"top_potsdam_{t}.tif" for t in POTSDAM_TEST)
    assert sorted(p.name for p in (test / "masks").iterdir()) == names
    extracted = done.folder / "extracted"
    image = extracted / "2_Ortho_RGB" / "2_Ortho_RGB" / "top_potsdam_7_13_RGB.tif"
    assert os.path.samefile(test / "images" / "top_potsdam_7_13.tif", image)
    label = extracted / "5_Labels_all" / "top_potsdam_7_13_label.tif"
    assert os.path.samefile(test / "masks" / "top_potsdam_7_13.tif", label)
    manifest = json.loads(done.manifest.read_text())
    assert manifest["splits"]["train"]["count"] == 24


def test_potsdam_splits_read_back_with_the_class_colours(tmp_path: Path) -> None:
    _, done = _prepare(tmp_path)
    colours = {c.color: c.id for c in done.entry.classes}
    for split in done.splits:
        ds = ImageMaskDataset(
            split.path / "images", split.path / "masks", colours, bands=list(done.entry.bands)
        )
        assert len(ds) == split.count
        sample = ds[0]
        assert tuple(sample["image"].shape) == (3, 8, 8)
        ids = np.bincount(sample["mask"].numpy().ravel(), minlength=6)
        assert ids.sum() == 64 and set(np.flatnonzero(ids)) <= set(range(6))
    # prepare's data section names the folders, the bands and each class's mask colour
    section = dict(done.config)
    assert section["bands"] == list(done.entry.bands)
    assert section["classes"] == [
        {"name": c.name, "mask_color": c.color} for c in done.entry.classes
    ]
    data = TypeAdapter(DataConfig).validate_python(section)
    assert data.kind == "image_mask"
    assert section["images"] == str(done.splits[0].path.resolve() / "images")


def test_potsdam_refuses_a_listed_tile_without_its_label(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="train tile 6_8 of the benchmark's list") as info:
        _prepare(tmp_path, drop_label="6_8")
    assert "top_potsdam_6_8_label.tif" in str(info.value)
    assert "5_Labels_all.zip" in str(info.value)


def test_colours_of_no_class_are_counted_by_name(tmp_path: Path) -> None:
    values = np.zeros((3, 2, 2), np.uint8)
    values[:, 0, :] = 255  # impervious surfaces; row 1 stays black (no class)
    path = tmp_path / "label.tif"
    path.write_bytes(tif(values, georeferenced=False))
    classes = [(c.name, c.color) for c in get("isprs-potsdam").classes]
    assert colour_counts(path, classes) == {"impervious_surfaces": 2, "colour #000000": 2}
    path.write_bytes(tif(values[:1], georeferenced=False))
    with pytest.raises(ConfigError, match="1 band") as info:
        colour_counts(path, classes)
    assert str(path) in str(info.value)
