from __future__ import annotations

import math

import torch
from tests.models.conftest import S2_4

from eoforge.models import ModelSpec, build_model
from eoforge.models.attention import BalancedAttention, DropBlock
from eoforge.models.change_attention import ChannelSpatialDifferenceWeighting, exchange_layers


def test_balanced_attention_fuses_both_branches_with_learned_alpha() -> None:
    block = BalancedAttention(32).eval()
    x = torch.randn(2, 32, 8, 8)
    assert block.alpha == 0.5
    with torch.no_grad():
        expected = 0.5 * block.spatial(x) + 0.5 * block.spectral(x)
        assert torch.allclose(block(x), expected, atol=1e-6)
        block.fusion_logit.fill_(math.log(0.57 / 0.43))
        assert abs(block.alpha - 0.57) < 1e-6
        assert torch.allclose(
            block(x), 0.57 * block.spatial(x) + 0.43 * block.spectral(x), atol=1e-6
        )
    block.train()
    block(x).sum().backward()
    assert block.fusion_logit.grad is not None and block.fusion_logit.grad != 0


def test_coordinate_attention_keeps_position_information() -> None:
    block = BalancedAttention(16).spatial.eval()
    x = torch.ones(1, 16, 8, 8)
    x[..., 2, :] = 5.0  # one bright row: the row gate must differ between rows
    with torch.no_grad():
        gate = block(x) / x
    assert not torch.allclose(gate[..., 2, 0], gate[..., 5, 0])


def test_drop_block_drops_square_blocks_in_training_only() -> None:
    drop = DropBlock(drop_prob=0.3, block_size=3)
    x = torch.ones(4, 8, 16, 16)
    torch.manual_seed(0)
    out = drop(x)
    dropped = out == 0
    assert 0.15 < dropped.float().mean() < 0.45
    assert torch.allclose(out[~dropped], out[~dropped][0].expand(int((~dropped).sum())))
    assert out[~dropped][0] > 1  # survivors rescaled
    # every dropped pixel lies in some fully dropped 3x3 square
    squares = torch.nn.functional.max_pool2d((~dropped).float(), 3, 1, 1) == 0
    covered = torch.nn.functional.max_pool2d(squares.float(), 3, 1, 1) > 0
    assert bool(covered[dropped].all())
    assert torch.equal(drop.eval()(x), x)
    assert DropBlock(0.2, block_size=7).train()(torch.ones(1, 4, 2, 2)).shape == (1, 4, 2, 2)


def test_csdw_weights_follow_cosine_dissimilarity() -> None:
    a = torch.randn(2, 8, 4, 4)
    same = ChannelSpatialDifferenceWeighting.weights(a, a)
    opposite = ChannelSpatialDifferenceWeighting.weights(a, -a)
    sig = 1 / (1 + math.exp(-1))
    assert torch.allclose(same, torch.full_like(same, (1 - sig) ** 2), atol=1e-5)
    assert torch.allclose(opposite, torch.full_like(opposite, sig**2), atol=1e-5)


def test_layer_exchange_swaps_every_other_scale() -> None:
    first = [torch.full((1,), float(i)) for i in range(4)]
    second = [torch.full((1,), 10.0 + i) for i in range(4)]
    out_first, out_second = exchange_layers(first, second)
    assert [float(t) for t in out_first] == [10, 1, 12, 3]
    assert [float(t) for t in out_second] == [0, 11, 2, 13]


def test_attention_change_model_sees_changes() -> None:
    spec = ModelSpec(task="change", arch="lenet_cd", in_bands=S2_4, num_classes=2)
    model = build_model(spec).eval()
    before = torch.randn(1, 4, 64, 64)
    with torch.no_grad():
        unchanged = model(torch.stack([before, before], dim=1))
        changed = model(torch.stack([before, torch.randn(1, 4, 64, 64)], dim=1))
    assert not torch.allclose(unchanged, changed)
