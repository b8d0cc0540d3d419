"""sr_multiframe_fit end to end: trained on revisits of a synthetic scene by Lightning, its
bundle predicted whole through the engine on unseen revisits beats bicubic of one revisit."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
import torch.nn.functional as F
from tests.experiment.sr_setup import scene_pair, sr_config

from eoforge.evaluate.sr_metrics import cpsnr
from eoforge.experiment.config import ExperimentConfig
from eoforge.experiment.train import train
from eoforge.models import load_bundle
from eoforge.predict import run
from eoforge.synth.degrade import SensorModel

MODEL = SensorModel(scale=4, mtf=0.3, max_shift=0.5, noise_std=0.004)
REVISITS = 4


def _read(path: Path) -> torch.Tensor:
    with rasterio.open(path) as src:
        return torch.from_numpy(src.read().astype(np.float64))


@pytest.mark.slow  # renders two scenes and trains 4 epochs (~20 s CPU)
def test_trained_bundle_fuses_unseen_revisits_through_the_engine(tmp_path: Path) -> None:
    train_item = scene_pair(tmp_path, 1, 192, MODEL, revisits=REVISITS, name="item")
    val_item = scene_pair(tmp_path, 2, 128, MODEL, revisits=REVISITS, name="item")
    options = {"scale": 4, "features": 16, "blocks": 2}
    raw = sr_config(
        tmp_path,
        [{"lr": str(train_item.hr.parent / "lr_?.tif"), "hr": str(train_item.hr)}],
        [{"lr": [str(p) for p in val_item.lr], "hr": str(val_item.hr)}],
        "sr_multiframe_fit",
        options,
        epochs=4,
        frames=REVISITS,
    )
    raw["data"].update(patch_size=32, batch_size=2)  # a shift per patch needs some texture
    result = train(ExperimentConfig.model_validate(raw), progress=False)
    info = load_bundle(result.bundle).bundle
    assert info.model.arch == "sr_multiframe_fit" and info.model.options["frames"] == REVISITS
    outputs = run(result.bundle, list(val_item.lr), tmp_path / "out")
    assert len(outputs) == 1  # the revisits of one footprint are one scene
    image = _read(outputs[0].paths["values"])
    hr = _read(val_item.hr)
    first = _read(val_item.lr[0])[None]
    up = F.interpolate(first, scale_factor=4, mode="bicubic", align_corners=False)[0]
    model_db, bicubic_db = cpsnr(image, hr).mean, cpsnr(up, hr).mean
    assert model_db > bicubic_db + 0.3, (model_db, bicubic_db)
