"""Training on a time-series input group: crop types from a synthetic S2 series with clouds."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import rasterio
import torch
from tests.experiment.helpers import write_config

from eoforge.experiment import load_config, train
from eoforge.experiment.config import GeoData
from eoforge.experiment.multi_input import group_normalization, multi_input_data
from eoforge.models import load_bundle
from eoforge.predict import TilingOptions
from eoforge.predict.bundle import bundle_predictor
from eoforge.predict.groups import pack_groups, scene_reads
from eoforge.predict.runner import run
from eoforge.predict.scenes import find_sources
from eoforge.synth import generate_scene

S2 = ["S2.B04", "S2.B08"]
CROPS = [{"name": n} for n in ("winter_wheat", "rapeseed", "sunflower", "maize")]


@pytest.fixture(scope="module")
def scene(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 64 px synthetic S2 scene (seed 0) with 4 dates, about a third of the ground cloudy."""
    out = tmp_path_factory.mktemp("series") / "seed0"
    generate_scene(out, size=64, seed=0, sensors="s2", dates=4, clouds=0.3, vectors=False)
    return out


def series_config(scene: Path, out: Path, **s2: Any) -> dict[str, Any]:
    """Crop types from a 3-date S2 series (4 acquisitions: thinned), clouds masked."""
    group = {"bands": S2, "gsd": 10, "dates": 3, "clouds": {"band": "cloudmask"}, **s2}
    return {
        "data": {
            "kind": "geo",
            "train": {"images": [str(scene)], "label": {"band": "croptype"}},
            "inputs": {"s2": group},
            "legend": {"layer": "croptype", "exclude": ["none"]},
            "classes": CROPS,
            "val_fraction": 0.25,
            "patch_size": 32,
            "samples_per_epoch": 4,
            "batch_size": 2,
            "stats_samples": 4,
        },
        "model": {"arch": "utae", "options": {"widths": [8, 16], "d_model": 16, "heads": 2}},
        "task": {"kind": "segmentation", "augment": True},
        "trainer": {"max_epochs": 1, "accelerator": "cpu", "output_dir": str(out)},
    }


def _load(tmp_path: Path, config: dict[str, Any]) -> Any:
    return load_config(write_config(tmp_path / "c.yaml", config))


def test_series_samples_statistics_and_validation_tiles(scene: Path, tmp_path: Path) -> None:
    config = _load(tmp_path, series_config(scene, tmp_path / "run"))
    assert isinstance(config.data, GeoData)
    data = multi_input_data(config, config.data, tmp_path / "run")
    assert data.inputs is not None and data.inputs["s2"]["dates"] == 3
    assert data.inputs["s2"]["clouds"] == {"band": "cloudmask", "values": [1, 2]}
    samples = list(data.stats_samples())
    s2 = samples[0]["inputs"]["s2"]
    assert s2["image"].shape == (3, 2, 32, 32) and s2["valid"].shape == (3, 32, 32)
    # 4 acquisitions, thinned evenly to 3: the first, one of the middle two, the last
    assert s2["doy"][0] == 61.0 and s2["doy"][2] == 305.0 and bool(s2["date_mask"].all())
    cloudy = [float(1 - s["inputs"]["s2"]["valid"].float().mean()) for s in samples]
    assert 0.05 < sum(cloudy) / len(cloudy) < 0.8  # clouds and shadows masked
    mean, std = group_normalization(data, samples)
    assert len(mean) == 2 and all(0.0 < m < 0.6 for m in mean) and min(std) > 0
    config = _load(tmp_path, series_config(scene, tmp_path / "run", clouds=None))
    cloudy_data = multi_input_data(config, config.data, tmp_path / "run")
    bright, _ = group_normalization(cloudy_data)
    assert bright[0] > mean[0] + 0.02  # bright clouds left in raise the red mean
    tiles = list(data.val_sampler())
    grids = {tuple(w.grid.affine)[:6] for w in tiles}
    assert len(grids) == len(tiles)  # one tile per place, not one per date
    tile = data.val[tiles[0]]  # type: ignore[index]
    assert tile["inputs"]["s2"]["image"].shape[:2] == (3, 2)
    assert tile["mask"].dtype == torch.int64


@pytest.mark.slow
@pytest.mark.parametrize("arch", ["utae", "ltae"])
def test_train_writes_a_bundle_recording_the_series(scene: Path, tmp_path: Path, arch: str) -> None:
    raw = series_config(scene, tmp_path / "run")
    raw["data"]["val"] = {"images": [str(scene)], "label": {"band": "croptype"}}  # crops: top
    del raw["data"]["val_fraction"]
    raw["model"]["arch"] = arch
    raw["model"]["options"]["date_dropout"] = 0.2
    result = train(_load(tmp_path, raw), progress=False)
    assert 0.0 <= result.metrics["val/miou"] <= 1.0
    written = json.loads((result.bundle / "bundle.json").read_text())
    group = written["model"]["options"]["inputs"]["s2"]
    assert group["dates"] == 3 and group["clouds"]["band"] == "cloudmask"
    assert written["bands"] == S2 and len(written["normalization"]["mean"]) == 2
    loaded = load_bundle(result.bundle)
    images = {"s2": torch.zeros(1, 3, 2, 32, 32)}
    series = {
        "s2": {
            "doy": torch.tensor([[61.0, 142.0, 305.0]]),
            "valid": torch.ones(1, 3, 32, 32, dtype=torch.bool),
        }
    }
    out = loaded.model(images, {"s2": torch.tensor([True])}, series)
    assert out.shape == (1, 4, 32, 32)
    # the whole scene, tile by tile (every date of the footprint), as the packed grid predicts
    [predicted] = run(result.bundle, scene, tmp_path / "out", tiling=TilingOptions(32, 8, 2, 64))
    with rasterio.open(predicted.paths["classes"]) as ds:
        classes = ds.read(1)
    predictor, found = bundle_predictor(result.bundle)
    reads = scene_reads(found, find_sources([scene]))
    image, invalid = pack_groups(reads, predicted.grid)
    assert image.shape == (3 * 3, 64, 64)  # 3 dates x (2 bands + day of year)
    with torch.no_grad():
        direct = predictor(torch.from_numpy(image)[None]).argmax(dim=1)[0].numpy()
    assert classes.shape == (64, 64) and 0 < invalid.mean() < 0.5  # cloudy on every date
    assert bool((classes[invalid] == 255).all()) and not bool((classes[~invalid] == 255).any())
    assert float((classes == direct)[~invalid].mean()) > 0.95  # tiles vs one pass: borders
