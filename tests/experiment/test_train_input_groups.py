"""Training from input groups: synthetic S2 + S1 scenes, S1 on its own 20 m grid, partly absent."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
import rasterio
import torch
from rasterio.transform import from_origin
from rasterio.windows import Window
from tests.experiment.helpers import CLASSES, write_config

from eoforge.errors import ConfigError
from eoforge.experiment import load_config, train
from eoforge.experiment.config import GeoData
from eoforge.experiment.multi_input import group_normalization, multi_input_data
from eoforge.models import load_bundle
from eoforge.synth import generate_scene

S2 = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]
S1 = ["S1.VV", "S1.VH"]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64 px synthetic S2 + S1 scene (seed 0) at 10 m."""
    out = tmp_path_factory.mktemp("groups") / "seed0"
    generate_scene(out, size=64, seed=0, sensors="s2,s1", dates=1, clouds=0.0, vectors=False)
    return out


@pytest.fixture(scope="module")
def top_s1(scene: Path) -> Path:
    """The scene's S1 bands cut to their top 8 rows: a group missing from most of the scene."""
    folder = scene.parent / "s1_top"
    folder.mkdir(exist_ok=True)
    for band in S1:
        with rasterio.open(next(scene.glob(f"s1/*/{band}.tif"))) as src:
            window = Window(0, 0, src.width, 8)
            data, profile = src.read(window=window), dict(src.profile)
            profile.update(height=8, transform=src.window_transform(window), tiled=False)
        for key in ("blockxsize", "blockysize"):
            profile.pop(key, None)
        with rasterio.open(folder / f"{band}.tif", "w", **profile) as dst:
            dst.write(data)
            dst.set_band_description(1, band)  # plain files name their band this way
    return folder


def groups_config(scene: Path, out: Path, s1: dict[str, Any]) -> dict[str, Any]:
    """Land cover from s2 (10 m) and s1 (20 m), the bottom quarter held out for validation."""
    return {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scene)], "label": {"band": "landcover"}},
            "inputs": {"s2": {"bands": S2, "gsd": 10}, "s1": {"bands": S1, "gsd": 20, **s1}},
            "legend": {"layer": "landcover"},
            "classes": copy.deepcopy(CLASSES),
            "val_fraction": 0.25,
            "patch_size": 32,
            "samples_per_epoch": 8,
            "batch_size": 2,
            "stats_samples": 8,
        },
        "model": {
            "arch": "fusion_unet",
            "backbone": "tu-resnet10t",
            "options": {
                "encoder_depth": 3,
                "decoder_channels": [16, 8, 8],
                "fuse": "gated",
                "modality_dropout": 0.2,
            },
        },
        "task": {"kind": "segmentation"},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "output_dir": str(out)},
    }


def _load(tmp_path: Path, config: dict[str, Any]) -> Any:
    return load_config(write_config(tmp_path / "c.yaml", config))


def test_samples_read_each_group_on_its_grid_with_per_group_statistics(
    scene: Path, top_s1: Path, tmp_path: Path
) -> None:
    config = _load(tmp_path, groups_config(scene, tmp_path / "run", {"scenes": [str(top_s1)]}))
    assert isinstance(config.data, GeoData)
    data = multi_input_data(config, config.data, tmp_path / "run")
    assert data.bands == [*S2, *S1] and data.gsd == 10.0 and data.label_grid == "s2"
    assert data.inputs == {"s2": {"bands": S2, "gsd": 10.0}, "s1": {"bands": S1, "gsd": 20.0}}
    samples = list(data.stats_samples())
    first = samples[0]
    assert first["inputs"]["s2"]["image"].shape == (4, 32, 32)
    assert first["inputs"]["s1"]["image"].shape == (2, 16, 16)
    assert first["mask"].shape == (32, 32)
    present = [bool(s["present"]["s1"]) for s in samples]
    assert any(present) and not all(present)  # S1 covers the top 8 rows only
    mean, std = group_normalization(data, samples)
    assert all(0.0 < m < 0.5 for m in mean[:4])  # S2 reflectance
    assert all(m < -5.0 for m in mean[4:])  # S1 backscatter in dB, from present samples only
    assert len(std) == 6 and min(std) > 0
    # validation tiles lie in the bottom quarter, below the S1 cut: absent, zeros, invalid
    tile = data.val[next(iter(data.val_sampler()))]  # type: ignore[index]
    assert not bool(tile["present"]["s1"]) and not bool(tile["inputs"]["s1"]["image"].any())
    assert bool(tile["present"]["s2"]) and tile["valid"].dtype == torch.bool


def test_a_band_no_raster_of_the_group_holds_names_the_group(
    scene: Path, top_s1: Path, tmp_path: Path
) -> None:
    config = _load(tmp_path, groups_config(scene, tmp_path / "run", {"bands": ["S1.HH"]}))
    with pytest.raises(ConfigError) as caught:
        multi_input_data(config, config.data, tmp_path / "run")
    message = str(caught.value)
    assert "data.inputs.s1: no raster of data.train.images holds the bands ['S1.HH']" in message
    assert "S1.VV" in message  # what they do hold


def test_a_group_elsewhere_is_an_error_naming_its_files(
    scene: Path, top_s1: Path, tmp_path: Path
) -> None:
    far = tmp_path / "far"
    far.mkdir()
    for band in S1:
        with rasterio.open(top_s1 / f"{band}.tif") as src:
            profile, data = dict(src.profile), src.read()
            corner = src.transform
        profile["transform"] = from_origin(corner.c + 200_000, corner.f, 10, 10)
        with rasterio.open(far / f"{band}.tif", "w", **profile) as dst:
            dst.write(data)
            dst.set_band_description(1, band)
    config = _load(tmp_path, groups_config(scene, tmp_path / "run", {"scenes": [str(far)]}))
    with pytest.raises(ConfigError) as caught:
        multi_input_data(config, config.data, tmp_path / "run")
    message = str(caught.value)
    assert "data.train: input group 's1' does not overlap the labelled scenes anywhere" in message
    assert str(far) in message and "Fix: point data.inputs.s1.scenes" in message


@pytest.mark.slow
def test_train_writes_a_bundle_recording_the_groups(
    scene: Path, top_s1: Path, tmp_path: Path
) -> None:
    config = _load(tmp_path, groups_config(scene, tmp_path / "run", {"scenes": [str(top_s1)]}))
    result = train(config, progress=False)
    assert 0.0 < result.metrics["train/present_s1"] < 1.0
    assert result.metrics["val/present_s1"] == 0.0 and result.metrics["val/present_s2"] == 1.0
    assert 0.0 <= result.metrics["val/miou"] <= 1.0
    written = json.loads((result.bundle / "bundle.json").read_text())
    options = written["model"]["options"]
    assert options["inputs"] == {"s2": {"bands": S2, "gsd": 10.0}, "s1": {"bands": S1, "gsd": 20.0}}
    assert options["reference"] == "s2" and options["fuse"] == "gated"
    assert written["bands"] == [*S2, *S1] and written["gsd"] == 10.0
    assert all(m < -5 for m in written["normalization"]["mean"][4:])
    loaded = load_bundle(result.bundle)
    images = {"s2": torch.zeros(1, 4, 32, 32), "s1": torch.zeros(1, 2, 16, 16)}
    present = {"s2": torch.tensor([True]), "s1": torch.tensor([False])}
    assert loaded.model(images, present).shape == (1, 3, 32, 32)


def test_a_group_may_hold_indices_its_rasters_compute_and_not_others(
    scene: Path, top_s1: Path, tmp_path: Path
) -> None:
    raw = groups_config(scene, tmp_path / "run", {})
    raw["data"]["inputs"]["s2"]["bands"] = [*S2, "ASI.NDVI"]
    config = _load(tmp_path, raw)
    data = multi_input_data(config, config.data, tmp_path / "run")
    sample = data.train[next(iter(data.train_sampler()))]  # type: ignore[index]
    image = sample["inputs"]["s2"]["image"]
    assert image.shape[0] == len(S2) + 1
    ndvi = image[-1][sample["inputs"]["s2"]["valid"]]
    assert ndvi.numel() and float(ndvi.min()) >= -1.0 and float(ndvi.max()) <= 1.0
    config = _load(
        tmp_path, groups_config(scene, tmp_path / "run", {"bands": ["S1.VV", "ASI.NBR"]})
    )
    with pytest.raises(
        ConfigError, match=r"data\.inputs\.s1: no raster .* holds the bands \['ASI\.NBR'\]"
    ):
        multi_input_data(config, config.data, tmp_path / "run")
