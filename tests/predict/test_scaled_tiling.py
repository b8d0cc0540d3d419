"""Default tiles and blocks shrink with the output scale: `eoforge predict SR_BUNDLE SCENE`
plans x4 outputs in 256-px tiles and 512-px blocks unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from tests.helpers import run_cli, write_tif

from eoforge.models import Bundle, ModelSpec, Normalization, build_model, save_bundle
from eoforge.predict import TilingOptions
from eoforge.predict.defaults import scaled_tiling

T = Affine(10, 0, 500000, 0, -10, 5600000)


def test_tiles_and_blocks_hold_as_many_output_pixels_as_the_defaults() -> None:
    assert scaled_tiling(1) == TilingOptions()  # outputs on the input grid: unchanged
    assert scaled_tiling(2) == TilingOptions(tile=512, overlap=32, batch=2, block=1024)
    assert scaled_tiling(4) == TilingOptions(tile=256, overlap=16, batch=2, block=512)
    assert scaled_tiling(8) == TilingOptions(tile=128, overlap=16, batch=2, block=256)
    assert scaled_tiling(16).tile == 128  # never below MIN_TILE
    assert scaled_tiling(4, tile=384, batch=1) == TilingOptions(
        tile=384, overlap=16, batch=1, block=512
    )  # given values win, the others keep the scale's defaults
    # a block's blended sums on a x4 grid: as many output pixels as the x1 default's
    for up in (1, 2, 4, 8):
        assert (scaled_tiling(up).block * up) ** 2 <= TilingOptions().block ** 2


def _sr_bundle(folder: Path) -> Path:
    torch.manual_seed(0)
    spec = ModelSpec(
        task="super_resolution",
        arch="sr_edsr",
        in_bands=["S2.B04"],
        num_classes=1,
        options={"scale": 4, "features": 4, "blocks": 0},
    )
    bundle = Bundle(
        task="super_resolution",
        model=spec,
        bands=["S2.B04"],
        normalization=Normalization(mean=[0.15], std=[0.08]),
        patch_size=24,
        gsd=10.0,
    )
    save_bundle(folder, build_model(spec).eval(), bundle)
    return folder


def test_eoforge_predict_plans_x4_outputs_with_the_scaled_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GDAL_CACHEMAX", "128")  # as the command sets it; restored after
    bundle = _sr_bundle(tmp_path / "bundle")
    rng = np.random.default_rng(0)
    data = (0.15 + 0.05 * rng.standard_normal((1, 64, 288))).astype(np.float32)
    scene = write_tif(tmp_path / "scene.tif", data, T, "EPSG:32631", descriptions=["S2.B04"])

    def predict(name: str, *options: str) -> np.ndarray:
        out = tmp_path / name
        assert (
            run_cli(
                ["--quiet", "predict", str(bundle), str(scene), "--out", str(out), *options],
                monkeypatch,
            )
            == 0
        )
        with rasterio.open(out / "scene_values.tif") as ds:
            assert ds.shape == (256, 1152)
            return ds.read()

    default = predict("default")
    scaled = predict("scaled", "--tile", "256", "--overlap", "16", "--batch", "2", "--block", "512")
    # the same plan, the same bits (the old defaults, one 1,024-px tile over the scene,
    # blend no seams and give other values: checked when this test was written)
    np.testing.assert_array_equal(default, scaled)
