"""WorldStrat: the published Zenodo layout in, per-AOI hr/ and date-ordered lr/ folders out."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from tests.datasets.fixtures import worldstrat
from tests.datasets.prepared import download_and_prepare

from eoforge.datasets import get
from eoforge.datasets.prepare import prepare
from eoforge.errors import ConfigError


def test_worldstrat_entry_is_complete() -> None:
    entry = get("worldstrat")
    assert entry.task == "super_resolution" and not entry.trainable
    assert "super-resolution" in entry.later
    assert [f.filename for f in entry.files if f.extract] == [
        "hr_dataset.zip",
        "lr_dataset_l1c.zip",
        "lr_dataset_l2a.zip",
    ]
    assert all(f.md5 and "TorchGeo" in f.checksum_source for f in entry.files)
    assert entry.bands[0] == "S2.B01" and len(entry.bands) == 12


def test_worldstrat_prepare_links_hr_and_revisits_in_date_order(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("worldstrat"), worldstrat.write, tmp_path)
    assert done.unit == "samples"
    assert [s.name for s in done.splits] == ["train", "val", "test"]
    assert {s.name: s.count for s in done.splits} == fixture.counts
    assert {s.name: s.class_counts for s in done.splits} == fixture.class_counts
    assert done.unassigned == fixture.unassigned == 1
    train = done.splits[0].path
    assert sorted(p.name for p in train.iterdir()) == ["ASMSpotter-1-1-1", "Landcover-773616"]
    aoi = done.splits[2].path / "Amnesty POI-1-1-1"
    assert sorted(p.name for p in (aoi / "hr").iterdir()) == [
        f"Amnesty POI-1-1-1{suffix}" for suffix in worldstrat.HR_FILES
    ]
    for level in ("L1C", "L2A"):
        assert sorted(p.name for p in (aoi / "lr" / level).iterdir()) == worldstrat.DATE_ORDER
    # links, not copies: the prepared revisit is the extracted file
    first = aoi / "lr" / "L2A" / worldstrat.DATE_ORDER[0]
    source = done.folder / "extracted" / "lr_dataset_l2a" / "lr_dataset" / "Amnesty POI-1-1-1"
    assert first.samefile(source / "L2A" / "Amnesty POI-1-1-1-2-L2A_data.tiff")
    assert json.loads(done.manifest.read_text())["data"] == {}


def test_worldstrat_class_counts_use_the_ipcc_column_when_present(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("worldstrat"), worldstrat.write, tmp_path)
    meta = done.folder / "metadata.csv"
    with open(meta, newline="") as f:
        rows = list(csv.DictReader(f))
    classes = {"ASMSpotter-1-1-1": "Settlement", "Landcover-773616": "Forest land"}
    with open(meta, "w", newline="") as f:
        writer = csv.DictWriter(f, [*rows[0], "IPCC"])
        writer.writeheader()
        writer.writerows({**r, "IPCC": classes.get(r["tile"], "Cropland")} for r in rows)
    again = prepare(done.entry, tmp_path / "data")
    assert again.splits[0].class_counts == {"Forest land": 1, "Settlement": 1}
    assert again.splits[1].class_counts == {"Cropland": 1}


def test_worldstrat_split_naming_a_missing_aoi_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("worldstrat"), worldstrat.write, tmp_path)
    split = done.folder / "stratified_train_val_test_split.csv"
    split.write_text(split.read_text() + "Nowhere-1-1-1,val\n")
    with pytest.raises(ConfigError, match=r"'Nowhere-1-1-1' of stratified_train_val_test_split"):
        prepare(done.entry, tmp_path / "data")


def test_worldstrat_revisit_without_metadata_row_is_refused(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("worldstrat"), worldstrat.write, tmp_path)
    meta = done.folder / "metadata.csv"
    lines = meta.read_text().splitlines()
    meta.write_text("\n".join(line for line in lines if not line.startswith("Landcover-773616,3")))
    with pytest.raises(ConfigError, match=r"Landcover-773616-3-L1C_data\.tiff.*metadata\.csv"):
        prepare(done.entry, tmp_path / "data")
