"""Self-supervised objectives on hand-computable cases: NT-Xent, MoCo, the queue, SoftCon, MAE."""

from __future__ import annotations

import math

import pytest
import torch

from eoforge.errors import ConfigError
from eoforge.models.encoders import spectral_vit
from eoforge.models.ssl import (
    FeatureQueue,
    MaskedAutoencoder,
    fraction_similarity,
    moco_loss,
    momentum_update,
    nt_xent,
    random_masking,
    soft_contrastive,
    wavelength_groups,
)
from eoforge.models.ssl.mae import masked_mse, patchify

BANDS = ["S2.B02", "S2.B03", "S2.B04", "S2.B08"]


def test_nt_xent_of_identical_orthogonal_pairs() -> None:
    # each of the 4 rows: positive cosine 1, two negatives cosine 0, itself excluded
    views = torch.eye(2, 3) * 5.0  # scale does not matter: embeddings are normalised
    t = 0.5
    expected = -math.log(math.exp(1 / t) / (math.exp(1 / t) + 2))
    assert nt_xent(views, views.clone(), t).item() == pytest.approx(expected, rel=1e-6)


def test_nt_xent_prefers_matching_views_and_checks_arguments() -> None:
    gen = torch.Generator().manual_seed(0)
    a = torch.randn(8, 16, generator=gen)
    assert nt_xent(a, a + 0.01 * torch.randn(8, 16, generator=gen)) < nt_xent(a, a.flip(0))
    with pytest.raises(ConfigError, match="temperature"):
        nt_xent(a, a, 0.0)
    with pytest.raises(ConfigError, match="two"):
        nt_xent(a, a[:4])


def test_moco_loss_by_hand() -> None:
    q = torch.tensor([[2.0, 0.0]])
    k = torch.tensor([[1.0, 0.0]])
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    expected = -math.log(math.e / (math.e + 1 + math.exp(-1)))
    assert moco_loss(q, k, queue, temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_queue_is_first_in_first_out_and_wraps() -> None:
    queue = FeatureQueue(4, 2)
    keys = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0], [0.0, -1.0], [3.0, 4.0]])
    queue.push(keys[:3])
    assert torch.equal(queue.keys[:3], keys[:3]) and int(queue.pointer) == 3
    queue.push(keys[3:])  # row 3, then wraps to row 0
    assert torch.allclose(queue.keys, torch.stack([keys[4] / 5, keys[1], keys[2], keys[3]]))
    assert int(queue.pointer) == 1
    queue.push(torch.cat([keys, keys]))  # more than the queue holds: the last 4 stay
    assert torch.allclose(
        queue.keys, torch.cat([keys, keys])[-4:] / torch.tensor([[1.0], [1.0], [1.0], [5.0]])
    )
    assert int(queue.pointer) == 0
    assert set(queue.state_dict()) == {"keys", "pointer"}  # both travel in checkpoints


def test_momentum_update_moves_the_copy() -> None:
    online, target = torch.nn.Linear(2, 2), torch.nn.Linear(2, 2)
    before = target.weight.detach().clone()
    momentum_update(online, target, 0.9)
    assert torch.allclose(target.weight, 0.9 * before + 0.1 * online.weight.detach())


def test_fraction_similarity_by_hand() -> None:
    f = torch.tensor([[1.0, 0.0], [0.5, 0.5], [0.0, 1.0], [0.0, 0.0]])
    cosine = fraction_similarity(f, "cosine")
    assert cosine[0, 1].item() == pytest.approx(1 / math.sqrt(2), rel=1e-6)
    assert cosine[0, 2].item() == 0.0 and cosine[3, 0].item() == 0.0
    assert torch.equal(cosine.diagonal(), torch.ones(4))  # also the unlabelled window
    jaccard = fraction_similarity(f, "jaccard")
    assert jaccard[0, 1].item() == pytest.approx(0.5 / 1.5)
    assert jaccard[1, 2].item() == pytest.approx(0.5 / 1.5)
    with pytest.raises(ConfigError, match="non-negative"):
        fraction_similarity(-f)


def test_soft_contrastive_by_hand() -> None:
    views = torch.eye(2)  # cross-view cosines: 1 on the diagonal, 0 off it -> P = 1 / 0.5
    target = torch.eye(2)
    # off-diagonal pairs: BCE(0.5, 0) = log 2, two of four entries; diagonal ~ 0
    bce = soft_contrastive(views, views, target, "bce").item()
    assert bce == pytest.approx(0.5 * math.log(2), abs=1e-5)
    assert soft_contrastive(views, views, target, "mse").item() == pytest.approx(0.125)
    assert soft_contrastive(views, views, torch.full((2, 2), 0.5), "mse").item() == (
        pytest.approx(0.125)
    )


def test_random_masking_keeps_the_share_and_restores_order() -> None:
    tokens = torch.arange(2 * 16, dtype=torch.float32).reshape(2, 16, 1).expand(-1, -1, 3)
    visible, mask, restore = random_masking(tokens, 0.75, torch.Generator().manual_seed(1))
    assert visible.shape == (2, 4, 3)
    assert mask.sum(dim=1).tolist() == [12.0, 12.0]
    for b in range(2):
        kept = tokens[b, mask[b] == 0, 0]
        assert sorted(visible[b, :, 0].tolist()) == sorted(kept.tolist())
    order = torch.cat([visible, torch.full((2, 12, 3), -1.0)], 1).gather(
        1, restore[..., None].expand(-1, -1, 3)
    )
    assert torch.equal(order[mask == 0], tokens[mask == 0])  # visible tokens back in place


def test_masked_mse_counts_masked_patches_only() -> None:
    target = torch.zeros(1, 4, 2)
    prediction = torch.tensor([[[1.0, 1.0], [2.0, 0.0], [9.0, 9.0], [9.0, 9.0]]])
    mask = torch.tensor([[1.0, 1.0, 0.0, 0.0]])  # patches 2, 3 visible: their error ignored
    assert masked_mse(prediction, target, mask).item() == pytest.approx((1.0 + 2.0) / 2)


def test_patchify_and_coarse_targets() -> None:
    image = torch.arange(2 * 4 * 4, dtype=torch.float32).reshape(1, 2, 4, 4)
    patches = patchify(image, 2)
    assert patches.shape == (1, 4, 8)
    # first patch: rows 0-1, cols 0-1, values ordered (row, col, band)
    assert patches[0, 0].tolist() == [0, 16, 1, 17, 4, 20, 5, 21]
    vit = spectral_vit("tiny", depth=1, patch_size=8, bands=BANDS)
    mae = MaskedAutoencoder(vit, 4, scales=(1, 2, 4), norm_pix=False)
    x = torch.randn(2, 4, 16, 16)
    coarse = mae.targets(x, 2)
    assert coarse.shape == (2, 4, 4 * 4 * 4)
    assert torch.allclose(coarse, patchify(torch.nn.functional.avg_pool2d(x, 2), 4))
    loss, per_scale = mae(x)
    assert set(per_scale) == {1, 2, 4} and torch.isfinite(loss)
    assert loss.item() == pytest.approx(sum(v.item() for v in per_scale.values()), rel=1e-5)


def test_mae_loss_ignores_the_targets_of_visible_patches() -> None:
    vit = spectral_vit("tiny", depth=1, patch_size=8, bands=BANDS)
    mae = MaskedAutoencoder(vit, 4, mask_ratio=0.5, scales=(1, 2), norm_pix=True)
    x = torch.randn(1, 4, 16, 16)
    torch.manual_seed(3)
    encoded, mask, restore = mae.encode_visible(x)
    assert mask.sum() == 2  # half of the 2 x 2 patches
    decoded = mae.decode(encoded, restore, 2, 2)
    visible = mask[0].reshape(2, 2).repeat_interleave(8, 0).repeat_interleave(8, 1) == 0
    changed = torch.where(visible, torch.randn_like(x) * 100, x)  # only visible pixels differ

    def loss(image: torch.Tensor) -> float:
        return sum(
            masked_mse(head(decoded), mae.targets(image, scale), mask).item()
            for scale, head in zip(mae.scales, mae.heads, strict=True)
        )

    assert loss(changed) == pytest.approx(loss(x), rel=1e-6)
    masked_changed = torch.where(visible, x, x + 1.0 + torch.randn_like(x))
    assert loss(masked_changed) != pytest.approx(loss(x), rel=1e-3)


def test_mae_rejects_bad_scales() -> None:
    vit = spectral_vit("tiny", depth=1, patch_size=8, bands=BANDS)
    with pytest.raises(ConfigError, match="divisors"):
        MaskedAutoencoder(vit, 4, scales=(1, 3))
    with pytest.raises(ConfigError, match="mask_ratio"):
        MaskedAutoencoder(vit, 4, mask_ratio=1.0)


S2_10 = ["S2.B02", "S2.B03", "S2.B04", "S2.B05", "S2.B06", "S2.B07", "S2.B08", "S2.B8A"]
S2_10 += ["S2.B11", "S2.B12"]


def test_wavelength_groups_of_sentinel2_and_radar() -> None:
    assert wavelength_groups(S2_10) == [[0, 1, 2], [3, 4, 5], [6, 7], [8, 9]]
    assert wavelength_groups(["S1.VV", "S2.B04", "DEM.dsm", "S2.B11"]) == [[1], [3], [0, 2]]


def test_grouped_mae_masks_group_tokens_independently() -> None:
    vit = spectral_vit("tiny", depth=1, patch_size=8, bands=S2_10)
    groups = wavelength_groups(S2_10)
    mae = MaskedAutoencoder(vit, 10, mask_ratio=0.75, scales=(1, 2), groups=groups)
    x = torch.randn(2, 10, 16, 16)
    torch.manual_seed(0)
    encoded, mask, _ = mae.encode_visible(x)
    assert mask.shape == (2, 4 * 4)  # 4 groups x 4 patches
    assert encoded.shape == (2, 1 + 4, 192)  # class token + a quarter of the 16 tokens
    by_group = mask.reshape(2, 4, 4)
    assert not torch.equal(by_group[:, 0], by_group[:, 1]) or not torch.equal(
        by_group[:, 1], by_group[:, 2]
    )  # the groups of one patch are not masked together
    widths = [h.out_features for h in mae.heads]  # [scale, group]: (p / s)² x group bands
    assert widths == [64 * 3, 64 * 3, 64 * 2, 64 * 2, 16 * 3, 16 * 3, 16 * 2, 16 * 2]
    loss, per_scale = mae(x)
    assert torch.isfinite(loss) and set(per_scale) == {1, 2}
    assert torch.equal(mae.targets(x, 2, 3), mae.targets(x[:, 8:], 2))
    with pytest.raises(ConfigError, match="each band once"):
        MaskedAutoencoder(vit, 10, groups=[[0, 1], [1, 2]])
