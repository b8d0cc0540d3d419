"""Public data functions take ``str``, :class:`pathlib.Path` or any ``os.PathLike``."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import rasterio

from eoforge.data.bigearthnet import find_patches, match_s1, read_metadata
from eoforge.data.chips import ClassFolderDataset, default_bands, list_images, read_chip
from eoforge.errors import MissingFileError


class FsPath:
    """A path-like object that is not a ``pathlib.Path``: only ``os.fspath`` gives its path."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self._path = os.fspath(path)

    def __fspath__(self) -> str:
        return self._path


Kind = Callable[[Path], str | os.PathLike[str]]
KINDS = pytest.mark.parametrize("kind", [str, Path, FsPath], ids=["str", "Path", "PathLike"])


def _png(path: Path, value: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with rasterio.open(path, "w", driver="PNG", width=4, height=3, count=3, dtype="uint8") as dst:
        dst.write(np.full((3, 3, 4), value, np.uint8))
    return path


@KINDS
def test_chip_functions_take_any_path(tmp_path: Path, kind: Kind) -> None:
    first = _png(tmp_path / "chips" / "forest" / "a.png", 7)
    _png(tmp_path / "chips" / "water" / "b.png", 9)
    assert list_images(kind(first.parent)) == [first]
    values, valid = read_chip(kind(first))
    assert values.shape == (3, 3, 4) and int(values.max()) == 7 and valid.all()
    assert default_bands(kind(first), None) == ["RGB.red", "RGB.green", "RGB.blue"]
    dataset = ClassFolderDataset(kind(tmp_path / "chips"))
    assert dataset.classes == ["forest", "water"] and len(dataset) == 2
    with pytest.raises(MissingFileError):
        list_images(kind(tmp_path / "nowhere"))


@KINDS
def test_bigearthnet_folders_take_any_path(tmp_path: Path, kind: Kind) -> None:
    s2 = tmp_path / "S2" / "S2A_MSIL2A_20170613T101031_87_48"
    s1 = tmp_path / "S1" / "S1A_IW_GRDH_1SDV_20170613T165043_33UUP_87_48"
    for folder, meta in (
        (s2, {"labels": ["Pastures"], "tile_source": "S2A_MSIL1C_20170613T101031_N0205_T33UUP_"}),
        (s1, {"labels": ["Pastures"], "corresponding_s2_patch": s2.name}),
    ):
        folder.mkdir(parents=True)
        (folder / f"{folder.name}_labels_metadata.json").write_text(json.dumps(meta))
    assert find_patches(kind(s2.parent)) == [s2]
    assert read_metadata(kind(s2))["labels"] == ["Pastures"]
    assert match_s1([kind(s2)], kind(s1.parent)) == [s1]
