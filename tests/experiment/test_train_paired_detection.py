"""Optical + SAR pairs end to end (M4-SAR's layout): ``data.pair`` adds each image's
partner from ``images_sar/`` and a two-stream oriented detector trains on both."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
from tests.experiment.helpers import detection_config

from eoforge.errors import ConfigError, MissingFileError
from eoforge.experiment import load_config, train
from eoforge.experiment.data import build_data
from eoforge.models import read_bundle_json

SIZE = 64
PAIR = ["data.pair.folder=images_sar", "data.pair.bands=[S1.VV]", "data.pair.read=[1]"]


def _ships(rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[str, list[float]]]]:
    """A dark optical image with one bright 20 x 8 ship."""
    image = rng.integers(0, 30, (3, SIZE, SIZE), dtype=np.uint8)
    x, y = int(rng.integers(2, 40)), int(rng.integers(2, 50))
    image[:, y : y + 8, x : x + 20] = 250
    return image, [("ship", [float(v) for v in (x, y, x + 20, y, x + 20, y + 8, x, y + 8)])]


def _add_sar(split: Path) -> None:
    """``images_sar/<name>``: a grey PNG (3 equal bands) where the ship echoes brightly."""
    (split / "images_sar").mkdir()
    for image in sorted((split / "images").iterdir()):
        with rasterio.open(image) as ds:
            bright = ds.read(1) > 200
        grey = np.where(bright, 240, 20).astype(np.uint8)
        with rasterio.open(
            split / "images_sar" / image.name, "w", driver="GTiff", count=3,
            height=SIZE, width=SIZE, dtype="uint8",
        ) as ds:  # fmt: skip
            ds.write(np.stack([grey, grey, grey]))


def _config(tmp_path: Path) -> Path:
    path = detection_config(
        tmp_path, _ships, ["ship"], "two_stream_oriented_fcos", "oriented_detection"
    )
    for split in ("train", "val"):
        _add_sar(tmp_path / split)
    return path


def test_a_two_stream_detector_trains_on_optical_and_sar_pairs(tmp_path: Path) -> None:
    path = _config(tmp_path)
    config = load_config(path, [*PAIR, "trainer.max_epochs=1"])
    data = build_data(config, tmp_path / "run")
    sample = data.train[0]
    assert sample["image"].shape == (4, SIZE, SIZE)
    assert data.bands == ["RGB.red", "RGB.green", "RGB.blue", "S1.VV"]
    result = train(config, progress=False)
    bundle = read_bundle_json(result.bundle)
    assert bundle.task == "oriented_detection" and bundle.model.arch == "two_stream_oriented_fcos"
    assert bundle.bands == ["RGB.red", "RGB.green", "RGB.blue", "S1.VV"]
    assert 0.0 <= result.metrics["val/map"] <= 1.0


def test_a_pair_without_a_name_per_band_read_is_refused(tmp_path: Path) -> None:
    path = _config(tmp_path)
    with pytest.raises(ConfigError, match="reads 2 band"):
        load_config(path, ["data.pair.folder=images_sar", "data.pair.bands=[S1.VV]",
                           "data.pair.read=[1,2]"])  # fmt: skip
    config = load_config(path, ["data.pair.folder=images_radar", "data.pair.bands=[S1.VV]"])
    with pytest.raises(MissingFileError, match="has no partner"):
        build_data(config, tmp_path / "run")
