"""Training crops of reference items: the reference's window is the target's, D4 alike."""

from __future__ import annotations

import numpy as np
import torch

from eoforge.data.sr_pairs import CropSampler, SRCrops, SRPair
from eoforge.tasks.super_resolution import d4_pairs


def _pair() -> SRPair:
    rng = np.random.default_rng(0)
    hr = rng.random((2, 64, 64)).astype(np.float32)
    lr = hr.reshape(2, 16, 4, 16, 4).mean(axis=(2, 4))
    return SRPair(lr, hr, 4, 10.0, "lr.tif", reference=hr + np.float32(1.0))


def test_a_crop_carries_the_reference_above_its_input() -> None:
    crops = SRCrops([_pair()], patch=6)
    for index, row, col in CropSampler(crops, samples=5, seed=1):
        item = crops[(index, row, col)]
        assert item["reference"].shape == item["target"].shape == (2, 24, 24)
        torch.testing.assert_close(item["reference"], item["target"] + 1.0)
    plain = SRCrops([SRPair(_pair().lr, _pair().hr, 4, 10.0, "lr.tif")], patch=6)
    assert "reference" not in plain[(0, 0, 0)]


def test_d4_moves_the_reference_with_the_target() -> None:
    crops = SRCrops([_pair()], patch=6)
    items = [crops[(0, r, c)] for r, c in ((0, 0), (3, 5), (10, 2))]
    batch = {k: torch.stack([i[k] for i in items]) for k in items[0]}
    out = d4_pairs(batch, torch.tensor([1, 5, 6]))
    torch.testing.assert_close(out["reference"], out["target"] + 1.0)
    assert not torch.equal(out["target"], batch["target"])
