"""Several scenes listed under one split: each brings its own images and labels."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from tests.experiment.helpers import BANDS, segmentation_config, write_config

from eoforge.errors import ConfigError
from eoforge.experiment import load_config
from eoforge.experiment.data import build_data
from eoforge.experiment.geo_data import OwnedPixels
from eoforge.experiment.scenes import scene_sources
from eoforge.geo.grid import grid_to_sample, make_grid
from eoforge.io.reader import read
from eoforge.synth import generate_scene

IGNORE = -100


@pytest.fixture(scope="module")
def two_places(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """Two 64 px synthetic scenes (seeds 0 and 1) 6 degrees of longitude apart."""
    root = tmp_path_factory.mktemp("places")
    common = {"size": 64, "sensors": "s2", "dates": 1, "clouds": 0.0, "vectors": False}
    west, east = root / "west", root / "east"
    generate_scene(west, seed=0, **common)  # type: ignore[arg-type]
    generate_scene(east, seed=1, center=(10.8, 45.7), **common)  # type: ignore[arg-type]
    return west, east


def _listed(scenes: list[Path], tmp_path: Path, val: list[Path] | None = None) -> Path:
    config = segmentation_config(scenes[0], tmp_path / "run")
    data = config["data"]
    data["train"]["images"] = [str(s) for s in scenes]
    data["legend"]["path"] = str(scenes[0] / "legend.json")
    data["patch_size"] = data["val_patch_size"] = 32
    if val is not None:
        data["val"] = {"images": [str(s) for s in val], "label": {"band": "landcover"}}
    config["task"]["ignore_index"] = IGNORE
    return write_config(tmp_path / "listed.yaml", config)


def test_training_windows_of_every_listed_scene_carry_that_scenes_labels(
    two_places: tuple[Path, Path], tmp_path: Path
) -> None:
    west, east = two_places
    config = load_config(_listed([west, east], tmp_path, val=[west, east]))
    data = build_data(config, tmp_path)
    seen = {0: 0, 1: 0}
    for window in data.train_sampler().epoch_windows(0):  # type: ignore[attr-defined]
        (source,) = window.sources
        mask = data.train[window]["mask"].numpy()
        assert (mask != IGNORE).mean() > 0.99, f"windows of scene {source} lost their labels"
        seen[source] += 1
    assert seen[0] > 0 and seen[1] > 0
    # the validation tiles cover both scenes, each read with its own image and labels
    tiles = list(data.val_sampler().windows)  # type: ignore[attr-defined]
    assert len(tiles) == 8  # 2 x 2 tiles of 32 px per 64 px scene
    for scene, tile in ((west, tiles[0]), (east, tiles[4])):
        sample = data.val[tile]
        alone = scene_sources(
            config.data.val.model_copy(update={"images": [scene]}), BANDS, tmp_path, "v"
        )  # type: ignore[union-attr]
        own, _ = read(alone.images, tile.grid, BANDS)
        assert torch.equal(sample["image"], torch.from_numpy(own))
        assert (sample["mask"] != IGNORE).all()


def test_scenes_on_the_same_ground_are_refused_naming_both_label_files(
    two_places: tuple[Path, Path], tmp_path: Path
) -> None:
    west, _ = two_places
    again = tmp_path / "again"
    generate_scene(again, size=64, seed=2, sensors="s2", dates=1, clouds=0.0, vectors=False)
    config = load_config(_listed([west, again], tmp_path))
    with pytest.raises(ConfigError, match="cover the same ground") as error:
        build_data(config, tmp_path)
    assert str(west) in str(error.value) and str(again) in str(error.value)
    assert "separate runs" in str(error.value)


def test_tiles_of_another_crs_own_their_pixels_whatever_their_numbers() -> None:
    north = make_grid((32, 32), (10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0), "EPSG:32631")
    south = make_grid((32, 32), (10.0, 0.0, 500_160.0, 0.0, -10.0, 5_000_000.0), "EPSG:32731")
    owned = OwnedPixels([north, south])
    sample = {"valid": torch.ones(32, 32, dtype=torch.bool), **grid_to_sample(south)}
    assert int(owned(sample)["valid"].sum()) == 32 * 32  # half-overlapping numbers, other ground
    same = make_grid((32, 32), (10.0, 0.0, 500_160.0, 0.0, -10.0, 5_000_000.0), "EPSG:32631")
    owned = OwnedPixels([north, same])
    sample = {"valid": torch.ones(32, 32, dtype=torch.bool), **grid_to_sample(same)}
    assert int(owned(sample)["valid"].sum()) == 32 * 16  # the same CRS: half was scored already
