"""prepare: published layouts in, eoforge chip folders with the official splits out."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pydantic import TypeAdapter
from tests.datasets.fixtures import bigearthnet, eurosat, landcoverai, levircd, ucmerced
from tests.datasets.fixtures.common import Fixture
from tests.datasets.prepared import download_and_prepare

from eoforge.data import (
    BigEarthNetDataset,
    ChangeTripletDataset,
    ClassFolderDataset,
    ImageMaskDataset,
)
from eoforge.datasets import get
from eoforge.datasets.prepare import MANIFEST, Prepared, prepare
from eoforge.errors import MissingFileError
from eoforge.experiment.config import DataConfig

GENERATORS: dict[str, Callable[[Path], Fixture]] = {
    "eurosat-rgb": lambda p: eurosat.write(p, bands="rgb"),
    "eurosat-ms": lambda p: eurosat.write(p, bands="ms"),
    "ucmerced": ucmerced.write,
    "levir-cd": levircd.write,
    "landcover-ai": landcoverai.write,
    "bigearthnet-s2": bigearthnet.write,
}


def _download_and_prepare(name: str, tmp_path: Path) -> tuple[Fixture, Prepared]:
    return download_and_prepare(get(name), GENERATORS[name], tmp_path)


@pytest.mark.parametrize("name", list(GENERATORS))
def test_prepare_gives_the_official_splits_and_class_counts(name: str, tmp_path: Path) -> None:
    fixture, done = _download_and_prepare(name, tmp_path)
    assert [s.name for s in done.splits] == ["train", "val", "test"]
    assert {s.name: s.count for s in done.splits} == fixture.counts
    for split in done.splits:
        expected = fixture.class_counts[split.name]
        assert {k: v for k, v in split.class_counts.items() if v} == {
            k: v for k, v in expected.items() if v
        }
        assert split.path.is_dir()
    assert done.unassigned == fixture.unassigned
    manifest = json.loads(done.manifest.read_text())
    assert done.manifest.name == MANIFEST
    assert manifest["splits"]["val"]["count"] == fixture.counts["val"]
    assert manifest["splits"]["train"]["path"] == "eoforge/train"
    assert manifest["data"]["kind"] == done.entry.data_kind
    # the printed data section is a valid experiment config section
    data = TypeAdapter(DataConfig).validate_python(manifest["data"])
    assert data.kind == done.entry.data_kind


def _read_back(done: Prepared) -> dict[str, int]:
    """Item counts of each split read by the eoforge dataset class its data.kind uses."""
    sizes = {}
    for split in done.splits:
        if done.entry.data_kind == "class_folder":
            ds = ClassFolderDataset(split.path, bands=list(done.entry.bands))
            assert ds.classes == [c.name for c in done.entry.classes]
            assert ds[0]["image"].shape[0] == len(done.entry.bands)
        elif done.entry.data_kind == "image_mask":
            ds = ImageMaskDataset(split.path / "images", split.path / "masks")  # type: ignore[assignment]
            assert tuple(ds[0]["mask"].shape) == (512, 512)
        elif done.entry.data_kind == "change_triplet":
            ds = ChangeTripletDataset(split.path)  # type: ignore[assignment]
            assert int(ds[0]["mask"].max()) == 1
        else:
            ds = BigEarthNetDataset(split.path, bands=["S2.B04"])  # type: ignore[assignment]
        sizes[split.name] = len(ds)
    return sizes


@pytest.mark.parametrize("name", ["eurosat-ms", "levir-cd", "landcover-ai", "bigearthnet-s2"])
def test_prepared_splits_load_with_the_eoforge_datasets(name: str, tmp_path: Path) -> None:
    fixture, done = _download_and_prepare(name, tmp_path)
    assert _read_back(done) == fixture.counts


def test_prepare_again_replaces_the_folders(tmp_path: Path) -> None:
    _, first = _download_and_prepare("levir-cd", tmp_path)
    marker = first.splits[0].path / "stale.txt"
    marker.write_text("x")
    again = prepare(first.entry, tmp_path / "data")
    assert not marker.exists()
    assert [s.count for s in again.splits] == [s.count for s in first.splits]
    leftovers = [p.name for p in first.folder.iterdir() if p.name.startswith(".")]
    assert leftovers == []


def test_prepare_before_download_says_what_to_run(tmp_path: Path) -> None:
    entry = get("ucmerced")
    (tmp_path / "ucmerced").mkdir()
    with pytest.raises(MissingFileError, match="eoforge datasets download ucmerced"):
        prepare(entry, tmp_path)
    assert [p.name for p in (tmp_path / "ucmerced").iterdir()] == []
