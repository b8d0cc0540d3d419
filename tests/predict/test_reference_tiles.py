"""Reference channels of tiles: unshuffled like torch, split back by the guided predictor."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
import torch.nn.functional as F
from affine import Affine

from eoforge.errors import ConfigError
from eoforge.geo.grid import make_grid
from eoforge.io import source_from_file
from eoforge.models import ModelSpec, build_model
from eoforge.predict.references import guided_predictor, reference_channels, unshuffle


def test_unshuffle_is_torchs_pixel_unshuffle() -> None:
    ref = np.random.default_rng(0).random((3, 12, 16)).astype(np.float32)
    expected = F.pixel_unshuffle(torch.from_numpy(ref)[None], 4)[0].numpy()
    np.testing.assert_array_equal(unshuffle(ref, 4), expected)


def test_reference_channels_read_the_output_window(tmp_path: Path) -> None:
    data = np.random.default_rng(1).random((2, 40, 40)).astype(np.float32)
    transform = Affine(2.5, 0, 1000, 0, -2.5, 2000)
    path = tmp_path / "ref.tif"
    with rasterio.open(
        path, "w", driver="GTiff", height=40, width=40, count=2, dtype="float32",
        crs="EPSG:32631", transform=transform,
    ) as dst:  # fmt: skip
        dst.write(data)
        dst.descriptions = ("S2.B04", "S2.B08")
    window = make_grid((16, 24), transform @ Affine.translation(8, 4), "EPSG:32631")
    out = reference_channels([source_from_file(path)], window, ["S2.B08", "S2.B04"], 4)
    assert out.shape == (2 * 16, 4, 6)
    np.testing.assert_array_equal(out, unshuffle(data[::-1, 4:20, 8:32].copy(), 4))


def test_the_guided_predictor_is_the_network_on_standardised_inputs() -> None:
    torch.manual_seed(0)
    spec = ModelSpec(
        task="super_resolution", arch="sr_reference", in_bands=["S2.B04", "S2.B08"],
        num_classes=2, options={"scale": 2, "features": 8, "blocks": 1, "ref_blocks": 1},
    )  # fmt: skip
    model = build_model(spec).eval()
    mean, std = torch.tensor([0.1, 0.3])[:, None, None], torch.tensor([0.05, 0.1])[:, None, None]
    x, ref = torch.rand(2, 2, 6, 6), torch.rand(2, 2, 12, 12)
    ref[0, 1, 0, 0] = float("nan")  # outside the reference: the band mean
    packed = torch.cat([x, F.pixel_unshuffle(ref, 2)], dim=1)
    with torch.no_grad():
        out = guided_predictor(model, mean, std)(packed)
        standard = torch.nan_to_num((ref - mean) / std, nan=0.0)
        expected = model((x - mean) / std, standard)
    torch.testing.assert_close(out, expected)
    with pytest.raises(ConfigError, match="--reference"):
        guided_predictor(model, mean, std)(x)
