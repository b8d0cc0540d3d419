"""data.cloud_filter from a config: training windows above the cloud fraction are redrawn."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import rasterio
from rasterio.transform import rowcol
from tests.experiment.helpers import write_config

from eoforge.errors import ConfigError
from eoforge.experiment.data import build_data
from eoforge.experiment.loading import load_config
from eoforge.synth import generate_scene

DATE = "20240701"


@pytest.fixture(scope="module")
def cloudy_scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 128 px synthetic S2 date at 30 m with about half of it under cloud or shadow."""
    out = tmp_path_factory.mktemp("cloudy") / "scene"
    generate_scene(
        out,
        size=128,
        seed=4,
        sensors="s2",
        dates=1,
        clouds=0.5,
        gsd=30.0,
        s2_native=False,
        vectors=False,
    )
    return out


def config(scene: Path, out: Path, rule: dict[str, Any]) -> dict[str, Any]:
    mask = str(scene / "s2" / DATE / "cloudmask.tif")
    return {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scene)], "label": {"path": mask}},
            "bands": ["S2.B02", "S2.B04", "S2.B08"],
            "legend": {"path": str(scene), "layer": "cloudmask"},
            "val_fraction": 0.25,
            "patch_size": 16,
            "samples_per_epoch": 24,
            "batch_size": 4,
            "stats_samples": 2,
            "cloud_filter": copy.deepcopy(rule),
        },
        "model": {
            "arch": "unet",
            "backbone": "tu-resnet10t",
            "options": {"encoder_depth": 3, "decoder_channels": [32, 16, 8]},
        },
        "task": {"kind": "segmentation"},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "output_dir": str(out)},
    }


def fractions(mask: Path, sampler: Any, values: tuple[int, ...]) -> list[float]:
    """Each window's cloudy share, read straight from the mask file by pixel offset."""
    with rasterio.open(mask) as src:
        codes, transform = src.read(1), src.transform
    out = []
    for window in sampler.epoch_windows(0):
        row, col = rowcol(transform, window.grid.affine.c, window.grid.affine.f, op=round)
        part = codes[row : row + 16, col : col + 16]
        out.append(float(np.isin(part, values).mean()))
    return out


def test_windows_respect_the_threshold_of_the_images_own_mask_band(
    cloudy_scene: Path, tmp_path: Path
) -> None:
    rule = {"max_fraction": 0.1}
    loaded = load_config(write_config(tmp_path / "c.yaml", config(cloudy_scene, tmp_path, rule)))
    sampler = build_data(loaded, tmp_path / "run").train_sampler()
    mask = cloudy_scene / "s2" / DATE / "cloudmask.tif"
    kept = fractions(mask, sampler, (1, 2))
    assert len(kept) == 24 and max(kept) <= 0.1 and sampler.rejected > 0
    unfiltered = fractions(mask, sampler.inner, (1, 2))
    assert max(unfiltered) > 0.5  # the scene is cloudy: the filter did the work


def test_a_predicted_class_map_serves_as_the_mask(cloudy_scene: Path, tmp_path: Path) -> None:
    # eoforge predict's class map of a cloud bundle: band "class", 0 clear, 1 cloud, 2 shadow
    predicted = tmp_path / f"s2-{DATE}_classes.tif"
    with rasterio.open(cloudy_scene / "s2" / DATE / "cloudmask.tif") as src:
        codes, profile = src.read(1), src.profile
    profile.update(driver="GTiff")
    with rasterio.open(predicted, "w", **profile) as dst:
        dst.write(codes[None])
        dst.set_band_description(1, "class")
    rule = {"max_fraction": 0.0, "band": "class", "values": [1], "rasters": [str(predicted)]}
    loaded = load_config(write_config(tmp_path / "c.yaml", config(cloudy_scene, tmp_path, rule)))
    sampler = build_data(loaded, tmp_path / "run").train_sampler()
    assert max(fractions(predicted, sampler, (1,))) == 0.0
    rule["band"] = "cloudmask"
    loaded = load_config(write_config(tmp_path / "d.yaml", config(cloudy_scene, tmp_path, rule)))
    with pytest.raises(ConfigError, match=r"data\.cloud_filter\.band: no raster of"):
        build_data(loaded, tmp_path / "run").train_sampler()
    raw = config(cloudy_scene, tmp_path, {"max_fraction": 0.2})
    raw["data"]["windows_per_read"] = 4
    with pytest.raises(ConfigError, match="windows are filtered one by one"):
        load_config(write_config(tmp_path / "e.yaml", raw))
