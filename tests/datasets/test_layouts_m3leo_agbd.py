"""AGBD: the authors' HDF5 patch files, split pickle and feature tables laid out per split.

M3LEO is not in the registry: its Hugging Face release is one file per chip and modality,
named by chip identifiers listed in its split tables, not a fixed list of files.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest
from tests.datasets.fixtures import agbd
from tests.datasets.prepared import download_and_prepare

from eoforge.datasets import get
from eoforge.datasets.entries.multisensor import AGBD_H5, SEVERAL_SENSORS
from eoforge.datasets.layouts.multisensor import agbd_split_tiles
from eoforge.datasets.prepare import prepare
from eoforge.errors import ConfigError

pytest.importorskip("h5py")


class _Opens:
    """Unpickles as a call of ``open(path, "w")``: what a hostile split file could do."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[object, tuple[str, str]]:
        return open, (str(self.path), "w")


def test_agbd_entry_lists_the_release_files_without_checksums() -> None:
    entry = get("agbd")
    names = [f.filename for f in entry.files]
    assert names[:2] == ["data_subset-2019-v4_0-20.h5", "data_subset-2019-v4_1-20.h5"]
    assert names[39] == "data_subset-2020-v4_19-20.h5" and len(AGBD_H5) == 40
    assert names[40:] == [
        "biomes_splits_to_name.pkl",
        "statistics_subset_2019-2020-v4_new.pkl",
        "train_features-v6.csv",
        "val_features-v6.csv",
        "test_features-v6.csv",
    ]
    assert all(f.url.startswith("https://libdrive.ethz.ch/") for f in entry.files)
    assert all(f.checksum is None and f.checksum_source for f in entry.files)
    assert not entry.trainable and entry.later.startswith(SEVERAL_SENSORS)


def test_agbd_prepares_tile_lists_tables_and_patch_links(tmp_path: Path) -> None:
    fixture, done = download_and_prepare(get("agbd"), agbd.write, tmp_path)
    assert [s.name for s in done.splits] == ["train", "val", "test"]
    assert (
        {s.name: s.count for s in done.splits}
        == fixture.counts
        == {
            "train": 5,
            "val": 2,
            "test": 3,
        }
    )
    assert {s.name: s.class_counts for s in done.splits} == fixture.class_counts
    assert done.unit == "footprints" and done.unassigned == 0 and done.config == {}
    val = done.splits[1].path
    assert (val / "tiles.txt").read_text() == "33NTG\n"
    assert (done.splits[0].path / "tiles.txt").read_text().split() == ["18NXF", "30NXM", "32TMT"]
    assert os.path.samefile(val / "val_features-v6.csv", done.folder / "val_features-v6.csv")
    assert sorted(p.name for p in (val / "patches").iterdir()) == sorted(AGBD_H5)
    name = "data_subset-2020-v4_7-20.h5"
    assert os.path.samefile(val / "patches" / name, done.folder / name)


def test_agbd_refuses_a_split_pickle_that_names_a_function(tmp_path: Path) -> None:
    _, done = download_and_prepare(get("agbd"), agbd.write, tmp_path)
    marker = tmp_path / "written-by-the-pickle"
    split_file = done.folder / "biomes_splits_to_name.pkl"
    split_file.write_bytes(pickle.dumps({"train": [], "val": [], "test": _Opens(marker)}))
    with pytest.raises(ConfigError, match=r"\(io\.open\)") as info:
        prepare(done.entry, tmp_path / "data")
    assert str(split_file) in str(info.value)
    assert not marker.exists()


def test_agbd_split_pickle_takes_numpy_arrays_and_refuses_bad_splits(tmp_path: Path) -> None:
    entry = get("agbd")
    path = tmp_path / "biomes_splits_to_name.pkl"
    arrays = {"train": np.array(["32TMT", "30NXM"]), "val": {"33NTG"}, "test": ["21LYG"]}
    path.write_bytes(pickle.dumps(arrays))
    assert agbd_split_tiles(entry, path) == {
        "train": ["30NXM", "32TMT"],
        "val": ["33NTG"],
        "test": ["21LYG"],
    }
    path.write_bytes(pickle.dumps({"train": ["30NXM"], "test": ["21LYG"]}))
    with pytest.raises(ConfigError, match="should map") as info:
        agbd_split_tiles(entry, path)
    assert str(path) in str(info.value)
    path.write_bytes(pickle.dumps({"train": ["30NXM"], "val": ["30NXM"], "test": []}))
    with pytest.raises(ConfigError, match="'30NXM' is in both the train and the val split"):
        agbd_split_tiles(entry, path)
