"""Image pairs (M4-SAR's optical ``images/`` + SAR ``images_sar/``): one sample, both bands."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from eoforge.data.bad_files import BadFiles
from eoforge.data.detection import DetectionChipDataset, ImagePair
from eoforge.datasets.layouts.objects import horizontal, write_objects
from eoforge.errors import ConfigError, MissingFileError

CLASSES = ("harbor", "bridge")
SAR = ImagePair("images_sar", ("S1.VV",), read=(1,))


def _image(path: Path, data: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    count, height, width = data.shape
    profile = {"driver": "PNG", "height": height, "width": width, "count": count, "dtype": "uint8"}
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data)
    return path


def _pairs(root: Path, sizes: dict[str, tuple[int, int]]) -> Path:
    """Optical: bands column, row, 7; SAR: a grey image stored as 3 equal bands (row + column)."""
    for name, (height, width) in sizes.items():
        rows, cols = np.indices((height, width))
        _image(root / "images" / name, np.stack([cols, rows, np.full_like(rows, 7)]).astype("u1"))
        grey = (rows + cols).astype("u1")
        _image(root / "images_sar" / name, np.stack([grey, grey, grey]))
    write_objects(
        root / "objects.csv",
        [horizontal("a.png", "harbor", (2, 2, 9, 6)), horizontal("b.png", "bridge", (1, 1, 4, 4))],
    )
    return root


def test_a_pair_gives_the_optical_bands_then_the_partners(tmp_path: Path) -> None:
    root = _pairs(tmp_path / "train", {"a.png": (12, 16), "b.png": (12, 16)})
    data = DetectionChipDataset(root, oriented=False, classes=CLASSES, pair=SAR, patch_size=8)
    assert data.bands == ["RGB.red", "RGB.green", "RGB.blue", "S1.VV"]
    sample = data[0]  # a.png's top-left chip
    image = sample["image"]
    assert image.shape == (4, 8, 8)
    rows, cols = np.indices((8, 8))
    assert torch.equal(image[0], torch.from_numpy(cols.astype(np.float32)))
    assert torch.equal(image[3], torch.from_numpy((rows + cols).astype(np.float32)))
    assert sample["valid"].all()
    assert sample["boxes"].tolist() == [[2.0, 2.0, 8.0, 6.0]]  # clipped to the chip


def test_a_missing_or_misfit_partner_is_named_or_skipped(tmp_path: Path) -> None:
    root = _pairs(tmp_path / "train", {"a.png": (12, 16), "b.png": (12, 16)})
    (root / "images_sar" / "b.png").unlink()
    with pytest.raises(MissingFileError, match=r"b\.png has no partner") as error:
        DetectionChipDataset(root, oriented=False, classes=CLASSES, pair=SAR)
    assert Path(str(error.value.path)) == root / "images_sar" / "b.png"
    skip = BadFiles("skip", tmp_path / "skipped.tsv")
    data = DetectionChipDataset(root, oriented=False, classes=CLASSES, pair=SAR, bad_files=skip)
    assert [c.image.name for c in data.chips] == ["a.png"]
    assert list(skip.skipped()) == [str(root / "images_sar" / "b.png")]
    grey = np.zeros((1, 10, 16), np.uint8)
    _image(root / "images_sar" / "b.png", grey)
    with pytest.raises(ConfigError, match=r"differ in size: b\.png is 12 x 16 px, its partner 10"):
        DetectionChipDataset(root, oriented=False, classes=CLASSES, pair=SAR)


@pytest.mark.parametrize(
    ("pair", "message"),
    [
        (ImagePair("images_sar", ("S1.VV",), read=(4,)), r"bands \[4\] are read from a partner"),
        (ImagePair("images_sar", ("S1.VV",)), "1 band names for the 3 bands read"),
    ],
)
def test_partner_bands_must_match_their_names(
    tmp_path: Path, pair: ImagePair, message: str
) -> None:
    root = _pairs(tmp_path / "train", {"a.png": (12, 16), "b.png": (12, 16)})
    with pytest.raises(ConfigError, match=message):
        DetectionChipDataset(root, oriented=False, classes=CLASSES, pair=pair)
