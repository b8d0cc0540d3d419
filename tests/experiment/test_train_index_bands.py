"""A model trained on a spectral index band (``ASI.NDVI``) beside stored bands: its statistics
are the index's, and whole-scene prediction computes the index the same way."""

from __future__ import annotations

from pathlib import Path

import rasterio
from tests.experiment.helpers import segmentation_config, write_config

from eoforge.experiment import load_config, train
from eoforge.models import read_bundle_json
from eoforge.predict import run


def test_a_model_trained_on_an_index_band_predicts_whole_scenes(
    tiny_scene: Path, tmp_path: Path
) -> None:
    config = segmentation_config(tiny_scene, tmp_path / "run", max_epochs=1)
    config["data"]["bands"] = ["S2.B02", "S2.B03", "S2.B04", "S2.B08", "ASI.NDVI"]
    result = train(load_config(write_config(tmp_path / "c.yaml", config)), progress=False)
    bundle = read_bundle_json(result.bundle)
    assert bundle.bands[-1] == "ASI.NDVI" and len(bundle.normalization.mean) == 5
    assert -1.0 <= bundle.normalization.mean[-1] <= 1.0  # NDVI statistics, not a raw band's
    [scene] = run(result.bundle, tiny_scene, tmp_path / "out")
    with rasterio.open(scene.paths["classes"]) as ds:
        assert ds.shape == (128, 128) and (ds.read(1) != 255).all()
